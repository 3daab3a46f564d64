//! Step 8: read-only root, read-only paths and masked paths, after the
//! root switch, in runc's order.

use super::dev::verified_dev_null;
use super::resolve::Root;
use super::Context;
use crate::error::{Context as _, Result};
use crate::spec::mountopts::MountOptions;
use crate::spec::mountopts::MOUNT_ATTR_RDONLY;
use crate::sys;
use std::os::fd::{AsFd, OwnedFd};

pub fn finalize(ctx: &Context) -> Result<()> {
    let root = Root::open("/")?;
    if ctx.plan.readonly_root {
        // mount_setattr changes only the read-only bit: the other flags
        // of the rootfs mount stay as they were.
        sys::mount_setattr(root.fd(), false, MOUNT_ATTR_RDONLY, 0, 0, None).ctx("root.readonly")?;
    }
    let linux = ctx.plan.spec.linux.as_ref();
    for (i, p) in linux
        .map(|l| &l.readonly_paths[..])
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        readonly_path(&root, p).with_ctx(|| format!("linux.readonlyPaths[{i}] {p:?}"))?;
    }
    let masked = linux.map(|l| &l.masked_paths[..]).unwrap_or(&[]);
    if !masked.is_empty() {
        let null = verified_dev_null(&root).ctx("linux.maskedPaths")?;
        for (i, p) in masked.iter().enumerate() {
            mask_path(&root, &null, p).with_ctx(|| format!("linux.maskedPaths[{i}] {p:?}"))?;
        }
    }
    Ok(())
}

/// Missing paths are skipped, as in runc.
fn open_existing(root: &Root, path: &str) -> Result<Option<OwnedFd>> {
    match root.open_path(path, false) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn readonly_path(root: &Root, path: &str) -> Result<()> {
    let Some(target) = open_existing(root, path)? else {
        return Ok(());
    };
    let tree = sys::open_tree(target.as_fd(), "", true)?;
    sys::mount_setattr(tree.as_fd(), false, MOUNT_ATTR_RDONLY, 0, 0, None)?;
    sys::move_mount(tree.as_fd(), target.as_fd(), path)
}

/// Files get the verified /dev/null bound over them, directories an empty
/// read-only tmpfs.
fn mask_path(root: &Root, null: &OwnedFd, path: &str) -> Result<()> {
    let Some(target) = open_existing(root, path)? else {
        return Ok(());
    };
    let st = sys::fstat(target.as_fd())?;
    let mnt = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let opts = MountOptions {
            flags: libc::MS_RDONLY,
            ..Default::default()
        };
        super::mounts::new_filesystem("tmpfs", "tmpfs", &opts)?
    } else {
        sys::open_tree(null.as_fd(), "", false)?
    };
    sys::move_mount(mnt.as_fd(), target.as_fd(), path)
}
