//! Step 3b, runc's setupPtmx.

use super::devices::dev_dir;
use super::resolve::Root;
use crate::error::{Context as _, Result};
use crate::sys;
use std::os::fd::AsFd;

/// /dev/ptmx -> pts/ptmx, so the container's devpts instance is used.
pub fn setup_ptmx(root: &Root) -> Result<()> {
    let dev = dev_dir(root)?;
    match sys::unlinkat(dev.as_fd(), "ptmx", 0) {
        Err(e) if !e.is_errno(sys::Errno::NOENT) => return Err(e.context("/dev/ptmx")),
        _ => {}
    }
    sys::symlinkat("pts/ptmx", dev.as_fd(), "ptmx").ctx("/dev/ptmx")
}
