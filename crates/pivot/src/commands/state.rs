use pivot_core::{Error, Result, Runtime};

pub fn run(rt: &Runtime, id: &str) -> Result<i32> {
    let v = rt.state(id)?;
    let text = serde_json::to_string_pretty(&v).map_err(|e| Error::other(e.to_string()))?;
    crate::out(&text);
    Ok(0)
}
