//! Unix sockets: the socketpair pivot talks to its init over (one
//! datagram, at most one fd), stream connect, and datagram sockets for
//! sd_notify passthrough.

use super::*;

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

pub fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a writable array of two ints.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } as libc::c_long;
    check(r, || {
        "socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC)".into()
    })?;
    Ok((owned(fds[0] as libc::c_long), owned(fds[1] as libc::c_long)))
}

/// Send one datagram, optionally carrying one fd (SCM_RIGHTS).
pub fn send_msg(sock: BorrowedFd<'_>, data: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cbuf = [0u64; 4];
    // SAFETY: zeroed msghdr is valid; we fill the fields we use.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        // SAFETY: CMSG_SPACE is a pure computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points at cbuf, big enough for one fd's cmsg.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd.as_raw_fd());
        }
    }
    // SAFETY: msg refers to live buffers for the duration of the call.
    let r = retry(
        || unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) } as libc::c_long,
    );
    check(r, || format!("sendmsg({})", sock.as_raw_fd())).map(drop)
}

/// Receive one datagram (up to 64 KiB) and at most one passed fd.
/// An empty result means the peer closed the socket.
pub fn recv_msg(sock: BorrowedFd<'_>) -> Result<(Vec<u8>, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 65536];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 4];
    // SAFETY: zeroed msghdr is valid; we fill the fields we use.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: msg refers to live, writable buffers.
    let r = retry(
        || unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) }
            as libc::c_long,
    );
    let n = check(r, || format!("recvmsg({})", sock.as_raw_fd()))? as usize;
    buf.truncate(n);
    let mut fd = None;
    // SAFETY: walking the control buffer the kernel filled, within controllen.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
        {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
    }
    Ok((buf, fd))
}

/// Connect a unix stream socket to `path`.
pub fn unix_connect(path: &str) -> Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let r = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) }
        as libc::c_long;
    let sock = owned(check(r, || "socket(AF_UNIX, SOCK_STREAM)".into())?);
    let (addr, len) = sockaddr_un(path)?;
    // SAFETY: addr is a valid sockaddr_un of length len.
    let r = retry(|| unsafe {
        libc::connect(
            sock.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            len,
        )
    } as libc::c_long);
    check(r, || format!("connect({path:?})"))?;
    Ok(sock)
}
