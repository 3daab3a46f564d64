//! The caller's effective gid (rootless mode maps it; geteuid is in
//! process.rs).

use libc::gid_t;

pub fn getegid() -> gid_t {
    rustix::process::getegid().as_raw()
}
