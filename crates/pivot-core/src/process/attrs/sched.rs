//! process.scheduler (sched_setattr), process.ioPriority (ioprio_set) and
//! CPU affinity. process.execCPUAffinity is, as the runtime-spec says, not
//! applicable to the container's init: it is checked at create and applied
//! to processes `pivot exec` starts. The init's affinity is reset to every
//! CPU its cpuset allows, as runc does, so that a container does not
//! inherit the pinning of whoever ran pivot.

use super::fields::{lookup, parse_list, Obj};
use crate::error::{Context, Error, Result};
use crate::spec::types::Process;
use crate::sys::{self, SchedAttr};

const POLICIES: &[(&str, u32)] = &[
    ("SCHED_OTHER", 0),
    ("SCHED_FIFO", 1),
    ("SCHED_RR", 2),
    ("SCHED_BATCH", 3),
    ("SCHED_ISO", 4),
    ("SCHED_IDLE", 5),
    ("SCHED_DEADLINE", 6),
];

const FLAGS: &[(&str, u64)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", 0x01),
    ("SCHED_FLAG_RECLAIM", 0x02),
    ("SCHED_FLAG_DL_OVERRUN", 0x04),
    ("SCHED_FLAG_KEEP_POLICY", 0x08),
    ("SCHED_FLAG_KEEP_PARAMS", 0x10),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", 0x20),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", 0x40),
];

const IOPRIO_CLASSES: &[(&str, u32)] = &[
    ("IOPRIO_CLASS_RT", 1),
    ("IOPRIO_CLASS_BE", 2),
    ("IOPRIO_CLASS_IDLE", 3),
];

/// The kernel's NR_CPUS ceiling: CPU numbers above it cannot exist.
const MAX_CPU: usize = 8191;

/// process.scheduler, decoded, with its text for errors.
struct Scheduler {
    attr: SchedAttr,
    shown: String,
}

fn scheduler(p: &Process) -> Result<Option<Scheduler>> {
    let Some(v) = p.scheduler.as_ref().filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let o = Obj::new("process.scheduler", v)?;
    let name = o
        .str("policy")?
        .ok_or_else(|| Error::invalid("process.scheduler.policy: missing"))?;
    let policy = lookup(POLICIES, name, &o.name("policy"), "policy")?;
    let nice: i32 = o.int("nice")?.unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(Error::invalid(format!(
            "process.scheduler.nice: {nice} is outside -20..19"
        )));
    }
    let priority: u32 = o.int("priority")?.unwrap_or(0);
    let realtime = matches!(name, "SCHED_FIFO" | "SCHED_RR");
    // As runc's validator, plus the kernel's range for the two policies
    // that take one.
    if priority != 0 && !realtime {
        return Err(Error::invalid(format!(
            "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not {name}"
        )));
    }
    if realtime && !(1..=99).contains(&priority) {
        return Err(Error::invalid(format!(
            "process.scheduler.priority: {name} needs a priority of 1 to 99, not {priority}"
        )));
    }
    let mut flags = 0;
    let mut flag_names = Vec::new();
    for (i, f) in o.strs("flags")? {
        flags |= lookup(FLAGS, f, &format!("process.scheduler.flags[{i}]"), "flag")?;
        flag_names.push(f);
    }
    let runtime: u64 = o.int("runtime")?.unwrap_or(0);
    let deadline: u64 = o.int("deadline")?.unwrap_or(0);
    let period: u64 = o.int("period")?.unwrap_or(0);
    if name != "SCHED_DEADLINE" && (runtime != 0 || deadline != 0 || period != 0) {
        return Err(Error::invalid(format!(
            "process.scheduler: runtime, deadline and period are for SCHED_DEADLINE only, not {name}"
        )));
    }
    let flags_shown = if flag_names.is_empty() {
        "0".to_string()
    } else {
        flag_names.join("|")
    };
    Ok(Some(Scheduler {
        attr: SchedAttr {
            sched_policy: policy,
            sched_flags: flags,
            sched_nice: nice,
            sched_priority: priority,
            sched_runtime: runtime,
            sched_deadline: deadline,
            sched_period: period,
            ..Default::default()
        },
        shown: format!(
            "{name}, nice {nice}, priority {priority}, flags {flags_shown}, \
             runtime {runtime}, deadline {deadline}, period {period}"
        ),
    }))
}

