//! Running pivot's own image from a read-only view (selfexe.rs).

use super::*;

/// statvfs(3) of a path (following a magic link such as /proc/self/exe).
pub fn statvfs(path: &str) -> Result<libc::statvfs> {
    let p = c(path)?;
    // SAFETY: a zeroed statvfs is valid plain data; statvfs fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: p is NUL-terminated, st is writable.
    let r = unsafe { libc::statvfs(p.as_ptr(), &mut st) } as libc::c_long;
    check(r, || format!("statvfs({path:?})"))?;
    Ok(st)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): run the file `fd` names
/// (an O_PATH fd is enough) with these arguments and environment
/// (`KEY=VALUE` strings); returns only on failure.
pub fn execveat_fd(
    fd: BorrowedFd<'_>,
    args: &[std::ffi::OsString],
    env: &[std::ffi::OsString],
) -> Error {
    use std::os::unix::ffi::OsStrExt;
    let to_c = |v: &[std::ffi::OsString]| -> Result<Vec<CString>> {
        v.iter()
            .map(|s| {
                CString::new(s.as_bytes())
                    .map_err(|_| Error::invalid(format!("{s:?} contains a NUL byte")))
            })
            .collect()
    };
    let (a, e) = match (to_c(args), to_c(env)) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(x), _) | (_, Err(x)) => return x,
    };
    let mut ap: Vec<*const libc::c_char> = a.iter().map(|s| s.as_ptr()).collect();
    ap.push(std::ptr::null());
    let mut ep: Vec<*const libc::c_char> = e.iter().map(|s| s.as_ptr()).collect();
    ep.push(std::ptr::null());
    let empty = c"";
    // SAFETY: a live fd, an empty NUL-terminated path and NULL-terminated
    // arrays of NUL-terminated strings, all alive for the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            empty.as_ptr(),
            ap.as_ptr(),
            ep.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Error::os(
        format!("execveat({}, AT_EMPTY_PATH)", fd.as_raw_fd()),
        errno(),
    )
}

/// An in-memory file that can be sealed.
pub fn memfd_sealable(name: &str) -> Result<OwnedFd> {
    let n = c(name)?;
    // SAFETY: n is NUL-terminated.
    let r = unsafe { libc::memfd_create(n.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) }
        as libc::c_long;
    check(r, || format!("memfd_create({name:?}, MFD_ALLOW_SEALING)")).map(owned)
}

/// The seals of a memfd (F_GET_SEALS); EINVAL for a file that is not one.
pub fn get_seals(fd: BorrowedFd<'_>) -> Result<i32> {
    // SAFETY: plain fcntl on a live fd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) } as libc::c_long;
    check(r, || format!("fcntl({}, F_GET_SEALS)", fd.as_raw_fd())).map(|v| v as i32)
}

/// Seal a memfd against every change (F_ADD_SEALS).
pub fn seal_all(fd: BorrowedFd<'_>) -> Result<()> {
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: plain fcntl on a live fd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } as libc::c_long;
    check(r, || format!("fcntl({}, F_ADD_SEALS)", fd.as_raw_fd())).map(drop)
}

/// Copy `len` bytes from `from` (at its offset 0) to `to` with sendfile.
pub fn sendfile_all(to: BorrowedFd<'_>, from: BorrowedFd<'_>, len: u64) -> Result<()> {
    let mut off: libc::off_t = 0;
    while (off as u64) < len {
        let want = (len - off as u64).min(1 << 30) as usize;
        // SAFETY: live fds and a writable offset.
        let r = retry(|| unsafe {
            libc::sendfile(to.as_raw_fd(), from.as_raw_fd(), &mut off, want) as libc::c_long
        });
        let n = check(r, || "sendfile".into())?;
        if n == 0 {
            return Err(Error::invalid(format!(
                "sendfile: the source ended after {off} of {len} bytes"
            )));
        }
    }
    Ok(())
}
