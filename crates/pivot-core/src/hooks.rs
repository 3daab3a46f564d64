//! The six OCI hooks. Each gets the container state as JSON on stdin, its
//! path, args and env, and a timeout; its output is kept for the error.

use crate::error::{Error, Result};
use crate::spec::default::OCI_VERSION;
use crate::spec::types::Hook;
use crate::spec::Plan;
use crate::state::Saved;
use crate::sys;
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The state a hook reads on stdin.
pub fn state_json(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &Path,
    annotations: &BTreeMap<String, String>,
) -> String {
    let mut v = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = serde_json::json!(annotations);
    }
    v.to_string()
}

/// The state of a container being made, from its plan.
pub fn plan_state(plan: &Plan, status: &str, pid: i32) -> String {
    state_json(
        &plan.id,
        status,
        pid,
        &plan.bundle,
        &plan.spec.annotations.clone().unwrap_or_default(),
    )
}

/// The state of a container from its saved record.
pub fn saved_state(saved: &Saved, status: &str) -> String {
    state_json(
        &saved.id,
        status,
        saved.pid,
        &saved.bundle,
        &saved.annotations,
    )
}

/// Check the host-side hooks exist and are executable (startContainer
/// hooks live in the container and are found only there).
pub fn validate(hooks: &crate::spec::types::Hooks) -> Result<()> {
    let mut problems = crate::error::Problems::new();
    check(hooks, &mut problems);
    problems.into_result()
}

/// Every problem of every hook.
pub fn check(hooks: &crate::spec::types::Hooks, problems: &mut crate::error::Problems) {
    let host_side = [
        ("prestart", &hooks.prestart),
        ("createRuntime", &hooks.create_runtime),
        ("createContainer", &hooks.create_container),
        ("poststart", &hooks.poststart),
        ("poststop", &hooks.poststop),
    ];
    for (kind, list) in host_side {
        for (i, h) in list.iter().enumerate() {
            problems.check(check_host_side(&format!("hooks.{kind}[{i}].path"), h));
        }
    }
    for (i, h) in hooks.start_container.iter().enumerate() {
        if !h.path.starts_with('/') {
            problems.push(Error::invalid(format!(
                "hooks.startContainer[{i}].path: {:?} is not an absolute path",
                h.path
            )));
        }
    }
}

/// A hook run on the host: an absolute path to an executable file.
fn check_host_side(field: &str, h: &Hook) -> Result<()> {
    if !h.path.starts_with('/') {
        return Err(Error::invalid(format!(
            "{field}: {:?} is not an absolute path",
            h.path
        )));
    }
    let st = sys::fstatat(sys::cwd(), &h.path, 0).map_err(|e| e.context(field))?;
    if sys::file_type(&st) != sys::FileType::Regular || st.st_mode & 0o111 == 0 {
        return Err(Error::invalid(format!(
            "{field}: {:?} is not an executable file",
            h.path
        )));
    }
    Ok(())
}

/// Run every hook of one kind in order; the first failure stops them.
pub fn run_all(kind: &str, hooks: &[Hook], state: &str) -> Result<()> {
    run_all_in(kind, hooks, state, None)
}

/// As `run_all`, with `cwd` as the hooks' working directory (the rootfs
/// for createContainer, as runc runs them).
pub fn run_all_in(kind: &str, hooks: &[Hook], state: &str, cwd: Option<&Path>) -> Result<()> {
    run_hooks(kind, hooks, state, cwd, &[])
}

/// As `run_all`, a hook without `env` getting `env` (startContainer hooks
/// get the container process's, as runc's init runs them with its own).
pub fn run_all_with_env(kind: &str, hooks: &[Hook], state: &str, env: &[String]) -> Result<()> {
    run_hooks(kind, hooks, state, None, env)
}

fn run_hooks(
    kind: &str,
    hooks: &[Hook],
    state: &str,
    cwd: Option<&Path>,
    default_env: &[String],
) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state, cwd, default_env)
            .map_err(|e| e.context(format!("error running hooks.{kind}[{i}] {:?}", h.path)))?;
    }
    Ok(())
}

/// Run every hook of one kind; failures become warnings (poststart,
/// poststop), as the runtime-spec asks.
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &str, warn: fn(&str)) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state, None, &[]) {
            warn(&format!("hooks.{kind}[{i}] {:?}: {e}", h.path));
        }
    }
}

fn capture() -> Result<(OwnedFd, Stdio)> {
    let fd = sys::memfd("hook-output")?;
    let dup = fd.try_clone().map_err(|e| Error::io("dup", e))?;
    Ok((fd, Stdio::from(dup)))
}

fn read_back(fd: OwnedFd) -> String {
    let mut f = std::fs::File::from(fd);
    let _ = f.rewind();
    let mut s = String::new();
    let _ = f.take(4096).read_to_string(&mut s);
    s.trim().to_string()
}

fn run_one(h: &Hook, state: &str, cwd: Option<&Path>, default_env: &[String]) -> Result<()> {
    let mut cmd = Command::new(&h.path);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    if let Some(argv0) = h.args.first() {
        cmd.arg0(argv0);
    }
    cmd.args(h.args.iter().skip(1));
    cmd.env_clear();
    let env = if h.env.is_empty() {
        default_env
    } else {
        &h.env
    };
    for e in env {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    let (out_fd, out) = capture()?;
    cmd.stdin(Stdio::piped()).stdout(out).stderr(Stdio::from(
        out_fd.try_clone().map_err(|e| Error::io("dup", e))?,
    ));
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("start {:?}", h.path), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state.as_bytes());
    }
    let status = match h.timeout.filter(|t| *t > 0) {
        None => child.wait().map_err(|e| Error::io("wait for hook", e))?,
        Some(secs) => {
            let deadline = Instant::now() + Duration::from_secs(secs as u64);
            let pidfd = sys::pidfd_open(child.id() as i32)?;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::other(format!("timed out after {secs}s")));
                }
                if sys::poll_in(pidfd.as_fd(), left.as_millis() as i32)?.ready() {
                    break child.wait().map_err(|e| Error::io("wait for hook", e))?;
                }
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let output = read_back(out_fd);
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}{}", signal_text(s)),
        _ => "failed".into(),
    };
    Err(Error::other(if output.is_empty() {
        how
    } else {
        format!("{how}: {output}")
    }))
}

/// What a signal that killed a hook means, in the words runc prints.
fn signal_text(sig: i32) -> &'static str {
    match sig {
        libc::SIGSYS => " (bad system call)",
        libc::SIGKILL => " (killed)",
        libc::SIGTERM => " (terminated)",
        libc::SIGSEGV => " (segmentation fault)",
        libc::SIGABRT => " (aborted)",
        libc::SIGINT => " (interrupt)",
        libc::SIGPIPE => " (broken pipe)",
        _ => "",
    }
}
