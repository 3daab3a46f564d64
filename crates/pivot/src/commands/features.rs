use pivot_core::{Error, Result};

pub fn run() -> Result<i32> {
    let text = serde_json::to_string_pretty(&pivot_core::features::features())
        .map_err(|e| Error::other(e.to_string()))?;
    crate::out(&text);
    Ok(0)
}
