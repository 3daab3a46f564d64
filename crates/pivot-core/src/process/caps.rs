//! process.capabilities: the five sets by name, applied as runc does
//! (bounding set before the user switch, the rest after it).

use crate::error::{Context, Error, Result};
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

fn set(field: &str, names: &Option<Vec<String>>, last: u32) -> Result<u64> {
    let mut mask = 0u64;
    for (i, n) in names.iter().flatten().enumerate() {
        let Some(bit) = NAMES.iter().position(|k| k == n) else {
            return Err(Error::invalid(format!(
                "process.capabilities.{field}[{i}]: unknown capability {n:?}"
            )));
        };
        // Names the running kernel lacks are ignored, as runc does.
        if bit as u32 <= last {
            mask |= 1 << bit;
        }
    }
    Ok(mask)
}

/// Decode the spec's sets; absent capabilities mean none at all.
pub fn parse(caps: Option<&Capabilities>, last: u32) -> Result<CapSets> {
    let Some(c) = caps else {
        return Ok(CapSets::default());
    };
    Ok(CapSets {
        bounding: set("bounding", &c.bounding, last)?,
        effective: set("effective", &c.effective, last)?,
        inheritable: set("inheritable", &c.inheritable, last)?,
        permitted: set("permitted", &c.permitted, last)?,
        ambient: set("ambient", &c.ambient, last)?,
    })
}

/// Names the spec gives that this kernel does not have (they are ignored,
/// with a warning, as runc does).
pub fn unavailable(caps: Option<&Capabilities>, last: u32) -> Vec<String> {
    let Some(c) = caps else {
        return Vec::new();
    };
    let mut out: Vec<String> = [
        &c.bounding,
        &c.effective,
        &c.inheritable,
        &c.permitted,
        &c.ambient,
    ]
    .into_iter()
    .flatten()
    .flatten()
    .filter(|n| {
        NAMES
            .iter()
            .position(|k| k == n)
            .is_some_and(|b| b as u32 > last)
    })
    .cloned()
    .collect();
    out.sort();
    out.dedup();
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
    fn parses_and_rejects() {
        let c = Capabilities {
            bounding: Some(vec!["CAP_KILL".into(), "CAP_CHOWN".into()]),
            ..Default::default()
        };
        let s = parse(Some(&c), 40).unwrap();
        assert_eq!(s.bounding, 1 << 5 | 1);
        let bad = Capabilities {
            effective: Some(vec!["CAP_NOPE".into()]),
            ..Default::default()
        };
        let e = parse(Some(&bad), 40).unwrap_err().to_string();
        assert!(e.starts_with("process.capabilities.effective[0]"), "{e}");
        // A name newer than the kernel is ignored.
        let new = Capabilities {
            bounding: Some(vec!["CAP_CHECKPOINT_RESTORE".into()]),
            ..Default::default()
        };
        assert_eq!(parse(Some(&new), 39).unwrap().bounding, 0);
    }
}
