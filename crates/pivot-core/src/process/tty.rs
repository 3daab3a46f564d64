//! Terminals: the pty is made inside the container (its own devpts, via
//! /dev/ptmx), the peer is taken from the master with TIOCGPTPEER (no path
//! lookup), bound over /dev/console for the init, and the master goes to
//! the console socket as runc sends it. `run -t` in the foreground is its
//! own console socket and copies between the caller's terminal and the
//! master.

use crate::error::{Context, Error, Result};
use crate::rootfs::resolve::Root;
use crate::spec::types::ConsoleSize;
use crate::sys;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// In the process-to-be, inside the container: make the pty, (for the
/// init) bind the peer over /dev/console, send the master over `socket`,
/// and make the peer stdio; the caller then makes it the controlling
/// terminal of a session of the process's own (`make_controlling` on fd
/// 0). The peer belongs to the process's `uid` (its group stays the
/// devpts one), as runc's.
pub fn setup_console(
    socket: BorrowedFd<'_>,
    bind_console: bool,
    size: Option<&ConsoleSize>,
    uid: u32,
) -> Result<()> {
    let master = sys::openat(sys::cwd(), "/dev/ptmx", libc::O_RDWR | libc::O_NOCTTY, 0)
        .ctx("process.terminal: open the container's /dev/ptmx")?;
    let st = sys::fstat(master.as_fd())?;
    if sys::file_type(&st) != sys::FileType::Char || sys::major(st.st_rdev) != 5 {
        return Err(Error::invalid(
            "process.terminal: /dev/ptmx in the container is not a pty multiplexer",
        ));
    }
    let peer = sys::tty::open_peer(master.as_fd())?;
    if sys::fstat(peer.as_fd())?.st_uid != uid {
        // As runc: a uid not mapped here (EINVAL), an owner not mapped
        // (EPERM) or a read-only devpts (EROFS) leave the pty as it is.
        match sys::fchown(peer.as_fd(), uid, u32::MAX) {
            Err(e) if matches!(e.errno(), Some(libc::EINVAL | libc::EPERM | libc::EROFS)) => {}
            r => r.ctx("process.terminal: chown the pty")?,
        }
    }
    if let Some(sz) = size {
        sys::tty::set_winsize(peer.as_fd(), sz.height as u16, sz.width as u16)
            .ctx("process.consoleSize")?;
    }
    if bind_console {
        mount_console(peer.as_fd()).ctx("/dev/console")?;
    }
    sys::send_msg(socket, b"/dev/ptmx", Some(master.as_fd())).ctx("--console-socket")?;
    drop(master);
    for fd in 0..3 {
        sys::dup2(peer.as_fd(), fd)?;
    }
    Ok(())
}

/// Bind the pty peer over /dev/console, created as a plain file inside the
/// root if missing; the mount goes onto the handle, never through a path a
/// racing process could swap (CVE-2025-52565).
fn mount_console(peer: BorrowedFd<'_>) -> Result<()> {
    let root = Root::open("/")?;
    let target = root.mkfile("/dev/console", 0o666)?;
    // An image's /dev/console that is a symlink would send the pty
    // mount elsewhere in the container (over a /proc file, say).
    let real = root.path_of(target.as_fd())?;
    if real != "/dev/console" {
        return Err(Error::invalid(format!(
            "/dev/console in the rootfs resolves to {real:?}: it must be a file or missing"
        )));
    }
    let tree = sys::open_tree(peer, "", false)?;
    sys::move_mount(tree.as_fd(), target.as_fd(), "/dev/console")
}

/// Receive the master a container sent to our end of a console pair.
pub fn receive_master(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let (_, fd) = sys::recv_msg(sock)?;
    fd.ok_or_else(|| Error::other("console: no pty master was sent"))
}

/// Copy between the caller's terminal and the master until the container
/// side hangs up. Threads are fine here: the container exists already.
pub struct Proxy {
    saved: Option<sys::tty::Termios>,
    master: std::sync::Arc<OwnedFd>,
    output: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(master: OwnedFd) -> Result<Proxy> {
        // The container's "\n" reaches the caller as written (as runc's):
        // a terminal maps it itself (make_raw keeps OPOST), a file or pipe
        // gets no "\r". For `exec` the process has done this already.
        sys::tty::clear_onlcr(master.as_fd()).ctx("process.terminal: clear ONLCR")?;
        let stdin = sys::stdio(0);
        let saved = if sys::isatty(0) {
            if let Ok((rows, cols)) = sys::tty::get_winsize(stdin) {
                let _ = sys::tty::set_winsize(master.as_fd(), rows, cols);
            }
            Some(sys::tty::make_raw(stdin)?)
        } else {
            None
        };
        let master = std::sync::Arc::new(master);
        let m_in = master.clone();
        std::thread::spawn(move || copy(sys::stdio(0), m_in.as_fd()));
        let m_out = master.clone();
        let output = Some(std::thread::spawn(move || {
            copy(m_out.as_fd(), sys::stdio(1))
        }));
        Ok(Proxy {
            saved,
            master,
            output,
        })
    }

    /// Pass the caller's window size on (SIGWINCH).
    pub fn resize(&self) {
        if let Ok((rows, cols)) = sys::tty::get_winsize(sys::stdio(0)) {
            let _ = sys::tty::set_winsize(self.master.as_fd(), rows, cols);
        }
    }

    /// Wait for the container's output to drain and restore the terminal.
    pub fn finish(mut self) {
        if let Some(h) = self.output.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            sys::tty::restore(sys::stdio(0), t);
        }
    }
}

fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match sys::read(from, &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut off = 0;
        while off < n {
            match sys::write(to, &buf[off..n]) {
                Ok(w) => off += w,
                Err(_) => return,
            }
        }
    }
}
