//! linux.resources parsed (each part decoded on its own, so that one bad
//! part does not hide the others) and checked without the host.

use crate::error::{Error, Problems, Result};
use crate::spec::resources::{BlockIo, Cpu, Hugepage, Memory, Network, Pids, Rdma, ThrottleDevice};
use crate::spec::types::{DeviceRule, Resources};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) const F: &str = "linux.resources";

impl Pids {
    /// What pids.max gets, if anything: 0 means 1 (as runc 1.5 writes it,
    /// because systemd cannot set TasksMax to 0 and both cgroup drivers
    /// must agree), below 0 means no limit.
    pub(super) fn max(&self) -> Option<String> {
        self.limit.map(|n| match n {
            n if n > 0 => n.to_string(),
            0 => "1".into(),
            _ => "max".into(),
        })
    }
}

/// `linux.resources`, typed and checked.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
    pub block_io: Option<BlockIo>,
    pub hugepage_limits: Vec<Hugepage>,
    pub network: Option<Network>,
    pub rdma: BTreeMap<String, Rdma>,
    pub unified: BTreeMap<String, String>,
}

fn field<T: DeserializeOwned>(other: &BTreeMap<String, Value>, key: &str) -> Result<Option<T>> {
    crate::spec::decode_some(&format!("{F}.{key}"), other.get(key))
}

pub(super) fn bad(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{F}.{field}: {msg}"))
}

/// -1 (unlimited), 0 (unset) or a positive count.
fn limit_ok(field: &str, v: Option<i64>) -> Result<()> {
    match v {
        Some(n) if n < -1 => Err(bad(field, format!("{n} is negative (-1 means unlimited)"))),
        _ => Ok(()),
    }
}

pub(super) fn page_size_ok(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB" | "TB" | "PB")
}

impl Limits {
    /// Parse and check everything that needs no host; the first problem.
    pub fn parse(r: Option<&Resources>) -> Result<Limits> {
        let mut problems = Problems::new();
        let limits = Self::gather(r, &mut problems);
        problems.into_result()?;
        Ok(limits.expect("no problem, so parsed"))
    }

    /// Parse and check everything that needs no host, adding every
    /// problem to `p`; the limits if there was none.
    pub fn gather(r: Option<&Resources>, p: &mut Problems) -> Option<Limits> {
        let Some(r) = r else {
            return Some(Limits::default());
        };
        let before = p.errors().len();
        let o = &r.other;
        let mut l = Limits {
            devices: r.devices.clone(),
            memory: p.take(field(o, "memory")).flatten(),
            cpu: p.take(field(o, "cpu")).flatten(),
            pids: p.take(field(o, "pids")).flatten(),
            block_io: p.take(field(o, "blockIO")).flatten(),
            hugepage_limits: p
                .take(field(o, "hugepageLimits"))
                .flatten()
                .unwrap_or_default(),
            network: p.take(field(o, "network")).flatten(),
            rdma: p.take(field(o, "rdma")).flatten().unwrap_or_default(),
            unified: p.take(field(o, "unified")).flatten().unwrap_or_default(),
        };
        l.validate(p);
        if p.errors().len() != before {
            return None;
        }
        for d in &mut l.devices {
            if let Some(a) = &mut d.access {
                a.retain(|c| matches!(c, 'r' | 'w' | 'm'));
            }
        }
        Some(l)
    }

