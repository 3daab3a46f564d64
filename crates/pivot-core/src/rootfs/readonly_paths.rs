//! Step 10b, runc's readonlyPath for each of linux.readonlyPaths, after
//! the root switch.

use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Result};
use crate::sys::mountflags::MOUNT_ATTR_RDONLY;
use crate::sys::{self, MountSetattr};
use std::os::fd::AsFd;

/// linux.readonlyPaths: each made a read-only bind of itself.
pub fn readonly_paths(ctx: &Setup, root: &Root) -> Result<()> {
    let linux = ctx.plan.spec.linux.as_ref();
    for (i, p) in linux
        .map(|l| &l.readonly_paths[..])
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        readonly_path(root, p).with_ctx(|| format!("linux.readonlyPaths[{i}] {p:?}"))?;
    }
    Ok(())
}

fn readonly_path(root: &Root, path: &str) -> Result<()> {
    let Some(target) = root.open_existing(path)? else {
        return Ok(());
    };
    let tree = sys::open_tree(target.as_fd(), "", true)?;
    sys::mount_setattr(tree.as_fd(), &MountSetattr::set(MOUNT_ATTR_RDONLY))?;
    sys::move_mount(tree.as_fd(), target.as_fd(), path)
}
