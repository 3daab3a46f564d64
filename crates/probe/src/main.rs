//! `probe`: a tiny static helper that is copied into test root filesystems
//! and run *inside* containers to report what it observes.
//!
//! Each invocation runs one subcommand (`probe mounts`, `probe stat /dev/null`,
//! ...) and prints one JSON document plus a newline on stdout, exiting 0. On
//! failure it prints `{"error": "..."}` (with errno names such as `EROFS`)
//! and exits 1; usage errors from `--help` or no arguments go to stderr with
//! exit 2. It makes no name-service lookups and loads nothing dynamically, so
//! it runs as a static binary in a bare busybox rootfs.

mod alloc;
mod error;
mod fileops;
mod hunt;
mod mountinfo;
mod mounttree;
mod proc_status;
mod process;
mod ptrace;
mod stat;
mod syscalls;
mod system;
mod writable;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

use error::{ProbeError, Result};

const USAGE: &str = "\
usage: probe SUBCOMMAND [ARGS...]

Prints one JSON document on stdout; on failure {\"error\": ...} and exit 1.

  mounts             /proc/self/mountinfo as an array of objects
  root-chain         the root mount and its parents up to the mount
                     namespace's root (statmount), and every mount below
                     them outside the root (listmount): Linux 6.8 and
                     CAP_SYS_ADMIN
  ids                uid, euid, gid, egid, groups, umask
  caps               Cap{Inh,Prm,Eff,Bnd,Amb}, no_new_privs, seccomp
  status             /proc/self/status as key -> string
  fds                open fds of the probe and their targets
  stat PATH...       lstat of each path (exists false if missing)
  writable PATH...   whether each path can be opened for writing
  hostname           hostname and domainname from uname
  cwd                current working directory
  env                environment as an object
  cat PATH           contents of a file
  ls DIR             sorted entry names of a directory
  rlimits            RLIMIT_* -> {soft, hard}
  pid                pid and ppid
  isatty             whether stdin, stdout, stderr are terminals
  all                mounts, ids, caps, hostname, cwd, env, pid together
  write PATH TEXT    append TEXT to PATH (created 0644)
  exit N             exit with status N, no output
  sleep SECONDS      sleep, then exit 0, no output
  mkdir PATH         mkdir(PATH, 0755): path, ok, errno (exit 0 either way)
  syscall NAME [N..] one integer-argument syscall (getsid, personality, ...
                     or a number): syscall, args, ret, errno (exit 0)
  alloc MIB          allocate and touch MIB MiB of memory (for OOM tests)
  exe-hunt DIR SECS  (escape tests, inside a container only) hold
                     /proc/<pid>/exe of other processes until DIR/stop,
                     then try them for writing; report in DIR/report.json
  ptrace-hunt DIR SECS  (escape tests, inside a container only) try
                     PTRACE_SEIZE on other processes until DIR/stop and
                     report what /proc shows of them
  root-hunt DIR SECS CANARY HOSTDIR  (escape tests, inside a container
                     only) through /proc/<pid>/root of other processes,
                     directly and PTRACE_SEIZE'd, try to read the host
                     file CANARY and create a file in HOSTDIR
  exe-hold DIR PID   (escape tests, inside a container only) hand
                     /proc/PID/exe to a daemon child and exit; after
                     DIR/go it tries the handle for writing and reports
                     in DIR/report.json
  ptrace-syscall PID NAME [N..]  (escape tests, inside a container only)
                     make PID run one syscall under ptrace: ret, errno
";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(command) = args.first() else {
        return usage();
    };
    let command = command.to_string_lossy();
    if matches!(command.as_ref(), "--help" | "-h" | "help") {
        return usage();
    }
    match run(&command, &args[1..]) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(value)) => emit(&value, ExitCode::SUCCESS),
        Err(err) => emit(&json!({"error": err.to_string()}), ExitCode::FAILURE),
    }
}

fn usage() -> ExitCode {
    eprint!("{USAGE}");
    ExitCode::from(2)
}

/// Prints one compact JSON document and a newline.
fn emit(value: &Value, code: ExitCode) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{value}").and_then(|()| out.flush()) {
        Ok(()) => code,
        // Nowhere left to report it.
        Err(_) => ExitCode::FAILURE,
    }
}

