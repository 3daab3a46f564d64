//! Step 4: /dev when pivot populates it: /dev/ptmx, the standard symlinks,
//! and re-opening the init's /dev/null stdio after the root switch.

use super::resolve::Root;
use crate::error::{Context as _, Error, Result};
use crate::process::procfs::ProcFs;
use crate::spec::Plan;
use crate::sys;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

/// runc sets /dev up unless /dev itself is a bind mount.
pub fn needs_setup(plan: &Plan) -> bool {
    !plan
        .mounts
        .iter()
        .any(|m| m.is_bind() && m.destination.trim_end_matches('/') == "/dev")
}

fn dev_dir(root: &Root) -> Result<std::os::fd::OwnedFd> {
    let d = root.mkdir_all("/dev", 0o755)?;
    sys::openat(d.as_fd(), ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// /dev/ptmx -> pts/ptmx, so the container's devpts instance is used.
pub fn setup_ptmx(root: &Root) -> Result<()> {
    let dev = dev_dir(root)?;
    match sys::unlinkat(dev.as_fd(), "ptmx", 0) {
        Err(e) if e.errno() != Some(libc::ENOENT) => return Err(e.context("/dev/ptmx")),
        _ => {}
    }
    sys::symlinkat("pts/ptmx", dev.as_fd(), "ptmx").ctx("/dev/ptmx")
}

pub fn setup_symlinks(root: &Root) -> Result<()> {
    let dev = dev_dir(root)?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if std::path::Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        link(dev.as_fd(), target, name)?;
    }
    Ok(())
}

fn link(dir: BorrowedFd<'_>, target: &str, name: &str) -> Result<()> {
    match sys::symlinkat(target, dir, name) {
        Err(e) if e.errno() != Some(libc::EEXIST) => Err(e.context(format!("/dev/{name}"))),
        _ => Ok(()),
    }
}

fn is_null(st: &sys::Stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == sys::makedev(1, 3)
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
            sys::dup2(n.as_raw_fd(), fd)?;
        }
    }
    Ok(())
}
