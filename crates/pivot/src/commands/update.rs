use crate::cli::UpdateFlags;
use pivot_core::{Error, Result, Runtime};
use serde_json::{json, Map, Value};

/// A byte count as runc's flags take it: 1024, 512k, 64m, 1g, or -1.
fn bytes(flag: &str, s: &str) -> Result<i64> {
    let bad = || Error::invalid(format!("--{flag} {s:?}: not a size like 512m or -1"));
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(Error::invalid(format!(
            "--{flag} {s:?}: must not be negative (-1 means unlimited)"
        )));
    }
    n.checked_mul(mult).ok_or_else(bad)
}

fn set(patch: &mut Map<String, Value>, obj: &str, key: &str, v: Value) {
    let o = patch.entry(obj).or_insert_with(|| json!({}));
    if !o.is_object() {
        *o = json!({});
    }
    o[key] = v;
}

pub fn run(rt: &Runtime, f: &UpdateFlags, id: &str) -> Result<i32> {
    // As runc 1.2 and later: the kernel memory flags are read (a bad size
    // is refused) and then ignored with a warning, in runc's words.
    let mut kernel = false;
    for (flag, v) in [
        ("kernel-memory", &f.kernel_memory),
        ("kernel-memory-tcp", &f.kernel_memory_tcp),
    ] {
        if let Some(v) = v {
            bytes(flag, v)?;
            kernel = true;
        }
    }
    if kernel {
        crate::log::warn("Kernel memory settings are ignored and will be removed");
    }
    let mut patch = match &f.resources {
        Some(path) => {
            let text = if path == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| Error::io("read resources from stdin", e))?
            } else {
                std::fs::read_to_string(path).map_err(|e| Error::io(format!("read {path}"), e))?
            };
            // Keys in another case are read as runc reads them (spec/keys.rs).
            match pivot_core::spec::parse_json::<Value>(&format!("-r {path}"), &text)? {
                Value::Object(m) => m,
                _ => return Err(Error::invalid(format!("-r {path}: not a JSON object"))),
            }
        }
        None => Map::new(),
    };
    let p = &mut patch;
    if let Some(v) = &f.memory {
        set(p, "memory", "limit", json!(bytes("memory", v)?));
    }
    if let Some(v) = &f.memory_reservation {
        set(
            p,
            "memory",
            "reservation",
            json!(bytes("memory-reservation", v)?),
        );
    }
    if let Some(v) = &f.memory_swap {
        set(p, "memory", "swap", json!(bytes("memory-swap", v)?));
    }
    let cpu: [(&str, Option<Value>); 9] = [
        ("shares", f.cpu_shares.map(|v| json!(v))),
        ("quota", f.cpu_quota.map(|v| json!(v))),
        ("period", f.cpu_period.map(|v| json!(v))),
        ("realtimePeriod", f.cpu_rt_period.map(|v| json!(v))),
        ("realtimeRuntime", f.cpu_rt_runtime.map(|v| json!(v))),
        ("cpus", f.cpuset_cpus.as_ref().map(|v| json!(v))),
        ("mems", f.cpuset_mems.as_ref().map(|v| json!(v))),
        ("burst", f.cpu_burst.map(|v| json!(v))),
        ("idle", f.cpu_idle.map(|v| json!(v))),
    ];
    for (k, v) in cpu {
        if let Some(v) = v {
            set(p, "cpu", k, v);
        }
    }
    if let Some(v) = f.pids_limit {
        set(p, "pids", "limit", json!(v));
    }
    if let Some(v) = f.blkio_weight {
        set(p, "blockIO", "weight", json!(v));
    }
    let rdt = f.l3_cache_schema.is_some() || f.mem_bw_schema.is_some();
    if rdt {
        rt.update_intel_rdt(id, f.l3_cache_schema.as_deref(), f.mem_bw_schema.as_deref())?;
    }
    if !patch.is_empty() || !rdt {
        rt.update(id, &Value::Object(patch))?;
    }
    Ok(0)
}
