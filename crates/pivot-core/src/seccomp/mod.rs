//! linux.seccomp: the profile is checked and compiled in the parent
//! (every error names its field; the program from pivot's own generator,
//! direct.rs, where it takes the rules, else from libseccomp), and the
//! init, which has a copy of the compiled filter, loads it as late as it
//! can.

mod cache;
mod direct;
mod enosys;
mod sha256;

use crate::error::{Error, Problems, Result};
use crate::spec::seccomp::{Arg, Profile, Rule};
use direct::{Cond, Op};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use std::path::Path;
use std::str::FromStr;

/// The actions, operators and flags pivot knows (also for `features`).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// A compiled filter, ready to load.
pub struct Filter {
    /// The program: the -ENOSYS stub (if any), then libseccomp's program
    /// for each architecture, chained (see `chain`).
    program: Vec<libc::sock_filter>,
    /// The seccomp(2) flags it is loaded with.
    flags: u32,
    /// Some rule uses SCMP_ACT_NOTIFY: the notify fd goes to the listener.
    pub notify: bool,
    pub listener_path: Option<String>,
    pub listener_metadata: String,
}

fn lib_err(what: String) -> impl FnOnce(libseccomp::error::SeccompError) -> Error {
    move |e| Error::invalid(format!("{what}: {e}"))
}

fn action(field: &str, name: &str, errno: Option<u32>) -> Result<ScmpAction> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match name {
        // runc's SCMP_ACT_KILL kills the thread, as libseccomp's does.
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno as i32),
        "SCMP_ACT_TRACE" => ScmpAction::Trace(errno as u16),
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_NOTIFY" => ScmpAction::Notify,
        _ => {
            return Err(Error::invalid(format!(
                "{field}: unknown seccomp action {name:?}"
            )))
        }
    })
}

/// One condition of a rule; its operator's and its index's problems kept.
fn compare(field: &str, a: &Arg, problems: &mut Problems) -> Option<(ScmpArgCompare, Cond)> {
    let op = match a.op.as_str() {
        "SCMP_CMP_NE" => Some((ScmpCompareOp::NotEqual, Op::Ne, a.value)),
        "SCMP_CMP_LT" => Some((ScmpCompareOp::Less, Op::Lt, a.value)),
        "SCMP_CMP_LE" => Some((ScmpCompareOp::LessOrEqual, Op::Le, a.value)),
        "SCMP_CMP_EQ" => Some((ScmpCompareOp::Equal, Op::Eq, a.value)),
        "SCMP_CMP_GE" => Some((ScmpCompareOp::GreaterEqual, Op::Ge, a.value)),
        "SCMP_CMP_GT" => Some((ScmpCompareOp::Greater, Op::Gt, a.value)),
        // value is the mask, valueTwo what the masked argument must equal.
        "SCMP_CMP_MASKED_EQ" => Some((
            ScmpCompareOp::MaskedEqual(a.value),
            Op::Masked(a.value),
            a.value_two,
        )),
        other => {
            problems.push(Error::invalid(format!(
                "{field}.op: unknown seccomp operator {other:?}"
            )));
            None
        }
    };
    if a.index > 5 {
        problems.push(Error::invalid(format!(
            "{field}.index: {} is not a syscall argument (0-5)",
            a.index
        )));
        return None;
    }
    let (op, raw, datum) = op?;
    Some((
        ScmpArgCompare::new(a.index, op, datum),
        Cond {
            arg: a.index,
            op: raw,
            datum,
        },
    ))
}

/// A profile checked, its names resolved once, ready for libseccomp.
struct Checked {
    default: ScmpAction,
    /// The filter's architectures: the profile's and the native one
    /// (libseccomp's filter always has it), each once.
    arches: Vec<ScmpArch>,
    flags: u32,
    notify: bool,
    /// Rules whose action is not the default's (libseccomp refuses those;
    /// they are no-ops anyway): field, action, syscalls, conditions.
    rules: Vec<CheckedRule>,
}

struct CheckedRule {
    field: String,
    act: ScmpAction,
    syscalls: Vec<(ScmpSyscall, String)>,
    conds: Vec<ScmpArgCompare>,
    /// The same conditions, for pivot's own code generator.
    raw: Vec<Cond>,
}