/// Runs one subcommand; `None` means it produces no output.
fn run(command: &str, args: &[OsString]) -> Result<Option<Value>> {
    let value = match command {
        "mounts" => no_args(command, args, mountinfo::mounts)?,
        "root-chain" => no_args(command, args, mounttree::root_chain)?,
        "ids" => no_args(command, args, proc_status::ids)?,
        "caps" => no_args(command, args, proc_status::caps)?,
        "status" => no_args(command, args, proc_status::status)?,
        "fds" => no_args(command, args, process::fds)?,
        "rlimits" => no_args(command, args, process::rlimits)?,
        "pid" => no_args(command, args, || Ok(process::pid()))?,
        "hostname" => no_args(command, args, system::hostname)?,
        "cwd" => no_args(command, args, system::cwd)?,
        "env" => no_args(command, args, || Ok(system::env()))?,
        "isatty" => no_args(command, args, || Ok(system::isatty()))?,
        "all" => no_args(command, args, all)?,
        "stat" => stat::stat(at_least_one(command, args)?),
        "writable" => writable::writable(at_least_one(command, args)?),
        "cat" => {
            let [path] = exactly(command, args, "PATH")?;
            fileops::cat(path)?
        }
        "ls" => {
            let [dir] = exactly(command, args, "DIR")?;
            fileops::ls(dir)?
        }
        "write" => {
            let [path, text] = exactly(command, args, "PATH TEXT")?;
            fileops::write(path, text)?
        }
        "mkdir" => {
            let [path] = exactly(command, args, "PATH")?;
            syscalls::mkdir(path)?
        }
        "syscall" => syscalls::syscall(args)?,
        "alloc" => {
            let [mib] = exactly(command, args, "MIB")?;
            alloc::alloc(parse_arg::<usize>(command, mib)?)
        }
        "exe-hunt" => hunt::exe_hunt(args)?,
        "ptrace-hunt" => hunt::ptrace_hunt(args)?,
        "root-hunt" => hunt::root_hunt(args)?,
        "exe-hold" => hunt::exe_hold(args)?,
        "ptrace-syscall" => hunt::ptrace_syscall(args)?,
        "notify" => {
            let [text] = exactly(command, args, "TEXT")?;
            fileops::notify(text)?
        }
        "exit" => {
            let [status] = exactly(command, args, "N")?;
            std::process::exit(parse_arg::<i32>(command, status)?)
        }
        "sleep" => {
            let [seconds] = exactly(command, args, "SECONDS")?;
            let seconds = parse_arg::<f64>(command, seconds)?;
            let duration = Duration::try_from_secs_f64(seconds)
                .map_err(|_| ProbeError::new(format!("sleep: bad duration {seconds} seconds")))?;
            std::thread::sleep(duration);
            return Ok(None);
        }
        other => return Err(ProbeError::new(format!("unknown subcommand {other:?}"))),
    };
    Ok(Some(value))
}

/// The `all` subcommand: each key holds what that subcommand prints.
fn all() -> Result<Value> {
    Ok(json!({
        "mounts": mountinfo::mounts()?,
        "ids": proc_status::ids()?,
        "caps": proc_status::caps()?,
        "hostname": system::hostname()?,
        "cwd": system::cwd()?,
        "env": system::env(),
        "pid": process::pid(),
    }))
}

fn no_args(command: &str, args: &[OsString], f: impl FnOnce() -> Result<Value>) -> Result<Value> {
    if !args.is_empty() {
        return Err(ProbeError::new(format!("{command}: takes no arguments")));
    }
    f()
}

fn at_least_one<'a>(command: &str, args: &'a [OsString]) -> Result<&'a [OsString]> {
    if args.is_empty() {
        return Err(ProbeError::new(format!(
            "{command}: needs at least one PATH"
        )));
    }
    Ok(args)
}

fn exactly<'a, const N: usize>(
    command: &str,
    args: &'a [OsString],
    names: &str,
) -> Result<[&'a OsString; N]> {
    let refs: Vec<&OsString> = args.iter().collect();
    refs.try_into()
        .map_err(|_| ProbeError::new(format!("usage: probe {command} {names}")))
}

fn parse_arg<T: std::str::FromStr>(command: &str, arg: &OsString) -> Result<T> {
    arg.to_str()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| ProbeError::new(format!("{command}: bad number {arg:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_and_bad_arity() {
        assert!(run("nope", &[]).is_err());
        assert!(run("cat", &[]).is_err());
        assert!(run("pid", &["x".into()]).is_err());
        assert!(run("stat", &[]).is_err());
        assert!(run("sleep", &["-1".into()]).is_err());
        assert!(run("exit", &["x".into()]).is_err());
    }

    #[test]
    fn sleep_has_no_output() {
        assert!(run("sleep", &["0.01".into()]).unwrap().is_none());
    }

    #[test]
    fn all_has_every_key() {
        let all = run("all", &[]).unwrap().unwrap();
        for key in ["mounts", "ids", "caps", "hostname", "cwd", "env", "pid"] {
            assert!(all.get(key).is_some(), "missing {key}");
        }
    }
}
