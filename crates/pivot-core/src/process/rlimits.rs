//! process.rlimits: names to RLIMIT_* numbers, applied with prlimit.

use crate::error::{Context, Error, Problems, Result};
use crate::spec::types::Rlimit;
use crate::sys;

const NAMES: &[(&str, u32)] = &[
    ("RLIMIT_CPU", 0),
    ("RLIMIT_FSIZE", 1),
    ("RLIMIT_DATA", 2),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_CORE", 4),
    ("RLIMIT_RSS", 5),
    ("RLIMIT_NPROC", 6),
    ("RLIMIT_NOFILE", 7),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_AS", 9),
    ("RLIMIT_LOCKS", 10),
    ("RLIMIT_SIGPENDING", 11),
    ("RLIMIT_MSGQUEUE", 12),
    ("RLIMIT_NICE", 13),
    ("RLIMIT_RTPRIO", 14),
    ("RLIMIT_RTTIME", 15),
];

pub fn resource(name: &str) -> Option<u32> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// Check every name (for the plan) without applying.
pub fn validate(limits: &[Rlimit]) -> Result<()> {
    let mut problems = Problems::new();
    check(limits, &mut problems);
    problems.into_result()
}

/// Every problem of every entry.
pub fn check(limits: &[Rlimit], problems: &mut Problems) {
    for (i, l) in limits.iter().enumerate() {
        if resource(&l.kind).is_none() {
            problems.push(Error::invalid(format!(
                "process.rlimits[{i}].type: unknown rlimit {:?}",
                l.kind
            )));
        }
        if l.soft > l.hard {
            problems.push(Error::invalid(format!(
                "process.rlimits[{i}]: soft limit {} is above hard limit {}",
                l.soft, l.hard
            )));
        }
    }
}

pub fn apply(limits: &[Rlimit]) -> Result<()> {
    validate(limits)?;
    for (i, l) in limits.iter().enumerate() {
        let r = resource(&l.kind).unwrap_or_default();
        sys::setrlimit(r, l.soft, l.hard).with_ctx(|| format!("process.rlimits[{i}]"))?;
    }
    Ok(())
}
