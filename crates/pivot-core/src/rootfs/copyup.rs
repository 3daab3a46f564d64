//! `tmpcopyup`: what the image had at a tmpfs mount's destination is copied
//! into the new tmpfs, with modes and owners, before the tmpfs covers it.
//! Every step is relative to held fds and never follows a symlink.

use crate::error::{Context as _, Result};
use crate::sys;
use crate::sys::OFlags;
use std::os::fd::{AsFd, BorrowedFd};

const MAX_DEPTH: usize = 64;

pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<()> {
    copy_dir(src, dst, 0)
}

fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(crate::error::Error::os(
            "tmpcopyup: tree too deep",
            sys::Errno::LOOP.raw_os_error(),
        ));
    }
    for name in sys::list_dir(src)? {
        copy_entry(src, dst, &name, depth).with_ctx(|| format!("tmpcopyup {name:?}"))?;
    }
    Ok(())
}

fn copy_entry(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, name: &str, depth: usize) -> Result<()> {
    let st = sys::lstatat(src, name)?;
    let perm = st.st_mode & 0o7777;
    match sys::file_type(&st) {
        sys::FileType::Dir => {
            sys::mkdirat(dst, name, 0o700)?;
            let s = sys::openat(
                src,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
                0,
            )?;
            let d = sys::openat(
                dst,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
                0,
            )?;
            copy_dir(s.as_fd(), d.as_fd(), depth + 1)?;
            own(d.as_fd(), &st, perm)
        }
        sys::FileType::Regular => {
            let s = sys::openat(src, name, OFlags::RDONLY | OFlags::NOFOLLOW, 0)?;
            let d = sys::openat(
                dst,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
                0o600,
            )?;
            sys::copy_fd(s.as_fd(), d.as_fd())?;
            own(d.as_fd(), &st, perm)
        }
        sys::FileType::Symlink => {
            let target = sys::readlinkat(src, name)?;
            sys::symlinkat(&target, dst, name)?;
            let l = sys::openat(dst, name, OFlags::PATH | OFlags::NOFOLLOW, 0)?;
            sys::fchown(l.as_fd(), st.st_uid, st.st_gid)
        }
        _ => {
            // Device nodes, fifos and sockets keep their type and number.
            sys::mknodat(dst, name, st.st_mode, st.st_rdev)?;
            let n = sys::openat(dst, name, OFlags::PATH | OFlags::NOFOLLOW, 0)?;
            sys::fchown(n.as_fd(), st.st_uid, st.st_gid)?;
            sys::fchmod(n.as_fd(), perm)
        }
    }
}

/// Owner first: chown clears setuid/setgid bits that chmod then restores.
fn own(fd: BorrowedFd<'_>, st: &sys::Stat, perm: u32) -> Result<()> {
    sys::fchown(fd, st.st_uid, st.st_gid)?;
    sys::fchmod(fd, perm)
}
