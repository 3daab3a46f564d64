//! Unit properties as runc 1.5's systemd driver sends them: the fixed set
//! of a new unit (Apply), and `linux.resources` converted (Set). Values are
//! D-Bus variants of pivot's own, so that they can be built and checked
//! without a bus; `dbus.rs` turns them into zbus values.

use super::path::Unit;
use crate::cgroups::devices;
use crate::cgroups::resources::{self, Limits};
use crate::error::{Error, Result};
use crate::spec::types::DeviceRule;

/// A D-Bus value: the basic types, arrays (with their element signature,
/// so that empty ones are typed) and structs.
#[derive(Debug, Clone, PartialEq)]
pub enum Variant {
    Bool(bool),
    Byte(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Double(f64),
    Str(String),
    ObjectPath(String),
    Signature(String),
    Array(String, Vec<Variant>),
    Struct(Vec<Variant>),
}

impl Variant {
    /// The D-Bus signature of the value.
    pub fn signature(&self) -> String {
        match self {
            Variant::Bool(_) => "b".into(),
            Variant::Byte(_) => "y".into(),
            Variant::I16(_) => "n".into(),
            Variant::U16(_) => "q".into(),
            Variant::I32(_) => "i".into(),
            Variant::U32(_) => "u".into(),
            Variant::I64(_) => "x".into(),
            Variant::U64(_) => "t".into(),
            Variant::Double(_) => "d".into(),
            Variant::Str(_) => "s".into(),
            Variant::ObjectPath(_) => "o".into(),
            Variant::Signature(_) => "g".into(),
            Variant::Array(elem, _) => format!("a{elem}"),
            Variant::Struct(fields) => {
                let inner: String = fields.iter().map(Variant::signature).collect();
                format!("({inner})")
            }
        }
    }
}

/// One unit property.
pub type Property = (String, Variant);

fn prop(name: &str, v: Variant) -> Property {
    (name.to_string(), v)
}

/// The config.json field a resource property comes from, for an error
/// of systemd's about it.
pub fn field_of(name: &str) -> &'static str {
    match name {
        "AllowedCPUs" => "linux.resources.cpu.cpus",
        "AllowedMemoryNodes" => "linux.resources.cpu.mems",
        "MemoryMax" | "MemoryLimit" => "linux.resources.memory.limit",
        "MemoryLow" => "linux.resources.memory.reservation",
        "MemorySwapMax" => "linux.resources.memory.swap",
        "CPUWeight" | "CPUShares" => "linux.resources.cpu.shares",
        "CPUQuotaPerSecUSec" => "linux.resources.cpu.quota",
        "CPUQuotaPeriodUSec" => "linux.resources.cpu.period",
        "IOWeight" | "BlockIOWeight" => "linux.resources.blockIO.weight",
        "TasksMax" => "linux.resources.pids.limit",
        "DevicePolicy" | "DeviceAllow" => "linux.resources.devices",
        _ => "linux.resources.unified",
    }
}

/// systemd's USEC_INFINITY (and "no limit" for every u64 property).
const INFINITY: u64 = u64::MAX;

/// runc's defCPUQuotaPeriod.
const DEFAULT_PERIOD: u64 = 100_000;

/// The properties of a new unit (runc's Apply): description, slice (a
/// slice unit wants its parent instead), delegation, the init's pid,
/// accounting on and no default dependencies, then the annotations'.
pub fn unit(u: &Unit, container: &str, pid: Option<i32>, v2: bool) -> Vec<Property> {
    let mut p = vec![prop(
        "Description",
        Variant::Str(format!("pivot container {container}")),
    )];
    if u.is_slice() {
        p.push(prop(
            "Wants",
            Variant::Array("s".into(), vec![Variant::Str(u.slice.clone())]),
        ));
    } else {
        p.push(prop("Slice", Variant::Str(u.slice.clone())));
        p.push(prop("Delegate", Variant::Bool(true)));
    }
    if let Some(pid) = pid {
        p.push(prop(
            "PIDs",
            Variant::Array("u".into(), vec![Variant::U32(pid as u32)]),
        ));
    }
    p.push(prop("MemoryAccounting", Variant::Bool(true)));
    p.push(prop("CPUAccounting", Variant::Bool(true)));
    if v2 {
        p.push(prop("IOAccounting", Variant::Bool(true)));
    } else {
        p.push(prop("BlockIOAccounting", Variant::Bool(true)));
    }
    p.push(prop("TasksAccounting", Variant::Bool(true)));
    p.push(prop("DefaultDependencies", Variant::Bool(false)));
    p
}

