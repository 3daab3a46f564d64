//! Step 2: each config.json mount, onto its destination resolved inside
//! the root. Filesystems are made with fsopen/fsmount and binds with
//! open_tree, then attached to a handle with move_mount, so the mount
//! lands on exactly the directory that was checked (CVE-2021-30465).

use super::resolve::Root;
use super::Context;
use crate::error::{Context as _, Error, Result};
use crate::spec::mountopts::*;
use crate::spec::{NsKind, PlannedMount};
use crate::sys::{self, mountflags::*, FsContext};
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

pub fn mount_entry(ctx: &Context, root: &Root, m: &PlannedMount) -> Result<()> {
    check_destination(root, m)?;
    match m.kind.as_str() {
        "bind" => {
            let userns = ctx.idmaps.iter().find(|(i, _)| *i == m.index);
            bind(root, m, userns.map(|(_, fd)| fd.as_fd()))
        }
        "cgroup" => super::cgroupfs::mount_cgroup(ctx, root, m),
        "sysfs" if ctx.in_userns() && !ctx.plan.namespaces.is_new(NsKind::Net) => {
            // A user namespace may not mount sysfs for a network namespace
            // it does not own: bind the host's, as runc does.
            let host = PlannedMount {
                source: "/sys".into(),
                kind: "bind".into(),
                options: MountOptions {
                    flags: m.options.flags | MS_BIND | MS_REC,
                    ..m.options.clone()
                },
                ..m.clone()
            };
            bind(root, &host, None)
        }
        _ => filesystem(root, m),
    }
}

