//! The mount primitives every step builds on: a destination created and
//! checked inside the root, a new filesystem made detached (fsopen,
//! fsconfig, fsmount), mount(2) flags as MOUNT_ATTR_* bits, and what is
//! set once a mount is attached (propagation, recursive attributes).

use super::resolve::Root;
use crate::error::{Context as _, Error, Result};
use crate::spec::mountopts::*;
use crate::spec::{MountKind, PlannedMount};
use crate::sys::OFlags;
use crate::sys::{self, mountflags::*, FsContext, MountSetattr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Files under /proc that may be covered (lxcfs and friends), as in runc.
const PROC_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Whether a bind source is the root of a procfs mount, which runc lets
/// go onto /proc (a container sharing the host's pid namespace can be given
/// the host's /proc this way); anything else there is refused.
fn is_procfs_root(source: &str) -> bool {
    let Ok(fd) = sys::openat(sys::cwd(), source, OFlags::PATH | OFlags::DIRECTORY, 0) else {
        return false;
    };
    sys::fstatfs(fd.as_fd()).is_ok_and(|st| st.f_type == sys::PROC_SUPER_MAGIC)
        && sys::fstat(fd.as_fd()).is_ok_and(|st| st.st_ino == 1)
}

/// Create the destination inside the root (a file for a file source) and
/// check where it really is: /proc takes nothing but procfs and only
/// lxcfs-style files may cover what is under it, and /proc and /sys must be
/// real directories, not symlinks sending the mount elsewhere
/// (CVE-2019-19921, CVE-2023-27561). The check is on the resolved handle,
/// so no spelling of the path (`..`, symlinks) gets around it; messages
/// name the destination as written.
pub fn open_destination(root: &Root, m: &PlannedMount, file: bool) -> Result<OwnedFd> {
    let lexical = &m.destination;
    let special = lexical == "/proc" || lexical == "/sys";
    if special {
        // Refuse before creating anything: the image's own entry must be a
        // directory (a missing one is made).
        match root.open_path(lexical, true) {
            Ok(fd) => {
                let st = sys::fstat(fd.as_fd())?;
                if sys::file_type(&st) != sys::FileType::Dir {
                    return Err(Error::invalid(format!(
                        "{lexical:?} in the rootfs is not a directory (a symlink or a file): {lexical} must be mounted on ordinary directory"
                    )));
                }
            }
            Err(e) if e.is_errno(sys::Errno::NOENT) => {}
            Err(e) => return Err(e),
        }
    }
    let dest = if file {
        root.mkfile(&m.destination, 0o755)
    } else {
        root.mkdir_all(&m.destination, 0o755)
    }
    .ctx("destination")?;
    let real = root.path_of(dest.as_fd())?;
    if special && real != *lexical {
        return Err(Error::invalid(format!(
            "{:?} resolves to {real:?} in the rootfs: {lexical} must be an ordinary directory",
            m.written_destination
        )));
    }
    if real == "/proc" && m.kind != MountKind::Proc && !(m.is_bind() && is_procfs_root(&m.source)) {
        return Err(Error::invalid(format!(
            "{} mount on {:?}, which is /proc: only procfs (or a bind of a whole procfs) may be mounted there",
            m.kind, m.written_destination
        )));
    }
    if real.starts_with("/proc/") && !PROC_ALLOWED.contains(&real.as_str()) {
        return Err(Error::invalid(format!(
            "{:?} resolves to {real:?}, which is inside /proc and cannot be mounted over",
            m.written_destination
        )));
    }
    Ok(dest)
}

/// MOUNT_ATTR_* bits for the per-mount flags of a mount(2) flag set.
/// Of the atime modes, strictatime beats noatime, as in mount(2), and
/// relatime (0) is the default.
pub fn mount_attrs(flags: u64) -> u64 {
    let mut a = 0;
    for (f, attr) in [
        (MS_RDONLY, MOUNT_ATTR_RDONLY),
        (MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MS_NODEV, MOUNT_ATTR_NODEV),
        (MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
        (MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
    ] {
        if flags & f != 0 {
            a |= attr;
        }
    }
    if flags & MS_STRICTATIME != 0 {
        a |= MOUNT_ATTR_STRICTATIME;
    } else if flags & MS_NOATIME != 0 {
        a |= MOUNT_ATTR_NOATIME;
    }
    a
}

/// Make a detached mount of a new filesystem: superblock flags and the
/// data string go through fsconfig, per-mount flags to fsmount.
pub fn new_filesystem(kind: &str, source: &str, opts: &MountOptions) -> Result<OwnedFd> {
    new_filesystem_in(FsContext::open(kind)?, source, opts)
}

/// The same on a context already open (`fsopen`).
pub fn new_filesystem_in(fs: FsContext, source: &str, opts: &MountOptions) -> Result<OwnedFd> {
    if !source.is_empty() {
        fs.set_string("source", source)?;
    }
    for (flag, name) in [
        (MS_RDONLY, "ro"),
        (MS_SYNCHRONOUS, "sync"),
        (MS_DIRSYNC, "dirsync"),
        (MS_LAZYTIME, "lazytime"),
        (MS_MANDLOCK, "mand"),
    ] {
        if opts.flags & flag != 0 {
            fs.set_flag(name)?;
        }
    }
    for d in &opts.data {
        match d.split_once('=') {
            Some((k, v)) => fs.set_string(k, v)?,
            None => fs.set_flag(d)?,
        }
    }
    fs.mount(mount_attrs(opts.flags))
}

/// Propagation and recursive attributes, once the mount is attached.
pub fn after_attach(mnt: BorrowedFd<'_>, opts: &MountOptions) -> Result<()> {
    for p in &opts.propagation {
        let how = MountSetattr {
            recursive: p & MS_REC != 0,
            propagation: p & !MS_REC,
            ..Default::default()
        };
        sys::mount_setattr(mnt, &how).with_ctx(|| format!("propagation {}", flags_str(*p)))?;
    }
    if opts.attr_set | opts.attr_clr != 0 {
        let how = MountSetattr {
            recursive: true,
            set: opts.attr_set,
            clear: opts.attr_clr,
            ..Default::default()
        };
        sys::mount_setattr(mnt, &how).ctx("recursive mount attributes")?;
    }
    Ok(())
}
