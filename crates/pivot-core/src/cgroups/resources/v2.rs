//! linux.resources written into the cgroup v2 dir, as runc's fs2 driver
//! writes them, with runc's conversions of v1 values.

use super::v1::{check_usage, rdma};
use super::validate::{bad, Limits, F};
use super::write::{has, put, recording, write_or_record, Apply};
use crate::cgroups::devices::{self, allows_all, effective_device_rules};
use crate::cgroups::CgroupDir;
use crate::error::{Context, Error, ErrorKind, Result};
use crate::spec::resources::{BlockIo, Cpu, Memory, Pids};
use crate::sys;
use std::path::Path;

/// Write the limits into the container's cgroup v2 dir, in runc's order.
pub(super) fn apply(l: &Limits, d: &CgroupDir, how: Apply) -> Result<()> {
    if !how.update {
        enable_controllers(d)?;
    }
    let p = d.path();
    let p = p.as_path();
    if let Some(v) = l.pids.as_ref().and_then(Pids::max) {
        put(p, "pids.max", &v, "pids.limit")?;
    }
    if let Some(m) = &l.memory {
        memory(m, p, how)?;
    }
    if let Some(b) = &l.block_io {
        io(b, p)?;
    }
    if let Some(c) = &l.cpu {
        cpu(c, p)?;
    }
    if how.devices {
        devices(l, d)?;
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
    unified(l, p)
}

fn memory(m: &Memory, p: &Path, how: Apply) -> Result<()> {
    check_usage(m, p, "memory.current", how)?;
    let swap = v2_swap(m)?;
    let mut swap_str = num_to_str(swap);
    if swap_str.is_none() && swap == 0 && m.swap.unwrap_or(0) > 0 {
        swap_str = Some("0".into());
    }
    if let Some(s) = swap_str {
        match put(p, "memory.swap.max", &s, "memory.swap") {
            Err(e) if e.is_errno(sys::Errno::NOENT) && (s == "max" || s == "0") => {}
            r => r?,
        }
    }
    if let Some(v) = num_to_str(m.limit.unwrap_or(0)) {
        put(p, "memory.max", &v, "memory.limit")?;
    }
    if let Some(v) = num_to_str(m.reservation.unwrap_or(0)) {
        put(p, "memory.low", &v, "memory.reservation")?;
    }
    Ok(())
}

fn io(b: &BlockIo, p: &Path) -> Result<()> {
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
    Ok(())
}

fn cpu(c: &Cpu, p: &Path) -> Result<()> {
    for (file, v, f) in v2_idle_and_weight(c) {
        put(p, file, &v, f)?;
    }
    let quota = c.quota.unwrap_or(0);
    let period = c.period.unwrap_or(0);
    let mut burst = None;
    if let Some(b) = c.burst {
        match put(p, "cpu.max.burst", &b.to_string(), "cpu.burst") {
            Ok(()) => {}
            Err(e) if e.is_errno(sys::Errno::INVAL) && quota != 0 => burst = Some(b),
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
    Ok(())
}

fn devices(l: &Limits, d: &CgroupDir) -> Result<()> {
    let rules = effective_device_rules(&l.devices);
    if !allows_all(&rules) && recording() {
        let v = format!("eBPF device program of {} rule(s)", rules.len());
        write_or_record(&d.path(), &v, &format!("{F}.devices"))?;
    } else if !allows_all(&rules) {
        devices::attach(d, &rules).ctx(&format!("{F}.devices"))?;
    }
    Ok(())
}

fn unified(l: &Limits, p: &Path) -> Result<()> {
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
            let file = cur.join("cgroup.subtree_control");
            const FIELD: &str = "(controllers enabled down to the container's parent)";
            match write_or_record(&file, &want.join(" "), FIELD) {
                // Above the subtree the caller owns (rootless, under a
                // systemd user instance or another delegation): as runc's
                // fs2 driver, one at a time, leaving what it may not
                // enable; a limit that needs one fails at its own file.
                Err(e) if crate::cgroups::is_permission_error(&e) => {
                    for c in &want {
                        let _ = write_or_record(&file, c, FIELD);
                    }
                }
                r => r.ctx("enable cgroup v2 controllers")?,
            }
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
pub(super) fn v2_idle_and_weight(c: &Cpu) -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    if let Some(i) = c.idle {
        out.push(("cpu.idle", i.to_string(), "cpu.idle"));
    }
    if let Some(s) = c.shares.filter(|s| *s != 0 && c.idle != Some(1)) {
        out.push(("cpu.weight", shares_to_weight(s).to_string(), "cpu.shares"));
    }
    out
}