/// Check a profile, every problem of it kept (None if there is one).
fn check(p: &Profile, problems: &mut Problems) -> Option<Checked> {
    let before = problems.errors().len();
    let default = problems.take(action(
        "linux.seccomp.defaultAction",
        &p.default_action,
        p.default_errno_ret,
    ));
    let arches = architectures(p, problems);
    let flags = filter_flags(p, default, problems);
    let mut notify = false;
    let mut rules = Vec::new();
    for (i, rule) in p.syscalls.iter().enumerate() {
        // Said of a rule with other problems too.
        notify |= rule.action == "SCMP_ACT_NOTIFY";
        let field = format!("linux.seccomp.syscalls[{i}]");
        let Some(r) = check_rule(field, rule, problems) else {
            continue;
        };
        // Rules with the default's action are no-ops; libseccomp refuses
        // them.
        if Some(r.act) != default {
            rules.push(r);
        }
    }
    if notify && p.listener_path.as_deref().unwrap_or("").is_empty() {
        problems.push(Error::invalid(
            "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener",
        ));
    }
    if problems.since(before) {
        return None;
    }
    Some(Checked {
        default: default?,
        arches,
        flags,
        notify,
        rules,
    })
}

/// The filter's architectures: the native one first, then the profile's.
fn architectures(p: &Profile, problems: &mut Problems) -> Vec<ScmpArch> {
    let mut arches = vec![ScmpArch::X8664];
    for (i, a) in p.architectures.iter().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        let Some(arch) = problems.take(
            ScmpArch::from_str(a)
                .map_err(|_| Error::invalid(format!("{field}: unknown architecture {a:?}"))),
        ) else {
            continue;
        };
        let arch = if arch == ScmpArch::Native {
            ScmpArch::X8664
        } else {
            arch
        };
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    arches
}

/// linux.seccomp.flags as seccomp(2) flags. A context of libseccomp's
/// own (with the default action, when that is known) checks what it
/// checks: the flags it supports (its API level probed once, before any
/// thread).
fn filter_flags(p: &Profile, default: Option<ScmpAction>, problems: &mut Problems) -> u32 {
    let mut ctx = default.and_then(|d| {
        problems
            .take(ScmpFilterContext::new(d).map_err(lib_err("linux.seccomp: libseccomp".into())))
    });
    let mut flags = 0u32;
    for (i, f) in p.flags.iter().enumerate() {
        let field = format!("linux.seccomp.flags[{i}]");
        let bit = match f.as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => 1,
            "SECCOMP_FILTER_FLAG_LOG" => 2,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => 4,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => 32,
            _ => {
                problems.push(Error::invalid(format!(
                    "{field}: unknown seccomp flag {f:?}"
                )));
                continue;
            }
        };
        flags |= bit;
        let Some(ctx) = ctx.as_mut() else {
            continue;
        };
        let r = match bit {
            1 => ctx.set_ctl_tsync(true),
            4 => ctx.set_ctl_ssb(true),
            2 => ctx.set_ctl_log(true),
            _ => ctx.set_ctl_waitkill(true),
        };
        problems.check(r.map(drop).map_err(lib_err(format!("{field} {f}"))));
    }
    flags
}

/// One entry of linux.seccomp.syscalls, every problem of it kept.
fn check_rule(field: String, rule: &Rule, problems: &mut Problems) -> Option<CheckedRule> {
    let before = problems.errors().len();
    let act = problems.take(action(
        &format!("{field}.action"),
        &rule.action,
        rule.errno_ret,
    ));
    // pivot writes (exec.fifo, its error text) after the filter is in;
    // an agent answering those would break or stall the start (runc
    // refuses this too).
    if act == Some(ScmpAction::Notify) && rule.names.iter().any(|n| n == "write") {
        problems.push(Error::invalid(format!(
            "{field}: SCMP_ACT_NOTIFY cannot be used for the write syscall"
        )));
    }
    let (conds, raw): (Vec<ScmpArgCompare>, Vec<Cond>) = rule
        .args
        .iter()
        .enumerate()
        .filter_map(|(j, a)| compare(&format!("{field}.args[{j}]"), a, problems))
        .unzip();
    if problems.since(before) {
        return None;
    }
    // Names this kernel or libseccomp do not know are skipped, as
    // runc does: profiles list syscalls of every architecture.
    let syscalls = rule
        .names
        .iter()
        .filter_map(|n| ScmpSyscall::from_name(n).ok().map(|sc| (sc, n.clone())))
        .collect();
    Some(CheckedRule {
        field,
        act: act?,
        syscalls,
        conds,
        raw,
    })
}

/// Every problem of `linux.seccomp`, for `pivot explain`: `compile`
/// (which `create` calls) stops at the first of the same.
pub fn gather(value: &serde_json::Value, problems: &mut Problems) {
    let Some(p) = problems.take(crate::spec::decode::<Profile>("linux.seccomp", value)) else {
        return;
    };
    if check(&p, problems).is_some() {
        problems.check(build(&p).map(drop));
    }
}