/// memory.oom.group as runc turns it into OOMPolicy at unit start (v2).
pub fn oom_policy(l: &Limits) -> Result<Option<Property>> {
    let Some(v) = l.unified.get("memory.oom.group") else {
        return Ok(None);
    };
    let n: u64 = v.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "linux.resources.unified[\"memory.oom.group\"]: {v:?} is not a number"
        ))
    })?;
    Ok(match n {
        0 => Some(prop("OOMPolicy", Variant::Str("continue".into()))),
        1 => Some(prop("OOMPolicy", Variant::Str("kill".into()))),
        _ => None,
    })
}

/// runc's RangeToBits: a cpuset list ("0-3,8") as the byte array systemd
/// takes for AllowedCPUs/AllowedMemoryNodes, least significant byte first.
pub fn range_to_bits(list: &str) -> std::result::Result<Vec<u8>, String> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut set = |i: u32| {
        let (byte, bit) = ((i / 8) as usize, i % 8);
        if bytes.len() <= byte {
            bytes.resize(byte + 1, 0);
        }
        bytes[byte] |= 1 << bit;
    };
    for r in list.split(',') {
        let r = r.trim();
        if r.is_empty() {
            continue;
        }
        let num = |s: &str| s.parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
        match r.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("invalid range: {r}"));
                }
                (a..=b).for_each(&mut set);
            }
            None => set(num(r)?),
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err("empty value".into());
    }
    Ok(bytes)
}

fn bytes(b: Vec<u8>) -> Variant {
    Variant::Array("y".into(), b.into_iter().map(Variant::Byte).collect())
}

/// runc's addCPUQuota: CPUQuotaPeriodUSec (systemd 242+) and
/// CPUQuotaPerSecUSec, rounded up to whole percent as systemd keeps it;
/// returns the quota the cgroup file then gets (rounded the same way).
fn cpu_quota(p: &mut Vec<Property>, quota: i64, period: u64, sd: u32) -> i64 {
    if period != 0 && sd >= 242 {
        p.push(prop("CPUQuotaPeriodUSec", Variant::U64(period)));
    }
    let mut quota = quota;
    if quota != 0 || period != 0 {
        let mut per_sec = INFINITY;
        if quota > 0 {
            let period = if period == 0 { DEFAULT_PERIOD } else { period };
            per_sec = (quota as u64).wrapping_mul(1_000_000) / period;
            if !per_sec.is_multiple_of(10_000) {
                per_sec = (per_sec / 10_000 + 1) * 10_000;
                quota = (per_sec as i64).wrapping_mul(period as i64) / 1_000_000;
            }
        }
        p.push(prop("CPUQuotaPerSecUSec", Variant::U64(per_sec)));
    }
    quota
}

/// runc's addCpuset (systemd 244+).
fn cpuset(p: &mut Vec<Property>, cpus: &str, mems: &str, sd: u32) -> Result<()> {
    if sd < 244 {
        return Ok(());
    }
    for (list, name, field) in [
        (cpus, "AllowedCPUs", "cpu.cpus"),
        (mems, "AllowedMemoryNodes", "cpu.mems"),
    ] {
        if list.is_empty() {
            continue;
        }
        let b = range_to_bits(list)
            .map_err(|e| Error::invalid(format!("linux.resources.{field}: {list:?}: {e}")))?;
        p.push(prop(name, bytes(b)));
    }
    Ok(())
}

