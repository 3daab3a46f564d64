//! `hostname`, `cwd`, `env` and `isatty`: the process's view of its world.

use std::io::IsTerminal;
use std::os::raw::c_char;

use serde_json::{json, Map, Value};

use crate::error::{Context, Result};

/// The `hostname` subcommand: nodename and domainname from uname(2).
pub fn hostname() -> Result<Value> {
    // SAFETY: utsname is a struct of plain c_char arrays, for which all
    // zero bytes is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname for the call's duration.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(std::io::Error::last_os_error()).context("uname");
    }
    Ok(json!({
        "hostname": c_field(&uts.nodename),
        "domainname": c_field(&uts.domainname),
    }))
}

/// A NUL-terminated utsname field as a string (lossy).
fn c_field(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
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
    fn c_field_stops_at_nul() {
        let field = [b'a' as c_char, b'b' as c_char, 0, b'x' as c_char];
        assert_eq!(c_field(&field), "ab");
    }

    #[test]
    fn hostname_and_cwd_work() {
        assert!(hostname().unwrap()["hostname"].is_string());
        assert!(cwd().unwrap()["cwd"].as_str().unwrap().starts_with('/'));
    }
}
