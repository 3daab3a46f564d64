//! process.scheduler (sched_setattr), process.ioPriority (ioprio_set) and
//! CPU affinity. process.execCPUAffinity is, as the runtime-spec says, not
//! applicable to the container's init: it is checked at create and applied
//! to processes `pivot exec` starts. The init's affinity is reset to every
//! CPU its cpuset allows, as runc does, so that a container does not
//! inherit the pinning of whoever ran pivot.

use super::fields::{lookup, parse_list};
use crate::error::{Context, Error, Problems, Result};
use crate::spec::types::Process;
use crate::spec::{attrs as spec, decode_some};
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

/// process.scheduler (None when absent), every problem of it kept.
fn scheduler(p: &Process, problems: &mut Problems) -> Option<Scheduler> {
    const F: &str = "process.scheduler";
    let s: spec::Scheduler = problems.take(decode_some(F, p.scheduler.as_ref()))??;
    let before = problems.errors().len();
    let name = s.policy.as_deref().unwrap_or_default();
    let policy = match s.policy.as_deref() {
        None => problems.take(Err(Error::invalid(format!("{F}.policy: missing")))),
        Some(n) => problems.take(lookup(POLICIES, n, &format!("{F}.policy"), "policy")),
    };
    let nice = s.nice.unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        problems.push(Error::invalid(format!(
            "{F}.nice: {nice} is outside -20..19"
        )));
    }
    let priority = s.priority.unwrap_or(0);
    let realtime = matches!(name, "SCHED_FIFO" | "SCHED_RR");
    // As runc's validator, plus the kernel's range for the two policies
    // that take one (said only of a policy pivot knows).
    if policy.is_some() && priority != 0 && !realtime {
        problems.push(Error::invalid(format!(
            "{F}.priority: only SCHED_FIFO and SCHED_RR take a priority, not {name}"
        )));
    }
    if realtime && !(1..=99).contains(&priority) {
        problems.push(Error::invalid(format!(
            "{F}.priority: {name} needs a priority of 1 to 99, not {priority}"
        )));
    }
    let flag_names = s.flags.unwrap_or_default();
    let mut flags = 0;
    for (i, f) in flag_names.iter().enumerate() {
        let field = format!("{F}.flags[{i}]");
        flags |= problems.take(lookup(FLAGS, f, &field, "flag")).unwrap_or(0);
    }
    let (runtime, deadline, period) = (
        s.runtime.unwrap_or(0),
        s.deadline.unwrap_or(0),
        s.period.unwrap_or(0),
    );
    if policy.is_some()
        && name != "SCHED_DEADLINE"
        && (runtime != 0 || deadline != 0 || period != 0)
    {
        problems.push(Error::invalid(format!(
            "{F}: runtime, deadline and period are for SCHED_DEADLINE only, not {name}"
        )));
    }
    if problems.since(before) {
        return None;
    }
    let flags_shown = if flag_names.is_empty() {
        "0".to_string()
    } else {
        flag_names.join("|")
    };
    Some(Scheduler {
        attr: SchedAttr {
            sched_policy: policy?,
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
    })
}

/// process.ioPriority as (class number, class name, level), every
/// problem of it kept.
fn io_priority(p: &Process, problems: &mut Problems) -> Option<(u32, String, u32)> {
    const F: &str = "process.ioPriority";
    let io: spec::IoPriority = problems.take(decode_some(F, p.io_priority.as_ref()))??;
    let class = match io.class.as_deref() {
        None => problems.take(Err(Error::invalid(format!("{F}.class: missing")))),
        Some(n) => problems.take(lookup(IOPRIO_CLASSES, n, &format!("{F}.class"), "class")),
    };
    // runc takes a missing priority as 0 (Go's zero value); so does pivot.
    let level = io.priority.unwrap_or(0);
    if !(0..=7).contains(&level) {
        problems.push(Error::invalid(format!(
            "{F}.priority: {level} is outside 0 (highest) to 7 (lowest)"
        )));
        return None;
    }
    Some((class?, io.class?, level as u32))
}

/// process.execCPUAffinity, decoded (None when absent).
fn affinity(p: &Process) -> Result<Option<spec::ExecCpuAffinity>> {
    decode_some("process.execCPUAffinity", p.exec_cpu_affinity.as_ref())
}