fn tasks_max(l: &Limits) -> Option<u64> {
    // As runc 1.5 (and the cgroupfs driver): 0 is 1, below 0 no limit.
    l.pids.as_ref()?.limit.map(|n| match n {
        n if n > 0 => n as u64,
        0 => 1,
        _ => INFINITY,
    })
}

/// The resources as unit properties (runc's genV2ResourcesProperties or
/// genV1ResourcesProperties) for systemd version `sd`, and the limits the
/// cgroup files then get (the CPU quota rounded as systemd rounds it).
pub fn resources(l: &Limits, v2: bool, sd: u32) -> Result<(Vec<Property>, Limits)> {
    let mut out = l.clone();
    let mut p = devices(&devices::effective_device_rules(&l.devices), sd);
    let u = |v: i64| v as u64;
    if let Some(m) = &l.memory {
        let limit = m.limit.unwrap_or(0);
        if limit != 0 {
            p.push(prop(
                if v2 { "MemoryMax" } else { "MemoryLimit" },
                Variant::U64(u(limit)),
            ));
        }
        if v2 {
            if let Some(r) = m.reservation.filter(|r| *r != 0) {
                p.push(prop("MemoryLow", Variant::U64(u(r))));
            }
            let swap = resources::v2_swap(m)?;
            if swap != 0 {
                p.push(prop("MemorySwapMax", Variant::U64(u(swap))));
            }
        }
    }
    let cpu = l.cpu.clone().unwrap_or_default();
    let idle = v2 && cpu.idle == Some(1) && sd >= 252;
    if idle {
        p.push(prop("CPUWeight", Variant::U64(0)));
    }
    if let Some(s) = cpu.shares.filter(|s| *s != 0) {
        if !v2 {
            p.push(prop("CPUShares", Variant::U64(s)));
        } else if !idle {
            p.push(prop(
                "CPUWeight",
                Variant::U64(resources::shares_to_weight(s)),
            ));
        }
    }
    let quota = cpu_quota(&mut p, cpu.quota.unwrap_or(0), cpu.period.unwrap_or(0), sd);
    if let Some(c) = out.cpu.as_mut() {
        if c.quota.is_some() {
            c.quota = Some(quota);
        }
    }
    if !v2 {
        if let Some(w) = l
            .block_io
            .as_ref()
            .and_then(|b| b.weight)
            .filter(|w| *w != 0)
        {
            p.push(prop("BlockIOWeight", Variant::U64(w as u64)));
        }
    }
    if let Some(n) = tasks_max(l) {
        p.push(prop("TasksMax", Variant::U64(n)));
    }
    cpuset(
        &mut p,
        cpu.cpus.as_deref().unwrap_or(""),
        cpu.mems.as_deref().unwrap_or(""),
        sd,
    )?;
    if v2 {
        p.extend(unified(l, sd, &mut out)?);
    }
    Ok((p, out))
}

