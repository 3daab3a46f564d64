//! Step 1: propagation of the container's mount tree and the rootfs bind.

use super::Context;
use crate::error::{Context as _, Error, Result};
use crate::sys::{self, mountflags::*};

/// Make `/` rslave (or what linux.rootfsPropagation says) so nothing the
/// container mounts reaches the host; then make sure the mount holding the
/// rootfs is not shared, or pivot_root refuses.
pub fn set_propagation(ctx: &Context) -> Result<()> {
    let flag = ctx.plan.rootfs_propagation.unwrap_or(MS_SLAVE | MS_REC);
    sys::mount(None, "/", None, flag, None).ctx("linux.rootfsPropagation")?;
    if flag != MS_SLAVE | MS_REC && flag != MS_PRIVATE | MS_REC {
        make_parent_private(&ctx.rootfs())?;
    }
    Ok(())
}

/// Only needed when `/` may still be shared: find the mount the rootfs sits
/// on (the longest mount point that is a prefix of it) and make it private.
fn make_parent_private(rootfs: &str) -> Result<()> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read /proc/self/mountinfo", e))?;
    let mut best = "/".to_string();
    for line in text.lines() {
        let Some(mp) = line.split(' ').nth(4) else {
            continue;
        };
        let mp = mp.replace("\\040", " ");
        let under = rootfs == mp || rootfs.starts_with(&format!("{}/", mp.trim_end_matches('/')));
        if under && mp.len() > best.len() {
            best = mp;
        }
    }
    sys::mount(None, &best, None, MS_PRIVATE, None)
        .with_ctx(|| format!("make the mount above the rootfs ({best:?}) private"))
}

/// linux.rootfsPropagation applies to the container's `/` itself, which
/// exists only after the root switch (runc does the same; private needs
/// nothing more).
pub fn propagation_after_switch(ctx: &Context) -> Result<()> {
    match ctx.plan.rootfs_propagation {
        Some(flag) if flag & MS_PRIVATE == 0 => {
            sys::mount(None, "/", None, flag, None).ctx("linux.rootfsPropagation")
        }
        _ => Ok(()),
    }
}

/// Bind the rootfs onto itself so it is a mount point pivot_root accepts.
pub fn bind_rootfs(ctx: &Context) -> Result<()> {
    let rootfs = ctx.rootfs();
    sys::mount(Some(&rootfs), &rootfs, Some("bind"), MS_BIND | MS_REC, None)
        .with_ctx(|| format!("root.path {rootfs:?}"))
}