    fn validate(&self, problems: &mut Problems) {
        devices_ok(&self.devices, problems);
        if let Some(m) = &self.memory {
            memory_ok(m, problems);
        }
        if let Some(c) = &self.cpu {
            cpu_ok(c, problems);
        }
        if let Some(p) = &self.pids {
            problems.check(limit_ok("pids.limit", p.limit));
        }
        if let Some(b) = &self.block_io {
            block_io_ok(b, problems);
        }
        for (i, h) in self.hugepage_limits.iter().enumerate() {
            if !page_size_ok(&h.page_size) {
                problems.push(bad(
                    &format!("hugepageLimits[{i}].pageSize"),
                    format!("{:?} is not a size like 2MB or 1GB", h.page_size),
                ));
            }
        }
        for k in self.unified.keys() {
            if k.contains('/') || !k.contains('.') || k.starts_with('.') {
                problems.push(bad(&format!("unified[{k:?}]"), "is not a cgroup file name"));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
            && self.memory.is_none()
            && self.cpu.is_none()
            && self.pids.is_none()
            && self.block_io.is_none()
            && self.hugepage_limits.is_empty()
            && self.network.is_none()
            && self.rdma.is_empty()
            && self.unified.is_empty()
    }
}

fn devices_ok(devices: &[DeviceRule], problems: &mut Problems) {
    for (i, d) in devices.iter().enumerate() {
        let f = format!("devices[{i}]");
        if let Some(k) = &d.kind {
            if !matches!(k.as_str(), "a" | "b" | "c") {
                problems.push(bad(&format!("{f}.type"), format!("{k:?} is not a, b or c")));
            }
        }
        for (n, v) in [("major", d.major), ("minor", d.minor)] {
            if let Some(v) = v.filter(|v| *v < -1) {
                problems.push(bad(&format!("{f}.{n}"), format!("{v} is negative")));
            }
        }
        // runc 1.1.5 takes r, w and m from the string and ignores any
        // other letter ("rwa" is "rw"); a string with none of the
        // three is still refused.
        if let Some(a) = &d.access {
            if !a.chars().any(|c| matches!(c, 'r' | 'w' | 'm')) {
                problems.push(bad(
                    &format!("{f}.access"),
                    format!("{a:?} has none of r, w and m"),
                ));
            }
        }
    }
}

fn memory_ok(m: &Memory, problems: &mut Problems) {
    problems.check(limit_ok("memory.limit", m.limit));
    problems.check(limit_ok("memory.reservation", m.reservation));
    problems.check(limit_ok("memory.swap", m.swap));
    if let (Some(l), Some(s)) = (m.limit, m.swap) {
        if l > 0 && s > 0 && s < l {
            problems.push(bad(
                "memory.swap",
                format!("{s} is below memory.limit {l} (swap is memory+swap)"),
            ));
        }
    }
    if let Some(s) = m.swappiness {
        if !(-1..=100).contains(&s) {
            problems.push(bad("memory.swappiness", format!("{s} is not in 0..100")));
        }
    }
}

fn cpu_ok(c: &Cpu, problems: &mut Problems) {
    problems.check(limit_ok("cpu.quota", c.quota));
    if let Some(q) = c.quota.filter(|q| *q > 0 && *q < 1000) {
        problems.push(bad("cpu.quota", format!("{q} is below the minimum 1000")));
    }
    if let Some(p) = c
        .period
        .filter(|p| *p != 0 && !(1000..=1_000_000).contains(p))
    {
        problems.push(bad("cpu.period", format!("{p} is not in 1000..1000000")));
    }
    if let Some(s) = c.shares.filter(|s| *s != 0 && *s < 2) {
        problems.push(bad("cpu.shares", format!("{s} is below the minimum 2")));
    }
    if let Some(r) = c.realtime_runtime.filter(|r| *r < -1) {
        problems.push(bad("cpu.realtimeRuntime", format!("{r} is negative")));
    }
    if let Some(i) = c.idle.filter(|i| !matches!(i, 0 | 1)) {
        problems.push(bad("cpu.idle", format!("{i} is not 0 or 1")));
    }
    for (n, v) in [("cpus", &c.cpus), ("mems", &c.mems)] {
        if let Some(v) = v {
            let ok = v
                .split(',')
                .filter(|p| !p.is_empty())
                .all(|p| p.split('-').all(|n| n.parse::<u32>().is_ok()));
            if !ok {
                problems.push(bad(
                    &format!("cpu.{n}"),
                    format!("{v:?} is not a list like 0-2,4"),
                ));
            }
        }
    }
}

fn block_io_ok(b: &BlockIo, problems: &mut Problems) {
    for (n, w) in [("weight", b.weight), ("leafWeight", b.leaf_weight)] {
        if let Some(w) = w.filter(|w| *w != 0 && !(10..=1000).contains(w)) {
            problems.push(bad(
                &format!("blockIO.{n}"),
                format!("{w} is not in 10..1000"),
            ));
        }
    }
    for (i, d) in b.weight_device.iter().enumerate() {
        problems.check(dev_ok(
            &format!("blockIO.weightDevice[{i}]"),
            d.major,
            d.minor,
        ));
        for w in [d.weight, d.leaf_weight].into_iter().flatten() {
            if w != 0 && !(10..=1000).contains(&w) {
                problems.push(bad(
                    &format!("blockIO.weightDevice[{i}]"),
                    format!("weight {w} is not in 10..1000"),
                ));
            }
        }
    }
    for (n, list) in b.throttles() {
        for (i, d) in list.iter().enumerate() {
            problems.check(dev_ok(&format!("blockIO.{n}[{i}]"), d.major, d.minor));
        }
    }
}

impl BlockIo {
    pub(super) fn throttles(&self) -> [(&'static str, &Vec<ThrottleDevice>); 4] {
        [
            ("throttleReadBpsDevice", &self.throttle_read_bps_device),
            ("throttleWriteBpsDevice", &self.throttle_write_bps_device),
            ("throttleReadIOPSDevice", &self.throttle_read_iops_device),
            ("throttleWriteIOPSDevice", &self.throttle_write_iops_device),
        ]
    }
}

pub(super) fn dev_ok(f: &str, major: i64, minor: i64) -> Result<()> {
    if major < 0 || minor < 0 {
        return Err(bad(
            f,
            format!("device {major}:{minor} has a negative number"),
        ));
    }
    Ok(())
}
