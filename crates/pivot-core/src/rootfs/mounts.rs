//! Steps 2 and 4: each config.json mount, onto its destination resolved inside
//! the root. Filesystems are made with fsopen/fsmount and binds with
//! open_tree, then attached to a handle with move_mount, so the mount
//! lands on exactly the directory that was checked (CVE-2021-30465).

use super::mount_api::{
    after_attach, mount_attrs, new_filesystem, new_filesystem_in, open_destination,
};
use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Error, Result};
use crate::spec::mountopts::*;
use crate::spec::{MountKind, NsKind, PlannedMount};
use crate::sys::OFlags;
use crate::sys::{self, mountflags::*, MountSetattr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Mount one entry; read-only tmpfs mounts are added to `later_ro`.
/// How a config.json mount is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An idmapped bind in a user namespace: cloned and idmapped by pivot
    /// from the host's user namespace, attached by the init.
    IdmapFromHost,
    /// open_tree of the source (with MS_REC: the whole tree), remounted
    /// with the options' flags when it sets or clears any.
    Bind,
    /// The `cgroup` type: cgroupfs.rs.
    Cgroup,
    /// sysfs in a user namespace without its own network namespace: a
    /// user namespace may not mount sysfs for a network namespace it does
    /// not own, so the host's /sys is bound, as runc does.
    HostSysfs,
    /// fsopen/fsconfig/fsmount of a new filesystem.
    Filesystem,
}

pub fn method(plan: &crate::spec::Plan, m: &PlannedMount) -> Method {
    let in_userns = plan.namespaces.has(NsKind::User);
    match m.kind {
        MountKind::Bind if m.options.idmap.is_some() && in_userns => Method::IdmapFromHost,
        MountKind::Bind => Method::Bind,
        MountKind::Cgroup => Method::Cgroup,
        MountKind::Sysfs if in_userns && !plan.namespaces.is_new(NsKind::Net) => Method::HostSysfs,
        _ => Method::Filesystem,
    }
}

pub fn mount_entry(
    ctx: &Setup,
    root: &Root,
    m: &PlannedMount,
    later_ro: &mut Vec<OwnedFd>,
) -> Result<()> {
    match method(ctx.plan, m) {
        Method::IdmapFromHost => {
            let tree = (ctx.host_idmap)(m.index).with_ctx(|| format!("{}: idmap", describe(m)))?;
            let st = sys::fstat(tree.as_fd()).ctx("source")?;
            let dest = open_destination(root, m, sys::file_type(&st) != sys::FileType::Dir)?;
            attach(m, tree, dest)
        }
        Method::Bind => {
            let userns = ctx.idmaps.iter().find(|(i, _)| *i == m.index);
            let source = open_source(ctx, m)?;
            bind(root, m, source.as_fd(), userns.map(|(_, fd)| fd.as_fd()))
        }
        Method::Cgroup => super::cgroupfs::mount_cgroup(ctx, root, m),
        Method::HostSysfs => {
            let host = PlannedMount {
                source: "/sys".into(),
                kind: MountKind::Bind,
                options: MountOptions {
                    flags: m.options.flags | MS_BIND | MS_REC,
                    ..m.options.clone()
                },
                ..m.clone()
            };
            let source = sys::openat(sys::cwd(), "/sys", OFlags::PATH, 0).ctx("source")?;
            bind(root, &host, source.as_fd(), None)
        }
        Method::Filesystem if m.kind == MountKind::Proc => {
            filesystem(root, m, later_ro, (ctx.proc_context)()?)
        }
        Method::Filesystem => filesystem(root, m, later_ro, None),
    }
}

/// Every per-mount attribute a bind remount decides.
const ALL_ATTRS: u64 = MOUNT_ATTR_RDONLY
    | MOUNT_ATTR_NOSUID
    | MOUNT_ATTR_NODEV
    | MOUNT_ATTR_NOEXEC
    | MOUNT_ATTR_NODIRATIME
    | MOUNT_ATTR_NOSYMFOLLOW
    | MOUNT_ATTR__ATIME;

fn describe(m: &PlannedMount) -> String {
    let data = m.options.data_string();
    format!(
        "mount {} {:?} on {:?} (flags {}{})",
        m.kind,
        m.source,
        m.written_destination,
        flags_str(m.options.flags),
        if data.is_empty() {
            String::new()
        } else {
            format!(", data {data:?}")
        }
    )
}

