//! Process attributes the init applies to itself (process/attrs.rs and the
//! modules it calls): scheduling, I/O priority, CPU affinity, personality,
//! NUMA memory policy, resource limits.

use super::*;

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> Result<()> {
    use rustix::process::{Resource as R, Rlimit};
    const ALL: [R; 16] = [
        R::Cpu,
        R::Fsize,
        R::Data,
        R::Stack,
        R::Core,
        R::Rss,
        R::Nproc,
        R::Nofile,
        R::Memlock,
        R::As,
        R::Locks,
        R::Sigpending,
        R::Msgqueue,
        R::Nice,
        R::Rtprio,
        R::Rttime,
    ];
    let limit = |v: u64| (v != libc::RLIM_INFINITY).then_some(v);
    let new = Rlimit {
        current: limit(soft),
        maximum: limit(hard),
    };
    let r = match ALL.iter().find(|r| **r as u32 == resource) {
        // pid None: this process.
        Some(&which) => rustix::process::prlimit(None, which, new).map(drop),
        None => Err(rustix::io::Errno::INVAL),
    };
    rx(r, || format!("prlimit(0, {resource}, {{{soft}, {hard}}})"))
}

/// `struct sched_attr` as of SCHED_ATTR_SIZE_VER1 (with the utilization
/// clamps, which SCHED_FLAG_UTIL_CLAMP_* read).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
    pub sched_util_min: u32,
    pub sched_util_max: u32,
}

/// sched_setattr for the calling thread. `shown` is the attribute as the
/// error should name it (`SCHED_FIFO, priority 10, ...`).
pub fn sched_setattr(attr: &SchedAttr, shown: &str) -> Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: a is a sched_attr laid out as the kernel's, of the size it
    // declares, alive for the call; pid 0 is the calling thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    check(r, || format!("sched_setattr(0, {{{shown}}}, 0)")).map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(class, level)).
pub fn ioprio_set(class: u32, level: u32, class_name: &str) -> Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_SHIFT: u32 = 13;
    let prio = (class << IOPRIO_CLASS_SHIFT) | level;
    // SAFETY: integer arguments only; who 0 is the calling process.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    check(r, || {
        format!("ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE({class_name}, {level}))")
    })
    .map(drop)
}

/// sched_setaffinity for the calling thread; `mask` is the CPU bitmap
/// (bit n of word n/64 is CPU n), `shown` the CPU list for the error.
pub fn sched_setaffinity(mask: &[u64], shown: &str) -> Result<()> {
    let len = std::mem::size_of_val(mask);
    // SAFETY: mask is readable for len bytes for the call; pid 0 is the
    // calling thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_setaffinity, 0, len, mask.as_ptr()) };
    check(r, || format!("sched_setaffinity(0, {len}, [{shown}])")).map(drop)
}

/// personality(2); `shown` names the persona (`PER_LINUX32`).
pub fn personality(persona: u64, shown: &str) -> Result<()> {
    // SAFETY: integer argument only; it returns the previous persona.
    let r = unsafe { libc::personality(persona as libc::c_ulong) } as libc::c_long;
    check(r, || format!("personality({shown})")).map(drop)
}

/// set_mempolicy for the calling thread: `mode` with its MPOL_F_* flags,
/// `nodes` the node bitmap (empty: no nodemask), `shown` the call as the
/// error should name it.
pub fn set_mempolicy(mode: i32, nodes: &[u64], shown: &str) -> Result<()> {
    // The kernel reads maxnode - 1 bits (a historical off-by-one that
    // libnuma and crun also pass for).
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (nodes.as_ptr(), nodes.len() * 64 + 1)
    };
    // SAFETY: ptr is NULL or readable for the (maxnode - 1) bits the
    // kernel reads; mode is an integer.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    check(r, || format!("set_mempolicy({shown})")).map(drop)
}
