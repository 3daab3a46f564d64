//! Step 6: the root switch: pivot_root, or with --no-pivot MS_MOVE and
//! chroot, or chroot alone without a mount namespace.

use super::resolve::Root;
use super::Context;
use crate::error::{Context as _, Result};
use crate::sys::{self, mountflags::*};
use std::os::fd::AsFd;

pub fn switch_root(ctx: &Context, root: Root) -> Result<()> {
    if ctx.no_pivot {
        move_root(root).ctx("--no-pivot: move the rootfs onto /")
    } else {
        pivot_root(root).ctx("pivot_root")
    }
}

/// pivot_root(".", ".") stacks the old root under the new one; make it
/// rslave so the detach cannot propagate to the host, then detach it.
fn pivot_root(root: Root) -> Result<()> {
    let old = sys::openat(sys::cwd(), "/", libc::O_DIRECTORY | libc::O_RDONLY, 0)?;
    sys::fchdir(root.fd())?;
    if let Err(e) = sys::pivot_root(".", ".") {
        if e.errno() == Some(libc::EINVAL) {
            return Err(e.context(
                "the rootfs may be on a ramfs or initramfs, where pivot_root is not possible; use --no-pivot",
            ));
        }
        return Err(e);
    }
    sys::fchdir(old.as_fd())?;
    sys::mount(None, ".", None, MS_SLAVE | MS_REC, None)?;
    sys::umount2(".", libc::MNT_DETACH)?;
    sys::chdir("/")
}

fn move_root(root: Root) -> Result<()> {
    sys::fchdir(root.fd())?;
    sys::mount(Some("."), "/", None, MS_MOVE, None)?;
    sys::chroot(".")?;
    sys::chdir("/")
}

/// No mount namespace: the host's mounts stay as they are.
pub fn chroot_only(ctx: &Context) -> Result<()> {
    let rootfs = ctx.rootfs();
    let root = Root::open(&rootfs)?;
    root.mkdir_all(&ctx.plan.process.cwd, 0o755)
        .ctx("process.cwd")?;
    sys::chroot(&rootfs).ctx("chroot")?;
    sys::chdir("/")
}
