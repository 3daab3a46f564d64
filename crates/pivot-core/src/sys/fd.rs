//! File descriptors: flags, close-on-exec, closing, duplicating, plain
//! reads and writes, polling, locks and memfds.

use super::*;

/// Mark every fd from `first` up close-on-exec.
pub fn cloexec_from(first: u32) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
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
        // SAFETY: no pointers; an fd closed meanwhile (the directory's own)
        // fails with EBADF, which is fine.
        let r = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } as libc::c_long;
        match check(r, || format!("fcntl({fd}, F_SETFD, FD_CLOEXEC)")) {
            Err(e) if e.errno() != Some(libc::EBADF) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Write to an fd known only by its number (one the caller passed down,
/// such as --status-fd); EBADF if it is not open.
pub fn write_fd_number(fd: RawFd, data: &[u8]) -> Result<usize> {
    // SAFETY: data is readable for its length; a bad fd number only makes
    // write(2) fail.
    let r = retry(|| unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) } as libc::c_long);
    check(r, || format!("write({fd})")).map(|n| n as usize)
}

/// FD_CLOEXEC and the other fd flags of an fd known only by its number;
/// EBADF if nothing is open there.
pub fn fd_flags(fd: RawFd) -> Result<i32> {
    // SAFETY: no pointers; a bad fd number only makes fcntl fail.
    let r = unsafe { libc::fcntl(fd, libc::F_GETFD) } as libc::c_long;
    check(r, || format!("fcntl({fd}, F_GETFD)")).map(|v| v as i32)
}

/// Set or clear FD_CLOEXEC on one fd.
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<()> {
    let flag = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: no pointers.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flag) } as libc::c_long;
    check(r, || format!("fcntl({}, F_SETFD, {flag})", fd.as_raw_fd())).map(drop)
}

pub fn dup2(old: RawFd, new: RawFd) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe { libc::dup2(old, new) } as libc::c_long;
    check(r, || format!("dup2({old}, {new})")).map(drop)
}

pub fn flock(fd: BorrowedFd<'_>, op: i32) -> Result<()> {
    // SAFETY: live fd.
    let r = retry(|| unsafe { libc::flock(fd.as_raw_fd(), op) } as libc::c_long);
    check(r, || format!("flock({}, {op})", fd.as_raw_fd())).map(drop)
}

pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: no pointers.
    unsafe { libc::isatty(fd) == 1 }
}

/// poll one fd for `events`; returns the revents, 0 on timeout.
pub fn poll_one(fd: BorrowedFd<'_>, events: i16, timeout_ms: i32) -> Result<i16> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = retry(|| unsafe { libc::poll(&mut p, 1, timeout_ms) } as libc::c_long);
    check(r, || format!("poll({})", fd.as_raw_fd()))?;
    Ok(p.revents)
}

pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: buf is writable for its length.
    let r = retry(
        || unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }
            as libc::c_long,
    );
    check(r, || format!("read({})", fd.as_raw_fd())).map(|n| n as usize)
}

pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize> {
    // SAFETY: buf is readable for its length.
    let r = retry(
        || unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) } as libc::c_long,
    );
    check(r, || format!("write({})", fd.as_raw_fd())).map(|n| n as usize)
}

/// A standard stream (0, 1 or 2) as a borrowed fd.
pub fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    assert!((0..3).contains(&fd), "stdio fd {fd}");
    // SAFETY: fds 0-2 stay open for the life of the process (a closed one
    // only makes the calls on it fail with EBADF).
    unsafe { BorrowedFd::borrow_raw(fd) }
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
    // SAFETY: no pointers; closing fds this process owns and no longer uses.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    check(r, || format!("close_range({first}, {last}, 0)")).map(drop)
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
    // SAFETY: n is NUL-terminated.
    let r = unsafe { libc::memfd_create(n.as_ptr(), libc::MFD_CLOEXEC) } as libc::c_long;
    check(r, || format!("memfd_create({name:?})")).map(owned)
}

/// Take ownership of a raw fd a library handed over.
pub fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes an fd that was just returned to it and
    // that nothing else will close.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
