//! `mkdir` and `syscall`: make one system call and report its outcome, so
//! that tests can see what a seccomp filter lets through. A failing call is
//! an answer, not a probe failure: both print JSON and exit 0.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{errno_name, ProbeError, Result};

/// Syscalls that take only integer arguments and change nothing that
/// matters to a test container, by name (numbers from libc, per target).
const SYSCALLS: &[(&str, libc::c_long)] = &[
    ("getpid", libc::SYS_getpid),
    ("getppid", libc::SYS_getppid),
    ("getpgid", libc::SYS_getpgid),
    ("getsid", libc::SYS_getsid),
    ("getpriority", libc::SYS_getpriority),
    ("personality", libc::SYS_personality),
    ("sched_yield", libc::SYS_sched_yield),
    ("sched_getscheduler", libc::SYS_sched_getscheduler),
    ("sched_get_priority_max", libc::SYS_sched_get_priority_max),
    ("sched_get_priority_min", libc::SYS_sched_get_priority_min),
    ("ioprio_get", libc::SYS_ioprio_get),
];

/// The errno of a failed call as a name, or null on success; called right
/// after the call, before anything else can change errno.
fn errno_value(ret: i64) -> Value {
    if ret >= 0 {
        return Value::Null;
    }
    let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    Value::from(errno_name(code))
}

/// The `mkdir` subcommand: {"path", "ok", "errno"} for mkdir(PATH, 0755).
pub fn mkdir(path: &OsStr) -> Result<Value> {
    let shown = Path::new(path).display().to_string();
    let c_path = CString::new(path.as_bytes())
        .map_err(|_| ProbeError::new(format!("mkdir: {shown:?} contains a NUL byte")))?;
    // SAFETY: `c_path` is a valid NUL-terminated string for the call.
    let rc = unsafe { libc::mkdir(c_path.as_ptr(), 0o755) };
    let errno = errno_value(rc.into());
    Ok(json!({"path": shown, "ok": rc == 0, "errno": errno}))
}

/// A syscall number from a name in `SYSCALLS` or a plain number.
pub(crate) fn syscall_number(name: &str) -> Result<libc::c_long> {
    if let Some((_, nr)) = SYSCALLS.iter().find(|(n, _)| *n == name) {
        return Ok(*nr);
    }
    name.parse().map_err(|_| {
        let known: Vec<&str> = SYSCALLS.iter().map(|(n, _)| *n).collect();
        ProbeError::new(format!(
            "syscall: unknown syscall {name:?} (a number, or one of {})",
            known.join(", ")
        ))
    })
}

/// An argument in decimal, or hex with 0x; -1 style negatives allowed.
pub(crate) fn parse_integer(arg: &OsStr) -> Result<u64> {
    let text = arg.to_string_lossy();
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text
            .parse::<u64>()
            .ok()
            .or_else(|| text.parse::<i64>().ok().map(|v| v as u64)),
    };
    parsed.ok_or_else(|| ProbeError::new(format!("syscall: bad integer argument {text:?}")))
}

/// The `syscall` subcommand: NAME [ARG...] (at most six integers);
/// {"syscall", "args", "ret", "errno"}.
pub fn syscall(args: &[std::ffi::OsString]) -> Result<Value> {
    let Some((name, rest)) = args.split_first() else {
        return Err(ProbeError::new("usage: probe syscall NAME [ARG...]"));
    };
    let name = name.to_string_lossy();
    let nr = syscall_number(&name)?;
    if rest.len() > 6 {
        return Err(ProbeError::new("syscall: at most six arguments"));
    }
    let mut values = [0u64; 6];
    for (slot, arg) in values.iter_mut().zip(rest) {
        *slot = parse_integer(arg)?;
    }
    let [a, b, c, d, e, f] = values;
    // SAFETY: only syscalls whose arguments are plain integers are named in
    // SYSCALLS; a number given by the caller is the caller's business, and
    // the arguments are never pointers this process would dereference.
    let ret = unsafe { libc::syscall(nr, a, b, c, d, e, f) };
    let errno = errno_value(ret);
    Ok(json!({
        "syscall": name,
        "args": &values[..rest.len()],
        "ret": ret,
        "errno": errno,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn getpid_succeeds_and_bad_input_is_refused() {
        let out = syscall(&["getpid".into()]).unwrap();
        assert_eq!(out["ret"], json!(std::process::id()));
        assert_eq!(out["errno"], Value::Null);
        assert!(syscall(&[]).is_err());
        assert!(syscall(&["nope".into()]).is_err());
        assert!(syscall(&["getpid".into(), "x".into()]).is_err());
        let seven: Vec<OsString> = std::iter::once("getpid".into())
            .chain((0..7).map(|_| "0".into()))
            .collect();
        assert!(syscall(&seven).is_err());
    }

    #[test]
    fn a_failing_call_names_its_errno() {
        // No process has pid 0x7ffffff0 (above pid_max's ceiling).
        let out = syscall(&["getsid".into(), "0x7ffffff0".into()]).unwrap();
        assert_eq!(out["ret"], -1);
        assert_eq!(out["errno"], "ESRCH");
        assert_eq!(out["args"], json!([0x7fff_fff0u64]));
    }

    #[test]
    fn mkdir_reports_success_and_errno() {
        let dir = std::env::temp_dir().join(format!("probe-mkdir-{}", std::process::id()));
        let first = mkdir(dir.as_os_str()).unwrap();
        assert_eq!(first["ok"], true);
        assert_eq!(first["errno"], Value::Null);
        let again = mkdir(dir.as_os_str()).unwrap();
        assert_eq!(again["ok"], false);
        assert_eq!(again["errno"], "EEXIST");
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn integers_in_decimal_hex_and_negative() {
        assert_eq!(parse_integer(OsStr::new("8")).unwrap(), 8);
        assert_eq!(
            parse_integer(OsStr::new("0xffffffff")).unwrap(),
            0xffff_ffff
        );
        assert_eq!(parse_integer(OsStr::new("-1")).unwrap(), u64::MAX);
    }
}
