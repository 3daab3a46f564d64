//! Device rules on cgroup v2: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program
//! built from the rule list (as runc's devicefilter does) and attached to
//! the container's cgroup2 dir. The last matching rule decides; a rule
//! `a *:* rwm` replaces everything before it and sets the default. And the
//! rule list itself, as both cgroup versions get it: the spec's rules,
//! then runc's defaults.

use super::CgroupDir;
use crate::error::{Error, Result};
use crate::spec::types::DeviceRule;
use crate::sys;
use std::os::fd::AsFd;

/// The defaults runc adds after the spec's device rules (runc 1.2+: no tun).
pub fn default_device_rules() -> Vec<DeviceRule> {
    let r = |kind: &str, major: i64, minor: i64, access: &str| {
        DeviceRule::new(true, kind, major, minor, access)
    };
    vec![
        r("c", -1, -1, "m"),
        r("b", -1, -1, "m"),
        r("c", 1, 3, "rwm"),
        r("c", 1, 8, "rwm"),
        r("c", 1, 7, "rwm"),
        r("c", 5, 0, "rwm"),
        r("c", 1, 5, "rwm"),
        r("c", 1, 9, "rwm"),
        r("c", 136, -1, "rwm"),
        r("c", 5, 2, "rwm"),
    ]
}

/// The rules as the kernel gets them: the spec's, then runc's defaults.
pub fn effective_device_rules(spec: &[DeviceRule]) -> Vec<DeviceRule> {
    let mut v = spec.to_vec();
    v.extend(default_device_rules());
    v
}

/// `c 1:3 rwm`, with `*` for a wildcard.
pub fn device_rule_string(d: &DeviceRule) -> String {
    let num = |v: Option<i64>| match v {
        Some(n) if n >= 0 => n.to_string(),
        _ => "*".into(),
    };
    format!(
        "{} {}:{} {}",
        d.kind.as_deref().unwrap_or("a"),
        num(d.major),
        num(d.minor),
        d.access.as_deref().unwrap_or("rwm")
    )
}

/// Whether a rule list allows everything in the end (a last "a" rule
/// allowing all, or nothing at all).
pub fn allows_all(rules: &[DeviceRule]) -> bool {
    match rules.iter().rposition(is_reset) {
        Some(i) => rules[i].allow && rules[i + 1..].iter().all(|r| r.allow),
        None => rules.is_empty(),
    }
}

/// `a *:* rwm`: a rule that replaces the whole list.
pub fn is_reset(d: &DeviceRule) -> bool {
    d.kind.as_deref().unwrap_or("a") == "a"
        && d.major.is_none_or(|m| m < 0)
        && d.minor.is_none_or(|m| m < 0)
        && d.access
            .as_deref()
            .is_none_or(|a| a.contains('r') && a.contains('w') && a.contains('m'))
}

/// Whether pivot can build device programs (always; the kernel may still
/// refuse the load, which is reported then).
pub fn supported() -> bool {
    true
}

// Instruction classes and ops (linux/bpf.h, linux/bpf_common.h).
const LDX_W_MEM: u8 = 0x61; // BPF_LDX | BPF_W | BPF_MEM
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JMP_JNE_K: u8 = 0x55;
const JMP_JNE_X: u8 = 0x5d;
const JMP_EXIT: u8 = 0x95;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = (dst & 0xf) | (src << 4);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    u64::from_le_bytes(b)
}

fn access_bits(a: &str) -> i32 {
    a.chars()
        .map(|c| match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        })
        .fold(0, |x, y| x | y)
}