/// The mode of the directory at `path` in the root, if there is one.
fn existing_dir_mode(root: &Root, path: &str) -> Result<Option<u32>> {
    match root.open_path(path, false) {
        Ok(fd) => {
            let st = sys::fstat(fd.as_fd())?;
            Ok((sys::file_type(&st) == sys::FileType::Dir).then_some(st.st_mode & 0o7777))
        }
        Err(e) if e.is_errno(sys::Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A new filesystem. A read-only tmpfs is made read-write and handed back
/// to be made read-only once the mounts below it exist, as runc does; a
/// tmpfs over an existing directory takes that directory's mode unless
/// mode= says otherwise, and with tmpcopyup its contents. `made` is a
/// context opened elsewhere (a procfs of the pid namespace the container
/// joins), checked once mounted.
fn filesystem(
    root: &Root,
    m: &PlannedMount,
    later_ro: &mut Vec<OwnedFd>,
    made: Option<super::ProcContext>,
) -> Result<()> {
    let tmpfs = m.kind == MountKind::Tmpfs;
    if m.options.tmpcopyup && !tmpfs {
        return Err(Error::invalid(format!(
            "tmpcopyup is only for tmpfs mounts, not {}",
            m.kind
        )));
    }
    let old_mode = if tmpfs {
        existing_dir_mode(root, &m.destination)?
    } else {
        None
    };
    let dest = open_destination(root, m, false)?;
    let mut opts = m.options.clone();
    let readonly = tmpfs && opts.flags & MS_RDONLY != 0;
    if readonly {
        opts.flags &= !MS_RDONLY;
    }
    let mnt = match made {
        Some((fs, pid_ns)) => {
            let mnt = new_filesystem_in(fs, &m.source, &opts).with_ctx(|| describe(m))?;
            crate::procfs::ProcFs::check_pid_ns(mnt.as_fd(), pid_ns).with_ctx(|| describe(m))?;
            mnt
        }
        None => new_filesystem(m.kind.as_str(), &m.source, &opts).with_ctx(|| describe(m))?,
    };
    if m.options.tmpcopyup {
        let src = sys::openat(dest.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY, 0)?;
        let dst = sys::openat(mnt.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY, 0)?;
        super::copyup::copy_tree(src.as_fd(), dst.as_fd())?;
    }
    if let Some(mode) = old_mode.filter(|_| !opts.data.iter().any(|d| d.starts_with("mode="))) {
        sys::fchmod(mnt.as_fd(), mode).ctx("keep the mode of the covered directory")?;
    }
    sys::move_mount(mnt.as_fd(), dest.as_fd(), &m.destination).with_ctx(|| describe(m))?;
    after_attach(mnt.as_fd(), &m.options)?;
    if readonly {
        later_ro.push(mnt);
    }
    Ok(())
}

/// The mount(2) flags that decide a mount's atime; MS_REMOUNT without any
/// of them keeps the mount's atime and nodiratime (the kernel's
/// MNT_ATIME_MASK), with one it replaces them all.
const ATIME_FLAGS: u64 = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

/// Attribute changes for a bind remount: the options' flags replace the
/// source's, as runc's MS_BIND|MS_REMOUNT does, except its atime and
/// nodiratime when no atime option is set (so "norelatime" or "nosuid" on
/// a noatime source stay noatime, as with runc and mount(8)). Clearing an
/// atime option (norelatime, atime, ...) never changes the atime by
/// itself, as in mount(2).
pub fn bind_attrs(opts: &MountOptions) -> (u64, u64) {
    let set = mount_attrs(opts.flags);
    if opts.flags & ATIME_FLAGS != 0 {
        return (set, ALL_ATTRS & !set | MOUNT_ATTR__ATIME);
    }
    let kept = MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME;
    (set, ALL_ATTRS & !set & !kept)
}

/// The flags the kernel locks on a mount copied into a user namespace's
/// mount namespace (besides its atime), with their mount(2) and statfs
/// names.
const LOCKABLE: &[(u64, u64, u64)] = &[
    (MOUNT_ATTR_RDONLY, MS_RDONLY, ST_RDONLY),
    (MOUNT_ATTR_NOSUID, MS_NOSUID, ST_NOSUID),
    (MOUNT_ATTR_NODEV, MS_NODEV, ST_NODEV),
    (MOUNT_ATTR_NOEXEC, MS_NOEXEC, ST_NOEXEC),
];

/// Which lockable flags the mount has now (MOUNT_ATTR_* and MS_* bits).
fn lockable_flags_of(mnt: BorrowedFd<'_>) -> Result<(u64, u64)> {
    let on = sys::mount_flags_of(mnt).ctx("statfs of the bind source")?;
    Ok(LOCKABLE
        .iter()
        .filter(|(_, _, st)| on & *st != 0)
        .fold((0, 0), |(a, f), (attr, flag, _)| (a | attr, f | flag)))
}

/// Whether runc would remount this bind with its flags: when any flag is
/// set or cleared (runc >= 1.2; a lone "suid" or "rw" also replaces the
/// source's other flags).
pub fn remounts(opts: &MountOptions) -> bool {
    opts.flags & !(MS_BIND | MS_REC | MS_REMOUNT) != 0 || opts.cleared != 0
}

/// A handle on a bind mount's source (symlinks followed, as runc does).
/// In a user namespace a source the container's root may not reach (a
/// 0700 directory of the host's root) is opened by pivot from the host's
/// user namespace, in this mount namespace, as runc does: only the handle
/// comes from outside, the mount is still cloned in here.
fn open_source(ctx: &Setup, m: &PlannedMount) -> Result<OwnedFd> {
    match sys::openat(sys::cwd(), &m.source, OFlags::PATH, 0) {
        Err(e) if e.is_errno(sys::Errno::ACCESS) && ctx.in_userns() => {
            match (ctx.host_source)(m.index)? {
                Some(fd) => Ok(fd),
                None => Err(e.context("source")),
            }
        }
        r => r.ctx("source"),
    }
}

/// A bind mount, cloned (`open_tree`) by the init itself: with a user
/// namespace that is inside it, where the kernel has locked the source
/// mount's flags and child mounts, so root in the container can neither
/// remount a read-only source writable nor uncover what a child hides.
pub fn bind(
    root: &Root,
    m: &PlannedMount,
    source: BorrowedFd<'_>,
    userns: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let st = sys::fstat(source).ctx("source")?;
    let dest = open_destination(root, m, sys::file_type(&st) != sys::FileType::Dir)?;
    let tree =
        sys::open_tree(source, "", m.options.is_recursive_bind()).with_ctx(|| describe(m))?;
    if let (Some(userns), Some(recursive)) = (userns, m.options.idmap) {
        let how = MountSetattr {
            recursive,
            set: MOUNT_ATTR_IDMAP,
            userns: Some(userns),
            ..Default::default()
        };
        sys::mount_setattr(tree.as_fd(), &how).with_ctx(|| format!("{}: idmap", describe(m)))?;
    }
    attach(m, tree, dest)
}

/// Remount a detached bind with its options, then attach it at `dest`.
fn attach(m: &PlannedMount, tree: OwnedFd, dest: OwnedFd) -> Result<()> {
    if remounts(&m.options) {
        let (set, clr) = bind_attrs(&m.options);
        let how = MountSetattr {
            set,
            clear: clr,
            ..Default::default()
        };
        if let Err(e) = sys::mount_setattr(tree.as_fd(), &how) {
            if !e.is_errno(sys::Errno::PERM) {
                return Err(e.context(describe(m)));
            }
            // A user namespace: the kernel keeps the source's lockable
            // flags and atime. As runc 1.2 and later: an option clearing
            // one it has is an error, else the remount is made again with
            // them added; what the kernel does not lock (nosymfollow) is
            // still replaced.
            let (locked, locked_ms) = lockable_flags_of(tree.as_fd())?;
            let cleared = m.options.cleared & locked_ms;
            if cleared != 0 {
                return Err(e.context(format!(
                    "{}: cannot clear locked flags {}",
                    describe(m),
                    flags_str(cleared)
                )));
            }
            let how = MountSetattr {
                set: set | locked,
                clear: clr & !locked,
                ..Default::default()
            };
            sys::mount_setattr(tree.as_fd(), &how)
                .with_ctx(|| format!("{}: remount with locked flags re-applied", describe(m)))?;
        }
    }
    sys::move_mount(tree.as_fd(), dest.as_fd(), &m.destination).with_ctx(|| describe(m))?;
    after_attach(tree.as_fd(), &m.options)
}

/// Step 4: the read-only tmpfs mounts `mount_entry` made read-write, made
/// read-only now that everything below them (/dev's nodes, the console's
/// mount point) exists, as runc's remount of read-only tmpfs mounts.
pub fn remount_readonly_tmpfs(later_ro: Vec<OwnedFd>) -> Result<()> {
    for mnt in later_ro {
        sys::mount_setattr(mnt.as_fd(), &MountSetattr::set(MOUNT_ATTR_RDONLY))
            .ctx("make a read-only tmpfs read-only")?;
    }
    Ok(())
}
