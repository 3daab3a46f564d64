use pivot_core::{Result, Runtime};

pub fn run(rt: &Runtime, id: &str) -> Result<i32> {
    rt.pause(id)?;
    Ok(0)
}
