//! `exe-hunt` and `ptrace-hunt`: an attacker inside a test container, for
//! the escape tests (CVE-2019-5736, CVE-2016-9962).
//!
//! Both loop over /proc looking at every other process the container can
//! see (the runtime joining the container, or a created container's init
//! before it execs, among the container's own programs) until `DIR/stop`
//! exists or SECONDS pass, and report what they could reach. `DIR/ready`
//! is made once the first scan is done; the report is printed and also
//! written to `DIR/report.json` (made under another name and renamed, so
//! a reader never sees half of it).
//!
//! Nothing found is ever written to: "writable" means an open with
//! O_WRONLY (no O_TRUNC, no O_CREAT) succeeded, and that fd is closed at
//! once; only executables of processes that are not the container's own
//! programs (by comm) are tried. A traced process is stopped only while
//! /proc is read, then detached. Run them only inside a test container:
//! on the host they would go for the host's processes.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use rustix::fs::{Mode, OFlags, StatVfsMountFlags};

use crate::error::{errno_name, io_error_name, Context, ProbeError, Result};
use crate::ptrace::{self, Plain};

/// At most this many distinct executables are held open.
const MAX_HANDLES: usize = 64;
/// At most this many processes are reported per kind of outcome.
const MAX_REPORTED: usize = 64;
/// Write attempts on the held handles once hunting stops, and their pace:
/// the runtime that was caught may still be exiting.
const WRITE_TRIES: usize = 20;
const WRITE_PAUSE: Duration = Duration::from_millis(50);
/// How long a seized process is given to stop.
const STOP_WAIT: Duration = Duration::from_secs(1);
/// The container's own programs: not what the hunters are after.
const OWN_COMMS: &[&str] = &["probe", "sh", "sleep", "busybox"];

/// DIR and SECONDS from the arguments.
fn parse(command: &str, args: &[OsString]) -> Result<(PathBuf, Duration)> {
    let [dir, seconds] = args else {
        return Err(ProbeError::new(format!(
            "usage: probe {command} DIR SECONDS"
        )));
    };
    let seconds: f64 = seconds
        .to_str()
        .and_then(|s| s.trim().parse().ok())
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| ProbeError::new(format!("{command}: bad SECONDS {seconds:?}")))?;
    Ok((PathBuf::from(dir), Duration::from_secs_f64(seconds)))
}

/// The pids in /proc other than this process, ascending.
fn other_pids() -> Vec<i32> {
    let own = std::process::id() as i32;
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|&p| p != own)
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

fn last_errno() -> String {
    errno_name(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

fn open_raw(path: &str, flags: i32) -> std::result::Result<OwnedFd, String> {
    let flags = OFlags::from_bits_retain(flags as u32) | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty()).map_err(|e| errno_name(e.raw_os_error()))
}

/// Whether the mount holding what `fd` names is read-only (false if
/// fstatvfs fails).
fn on_read_only_mount(fd: &OwnedFd) -> bool {
    rustix::fs::fstatvfs(fd).is_ok_and(|vfs| vfs.f_flag.contains(StatVfsMountFlags::RDONLY))
}

fn touch(dir: &Path, name: &str) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(dir.join(name))
        .map(drop)
        .context(format!("create {}", dir.join(name).display()))
}

fn stopped(dir: &Path, deadline: Instant) -> bool {
    Instant::now() >= deadline || dir.join("stop").exists()
}

/// The hunters' loop: `visit(pid, comm)` for every other process, scan
/// after scan, until `DIR/stop` exists or the deadline passes; `DIR/ready`
/// once the first scan is done. Returns the number of scans.
fn scan(dir: &Path, deadline: Instant, mut visit: impl FnMut(i32, String)) -> Result<u64> {
    let mut scans: u64 = 0;
    loop {
        for pid in other_pids() {
            visit(pid, comm(pid));
        }
        scans += 1;
        if scans == 1 {
            touch(dir, "ready")?;
        }
        if stopped(dir, deadline) {
            return Ok(scans);
        }
    }
}