/// The program for `rules`: r2 = type, r3 = access, r4 = major, r5 = minor
/// from struct bpf_cgroup_dev_ctx, then one block per rule, last rule
/// first, each jumping past itself when the rule does not match.
pub fn program(rules: &[DeviceRule]) -> Vec<u64> {
    let (default, rules) = match rules.iter().rposition(is_reset) {
        Some(i) => (rules[i].allow, &rules[i + 1..]),
        None => (false, rules),
    };
    let mut p = vec![
        insn(LDX_W_MEM, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_W_MEM, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_W_MEM, 4, 1, 4, 0),
        insn(LDX_W_MEM, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        // (instruction, whether it is a "skip this block" jump)
        let mut block: Vec<(u64, bool)> = Vec::new();
        match r.kind.as_deref().unwrap_or("a") {
            "c" => block.push((insn(JMP_JNE_K, 2, 0, 0, DEV_CHAR), true)),
            "b" => block.push((insn(JMP_JNE_K, 2, 0, 0, DEV_BLOCK), true)),
            _ => {}
        }
        let acc = access_bits(r.access.as_deref().unwrap_or("rwm"));
        if acc != ACC_MKNOD | ACC_READ | ACC_WRITE {
            block.push((insn(ALU32_MOV_X, 1, 3, 0, 0), false));
            block.push((insn(ALU32_AND_K, 1, 0, 0, acc), false));
            block.push((insn(JMP_JNE_X, 1, 3, 0, 0), true));
        }
        if let Some(m) = r.major.filter(|m| *m >= 0) {
            block.push((insn(JMP_JNE_K, 4, 0, 0, m as i32), true));
        }
        if let Some(m) = r.minor.filter(|m| *m >= 0) {
            block.push((insn(JMP_JNE_K, 5, 0, 0, m as i32), true));
        }
        block.push((insn(ALU64_MOV_K, 0, 0, 0, r.allow as i32), false));
        block.push((insn(JMP_EXIT, 0, 0, 0, 0), false));
        let n = block.len();
        for (j, (mut i, jump)) in block.into_iter().enumerate() {
            if jump {
                let off = (n - j - 1) as i16;
                i = (i & !0xffff_0000) | ((off as u16 as u64) << 16);
            }
            p.push(i);
        }
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, default as i32));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

/// Load the program for `rules` and attach it to the container's cgroup2
/// dir; the kernel keeps it attached until the cgroup is removed.
pub fn attach(d: &CgroupDir, rules: &[DeviceRule]) -> Result<()> {
    let prog = sys::bpf_load_cgroup_device(&program(rules))?;
    let path = d.path();
    let dir = sys::openat(
        sys::cwd(),
        &path.to_string_lossy(),
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| e.context(format!("open {}", path.display())))?;
    sys::bpf_attach_cgroup_device(dir.as_fd(), prog.as_fd())
        .map_err(|e: Error| e.context("attach the device program"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_shape() {
        let p = program(&[DeviceRule::new(true, "c", 1, 3, "rwm")]);
        // 6 loads, 4 in the block (type, major, minor jumps... + mov, exit), 2 final.
        assert_eq!(p.len(), 6 + 5 + 2);
        // The type jump skips the 4 instructions after it.
        assert_eq!((p[6] >> 16) & 0xffff, 4);
    }

    /// On a host with a cgroup2 mount, as root: a program denying
    /// /dev/urandom (c 1:9) really denies it to a process in the cgroup.
    #[test]
    fn denies_in_a_real_cgroup() {
        if sys::getuid() != 0 {
            return;
        }
        let Some(h) = crate::cgroups::hierarchies()
            .unwrap_or_default()
            .into_iter()
            .find(|h| h.is_v2())
        else {
            return;
        };
        let own = crate::cgroups::own_cgroups().unwrap_or_default();
        let name = format!("pivot-tbpf-{}", std::process::id());
        let mut dirs =
            crate::cgroups::plan_dirs(std::slice::from_ref(&h), &own, None, &name).unwrap();
        if crate::cgroups::create(&mut dirs).is_err() {
            return;
        }
        let mut rules = vec![DeviceRule::new(false, "a", -1, -1, "rwm")];
        rules.extend(default_device_rules());
        rules.push(DeviceRule::new(false, "c", 1, 9, "rwm"));
        let attached = attach(&dirs[0], &rules);
        let run = |dev: &str| {
            let script = format!(
                "echo $$ > {}/cgroup.procs && head -c1 {dev} >/dev/null",
                dirs[0].path().display()
            );
            std::process::Command::new("/bin/sh")
                .args(["-c", &script])
                .stderr(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        let (zero, urandom) = if attached.is_ok() {
            (run("/dev/zero"), run("/dev/urandom"))
        } else {
            (true, false)
        };
        crate::cgroups::remove(&dirs).unwrap();
        attached.unwrap();
        assert!(zero, "/dev/zero was denied");
        assert!(!urandom, "/dev/urandom was allowed");
    }
}
