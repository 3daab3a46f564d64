//! `pivot check`: one line per host feature, what was found and what it
//! means for pivot; exit 1 when something pivot needs is missing.

use crate::cli::LogFormat;
use pivot_core::hostcheck;
use pivot_core::{Error, Result};
use serde_json::json;

pub fn run(format: LogFormat) -> Result<i32> {
    let checks = hostcheck::run();
    let missing: Vec<&str> = checks
        .iter()
        .filter(|c| c.required && !c.ok)
        .map(|c| c.name)
        .collect();
    match format {
        LogFormat::Json => {
            let doc = json!({ "ok": missing.is_empty(), "missing": missing, "checks": checks });
            let text =
                serde_json::to_string_pretty(&doc).map_err(|e| Error::other(e.to_string()))?;
            crate::out(&text);
        }
        LogFormat::Text => {
            let width = checks
                .iter()
                .map(|c| c.found.len())
                .max()
                .unwrap_or(0)
                .min(40);
            for c in &checks {
                let mark = if c.required && !c.ok { "MISSING " } else { "" };
                crate::out(&format!(
                    "{:<16} {:<width$}  {mark}{}",
                    c.name, c.found, c.consequence
                ));
            }
            if missing.is_empty() {
                crate::out("pivot can run containers on this host");
            } else {
                crate::out(&format!(
                    "pivot cannot run containers on this host: missing {}",
                    missing.join(", ")
                ));
            }
        }
    }
    Ok(if missing.is_empty() { 0 } else { 1 })
}
