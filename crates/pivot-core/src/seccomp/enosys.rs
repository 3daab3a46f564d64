//! runc's -ENOSYS stub: a syscall numbered above the highest one a profile
//! names (per architecture) is newer than the profile, so it gets ENOSYS
//! (a libc then falls back to an older call) instead of the default
//! action's errno. The stub is a few BPF instructions put before
//! libseccomp's program; it is left out, as in runc, when the default
//! action lets calls through or its errno is ENOSYS already.
//!
//! The architectures a process on this (x86_64) kernel can use are
//! handled: x86_64, x32 (x86_64 numbers with bit 30 set) and i386. Other
//! architectures of a profile never reach the filter here.

use libseccomp::{ScmpArch, ScmpSyscall};

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

// struct seccomp_data: nr at 0, arch at 4.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// The highest syscall number the rules name for `arch`, if any.
fn highest(names: &[&str], arch: ScmpArch) -> Option<u32> {
    names
        .iter()
        .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
        .map(i32::from)
        .filter(|nr| *nr >= 0)
        .map(|nr| nr as u32)
        .max()
}

/// A jump target while the stub is assembled.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Next,
    Label(usize),
    Filter,
    Enosys,
}

struct Insn {
    code: u16,
    k: u32,
    jt: To,
    jf: To,
    label: Option<usize>,
}

fn insn(code: u16, k: u32, jt: To, jf: To) -> Insn {
    Insn {
        code,
        k,
        jt,
        jf,
        label: None,
    }
}

/// The stub for a profile naming `names` on `arches` (libseccomp's
/// architectures), or nothing when no architecture has a known syscall.
pub fn stub(names: &[&str], arches: &[ScmpArch]) -> Vec<libc::sock_filter> {
    // As runc: the architectures the filter has (the profile's and the
    // native one).
    let has = |a: ScmpArch| arches.contains(&a);
    let max64 = has(ScmpArch::X8664)
        .then(|| highest(names, ScmpArch::X8664))
        .flatten();
    let maxx32 = has(ScmpArch::X32)
        .then(|| highest(names, ScmpArch::X32))
        .flatten()
        .map(|nr| nr | X32_SYSCALL_BIT);
    let max32 = has(ScmpArch::X86)
        .then(|| highest(names, ScmpArch::X86))
        .flatten();
    if max64.is_none() && maxx32.is_none() && max32.is_none() {
        return Vec::new();
    }
    // Labels: 0 = the x86_64 ABI block, 1 = i386, 2 = x32 numbers,
    // 3 = x86_64 numbers.
    let mut p = vec![insn(LD_W_ABS, OFF_ARCH, To::Next, To::Next)];
    if max64.is_some() || maxx32.is_some() {
        p.push(insn(JMP_JEQ_K, AUDIT_ARCH_X86_64, To::Label(0), To::Next));
    }
    if max32.is_some() {
        p.push(insn(JMP_JEQ_K, AUDIT_ARCH_I386, To::Label(1), To::Next));
    }
    p.push(insn(JMP_JA, 0, To::Filter, To::Filter));
    let limit = |max: Option<u32>, label: usize| {
        let mut i = match max {
            Some(m) => insn(JMP_JGT_K, m, To::Enosys, To::Filter),
            None => insn(JMP_JA, 0, To::Filter, To::Filter),
        };
        i.label = Some(label);
        i
    };
    if max64.is_some() || maxx32.is_some() {
        let mut ld = insn(LD_W_ABS, OFF_NR, To::Next, To::Next);
        ld.label = Some(0);
        p.push(ld);
        p.push(insn(
            JMP_JSET_K,
            X32_SYSCALL_BIT,
            To::Label(2),
            To::Label(3),
        ));
        p.push(limit(maxx32, 2));
        p.push(limit(max64, 3));
    }
    if max32.is_some() {
        let mut ld = insn(LD_W_ABS, OFF_NR, To::Next, To::Next);
        ld.label = Some(1);
        p.push(ld);
        p.push(insn(JMP_JGT_K, max32.unwrap_or(0), To::Enosys, To::Filter));
    }
    let enosys = p.len();
    p.push(insn(
        RET_K,
        SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        To::Next,
        To::Next,
    ));
    let filter = p.len();
    let at = |i: usize, to: To| -> u32 {
        let target = match to {
            To::Next => i + 1,
            To::Filter => filter,
            To::Enosys => enosys,
            To::Label(l) => p
                .iter()
                .position(|x| x.label == Some(l))
                .expect("stub label"),
        };
        (target - i - 1) as u32
    };
    p.iter()
        .enumerate()
        .map(|(i, x)| {
            let (jt, jf, k) = if x.code == JMP_JA {
                (0, 0, at(i, x.jt))
            } else if x.code & 0x07 == 0x05 {
                (at(i, x.jt) as u8, at(i, x.jf) as u8, x.k)
            } else {
                (0, 0, x.k)
            };
            libc::sock_filter {
                code: x.code,
                jt,
                jf,
                k,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_jumps_stay_inside() {
        let s = stub(
            &["read", "write", "clone3"],
            &[ScmpArch::X8664, ScmpArch::X32, ScmpArch::X86],
        );
        assert!(!s.is_empty());
        let n = s.len();
        for (i, x) in s.iter().enumerate() {
            if x.code == JMP_JA {
                assert!(i + 1 + x.k as usize <= n);
            } else if x.code & 0x07 == 0x05 {
                assert!(i + 1 + x.jt as usize <= n && i + 1 + x.jf as usize <= n);
            }
        }
        assert_eq!(s[n - 1].code, RET_K);
        assert!(stub(&["no_such_call"], &[ScmpArch::X8664]).is_empty());
    }
}