/// `linux.seccomp` checked, ready to compile or already compiled.
pub enum Prepared {
    /// The very same profile's program, from the cache.
    Ready(Filter),
    /// Checked (every field error is out), not compiled yet.
    Pending(Pending),
}

/// A checked profile whose program is still to be compiled: `create`
/// compiles it on threads while the init sets up (`start`), `exec` and
/// `compile` at once.
pub struct Pending {
    profile: Profile,
    checked: Checked,
    store: Option<cache::Store>,
}

/// A compiled program, its load flags and whether it notifies.
type Built = (Vec<libc::sock_filter>, u32, bool);

/// A compile running on a thread of its own (with one more thread per
/// extra architecture, see `programs`). Dropping it waits for the threads,
/// so that no fork happens while they run.
pub struct Compiling {
    thread: Option<std::thread::JoinHandle<Result<Built>>>,
    listener_path: Option<String>,
    listener_metadata: String,
    store: Option<cache::Store>,
    started: std::time::Instant,
}

/// A program compiled now, not yet in the cache.
pub struct Compiled {
    pub filter: Filter,
    store: Option<cache::Store>,
}

/// Check `linux.seccomp` (the first problem is the error); with `cache`
/// (pivot's --root), a program compiled before for the very same profile
/// is taken from the cache there (cache.rs).
pub fn prepare(value: &serde_json::Value, cache: Option<&Path>) -> Result<Prepared> {
    let store = cache.and_then(|root| cache::Store::open(root, value));
    if let Some(hit) = store.as_ref().and_then(cache::Store::load) {
        // The very same profile compiled before, so it is well-formed: only
        // the listener's fields are needed from it.
        let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(String::from);
        return Ok(Prepared::Ready(Filter {
            program: hit.program,
            flags: hit.flags,
            notify: hit.notify,
            listener_path: text("listenerPath").filter(|s| !s.is_empty()),
            listener_metadata: text("listenerMetadata").unwrap_or_default(),
        }));
    }
    let profile: Profile = crate::spec::decode("linux.seccomp", value)?;
    let checked = Problems::first(|problems| check(&profile, problems))?
        .ok_or_else(|| Error::other("linux.seccomp: the profile was not checked"))?;
    Ok(Prepared::Pending(Pending {
        profile,
        checked,
        store,
    }))
}

/// Check and compile `linux.seccomp`; with `cache` (pivot's --root), a
/// program compiled before for the very same profile is taken from the
/// cache there (cache.rs), and one compiled now is stored.
pub fn compile(value: &serde_json::Value, cache: Option<&Path>) -> Result<Filter> {
    match prepare(value, cache)? {
        Prepared::Ready(f) => Ok(f),
        Prepared::Pending(p) => {
            let c = p.start().finish()?;
            c.save();
            Ok(c.filter)
        }
    }
}

impl Pending {
    /// Compile on a thread of its own; `Compiling::finish` takes the
    /// program. The caller must not fork (but through posix_spawn, as
    /// std::process::Command does) until then.
    pub fn start(self) -> Compiling {
        let Pending {
            profile,
            checked,
            store,
        } = self;
        let listener_path = profile.listener_path.clone().filter(|s| !s.is_empty());
        let listener_metadata = profile.listener_metadata.clone().unwrap_or_default();
        let started = std::time::Instant::now();
        let thread = std::thread::Builder::new()
            .name("seccomp".into())
            .spawn(move || build_checked(&profile, &checked));
        Compiling {
            // A thread that could not start: the error comes from `finish`.
            thread: thread.ok(),
            listener_path,
            listener_metadata,
            store,
            started,
        }
    }
}

impl Compiling {
    /// Wait for the program.
    pub fn finish(mut self) -> Result<Compiled> {
        let built = match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(Error::other("linux.seccomp: the compiling thread panicked"))
            }),
            None => Err(Error::other(
                "linux.seccomp: could not start the compiling thread",
            )),
        };
        let (program, flags, notify) = built?;
        let took = self.started.elapsed();
        crate::debug::log(|| {
            format!(
                "seccomp: compiled {} instructions in {:.3} ms",
                program.len(),
                took.as_secs_f64() * 1e3
            )
        });
        Ok(Compiled {
            filter: Filter {
                program,
                flags,
                notify,
                listener_path: self.listener_path.take(),
                listener_metadata: std::mem::take(&mut self.listener_metadata),
            },
            store: self.store.take(),
        })
    }
}

