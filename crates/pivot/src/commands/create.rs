use super::{create_options, refuse_unsupported};
use crate::cli::{CreateFlags, Global};
use pivot_core::{Result, Runtime};

pub fn run(g: &Global, rt: &Runtime, flags: &CreateFlags, id: &str) -> Result<i32> {
    refuse_unsupported(g)?;
    rt.create(id, &create_options(flags))?;
    Ok(0)
}