/// runc's unifiedResToSystemdProps: the unified keys systemd has a
/// property for (the files are written all the same).
fn unified(l: &Limits, sd: u32, out: &mut Limits) -> Result<Vec<Property>> {
    let mut p = Vec::new();
    let bad = |k: &str, v: &str| {
        Error::invalid(format!(
            "linux.resources.unified[{k:?}]: {v:?} is not a valid value"
        ))
    };
    let idle = l.unified.get("cpu.idle").map(|v| v.trim()) == Some("1") && sd >= 252;
    for (k, v) in &l.unified {
        let v = v.trim();
        let num = |v: &str| -> Result<u64> {
            if v == "max" {
                return Ok(INFINITY);
            }
            v.parse().map_err(|_| bad(k, v))
        };
        match k.as_str() {
            "cpu.idle" if idle => p.push(prop("CPUWeight", Variant::U64(0))),
            "cpu.weight" if !idle => {
                let n: u64 = v.parse().map_err(|_| bad(k, v))?;
                p.push(prop("CPUWeight", Variant::U64(n)));
            }
            "cpu.max" => {
                let f: Vec<&str> = v.split_whitespace().collect();
                if f.is_empty() || f.len() > 2 {
                    return Err(bad(k, v));
                }
                let quota = match f[0] {
                    "max" => 0,
                    q => q.parse::<i64>().map_err(|_| bad(k, v))?,
                };
                let period = match f.get(1) {
                    Some(s) => s.parse::<u64>().map_err(|_| bad(k, v))?,
                    None => DEFAULT_PERIOD,
                };
                let q = cpu_quota(&mut p, quota, period, sd);
                if q != quota {
                    out.unified.insert(k.clone(), format!("{q} {period}"));
                }
            }
            "cpuset.cpus" | "cpuset.mems" if sd >= 244 => {
                let b = range_to_bits(v).map_err(|_| bad(k, v))?;
                let name = if k == "cpuset.cpus" {
                    "AllowedCPUs"
                } else {
                    "AllowedMemoryNodes"
                };
                p.push(prop(name, bytes(b)));
            }
            "memory.high" | "memory.low" | "memory.min" | "memory.max" | "memory.swap.max" => {
                let name = match k.as_str() {
                    "memory.high" => "MemoryHigh",
                    "memory.low" => "MemoryLow",
                    "memory.min" => "MemoryMin",
                    "memory.max" => "MemoryMax",
                    _ => "MemorySwapMax",
                };
                p.push(prop(name, Variant::U64(num(v)?)));
            }
            "pids.max" => p.push(prop("TasksMax", Variant::U64(num(v)?))),
            _ => {}
        }
    }
    Ok(p)
}

/// What runc's devices emulator leaves of a rule list: the default
/// (allow or deny everything) and the exceptions to it, in order.
#[derive(Debug, Default, PartialEq)]
struct Emulated {
    allow_default: bool,
    /// (type 'b' or 'c', major, minor (-1 for `*`), access "rwm" subset).
    rules: Vec<(char, i64, i64, String)>,
}

fn norm_access(a: &str) -> String {
    "rwm".chars().filter(|c| a.contains(*c)).collect()
}

fn emulate(rules: &[DeviceRule]) -> Emulated {
    let mut e = Emulated::default();
    for r in rules {
        if devices::is_reset(r) {
            e = Emulated {
                allow_default: r.allow,
                rules: Vec::new(),
            };
            continue;
        }
        let kinds: &[char] = match r.kind.as_deref().unwrap_or("a") {
            "b" => &['b'],
            "c" => &['c'],
            _ => &['c', 'b'],
        };
        let major = r.major.filter(|m| *m >= 0).unwrap_or(-1);
        let minor = r.minor.filter(|m| *m >= 0).unwrap_or(-1);
        let access = norm_access(r.access.as_deref().unwrap_or("rwm"));
        for &k in kinds {
            let at = e
                .rules
                .iter()
                .position(|(rk, ma, mi, _)| (*rk, *ma, *mi) == (k, major, minor));
            if r.allow != e.allow_default {
                // An exception to the default: add (or widen) it.
                match at {
                    Some(i) => {
                        let merged = format!("{}{access}", e.rules[i].3);
                        e.rules[i].3 = norm_access(&merged);
                    }
                    None => e.rules.push((k, major, minor, access.clone())),
                }
            } else if let Some(i) = at {
                // Back to the default for these accesses: narrow it.
                let left: String = e.rules[i]
                    .3
                    .chars()
                    .filter(|c| !access.contains(*c))
                    .collect();
                if left.is_empty() {
                    e.rules.remove(i);
                } else {
                    e.rules[i].3 = left;
                }
            }
        }
    }
    e
}