/// process.ioPriority as (class number, class name, level).
fn io_priority(p: &Process) -> Result<Option<(u32, &str, u32)>> {
    let Some(v) = p.io_priority.as_ref().filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let o = Obj::new("process.ioPriority", v)?;
    let name = o
        .str("class")?
        .ok_or_else(|| Error::invalid("process.ioPriority.class: missing"))?;
    let class = lookup(IOPRIO_CLASSES, name, &o.name("class"), "class")?;
    // runc takes a missing priority as 0 (Go's zero value); so does pivot.
    let level: i64 = o.int("priority")?.unwrap_or(0);
    if !(0..=7).contains(&level) {
        return Err(Error::invalid(format!(
            "process.ioPriority.priority: {level} is outside 0 (highest) to 7 (lowest)"
        )));
    }
    Ok(Some((class, name, level as u32)))
}

/// process.execCPUAffinity: both lists must parse (for `pivot exec`).
fn exec_cpu_affinity(p: &Process) -> Result<()> {
    let Some(v) = p.exec_cpu_affinity.as_ref().filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let o = Obj::new("process.execCPUAffinity", v)?;
    for key in ["initial", "final"] {
        if let Some(list) = o.str(key)? {
            parse_list(list, MAX_CPU, &o.name(key))?;
        }
    }
    Ok(())
}

pub fn validate(p: &Process) -> Result<()> {
    scheduler(p)?;
    io_priority(p)?;
    exec_cpu_affinity(p)
}

/// Every CPU the kernel could have; it keeps those the cpuset allows.
fn reset_affinity() {
    let all = [u64::MAX; (MAX_CPU + 1) / 64];
    // Best effort, as runc's tryResetCPUAffinity: a failure only leaves
    // the affinity pivot was started with.
    let _ = sys::sched_setaffinity(&all, "all");
}

/// `initial` (`final_` false) or `final` of process.execCPUAffinity, for a
/// process `pivot exec` starts: the first before it joins the container's
/// cgroups, the second after. An absent or empty list changes nothing;
/// without either list, the process's affinity is reset once it is in the
/// cgroups, to every CPU the container's cpuset allows, as runc 1.2.7 and
/// later: it must not keep the pinning of whoever ran `pivot exec`.
pub fn set_exec_affinity(p: &Process, final_: bool) -> Result<()> {
    let given = |o: &Obj, key: &str| -> Result<bool> {
        Ok(o.str(key)?.is_some_and(|l| !l.trim().is_empty()))
    };
    let Some(v) = p.exec_cpu_affinity.as_ref().filter(|v| !v.is_null()) else {
        if final_ {
            reset_affinity();
        }
        return Ok(());
    };
    let o = Obj::new("process.execCPUAffinity", v)?;
    if final_ && !given(&o, "initial")? && !given(&o, "final")? {
        reset_affinity();
        return Ok(());
    }
    let key = if final_ { "final" } else { "initial" };
    match o.str(key)? {
        Some(list) if !list.trim().is_empty() => {
            let mask = parse_list(list, MAX_CPU, &o.name(key))?;
            sys::sched_setaffinity(&mask, list).with_ctx(|| o.name(key))
        }
        _ => Ok(()),
    }
}

/// The init: its affinity reset first (before the scheduler: a
/// SCHED_DEADLINE task may not change its affinity, and needs one spanning
/// its root domain to be admitted).
pub fn apply_init(p: &Process) -> Result<()> {
    reset_affinity();
    apply(p)
}

