//! `linux.resources`: parsed from the spec's raw JSON, checked before
//! anything is created, and written to the container's own cgroup dirs in
//! the order runc's cgroupfs driver writes them (v1: cpuset, devices,
//! memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma; v2: pids,
//! memory, io, cpu, devices, cpuset, hugetlb, rdma, unified).
//!
//! Every error names the config.json field it comes from.

use super::devices::{allows_all, device_rule_string, effective_device_rules};
use super::{write_file, CgroupDir, Hierarchy};
use crate::error::{Context, Error, ErrorKind, Problems, Result};
pub use crate::spec::resources::{
    BlockIo, Cpu, Hugepage, Memory, Network, Pids, Priority, Rdma, ThrottleDevice, WeightDevice,
};
use crate::spec::types::{DeviceRule, Resources};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const F: &str = "linux.resources";

impl Pids {
    /// What pids.max gets, if anything: 0 means 1 (as runc 1.5 writes it,
    /// because systemd cannot set TasksMax to 0 and both cgroup drivers
    /// must agree), below 0 means no limit.
    fn max(&self) -> Option<String> {
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

fn bad(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{F}.{field}: {msg}"))
}

/// -1 (unlimited), 0 (unset) or a positive count.
fn limit_ok(field: &str, v: Option<i64>) -> Result<()> {
    match v {
        Some(n) if n < -1 => Err(bad(field, format!("{n} is negative (-1 means unlimited)"))),
        _ => Ok(()),
    }
}

fn page_size_ok(s: &str) -> bool {
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
        for (i, d) in self.devices.iter().enumerate() {
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
        if let Some(m) = &self.memory {
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
        if let Some(c) = &self.cpu {
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
        if let Some(p) = &self.pids {
            problems.check(limit_ok("pids.limit", p.limit));
        }
        if let Some(b) = &self.block_io {
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

impl BlockIo {
    fn throttles(&self) -> [(&'static str, &Vec<ThrottleDevice>); 4] {
        [
            ("throttleReadBpsDevice", &self.throttle_read_bps_device),
            ("throttleWriteBpsDevice", &self.throttle_write_bps_device),
            ("throttleReadIOPSDevice", &self.throttle_read_iops_device),
            ("throttleWriteIOPSDevice", &self.throttle_write_iops_device),
        ]
    }
}

fn dev_ok(f: &str, major: i64, minor: i64) -> Result<()> {
    if major < 0 || minor < 0 {
        return Err(bad(
            f,
            format!("device {major}:{minor} has a negative number"),
        ));
    }
    Ok(())
}

/// Which cgroup layout the container's dirs are in.
pub enum Layout<'a> {
    /// Controllers on v1 hierarchies (the hybrid cgroup2 tree is ignored).
    V1(&'a [CgroupDir]),
    /// One unified cgroup2 dir.
    V2(&'a CgroupDir),
    None,
}

pub fn layout(dirs: &[CgroupDir]) -> Layout<'_> {
    let v1 = dirs
        .iter()
        .any(|d| !d.hierarchy.is_v2() && !d.hierarchy.controllers.starts_with("name="));
    if v1 {
        return Layout::V1(dirs);
    }
    match dirs.iter().find(|d| d.hierarchy.is_v2()) {
        Some(d) => Layout::V2(d),
        None => Layout::None,
    }
}

/// The v1 dir of the hierarchy holding `ctl`.
pub fn v1_dir<'a>(dirs: &'a [CgroupDir], ctl: &str) -> Option<&'a CgroupDir> {
    dirs.iter()
        .find(|d| !d.hierarchy.is_v2() && d.hierarchy.has(ctl))
}

/// The controllers enabled for the hierarchy's root (v2).
fn v2_available(d: &CgroupDir) -> Vec<String> {
    std::fs::read_to_string(d.hierarchy.mount.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Which v1 controller or v2 controller each requested limit needs.
fn needs(l: &Limits, v2: bool) -> Vec<(&'static str, &'static str)> {
    let mut n = Vec::new();
    if l.memory.is_some() {
        n.push(("memory", "memory"));
    }
    if let Some(c) = &l.cpu {
        let cpu = c.shares.is_some()
            || c.quota.is_some()
            || c.period.is_some()
            || c.burst.is_some()
            || c.realtime_period.is_some()
            || c.realtime_runtime.is_some()
            || c.idle.is_some();
        if cpu {
            n.push(("cpu", "cpu"));
        }
        if c.cpus.is_some() || c.mems.is_some() {
            n.push(("cpu.cpus", "cpuset"));
        }
    }
    if l.pids.is_some() {
        n.push(("pids", "pids"));
    }
    if l.block_io.is_some() {
        n.push(("blockIO", if v2 { "io" } else { "blkio" }));
    }
    if !l.hugepage_limits.is_empty() {
        n.push(("hugepageLimits", "hugetlb"));
    }
    if let Some(net) = &l.network {
        if net.class_id.is_some() {
            n.push(("network.classID", "net_cls"));
        }
        if !net.priorities.is_empty() {
            n.push(("network.priorities", "net_prio"));
        }
    }
    if !l.rdma.is_empty() {
        n.push(("rdma", "rdma"));
    }
    if !v2 && !l.devices.is_empty() {
        n.push(("devices", "devices"));
    }
    n
}

/// Refuse, before anything is created, what this host cannot do: the
/// first problem.
pub fn check_host(l: &Limits, dirs: &[CgroupDir]) -> Result<()> {
    let mut problems = Problems::new();
    gather_host(l, dirs, &mut problems);
    problems.into_result()
}

/// What this host cannot do of `l`, every problem added to `p`.
pub fn gather_host(l: &Limits, dirs: &[CgroupDir], problems: &mut Problems) {
    match layout(dirs) {
        Layout::V1(dirs) => {
            for (f, ctl) in needs(l, false) {
                if v1_dir(dirs, ctl).is_none() {
                    problems.push(Error::unsupported(format!(
                        "{F}.{f}: the {ctl} cgroup controller is not mounted on this host"
                    )));
                }
            }
            if let Some(k) = l.unified.keys().next() {
                problems.push(Error::unsupported(format!(
                    "{F}.unified[{k:?}]: invalid configuration: unified resources need cgroup v2 (this host uses cgroup v1)"
                )));
            }
            for (i, h) in l.hugepage_limits.iter().enumerate() {
                let Some(d) = v1_dir(dirs, "hugetlb") else {
                    break;
                };
                let file = format!("hugetlb.{}.limit_in_bytes", h.page_size);
                if !d.hierarchy.mount.join(&file).exists() {
                    problems.push(Error::unsupported(format!(
                        "{F}.hugepageLimits[{i}].pageSize: {:?} is not a huge page size of this host",
                        h.page_size
                    )));
                }
            }
        }
        Layout::V2(d) => {
            let avail = v2_available(d);
            for (f, ctl) in needs(l, true) {
                if matches!(ctl, "net_cls" | "net_prio") {
                    problems.push(Error::unsupported(format!(
                        "{F}.{f}: {ctl} is a cgroup v1 controller (this host uses cgroup v2)"
                    )));
                    continue;
                }
                if !avail.iter().any(|a| a == ctl) {
                    problems.push(Error::unsupported(format!(
                        "{F}.{f}: the {ctl} cgroup controller is not available on this host"
                    )));
                }
            }
            if let Some(c) = &l.cpu {
                if c.realtime_period.is_some_and(|v| v != 0)
                    || c.realtime_runtime.is_some_and(|v| v != 0)
                {
                    problems.push(Error::unsupported(format!(
                        "{F}.cpu.realtimeRuntime: realtime scheduling limits are not supported on cgroup v2"
                    )));
                }
                if c.shares.is_some_and(|s| s > 262144) {
                    problems.push(bad("cpu.shares", "is above the maximum 262144"));
                }
            }
            if let Some(m) = &l.memory {
                if m.swappiness.is_some_and(|s| s != -1) {
                    problems.push(Error::unsupported(format!(
                        "{F}.memory.swappiness: not supported on cgroup v2"
                    )));
                }
                if m.disable_oom_killer == Some(true) {
                    problems.push(Error::unsupported(format!(
                        "{F}.memory.disableOOMKiller: not supported on cgroup v2"
                    )));
                }
                problems.take(v2_swap(m));
            }
            for (k, _) in l.unified.iter() {
                if let Some((ctl, _)) = k.split_once('.') {
                    let core = ctl == "cgroup";
                    if !core && !avail.iter().any(|a| a == ctl) {
                        problems.push(Error::unsupported(format!(
                            "{F}.unified[{k:?}]: the {ctl} controller is not available on this host"
                        )));
                    }
                }
            }
            for (i, h) in l.hugepage_limits.iter().enumerate() {
                let file = format!("hugetlb.{}.max", h.page_size);
                let root_has = std::fs::read_dir(&d.hierarchy.mount)
                    .map(|rd| {
                        rd.flatten().any(|e| {
                            e.file_type().is_ok_and(|t| t.is_dir()) && e.path().join(&file).exists()
                        })
                    })
                    .unwrap_or(false);
                let sizes = std::fs::read_dir("/sys/kernel/mm/hugepages")
                    .map(|rd| rd.flatten().count())
                    .unwrap_or(0);
                if !root_has && sizes == 0 {
                    problems.push(Error::unsupported(format!(
                        "{F}.hugepageLimits[{i}].pageSize: {:?} is not a huge page size of this host",
                        h.page_size
                    )));
                }
            }
            if !allows_all(&effective_device_rules(&l.devices)) && !super::devices::supported() {
                problems.push(Error::unsupported(format!(
                    "{F}.devices: device rules on cgroup v2 need an eBPF device program, which this host refused"
                )));
            }
        }
        Layout::None => {
            if let Some((f, _)) = needs(l, false).first() {
                problems.push(Error::unsupported(format!(
                    "{F}.{f}: no cgroup hierarchy is mounted on this host"
                )));
            }
        }
    }
}

/// runc's rootless cgroup manager: a limit whose hierarchy was done
/// without (`dropped`, see `create_rootless`) is an error, device rules
/// excepted (they are not expected to work rootless and are skipped).
/// `v2_only`: the host has the unified hierarchy alone, where runc's
/// wording differs.
pub fn check_rootless(l: &Limits, dropped: &[Hierarchy], v2_only: bool) -> Result<()> {
    let permission = |what: String| Error::new(ErrorKind::Os(libc::EACCES), what);
    if v2_only {
        if !dropped.iter().any(|h| h.is_v2()) {
            return Ok(());
        }
        let first = needs(l, true)
            .first()
            .map(|(f, _)| f.to_string())
            .or_else(|| l.unified.keys().next().map(|k| format!("unified[{k:?}]")));
        return match first {
            Some(f) => Err(permission(format!(
                "{F}.{f}: rootless needs no limits + no cgrouppath when no permission is granted for cgroups"
            ))),
            None => Ok(()),
        };
    }
    for h in dropped.iter().filter(|h| !h.is_v2()) {
        if let Some((f, ctl)) = needs(l, false)
            .into_iter()
            .find(|(_, ctl)| *ctl != "devices" && h.has(ctl))
        {
            return Err(permission(format!(
                "{F}.{f}: cannot set {ctl} limit: container could not join or create cgroup"
            )));
        }
    }
    Ok(())
}

/// What an apply writes: at create everything; at update all but devices.
#[derive(Debug, Clone, Copy)]
pub struct Apply {
    pub devices: bool,
    pub update: bool,
}

impl Apply {
    pub const CREATE: Apply = Apply {
        devices: true,
        update: false,
    };
    pub const UPDATE: Apply = Apply {
        devices: false,
        update: true,
    };
}

/// One write `apply` makes: the file, the value and the field it is for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Write {
    pub file: PathBuf,
    pub value: String,
    pub field: String,
}

thread_local! {
    /// While `record` runs, the writes `apply` would make, kept instead
    /// of made: `explain` shows exactly what `create` writes, from the
    /// same code.
    static RECORDING: std::cell::RefCell<Option<Vec<Write>>> =
        const { std::cell::RefCell::new(None) };
}

fn recording() -> bool {
    RECORDING.with(|r| r.borrow().is_some())
}

/// What `apply` at create would write into `dirs` (which need not
/// exist), in order; the error is the one `apply` would meet first
/// without touching the host. Files whose presence decides a write
/// (blkio.bfq.weight, the rsvd hugetlb limits, unified keys) are looked
/// up in the nearest directory that exists, whose files the new cgroup
/// will have.
pub fn record(l: &Limits, dirs: &[CgroupDir]) -> (Vec<Write>, Result<()>) {
    RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
    let res = apply(l, dirs, Apply::CREATE);
    let writes = RECORDING
        .with(|r| r.borrow_mut().take())
        .unwrap_or_default();
    (writes, res)
}

/// Write `value` to `path`, or note it while recording.
fn write_or_record(path: &Path, value: &str, field: &str) -> Result<()> {
    let noted = RECORDING.with(|r| match r.borrow_mut().as_mut() {
        Some(w) => {
            w.push(Write {
                file: path.to_path_buf(),
                value: value.to_string(),
                field: field.to_string(),
            });
            true
        }
        None => false,
    });
    if noted {
        return Ok(());
    }
    write_file(path, value)
}

/// Whether the cgroup `dir` has `file` (while recording: its nearest
/// existing ancestor).
fn has(dir: &Path, file: &str) -> bool {
    if !recording() {
        return dir.join(file).exists();
    }
    dir.ancestors()
        .find(|d| d.is_dir())
        .is_some_and(|d| d.join(file).exists())
}

/// Write one file in the container's cgroup dir, naming the field.
fn put(dir: &Path, file: &str, value: &str, f: &str) -> Result<()> {
    write_or_record(&dir.join(file), value, &format!("{F}.{f}")).with_ctx(|| format!("{F}.{f}"))
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    std::fs::read_to_string(dir.join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Write the limits into the container's (freshly created or running)
/// cgroups.
pub fn apply(l: &Limits, dirs: &[CgroupDir], how: Apply) -> Result<()> {
    match layout(dirs) {
        Layout::V1(dirs) => apply_v1(l, dirs, how),
        Layout::V2(d) => apply_v2(l, d, how),
        Layout::None => Ok(()),
    }
}

fn dir_of(dirs: &[CgroupDir], ctl: &str, f: &str) -> Result<PathBuf> {
    v1_dir(dirs, ctl).map(|d| d.path()).ok_or_else(|| {
        Error::unsupported(format!(
            "{F}.{f}: the {ctl} cgroup controller is not mounted on this host"
        ))
    })
}

fn apply_v1(l: &Limits, dirs: &[CgroupDir], how: Apply) -> Result<()> {
    // cpuset
    if let Some(c) = &l.cpu {
        if c.cpus.is_some() || c.mems.is_some() {
            let d = dir_of(dirs, "cpuset", "cpu.cpus")?;
            if let Some(v) = c.cpus.as_deref().filter(|v| !v.is_empty()) {
                put(&d, "cpuset.cpus", v, "cpu.cpus")?;
            }
            if let Some(v) = c.mems.as_deref().filter(|v| !v.is_empty()) {
                put(&d, "cpuset.mems", v, "cpu.mems")?;
            }
        }
    }
    // devices: deny all, then the rules in order (the spec's, runc's).
    if how.devices && !l.devices.is_empty() {
        let d = dir_of(dirs, "devices", "devices")?;
        put(&d, "devices.deny", "a", "devices")?;
        let n = l.devices.len();
        for (i, r) in effective_device_rules(&l.devices).iter().enumerate() {
            let file = if r.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            let f = if i < n {
                format!("devices[{i}]")
            } else {
                "devices (runc's default rules)".into()
            };
            put(&d, file, &device_rule_string(r), &f)?;
        }
    }
    if let Some(m) = &l.memory {
        let d = dir_of(dirs, "memory", "memory")?;
        memory_v1(m, &d, how)?;
    }
    if let Some(c) = &l.cpu {
        if let Some(d) = v1_dir(dirs, "cpu") {
            cpu_v1(c, &d.path())?;
        }
    }
    if let Some(v) = l.pids.as_ref().and_then(Pids::max) {
        let d = dir_of(dirs, "pids", "pids")?;
        put(&d, "pids.max", &v, "pids.limit")?;
    }
    if let Some(b) = &l.block_io {
        let d = dir_of(dirs, "blkio", "blockIO")?;
        let bfq = has(&d, "blkio.bfq.weight");
        let (wfile, wdfile) = if bfq {
            ("blkio.bfq.weight", "blkio.bfq.weight_device")
        } else {
            ("blkio.weight", "blkio.weight_device")
        };
        if let Some(w) = b.weight.filter(|w| *w != 0) {
            put(&d, wfile, &w.to_string(), "blockIO.weight")?;
        }
        if let Some(w) = b.leaf_weight.filter(|w| *w != 0) {
            put(
                &d,
                "blkio.leaf_weight",
                &w.to_string(),
                "blockIO.leafWeight",
            )?;
        }
        for (i, wd) in b.weight_device.iter().enumerate() {
            let f = format!("blockIO.weightDevice[{i}]");
            if let Some(w) = wd.weight.filter(|w| *w != 0) {
                put(&d, wdfile, &format!("{}:{} {w}", wd.major, wd.minor), &f)?;
            }
            if let Some(w) = wd.leaf_weight.filter(|w| *w != 0) {
                let v = format!("{}:{} {w}", wd.major, wd.minor);
                put(&d, "blkio.leaf_weight_device", &v, &f)?;
            }
        }
        let files = [
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device",
        ];
        for ((n, list), file) in b.throttles().into_iter().zip(files) {
            for (i, t) in list.iter().enumerate() {
                let v = format!("{}:{} {}", t.major, t.minor, t.rate);
                put(&d, file, &v, &format!("blockIO.{n}[{i}]"))?;
            }
        }
    }
    for (i, h) in l.hugepage_limits.iter().enumerate() {
        let d = dir_of(dirs, "hugetlb", "hugepageLimits")?;
        let f = format!("hugepageLimits[{i}]");
        let file = format!("hugetlb.{}.limit_in_bytes", h.page_size);
        put(&d, &file, &h.limit.to_string(), &f)?;
        let rsvd = format!("hugetlb.{}.rsvd.limit_in_bytes", h.page_size);
        if has(&d, &rsvd) {
            put(&d, &rsvd, &h.limit.to_string(), &f)?;
        }
    }
    if let Some(n) = &l.network {
        if let Some(id) = n.class_id {
            let d = dir_of(dirs, "net_cls", "network.classID")?;
            put(&d, "net_cls.classid", &id.to_string(), "network.classID")?;
        }
        for (i, p) in n.priorities.iter().enumerate() {
            let d = dir_of(dirs, "net_prio", "network.priorities")?;
            let v = format!("{} {}", p.name, p.priority);
            put(
                &d,
                "net_prio.ifpriomap",
                &v,
                &format!("network.priorities[{i}]"),
            )?;
        }
    }
    if !l.rdma.is_empty() {
        let d = dir_of(dirs, "rdma", "rdma")?;
        rdma(l, &d, "rdma.max")?;
    }
    if let Some(k) = l.unified.keys().next() {
        return Err(Error::unsupported(format!(
            "{F}.unified[{k:?}]: invalid configuration: unified resources need cgroup v2 (this host uses cgroup v1)"
        )));
    }
    Ok(())
}

fn rdma(l: &Limits, d: &Path, file: &str) -> Result<()> {
    for (dev, r) in &l.rdma {
        let mut v = dev.clone();
        if let Some(h) = r.hca_handles {
            v.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = r.hca_objects {
            v.push_str(&format!(" hca_object={o}"));
        }
        put(d, file, &v, &format!("rdma[{dev:?}]"))?;
    }
    Ok(())
}

/// runc's setMemoryAndSwap + the rest of MemoryGroup.Set.
fn memory_v1(m: &Memory, d: &Path, how: Apply) -> Result<()> {
    let limit = m.limit.unwrap_or(0);
    let mut swap = m.swap.unwrap_or(0);
    let swap_file = "memory.memsw.limit_in_bytes";
    if limit == -1 && swap == 0 && has(d, swap_file) {
        swap = -1;
    }
    check_usage(m, d, "memory.usage_in_bytes", how)?;
    let set_limit = |v: i64| -> Result<()> {
        if v == 0 {
            return Ok(());
        }
        put(d, "memory.limit_in_bytes", &v.to_string(), "memory.limit").map_err(|e| {
            if e.errno() == Some(libc::EBUSY) {
                let usage = read_u64(d, "memory.usage_in_bytes").unwrap_or(0);
                let peak = read_u64(d, "memory.max_usage_in_bytes").unwrap_or(0);
                e.context(format!(
                    "unable to set memory limit to {v} (current usage: {usage}, peak usage: {peak})"
                ))
            } else {
                e
            }
        })
    };
    let set_swap = |v: i64| -> Result<()> {
        if v == 0 {
            return Ok(());
        }
        if !has(d, swap_file) {
            return Err(Error::unsupported(format!(
                "{F}.memory.swap: swap accounting is not enabled on this host"
            )));
        }
        put(d, swap_file, &v.to_string(), "memory.swap")
    };
    let mut done = false;
    if limit != 0 && swap != 0 {
        let cur = read_u64(d, "memory.limit_in_bytes").unwrap_or(u64::MAX);
        if swap == -1 || cur < swap as u64 {
            set_swap(swap)?;
            set_limit(limit)?;
            done = true;
        }
    }
    if !done {
        set_limit(limit)?;
        set_swap(swap)?;
    }
    if let Some(r) = m.reservation.filter(|r| *r != 0) {
        put(
            d,
            "memory.soft_limit_in_bytes",
            &r.to_string(),
            "memory.reservation",
        )?;
    }
    if m.disable_oom_killer == Some(true) {
        put(d, "memory.oom_control", "1", "memory.disableOOMKiller")?;
    }
    if let Some(s) = m.swappiness.filter(|s| *s >= 0) {
        put(d, "memory.swappiness", &s.to_string(), "memory.swappiness")?;
    }
    if let Some(h) = m.use_hierarchy {
        // Always on since Linux 5.x; a request for off is refused there.
        let cur = read_u64(d, "memory.use_hierarchy");
        if cur != Some(h as u64) {
            put(
                d,
                "memory.use_hierarchy",
                if h { "1" } else { "0" },
                "memory.useHierarchy",
            )?;
        }
    }
    Ok(())
}

fn check_usage(m: &Memory, d: &Path, file: &str, how: Apply) -> Result<()> {
    let limit = m.limit.unwrap_or(0);
    if how.update && m.check_before_update == Some(true) && limit > 0 {
        let usage = read_u64(d, file).unwrap_or(0);
        if usage >= limit as u64 {
            return Err(bad(
                "memory.limit",
                format!("rejecting memory limit {limit} below usage {usage} (checkBeforeUpdate)"),
            ));
        }
    }
    Ok(())
}

/// runc's CpuGroup.Set (with the EINVAL retries) and SetRtSched.
fn cpu_v1(c: &Cpu, d: &Path) -> Result<()> {
    let einval = |e: &Error| e.errno() == Some(libc::EINVAL);
    if let Some(s) = c.shares.filter(|s| *s != 0) {
        put(d, "cpu.shares", &s.to_string(), "cpu.shares")?;
        let got = read_u64(d, "cpu.shares").unwrap_or(s);
        if s > got {
            return Err(bad(
                "cpu.shares",
                format!("the maximum allowed cpu-shares is {got}"),
            ));
        } else if s < got {
            return Err(bad(
                "cpu.shares",
                format!("the minimum allowed cpu-shares is {got}"),
            ));
        }
    }
    let quota = c.quota.unwrap_or(0);
    let mut period = None;
    if let Some(p) = c.period.filter(|p| *p != 0) {
        match put(d, "cpu.cfs_period_us", &p.to_string(), "cpu.period") {
            Ok(()) => {}
            Err(e) if einval(&e) && quota != 0 => period = Some(p),
            Err(e) => return Err(e),
        }
    }
    let mut burst = None;
    if let Some(b) = c.burst {
        match put(d, "cpu.cfs_burst_us", &b.to_string(), "cpu.burst") {
            Ok(()) => {}
            Err(e) if e.errno() == Some(libc::ENOENT) => {}
            Err(e) if einval(&e) && quota != 0 => burst = Some(b),
            Err(e) => return Err(e),
        }
    }
    if quota != 0 {
        put(d, "cpu.cfs_quota_us", &quota.to_string(), "cpu.quota")?;
        if let Some(p) = period {
            put(d, "cpu.cfs_period_us", &p.to_string(), "cpu.period")?;
        }
        if let Some(b) = burst {
            put(d, "cpu.cfs_burst_us", &b.to_string(), "cpu.burst")?;
        }
    }
    if let Some(i) = c.idle {
        put(d, "cpu.idle", &i.to_string(), "cpu.idle")?;
    }
    let runtime = c.realtime_runtime.unwrap_or(0);
    let mut rt_period = None;
    if let Some(p) = c.realtime_period.filter(|p| *p != 0) {
        match put(d, "cpu.rt_period_us", &p.to_string(), "cpu.realtimePeriod") {
            Ok(()) => {}
            Err(e) if einval(&e) && runtime != 0 => rt_period = Some(p),
            Err(e) => return Err(e),
        }
    }
    if runtime != 0 {
        put(
            d,
            "cpu.rt_runtime_us",
            &runtime.to_string(),
            "cpu.realtimeRuntime",
        )?;
        if let Some(p) = rt_period {
            put(d, "cpu.rt_period_us", &p.to_string(), "cpu.realtimePeriod")?;
        }
    }
    Ok(())
}

/// cgroup v1's cpu.shares (2..=262144, default 1024) as cgroup v2's
/// cpu.weight (1..=10000, default 100): runc 1.5's
/// ConvertCPUSharesToCgroupV2Value, a quadratic in log2(shares) that maps
/// 2, 1024 and 262144 onto 1, 100 and 10000 (512 is 59, 4096 is 303). The
/// linear formula of older runc made the default 1024 a weight of 39, below
/// every systemd unit's 100. 0 stays 0 (unset).
pub fn shares_to_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262144.. => 10000,
        _ => {
            let l = (shares as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// runc's ConvertBlkIOToIOWeightValue.
pub fn blkio_to_io_weight(w: u64) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (w.saturating_sub(10) * 9999) / 990
}

/// runc's ConvertMemorySwapToCgroupV2Value: memory.swap.max is the swap
/// alone (spec swap = memory + swap).
pub(crate) fn v2_swap(m: &Memory) -> Result<i64> {
    let (limit, swap) = (m.limit.unwrap_or(0), m.swap.unwrap_or(0));
    if limit == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if limit == 0 || limit == -1 {
        return Err(bad(
            "memory.swap",
            "unable to set swap limit without memory limit",
        ));
    }
    if swap < limit {
        return Err(bad(
            "memory.swap",
            "memory+swap limit should be >= memory limit",
        ));
    }
    Ok(swap - limit)
}

fn num_to_str(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        n => Some(n.to_string()),
    }
}

/// Enable every available controller down to the container's parent, as
/// runc's fs2 driver does (only ever in the cgroup2 tree).
fn enable_controllers(d: &CgroupDir) -> Result<()> {
    let target = d.path();
    let mount = &d.hierarchy.mount;
    let Ok(rel) = target.strip_prefix(mount) else {
        return Ok(());
    };
    let mut cur = mount.clone();
    let comps: Vec<_> = rel.components().collect();
    for c in comps
        .iter()
        .take(comps.len().saturating_sub(1))
        .copied()
        .chain(std::iter::once(std::path::Component::CurDir))
    {
        let avail = std::fs::read_to_string(cur.join("cgroup.controllers")).unwrap_or_default();
        let on = std::fs::read_to_string(cur.join("cgroup.subtree_control")).unwrap_or_default();
        let want: Vec<String> = avail
            .split_whitespace()
            .filter(|c| !on.split_whitespace().any(|o| o == *c))
            .map(|c| format!("+{c}"))
            .collect();
        if !want.is_empty() {
            write_or_record(
                &cur.join("cgroup.subtree_control"),
                &want.join(" "),
                "(controllers enabled down to the container's parent)",
            )
            .ctx("enable cgroup v2 controllers")?;
        }
        if matches!(c, std::path::Component::CurDir) {
            break;
        }
        cur.push(c);
    }
    Ok(())
}

/// cgroup v2's cpu.idle and cpu.weight writes (file, value, field), in
/// order. The kernel refuses (EINVAL) any weight for an idle group, which
/// has a fixed minimum weight of its own. So cpu.idle goes first, as runc
/// 1.5 writes it, and a group leaving idle (`idle: 0`) then takes its
/// weight; with `idle: 1` the weight is left out, as runc's systemd driver
/// leaves it out, or shares with idle would fail at create and at every
/// update (which applies the saved shares again).
fn v2_idle_and_weight(c: &Cpu) -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    if let Some(i) = c.idle {
        out.push(("cpu.idle", i.to_string(), "cpu.idle"));
    }
    if let Some(s) = c.shares.filter(|s| *s != 0 && c.idle != Some(1)) {
        out.push(("cpu.weight", shares_to_weight(s).to_string(), "cpu.shares"));
    }
    out
}

fn apply_v2(l: &Limits, d: &CgroupDir, how: Apply) -> Result<()> {
    if !how.update {
        enable_controllers(d)?;
    }
    let p = d.path();
    let p = p.as_path();
    if let Some(v) = l.pids.as_ref().and_then(Pids::max) {
        put(p, "pids.max", &v, "pids.limit")?;
    }
    if let Some(m) = &l.memory {
        check_usage(m, p, "memory.current", how)?;
        let swap = v2_swap(m)?;
        let mut swap_str = num_to_str(swap);
        if swap_str.is_none() && swap == 0 && m.swap.unwrap_or(0) > 0 {
            swap_str = Some("0".into());
        }
        if let Some(s) = swap_str {
            match put(p, "memory.swap.max", &s, "memory.swap") {
                Err(e) if e.errno() == Some(libc::ENOENT) && (s == "max" || s == "0") => {}
                r => r?,
            }
        }
        if let Some(v) = num_to_str(m.limit.unwrap_or(0)) {
            put(p, "memory.max", &v, "memory.limit")?;
        }
        if let Some(v) = num_to_str(m.reservation.unwrap_or(0)) {
            put(p, "memory.low", &v, "memory.reservation")?;
        }
    }
    if let Some(b) = &l.block_io {
        let bfq = has(p, "io.bfq.weight");
        if let Some(w) = b.weight.filter(|w| *w != 0) {
            if bfq {
                put(p, "io.bfq.weight", &w.to_string(), "blockIO.weight")?;
            } else {
                let v = blkio_to_io_weight(w as u64).to_string();
                put(p, "io.weight", &v, "blockIO.weight")?;
            }
        }
        if bfq {
            for (i, wd) in b.weight_device.iter().enumerate() {
                if let Some(w) = wd.weight.filter(|w| *w != 0) {
                    let v = format!("{}:{} {w}", wd.major, wd.minor);
                    put(
                        p,
                        "io.bfq.weight",
                        &v,
                        &format!("blockIO.weightDevice[{i}]"),
                    )?;
                }
            }
        }
        let keys = ["rbps", "wbps", "riops", "wiops"];
        for ((n, list), key) in b.throttles().into_iter().zip(keys) {
            for (i, t) in list.iter().enumerate() {
                let v = format!("{}:{} {key}={}", t.major, t.minor, t.rate);
                put(p, "io.max", &v, &format!("blockIO.{n}[{i}]"))?;
            }
        }
    }
    if let Some(c) = &l.cpu {
        for (file, v, f) in v2_idle_and_weight(c) {
            put(p, file, &v, f)?;
        }
        let quota = c.quota.unwrap_or(0);
        let period = c.period.unwrap_or(0);
        let mut burst = None;
        if let Some(b) = c.burst {
            match put(p, "cpu.max.burst", &b.to_string(), "cpu.burst") {
                Ok(()) => {}
                Err(e) if e.errno() == Some(libc::EINVAL) && quota != 0 => burst = Some(b),
                Err(e) => return Err(e),
            }
        }
        if quota != 0 || period != 0 {
            let mut v = if quota > 0 {
                quota.to_string()
            } else {
                "max".into()
            };
            if period != 0 {
                v.push_str(&format!(" {period}"));
            }
            put(p, "cpu.max", &v, "cpu.quota")?;
            if let Some(b) = burst {
                put(p, "cpu.max.burst", &b.to_string(), "cpu.burst")?;
            }
        }
    }
    if how.devices {
        let rules = effective_device_rules(&l.devices);
        if !allows_all(&rules) && recording() {
            let v = format!("eBPF device program of {} rule(s)", rules.len());
            write_or_record(&d.path(), &v, &format!("{F}.devices"))?;
        } else if !allows_all(&rules) {
            super::devices::attach(d, &rules).ctx(&format!("{F}.devices"))?;
        }
    }
    if let Some(c) = &l.cpu {
        if let Some(v) = c.cpus.as_deref().filter(|v| !v.is_empty()) {
            put(p, "cpuset.cpus", v, "cpu.cpus")?;
        }
        if let Some(v) = c.mems.as_deref().filter(|v| !v.is_empty()) {
            put(p, "cpuset.mems", v, "cpu.mems")?;
        }
    }
    for (i, h) in l.hugepage_limits.iter().enumerate() {
        let f = format!("hugepageLimits[{i}]");
        put(
            p,
            &format!("hugetlb.{}.max", h.page_size),
            &h.limit.to_string(),
            &f,
        )?;
        let rsvd = format!("hugetlb.{}.rsvd.max", h.page_size);
        if has(p, &rsvd) {
            put(p, &rsvd, &h.limit.to_string(), &f)?;
        }
    }
    if !l.rdma.is_empty() {
        rdma(l, p, "rdma.max")?;
    }
    for (k, v) in &l.unified {
        let file = p.join(k);
        if !has(p, k) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{F}.unified[{k:?}]: no such cgroup file {}", file.display()),
            ));
        }
        put(p, k, v, &format!("unified[{k:?}]"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_like_runc() {
        // runc 1.5.1's values (cpu.weight and systemd's CPUWeight).
        for (shares, weight) in [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (100, 17),
            (512, 59),
            (1024, 100),
            (2048, 174),
            (4096, 303),
            (100000, 4340),
            (262143, 10000),
            (262144, 10000),
            (1 << 20, 10000),
        ] {
            assert_eq!(shares_to_weight(shares), weight, "shares {shares}");
        }
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10000);
        let m = Memory {
            limit: Some(100),
            swap: Some(300),
            ..Default::default()
        };
        assert_eq!(v2_swap(&m).unwrap(), 200);
    }

    #[test]
    fn v2_idle_goes_before_weight_and_idle_drops_it() {
        let cpu = |shares: Option<u64>, idle: Option<i64>| Cpu {
            shares,
            idle,
            ..Default::default()
        };
        let files = |c: Cpu| -> Vec<(&str, String)> {
            v2_idle_and_weight(&c)
                .into_iter()
                .map(|(f, v, _)| (f, v))
                .collect()
        };
        let w = |v: &str| ("cpu.weight", v.to_string());
        let i = |v: &str| ("cpu.idle", v.to_string());
        assert_eq!(files(cpu(Some(1024), None)), [w("39")]);
        assert_eq!(files(cpu(None, Some(1))), [i("1")]);
        assert_eq!(files(cpu(Some(2048), Some(0))), [i("0"), w("79")]);
        assert_eq!(files(cpu(Some(1024), Some(1))), [i("1")]);
        assert_eq!(files(cpu(Some(0), Some(0))), [i("0")]);
    }

    #[test]
    fn rules_and_validation() {
        let r: Resources = serde_json::from_value(serde_json::json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": -5}
        }))
        .unwrap();
        let e = Limits::parse(Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.memory.limit"), "{e}");
        let r: Resources = serde_json::from_value(serde_json::json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "cpu": {"shares": -1}
        }))
        .unwrap();
        let e = Limits::parse(Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.cpu"), "{e}");
        let l = Limits {
            devices: vec![DeviceRule {
                allow: false,
                access: Some("rwm".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let rules = effective_device_rules(&l.devices);
        assert!(!allows_all(&rules));
        assert_eq!(device_rule_string(&rules[0]), "a *:* rwm");
        assert_eq!(device_rule_string(&rules[1]), "c *:* m");
        assert!(allows_all(&[]));
        assert!(page_size_ok("2MB") && !page_size_ok("2M") && !page_size_ok("MB"));
    }
}
