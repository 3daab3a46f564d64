//! `status`, `ids` and `caps`: what /proc/self/status and the id syscalls say.

use serde_json::{json, Map, Value};

use crate::error::{Context, Result};

const STATUS: &str = "/proc/self/status";

/// /proc/self/status as (key, value) pairs, values trimmed.
fn read_status() -> Result<Vec<(String, String)>> {
    let data = std::fs::read(STATUS).context(format!("read {STATUS}"))?;
    Ok(parse_status(&String::from_utf8_lossy(&data)))
}

/// Splits `Key:\tvalue` lines; lines without a colon are skipped.
pub fn parse_status(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn lookup<'a>(status: &'a [(String, String)], key: &str) -> Option<&'a str> {
    status
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn integer(status: &[(String, String)], key: &str) -> Value {
    lookup(status, key)
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(Value::Null, Value::from)
}

/// The `status` subcommand: every line as key -> string.
pub fn status() -> Result<Value> {
    let map: Map<String, Value> = read_status()?
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(Value::Object(map))
}

/// The `caps` subcommand: capability sets as the kernel's hex strings, plus
/// the no_new_privs flag and seccomp mode.
pub fn caps() -> Result<Value> {
    let status = read_status()?;
    let mut map = Map::new();
    for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let value = lookup(&status, key).map_or(Value::Null, Value::from);
        map.insert(key.to_owned(), value);
    }
    map.insert("no_new_privs".into(), integer(&status, "NoNewPrivs"));
    map.insert("seccomp".into(), integer(&status, "Seccomp"));
    Ok(Value::Object(map))
}

/// The `ids` subcommand: real/effective ids, supplementary groups, umask.
pub fn ids() -> Result<Value> {
    let status = read_status()?;
    let umask = lookup(&status, "Umask").map_or(Value::Null, Value::from);
    use rustix::process::{getegid, geteuid, getgid, getuid};
    let (uid, euid) = (getuid().as_raw(), geteuid().as_raw());
    let (gid, egid) = (getgid().as_raw(), getegid().as_raw());
    Ok(json!({
        "uid": uid,
        "euid": euid,
        "gid": gid,
        "egid": egid,
        "groups": groups()?,
        "umask": umask,
    }))
}

/// Supplementary group ids from getgroups(2).
fn groups() -> Result<Vec<libc::gid_t>> {
    let list = rustix::process::getgroups()
        .map_err(std::io::Error::from)
        .context("getgroups")?;
    Ok(list.into_iter().map(|g| g.as_raw()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let status = parse_status(
            "Name:\tprobe\nUmask:\t0022\nUid:\t0\t0\t0\t0\nCapEff:\t00000000a80425fb\n",
        );
        assert_eq!(lookup(&status, "Name"), Some("probe"));
        assert_eq!(lookup(&status, "Umask"), Some("0022"));
        assert_eq!(lookup(&status, "Uid"), Some("0\t0\t0\t0"));
        assert_eq!(lookup(&status, "CapEff"), Some("00000000a80425fb"));
        assert_eq!(lookup(&status, "Missing"), None);
    }

    #[test]
    fn reads_integers() {
        let status = parse_status("NoNewPrivs:\t1\nSeccomp:\t2\nBad:\tx\n");
        assert_eq!(integer(&status, "NoNewPrivs"), json!(1));
        assert_eq!(integer(&status, "Seccomp"), json!(2));
        assert_eq!(integer(&status, "Bad"), Value::Null);
    }

    #[test]
    fn live_ids_and_caps_have_expected_keys() {
        let ids = ids().unwrap();
        assert!(ids["groups"].is_array());
        assert!(ids["umask"].as_str().unwrap().len() == 4);
        let caps = caps().unwrap();
        assert!(caps["CapBnd"].is_string());
    }
}