impl Drop for Compiling {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Compiled {
    /// Store the program in the cache (when there is one).
    pub fn save(&self) {
        if let Some(s) = &self.store {
            s.save(&self.filter.program, self.filter.flags, self.filter.notify);
        }
    }
}

/// The program, its load flags and whether it notifies.
fn build(p: &Profile) -> Result<Built> {
    let checked = Problems::first(|problems| check(p, problems))?;
    let c = checked.ok_or_else(|| Error::other("linux.seccomp: the profile was not checked"))?;
    build_checked(p, &c)
}

/// The program of a checked profile, its load flags and whether it
/// notifies.
fn build_checked(p: &Profile, c: &Checked) -> Result<Built> {
    finish_program(p, c, programs(c)?)
}

/// The whole program around libseccomp's (`body`): its flags, the
/// -ENOSYS stub, the kernel's length limit checked.
fn finish_program(p: &Profile, c: &Checked, body: Vec<libc::sock_filter>) -> Result<Built> {
    let mut flags = c.flags;
    if c.notify {
        // NEW_LISTENER; with TSYNC the kernel wants TSYNC_ESRCH too.
        flags |= 8;
        if flags & 1 != 0 {
            flags |= 16;
        }
    } else {
        // WAIT_KILLABLE_RECV is for a listener only: the kernel refuses it
        // without NEW_LISTENER (libseccomp drops it too).
        flags &= !32;
    }
    // runc's -ENOSYS stub, unless the default lets calls through or
    // already answers ENOSYS.
    let lets_through = matches!(
        c.default,
        ScmpAction::Allow | ScmpAction::Log | ScmpAction::Trace(_)
    );
    let mut program = if lets_through || p.default_errno_ret == Some(libc::ENOSYS as u32) {
        Vec::new()
    } else {
        let names: Vec<&str> = p
            .syscalls
            .iter()
            .flat_map(|r| r.names.iter().map(String::as_str))
            .collect();
        enosys::stub(&names, &c.arches)
    };
    program.extend(body);
    // The kernel takes at most BPF_MAXINSNS (4096) instructions.
    if program.len() > MAX_INSNS {
        return Err(Error::invalid(format!(
            "linux.seccomp: the profile compiles to {} BPF instructions; the kernel takes at most {MAX_INSNS}",
            program.len()
        )));
    }
    Ok((program, flags, c.notify))
}

/// BPF_MAXINSNS.
pub(crate) const MAX_INSNS: usize = 4096;

/// The bad-architecture action of each architecture's own program, a
/// placeholder `chain` replaces: SCMP_ACT_TRACE(0xfffe), which a profile
/// could also use, so one that does is compiled in one piece instead.
const CHAIN_MSG: u16 = 0xfffe;
const RET_TRACE: u32 = 0x7ff0_0000;
const BPF_RET_K: u16 = 0x06;
const BPF_JA: u16 = 0x05;

/// The program for the checked profile: one program per architecture,
/// chained (where one finds a foreign architecture it goes on to the
/// next, and the last does what libseccomp's would: SCMP_ACT_KILL_THREAD).
/// Each comes from pivot's own generator (direct.rs) where it takes the
/// rules, else from libseccomp. libseccomp's compile grows much faster
/// than the number of rules times architectures (its per-architecture
/// syscall lists are sorted by insertion, its code generator hashes and
/// resolves every block against all others): podman's profile with 3
/// architectures takes about 4 times as long in one filter as in three.
/// So each architecture libseccomp compiles gets a filter of its own, on a
/// thread of its own.
fn programs(c: &Checked) -> Result<Vec<libc::sock_filter>> {
    assemble(c, true)
}

/// `programs`, with pivot's generator or (to compare) without it.
fn assemble(c: &Checked, generate: bool) -> Result<Vec<libc::sock_filter>> {
    let chain_act = ScmpAction::Trace(CHAIN_MSG);
    let collides = c.default == chain_act || c.rules.iter().any(|r| r.act == chain_act);
    if collides {
        return export(&filter_for(c, &c.arches, None)?);
    }
    let placeholder = RET_TRACE | CHAIN_MSG as u32;
    let plan = plan(c);
    let mut parts: Vec<Option<Vec<libc::sock_filter>>> = plan
        .iter()
        .map(|a| match a.as_slice() {
            [one] if generate => direct::program(&c.rules, c.default, *one, placeholder),
            _ => None,
        })
        .collect();
    let missing: Vec<usize> = (0..plan.len()).filter(|i| parts[*i].is_none()).collect();
    let libseccomp = |i: usize| export(&filter_for(c, &plan[i], Some(chain_act))?);
    let built = std::thread::scope(|s| {
        let others: Vec<_> = missing
            .iter()
            .skip(1)
            .map(|i| (*i, s.spawn(move || libseccomp(*i))))
            .collect();
        let mut all = Vec::new();
        if let Some(first) = missing.first() {
            all.push((*first, libseccomp(*first)));
        }
        for (i, h) in others {
            all.push((
                i,
                h.join().unwrap_or_else(|_| {
                    Err(Error::other("linux.seccomp: the compiling thread panicked"))
                }),
            ));
        }
        all
    });
    for (i, p) in built {
        parts[i] = Some(p?);
    }
    Ok(chain(parts.into_iter().flatten().collect(), placeholder))
}

/// The filters to build, each on its architectures.
fn plan(c: &Checked) -> Vec<Vec<ScmpArch>> {
    c.arches.iter().map(|a| vec![*a]).collect()
}

/// Chain per-architecture programs: each return of `placeholder` (its
/// bad-architecture action) jumps to the next program, or in the last one
/// kills the thread, libseccomp's default bad-architecture action.
fn chain(parts: Vec<Vec<libc::sock_filter>>, placeholder: u32) -> Vec<libc::sock_filter> {
    let n = parts.len();
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for (i, part) in parts.into_iter().enumerate() {
        let end = out.len() + part.len();
        for ins in part {
            if ins.code == BPF_RET_K && ins.k == placeholder {
                let at = out.len();
                out.push(if i + 1 == n {
                    libc::sock_filter {
                        code: BPF_RET_K,
                        jt: 0,
                        jf: 0,
                        k: 0, // SECCOMP_RET_KILL_THREAD
                    }
                } else {
                    libc::sock_filter {
                        code: BPF_JA,
                        jt: 0,
                        jf: 0,
                        k: (end - at - 1) as u32,
                    }
                });
            } else {
                out.push(ins);
            }
        }
    }
    out
}

/// libseccomp's filter of the checked profile on `arches`.
fn filter_for(
    c: &Checked,
    arches: &[ScmpArch],
    badarch: Option<ScmpAction>,
) -> Result<ScmpFilterContext> {
    let mut ctx =
        ScmpFilterContext::new(c.default).map_err(lib_err("linux.seccomp: libseccomp".into()))?;
    if let Some(b) = badarch {
        ctx.set_act_badarch(b)
            .map_err(lib_err("linux.seccomp: libseccomp".into()))?;
    }
    for a in arches {
        if !ctx.is_arch_present(*a).unwrap_or(false) {
            ctx.add_arch(*a)
                .map_err(lib_err(format!("linux.seccomp.architectures: {a:?}")))?;
        }
    }
    if !arches.contains(&ScmpArch::X8664) {
        ctx.remove_arch(ScmpArch::Native)
            .map_err(lib_err("linux.seccomp: libseccomp".into()))?;
    }
    for r in &c.rules {
        for (sc, name) in &r.syscalls {
            add_rule(&mut ctx, r.act, *sc, &r.conds, &r.raw)
                .map_err(lib_err(format!("{} {name:?}", r.field)))?;
        }
    }
    Ok(ctx)
}

/// libseccomp's compiled program, as struct sock_filter entries.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>> {
    use std::io::{Read, Seek};
    let fd = crate::sys::memfd("seccomp-bpf")?;
    ctx.export_bpf(&fd)
        .map_err(|e| Error::other(format!("linux.seccomp: export the filter: {e}")))?;
    let mut f = std::fs::File::from(fd);
    let mut raw = Vec::new();
    f.rewind()
        .and_then(|_| f.read_to_end(&mut raw))
        .map_err(|e| Error::io("linux.seccomp: read the exported filter", e))?;
    Ok(decode_raw(&raw))
}

