//! linux.seccomp, through libseccomp: the profile is checked and compiled
//! in the parent (every error names its field), and the init, which has a
//! copy of the compiled filter, loads it as late as it can.

mod enosys;

use crate::error::{Error, Result};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde::Deserialize;
use std::str::FromStr;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub listener_path: Option<String>,
    #[serde(default)]
    pub listener_metadata: Option<String>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub names: Vec<String>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Vec<Arg>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

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
    ctx: ScmpFilterContext,
    /// libseccomp's program behind the -ENOSYS stub, loaded by pivot with
    /// these seccomp(2) flags (None: libseccomp loads its own).
    patched: Option<(Vec<libc::sock_filter>, u32)>,
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

fn compare(field: &str, a: &Arg) -> Result<ScmpArgCompare> {
    let (op, datum) = match a.op.as_str() {
        "SCMP_CMP_NE" => (ScmpCompareOp::NotEqual, a.value),
        "SCMP_CMP_LT" => (ScmpCompareOp::Less, a.value),
        "SCMP_CMP_LE" => (ScmpCompareOp::LessOrEqual, a.value),
        "SCMP_CMP_EQ" => (ScmpCompareOp::Equal, a.value),
        "SCMP_CMP_GE" => (ScmpCompareOp::GreaterEqual, a.value),
        "SCMP_CMP_GT" => (ScmpCompareOp::Greater, a.value),
        // value is the mask, valueTwo what the masked argument must equal.
        "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(a.value), a.value_two),
        other => {
            return Err(Error::invalid(format!(
                "{field}.op: unknown seccomp operator {other:?}"
            )))
        }
    };
    if a.index > 5 {
        return Err(Error::invalid(format!(
            "{field}.index: {} is not a syscall argument (0-5)",
            a.index
        )));
    }
    Ok(ScmpArgCompare::new(a.index, op, datum))
}

