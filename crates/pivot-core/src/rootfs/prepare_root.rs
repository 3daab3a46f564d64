//! Step 1, runc's prepareRoot: propagation of the container's mount tree
//! and the rootfs bound onto itself; and, after the root switch (step 8),
//! linux.rootfsPropagation on the container's `/`.
//!
//! Everything here works on one handle of root.path, opened once: the
//! path as written may pass through symlinks (a bundle reached through a
//! link), and no spelling of it is ever compared with mountinfo.

use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Error, Result};
use crate::sys::OFlags;
use crate::sys::{self, mountflags::*, MountSetattr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// runc's prepareRoot: open root.path, make the mount tree below it
/// unable to reach the host, and bind it onto itself; the handle on that
/// bind is the container's root from here on.
pub fn prepare_root(ctx: &Setup) -> Result<Root> {
    let rootfs = open_rootfs(ctx)?;
    set_propagation(ctx, rootfs.as_fd())?;
    bind_rootfs(ctx, rootfs.as_fd())
}

/// root.path, opened once (symlinks followed, as runc's bind would).
fn open_rootfs(ctx: &Setup) -> Result<OwnedFd> {
    let rootfs = ctx.rootfs();
    sys::openat(sys::cwd(), &rootfs, OFlags::PATH | OFlags::DIRECTORY, 0)
        .with_ctx(|| format!("root.path {rootfs:?}"))
}

/// Make `/` rslave (or what linux.rootfsPropagation says) so nothing the
/// container mounts reaches the host; where `/` may still be shared after
/// that, make the mount holding the rootfs private, or the rootfs bind
/// and everything mounted on it would propagate to the host (and
/// pivot_root refuses a shared parent).
fn set_propagation(ctx: &Setup, rootfs: BorrowedFd<'_>) -> Result<()> {
    let flag = ctx.plan.rootfs_propagation.unwrap_or(MS_SLAVE | MS_REC);
    sys::mount(None, "/", None, flag, None).ctx("linux.rootfsPropagation")?;
    if flag != MS_SLAVE | MS_REC && flag != MS_PRIVATE | MS_REC {
        make_mount_private(rootfs).ctx("root.path: make the mount holding the rootfs private")?;
    }
    Ok(())
}

/// The mount the rootfs handle is on, found from the handle itself: walk
/// up with `..` until the directory is that mount's root (statx), then
/// change the propagation of exactly that mount. A `..` that lands on
/// another mount (a directory above the rootfs covered by a mount in this
/// namespace) is refused rather than guessed at.
fn make_mount_private(rootfs: BorrowedFd<'_>) -> Result<()> {
    let (id, _) = sys::mount_of(rootfs)?;
    let mut up: Option<OwnedFd> = None;
    // A path has at most PATH_MAX / 2 components.
    for _ in 0..libc::PATH_MAX / 2 {
        let dir = up.as_ref().map_or(rootfs, |f| f.as_fd());
        let (at, top) = sys::mount_of(dir)?;
        if at != id {
            return Err(Error::other(format!(
                "a directory above the rootfs is covered by another mount (mount id {at}, the rootfs is on {id})"
            )));
        }
        if top {
            return sys::mount_setattr(dir, &MountSetattr::propagation(MS_PRIVATE));
        }
        up = Some(sys::openat(
            dir,
            "..",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            0,
        )?);
    }
    Err(Error::other(format!(
        "no root found for mount id {id} above the rootfs"
    )))
}

/// linux.rootfsPropagation applies to the container's `/` itself, which
/// exists only after the root switch (runc does the same; private needs
/// nothing more).
pub fn propagation_after_switch(ctx: &Setup) -> Result<()> {
    match ctx.plan.rootfs_propagation {
        Some(flag) if flag & MS_PRIVATE == 0 => {
            sys::mount(None, "/", None, flag, None).ctx("linux.rootfsPropagation")
        }
        _ => Ok(()),
    }
}

/// Bind the rootfs onto itself so it is a mount point pivot_root accepts;
/// the handle on the new mount's root is the container's root from here.
fn bind_rootfs(ctx: &Setup, rootfs: BorrowedFd<'_>) -> Result<Root> {
    let what = || format!("root.path {:?}", ctx.rootfs());
    let tree = sys::open_tree(rootfs, "", true).with_ctx(what)?;
    sys::move_mount(tree.as_fd(), rootfs, &ctx.rootfs()).with_ctx(what)?;
    Ok(Root::from_fd(tree))
}
