//! `pid`, `fds` and `rlimits`: facts about the probe process itself.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{Context, Result};
use rustix::process::Resource;

/// The `pid` subcommand.
pub fn pid() -> Value {
    json!({
        "pid": std::process::id(),
        "ppid": std::os::unix::process::parent_id(),
    })
}

/// The `fds` subcommand: open fds and their readlink targets.
///
/// The names are collected first and the directory closed before any link
/// is read, so the fd used for listing is gone by then and is left out.
pub fn fds() -> Result<Value> {
    const DIR: &str = "/proc/self/fd";
    let mut numbers = Vec::new();
    for entry in std::fs::read_dir(DIR).context(format!("read {DIR}"))? {
        let entry = entry.context(format!("read {DIR}"))?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    let mut out = Vec::new();
    for n in numbers {
        match std::fs::read_link(format!("{DIR}/{n}")) {
            Ok(target) => out.push(json!({"fd": n, "target": target.to_string_lossy()})),
            // The directory's own fd, closed once the listing was dropped.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).context(format!("readlink {DIR}/{n}")),
        }
    }
    Ok(Value::Array(out))
}

/// The `rlimits` subcommand: name -> {"soft", "hard"}; RLIM_INFINITY is
/// reported as the number u64::MAX.
pub fn rlimits() -> Result<Value> {
    let resources = [
        Resource::Cpu,
        Resource::Fsize,
        Resource::Data,
        Resource::Stack,
        Resource::Core,
        Resource::Rss,
        Resource::Nproc,
        Resource::Nofile,
        Resource::Memlock,
        Resource::As,
        Resource::Locks,
        Resource::Sigpending,
        Resource::Msgqueue,
        Resource::Nice,
        Resource::Rtprio,
        Resource::Rttime,
    ];
    let mut limits = BTreeMap::new();
    for resource in resources {
        // RLIMIT_CPU, ... (the variants are the names' endings).
        let name = format!("RLIMIT_{resource:?}").to_uppercase();
        // (None is RLIM_INFINITY.)
        let limit = rustix::process::getrlimit(resource);
        let soft = limit.current.unwrap_or(libc::RLIM_INFINITY);
        let hard = limit.maximum.unwrap_or(libc::RLIM_INFINITY);
        limits.insert(name, json!({"soft": soft, "hard": hard}));
    }
    Ok(Value::Object(
        limits
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fds_include_stdio_only_once_each() {
        let fds = fds().unwrap();
        let numbers: Vec<u64> = fds
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fd"].as_u64().unwrap())
            .collect();
        let mut deduped = numbers.clone();
        deduped.dedup();
        assert_eq!(numbers, deduped);
    }

    #[test]
    fn rlimits_include_nofile() {
        let limits = rlimits().unwrap();
        assert!(limits["RLIMIT_NOFILE"]["soft"].is_u64());
        assert!(limits["RLIMIT_NOFILE"]["hard"].is_u64());
        let names: Vec<&str> = limits
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut want = [
            "RLIMIT_CPU",
            "RLIMIT_FSIZE",
            "RLIMIT_DATA",
            "RLIMIT_STACK",
            "RLIMIT_CORE",
            "RLIMIT_RSS",
            "RLIMIT_NPROC",
            "RLIMIT_NOFILE",
            "RLIMIT_MEMLOCK",
            "RLIMIT_AS",
            "RLIMIT_LOCKS",
            "RLIMIT_SIGPENDING",
            "RLIMIT_MSGQUEUE",
            "RLIMIT_NICE",
            "RLIMIT_RTPRIO",
            "RLIMIT_RTTIME",
        ];
        want.sort();
        assert_eq!(names, want);
    }
}
