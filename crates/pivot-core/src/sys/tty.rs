//! Terminal calls: the pty pair inside the container's devpts, the
//! controlling terminal, window sizes and raw mode.

use super::rx;
use crate::error::{Error, Result};
use rustix::termios::{OptionalActions, OutputModes, Winsize};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// A terminal's settings, as `make_raw` saves them for `restore`.
pub use rustix::termios::Termios;

/// Unlock a pty master and open its peer through the master itself, so
/// the peer cannot be some other /dev/pts entry (no path lookup).
pub fn open_peer(master: BorrowedFd<'_>) -> Result<OwnedFd> {
    let fd = master.as_raw_fd();
    rx(rustix::pty::unlockpt(master), || {
        format!("ioctl({fd}, TIOCSPTLCK)")
    })?;
    use rustix::pty::OpenptFlags;
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    rx(rustix::pty::ioctl_tiocgptpeer(master, flags), || {
        format!("ioctl({fd}, TIOCGPTPEER)")
    })
}

/// The pty number of a master (for the name /dev/pts/N).
pub fn pty_number(master: BorrowedFd<'_>) -> Result<u32> {
    let what = || format!("ioctl({}, TIOCGPTN)", master.as_raw_fd());
    // ptsname is TIOCGPTN spelled out as "/dev/pts/N".
    let name = rx(rustix::pty::ptsname(master, Vec::new()), what)?;
    name.to_str()
        .ok()
        .and_then(|n| n.strip_prefix("/dev/pts/")?.parse().ok())
        .ok_or_else(|| Error::other(format!("{}: {name:?}", what())))
}

/// Start a new session (and process group) led by the caller.
pub fn new_session() -> Result<()> {
    rx(rustix::process::setsid(), || "setsid()".into()).map(drop)
}

/// Start a new session and make `tty` its controlling terminal.
pub fn make_controlling(tty: BorrowedFd<'_>) -> Result<()> {
    new_session()?;
    rx(rustix::process::ioctl_tiocsctty(tty), || {
        format!("ioctl({}, TIOCSCTTY)", tty.as_raw_fd())
    })
}

pub fn set_winsize(tty: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<()> {
    let ws = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rx(rustix::termios::tcsetwinsize(tty, ws), || {
        format!("ioctl({}, TIOCSWINSZ)", tty.as_raw_fd())
    })
}

pub fn get_winsize(tty: BorrowedFd<'_>) -> Result<(u16, u16)> {
    let ws = rx(rustix::termios::tcgetwinsize(tty), || {
        format!("ioctl({}, TIOCGWINSZ)", tty.as_raw_fd())
    })?;
    Ok((ws.ws_row, ws.ws_col))
}

fn tcgetattr(tty: BorrowedFd<'_>) -> Result<Termios> {
    rx(rustix::termios::tcgetattr(tty), || {
        format!("tcgetattr({})", tty.as_raw_fd())
    })
}

/// Put a terminal in raw mode, output processing kept (OPOST, as runc's
/// console package does): the terminal maps "\n" to "\r\n" itself, the
/// container's pty has ONLCR off. Returns the previous settings.
pub fn make_raw(tty: BorrowedFd<'_>) -> Result<Termios> {
    let mut t = tcgetattr(tty)?;
    let old = t.clone();
    t.make_raw();
    t.output_modes |= OutputModes::OPOST;
    rx(
        rustix::termios::tcsetattr(tty, OptionalActions::Now, &t),
        || format!("tcsetattr({})", tty.as_raw_fd()),
    )?;
    Ok(old)
}

/// Turn off ONLCR (the "\n" to "\r\n" output mapping) on a pty, as runc
/// does for the terminal it proxies: the caller's terminal (or file) gets
/// what the process wrote, and a terminal maps it once itself.
pub fn clear_onlcr(tty: BorrowedFd<'_>) -> Result<()> {
    let mut t = tcgetattr(tty)?;
    t.output_modes.remove(OutputModes::ONLCR);
    rx(
        rustix::termios::tcsetattr(tty, OptionalActions::Now, &t),
        || format!("tcsetattr({}, ~ONLCR)", tty.as_raw_fd()),
    )
}

pub fn restore(tty: BorrowedFd<'_>, t: &Termios) {
    let _ = rustix::termios::tcsetattr(tty, OptionalActions::Now, t);
}

/// A connected pair of unix stream sockets (for pivot's own console
/// socket in `run -t`).
pub fn stream_pair() -> Result<(OwnedFd, OwnedFd)> {
    super::sock::pair(rustix::net::SocketType::STREAM, || {
        "socketpair(AF_UNIX, SOCK_STREAM)".into()
    })
}

pub fn not_a_tty(what: &str) -> Error {
    Error::invalid(format!("{what} is not a terminal"))
}