/// struct sock_filter entries from their bytes.
fn decode_raw(raw: &[u8]) -> Vec<libc::sock_filter> {
    raw.chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Conditions on distinct arguments must all hold (one rule); several on
/// the same argument are alternatives (one rule each), as in runc.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    act: ScmpAction,
    sc: ScmpSyscall,
    conds: &[ScmpArgCompare],
    raw: &[Cond],
) -> std::result::Result<(), libseccomp::error::SeccompError> {
    if conds.is_empty() {
        ctx.add_rule(act, sc)?;
        return Ok(());
    }
    let mut seen = std::collections::BTreeSet::new();
    let distinct = raw.iter().all(|c| seen.insert(c.arg));
    if distinct {
        ctx.add_rule_conditional(act, sc, conds)?;
    } else {
        for c in conds {
            ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))?;
        }
    }
    Ok(())
}

impl Filter {
    /// The seccomp(2) flags it is loaded with.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The program in a memfd, handed to the init with the flags.
    pub fn to_memfd(&self) -> Result<std::os::fd::OwnedFd> {
        use std::io::Write;
        let fd = crate::sys::memfd("seccomp-bpf")?;
        let mut raw = Vec::with_capacity(self.program.len() * 8);
        for i in &self.program {
            raw.extend_from_slice(&i.code.to_ne_bytes());
            raw.push(i.jt);
            raw.push(i.jf);
            raw.extend_from_slice(&i.k.to_ne_bytes());
        }
        let mut f = std::fs::File::from(fd);
        f.write_all(&raw)
            .map_err(|e| Error::io("linux.seccomp: write the filter to a memfd", e))?;
        Ok(f.into())
    }

