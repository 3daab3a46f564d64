use super::{create_options, refuse_unsupported};
use crate::cli::{CreateFlags, Global};
use pivot_core::{Result, Runtime};

/// Exits with the container's status (128+N for signal N) in the
/// foreground, 0 once started with --detach.
pub fn run(
    g: &Global,
    rt: &Runtime,
    flags: &CreateFlags,
    detach: bool,
    keep: bool,
    id: &str,
) -> Result<i32> {
    refuse_unsupported(g)?;
    rt.run(id, &create_options(flags), detach, keep)
}
