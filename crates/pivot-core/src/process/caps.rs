//! process.capabilities: the five sets by name, applied as runc does
//! (bounding set before the user switch, the rest after it).

use crate::error::{Context, Result};
use crate::spec::types::Capabilities;
use crate::sys;

pub const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The highest capability this kernel knows. Asked of the kernel itself
/// (PR_CAPBSET_READ refuses a number past it with EINVAL), not read from
/// /proc/sys/kernel/cap_last_cap: the init asks after the root switch,
/// and a container may have no /proc.
pub fn last_cap() -> u32 {
    let known =
        |cap: u32| sys::prctl3(libc::PR_CAPBSET_READ, cap as u64, 0, "PR_CAPBSET_READ").is_ok();
    // Binary search in 0..64 (a capability set is 64 bits wide).
    let (mut lo, mut hi) = (0u32, 64u32);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if known(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The five sets as bitmasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

fn set(names: &Option<Vec<String>>, last: u32) -> u64 {
    names
        .iter()
        .flatten()
        .filter_map(|n| bit(n, last))
        .fold(0, |mask, b| mask | 1 << b)
}

/// The bit of a capability name this kernel has (names are matched as
/// given, upper case, as runc matches them).
fn bit(name: &str, last: u32) -> Option<u32> {
    NAMES
        .iter()
        .position(|k| *k == name)
        .map(|b| b as u32)
        .filter(|&b| b <= last)
}

/// The names of the capabilities in `mask`, in bit order.
pub fn names(mask: u64) -> Vec<&'static str> {
    NAMES
        .iter()
        .enumerate()
        .filter(|(b, _)| mask & 1 << b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Decode the spec's sets; absent capabilities mean none at all. Names
/// that are unknown, or that this kernel does not have, are left out, as
/// runc and crun leave them out (`warnings` names them).
pub fn parse(caps: Option<&Capabilities>, last: u32) -> CapSets {
    let Some(c) = caps else {
        return CapSets::default();
    };
    CapSets {
        bounding: set(&c.bounding, last),
        effective: set(&c.effective, last),
        inheritable: set(&c.inheritable, last),
        permitted: set(&c.permitted, last),
        ambient: set(&c.ambient, last),
    }
}

/// What `parse` leaves out or the kernel will refuse, for the caller to
/// warn about (runc logs the same as warnings and goes on):
/// - names that are unknown or that this kernel lacks, in one line with
///   runc's words, each named by the first field it appears in;
/// - an ambient capability that cannot be raised because it is not in the
///   inheritable or the permitted set (PR_CAP_AMBIENT_RAISE refuses it).
pub fn warnings(caps: Option<&Capabilities>, last: u32) -> Vec<String> {
    let Some(c) = caps else {
        return Vec::new();
    };
    let sets = [
        ("bounding", &c.bounding),
        ("effective", &c.effective),
        ("inheritable", &c.inheritable),
        ("permitted", &c.permitted),
        ("ambient", &c.ambient),
    ];
    let mut unknown: Vec<(&str, String)> = Vec::new();
    for (field, names) in sets {
        for (i, n) in names.iter().flatten().enumerate() {
            if bit(n, last).is_none() && !unknown.iter().any(|(u, _)| u == n) {
                unknown.push((n, format!("process.capabilities.{field}[{i}]")));
            }
        }
    }
    let mut out = Vec::new();
    if !unknown.is_empty() {
        unknown.sort();
        let names: Vec<&str> = unknown.iter().map(|(n, _)| *n).collect();
        let fields: Vec<&str> = unknown.iter().map(|(_, f)| f.as_str()).collect();
        out.push(format!(
            "ignoring unknown or unavailable capabilities: [{}] ({})",
            names.join(" "),
            fields.join(", ")
        ));
    }
    let parsed = parse(Some(c), last);
    for (i, n) in c.ambient.iter().flatten().enumerate() {
        let Some(b) = bit(n, last) else { continue };
        let missing = [
            ("inheritable", parsed.inheritable),
            ("permitted", parsed.permitted),
        ]
        .into_iter()
        .find(|(_, set)| set & 1 << b == 0);
        if let Some((set, _)) = missing {
            out.push(format!(
                "process.capabilities.ambient[{i}]: can't raise ambient capability {n}: it is not in the {set} set"
            ));
        }
    }
    out
}

/// Drop everything outside the bounding set (needs CAP_SETPCAP, so before
/// the user switch), and keep permitted caps across setuid.
pub fn before_user_switch(c: &CapSets, last: u32) -> Result<()> {
    for cap in 0..=last {
        if c.bounding & (1 << cap) == 0 {
            sys::prctl3(libc::PR_CAPBSET_DROP, cap as u64, 0, "PR_CAPBSET_DROP").with_ctx(
                || {
                    format!(
                        "process.capabilities.bounding: drop {}",
                        NAMES[cap as usize]
                    )
                },
            )?;
        }
    }
    sys::prctl3(libc::PR_SET_KEEPCAPS, 1, 0, "PR_SET_KEEPCAPS").map(drop)
}

pub fn after_user_switch(c: &CapSets, last: u32) -> Result<()> {
    sys::prctl3(libc::PR_SET_KEEPCAPS, 0, 0, "PR_SET_KEEPCAPS")?;
    sys::capset(c.effective, c.permitted, c.inheritable).ctx("process.capabilities")?;
    for cap in 0..=last {
        if c.ambient & (1 << cap) != 0 {
            // Raising an ambient cap needs it permitted and inheritable;
            // runc ignores the ones that cannot be raised.
            let _ = sys::prctl3(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as u64,
                cap as u64,
                "PR_CAP_AMBIENT_RAISE",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_cap_is_the_kernels() {
        let from_proc: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(last_cap(), from_proc);
    }

    #[test]
    fn parses_and_ignores() {
        let c = Capabilities {
            bounding: Some(vec!["CAP_KILL".into(), "CAP_CHOWN".into()]),
            ..Default::default()
        };
        let s = parse(Some(&c), 40);
        assert_eq!(s.bounding, 1 << 5 | 1);
        assert!(warnings(Some(&c), 40).is_empty());
        // Unknown names (and lower case: runc matches as given) are left
        // out; one warning names them and the first field of each.
        let bad = Capabilities {
            bounding: Some(vec!["CAP_KILL".into(), "cap_kill".into()]),
            effective: Some(vec!["CAP_KILL".into(), "CAP_NOPE".into()]),
            permitted: Some(vec!["CAP_NOPE".into()]),
            ..Default::default()
        };
        let s = parse(Some(&bad), 40);
        assert_eq!((s.bounding, s.effective, s.permitted), (1 << 5, 1 << 5, 0));
        assert_eq!(
            warnings(Some(&bad), 40),
            [
                "ignoring unknown or unavailable capabilities: [CAP_NOPE cap_kill] \
              (process.capabilities.effective[1], process.capabilities.bounding[1])"
            ]
        );
        // A name newer than the kernel is left out the same way.
        let new = Capabilities {
            bounding: Some(vec!["CAP_CHECKPOINT_RESTORE".into()]),
            ..Default::default()
        };
        assert_eq!(parse(Some(&new), 39).bounding, 0);
        assert_eq!(warnings(Some(&new), 39).len(), 1);
    }

    #[test]
    fn ambient_that_cannot_be_raised() {
        let c = Capabilities {
            permitted: Some(vec!["CAP_KILL".into(), "CAP_CHOWN".into()]),
            inheritable: Some(vec!["CAP_CHOWN".into(), "CAP_FOWNER".into()]),
            ambient: Some(vec![
                "CAP_CHOWN".into(),
                "CAP_KILL".into(),
                "CAP_FOWNER".into(),
            ]),
            ..Default::default()
        };
        assert_eq!(
            warnings(Some(&c), 40),
            [
                "process.capabilities.ambient[1]: can't raise ambient capability CAP_KILL: it is not in the inheritable set",
                "process.capabilities.ambient[2]: can't raise ambient capability CAP_FOWNER: it is not in the permitted set",
            ]
        );
    }
}