    /// The filter from a memfd `to_memfd` wrote (in the init).
    pub fn from_memfd(fd: std::os::fd::OwnedFd, flags: u32, notify: bool) -> Result<Filter> {
        use std::io::{Read, Seek};
        let mut f = std::fs::File::from(fd);
        let mut raw = Vec::new();
        f.rewind()
            .and_then(|_| f.take((MAX_INSNS * 8 + 1) as u64).read_to_end(&mut raw))
            .map_err(|e| Error::io("linux.seccomp: read the compiled filter", e))?;
        if raw.is_empty() || raw.len() % 8 != 0 || raw.len() > MAX_INSNS * 8 {
            return Err(Error::other(format!(
                "linux.seccomp: the compiled filter handed over has {} bytes",
                raw.len()
            )));
        }
        Ok(Filter {
            program: decode_raw(&raw),
            flags,
            notify,
            listener_path: None,
            listener_metadata: String::new(),
        })
    }

    /// Load into this process; returns the notify fd when the profile has
    /// SCMP_ACT_NOTIFY rules.
    pub fn load(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        crate::sys::seccomp_set_filter(self.flags, &self.program)
            .map_err(|e| e.context("linux.seccomp: load the filter"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiles_and_names_bad_fields() {
        let ok = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["mkdir", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}
            ]
        });
        compile(&ok, None).unwrap();
        let bad = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                         {"names": ["x"], "action": "SCMP_ACT_NOPE"}]});
        let e = compile(&bad, None).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.syscalls[1].action"), "{e}");
        let bad_op = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"}]}]});
        let e = compile(&bad_op, None).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.syscalls[0].args[0].op"), "{e}");
        let bad_arch =
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]});
        let e = compile(&bad_arch, None).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.architectures[0]"), "{e}");
    }

    #[test]
    fn every_problem_is_gathered_and_compile_stops_at_the_first() {
        let bad = json!({
            "defaultAction": "SCMP_ACT_NOPE",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80", "SCMP_ARCH_PDP11"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NOPE"],
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["x"], "action": "SCMP_ACT_NOPE"},
                {"names": ["write"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"},
                          {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}
            ]
        });
        let mut problems = Problems::new();
        gather(&bad, &mut problems);
        let got: Vec<String> = problems.errors().iter().map(|e| e.to_string()).collect();
        let want = [
            "linux.seccomp.defaultAction: ",
            "linux.seccomp.architectures[1]: ",
            "linux.seccomp.architectures[2]: ",
            "linux.seccomp.flags[1]: ",
            "linux.seccomp.syscalls[1].action: ",
            "linux.seccomp.syscalls[2]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
            "linux.seccomp.syscalls[3].args[0].op: ",
            "linux.seccomp.syscalls[3].args[1].index: ",
            "linux.seccomp.listenerPath: ",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{g:?} is not {w:?}: {got:#?}");
        }
        let e = compile(&bad, None).err().unwrap().to_string();
        assert_eq!(e, got[0]);
        let mut problems = Problems::new();
        gather(&json!({"defaultAction": 3}), &mut problems);
        let got = problems.errors()[0].to_string();
        assert!(
            got.starts_with("linux.seccomp.defaultAction: invalid type"),
            "{got}"
        );
    }
}

#[cfg(test)]
mod handover {
    //! `create`'s path: checked before the init exists, compiled on a
    //! thread, handed to the init in a memfd.
    use super::*;
    use serde_json::json;

    fn pending(v: &serde_json::Value) -> Pending {
        match prepare(v, None).unwrap() {
            Prepared::Pending(p) => p,
            Prepared::Ready(_) => panic!("no cache, yet a filter"),
        }
    }