/// process.execCPUAffinity: both lists must parse (for `pivot exec`).
fn exec_cpu_affinity(p: &Process, problems: &mut Problems) {
    let Some(Some(a)) = problems.take(affinity(p)) else {
        return;
    };
    for (key, list) in [("initial", &a.initial), ("final", &a.final_)] {
        if let Some(list) = list {
            let field = format!("process.execCPUAffinity.{key}");
            problems.check(parse_list(list, MAX_CPU, &field).map(drop));
        }
    }
}

/// Check every field, each problem kept.
pub fn check(p: &Process, problems: &mut Problems) {
    scheduler(p, problems);
    io_priority(p, problems);
    exec_cpu_affinity(p, problems);
}

pub fn validate(p: &Process) -> Result<()> {
    Problems::first(|problems| check(p, problems))
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
    let given = |l: &Option<String>| l.as_deref().is_some_and(|l| !l.trim().is_empty());
    let Some(a) = affinity(p)? else {
        if final_ {
            reset_affinity();
        }
        return Ok(());
    };
    if final_ && !given(&a.initial) && !given(&a.final_) {
        reset_affinity();
        return Ok(());
    }
    let (key, list) = if final_ {
        ("final", &a.final_)
    } else {
        ("initial", &a.initial)
    };
    match list {
        Some(list) if !list.trim().is_empty() => {
            let field = format!("process.execCPUAffinity.{key}");
            let mask = parse_list(list, MAX_CPU, &field)?;
            sys::sched_setaffinity(&mask, list).ctx(&field)
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
    if let Some(s) = Problems::first(|pr| scheduler(p, pr))? {
        sys::sched_setattr(&s.attr, &s.shown).map_err(|e| {
            let realtime = matches!(s.attr.sched_policy, 1 | 2);
            let no_runtime = realtime && e.is_errno(sys::Errno::PERM);
            e.context(if no_runtime {
                // With RT group scheduling a new cgroup has no real-time
                // runtime, and the kernel keeps real-time tasks out of it.
                "process.scheduler (a real-time policy needs real-time runtime in the container's cpu cgroup)"
            } else {
                "process.scheduler"
            })
        })?;
    }
    if let Some((class, name, level)) = Problems::first(|pr| io_priority(p, pr))? {
        sys::ioprio_set(class, level, &name).ctx("process.ioPriority")?;
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
        let s = Problems::first(|pr| scheduler(&p, pr)).unwrap().unwrap();
        assert_eq!(s.attr.sched_policy, 1);
        assert_eq!(s.attr.sched_priority, 10);
        assert_eq!(s.attr.sched_flags, 0x11);
        assert!(s.shown.starts_with("SCHED_FIFO, nice 0, priority 10"));
        let p = with(
            "scheduler",
            json!({"policy": "SCHED_DEADLINE", "runtime": 1000000u64,
                   "deadline": 2000000u64, "period": 3000000u64}),
        );
        let s = Problems::first(|pr| scheduler(&p, pr)).unwrap().unwrap();
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
            (json!("SCHED_OTHER"), "process.scheduler: invalid type"),
        ];
        for (v, want) in cases {
            let e = err("scheduler", v.clone());
            assert!(e.starts_with(want), "{v}: {e}");
        }
    }

    #[test]
    fn every_problem_of_each_field_is_gathered() {
        let mut p = with(
            "scheduler",
            json!({"policy": "SCHED_RR", "nice": 40, "flags": ["X", "SCHED_FLAG_RECLAIM", "Y"]}),
        );
        p.io_priority = Some(json!({"class": "IOPRIO_CLASS_NOPE", "priority": 9}));
        p.exec_cpu_affinity = Some(json!({"initial": "x", "final": "3-1"}));
        let mut problems = Problems::new();
        check(&p, &mut problems);
        let got: Vec<String> = problems.errors().iter().map(|e| e.to_string()).collect();
        let want = [
            "process.scheduler.nice: ",
            "process.scheduler.priority: SCHED_RR needs",
            "process.scheduler.flags[0]: ",
            "process.scheduler.flags[2]: ",
            "process.ioPriority.class: ",
            "process.ioPriority.priority: ",
            "process.execCPUAffinity.initial: ",
            "process.execCPUAffinity.final: ",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{g:?} is not {w:?}: {got:#?}");
        }
        assert_eq!(validate(&p).unwrap_err().to_string(), got[0]);
    }

    #[test]
    fn io_priority_and_affinity() {
        let p = with(
            "ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
        );
        assert_eq!(
            Problems::first(|pr| io_priority(&p, pr)).unwrap(),
            Some((2, "IOPRIO_CLASS_BE".to_string(), 6))
        );
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
