//! Mounts: the classic mount(2)/umount2/pivot_root, the new mount API
//! (fsopen, fsmount, open_tree, move_mount, mount_setattr) and what a
//! mount an fd is on looks like.

use super::*;

/// The mount an fd is on: its mount id (the first field of mountinfo)
/// and whether the fd is that mount's root (statx, Linux 5.8).
pub fn mount_of(fd: BorrowedFd<'_>) -> Result<(u64, bool)> {
    use rustix::fs::{AtFlags, StatxAttributes, StatxFlags};
    let flags = AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW;
    let r = rustix::fs::statx(fd, c"", flags, StatxFlags::MNT_ID);
    let st = rx(r, || format!("statx({}, STATX_MNT_ID)", fd.as_raw_fd()))?;
    let root = StatxAttributes::MOUNT_ROOT;
    if st.stx_mask & StatxFlags::MNT_ID.bits() == 0 || !st.stx_attributes_mask.contains(root) {
        return Err(Error::other(
            "statx gives no mount id or mount root (Linux 5.8 or later is needed)",
        ));
    }
    Ok((st.stx_mnt_id, st.stx_attributes.contains(root)))
}

/// Whether /sys/fs/cgroup is a cgroup2 mount (a unified host), as runc's
/// IsCgroup2UnifiedMode.
pub fn cgroup2_unified() -> bool {
    openat(
        cwd(),
        "/sys/fs/cgroup",
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .and_then(|fd| fstatfs(fd.as_fd()))
    .is_ok_and(|st| st.f_type == libc::CGROUP2_SUPER_MAGIC)
}

/// The mount flags (ST_*) of the mount `fd` is on.
pub fn mount_flags_of(fd: BorrowedFd<'_>) -> Result<u64> {
    let st = rx(rustix::fs::fstatvfs(fd), || {
        format!("fstatvfs({})", fd.as_raw_fd())
    })?;
    Ok(st.f_flag.bits())
}

/// The mount flags (ST_*) of the mount `path` is on, following a magic
/// link such as /proc/self/exe (statvfs(3)).
pub fn mount_flags_at(path: &str) -> Result<u64> {
    let p = c(path)?;
    let st = rx(rustix::fs::statvfs(&p), || format!("statvfs({path:?})"))?;
    Ok(st.f_flag.bits())
}

/// mount(2) as pivot uses it: a propagation change (no source, type or
/// data), a bind or a move of `source`, or a new filesystem of a type.
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> Result<()> {
    use mountflags::*;
    use rustix::mount::{MountFlags, MountPropagationFlags};
    let s = source.map(c).transpose()?;
    let t = c(target)?;
    let f = fstype.map(c).transpose()?;
    let d = data.map(c).transpose()?;
    let r = match (&s, &f, &d) {
        (None, None, None) if flags & !(PROPAGATION | MS_REC) == 0 => {
            let p = MountPropagationFlags::from_bits_retain(flags as u32);
            rustix::mount::mount_change(&t, p)
        }
        (Some(s), None, None) if flags == MS_MOVE => rustix::mount::mount_move(s, &t),
        (Some(s), None, None) if flags == MS_BIND => rustix::mount::mount_bind(s, &t),
        (Some(s), None, None) if flags == MS_BIND | MS_REC => {
            rustix::mount::mount_bind_recursive(s, &t)
        }
        (Some(s), Some(f), d) => {
            let flags = MountFlags::from_bits_retain(flags as u32);
            rustix::mount::mount(s, &t, f, flags, d.as_deref())
        }
        // No caller makes any other kind of mount(2) call.
        _ => Err(rustix::io::Errno::INVAL),
    };
    rx(r, || {
        format!(
            "mount({:?}, {target:?}, {:?}, {}, {:?})",
            source.unwrap_or(""),
            fstype.unwrap_or(""),
            mountflags::flags_str(flags),
            data.unwrap_or("")
        )
    })
}

/// umount2 with MNT_DETACH (a lazy unmount).
pub fn umount_detach(target: &str) -> Result<()> {
    let t = c(target)?;
    let r = rustix::mount::unmount(&t, rustix::mount::UnmountFlags::DETACH);
    rx(r, || {
        format!("umount2({target:?}, {:#x})", libc::MNT_DETACH)
    })
}

pub fn pivot_root(new_root: &str, put_old: &str) -> Result<()> {
    let n = c(new_root)?;
    let o = c(put_old)?;
    let r = rustix::process::pivot_root(&n, &o);
    rx(r, || format!("pivot_root({new_root:?}, {put_old:?})"))
}

// The new mount API: mounts are built on fds and attached to handles, so
// no path inside the rootfs is walked twice (SECURITY.md rule 2).

/// Read what the filesystem said about a failed fsconfig, if anything.
fn fs_log(fs: BorrowedFd<'_>) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = rustix::io::read(fs, &mut buf) {
        let msg = String::from_utf8_lossy(&buf[..n]);
        // Each message starts with "e ", "w " or "i ".
        out.push(msg.get(2..).unwrap_or("").trim().to_string());
    }
    out.join("; ")
}

/// A filesystem context between fsopen and fsmount.
pub struct FsContext {
    fd: OwnedFd,
    fstype: String,
}

impl FsContext {
    pub fn open(fstype: &str) -> Result<FsContext> {
        let t = c(fstype)?;
        let r = rustix::mount::fsopen(&t, rustix::mount::FsOpenFlags::FSOPEN_CLOEXEC);
        let fd = rx(r, || format!("fsopen({fstype:?})"))?;
        Ok(FsContext {
            fd,
            fstype: fstype.to_string(),
        })
    }