/// Prints nothing itself: writes `DIR/report.json` and returns the report.
fn finish(dir: &Path, report: Value) -> Result<Value> {
    let tmp = dir.join(format!(".report.{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)
        .context(format!("create {}", tmp.display()))?;
    writeln!(f, "{report}").context(format!("write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, dir.join("report.json")).context("rename report.json")?;
    Ok(report)
}

/// Counts per comm of an outcome, with the first few pids.
#[derive(Default)]
struct Tally(BTreeMap<String, (u64, BTreeSet<i32>)>);

impl Tally {
    fn add(&mut self, key: String, pid: i32) {
        let entry = self.0.entry(key).or_default();
        entry.0 += 1;
        if entry.1.len() < 8 {
            entry.1.insert(pid);
        }
    }

    fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .0
            .iter()
            .take(MAX_REPORTED)
            .map(|(k, (n, pids))| (k.clone(), json!({"count": n, "pids": pids})))
            .collect();
        Value::Object(map)
    }
}

/// One executable reached through /proc/<pid>/exe.
struct Held {
    fd: OwnedFd,
    pid: i32,
    comm: String,
    target: String,
    dev: u64,
    ino: u64,
    readonly: bool,
    /// null until tried; "ok" once an O_WRONLY open succeeded, else the
    /// last errno.
    write: Value,
}

/// The `exe-hunt DIR SECONDS` subcommand (CVE-2019-5736): opens
/// /proc/<pid>/exe of every other process (O_PATH), keeps one handle per
/// executable, and once hunting stops tries each for writing through
/// /proc/self/fd. Reports {scans, seen, denied, handles}.
pub fn exe_hunt(args: &[OsString]) -> Result<Value> {
    let (dir, limit) = parse("exe-hunt", args)?;
    let deadline = Instant::now() + limit;
    let mut held: Vec<Held> = Vec::new();
    let mut seen = Tally::default();
    let mut denied = Tally::default();
    let scans = scan(&dir, deadline, |pid, name| {
        match open_raw(&format!("/proc/{pid}/exe"), libc::O_PATH) {
            Ok(fd) => {
                let Ok(meta) = std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                else {
                    return;
                };
                if held
                    .iter()
                    .any(|h| h.dev == meta.dev() && h.ino == meta.ino())
                    || held.len() >= MAX_HANDLES
                {
                    return;
                }
                let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let readonly = on_read_only_mount(&fd);
                seen.add(name.clone(), pid);
                held.push(Held {
                    fd,
                    pid,
                    comm: name,
                    target,
                    dev: meta.dev(),
                    ino: meta.ino(),
                    readonly,
                    write: Value::Null,
                });
            }
            // Gone meanwhile.
            Err(e) if e == "ENOENT" || e == "ESRCH" => {}
            Err(e) => denied.add(format!("{name}: {e}"), pid),
        }
    })?;
    for _ in 0..WRITE_TRIES {
        for h in held
            .iter_mut()
            .filter(|h| h.write != "ok" && !OWN_COMMS.contains(&h.comm.as_str()))
        {
            let path = format!("/proc/self/fd/{}", h.fd.as_raw_fd());
            h.write = match open_raw(&path, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY) {
                Ok(fd) => {
                    drop(fd);
                    json!("ok")
                }
                Err(e) => json!(e),
            };
        }
        std::thread::sleep(WRITE_PAUSE);
    }
    let handles: Vec<Value> = held
        .iter()
        .map(|h| {
            json!({
                "pid": h.pid,
                "comm": h.comm,
                "target": h.target,
                "dev": h.dev,
                "ino": h.ino,
                "readonly": h.readonly,
                "write": h.write,
            })
        })
        .collect();
    finish(
        &dir,
        json!({
            "scans": scans,
            "seen": seen.to_json(),
            "denied": denied.to_json(),
            "handles": handles,
        }),
    )
}

/// The mount id (`mnt_id:` in /proc/<pid>/fdinfo/<fd>) of an fd.
fn mnt_id(pid: i32, fd: u32) -> Value {
    match std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) {
        Ok(info) => info
            .lines()
            .find_map(|l| l.strip_prefix("mnt_id:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(Value::Null, Value::from),
        Err(e) => json!({"errno": io_error_name(&e)}),
    }
}

/// statfs f_type of what `path` names (following the magic link).
fn fs_magic(path: &str) -> Value {
    match rustix::fs::statfs(path) {
        Ok(st) => json!(st.f_type),
        Err(_) => Value::Null,
    }
}

/// The ids of the mounts in the mount namespace of `pid`.
fn mount_ids(pid: i32) -> Value {
    match std::fs::read(format!("/proc/{pid}/mountinfo")) {
        Ok(info) => Value::Array(
            linux_text::mountinfo::parse(&info)
                .iter()
                .map(|m| Value::from(m.id))
                .collect(),
        ),
        Err(e) => json!({"errno": io_error_name(&e)}),
    }
}

/// What /proc shows of `pid`: exe, cwd, root, the ids of the mounts in
/// its mount namespace, and every fd with the type, device, inode and
/// mount id of what it names (stat through the magic link). An fd whose
/// mount is not in the process's mount namespace names something outside
/// the container's mount tree.
fn reach(pid: i32) -> Value {
    let link = |name: &str| -> Value {
        match std::fs::read_link(format!("/proc/{pid}/{name}")) {
            Ok(t) => json!(t.to_string_lossy()),
            Err(e) => json!({"errno": io_error_name(&e)}),
        }
    };
    let exe = match std::fs::metadata(format!("/proc/{pid}/exe")) {
        Ok(m) => json!({"target": link("exe"), "dev": m.dev(), "ino": m.ino()}),
        Err(e) => json!({"errno": io_error_name(&e)}),
    };
    let fds = match std::fs::read_dir(format!("/proc/{pid}/fd")) {
        Err(e) => json!({"errno": io_error_name(&e)}),
        Ok(d) => {
            let mut numbers: Vec<u32> = d
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect();
            numbers.sort_unstable();
            let list: Vec<Value> = numbers
                .into_iter()
                .map(|n| {
                    let path = format!("/proc/{pid}/fd/{n}");
                    let target = std::fs::read_link(&path)
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let mut entry = json!({"fd": n, "target": target, "mnt_id": mnt_id(pid, n)});
                    match std::fs::metadata(&path) {
                        Ok(m) => {
                            entry["type"] = json!(crate::stat::type_name(m.file_type()));
                            entry["dev"] = json!(m.dev());
                            entry["ino"] = json!(m.ino());
                            entry["fs_magic"] = fs_magic(&path);
                        }
                        Err(e) => entry["type"] = json!({"errno": io_error_name(&e)}),
                    }
                    entry
                })
                .collect();
            Value::Array(list)
        }
    };
    json!({
        "exe": exe,
        "cwd": link("cwd"),
        "root": link("root"),
        "mounts": mount_ids(pid),
        "fds": fds,
    })
}

/// PTRACE_SEIZE `pid`; on success stop it (PTRACE_INTERRUPT), read what
/// /proc shows of it while it cannot exec, and detach. On failure, read
/// what /proc shows of it anyway, and its comm after that.
fn try_trace(pid: i32) -> Value {
    let stopped = match ptrace::seize_and_stop(pid, STOP_WAIT) {
        Ok(stopped) => stopped,
        Err(e) => {
            let attach = errno_name(e);
            let seen = reach(pid);
            // Read after /proc: if the process has exec'd by now, what was
            // seen may be of its next program.
            return json!({"attach": attach, "reach": seen, "comm_after": comm(pid)});
        }
    };
    let comm_stopped = comm(pid);
    let seen = reach(pid);
    // Harmless if it is gone.
    let _ = ptrace::plain(Plain::Detach, pid);
    json!({"attach": "ok", "stopped": stopped, "comm_stopped": comm_stopped, "reach": seen})
}

/// The `ptrace-hunt DIR SECONDS` subcommand (CVE-2016-9962): tries
/// PTRACE_SEIZE once on every process whose comm is not one of the
/// container's own programs (per pid and comm), and reports, for each,
/// the attach outcome and what /proc shows of it (exe, cwd, root, fds
/// with their types). Reports {scans, seen, attempts}.
pub fn ptrace_hunt(args: &[OsString]) -> Result<Value> {
    let (dir, limit) = parse("ptrace-hunt", args)?;
    let deadline = Instant::now() + limit;
    let mut tried: BTreeSet<(i32, String)> = BTreeSet::new();
    let mut attempts: Vec<Value> = Vec::new();
    let mut seen = Tally::default();
    let scans = scan(&dir, deadline, |pid, name| {
        if OWN_COMMS.contains(&name.as_str()) || name == "?" {
            return;
        }
        if !tried.insert((pid, name.clone())) {
            return;
        }
        seen.add(name.clone(), pid);
        if attempts.len() < MAX_REPORTED {
            let mut outcome = try_trace(pid);
            outcome["pid"] = json!(pid);
            outcome["comm"] = json!(name);
            attempts.push(outcome);
        }
    })?;
    finish(
        &dir,
        json!({"scans": scans, "seen": seen.to_json(), "attempts": attempts}),
    )
}

/// How often one process is tried without ptrace (once per scan) while
/// it is not one of the container's own programs.
const ROOT_TRIES: u32 = 200;

/// Read `path` (the host canary seen through another process's root):
/// "ok" or the errno.
fn try_read(path: &str) -> Value {
    match std::fs::read(path) {
        Ok(_) => json!("ok"),
        Err(e) => json!(io_error_name(&e)),
    }
}

/// Create `path` (O_CREAT|O_EXCL, nothing written): "ok" or the errno.
fn try_create(path: &str) -> Value {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => json!("ok"),
        Err(e) => json!(io_error_name(&e)),
    }
}

/// One look through /proc/<pid>/root (and cwd): its root and cwd links,
/// and the outcome of reading `canary` and creating `<hostdir>/<name>`
/// through the root.
fn through_root(pid: i32, canary: &str, hostdir: &str, name: &str) -> Value {
    let link = |what: &str| -> Value {
        match std::fs::read_link(format!("/proc/{pid}/{what}")) {
            Ok(t) => json!(t.to_string_lossy()),
            Err(e) => json!({"errno": io_error_name(&e)}),
        }
    };
    let root = format!("/proc/{pid}/root");
    json!({
        "root": link("root"),
        "cwd": link("cwd"),
        "read": try_read(&format!("{root}{canary}")),
        "create": try_create(&format!("{root}{hostdir}/{name}")),
    })
}

/// What a tracer reaches: PTRACE_SEIZE `pid`, stop it, look through its
/// root and at its fds (`reach`) while it is stopped, detach.
fn through_traced_root(pid: i32, canary: &str, hostdir: &str, name: &str) -> Value {
    let stopped = match ptrace::seize_and_stop(pid, STOP_WAIT) {
        Ok(stopped) => stopped,
        Err(e) => return json!({"attach": errno_name(e)}),
    };
    let mut seen = through_root(pid, canary, hostdir, name);
    seen["reach"] = reach(pid);
    seen["attach"] = json!("ok");
    seen["stopped"] = json!(stopped);
    seen["comm_stopped"] = json!(comm(pid));
    // Harmless if it is gone.
    let _ = ptrace::plain(Plain::Detach, pid);
    seen
}

/// Whether an outcome of `through_root` reached the host.
fn reached(v: &Value) -> bool {
    v["read"] == "ok" || v["create"] == "ok"
}

/// The `root-hunt DIR SECONDS CANARY HOSTDIR` subcommand, for a pod's
/// sandbox that may ptrace: every process that appears in its pid
/// namespace and is not one of the container's own programs (a runtime
/// process as another container joins the pod) is looked through: its
/// /proc/<pid>/root at once, then PTRACE_SEIZE'd and stopped, and again
/// on every scan (ROOT_TRIES at most) while it stays a runtime process
/// and until one look reaches the host.
/// Through the root it tries to read the host file CANARY and to create
/// `esc-pod-<pid>-<n>` in the host directory HOSTDIR (nothing written).
/// Reports {scans, seen, first, reached}: per process the first direct
/// and traced looks, and every look that reached the host.
pub fn root_hunt(args: &[OsString]) -> Result<Value> {
    let [dir, seconds, canary, hostdir] = args else {
        return Err(ProbeError::new(
            "usage: probe root-hunt DIR SECONDS CANARY HOSTDIR",
        ));
    };
    let (dir, limit) = parse("root-hunt", &[dir.clone(), seconds.clone()])?;
    let canary = canary.to_string_lossy().into_owned();
    let hostdir = hostdir.to_string_lossy().into_owned();
    let deadline = Instant::now() + limit;
    let mut tries: BTreeMap<i32, u32> = BTreeMap::new();
    let mut first: Vec<Value> = Vec::new();
    let mut hits: Vec<Value> = Vec::new();
    let mut seen = Tally::default();
    let scans = scan(&dir, deadline, |pid, name| {
        if OWN_COMMS.contains(&name.as_str()) || name == "?" {
            return;
        }
        let n = tries.entry(pid).or_insert(0);
        if *n >= ROOT_TRIES {
            return;
        }
        *n += 1;
        let n = *n;
        let direct = through_root(pid, &canary, &hostdir, &format!("esc-pod-{pid}-{n}"));
        let mut look = json!({"pid": pid, "comm": name, "try": n, "direct": direct});
        if n == 1 {
            seen.add(name.clone(), pid);
            look["traced"] =
                through_traced_root(pid, &canary, &hostdir, &format!("esc-pod-{pid}-t"));
            if first.len() < MAX_REPORTED {
                first.push(look.clone());
            }
        }
        if reached(&look["direct"]) || reached(&look["traced"]) {
            // Once is proof enough: no more files for this process.
            tries.insert(pid, ROOT_TRIES);
            if hits.len() < MAX_REPORTED {
                hits.push(look);
            }
        }
    })?;
    finish(
        &dir,
        json!({"scans": scans, "seen": seen.to_json(), "first": first, "reached": hits}),
    )
}

/// How long `exe-hold`'s daemon waits for `DIR/go`.
const HOLD_LIMIT: Duration = Duration::from_secs(60);

/// The `exe-hold DIR PID` subcommand (CVE-2019-5736, the way a
/// startContainer hook or an `exec` into a created container goes at it):
/// opens /proc/PID/exe (O_PATH) and leaves the handle to a daemon child
/// (own session, stdio on /dev/null), then exits at once, so the hook or
/// exec that ran it returns. Once `DIR/go` exists (the test makes it after
/// `start` returned) the daemon tries to reopen the handle O_WRONLY
/// through /proc/self/fd and writes DIR/report.json: {pid, comm, open,
/// target, dev, ino, readonly, write}. If the open itself fails, the
/// report is written at once, with no daemon.
pub fn exe_hold(args: &[OsString]) -> Result<Value> {
    let [dir, pid] = args else {
        return Err(ProbeError::new("usage: probe exe-hold DIR PID"));
    };
    let dir = PathBuf::from(dir);
    let pid: i32 = pid
        .to_str()
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| ProbeError::new(format!("exe-hold: bad PID {pid:?}")))?;
    let mut report = json!({"pid": pid, "comm": comm(pid)});
    let fd = match open_raw(&format!("/proc/{pid}/exe"), libc::O_PATH) {
        Ok(fd) => fd,
        Err(e) => {
            report["open"] = json!(e);
            return finish(&dir, report);
        }
    };
    report["open"] = json!("ok");
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    if let Ok(meta) = std::fs::metadata(&link) {
        report["dev"] = json!(meta.dev());
        report["ino"] = json!(meta.ino());
    }
    report["target"] = json!(std::fs::read_link(&link)
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default());
    report["readonly"] = json!(on_read_only_mount(&fd));
    // SAFETY: the probe is single-threaded; the child only carries on
    // with its own copy of this process.
    match unsafe { libc::fork() } {
        -1 => Err(ProbeError::new(format!("exe-hold: fork: {}", last_errno()))),
        0 => {
            detach_stdio();
            let deadline = Instant::now() + HOLD_LIMIT;
            while !dir.join("go").exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut write = json!(null);
            for _ in 0..WRITE_TRIES {
                write = match open_raw(&link, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY) {
                    Ok(w) => {
                        drop(w);
                        json!("ok")
                    }
                    Err(e) => json!(e),
                };
                if write == "ok" {
                    break;
                }
                std::thread::sleep(WRITE_PAUSE);
            }
            report["write"] = write;
            let code = i32::from(finish(&dir, report).is_err());
            std::process::exit(code)
        }
        child => Ok(json!({"pid": pid, "daemon": child})),
    }
}

/// A new session, and stdio on /dev/null: whatever waits for the end of
/// the hook's or exec's output does not wait for the daemon.
fn detach_stdio() {
    let _ = rustix::process::setsid();
    if let Ok(null) = rustix::fs::open("/dev/null", OFlags::RDWR, Mode::empty()) {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
        if null.as_raw_fd() <= 2 {
            // It is one of stdio now: keep it open.
            std::mem::forget(null);
        }
    }
}

/// The `ptrace-syscall PID NAME [ARG...]` subcommand (x86_64; escape
/// tests, inside a container only): attaches to PID (PTRACE_SEIZE), stops
/// it, makes it run one syscall of integer arguments (a `syscall`
/// instruction single-stepped with the registers set), puts its registers
/// and text back and detaches. Reports {pid, attach, syscall, ret, errno}:
/// what the traced process got, e.g. the errno its seccomp filter answers.
pub fn ptrace_syscall(args: &[OsString]) -> Result<Value> {
    let Some(([pid, name], rest)) = args.split_first_chunk::<2>() else {
        return Err(ProbeError::new(
            "usage: probe ptrace-syscall PID NAME [ARG...]",
        ));
    };
    let pid: i32 = pid
        .to_str()
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| ProbeError::new(format!("ptrace-syscall: bad PID {pid:?}")))?;
    let name = name.to_string_lossy().into_owned();
    let nr = crate::syscalls::syscall_number(&name)?;
    if rest.len() > 6 {
        return Err(ProbeError::new("ptrace-syscall: at most six arguments"));
    }
    let mut values = [0u64; 6];
    for (slot, arg) in values.iter_mut().zip(rest) {
        *slot = crate::syscalls::parse_integer(arg)?;
    }
    let mut report = json!({"pid": pid, "comm": comm(pid), "syscall": name});
    inject(pid, nr as u64, values, &mut report)?;
    Ok(report)
}

#[cfg(not(target_arch = "x86_64"))]
fn inject(_: i32, _: u64, _: [u64; 6], _: &mut Value) -> Result<()> {
    Err(ProbeError::new("ptrace-syscall: x86_64 only"))
}

#[cfg(target_arch = "x86_64")]
fn inject(pid: i32, nr: u64, args: [u64; 6], report: &mut Value) -> Result<()> {
    if let Err(e) = ptrace::plain(Plain::Seize, pid) {
        report["attach"] = json!(errno_name(e));
        return Ok(());
    }
    report["attach"] = json!("ok");
    // Harmless if it is gone.
    let detach = || {
        let _ = ptrace::plain(Plain::Detach, pid);
    };
    let _ = ptrace::plain(Plain::Interrupt, pid);
    match ptrace::wait_stop(pid, STOP_WAIT) {
        Some(st) if libc::WIFSTOPPED(st) => {}
        other => {
            report["stop"] = json!(format!("{other:?}"));
            detach();
            return Ok(());
        }
    }
    let saved = match ptrace::get_regs(pid) {
        Ok(regs) => regs,
        Err(e) => {
            report["getregs"] = json!(errno_name(e));
            detach();
            return Ok(());
        }
    };
    // A `syscall` instruction (0f 05): the one the process stopped after,
    // or one written over its next instruction for the moment.
    const SYSCALL: u64 = 0x050f;
    let (site, poked) = match ptrace::peek(pid, saved.rip.wrapping_sub(2)) {
        Ok(w) if w & 0xffff == SYSCALL => (saved.rip - 2, None),
        _ => {
            let word = match ptrace::peek(pid, saved.rip) {
                Ok(word) => word,
                Err(e) => {
                    report["peek"] = json!(errno_name(e));
                    detach();
                    return Ok(());
                }
            };
            let patched = (word & !0xffff) | SYSCALL;
            let _ = ptrace::poke(pid, saved.rip, patched);
            (saved.rip, Some(word))
        }
    };
    let mut regs = saved;
    regs.rip = site;
    regs.rax = nr;
    // Not in a syscall any more: no restart of the interrupted one.
    regs.orig_rax = u64::MAX;
    regs.rdi = args[0];
    regs.rsi = args[1];
    regs.rdx = args[2];
    regs.r10 = args[3];
    regs.r8 = args[4];
    regs.r9 = args[5];
    let stepped = ptrace::set_regs(pid, &regs).and_then(|()| ptrace::plain(Plain::SingleStep, pid));
    if let Err(e) = stepped {
        report["step"] = json!(errno_name(e));
    } else {
        match ptrace::wait_stop(pid, STOP_WAIT) {
            Some(st) if libc::WIFSTOPPED(st) => {
                if let Ok(after) = ptrace::get_regs(pid) {
                    let ret = after.rax as i64;
                    report["ret"] = json!(ret);
                    report["errno"] = if (-4095..0).contains(&ret) {
                        json!(errno_name(-ret as i32))
                    } else {
                        Value::Null
                    };
                }
            }
            Some(st) if libc::WIFSIGNALED(st) => {
                report["killed_by"] = json!(libc::WTERMSIG(st));
                return Ok(());
            }
            other => report["step"] = json!(format!("{other:?}")),
        }
    }
    if let Some(word) = poked {
        let _ = ptrace::poke(pid, saved.rip, word);
    }
    let _ = ptrace::set_regs(pid, &saved);
    detach();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_are_refused() {
        assert!(exe_hunt(&[]).is_err());
        assert!(ptrace_hunt(&["/tmp".into(), "x".into()]).is_err());
        assert!(ptrace_hunt(&["/tmp".into(), "-1".into()]).is_err());
        assert!(exe_hold(&["/tmp".into()]).is_err());
        assert!(exe_hold(&["/tmp".into(), "x".into()]).is_err());
        assert!(ptrace_syscall(&["1".into()]).is_err());
        assert!(ptrace_syscall(&["x".into(), "getpid".into()]).is_err());
        assert!(ptrace_syscall(&["1".into(), "nope".into()]).is_err());
        assert!(root_hunt(&["/tmp".into(), "1".into()]).is_err());
    }
}
