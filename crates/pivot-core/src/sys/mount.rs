//! Mounts: the classic mount(2)/umount2/pivot_root, the new mount API
//! (fsopen, fsmount, open_tree, move_mount, mount_setattr) and what a
//! mount an fd is on looks like.

use super::*;

/// The mount an fd is on: its mount id (the first field of mountinfo)
/// and whether the fd is that mount's root (statx, Linux 5.8).
pub fn mount_of(fd: BorrowedFd<'_>) -> Result<(u64, bool)> {
    let e = c("")?;
    // SAFETY: zeroed statx is a valid out-buffer.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable; e is the empty NUL-terminated string.
    let r = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut st,
        )
    } as libc::c_long;
    check(r, || format!("statx({}, STATX_MNT_ID)", fd.as_raw_fd()))?;
    let root = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if st.stx_mask & libc::STATX_MNT_ID == 0 || st.stx_attributes_mask & root == 0 {
        return Err(Error::other(
            "statx gives no mount id or mount root (Linux 5.8 or later is needed)",
        ));
    }
    Ok((st.stx_mnt_id, st.stx_attributes & root != 0))
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
    // SAFETY: zeroed statvfs is a valid out-buffer.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable, fd is live.
    let r = unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } as libc::c_long;
    check(r, || format!("fstatvfs({})", fd.as_raw_fd()))?;
    Ok(st.f_flag as u64)
}

pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> Result<()> {
    let s = source.map(c).transpose()?;
    let t = c(target)?;
    let f = fstype.map(c).transpose()?;
    let d = data.map(c).transpose()?;
    let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string alive for the call.
    let r = unsafe {
        libc::mount(
            ptr(&s),
            t.as_ptr(),
            ptr(&f),
            flags as libc::c_ulong,
            ptr(&d).cast(),
        )
    } as libc::c_long;
    check(r, || {
        format!(
            "mount({:?}, {target:?}, {:?}, {}, {:?})",
            source.unwrap_or(""),
            fstype.unwrap_or(""),
            mountflags::flags_str(flags),
            data.unwrap_or("")
        )
    })
    .map(drop)
}

pub fn umount2(target: &str, flags: i32) -> Result<()> {
    let t = c(target)?;
    // SAFETY: NUL-terminated path.
    let r = unsafe { libc::umount2(t.as_ptr(), flags) } as libc::c_long;
    check(r, || format!("umount2({target:?}, {flags:#x})")).map(drop)
}

pub fn pivot_root(new_root: &str, put_old: &str) -> Result<()> {
    let n = c(new_root)?;
    let o = c(put_old)?;
    // SAFETY: NUL-terminated paths.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) };
    check(r, || format!("pivot_root({new_root:?}, {put_old:?})")).map(drop)
}

// The new mount API: mounts are built on fds and attached to handles, so
// no path inside the rootfs is walked twice (SECURITY.md rule 2).