    /// The error of a failed fsconfig: the call, what the filesystem
    /// logged, the errno.
    fn config_error(&self, what: String, e: rustix::io::Errno) -> Error {
        let log = fs_log(self.fd.as_fd());
        let what = if log.is_empty() {
            what
        } else {
            format!("{what} [{log}]")
        };
        Error::os(what, e.raw_os_error())
    }

    /// fsconfig(FSCONFIG_SET_FD): `key` names an open file (procfs's
    /// `pidns`).
    pub fn set_fd(&self, key: &str, fd: BorrowedFd<'_>) -> Result<()> {
        let k = c(key)?;
        let r = rustix::mount::fsconfig_set_fd(&self.fd, &k, fd);
        rx(r, || {
            format!("fsconfig({}, {key:?}, fd {})", self.fstype, fd.as_raw_fd())
        })
    }

    /// A context made by another process (fsopen), with its own name for
    /// errors.
    pub fn from_fd(fd: OwnedFd, fstype: &str) -> FsContext {
        FsContext {
            fd,
            fstype: fstype.to_string(),
        }
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn set_flag(&self, key: &str) -> Result<()> {
        let k = c(key)?;
        rustix::mount::fsconfig_set_flag(&self.fd, &k)
            .map_err(|e| self.config_error(format!("fsconfig({}, {key:?})", self.fstype), e))
    }

    pub fn set_string(&self, key: &str, value: &str) -> Result<()> {
        let (k, v) = (c(key)?, c(value)?);
        rustix::mount::fsconfig_set_string(&self.fd, &k, &v).map_err(|e| {
            self.config_error(format!("fsconfig({}, {key:?}, {value:?})", self.fstype), e)
        })
    }

    /// Create the superblock and a detached mount of it with `attrs`
    /// (MOUNT_ATTR_* bits).
    pub fn mount(self, attrs: u64) -> Result<OwnedFd> {
        rustix::mount::fsconfig_create(&self.fd).map_err(|e| {
            self.config_error(format!("fsconfig({}, FSCONFIG_CMD_CREATE)", self.fstype), e)
        })?;
        let flags = rustix::mount::FsMountFlags::FSMOUNT_CLOEXEC;
        let attr_flags = rustix::mount::MountAttrFlags::from_bits_retain(attrs as u32);
        let r = rustix::mount::fsmount(&self.fd, flags, attr_flags);
        rx(r, || {
            format!(
                "fsmount({}, attrs {})",
                self.fstype,
                mountflags::attrs_str(attrs)
            )
        })
    }
}

/// Clone a mount (tree with `recursive`) into a detached mount fd.
pub fn open_tree(dir: BorrowedFd<'_>, path: &str, recursive: bool) -> Result<OwnedFd> {
    use rustix::mount::OpenTreeFlags;
    let p = c(path)?;
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if path.is_empty() {
        flags |= OpenTreeFlags::AT_EMPTY_PATH;
    }
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let r = rustix::mount::open_tree(dir, &p, flags);
    rx(r, || {
        format!(
            "open_tree({}, {path:?}, OPEN_TREE_CLONE{})",
            dirname(dir),
            if recursive { "|AT_RECURSIVE" } else { "" }
        )
    })
}

/// Attach a detached mount onto the object a handle refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>, to_name: &str) -> Result<()> {
    use rustix::mount::MoveMountFlags;
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
    let r = rustix::mount::move_mount(from, c"", to, c"", flags);
    rx(r, || {
        format!(
            "move_mount({}, \"\", {} ({to_name:?}), \"\")",
            from.as_raw_fd(),
            to.as_raw_fd()
        )
    })
}

/// What mount_setattr(2) changes on the mount (or tree) an fd refers to.
#[derive(Debug, Clone, Copy, Default)]
pub struct MountSetattr<'a> {
    /// Change every mount of the tree (AT_RECURSIVE).
    pub recursive: bool,
    /// MOUNT_ATTR_* bits to set.
    pub set: u64,
    /// MOUNT_ATTR_* bits to clear.
    pub clear: u64,
    /// MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE; 0 keeps it.
    pub propagation: u64,
    /// The user namespace of an idmapped mount (with MOUNT_ATTR_IDMAP).
    pub userns: Option<BorrowedFd<'a>>,
}

impl MountSetattr<'_> {
    /// Set `attrs` (MOUNT_ATTR_* bits) on one mount.
    pub fn set(attrs: u64) -> Self {
        MountSetattr {
            set: attrs,
            ..Default::default()
        }
    }

    /// Change the propagation of one mount.
    pub fn propagation(propagation: u64) -> Self {
        MountSetattr {
            propagation,
            ..Default::default()
        }
    }
}

/// The kernel's struct mount_attr.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Change mount attributes and propagation on the mount an fd refers to
/// (rustix has no mount_setattr).
pub fn mount_setattr(fd: BorrowedFd<'_>, how: &MountSetattr<'_>) -> Result<()> {
    let attr = MountAttr {
        attr_set: how.set,
        attr_clr: how.clear,
        propagation: how.propagation,
        userns_fd: how.userns.map_or(0, |f| f.as_raw_fd() as u64),
    };
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if how.recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: attr is a valid mount_attr of the size passed, alive for the
    // call; the path is the empty NUL-terminated string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r, || {
        let userns = how
            .userns
            .map_or(String::new(), |u| format!(", userns {}", u.as_raw_fd()));
        format!(
            "mount_setattr({}, {}set {}, clr {}, propagation {}{userns})",
            fd.as_raw_fd(),
            if how.recursive { "AT_RECURSIVE, " } else { "" },
            mountflags::attrs_str(how.set),
            mountflags::attrs_str(how.clear),
            mountflags::flags_str(how.propagation)
        )
    })
    .map(drop)
}
