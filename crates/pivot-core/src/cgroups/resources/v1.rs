//! linux.resources written into cgroup v1 dirs, as runc's cgroupfs
//! driver writes them.

use super::host::v1_dir;
use super::validate::{bad, Limits, F};
use super::write::{has, put, read_u64, Apply};
use crate::cgroups::devices::{device_rule_string, effective_device_rules};
use crate::cgroups::CgroupDir;
use crate::error::{Error, Result};
use crate::spec::resources::{BlockIo, Cpu, Memory, Network, Pids};
use crate::sys;
use std::path::{Path, PathBuf};

/// Write the limits into the container's cgroup v1 dirs, in runc's order.
pub(super) fn apply(l: &Limits, dirs: &[CgroupDir], how: Apply) -> Result<()> {
    if let Some(c) = &l.cpu {
        cpuset(c, dirs)?;
    }
    if how.devices && !l.devices.is_empty() {
        devices(l, dirs)?;
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
        block_io(b, &d)?;
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
        network(n, dirs)?;
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

fn cpuset(c: &Cpu, dirs: &[CgroupDir]) -> Result<()> {
    if c.cpus.is_some() || c.mems.is_some() {
        let d = dir_of(dirs, "cpuset", "cpu.cpus")?;
        if let Some(v) = c.cpus.as_deref().filter(|v| !v.is_empty()) {
            put(&d, "cpuset.cpus", v, "cpu.cpus")?;
        }
        if let Some(v) = c.mems.as_deref().filter(|v| !v.is_empty()) {
            put(&d, "cpuset.mems", v, "cpu.mems")?;
        }
    }
    Ok(())
}

/// Deny all, then the rules in order (the spec's, runc's).
fn devices(l: &Limits, dirs: &[CgroupDir]) -> Result<()> {
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
    Ok(())
}

fn block_io(b: &BlockIo, d: &Path) -> Result<()> {
    let bfq = has(d, "blkio.bfq.weight");
    let (wfile, wdfile) = if bfq {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = b.weight.filter(|w| *w != 0) {
        put(d, wfile, &w.to_string(), "blockIO.weight")?;
    }
    if let Some(w) = b.leaf_weight.filter(|w| *w != 0) {
        put(d, "blkio.leaf_weight", &w.to_string(), "blockIO.leafWeight")?;
    }
    for (i, wd) in b.weight_device.iter().enumerate() {
        let f = format!("blockIO.weightDevice[{i}]");
        if let Some(w) = wd.weight.filter(|w| *w != 0) {
            put(d, wdfile, &format!("{}:{} {w}", wd.major, wd.minor), &f)?;
        }
        if let Some(w) = wd.leaf_weight.filter(|w| *w != 0) {
            let v = format!("{}:{} {w}", wd.major, wd.minor);
            put(d, "blkio.leaf_weight_device", &v, &f)?;
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
            put(d, file, &v, &format!("blockIO.{n}[{i}]"))?;
        }
    }
    Ok(())
}

fn network(n: &Network, dirs: &[CgroupDir]) -> Result<()> {
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
    Ok(())
}

fn dir_of(dirs: &[CgroupDir], ctl: &str, f: &str) -> Result<PathBuf> {
    v1_dir(dirs, ctl).map(|d| d.path()).ok_or_else(|| {
        Error::unsupported(format!(
            "{F}.{f}: the {ctl} cgroup controller is not mounted on this host"
        ))
    })
}

pub(super) fn rdma(l: &Limits, d: &Path, file: &str) -> Result<()> {
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
            if e.is_errno(sys::Errno::BUSY) {
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

pub(super) fn check_usage(m: &Memory, d: &Path, file: &str, how: Apply) -> Result<()> {
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
    let einval = |e: &Error| e.is_errno(sys::Errno::INVAL);
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
            Err(e) if e.is_errno(sys::Errno::NOENT) => {}
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
