//! Running pivot's own image from a read-only view (selfexe.rs).

use super::*;

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
    use rustix::fs::MemfdFlags;
    let n = c(name)?;
    let r = rustix::fs::memfd_create(&n, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING);
    rx(r, || format!("memfd_create({name:?}, MFD_ALLOW_SEALING)"))
}

/// The seals of a memfd (F_GET_SEALS); EINVAL for a file that is not one.
pub fn get_seals(fd: BorrowedFd<'_>) -> Result<i32> {
    let r = rustix::fs::fcntl_get_seals(fd);
    rx(r, || format!("fcntl({}, F_GET_SEALS)", fd.as_raw_fd())).map(|v| v.bits() as i32)
}

/// Seal a memfd against every change (F_ADD_SEALS).
pub fn seal_all(fd: BorrowedFd<'_>) -> Result<()> {
    use rustix::fs::SealFlags;
    let seals = SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE;
    let r = rustix::fs::fcntl_add_seals(fd, seals);
    rx(r, || format!("fcntl({}, F_ADD_SEALS)", fd.as_raw_fd()))
}

/// Copy `len` bytes from `from` (at its offset 0) to `to` with sendfile.
pub fn sendfile_all(to: BorrowedFd<'_>, from: BorrowedFd<'_>, len: u64) -> Result<()> {
    let mut off: u64 = 0;
    while off < len {
        let want = (len - off).min(1 << 30) as usize;
        let r = rx_retry(|| rustix::fs::sendfile(to, from, Some(&mut off), want));
        let n = rx(r, || "sendfile".into())?;
        if n == 0 {
            return Err(Error::invalid(format!(
                "sendfile: the source ended after {off} of {len} bytes"
            )));
        }
    }
    Ok(())
}
