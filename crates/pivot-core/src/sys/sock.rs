//! Unix sockets: the socketpair pivot talks to its init over (one
//! datagram, at most one fd), stream connect, and datagram sockets for
//! sd_notify passthrough.

use super::*;
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;

fn sockaddr_un(path: &str) -> Result<SocketAddrUnix> {
    // sun_path holds 108 bytes with the NUL.
    if path.len() >= 108 {
        return Err(Error::invalid(format!("socket path {path:?} is too long")));
    }
    let p = c(path)?;
    rx(SocketAddrUnix::new(&p), || format!("socket path {path:?}"))
}

fn unix_socket(kind: SocketType) -> rustix::io::Result<OwnedFd> {
    rustix::net::socket_with(AddressFamily::UNIX, kind, SocketFlags::CLOEXEC, None)
}

/// A datagram unix socket bound at `path` (sd_notify's kind).
pub fn unix_dgram_bind(path: &str) -> Result<OwnedFd> {
    let sock = unix_dgram_unbound()?;
    let addr = sockaddr_un(path)?;
    rx(rustix::net::bind(&sock, &addr), || {
        format!("bind({path:?})")
    })?;
    Ok(sock)
}

pub fn unix_dgram_unbound() -> Result<OwnedFd> {
    rx(unix_socket(SocketType::DGRAM), || {
        "socket(AF_UNIX, SOCK_DGRAM)".into()
    })
}

pub fn unix_dgram_send(sock: BorrowedFd<'_>, path: &str, data: &[u8]) -> Result<()> {
    let addr = sockaddr_un(path)?;
    let r = rustix::net::sendto(sock, data, SendFlags::NOSIGNAL, &addr);
    rx(r, || format!("sendto({path:?})")).map(drop)
}

pub fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    pair(SocketType::SEQPACKET, || {
        "socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC)".into()
    })
}

/// A connected pair of unix sockets of `kind`, close-on-exec.
pub(super) fn pair(kind: SocketType, call: impl FnOnce() -> String) -> Result<(OwnedFd, OwnedFd)> {
    let r = rustix::net::socketpair(AddressFamily::UNIX, kind, SocketFlags::CLOEXEC, None);
    rx(r, call)
}

/// Send one datagram, optionally carrying one fd (SCM_RIGHTS).
pub fn send_msg(sock: BorrowedFd<'_>, data: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    let iov = [IoSlice::new(data)];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(fd) = fd {
        fds = [fd];
        cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    }
    let r = rx_retry(|| rustix::net::sendmsg(sock, &iov, &mut cmsg, SendFlags::NOSIGNAL));
    rx(r, || format!("sendmsg({})", sock.as_raw_fd())).map(drop)
}

/// Receive one datagram (up to 64 KiB) and at most one passed fd.
/// An empty result means the peer closed the socket.
pub fn recv_msg(sock: BorrowedFd<'_>) -> Result<(Vec<u8>, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 65536];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let r = rx_retry(|| {
        let mut iov = [IoSliceMut::new(&mut buf)];
        rustix::net::recvmsg(sock, &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC)
    });
    let n = rx(r, || format!("recvmsg({})", sock.as_raw_fd()))?.bytes;
    buf.truncate(n);
    let mut fd = None;
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = m {
            fd = fd.or_else(|| fds.next());
        }
    }
    Ok((buf, fd))
}

/// Connect a unix stream socket to `path`.
pub fn unix_connect(path: &str) -> Result<OwnedFd> {
    let sock = rx(unix_socket(SocketType::STREAM), || {
        "socket(AF_UNIX, SOCK_STREAM)".into()
    })?;
    let addr = sockaddr_un(path)?;
    let r = rx_retry(|| rustix::net::connect(&sock, &addr));
    rx(r, || format!("connect({path:?})"))?;
    Ok(sock)
}