fn allow_list(entries: Vec<(String, String)>) -> Variant {
    Variant::Array(
        "(ss)".into(),
        entries
            .into_iter()
            .map(|(p, a)| Variant::Struct(vec![Variant::Str(p), Variant::Str(a)]))
            .collect(),
    )
}

/// runc's systemd device properties: DevicePolicy=strict and a DeviceAllow
/// list for a deny-by-default rule set; an allow-all set is
/// DevicePolicy=auto with no list; systemd cannot express a deny list,
/// which gets strict with no list (the cgroup's own rules follow).
pub fn devices(rules: &[DeviceRule], sd: u32) -> Vec<Property> {
    let e = emulate(rules);
    let empty = || allow_list(Vec::new());
    if e.allow_default {
        if e.rules.is_empty() {
            return vec![
                prop("DevicePolicy", Variant::Str("auto".into())),
                prop("DeviceAllow", empty()),
            ];
        }
        return vec![
            prop("DevicePolicy", Variant::Str("strict".into())),
            prop("DeviceAllow", empty()),
        ];
    }
    let mut list = Vec::new();
    for (kind, major, minor, access) in e.rules {
        let group = if kind == 'b' { "block-" } else { "char-" };
        let path = match (major, minor) {
            // systemd has no wildcard-major rules.
            (-1, m) if m >= 0 => continue,
            (-1, _) => format!("{group}*"),
            (ma, -1) if sd >= 240 => format!("{group}{ma}"),
            (ma, -1) => match device_group(kind, ma) {
                Some(g) => format!("{group}{g}"),
                None => continue,
            },
            (ma, mi) => {
                let dir = if kind == 'b' { "block" } else { "char" };
                format!("/dev/{dir}/{ma}:{mi}")
            }
        };
        list.push((path, access));
    }
    vec![
        prop("DevicePolicy", Variant::Str("strict".into())),
        prop("DeviceAllow", empty()),
        prop("DeviceAllow", allow_list(list)),
    ]
}

