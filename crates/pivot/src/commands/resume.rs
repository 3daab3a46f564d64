use pivot_core::{Result, Runtime};

pub fn run(rt: &Runtime, id: &str) -> Result<i32> {
    rt.resume(id)?;
    Ok(0)
}
