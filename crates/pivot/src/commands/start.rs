use pivot_core::{Result, Runtime};

pub fn run(rt: &Runtime, id: &str) -> Result<i32> {
    rt.start(id)?;
    Ok(0)
}
