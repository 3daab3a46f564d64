//! Datagram unix sockets, for sd_notify passthrough.

use super::{check, owned};
use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

fn sockaddr_un(path: &str) -> Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: zeroed sockaddr_un is valid; we fill family and path.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(Error::invalid(format!("socket path {path:?} is too long")));
    }
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    Ok((addr, len))
}

/// A datagram unix socket bound at `path` (sd_notify's kind).
pub fn unix_dgram_bind(path: &str) -> Result<OwnedFd> {
    let sock = unix_dgram_unbound()?;
    let (addr, len) = sockaddr_un(path)?;
    // SAFETY: addr is a valid sockaddr_un of length len.
    let r = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            len,
        )
    } as libc::c_long;
    check(r, || format!("bind({path:?})"))?;
    Ok(sock)
}

pub fn unix_dgram_unbound() -> Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let r = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }
        as libc::c_long;
    check(r, || "socket(AF_UNIX, SOCK_DGRAM)".into()).map(owned)
}

pub fn unix_dgram_send(sock: BorrowedFd<'_>, path: &str, data: &[u8]) -> Result<()> {
    let (addr, len) = sockaddr_un(path)?;
    // SAFETY: data and addr are valid for the call.
    let r = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_NOSIGNAL,
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            len,
        )
    } as libc::c_long;
    check(r, || format!("sendto({path:?})")).map(drop)
}