/// Check and compile `linux.seccomp`.
pub fn compile(value: &serde_json::Value) -> Result<Filter> {
    let p: Profile = serde_path_to_error::deserialize(value)
        .map_err(|e| Error::invalid(format!("linux.seccomp.{}: {}", e.path(), e.inner())))?;
    let default = action(
        "linux.seccomp.defaultAction",
        &p.default_action,
        p.default_errno_ret,
    )?;
    let mut ctx =
        ScmpFilterContext::new(default).map_err(lib_err("linux.seccomp: libseccomp".into()))?;
    // NO_NEW_PRIVS is process.noNewPrivileges' business, not libseccomp's.
    ctx.set_ctl_nnp(false)
        .map_err(lib_err("linux.seccomp".into()))?;
    for (i, a) in p.architectures.iter().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        let arch = ScmpArch::from_str(a)
            .map_err(|_| Error::invalid(format!("{field}: unknown architecture {a:?}")))?;
        if !ctx.is_arch_present(arch).unwrap_or(false) {
            ctx.add_arch(arch).map_err(lib_err(field))?;
        }
    }
    let mut arches = Vec::new();
    for a in &p.architectures {
        if let Ok(arch) = ScmpArch::from_str(a) {
            arches.push(if arch == ScmpArch::Native {
                ScmpArch::X8664
            } else {
                arch
            });
        }
    }
    // libseccomp's filter always has the native architecture, listed or
    // not, so the stub covers it too (as runc 1.2 and later): a profile
    // without `architectures` still gets ENOSYS for newer calls.
    if !arches.contains(&ScmpArch::X8664) {
        arches.push(ScmpArch::X8664);
    }
    let mut flags = 0u32;
    for (i, f) in p.flags.iter().enumerate() {
        let field = format!("linux.seccomp.flags[{i}]");
        flags |= match f.as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => 1,
            "SECCOMP_FILTER_FLAG_LOG" => 2,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => 4,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => 32,
            _ => 0,
        };
        let r = match f.as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => ctx.set_ctl_tsync(true),
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => ctx.set_ctl_ssb(true),
            "SECCOMP_FILTER_FLAG_LOG" => ctx.set_ctl_log(true),
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => ctx.set_ctl_waitkill(true),
            _ => {
                return Err(Error::invalid(format!(
                    "{field}: unknown seccomp flag {f:?}"
                )))
            }
        };
        r.map_err(lib_err(format!("{field} {f}")))?;
    }
    let mut notify = false;
    for (i, rule) in p.syscalls.iter().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(&format!("{field}.action"), &rule.action, rule.errno_ret)?;
        notify |= act == ScmpAction::Notify;
        // pivot writes (exec.fifo, its error text) after the filter is in;
        // an agent answering those would break or stall the start (runc
        // refuses this too).
        if act == ScmpAction::Notify && rule.names.iter().any(|n| n == "write") {
            return Err(Error::invalid(format!(
                "{field}: SCMP_ACT_NOTIFY cannot be used for the write syscall"
            )));
        }
        let conds = rule
            .args
            .iter()
            .enumerate()
            .map(|(j, a)| compare(&format!("{field}.args[{j}]"), a))
            .collect::<Result<Vec<_>>>()?;
        if act == default {
            // libseccomp refuses a rule that repeats the default; it is a
            // no-op anyway.
            continue;
        }
        for name in &rule.names {
            // Names this kernel or libseccomp do not know are skipped, as
            // runc does: profiles list syscalls of every architecture.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            add_rule(&mut ctx, act, sc, &conds).map_err(lib_err(format!("{field} {name:?}")))?;
        }
    }
    if notify && p.listener_path.as_deref().unwrap_or("").is_empty() {
        return Err(Error::invalid(
            "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener",
        ));
    }
    // runc's -ENOSYS stub, unless the default lets calls through or
    // already answers ENOSYS.
    let lets_through = matches!(
        default,
        ScmpAction::Allow | ScmpAction::Log | ScmpAction::Trace(_)
    );
    let names: Vec<&str> = p
        .syscalls
        .iter()
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect();
    let stub = if lets_through || p.default_errno_ret == Some(libc::ENOSYS as u32) {
        Vec::new()
    } else {
        enosys::stub(&names, &arches)
    };
    let patched = if stub.is_empty() {
        None
    } else {
        if notify {
            // NEW_LISTENER; with TSYNC the kernel wants TSYNC_ESRCH too.
            flags |= 8;
            if flags & 1 != 0 {
                flags |= 16;
            }
        } else {
            // WAIT_KILLABLE_RECV is for a listener only: the kernel
            // refuses it without NEW_LISTENER (libseccomp drops it too).
            flags &= !32;
        }
        let mut program = stub;
        program.extend(export(&ctx)?);
        // The kernel takes at most BPF_MAXINSNS (4096) instructions.
        if program.len() > 4096 {
            return Err(Error::invalid(format!(
                "linux.seccomp: the profile compiles to {} BPF instructions; the kernel takes at most 4096",
                program.len()
            )));
        }
        Some((program, flags))
    };
    Ok(Filter {
        ctx,
        patched,
        notify,
        listener_path: p.listener_path.filter(|s| !s.is_empty()),
        listener_metadata: p.listener_metadata.unwrap_or_default(),
    })
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
    Ok(raw
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// Conditions on distinct arguments must all hold (one rule); several on
/// the same argument are alternatives (one rule each), as in runc.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    act: ScmpAction,
    sc: ScmpSyscall,
    conds: &[ScmpArgCompare],
) -> std::result::Result<(), libseccomp::error::SeccompError> {
    if conds.is_empty() {
        ctx.add_rule(act, sc)?;
        return Ok(());
    }
    let mut seen = std::collections::BTreeSet::new();
    let distinct = conds.iter().all(|c| seen.insert(arg_index(c)));
    if distinct {
        ctx.add_rule_conditional(act, sc, conds)?;
    } else {
        for c in conds {
            ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))?;
        }
    }
    Ok(())
}

fn arg_index(c: &ScmpArgCompare) -> u32 {
    // ScmpArgCompare is a transparent wrapper of scmp_arg_cmp, whose first
    // field is the argument index; its Debug output names it.
    let dbg = format!("{c:?}");
    dbg.split("arg: ")
        .nth(1)
        .and_then(|s| s.split(|ch: char| !ch.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(u32::MAX)
}

impl Filter {
    /// Load into this process; returns the notify fd when the profile has
    /// SCMP_ACT_NOTIFY rules.
    pub fn load(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        if let Some((program, flags)) = &self.patched {
            return crate::sys::seccomp_set_filter(*flags, program)
                .map_err(|e| e.context("linux.seccomp: load the filter"));
        }
        self.ctx
            .load()
            .map_err(|e| Error::other(format!("linux.seccomp: load the filter: {e}")))?;
        if !self.notify {
            return Ok(None);
        }
        let fd = self
            .ctx
            .get_notify_fd()
            .map_err(|e| Error::other(format!("linux.seccomp: notify fd: {e}")))?;
        Ok(Some(crate::sys::own_fd(fd)))
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
        compile(&ok).unwrap();
        let bad = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                         {"names": ["x"], "action": "SCMP_ACT_NOPE"}]});
        let e = compile(&bad).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.syscalls[1].action"), "{e}");
        let bad_op = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"}]}]});
        let e = compile(&bad_op).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.syscalls[0].args[0].op"), "{e}");
        let bad_arch =
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]});
        let e = compile(&bad_arch).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.architectures[0]"), "{e}");
    }
}
