//! Every kernel call pivot makes, and the only module with `unsafe`.
//!
//! Each wrapper returns [`Error`] whose text is the call with its arguments
//! as strace would print them, followed by the errno name: the innermost
//! frame of every error chain.

#![allow(unsafe_code)]

mod attrs;
mod bpf;
mod fd;
mod fs;
mod ids;
mod mount;
pub mod mountflags;
mod netlink;
mod probe;
mod process;
mod procfs;
mod selfexe;
mod signal;
pub mod sock;
pub mod tty;

pub use attrs::*;
pub use bpf::*;
pub use fd::*;
pub use fs::*;
pub use ids::*;
pub use mount::*;
pub use netlink::*;
pub use probe::*;
pub use process::*;
pub use procfs::*;
pub use selfexe::*;
pub use signal::*;
pub use sock::{recv_msg, send_msg, socketpair, unix_connect};

use crate::error::{Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub use libc::{gid_t, mode_t, pid_t, uid_t};
pub use rustix::io::Errno;

impl Error {
    /// Whether this is a failed call whose errno is `errno`.
    pub fn is_errno(&self, errno: Errno) -> bool {
        self.errno() == Some(errno.raw_os_error())
    }
}

/// `AT_FDCWD` as a borrowed fd, for calls that take a directory fd.
pub fn cwd() -> BorrowedFd<'static> {
    rustix::fs::CWD
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn c(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("path {s:?} contains a NUL byte")))
}

fn dirname(fd: BorrowedFd<'_>) -> String {
    if fd.as_raw_fd() == libc::AT_FDCWD {
        "AT_FDCWD".into()
    } else {
        fd.as_raw_fd().to_string()
    }
}

/// Check a libc return value: -1 means failure with errno.
fn check(ret: libc::c_long, call: impl FnOnce() -> String) -> Result<libc::c_long> {
    if ret == -1 {
        Err(Error::os(call(), errno()))
    } else {
        Ok(ret)
    }
}

/// Retry a call while it fails with EINTR.
fn retry<F: FnMut() -> libc::c_long>(mut f: F) -> libc::c_long {
    loop {
        let r = f();
        if r != -1 || errno() != libc::EINTR {
            return r;
        }
    }
}

/// Check a rustix result: the error is the call (as `call` spells it) and
/// the errno.
fn rx<T>(r: rustix::io::Result<T>, call: impl FnOnce() -> String) -> Result<T> {
    r.map_err(|e| Error::os(call(), e.raw_os_error()))
}

/// Retry a rustix call while it fails with EINTR.
fn rx_retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match f() {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r,
        }
    }
}

/// An fd known only by its number (one the caller passed down, such as
/// --status-fd or a preserved fd, or one of 0-2) as a borrowed fd.
fn fd_number(fd: RawFd) -> Result<BorrowedFd<'static>> {
    if fd < 0 {
        return Err(Error::os(format!("fd {fd}"), libc::EBADF));
    }
    // SAFETY: the number is not -1, and nothing in pivot closes the fds it
    // names while a call borrows them; one that is not open only makes the
    // call fail with EBADF (the kernel checks it, no memory is involved).
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

fn owned(ret: libc::c_long) -> OwnedFd {
    // SAFETY: callers pass only a fresh descriptor a successful call
    // returned; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as RawFd) }
}
