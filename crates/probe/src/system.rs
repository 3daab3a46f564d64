//! `hostname`, `cwd`, `env` and `isatty`: the process's view of its world.

use std::io::IsTerminal;

use serde_json::{json, Map, Value};

use crate::error::{Context, Result};

/// The `hostname` subcommand: nodename and domainname from uname(2).
pub fn hostname() -> Result<Value> {
    let uts = rustix::system::uname();
    Ok(json!({
        "hostname": uts.nodename().to_string_lossy(),
        "domainname": uts.domainname().to_string_lossy(),
    }))
}

/// The `cwd` subcommand.
pub fn cwd() -> Result<Value> {
    let dir = std::env::current_dir().context("getcwd")?;
    Ok(json!({"cwd": dir.to_string_lossy()}))
}

/// The `env` subcommand: the environment as an object (lossy).
pub fn env() -> Value {
    let map: Map<String, Value> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                Value::String(v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    Value::Object(map)
}

/// The `isatty` subcommand.
pub fn isatty() -> Value {
    json!({
        "stdin": std::io::stdin().is_terminal(),
        "stdout": std::io::stdout().is_terminal(),
        "stderr": std::io::stderr().is_terminal(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_and_cwd_work() {
        assert!(hostname().unwrap()["hostname"].is_string());
        assert!(cwd().unwrap()["cwd"].as_str().unwrap().starts_with('/'));
    }
}
