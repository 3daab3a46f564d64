//! Terminal calls: the pty pair inside the container's devpts, the
//! controlling terminal, window sizes and raw mode.

use super::{check, owned};
use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

const TIOCGPTPEER: libc::c_ulong = 0x5441;

fn ioctl(fd: BorrowedFd<'_>, req: libc::c_ulong, arg: libc::c_ulong, what: &str) -> Result<i32> {
    // SAFETY: the requests used here take an integer or a pointer to a
    // live local the caller passes as `arg`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req, arg) } as libc::c_long;
    check(r, || format!("ioctl({}, {what})", fd.as_raw_fd())).map(|v| v as i32)
}

/// Unlock a pty master and open its peer through the master itself, so
/// the peer cannot be some other /dev/pts entry (no path lookup).
pub fn open_peer(master: BorrowedFd<'_>) -> Result<OwnedFd> {
    let unlock: libc::c_int = 0;
    ioctl(
        master,
        libc::TIOCSPTLCK,
        &unlock as *const _ as libc::c_ulong,
        "TIOCSPTLCK",
    )?;
    let flags = (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) as libc::c_ulong;
    ioctl(master, TIOCGPTPEER, flags, "TIOCGPTPEER").map(|fd| owned(fd as libc::c_long))
}

/// The pty number of a master (for the name /dev/pts/N).
pub fn pty_number(master: BorrowedFd<'_>) -> Result<u32> {
    let mut n: libc::c_uint = 0;
    ioctl(
        master,
        libc::TIOCGPTN,
        &mut n as *mut _ as libc::c_ulong,
        "TIOCGPTN",
    )?;
    Ok(n)
}

/// Start a new session (and process group) led by the caller.
pub fn new_session() -> Result<()> {
    // SAFETY: setsid has no arguments.
    let r = unsafe { libc::setsid() } as libc::c_long;
    check(r, || "setsid()".into()).map(drop)
}

/// Start a new session and make `tty` its controlling terminal.
pub fn make_controlling(tty: BorrowedFd<'_>) -> Result<()> {
    new_session()?;
    ioctl(tty, libc::TIOCSCTTY, 0, "TIOCSCTTY").map(drop)
}

pub fn set_winsize(tty: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    ioctl(
        tty,
        libc::TIOCSWINSZ,
        &ws as *const _ as libc::c_ulong,
        "TIOCSWINSZ",
    )
    .map(drop)
}

pub fn get_winsize(tty: BorrowedFd<'_>) -> Result<(u16, u16)> {
    // SAFETY: winsize is plain data.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    ioctl(
        tty,
        libc::TIOCGWINSZ,
        &mut ws as *mut _ as libc::c_ulong,
        "TIOCGWINSZ",
    )?;
    Ok((ws.ws_row, ws.ws_col))
}

/// Put a terminal in raw mode, output processing kept (OPOST, as runc's
/// console package does): the terminal maps "\n" to "\r\n" itself, the
/// container's pty has ONLCR off. Returns the previous settings.
pub fn make_raw(tty: BorrowedFd<'_>) -> Result<libc::termios> {
    // SAFETY: termios is plain data filled by tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: t is a valid termios for the live fd.
    let r = unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut t) } as libc::c_long;
    check(r, || format!("tcgetattr({})", tty.as_raw_fd()))?;
    let old = t;
    // SAFETY: cfmakeraw edits the struct in place.
    unsafe { libc::cfmakeraw(&mut t) };
    t.c_oflag |= libc::OPOST;
    // SAFETY: t is a valid termios.
    let r = unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t) } as libc::c_long;
    check(r, || format!("tcsetattr({})", tty.as_raw_fd()))?;
    Ok(old)
}

/// Turn off ONLCR (the "\n" to "\r\n" output mapping) on a pty, as runc
/// does for the terminal it proxies: the caller's terminal (or file) gets
/// what the process wrote, and a terminal maps it once itself.
pub fn clear_onlcr(tty: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: termios is plain data filled by tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: t is a valid termios for the live fd.
    let r = unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut t) } as libc::c_long;
    check(r, || format!("tcgetattr({})", tty.as_raw_fd()))?;
    t.c_oflag &= !libc::ONLCR;
    // SAFETY: t is a valid termios.
    let r = unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t) } as libc::c_long;
    check(r, || format!("tcsetattr({}, ~ONLCR)", tty.as_raw_fd())).map(drop)
}

pub fn restore(tty: BorrowedFd<'_>, t: &libc::termios) {
    // SAFETY: t came from tcgetattr on this terminal.
    unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, t) };
}

/// A connected pair of unix stream sockets (for pivot's own console
/// socket in `run -t`).
pub fn stream_pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a writable array of two ints.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } as libc::c_long;
    check(r, || "socketpair(AF_UNIX, SOCK_STREAM)".into())?;
    Ok((owned(fds[0] as libc::c_long), owned(fds[1] as libc::c_long)))
}

pub fn not_a_tty(what: &str) -> Error {
    Error::invalid(format!("{what} is not a terminal"))
}