pub const AT_RECURSIVE: u32 = 0x8000;
pub const OPEN_TREE_CLONE: u32 = 1;
const FSOPEN_CLOEXEC: u32 = 1;
const FSMOUNT_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Read what the filesystem said about a failed fsconfig, if anything.
fn fs_log(fs: BorrowedFd<'_>) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: buf is writable for its length.
        let r = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if r <= 0 {
            break;
        }
        let msg = String::from_utf8_lossy(&buf[..r as usize]);
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
        // SAFETY: t is NUL-terminated.
        let r = unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) };
        let fd = check(r, || format!("fsopen({fstype:?})"))?;
        Ok(FsContext {
            fd: owned(fd),
            fstype: fstype.to_string(),
        })
    }

    fn config(&self, cmd: u32, key: Option<&str>, value: Option<&str>) -> Result<()> {
        let k = key.map(c).transpose()?;
        let v = value.map(c).transpose()?;
        let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: key/value are NULL or NUL-terminated strings alive for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                cmd,
                ptr(&k),
                ptr(&v),
                0,
            )
        };
        if r == -1 {
            let e = errno();
            let log = fs_log(self.fd.as_fd());
            let what = match (key, value) {
                (Some(k), Some(v)) => format!("fsconfig({}, {k:?}, {v:?})", self.fstype),
                (Some(k), None) => format!("fsconfig({}, {k:?})", self.fstype),
                _ => format!("fsconfig({}, FSCONFIG_CMD_CREATE)", self.fstype),
            };
            let what = if log.is_empty() {
                what
            } else {
                format!("{what} [{log}]")
            };
            return Err(Error::os(what, e));
        }
        Ok(())
    }

    /// fsconfig(FSCONFIG_SET_FD): `key` names an open file (procfs's
    /// `pidns`).
    pub fn set_fd(&self, key: &str, fd: BorrowedFd<'_>) -> Result<()> {
        let k = c(key)?;
        // SAFETY: key is NUL-terminated, value NULL, aux a live fd.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                5, /* FSCONFIG_SET_FD */
                k.as_ptr(),
                std::ptr::null::<libc::c_char>(),
                fd.as_raw_fd(),
            )
        };
        check(r, || {
            format!("fsconfig({}, {key:?}, fd {})", self.fstype, fd.as_raw_fd())
        })
        .map(drop)
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
        self.config(FSCONFIG_SET_FLAG, Some(key), None)
    }

    pub fn set_string(&self, key: &str, value: &str) -> Result<()> {
        self.config(FSCONFIG_SET_STRING, Some(key), Some(value))
    }

    /// Create the superblock and a detached mount of it with `attrs`
    /// (MOUNT_ATTR_* bits).
    pub fn mount(self, attrs: u64) -> Result<OwnedFd> {
        self.config(FSCONFIG_CMD_CREATE, None, None)?;
        // SAFETY: plain integer arguments on a live fd.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                self.fd.as_raw_fd(),
                FSMOUNT_CLOEXEC,
                attrs,
            )
        };
        check(r, || format!("fsmount({}, attrs {attrs:#x})", self.fstype)).map(owned)
    }
}

/// Clone a mount (tree with `recursive`) into a detached mount fd.
pub fn open_tree(dir: BorrowedFd<'_>, path: &str, recursive: bool) -> Result<OwnedFd> {
    let p = c(path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if path.is_empty() {
        flags |= libc::AT_EMPTY_PATH as u32;
    }
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: p is NUL-terminated; dir is live or AT_FDCWD.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, dir.as_raw_fd(), p.as_ptr(), flags) };
    check(r, || {
        format!(
            "open_tree({}, {path:?}, OPEN_TREE_CLONE{})",
            dirname(dir),
            if recursive { "|AT_RECURSIVE" } else { "" }
        )
    })
    .map(owned)
}

/// Attach a detached mount onto the object a handle refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>, to_name: &str) -> Result<()> {
    let e = c("")?;
    // SAFETY: both paths are the empty NUL-terminated string; fds are live.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            e.as_ptr(),
            to.as_raw_fd(),
            e.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(r, || {
        format!(
            "move_mount({}, \"\", {} ({to_name:?}), \"\")",
            from.as_raw_fd(),
            to.as_raw_fd()
        )
    })
    .map(drop)
}

/// Change mount attributes and propagation on the mount an fd refers to.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
    propagation: u64,
    userns: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation,
        userns_fd: userns.map_or(0, |f| f.as_raw_fd() as u64),
    };
    let e = c("")?;
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: attr is a valid mount_attr of the size passed; e is "".
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            e.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r, || {
        format!(
            "mount_setattr({}, {}set {set:#x}, clr {clr:#x}, propagation {})",
            fd.as_raw_fd(),
            if recursive { "AT_RECURSIVE, " } else { "" },
            mountflags::flags_str(propagation)
        )
    })
    .map(drop)
}
