//! The caller's effective ids (rootless mode is decided by them).

use libc::{gid_t, uid_t};

pub fn geteuid() -> uid_t {
    // SAFETY: no arguments.
    unsafe { libc::geteuid() }
}

pub fn getegid() -> gid_t {
    // SAFETY: no arguments.
    unsafe { libc::getegid() }
}
