//! Paths inside the container's root, resolved as if the root were `/`.
//!
//! openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) does it in the kernel;
//! where openat2 is missing (or disabled with PIVOT_NO_OPENAT2=1 for the
//! tests) a component-by-component walk does the same: every step is an
//! O_PATH|O_NOFOLLOW open relative to a held directory fd, symlinks are
//! read and restarted from the root, and `..` pops a stack of fds that
//! never goes above the root. A racing rename can change which object we
//! reach, but never take us outside the root (SECURITY.md rule 1).

use crate::error::{Error, ErrorKind, Result};
use crate::sys;
use crate::sys::OFlags;
use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

const MAX_SYMLINKS: usize = 40;

/// A root directory handle.
pub struct Root {
    fd: OwnedFd,
}

fn components(path: &str) -> VecDeque<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

fn is_dir(st: &sys::Stat) -> bool {
    sys::file_type(st) == sys::FileType::Dir
}

fn is_symlink(st: &sys::Stat) -> bool {
    sys::file_type(st) == sys::FileType::Symlink
}

impl Root {
    /// Open a host directory as a root.
    pub fn open(path: &str) -> Result<Root> {
        let fd = sys::openat(sys::cwd(), path, OFlags::PATH | OFlags::DIRECTORY, 0)?;
        Ok(Root { fd })
    }

