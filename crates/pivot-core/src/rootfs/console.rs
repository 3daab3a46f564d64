//! Step 3d: the console's mount point (runc's setupConsole makes it;
//! the pty is bound there once the init has it).

use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Result};

/// The pty's mount point, made before a read-only /dev turns read-only
/// (runc also remounts it read-only last).
pub fn make_console_mountpoint(ctx: &Setup, root: &Root) -> Result<()> {
    if ctx.plan.process.terminal {
        root.mkfile("/dev/console", 0o666).ctx("/dev/console")?;
    }
    Ok(())
}