/// The /proc/devices group name of a major number (systemd before 240
/// knows wildcard-minor rules only by it).
fn device_group(kind: char, major: i64) -> Option<String> {
    let text = std::fs::read_to_string("/proc/devices").ok()?;
    let mut cur = ' ';
    for line in text.lines().map(str::trim) {
        match line {
            "Character devices:" => cur = 'c',
            "Block devices:" => cur = 'b',
            l if cur == kind => {
                if let Some((n, name)) = l.split_once(' ') {
                    if n.parse::<i64>().ok() == Some(major) {
                        return Some(name.trim().to_string());
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// systemd's version number from the manager's Version property
/// ("v245.4-1.fc32", "252", "255.4-1") as runc's systemdVersionAtoi.
pub fn version_number(v: &str) -> Option<u32> {
    let v = v.trim_start_matches(['"', 'v']);
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    v[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::resources::{Cpu, Memory, Pids};

    fn find<'a>(p: &'a [Property], name: &str) -> Option<&'a Variant> {
        p.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn unit_properties() {
        let u = super::super::path::unit(Some("system.slice:cri:abc"), "abc", false, "").unwrap();
        let p = unit(&u, "abc", Some(42), true);
        let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Description",
                "Slice",
                "Delegate",
                "PIDs",
                "MemoryAccounting",
                "CPUAccounting",
                "IOAccounting",
                "TasksAccounting",
                "DefaultDependencies"
            ]
        );
        assert_eq!(
            find(&p, "Slice"),
            Some(&Variant::Str("system.slice".into()))
        );
        assert_eq!(find(&p, "PIDs").unwrap().signature(), "au");
        assert_eq!(find(&p, "DefaultDependencies"), Some(&Variant::Bool(false)));
        let p = unit(&u, "abc", Some(42), false);
        assert!(find(&p, "BlockIOAccounting").is_some());
        assert!(find(&p, "IOAccounting").is_none());
        let s = super::super::path::unit(Some("a.slice:x:a-b.slice"), "i", false, "").unwrap();
        let p = unit(&s, "i", None, true);
        assert_eq!(find(&p, "Wants").unwrap().signature(), "as");
        assert!(find(&p, "Delegate").is_none());
    }

    #[test]
    fn bits_like_runc() {
        assert_eq!(range_to_bits("0").unwrap(), [1]);
        assert_eq!(range_to_bits("0-3").unwrap(), [0x0f]);
        assert_eq!(range_to_bits("1,3").unwrap(), [0x0a]);
        assert_eq!(range_to_bits("8").unwrap(), [0, 1]);
        assert_eq!(range_to_bits("0-3,8-9, 15 ,").unwrap(), [0x0f, 0x83]);
        assert_eq!(range_to_bits("2-1").unwrap_err(), "invalid range: 2-1");
        assert!(range_to_bits("").is_err());
        assert!(range_to_bits("x").is_err());
    }

    #[test]
    fn quota_like_runc() {
        let mut p = Vec::new();
        // 1.5 CPUs: exact, no rounding.
        assert_eq!(cpu_quota(&mut p, 150_000, 100_000, 255), 150_000);
        assert_eq!(
            find(&p, "CPUQuotaPerSecUSec"),
            Some(&Variant::U64(1_500_000))
        );
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), Some(&Variant::U64(100_000)));
        // 0.1234 CPU: rounded up to 13%, and the file gets the same.
        let mut p = Vec::new();
        assert_eq!(cpu_quota(&mut p, 12_340, 100_000, 255), 13_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Variant::U64(130_000)));
        // No period: the default, and no period property.
        let mut p = Vec::new();
        assert_eq!(cpu_quota(&mut p, 50_000, 0, 255), 50_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Variant::U64(500_000)));
        assert!(find(&p, "CPUQuotaPeriodUSec").is_none());
        // Unlimited quota with a period; old systemd gets no period.
        let mut p = Vec::new();
        cpu_quota(&mut p, -1, 50_000, 241);
        assert_eq!(
            find(&p, "CPUQuotaPerSecUSec"),
            Some(&Variant::U64(u64::MAX))
        );
        assert!(find(&p, "CPUQuotaPeriodUSec").is_none());
        let mut p = Vec::new();
        cpu_quota(&mut p, 0, 0, 255);
        assert!(p.is_empty());
    }

    #[test]
    fn resources_v2_and_v1() {
        let l = Limits {
            memory: Some(Memory {
                limit: Some(1 << 30),
                reservation: Some(1 << 20),
                swap: Some(2 << 30),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(12_340),
                period: Some(100_000),
                cpus: Some("0-1".into()),
                mems: Some("0".into()),
                ..Default::default()
            }),
            pids: Some(Pids { limit: Some(0) }),
            ..Default::default()
        };
        let (p, out) = resources(&l, true, 255).unwrap();
        assert_eq!(find(&p, "MemoryMax"), Some(&Variant::U64(1 << 30)));
        assert_eq!(find(&p, "MemoryLow"), Some(&Variant::U64(1 << 20)));
        assert_eq!(find(&p, "MemorySwapMax"), Some(&Variant::U64(1 << 30)));
        assert_eq!(
            find(&p, "CPUWeight"),
            Some(&Variant::U64(resources::shares_to_weight(1024)))
        );
        assert_eq!(find(&p, "TasksMax"), Some(&Variant::U64(1)));
        assert_eq!(find(&p, "AllowedCPUs"), Some(&bytes(vec![3])));
        assert_eq!(find(&p, "AllowedMemoryNodes"), Some(&bytes(vec![1])));
        // No spec rules: runc's defaults on a deny-all base.
        assert_eq!(
            find(&p, "DevicePolicy"),
            Some(&Variant::Str("strict".into()))
        );
        assert_eq!(out.cpu.unwrap().quota, Some(13_000));
        let (p, _) = resources(&l, false, 255).unwrap();
        assert_eq!(find(&p, "MemoryLimit"), Some(&Variant::U64(1 << 30)));
        assert!(find(&p, "MemoryMax").is_none());
        assert_eq!(find(&p, "CPUShares"), Some(&Variant::U64(1024)));
        // -1: no limit.
        let l = Limits {
            memory: Some(Memory {
                limit: Some(-1),
                ..Default::default()
            }),
            pids: Some(Pids { limit: Some(-1) }),
            ..Default::default()
        };
        let (p, _) = resources(&l, true, 255).unwrap();
        assert_eq!(find(&p, "MemoryMax"), Some(&Variant::U64(u64::MAX)));
        assert_eq!(find(&p, "MemorySwapMax"), Some(&Variant::U64(u64::MAX)));
        assert_eq!(find(&p, "TasksMax"), Some(&Variant::U64(u64::MAX)));
        // Idle (systemd 252+) is CPUWeight 0 and drops the shares' weight.
        let l = Limits {
            cpu: Some(Cpu {
                shares: Some(1024),
                idle: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (p, _) = resources(&l, true, 252).unwrap();
        let w: Vec<_> = p.iter().filter(|(n, _)| n == "CPUWeight").collect();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].1, Variant::U64(0));
    }

    #[test]
    fn device_properties_like_runc() {
        let mut rules = vec![DeviceRule::new(false, "a", -1, -1, "rwm")];
        rules.extend(devices::default_device_rules());
        rules.push(DeviceRule::new(true, "c", 10, 200, "rw"));
        rules.push(DeviceRule::new(true, "b", -1, 5, "r"));
        let p = devices(&rules, 255);
        assert_eq!(p[0], prop("DevicePolicy", Variant::Str("strict".into())));
        let Variant::Array(sig, list) = &p[2].1 else {
            panic!("{p:?}")
        };
        assert_eq!(sig, "(ss)");
        let list: Vec<(String, String)> = list
            .iter()
            .map(|v| match v {
                Variant::Struct(f) => match (&f[0], &f[1]) {
                    (Variant::Str(a), Variant::Str(b)) => (a.clone(), b.clone()),
                    _ => panic!(),
                },
                _ => panic!(),
            })
            .collect();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            list,
            [
                s("char-*", "m"),
                s("block-*", "m"),
                s("/dev/char/1:3", "rwm"),
                s("/dev/char/1:8", "rwm"),
                s("/dev/char/1:7", "rwm"),
                s("/dev/char/5:0", "rwm"),
                s("/dev/char/1:5", "rwm"),
                s("/dev/char/1:9", "rwm"),
                s("char-136", "rwm"),
                s("/dev/char/5:2", "rwm"),
                s("/dev/char/10:200", "rw"),
            ]
        );
        // A later deny takes the device back out.
        let mut r2 = rules.clone();
        r2.push(DeviceRule::new(false, "c", 10, 200, "rwm"));
        let p2 = devices(&r2, 255);
        assert!(!format!("{p2:?}").contains("10:200"));
        // Allow-all: auto, no list.
        let p = devices(&[DeviceRule::new(true, "a", -1, -1, "rwm")], 255);
        assert_eq!(p[0], prop("DevicePolicy", Variant::Str("auto".into())));
        // A deny list systemd cannot express: strict, empty.
        let p = devices(
            &[
                DeviceRule::new(true, "a", -1, -1, "rwm"),
                DeviceRule::new(false, "c", 1, 9, "rwm"),
            ],
            255,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0], prop("DevicePolicy", Variant::Str("strict".into())));
    }

    #[test]
    fn versions() {
        for (s, v) in [("v245.4-1.fc32", 245), ("245", 245), ("\"252.30-1\"", 252)] {
            assert_eq!(version_number(s), Some(v), "{s}");
        }
        assert_eq!(version_number("x"), None);
    }
}