    /// A directory handle already open (the rootfs bind, as attached).
    pub fn from_fd(fd: OwnedFd) -> Root {
        Root { fd }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Where a handle inside the root really is, as a path from the root
    /// ("/proc"), read from the kernel's own name for the fd.
    pub fn path_of(&self, fd: BorrowedFd<'_>) -> Result<String> {
        let base = sys::readlink_fd(self.fd())?;
        let full = sys::readlink_fd(fd)?;
        if full == base {
            return Ok("/".into());
        }
        match full.strip_prefix(&base) {
            Some(rest) if rest.starts_with('/') || base == "/" => {
                Ok(format!("/{}", rest.trim_start_matches('/')))
            }
            _ => Err(Error::other(format!(
                "{full:?} is outside the container's root"
            ))),
        }
    }

    /// `path` opened (O_PATH) if it is there: None where it is missing
    /// (runc skips a missing masked or read-only path).
    pub fn open_existing(&self, path: &str) -> Result<Option<OwnedFd>> {
        match self.open_path(path, false) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.is_errno(sys::Errno::NOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Open `path` inside the root as O_PATH, following symlinks (the last
    /// one too unless `nofollow`) within the root.
    pub fn open_path(&self, path: &str, nofollow: bool) -> Result<OwnedFd> {
        let flags = OFlags::PATH
            | if nofollow {
                OFlags::NOFOLLOW
            } else {
                OFlags::empty()
            };
        // openat2 answers EAGAIN for a `..` lookup while any mount or
        // rename happens on the machine; retry, then walk by hand.
        for _ in 0..16 {
            match sys::openat2(
                self.fd(),
                path,
                flags,
                sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS,
            ) {
                Err(e) if e.is_errno(sys::Errno::AGAIN) => continue,
                Err(e) if e.is_errno(sys::Errno::NOSYS) => break,
                r => return r,
            }
        }
        self.walk(path, None, nofollow)
    }

    /// Make every missing directory of `path` inside the root (mode `mode`)
    /// and return an O_PATH handle on the last. Dangling symlinks along the
    /// way are followed within the root and their targets created, as runc
    /// does.
    pub fn mkdir_all(&self, path: &str, mode: u32) -> Result<OwnedFd> {
        let fd = self.walk(path, Some(mode), false)?;
        let st = sys::fstat(fd.as_fd())?;
        if !is_dir(&st) {
            return Err(Error::new(
                ErrorKind::Os(sys::Errno::NOTDIR.raw_os_error()),
                format!("{path:?} exists in the container and is not a directory"),
            ));
        }
        Ok(fd)
    }

    /// Make sure a regular file exists at `path` (creating missing parent
    /// directories) without ever truncating or following a final symlink
    /// out of the root; returns an O_PATH handle.
    pub fn mkfile(&self, path: &str, mode: u32) -> Result<OwnedFd> {
        let (parent, name) = split_last(path)?;
        let dir = self.mkdir_all(parent, 0o755)?;
        loop {
            // An existing file (or a symlink resolved in the root) is used
            // as it is.
            match self.open_path(path, false) {
                Ok(fd) => {
                    let st = sys::fstat(fd.as_fd())?;
                    if is_dir(&st) {
                        return Err(Error::new(
                            ErrorKind::Os(sys::Errno::ISDIR.raw_os_error()),
                            format!("{path:?} exists in the container and is a directory"),
                        ));
                    }
                    return Ok(fd);
                }
                Err(e) if e.is_errno(sys::Errno::NOENT) => {}
                Err(e) => return Err(e),
            }
            let dir_rw = sys::openat(dir.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY, 0)?;
            match sys::openat(
                dir_rw.as_fd(),
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY,
                mode,
            ) {
                Ok(_) => {}
                // Lost a race or a dangling symlink: resolve again.
                Err(e) if e.is_errno(sys::Errno::EXIST) => {
                    if let Ok(st) = sys::lstatat(dir.as_fd(), name) {
                        if is_symlink(&st) {
                            let target = sys::readlinkat(dir.as_fd(), name)?;
                            let abs = if target.starts_with('/') {
                                target
                            } else {
                                format!("{parent}/{target}")
                            };
                            return self.mkfile(&abs, mode);
                        }
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The fallback resolver (and the one that creates directories).
    fn walk(&self, path: &str, create: Option<u32>, nofollow: bool) -> Result<OwnedFd> {
        let root = sys::openat(self.fd(), ".", OFlags::PATH | OFlags::DIRECTORY, 0)?;
        let mut stack: Vec<OwnedFd> = vec![root];
        let mut queue = components(path);
        let mut links = 0;
        while let Some(comp) = queue.pop_front() {
            if comp == ".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            let last = queue.is_empty();
            let cur = stack.last().expect("stack holds the root").as_fd();
            let fd = match sys::openat(cur, &comp, OFlags::PATH | OFlags::NOFOLLOW, 0) {
                Ok(fd) => fd,
                Err(e) if e.is_errno(sys::Errno::NOENT) && create.is_some() => {
                    let dir = sys::openat(cur, ".", OFlags::RDONLY | OFlags::DIRECTORY, 0)?;
                    match sys::mkdirat(dir.as_fd(), &comp, create.unwrap_or(0o755)) {
                        Ok(()) => {}
                        // Made by someone else meanwhile: use theirs.
                        Err(e) if e.is_errno(sys::Errno::EXIST) => {}
                        Err(e) => return Err(e),
                    }
                    sys::openat(cur, &comp, OFlags::PATH | OFlags::NOFOLLOW, 0)?
                }
                Err(e) => return Err(e),
            };
            let st = sys::fstat(fd.as_fd())?;
            if is_symlink(&st) && !(last && nofollow) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Error::os(
                        format!("resolve {path:?} in root"),
                        sys::Errno::LOOP.raw_os_error(),
                    ));
                }
                // Read the link we hold, not the name, which a racing
                // rename may have changed since.
                let target = sys::readlinkat(fd.as_fd(), "")?;
                if target.starts_with('/') {
                    stack.truncate(1);
                }
                let mut rest = components(&target);
                rest.extend(queue);
                queue = rest;
                continue;
            }
            if last {
                return Ok(fd);
            }
            if !is_dir(&st) {
                return Err(Error::os(
                    format!("resolve {path:?} in root: {comp:?}"),
                    sys::Errno::NOTDIR.raw_os_error(),
                ));
            }
            stack.push(fd);
        }
        // The path named the root itself.
        sys::openat(
            stack.last().expect("root").as_fd(),
            ".",
            OFlags::PATH | OFlags::DIRECTORY,
            0,
        )
    }
}

/// Split "/a/b/c" into ("/a/b", "c").
pub fn split_last(path: &str) -> Result<(&str, &str)> {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, name)) if !name.is_empty() && name != ".." && name != "." => {
            Ok((if parent.is_empty() { "/" } else { parent }, name))
        }
        _ => Err(Error::invalid(format!("{path:?} does not name a file"))),
    }
}
