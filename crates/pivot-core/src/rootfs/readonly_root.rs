//! Step 10a, runc's setReadonly, after the root switch.

use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Result};
use crate::sys::mountflags::MOUNT_ATTR_RDONLY;
use crate::sys::{self, MountSetattr};

/// root.readonly: the container's `/` read-only (runc's setReadonly).
/// mount_setattr changes only the read-only bit: the other flags of the
/// rootfs mount stay as they were.
pub fn set_readonly_root(ctx: &Setup, root: &Root) -> Result<()> {
    if ctx.plan.readonly_root {
        sys::mount_setattr(root.fd(), &MountSetattr::set(MOUNT_ATTR_RDONLY))
            .ctx("root.readonly")?;
    }
    Ok(())
}