    #[test]
    fn field_errors_come_before_the_compile() {
        let bad = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]});
        let e = prepare(&bad, None).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.syscalls[0].action"), "{e}");
    }

    #[test]
    fn the_program_handed_over_is_the_one_compiled() {
        let v = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"},
                         {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]
        });
        let direct = compile(&v, None).unwrap();
        let c = pending(&v).start().finish().unwrap();
        assert_eq!(c.filter.listener_path.as_deref(), Some("/run/agent.sock"));
        assert!(c.filter.notify);
        let got = Filter::from_memfd(c.filter.to_memfd().unwrap(), c.filter.flags(), true).unwrap();
        let bytes = |p: &[libc::sock_filter]| -> Vec<(u16, u8, u8, u32)> {
            p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
        };
        assert_eq!(bytes(&got.program), bytes(&direct.program));
        assert_eq!(got.flags, direct.flags);
        assert!(got.notify);
    }

    #[test]
    fn a_compile_that_fails_on_its_thread_is_an_error() {
        // Checks pass; the program is too long for the kernel.
        let rules: Vec<_> = (0..3000u64)
            .map(|i| {
                json!({"names": ["getsid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": i * 7 + 3, "op": "SCMP_CMP_EQ"}]})
            })
            .collect();
        let v = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": rules});
        let e = pending(&v).start().finish().err().unwrap().to_string();
        assert!(
            e.starts_with("linux.seccomp: the profile compiles to"),
            "{e}"
        );
        // Dropped unfinished: the threads are waited for.
        drop(pending(&v).start());
    }

    #[test]
    fn a_bad_memfd_is_refused() {
        let fd = crate::sys::memfd("t").unwrap();
        assert!(Filter::from_memfd(fd, 0, false).is_err());
    }
}

#[cfg(test)]
mod equivalence {
    //! The chained per-architecture programs decide every call as the one
    //! libseccomp filter for all architectures does, run through a small
    //! classic-BPF interpreter over syscall numbers, architectures and
    //! argument values.
    use super::*;

    const PODMAN: &str = include_str!("testdata/podman-4.3-amd64.json");

    pub(super) fn run(p: &[libc::sock_filter], arch: u32, nr: u32, args: &[u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let x = p[pc];
            pc += 1;
            match x.code {
                0x20 => {
                    let k = x.k as usize;
                    acc = u32::from_ne_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]]);
                }
                0x54 => acc &= x.k,
                0x05 => pc += x.k as usize,
                0x15 | 0x25 | 0x35 | 0x45 => {
                    let t = match x.code {
                        0x15 => acc == x.k,
                        0x25 => acc > x.k,
                        0x35 => acc >= x.k,
                        _ => acc & x.k != 0,
                    };
                    pc += if t { x.jt } else { x.jf } as usize;
                }
                0x06 => return x.k,
                c => panic!("BPF opcode {c:#x} at {}", pc - 1),
            }
        }
    }

    pub(super) fn compare(profile: &serde_json::Value) {
        let p: Profile = serde_json::from_value(profile.clone()).unwrap();
        let c = Problems::first(|pr| check(&p, pr)).unwrap().unwrap();
        assert!(c.arches.len() > 1);
        let one = export(&filter_for(&c, &c.arches, None).unwrap()).unwrap();
        let chained = programs(&c).unwrap();
        let mut argsets = vec![[0u64; 6], [u64::MAX; 6], [0xffff_ffff; 6], [1 << 32 | 8; 6]];
        for r in &p.syscalls {
            for a in &r.args {
                for v in [a.value, a.value_two, a.value.wrapping_add(1)] {
                    let mut s = [0u64; 6];
                    s[a.index as usize] = v;
                    argsets.push(s);
                    let mut s2 = [v; 6];
                    s2[a.index as usize] = v ^ 1;
                    argsets.push(s2);
                }
            }
        }
        let x32 = 0x4000_0000u32;
        let mut calls = Vec::new();
        for arch in [0xc000_003eu32, 0x4000_0003, 0xc000_00b7] {
            for nr in 0..600u32 {
                calls.push((arch, nr));
                if arch == 0xc000_003e {
                    calls.push((arch, nr | x32));
                }
            }
            calls.push((arch, u32::MAX));
        }
        for (arch, nr) in calls {
            for a in &argsets {
                assert_eq!(
                    run(&one, arch, nr, a),
                    run(&chained, arch, nr, a),
                    "arch {arch:#x} nr {nr:#x} args {a:?}"
                );
            }
        }
    }

    #[test]
    fn chained_programs_decide_as_one_filter() {
        let podman: serde_json::Value = serde_json::from_str(PODMAN).unwrap();
        compare(&podman);
        // With EPERM as the default (the stub's case), an allow-list default
        // with errno rules, and kill actions (the bad-architecture one too).
        let mut eperm = podman.clone();
        eperm["defaultErrnoRet"] = serde_json::json!(1);
        compare(&eperm);
        let mut kill = podman.clone();
        kill["defaultAction"] = serde_json::json!("SCMP_ACT_KILL");
        compare(&kill);
        let deny = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat", "socketcall", "_llseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_TRACE", "errnoRet": 7,
                 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0}]},
                {"names": ["personality"], "action": "SCMP_ACT_LOG",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_GT"}]}
            ]
        });
        compare(&deny);
    }

    #[test]
    fn a_profile_using_the_placeholder_compiles_in_one_piece() {
        let v = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_TRACE", "errnoRet": CHAIN_MSG}]
        });
        let p: Profile = serde_json::from_value(v).unwrap();
        let c = Problems::first(|pr| check(&p, pr)).unwrap().unwrap();
        let prog = programs(&c).unwrap();
        let mkdir64 = 83;
        assert_eq!(
            run(&prog, 0xc000_003e, mkdir64, &[0; 6]),
            RET_TRACE | CHAIN_MSG as u32
        );
        // A foreign architecture is killed, not traced.
        assert_eq!(run(&prog, 0xc000_00b7, mkdir64, &[0; 6]), 0);
    }
}