/// process.scheduler and process.ioPriority, for the init or an exec.
pub fn apply(p: &Process) -> Result<()> {
    if let Some(s) = scheduler(p)? {
        sys::sched_setattr(&s.attr, &s.shown).map_err(|e| {
            let realtime = matches!(s.attr.sched_policy, 1 | 2);
            let no_runtime = realtime && e.errno() == Some(libc::EPERM);
            e.context(if no_runtime {
                // With RT group scheduling a new cgroup has no real-time
                // runtime, and the kernel keeps real-time tasks out of it.
                "process.scheduler (a real-time policy needs real-time runtime in the container's cpu cgroup)"
            } else {
                "process.scheduler"
            })
        })?;
    }
    if let Some((class, name, level)) = io_priority(p)? {
        sys::ioprio_set(class, level, name).ctx("process.ioPriority")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(key: &str, v: serde_json::Value) -> Process {
        let mut p = Process::default();
        match key {
            "scheduler" => p.scheduler = Some(v),
            "ioPriority" => p.io_priority = Some(v),
            _ => p.exec_cpu_affinity = Some(v),
        }
        p
    }

    fn err(key: &str, v: serde_json::Value) -> String {
        validate(&with(key, v)).unwrap_err().to_string()
    }

    #[test]
    fn scheduler_decodes() {
        let p = with(
            "scheduler",
            json!({"policy": "SCHED_FIFO", "priority": 10,
                   "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_KEEP_PARAMS"]}),
        );
        let s = scheduler(&p).unwrap().unwrap();
        assert_eq!(s.attr.sched_policy, 1);
        assert_eq!(s.attr.sched_priority, 10);
        assert_eq!(s.attr.sched_flags, 0x11);
        assert!(s.shown.starts_with("SCHED_FIFO, nice 0, priority 10"));
        let p = with(
            "scheduler",
            json!({"policy": "SCHED_DEADLINE", "runtime": 1000000u64,
                   "deadline": 2000000u64, "period": 3000000u64}),
        );
        let s = scheduler(&p).unwrap().unwrap();
        assert_eq!(
            (s.attr.sched_runtime, s.attr.sched_period),
            (1000000, 3000000)
        );
    }

    #[test]
    fn scheduler_errors_name_the_field() {
        let cases = [
            (json!({"policy": "SCHED_NOPE"}), "process.scheduler.policy"),
            (json!({}), "process.scheduler.policy: missing"),
            (
                json!({"policy": "SCHED_OTHER", "nice": 20}),
                "process.scheduler.nice",
            ),
            (
                json!({"policy": "SCHED_OTHER", "nice": "x"}),
                "process.scheduler.nice",
            ),
            (
                json!({"policy": "SCHED_BATCH", "priority": 3}),
                "process.scheduler.priority",
            ),
            (json!({"policy": "SCHED_RR"}), "process.scheduler.priority"),
            (
                json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_RESET_ON_FORK", "X"]}),
                "process.scheduler.flags[1]",
            ),
            (
                json!({"policy": "SCHED_OTHER", "runtime": 5}),
                "process.scheduler: runtime",
            ),
            (
                json!("SCHED_OTHER"),
                "process.scheduler: expected an object",
            ),
        ];
        for (v, want) in cases {
            let e = err("scheduler", v.clone());
            assert!(e.starts_with(want), "{v}: {e}");
        }
    }

    #[test]
    fn io_priority_and_affinity() {
        let p = with(
            "ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
        );
        assert_eq!(io_priority(&p).unwrap(), Some((2, "IOPRIO_CLASS_BE", 6)));
        let e = err("ioPriority", json!({"class": "IOPRIO_CLASS_NONE"}));
        assert!(e.starts_with("process.ioPriority.class"), "{e}");
        let e = err(
            "ioPriority",
            json!({"class": "IOPRIO_CLASS_RT", "priority": 8}),
        );
        assert!(e.starts_with("process.ioPriority.priority"), "{e}");
        validate(&with(
            "execCPUAffinity",
            json!({"initial": "0-1,3", "final": ""}),
        ))
        .unwrap();
        let e = err("execCPUAffinity", json!({"final": "1-x"}));
        assert!(e.starts_with("process.execCPUAffinity.final"), "{e}");
    }
}
