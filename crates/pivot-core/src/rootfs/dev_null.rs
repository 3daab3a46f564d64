//! The container's /dev/null: verified before it masks a path, and after
//! the root switch (step 9, runc's reOpenDevNull) the init's stdio moved
//! from the host's onto it.

use super::resolve::Root;
use crate::error::{Context as _, Error, Result};
use crate::procfs::ProcFs;
use crate::sys;
use std::os::fd::AsFd;

fn is_null(st: &sys::Stat) -> bool {
    sys::file_type(st) == sys::FileType::Char && st.st_rdev == sys::makedev(1, 3)
}

/// Open the container's /dev/null and check it is the null device, not
/// something an image or a racing process put there (CVE-2025-31133).
pub fn verified_dev_null(root: &Root) -> Result<std::os::fd::OwnedFd> {
    let fd = root.open_path("/dev/null", true).ctx("/dev/null")?;
    let st = sys::fstat(fd.as_fd())?;
    if !is_null(&st) {
        return Err(Error::invalid(
            "/dev/null in the container is not the null device (char 1:3)",
        ));
    }
    Ok(fd)
}

/// Stdio that pointed at the host's /dev/null now points at the
/// container's, so nothing of the host's /dev stays open in the container.
pub fn reopen_dev_null(proc: Option<&ProcFs>) -> Result<()> {
    let mut null = None;
    for fd in 0..3 {
        let Ok(st) = sys::fstat(sys::stdio(fd)) else {
            continue;
        };
        if !is_null(&st) {
            continue;
        }
        if null.is_none() {
            let root = Root::open("/")?;
            let p = verified_dev_null(&root)?;
            null = Some(
                ProcFs::reopen_through(proc, p.as_fd(), libc::O_RDWR).ctx("reopen /dev/null")?,
            );
        }
        if let Some(n) = &null {
            sys::dup2(n.as_fd(), fd)?;
        }
    }
    Ok(())
}
