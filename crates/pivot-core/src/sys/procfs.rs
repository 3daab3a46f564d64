//! This process's own /proc entries, through a procfs handle the caller
//! may name instead of /proc.

use super::*;

/// A procfs of the host's that shows this process, named by a handle the
/// caller owns and checked, to use instead of /proc (-1: /proc). Set by
/// the init of a container that joins a pid namespace: it builds the root
/// outside that namespace, so the container's /proc does not show it.
static SELF_PROC: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Use `dir` (a procfs directory the caller keeps open until it calls
/// this again with None) for this process's own /proc entries.
pub fn set_self_proc(dir: Option<BorrowedFd<'_>>) {
    let fd = dir.map_or(-1, |d| d.as_raw_fd());
    SELF_PROC.store(fd, std::sync::atomic::Ordering::Relaxed);
}

/// The procfs directory showing this process: the one `set_self_proc`
/// named (a duplicate of it), else /proc opened O_PATH.
pub fn open_proc_dir() -> Result<OwnedFd> {
    let fd = SELF_PROC.load(std::sync::atomic::Ordering::Relaxed);
    if fd < 0 {
        return openat(
            cwd(),
            "/proc",
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        );
    }
    // The fd stays open while it is registered.
    let r = rustix::io::fcntl_dupfd_cloexec(fd_number(fd)?, 3);
    rx(r, || format!("fcntl({fd}, F_DUPFD_CLOEXEC)"))
}

/// (directory, path) naming this process's `/proc/self/<rel>`.
pub(super) fn self_proc(rel: &str) -> (BorrowedFd<'static>, String) {
    let fd = SELF_PROC.load(std::sync::atomic::Ordering::Relaxed);
    if fd < 0 {
        return (cwd(), format!("/proc/self/{rel}"));
    }
    // The fd stays open while it is registered (set_self_proc).
    let dir = fd_number(fd).expect("a registered fd");
    (dir, format!("self/{rel}"))
}

/// Where an fd's magic link points (the kernel's name for what it is).
pub fn readlink_fd(fd: BorrowedFd<'_>) -> Result<String> {
    let (dir, path) = self_proc(&format!("fd/{}", fd.as_raw_fd()));
    readlinkat(dir, &path)
}
