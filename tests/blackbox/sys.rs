//! The few system calls the tests make themselves, as safe functions
//! (rustix), so that a test file needs no `unsafe` of its own: signalling
//! and unmounting what a test made, taking fds passed over a socket, a
//! pseudo-terminal pair, and waiting for an fd to be readable.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{unmount, UnmountFlags};
use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::process::{kill_process, Pid};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};

pub use rustix::process::Signal;

/// Sends `signal` to process `pid` (a positive pid).
pub fn kill(pid: i32, signal: Signal) -> io::Result<()> {
    Ok(kill_process(pid_of(pid)?, signal)?)
}

/// The pid `pid` names: a positive number (0 and negative numbers name
/// process groups to kill(2) and waitpid(2), which no test means).
pub fn pid_of(pid: i32) -> io::Result<Pid> {
    (pid > 0)
        .then(|| Pid::from_raw(pid))
        .flatten()
        .ok_or_else(|| Errno::INVAL.into())
}

/// umount2(`path`, MNT_DETACH): the mount at `path` and everything below
/// it go at once.
pub fn umount_detach(path: impl AsRef<Path>) -> io::Result<()> {
    Ok(unmount(path.as_ref(), UnmountFlags::DETACH)?)
}

/// One recvmsg on `sock` into `buf`: how many bytes came, and every fd
/// passed with SCM_RIGHTS (close-on-exec, so no child of another test
/// inherits them). 0 bytes and no fds: the peer closed.
pub fn recv_fds(sock: impl AsFd, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(16))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [io::IoSliceMut::new(buf)];
    let got = recvmsg(sock, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = message {
            fds.extend(rights);
        }
    }
    Ok((got.bytes, fds))
}

/// Receives one message of up to 256 bytes with an fd (SCM_RIGHTS), as
/// --console-socket and --pidfd-socket send them: the text and the first
/// fd. None if recvmsg fails or no fd came.
pub fn recv_fd(sock: impl AsFd) -> Option<(String, OwnedFd)> {
    let mut buf = [0u8; 256];
    let (n, fds) = recv_fds(sock, &mut buf).ok()?;
    let fd = fds.into_iter().next()?;
    Some((String::from_utf8_lossy(&buf[..n]).into_owned(), fd))
}

/// A pseudo-terminal pair (master, slave), both close-on-exec, the
/// terminal `rows` by `cols`.
pub fn openpty(rows: u16, cols: u16) -> io::Result<(OwnedFd, OwnedFd)> {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let size = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&slave, size)?;
    Ok((master, slave))
}

/// Waits up to `timeout` for `fd` to be readable (or hung up).
pub fn poll_readable(fd: impl AsFd, timeout: Duration) -> bool {
    let timeout = Timespec::try_from(timeout).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    });
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&timeout)), Ok(1))
}

/// Waits up to `timeout` for `fd` to be readable, then reads what is
/// there into `buf`: None when nothing came in time, Some(n) for n bytes
/// read, Some(0) at the end (end of file, or a read error such as the
/// EIO of a pty master whose other side is gone).
pub fn poll_read(fd: impl AsFd, buf: &mut [u8], timeout: Duration) -> Option<usize> {
    if !poll_readable(&fd, timeout) {
        return None;
    }
    Some(rustix::io::read(&fd, buf).unwrap_or(0))
}

/// A thread that accepts one connection on `listener` and receives the
/// fd sent over it (`recv_fd`), as a --console-socket or --pidfd-socket
/// peer does.
pub fn fd_receiver(listener: UnixListener) -> JoinHandle<(String, OwnedFd)> {
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        recv_fd(&conn).expect("no fd was sent")
    })
}

/// mknod(`path`, `mode`, makedev(`major`, `minor`)): `mode` is the node's
/// type (S_IFCHR, S_IFBLK, ...) and permission bits, as in mknod(2).
pub fn mknod(path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let kind = rustix::fs::FileType::from_raw_mode(mode);
    let perms = Mode::from_raw_mode(mode & 0o7777);
    let dev = rustix::fs::makedev(major, minor);
    Ok(rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        kind,
        perms,
        dev,
    )?)
}
