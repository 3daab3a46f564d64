use crate::cli::{ExplainFormat, Global};
use pivot_core::explain::{explain, ExplainOptions};
use pivot_core::{Error, Result, Runtime};
use std::path::Path;

/// Exit status 1 when create would refuse the bundle.
pub fn run(
    g: &Global,
    rt: &Runtime,
    bundle: &Path,
    format: ExplainFormat,
    no_pivot: bool,
    id: &str,
) -> Result<i32> {
    let e = explain(&ExplainOptions {
        id: id.to_string(),
        bundle: bundle.to_path_buf(),
        state_root: rt.root.clone(),
        no_pivot,
        rootless_cgroups: rt.rootless_cgroups,
        systemd_cgroup: g.systemd_cgroup,
    })?;
    match format {
        ExplainFormat::Text => crate::out(e.to_text().trim_end()),
        ExplainFormat::Json => {
            crate::out(&serde_json::to_string_pretty(&e).map_err(|e| Error::other(e.to_string()))?)
        }
    }
    Ok(if e.problems.is_empty() { 0 } else { 1 })
}
