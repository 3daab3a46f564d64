//! File descriptors: flags, close-on-exec, closing, duplicating, plain
//! reads and writes, polling, locks and memfds.

use super::*;

/// Mark every fd from `first` up close-on-exec.
pub fn cloexec_from(first: u32) -> Result<()> {
    let r = close_range_raw(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
    let r = check(r, || {
        format!("close_range({first}, ~0, CLOSE_RANGE_CLOEXEC)")
    });
    match r {
        Ok(_) => Ok(()),
        // A seccomp filter already loaded (no_new_privs off: it goes in
        // before the capabilities are dropped) may refuse close_range; mark
        // the open fds one by one instead, as runc closes them.
        Err(e) => cloexec_each_from(first).map_err(|_| e),
    }
}

fn cloexec_each_from(first: u32) -> Result<()> {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Error::io("read /proc/self/fd", e))?
        .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &RawFd| fd >= 0 && fd as u32 >= first)
        .collect();
    for fd in fds {
        // An fd closed meanwhile (the directory's own) fails with EBADF,
        // which is fine.
        let r = rustix::io::fcntl_setfd(fd_number(fd)?, rustix::io::FdFlags::CLOEXEC);
        match rx(r, || format!("fcntl({fd}, F_SETFD, FD_CLOEXEC)")) {
            Err(e) if e.errno() != Some(libc::EBADF) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Write to an fd known only by its number (one the caller passed down,
/// such as --status-fd); EBADF if it is not open.
pub fn write_fd_number(fd: RawFd, data: &[u8]) -> Result<usize> {
    let f = fd_number(fd).map_err(|e| e.context(format!("write({fd})")))?;
    rx(rx_retry(|| rustix::io::write(f, data)), || {
        format!("write({fd})")
    })
}

/// FD_CLOEXEC and the other fd flags of an fd known only by its number;
/// EBADF if nothing is open there.
pub fn fd_flags(fd: RawFd) -> Result<i32> {
    let f = fd_number(fd).map_err(|e| e.context(format!("fcntl({fd}, F_GETFD)")))?;
    let r = rustix::io::fcntl_getfd(f);
    rx(r, || format!("fcntl({fd}, F_GETFD)")).map(|v| v.bits() as i32)
}

/// Set or clear FD_CLOEXEC on one fd.
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<()> {
    let flag = if on { libc::FD_CLOEXEC } else { 0 };
    let flags = rustix::io::FdFlags::from_bits_retain(flag as u32);
    let r = rustix::io::fcntl_setfd(fd, flags);
    rx(r, || format!("fcntl({}, F_SETFD, {flag})", fd.as_raw_fd()))
}

/// dup2 onto one of the standard streams (0, 1 or 2).
pub fn dup2(old: BorrowedFd<'_>, new: RawFd) -> Result<()> {
    let r = match new {
        0 => rustix::stdio::dup2_stdin(old),
        1 => rustix::stdio::dup2_stdout(old),
        2 => rustix::stdio::dup2_stderr(old),
        _ => Err(rustix::io::Errno::BADF),
    };
    rx(r, || format!("dup2({}, {new})", old.as_raw_fd()))
}

/// A whole-file lock (flock(2)), blocking until it is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Shared,
    Exclusive,
}

pub fn flock(fd: BorrowedFd<'_>, lock: Lock) -> Result<()> {
    use rustix::fs::FlockOperation as Op;
    let (op, n) = match lock {
        Lock::Shared => (Op::LockShared, libc::LOCK_SH),
        Lock::Exclusive => (Op::LockExclusive, libc::LOCK_EX),
    };
    let r = rx_retry(|| rustix::fs::flock(fd, op));
    rx(r, || format!("flock({}, {n})", fd.as_raw_fd()))
}

pub fn isatty(fd: RawFd) -> bool {
    fd_number(fd).is_ok_and(rustix::termios::isatty)
}

/// What poll(2) said about one fd polled for input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollIn(rustix::event::PollFlags);

impl PollIn {
    /// POLLIN: there is something to read.
    pub fn readable(self) -> bool {
        self.0.contains(rustix::event::PollFlags::IN)
    }

    /// POLLHUP: the other end is closed.
    pub fn hung_up(self) -> bool {
        self.0.contains(rustix::event::PollFlags::HUP)
    }

    /// Any event (input, hangup or error): not a timeout.
    pub fn ready(self) -> bool {
        !self.0.is_empty()
    }
}

/// poll one fd for input (POLLIN) for up to `timeout_ms` (-1: no limit).
pub fn poll_in(fd: BorrowedFd<'_>, timeout_ms: i32) -> Result<PollIn> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut p = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    let timeout = (timeout_ms >= 0).then(|| Timespec {
        tv_sec: i64::from(timeout_ms / 1000),
        tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
    });
    let r = rx_retry(|| rustix::event::poll(&mut p, timeout.as_ref()));
    rx(r, || format!("poll({})", fd.as_raw_fd()))?;
    Ok(PollIn(p[0].revents()))
}

pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    let r = rx_retry(|| rustix::io::read(fd, &mut *buf));
    rx(r, || format!("read({})", fd.as_raw_fd()))
}

pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize> {
    let r = rx_retry(|| rustix::io::write(fd, buf));
    rx(r, || format!("write({})", fd.as_raw_fd()))
}

/// A standard stream (0, 1 or 2) as a borrowed fd.
pub fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    assert!((0..3).contains(&fd), "stdio fd {fd}");
    // fds 0-2 stay open for the life of the process (a closed one only
    // makes the calls on it fail with EBADF).
    fd_number(fd).expect("fd 0-2")
}

/// Close every fd from `first` up except those in `keep`: the init must
/// hold nothing of the caller's or pivot's own (lock files, the state
/// directory) once it enters the container.
pub fn close_fds_from(first: u32, keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&f| f >= 0 && f as u32 >= first)
        .map(|&f| f as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut start = first;
    for k in keep {
        if k > start {
            close_range(start, k - 1)?;
        }
        start = k + 1;
    }
    close_range(start, u32::MAX)
}

fn close_range(first: u32, last: u32) -> Result<()> {
    let r = close_range_raw(first, last, 0);
    check(r, || format!("close_range({first}, {last}, 0)")).map(drop)
}

/// close_range(2), which rustix lacks.
fn close_range_raw(first: u32, last: u32, flags: libc::c_uint) -> libc::c_long {
    // SAFETY: no pointers; the callers close (or mark close-on-exec) only
    // fds this process owns and no longer uses past this point.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) }
}

/// Copy the contents of one open file to another.
pub fn copy_fd(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = read(from, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut off = 0;
        while off < n {
            off += write(to, &buf[off..n])?;
        }
    }
}

/// An anonymous in-memory file (for capturing a hook's output).
pub fn memfd(name: &str) -> Result<OwnedFd> {
    let n = c(name)?;
    let r = rustix::fs::memfd_create(&n, rustix::fs::MemfdFlags::CLOEXEC);
    rx(r, || format!("memfd_create({name:?})"))
}

/// Take ownership of a raw fd a library handed over.
pub fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes an fd that was just returned to it and
    // that nothing else will close.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
