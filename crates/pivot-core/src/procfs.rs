//! The runtime's own handle on the host's procfs: every write pivot makes
//! to procfs goes through a directory fd it opened and checked to be a real
//! procfs (SECURITY.md rule 5), never through a path in the container.

use crate::error::{Error, Result};
use crate::sys;
use crate::sys::mountflags::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
use std::os::fd::{AsFd, OwnedFd};

pub struct ProcFs {
    fd: OwnedFd,
}

impl ProcFs {
    pub fn open() -> Result<ProcFs> {
        let fd = sys::open_proc_dir()?;
        let st = sys::fstatfs(fd.as_fd())?;
        if st.f_type as i64 != sys::PROC_SUPER_MAGIC {
            return Err(Error::other(format!(
                "/proc is not procfs (f_type {:#x})",
                st.f_type
            )));
        }
        Ok(ProcFs { fd })
    }

    /// A new procfs instance of this process's pid namespace, detached
    /// (fsopen + fsmount, never attached anywhere, close-on-exec) and
    /// limited to the pid directories where the kernel can. Needs
    /// CAP_SYS_ADMIN and, in a user namespace, a fully visible procfs in
    /// the mount namespace (the kernel's mount_too_revealing).
    pub fn new_instance() -> Result<ProcFs> {
        let fs = sys::FsContext::open("proc")?;
        Ok(ProcFs {
            fd: Self::limited(fs)?,
        })
    }

    fn limited(fs: sys::FsContext) -> Result<OwnedFd> {
        // subset=pid came with Linux 5.8; without it, the whole procfs.
        let _ = fs.set_string("subset", "pid");
        fs.mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
    }

    /// The same from a context another process opened in the pid
    /// namespace `pid_ns` (device, inode), checked (`check_pid_ns`).
    pub fn new_instance_from(fs: sys::FsContext, pid_ns: (u64, u64)) -> Result<ProcFs> {
        let fd = Self::limited(fs)?;
        Self::check_pid_ns(fd.as_fd(), pid_ns)?;
        Ok(ProcFs { fd })
    }

    /// A procfs made from a context another process opened must be a
    /// procfs whose pid 1 is the init of the pid namespace `pid_ns`
    /// (device, inode): that process could have been taken over and have
    /// sent something else.
    pub fn check_pid_ns(mnt: std::os::fd::BorrowedFd<'_>, pid_ns: (u64, u64)) -> Result<()> {
        let st = sys::fstatfs(mnt)?;
        if st.f_type as i64 != sys::PROC_SUPER_MAGIC {
            return Err(Error::other(format!(
                "the procfs context made in the joined pid namespace gave a filesystem of type {:#x}",
                st.f_type
            )));
        }
        let ns =
            sys::fstatat(mnt, "1/ns/pid", 0).map_err(|e| e.context("the new procfs's pid 1"))?;
        if (ns.st_dev, ns.st_ino) != pid_ns {
            return Err(Error::other(
                "the procfs context made in the joined pid namespace shows another pid namespace",
            ));
        }
        Ok(())
    }

    /// Re-open `fd` with `flags` through `own` or, without one, through
    /// the procfs on /proc in front of this process now.
    pub fn reopen_through(
        own: Option<&ProcFs>,
        fd: std::os::fd::BorrowedFd<'_>,
        flags: i32,
    ) -> Result<OwnedFd> {
        match own {
            Some(p) => p.reopen(fd, flags),
            None => ProcFs::open()?.reopen(fd, flags),
        }
    }

    /// The checked /proc directory itself.
    pub fn dir(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Re-open one of this process's fds (e.g. an O_PATH handle) with new
    /// flags, through the checked procfs rather than a path anyone could
    /// have mounted over.
    pub fn reopen(&self, fd: std::os::fd::BorrowedFd<'_>, flags: i32) -> Result<OwnedFd> {
        use std::os::fd::AsRawFd;
        sys::openat(
            self.fd.as_fd(),
            &format!("thread-self/fd/{}", fd.as_raw_fd()),
            flags,
            0,
        )
    }

    /// Open one of this thread's own files (`rel` under
    /// /proc/thread-self, e.g. "attr/exec") so that nothing mounted in
    /// the procfs can stand in for it (CVE-2019-16884, CVE-2025-52881):
    /// thread-self is read as the link it is, and the rest is walked with
    /// openat2 refusing to cross a mount or follow any link. Where openat2
    /// is missing, the file must be on the same mount as the procfs root.
    pub fn open_thread_self(&self, rel: &str, flags: i32) -> Result<OwnedFd> {
        let me = sys::readlinkat(self.fd.as_fd(), "thread-self")?;
        // "<tgid>/task/<tid>", in this procfs's pid namespace.
        let well_formed = {
            let parts: Vec<&str> = me.split('/').collect();
            parts.len() == 3
                && parts[1] == "task"
                && [parts[0], parts[2]]
                    .iter()
                    .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        if !well_formed
            || rel
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(Error::other(format!(
                "procfs: thread-self is {me:?}, file {rel:?}: not a file of this thread"
            )));
        }
        let path = format!("{me}/{rel}");
        let resolve = sys::RESOLVE_NO_XDEV
            | sys::RESOLVE_NO_MAGICLINKS
            | sys::RESOLVE_NO_SYMLINKS
            | sys::RESOLVE_BENEATH;
        match sys::openat2(self.fd.as_fd(), &path, flags | libc::O_NOFOLLOW, resolve) {
            Err(e) if e.errno() == Some(libc::ENOSYS) => {}
            r => return r,
        }
        let f = sys::openat(self.fd.as_fd(), &path, flags | libc::O_NOFOLLOW, 0)?;
        match (self.mount_id(self.fd.as_fd()), self.mount_id(f.as_fd())) {
            (Some(a), Some(b)) if a == b => Ok(f),
            (a, b) => Err(Error::other(format!(
                "procfs: {path:?} is on another mount ({b:?}) than the procfs ({a:?}): something is mounted over it"
            ))),
        }
    }

    /// The mount id of one of this process's fds (fdinfo's mnt_id).
    fn mount_id(&self, fd: std::os::fd::BorrowedFd<'_>) -> Option<u64> {
        use std::os::fd::AsRawFd;
        let info = sys::openat(
            self.fd.as_fd(),
            &format!("thread-self/fdinfo/{}", fd.as_raw_fd()),
            libc::O_RDONLY,
            0,
        )
        .ok()?;
        let mut buf = [0u8; 512];
        let n = sys::read(info.as_fd(), &mut buf).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("mnt_id:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Write a file under /proc through the handle, never following a
    /// symlink at the last component.
    pub fn write(&self, rel: &str, data: &str) -> Result<()> {
        let f = sys::openat(self.fd.as_fd(), rel, libc::O_WRONLY | libc::O_NOFOLLOW, 0)?;
        let n = sys::write(f.as_fd(), data.as_bytes())?;
        if n != data.len() {
            return Err(Error::other(format!("short write to /proc/{rel}")));
        }
        Ok(())
    }
}