fn normalize(dest: &str) -> String {
    let parts: Vec<&str> = dest
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// /proc takes nothing but procfs and only lxcfs-style files may cover
/// what is under it; /proc and /sys must be real directories in the image
/// (CVE-2019-19921, CVE-2023-27561).
fn check_destination(root: &Root, m: &PlannedMount) -> Result<()> {
    let dest = normalize(&m.destination);
    if dest == "/proc" && m.kind != "proc" {
        return Err(Error::invalid(format!(
            "{} mount on \"/proc\": only procfs may be mounted there",
            m.kind
        )));
    }
    if dest.starts_with("/proc/") && !PROC_ALLOWED.contains(&dest.as_str()) {
        return Err(Error::invalid(format!(
            "{dest:?} cannot be mounted because it is inside /proc"
        )));
    }
    if dest == "/proc" || dest == "/sys" {
        match root.open_path(&dest, true) {
            Ok(fd) => {
                let st = sys::fstat(fd.as_fd())?;
                if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                    return Err(Error::invalid(format!(
                        "{dest:?} in the rootfs is not a directory (a symlink or a file): it must be an ordinary directory"
                    )));
                }
            }
            Err(e) if e.errno() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// MOUNT_ATTR_* bits for the per-mount flags of a mount(2) flag set.
pub fn mount_attrs(flags: u64) -> u64 {
    let mut a = 0;
    for (f, attr) in [
        (MS_RDONLY, MOUNT_ATTR_RDONLY),
        (MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MS_NODEV, MOUNT_ATTR_NODEV),
        (MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
        (MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
        (MS_NOATIME, MOUNT_ATTR_NOATIME),
        (MS_STRICTATIME, MOUNT_ATTR_STRICTATIME),
    ] {
        if flags & f != 0 {
            a |= attr;
        }
    }
    a
}

/// Make a detached mount of a new filesystem: superblock flags and the
/// data string go through fsconfig, per-mount flags to fsmount.
pub fn new_filesystem(kind: &str, source: &str, opts: &MountOptions) -> Result<OwnedFd> {
    let fs = FsContext::open(kind)?;
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

fn describe(m: &PlannedMount) -> String {
    let data = m.options.data_string();
    format!(
        "mount {} {:?} on {:?} (flags {}{})",
        m.kind,
        m.source,
        m.destination,
        flags_str(m.options.flags),
        if data.is_empty() {
            String::new()
        } else {
            format!(", data {data:?}")
        }
    )
}

fn filesystem(root: &Root, m: &PlannedMount) -> Result<()> {
    let dest = root.mkdir_all(&m.destination, 0o755).ctx("destination")?;
    let mnt = if m.options.tmpcopyup {
        tmpfs_copyup(dest.as_fd(), m)?
    } else {
        new_filesystem(&m.kind, &m.source, &m.options).with_ctx(|| describe(m))?
    };
    sys::move_mount(mnt.as_fd(), dest.as_fd(), &m.destination).with_ctx(|| describe(m))?;
    after_attach(mnt.as_fd(), &m.options)
}

/// A tmpfs filled with what is at the destination: made writable, filled
/// while still detached, then made read-only if asked.
fn tmpfs_copyup(dest: BorrowedFd<'_>, m: &PlannedMount) -> Result<OwnedFd> {
    if m.kind != "tmpfs" {
        return Err(Error::invalid(format!(
            "tmpcopyup is only for tmpfs mounts, not {}",
            m.kind
        )));
    }
    let mut opts = m.options.clone();
    let readonly = opts.flags & MS_RDONLY != 0;
    opts.flags &= !MS_RDONLY;
    let mnt = new_filesystem(&m.kind, &m.source, &opts).with_ctx(|| describe(m))?;
    let src = sys::openat(dest, ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let dst = sys::openat(mnt.as_fd(), ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    super::copyup::copy_tree(src.as_fd(), dst.as_fd())?;
    if readonly {
        sys::mount_setattr(mnt.as_fd(), false, MOUNT_ATTR_RDONLY, 0, 0, None)?;
    }
    Ok(mnt)
}

/// Attribute changes for a bind: only what the options name, so flags the
/// kernel locks on the source (in a user namespace) are kept as they are.
pub fn bind_attrs(opts: &MountOptions) -> (u64, u64) {
    let set = mount_attrs(opts.flags);
    let mut clr = mount_attrs(opts.cleared);
    let atime = MS_NOATIME | MS_STRICTATIME | MS_RELATIME;
    if (opts.flags | opts.cleared) & atime != 0 {
        clr |= MOUNT_ATTR__ATIME;
    }
    (set, clr & !set | (clr & MOUNT_ATTR__ATIME))
}

pub fn bind(root: &Root, m: &PlannedMount, userns: Option<BorrowedFd<'_>>) -> Result<()> {
    let st = sys::fstatat(sys::cwd(), &m.source, 0).ctx("source")?;
    let dest = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        root.mkdir_all(&m.destination, 0o755)
    } else {
        root.mkfile(&m.destination, 0o755)
    }
    .ctx("destination")?;
    let tree = sys::open_tree(sys::cwd(), &m.source, m.options.is_recursive_bind())
        .with_ctx(|| describe(m))?;
    if let (Some(userns), Some(recursive)) = (userns, m.options.idmap) {
        sys::mount_setattr(
            tree.as_fd(),
            recursive,
            MOUNT_ATTR_IDMAP,
            0,
            0,
            Some(userns),
        )
        .with_ctx(|| format!("{}: idmap", describe(m)))?;
    }
    let (set, clr) = bind_attrs(&m.options);
    if set | clr != 0 {
        sys::mount_setattr(tree.as_fd(), false, set, clr, 0, None).with_ctx(|| describe(m))?;
    }
    sys::move_mount(tree.as_fd(), dest.as_fd(), &m.destination).with_ctx(|| describe(m))?;
    after_attach(tree.as_fd(), &m.options)
}

/// Propagation and recursive attributes, once the mount is attached.
pub fn after_attach(mnt: BorrowedFd<'_>, opts: &MountOptions) -> Result<()> {
    for p in &opts.propagation {
        sys::mount_setattr(mnt, p & MS_REC != 0, 0, 0, p & !MS_REC, None)
            .with_ctx(|| format!("propagation {}", flags_str(*p)))?;
    }
    if opts.attr_set | opts.attr_clr != 0 {
        sys::mount_setattr(mnt, true, opts.attr_set, opts.attr_clr, 0, None)
            .ctx("recursive mount attributes")?;
    }
    Ok(())
}
