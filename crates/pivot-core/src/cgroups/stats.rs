//! Statistics for `events`, shaped as runc's events types
//! (types/events.go: cpu, memory, pids, blkio, hugetlb), zero fields left
//! out where runc's have `omitempty`.

use super::resources::{layout, v1_dir, Layout};
use super::CgroupDir;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

fn num(dir: &Path, file: &str) -> u64 {
    read(dir, file).trim().parse().unwrap_or(0)
}

/// "key value" lines as a map.
fn kv(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read(dir, file)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Insert unless zero/empty (Go's omitempty).
fn put(m: &mut Map<String, Value>, k: &str, v: Value) {
    let empty = match &v {
        Value::Number(n) => n.as_u64() == Some(0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if !empty {
        m.insert(k.into(), v);
    }
}

fn mem_entry(limit: u64, usage: u64, max: u64, failcnt: u64) -> Value {
    let mut m = Map::new();
    m.insert("limit".into(), json!(limit));
    put(&mut m, "usage", json!(usage));
    put(&mut m, "max", json!(max));
    m.insert("failcnt".into(), json!(failcnt));
    Value::Object(m)
}

fn blkio_entries(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, v] = f[..] else { return None };
            let (ma, mi) = dev.split_once(':')?;
            let mut m = Map::new();
            put(&mut m, "major", json!(ma.parse::<u64>().ok()?));
            put(&mut m, "minor", json!(mi.parse::<u64>().ok()?));
            m.insert("op".into(), json!(op));
            put(&mut m, "value", json!(v.parse::<u64>().ok()?));
            Some(Value::Object(m))
        })
        .collect()
}

fn limit_or_max(s: &str) -> u64 {
    match s.trim() {
        "max" | "" => u64::MAX,
        v => v.parse().unwrap_or(u64::MAX),
    }
}

/// The `data` of a stats event.
pub fn stats(dirs: &[CgroupDir]) -> Value {
    match layout(dirs) {
        Layout::V1(dirs) => v1(dirs),
        Layout::V2(d) => v2(&d.path()),
        Layout::None => json!({}),
    }
}

fn v1(dirs: &[CgroupDir]) -> Value {
    let mut cpu = Map::new();
    if let Some(d) = v1_dir(dirs, "cpuacct") {
        let p = d.path();
        let percpu = |f: &str| -> Vec<u64> {
            read(&p, f)
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        };
        // cpuacct.stat is in USER_HZ ticks (100 a second).
        let st = kv(&p, "cpuacct.stat");
        let mut usage = Map::new();
        put(&mut usage, "total", json!(num(&p, "cpuacct.usage")));
        put(&mut usage, "percpu", json!(percpu("cpuacct.usage_percpu")));
        put(
            &mut usage,
            "percpu_kernel",
            json!(percpu("cpuacct.usage_percpu_sys")),
        );
        put(
            &mut usage,
            "percpu_user",
            json!(percpu("cpuacct.usage_percpu_user")),
        );
        usage.insert(
            "kernel".into(),
            json!(st.get("system").unwrap_or(&0) * 10_000_000),
        );
        usage.insert(
            "user".into(),
            json!(st.get("user").unwrap_or(&0) * 10_000_000),
        );
        cpu.insert("usage".into(), Value::Object(usage));
    }
    if let Some(d) = v1_dir(dirs, "cpu") {
        let st = kv(&d.path(), "cpu.stat");
        let mut t = Map::new();
        put(&mut t, "periods", json!(st.get("nr_periods").unwrap_or(&0)));
        put(
            &mut t,
            "throttledPeriods",
            json!(st.get("nr_throttled").unwrap_or(&0)),
        );
        put(
            &mut t,
            "throttledTime",
            json!(st.get("throttled_time").unwrap_or(&0)),
        );
        cpu.insert("throttling".into(), Value::Object(t));
    }
    let mut memory = Map::new();
    if let Some(d) = v1_dir(dirs, "memory") {
        let p = d.path();
        let raw = kv(&p, "memory.stat");
        put(&mut memory, "cache", json!(raw.get("cache").unwrap_or(&0)));
        let e = |pre: &str| {
            mem_entry(
                num(&p, &format!("{pre}.limit_in_bytes")),
                num(&p, &format!("{pre}.usage_in_bytes")),
                num(&p, &format!("{pre}.max_usage_in_bytes")),
                num(&p, &format!("{pre}.failcnt")),
            )
        };
        memory.insert("usage".into(), e("memory"));
        memory.insert("swap".into(), e("memory.memsw"));
        memory.insert("kernel".into(), e("memory.kmem"));
        memory.insert("kernelTCP".into(), e("memory.kmem.tcp"));
        put(&mut memory, "raw", json!(raw));
    }
    let mut pids = Map::new();
    if let Some(d) = v1_dir(dirs, "pids") {
        let p = d.path();
        put(&mut pids, "current", json!(num(&p, "pids.current")));
        let max = limit_or_max(&read(&p, "pids.max"));
        put(
            &mut pids,
            "limit",
            json!(if max == u64::MAX { 0 } else { max }),
        );
    }
    let mut blkio = Map::new();
    if let Some(d) = v1_dir(dirs, "blkio") {
        let p = d.path();
        let pick = |a: &str, b: &str| {
            let v = blkio_entries(&read(&p, a));
            if v.is_empty() {
                blkio_entries(&read(&p, b))
            } else {
                v
            }
        };
        put(
            &mut blkio,
            "ioServiceBytesRecursive",
            json!(pick(
                "blkio.io_service_bytes_recursive",
                "blkio.throttle.io_service_bytes_recursive"
            )),
        );
        put(
            &mut blkio,
            "ioServicedRecursive",
            json!(pick(
                "blkio.io_serviced_recursive",
                "blkio.throttle.io_serviced_recursive"
            )),
        );
    }
    let mut hugetlb = Map::new();
    if let Some(d) = v1_dir(dirs, "hugetlb") {
        let p = d.path();
        for size in page_sizes(&p, ".limit_in_bytes") {
            let mut h = Map::new();
            put(
                &mut h,
                "usage",
                json!(num(&p, &format!("hugetlb.{size}.usage_in_bytes"))),
            );
            put(
                &mut h,
                "max",
                json!(num(&p, &format!("hugetlb.{size}.max_usage_in_bytes"))),
            );
            h.insert(
                "failcnt".into(),
                json!(num(&p, &format!("hugetlb.{size}.failcnt"))),
            );
            hugetlb.insert(size, Value::Object(h));
        }
    }
    json!({"cpu": cpu, "memory": memory, "pids": pids, "blkio": blkio, "hugetlb": hugetlb})
}

/// Page sizes with a `hugetlb.<size><suffix>` file in `p`.
fn page_sizes(p: &Path, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let s = n.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
                    (!s.contains('.')).then(|| s.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn v2(p: &Path) -> Value {
    let st = kv(p, "cpu.stat");
    let g = |k: &str| *st.get(k).unwrap_or(&0);
    let mut usage = Map::new();
    put(&mut usage, "total", json!(g("usage_usec") * 1000));
    usage.insert("kernel".into(), json!(g("system_usec") * 1000));
    usage.insert("user".into(), json!(g("user_usec") * 1000));
    let mut t = Map::new();
    put(&mut t, "periods", json!(g("nr_periods")));
    put(&mut t, "throttledPeriods", json!(g("nr_throttled")));
    put(&mut t, "throttledTime", json!(g("throttled_usec") * 1000));
    let cpu = json!({"usage": usage, "throttling": t});

    let raw = kv(p, "memory.stat");
    let events = kv(p, "memory.events");
    let mut memory = Map::new();
    put(&mut memory, "cache", json!(raw.get("file").unwrap_or(&0)));
    memory.insert(
        "usage".into(),
        mem_entry(
            limit_or_max(&read(p, "memory.max")),
            num(p, "memory.current"),
            num(p, "memory.peak"),
            *events.get("max").unwrap_or(&0),
        ),
    );
    memory.insert(
        "swap".into(),
        mem_entry(
            limit_or_max(&read(p, "memory.swap.max")),
            num(p, "memory.swap.current"),
            num(p, "memory.swap.peak"),
            0,
        ),
    );
    put(&mut memory, "raw", json!(raw));

    let mut pids = Map::new();
    put(&mut pids, "current", json!(num(p, "pids.current")));
    let max = limit_or_max(&read(p, "pids.max"));
    put(
        &mut pids,
        "limit",
        json!(if max == u64::MAX { 0 } else { max }),
    );

    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for l in read(p, "io.stat").lines() {
        let mut f = l.split_whitespace();
        let Some((ma, mi)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(ma), Ok(mi)) = (ma.parse::<u64>(), mi.parse::<u64>()) else {
            continue;
        };
        for kvp in f {
            let Some((k, v)) = kvp.split_once('=') else {
                continue;
            };
            let v: u64 = v.parse().unwrap_or(0);
            let e = json!({"major": ma, "minor": mi, "op": if k.starts_with('r') { "Read" } else { "Write" }, "value": v});
            match k {
                "rbytes" | "wbytes" => bytes.push(e),
                "rios" | "wios" => ios.push(e),
                _ => {}
            }
        }
    }
    let mut blkio = Map::new();
    put(&mut blkio, "ioServiceBytesRecursive", json!(bytes));
    put(&mut blkio, "ioServicedRecursive", json!(ios));

    let mut hugetlb = Map::new();
    for size in page_sizes(p, ".max") {
        let ev = kv(p, &format!("hugetlb.{size}.events"));
        let mut h = Map::new();
        put(
            &mut h,
            "usage",
            json!(num(p, &format!("hugetlb.{size}.current"))),
        );
        h.insert("failcnt".into(), json!(ev.get("max").unwrap_or(&0)));
        hugetlb.insert(size, Value::Object(h));
    }
    json!({"cpu": cpu, "memory": memory, "pids": pids, "blkio": blkio, "hugetlb": hugetlb})
}

/// The OOM kill counter (v1 memory.oom_control, v2 memory.events).
pub fn oom_kills(dirs: &[CgroupDir]) -> u64 {
    match layout(dirs) {
        Layout::V1(dirs) => v1_dir(dirs, "memory")
            .map(|d| {
                *kv(&d.path(), "memory.oom_control")
                    .get("oom_kill")
                    .unwrap_or(&0)
            })
            .unwrap_or(0),
        Layout::V2(d) => *kv(&d.path(), "memory.events").get("oom_kill").unwrap_or(&0),
        Layout::None => 0,
    }
}
