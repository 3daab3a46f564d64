use super::create_options;
use crate::cli::CreateFlags;
use pivot_core::{Result, Runtime};

/// Exits with the container's status (128+N for signal N) in the
/// foreground, 0 once started with --detach.
pub fn run(rt: &Runtime, flags: &CreateFlags, detach: bool, keep: bool, id: &str) -> Result<i32> {
    rt.run(id, &create_options(flags), detach, keep)
}
