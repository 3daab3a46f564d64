//! What of linux.resources this host cannot do, said before anything is
//! made: the cgroup layout, the controllers each limit needs, the huge
//! page sizes, and runc's rootless rules.

use super::v2::v2_swap;
use super::validate::{bad, Limits, F};
use crate::cgroups::devices::{self, allows_all, effective_device_rules};
use crate::cgroups::{CgroupDir, Hierarchy};
use crate::error::{Error, ErrorKind, Problems, Result};
use crate::sys;

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
        Layout::V1(dirs) => host_v1(l, dirs, problems),
        Layout::V2(d) => host_v2(l, d, problems),
        Layout::None => {
            if let Some((f, _)) = needs(l, false).first() {
                problems.push(Error::unsupported(format!(
                    "{F}.{f}: no cgroup hierarchy is mounted on this host"
                )));
            }
        }
    }
}

fn host_v1(l: &Limits, dirs: &[CgroupDir], problems: &mut Problems) {
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

fn host_v2(l: &Limits, d: &CgroupDir, problems: &mut Problems) {
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
        if c.realtime_period.is_some_and(|v| v != 0) || c.realtime_runtime.is_some_and(|v| v != 0) {
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
    hugepages_v2(l, d, problems);
    if !allows_all(&effective_device_rules(&l.devices)) && !devices::supported() {
        problems.push(Error::unsupported(format!(
            "{F}.devices: device rules on cgroup v2 need an eBPF device program, which this host refused"
        )));
    }
}

/// Each of linux.resources.hugepageLimits, on cgroup v2: a size some
/// cgroup of the hierarchy has a file for, or the kernel lists.
fn hugepages_v2(l: &Limits, d: &CgroupDir, problems: &mut Problems) {
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
}

/// runc's rootless cgroup manager: a limit whose hierarchy was done
/// without (`dropped`, see `create_rootless`) is an error, device rules
/// excepted (they are not expected to work rootless and are skipped).
/// `v2_only`: the host has the unified hierarchy alone, where runc's
/// wording differs.
pub fn check_rootless(l: &Limits, dropped: &[Hierarchy], v2_only: bool) -> Result<()> {
    let permission =
        |what: String| Error::new(ErrorKind::Os(sys::Errno::ACCESS.raw_os_error()), what);
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
