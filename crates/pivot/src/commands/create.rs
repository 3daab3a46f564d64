use super::create_options;
use crate::cli::CreateFlags;
use pivot_core::{Result, Runtime};

pub fn run(rt: &Runtime, flags: &CreateFlags, id: &str) -> Result<i32> {
    rt.create(id, &create_options(flags))?;
    Ok(0)
}