#[cfg(test)]
mod cpu {
    //! The CPU time of a compile that is not cached, per phase, on
    //! podman's profile (each phase on the calling thread, one after the
    //! other), by libseccomp alone and as `create` compiles it:
    //! `cargo test --release -p pivot-core seccomp::cpu -- --ignored --nocapture`.
    use super::*;
    use rustix::time::{clock_gettime, ClockId};

    fn now() -> f64 {
        let t = clock_gettime(ClockId::ThreadCPUTime);
        t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
    }

    #[test]
    #[ignore = "a measurement, not a check"]
    fn compile_cpu_per_phase() {
        let text = include_str!("testdata/podman-4.3-amd64.json");
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let root = std::env::temp_dir().join(format!("pivot-seccomp-cpu-{}", std::process::id()));
        std::fs::create_dir(&root).unwrap();
        let runs = 30;
        let mut phases: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        let mut add = |k: &str, v: f64| phases.entry(k.to_string()).or_default().push(v);
        let mut lengths = (0, 0);
        for _ in 0..runs {
            let _ = std::fs::remove_dir_all(root.join(cache::DIR));
            let t0 = now();
            let store = cache::Store::open(&root, &value).unwrap();
            assert!(store.load().is_none());
            let profile: Profile = crate::spec::decode("linux.seccomp", &value).unwrap();
            let c = Problems::first(|pr| check(&profile, pr)).unwrap().unwrap();
            let t1 = now();
            add("1 pivot: key, lookup, JSON, check", t1 - t0);
            let (built, parts, pivot_ms) = timed_build(&profile, &c);
            for (i, (ctx_ms, export_ms)) in parts.iter().enumerate() {
                add(
                    &format!("2 libseccomp: context (rules), filter {i}"),
                    *ctx_ms,
                );
                add(&format!("3 libseccomp: export_bpf, filter {i}"), *export_ms);
            }
            add(
                "2 libseccomp: context (rules), all",
                parts.iter().map(|p| p.0).sum(),
            );
            add(
                "3 libseccomp: export_bpf, all",
                parts.iter().map(|p| p.1).sum(),
            );
            add("4 pivot: chain, stub, check", pivot_ms);
            let t2 = now();
            store.save(&built.0, built.1, built.2);
            add("5 pivot: cache write", now() - t2);
            add("total (libseccomp alone)", now() - t0);
            let t3 = now();
            let ours = build_checked(&profile, &c).unwrap();
            add("6 what create compiles (pivot's generator)", now() - t3);
            lengths = (built.0.len(), ours.0.len());
        }
        eprintln!("{runs} runs, {:?}", plan_arches(&value));
        eprintln!(
            "program: {} instructions from libseccomp alone, {} as create compiles it",
            lengths.0, lengths.1
        );
        std::fs::remove_dir_all(&root).unwrap();
        for (k, v) in &phases {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            eprintln!(
                "{k:42} min {:7.3} median {:7.3} mean {:7.3} ms",
                s[0],
                s[s.len() / 2],
                mean
            );
        }
    }

    fn plan_arches(v: &serde_json::Value) -> Vec<Vec<ScmpArch>> {
        let p: Profile = serde_json::from_value(v.clone()).unwrap();
        let c = Problems::first(|pr| check(&p, pr)).unwrap().unwrap();
        plan(&c)
    }

    /// The program libseccomp alone makes (the filters one after the
    /// other), timed.
    fn timed_build(p: &Profile, c: &Checked) -> (Built, Vec<(f64, f64)>, f64) {
        let mut times = Vec::new();
        let mut parts = Vec::new();
        for arches in plan(c) {
            let t = now();
            let f = filter_for(c, &arches, Some(ScmpAction::Trace(CHAIN_MSG))).unwrap();
            let t1 = now();
            parts.push(export(&f).unwrap());
            let t2 = now();
            drop(f);
            times.push((t1 - t + (now() - t2), t2 - t1));
        }
        let t = now();
        let got = finish_program(p, c, chain(parts, RET_TRACE | CHAIN_MSG as u32)).unwrap();
        (got, times, now() - t)
    }
}
