//! Step 3c, runc's setupDevSymlinks.

use super::devices::dev_dir;
use super::resolve::Root;
use crate::error::Result;
use crate::sys;
use std::os::fd::{AsFd, BorrowedFd};

/// The links under /dev, (target, name), as runc makes them (core only
/// where the kernel has /proc/kcore).
pub fn dev_symlinks() -> Vec<(&'static str, &'static str)> {
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if std::path::Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    links
}

/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr (and /dev/core), as runc.
pub fn setup_dev_symlinks(root: &Root) -> Result<()> {
    let dev = dev_dir(root)?;
    for (target, name) in dev_symlinks() {
        link(dev.as_fd(), target, name)?;
    }
    Ok(())
}

fn link(dir: BorrowedFd<'_>, target: &str, name: &str) -> Result<()> {
    match sys::symlinkat(target, dir, name) {
        Err(e) if !e.is_errno(sys::Errno::EXIST) => Err(e.context(format!("/dev/{name}"))),
        _ => Ok(()),
    }
}
