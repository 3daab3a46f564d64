//! The measuring half of scripts/bench/run.sh: a child subreaper that
//! drives OCI runtimes (runc's CLI) side by side in one scenario (one
//! bundle) and writes a Markdown report and an SVG chart.
//!
//! Built by run.sh with `cargo build --release -p pivot-bench`, run as
//! root. Being a child subreaper, it inherits every container init once the
//! `create` that made it exits, reaps it with waitpid (so `state` never sees
//! a zombie left for a lazy pid 1) and so checks that the container really
//! ran /bin/true to exit status 0. Every runtime command is timed from
//! spawn to wait4; wait4's rusage gives the peak RSS (what
//! `/usr/bin/time -f %M` prints) and the CPU time. Runtimes alternate
//! within each iteration (the starting one rotates), so a noisy machine
//! hurts them all alike, and every timed attempt starts after an idle gap
//! (see `settle`). docs/PERFORMANCE.md describes the method.
//!
//! usage: pivot-bench --out DIR --bundle DIR --sleep-bundle DIR --state DIR
//!        --tag TAG [--iters N] [--exec-iters N] [--rounds N]
//!        [--parallel N] [--gap-ms MS] [--floor-rootfs DIR]
//!        [--config-line TEXT] [--size NAME=BYTES:WITHLIBS:LINKAGE]...
//!        [--scenario NAME] [--tests lifecycle,run,exec,parallel]
//!        [--reference NAME] [--mntns NAME=/proc/PID/ns/mnt]...
//!        NAME=BINARY...
//! Writes DIR/report.md, DIR/samples.tsv, DIR/chart.svg and
//! DIR/failures.log. A runtime given --mntns runs its commands in that
//! mount namespace (joined between fork and exec: no extra process).
//! `--reference` names the runtime of the "≤ 0.3 ×" lifecycle target.
//!
//! `pivot-bench summary [--reference NAME] DIR...` prints one Markdown table
//! over several such runs (the scenarios) and the targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

mod svg;
mod sys;

/// The longest a runtime command may take before it counts as hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// How one runtime command ended.
struct Outcome {
    ok: bool,
    ms: f64,
    /// user + system CPU time of the command and its waited-for children.
    cpu_ms: f64,
    rss_kb: i64,
    detail: String,
}

fn describe_status(st: i32) -> (bool, String) {
    if st & 0x7f == 0 {
        let code = (st >> 8) & 0xff;
        (code == 0, format!("exit status {code}"))
    } else {
        (false, format!("killed by signal {}", st & 0x7f))
    }
}

/// Run argv with stdin and stdout on /dev/null and stderr into `err`, in
/// the mount namespace `ns` if given; time it from spawn to wait4 and take
/// its peak RSS and CPU time from wait4's rusage.
fn run(argv: &[String], err: &Path, ns: Option<&File>) -> Outcome {
    // The bench's own temp dir: no symlink can be there.
    #[allow(clippy::disallowed_methods)]
    let errf = match File::create(err) {
        Ok(f) => f,
        Err(e) => return fail_outcome(format!("{}: {e}", err.display())),
    };
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errf);
    if let Some(ns) = ns {
        sys::in_mount_namespace(&mut cmd, ns);
    }
    let t0 = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail_outcome(format!("{}: {e}", argv.join(" "))),
    };
    let pid = child.id() as i32;
    // A runtime that hangs (youki 0.7.0's `run` sometimes waits for a
    // SIGCHLD that has come and gone) fails the attempt, not the bench.
    if let Some(fd) = sys::pidfd_open(pid) {
        if matches!(sys::poll_readable(fd.as_fd(), COMMAND_TIMEOUT), Ok(false)) {
            let _ = child.kill();
            let _ = sys::wait4(pid, false);
            return fail_outcome(format!(
                "`{}`: no exit within {} s, killed",
                argv.join(" "),
                COMMAND_TIMEOUT.as_secs()
            ));
        }
    }
    let reaped = match sys::wait4(pid, false) {
        Ok(Some(r)) => r,
        Ok(None) => return fail_outcome(format!("wait4 {pid}: nothing reaped")),
        Err(e) => return fail_outcome(format!("wait4 {pid}: {e}")),
    };
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    drop(child);
    let (ok, how) = describe_status(reaped.status);
    let detail = if ok {
        String::new()
    } else {
        let text = fs::read_to_string(err).unwrap_or_default();
        let text = text.trim();
        let tail: String = text
            .chars()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("`{}`: {how}: {tail}", argv.join(" "))
    };
    let ru = &reaped.rusage;
    let cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) as f64 * 1e3
        + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) as f64 / 1e3;
    Outcome {
        ok,
        ms,
        cpu_ms,
        rss_kb: ru.ru_maxrss,
        detail,
    }
}

fn fail_outcome(detail: String) -> Outcome {
    Outcome {
        ok: false,
        ms: 0.0,
        cpu_ms: 0.0,
        rss_kb: 0,
        detail,
    }
}

/// How a container's init ended, seen by us as its subreaper.
enum Exit {
    Code(String, bool),
    NotOurChild,
    Timeout,
}

/// Wait (poll on a pidfd) until `pid` has exited, then reap it.
fn wait_exit(pidfd: Option<&OwnedFd>, pid: i32, timeout: Duration) -> Exit {
    if let Some(fd) = pidfd {
        if !matches!(sys::poll_readable(fd.as_fd(), timeout), Ok(true)) {
            return Exit::Timeout;
        }
    }
    match sys::wait4(pid, false) {
        Ok(Some(r)) => {
            let (ok, how) = describe_status(r.status);
            Exit::Code(how, ok)
        }
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Exit::NotOurChild,
        _ => Exit::Timeout,
    }
}

/// Idle before a timed attempt. On cgroup v1 the first write to a
/// cgroup.procs file takes cgroup_threadgroup_rwsem for writing, which
/// waits for an RCU grace period (~10 ms here) unless another writer did
/// so within the last grace period or two. Back to back, one runtime's
/// create would ride on the previous one's window: the gap makes every
/// attempt start from the same idle state.
fn settle(ctx: &Ctx) {
    if !ctx.gap.is_zero() {
        std::thread::sleep(ctx.gap);
    }
}

/// Reap whatever orphan was reparented to us and has exited.
fn reap_orphans() {
    while let Ok(Some(r)) = sys::wait4(-1, true) {
        let _ = r.pid;
    }
}

/// CPU time a live process has used so far (schedstat: ns on a CPU).
fn cpu_ms_of(pid: i32) -> f64 {
    let s = fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap_or_default();
    s.split_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1e6
}

fn vm_hwm_kb(pid: i32) -> i64 {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[derive(Clone)]
struct Rt {
    name: String,
    bin: String,
    state: String,
    exec: bool,
    /// Its own bundle instead of the scenario's (`--bundle-for`).
    bundle: Option<String>,
    /// Its seccomp filter cache is removed before every lifecycle
    /// (`--cold-seccomp`): each create compiles the profile afresh.
    cold_seccomp: bool,
    /// The mount namespace its commands run in (crun: one where the
    /// cgroup-v1 hugetlb hierarchy is mounted), or the harness's own.
    mntns: Option<Arc<File>>,
}

impl Rt {
    fn cmd(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![self.bin.clone(), "--root".into(), self.state.clone()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// Run `BINARY --root STATE ARGS...` (see `run`), in the runtime's
    /// mount namespace if it has one.
    fn run(&self, args: &[&str], err: &Path) -> Outcome {
        run(&self.cmd(args), err, self.mntns.as_deref())
    }
}

/// Per test and runtime: attempts, failures, exits not verified.
type Tries = (u32, u32, u32);

struct Ctx {
    out: PathBuf,
    bundle: String,
    sleep_bundle: String,
    tag: String,
    floor_rootfs: Option<String>,
    par: usize,
    /// Idle time before each timed attempt (see `settle`).
    gap: Duration,
    samples: Mutex<BTreeMap<(String, String, String), Vec<f64>>>,
    tries: Mutex<BTreeMap<(String, String), Tries>>,
    faillog: Mutex<File>,
    /// Runtimes whose `run` failed in the warm-up: left out of that test.
    no_run: Mutex<Vec<String>>,
}

impl Ctx {
    fn add(&self, test: &str, rt: &str, metric: &str, v: f64) {
        self.samples
            .lock()
            .unwrap()
            .entry((test.into(), rt.into(), metric.into()))
            .or_default()
            .push(v);
    }
    fn get(&self, test: &str, rt: &str, metric: &str) -> Vec<f64> {
        self.samples
            .lock()
            .unwrap()
            .get(&(test.into(), rt.into(), metric.into()))
            .cloned()
            .unwrap_or_default()
    }
    fn tally(&self, test: &str, rt: &str, failed: bool, unverified: bool) {
        let mut t = self.tries.lock().unwrap();
        let e = t.entry((test.into(), rt.into())).or_default();
        e.0 += 1;
        e.1 += failed as u32;
        e.2 += unverified as u32;
    }
    fn fail(&self, test: &str, rt: &str, id: &str, why: &str) {
        let mut f = self.faillog.lock().unwrap();
        let _ = writeln!(f, "{test}\t{rt}\t{id}\t{why}");
        eprintln!("bench: FAILED {test} {rt} {id}: {why}");
    }
    fn err_path(&self, slot: &str) -> PathBuf {
        self.out.join(format!("stderr-{slot}.txt"))
    }
}

/// Untimed cleanup after a failure: force-delete, then reap the init.
fn force_delete(rt: &Rt, id: &str, ctx: &Ctx, pid: Option<(Option<&OwnedFd>, i32)>) {
    rt.run(&["delete", "--force", id], &ctx.err_path("cleanup"));
    if let Some((pidfd, pid)) = pid {
        wait_exit(pidfd, pid, Duration::from_secs(5));
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// pivot's cache of compiled seccomp filters, under its `--root`.
const SECCOMP_CACHE: &str = "pivot@seccomp";

struct Lc {
    create: Outcome,
    start: Outcome,
    wait: f64,
    delete: Outcome,
    init_hwm: i64,
    init_cpu: f64,
    unverified: bool,
}

/// create, start, wait for the exit of /bin/true, delete.
fn lifecycle(rt: &Rt, id: &str, ctx: &Ctx, slot: &str) -> Result<Lc, String> {
    let err = ctx.err_path(slot);
    let pidfile = ctx.out.join(format!("{id}.pid"));
    let pf = pidfile.to_string_lossy().to_string();
    if rt.cold_seccomp {
        // Untimed: the next create finds no compiled filter.
        let cache = Path::new(&rt.state).join(SECCOMP_CACHE);
        if let Err(e) = fs::remove_dir_all(&cache) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(format!("removing {}: {e}", cache.display()));
            }
        }
    }
    let bundle = rt.bundle.as_deref().unwrap_or(&ctx.bundle);
    let c = rt.run(&["create", "--bundle", bundle, "--pid-file", &pf, id], &err);
    if !c.ok {
        force_delete(rt, id, ctx, None);
        return Err(format!("create: {}", c.detail));
    }
    let Some(pid) = read_pid(&pidfile) else {
        force_delete(rt, id, ctx, None);
        return Err("create: no pid in --pid-file".into());
    };
    let _ = fs::remove_file(&pidfile);
    let pidfd = sys::pidfd_open(pid);
    let init_hwm = vm_hwm_kb(pid);
    let init_cpu = cpu_ms_of(pid);
    let s = rt.run(&["start", id], &err);
    if !s.ok {
        force_delete(rt, id, ctx, Some((pidfd.as_ref(), pid)));
        return Err(format!("start: {}", s.detail));
    }
    let tw = Instant::now();
    let ex = wait_exit(pidfd.as_ref(), pid, Duration::from_secs(10));
    let wait = tw.elapsed().as_secs_f64() * 1e3;
    drop(pidfd);
    let unverified = match ex {
        Exit::Code(_, true) => false,
        Exit::NotOurChild => true,
        Exit::Code(how, false) => {
            force_delete(rt, id, ctx, None);
            return Err(format!("container process: {how}"));
        }
        Exit::Timeout => {
            force_delete(rt, id, ctx, Some((None, pid)));
            return Err("container did not exit within 10 s".into());
        }
    };
    let d = rt.run(&["delete", id], &err);
    if !d.ok {
        force_delete(rt, id, ctx, None);
        return Err(format!("delete: {}", d.detail));
    }
    Ok(Lc {
        create: c,
        start: s,
        wait,
        delete: d,
        init_hwm,
        init_cpu,
        unverified,
    })
}

fn floor_argv(rootfs: &str) -> Vec<String> {
    [
        "unshare", "--fork", "--pid", "--mount", "--net", "--ipc", "--uts",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--mount-proc={rootfs}/proc"),
        "chroot".into(),
        rootfs.into(),
        "/bin/true".into(),
    ])
    .collect()
}

const FLOOR: &str = "floor";

fn lifecycle_round(rts: &[Rt], ctx: &Ctx, opts: &Opts, i: usize, record: bool) {
    let mut names: Vec<Option<&Rt>> = Vec::new();
    if opts.runs("lifecycle") {
        names.extend(rts.iter().map(Some));
        if ctx.floor_rootfs.is_some() {
            names.push(None);
        }
    }
    let k = names.len();
    for j in 0..k {
        let who = names[(i + j) % k];
        settle(ctx);
        match who {
            Some(rt) => {
                let id = format!("pivot-bench-{}-{}-lc{}", ctx.tag, rt.name, i);
                let r = lifecycle(rt, &id, ctx, "main");
                reap_orphans();
                if !record {
                    if let Err(e) = r {
                        ctx.fail("warm-up", &rt.name, &id, &e);
                    }
                    continue;
                }
                match r {
                    Ok(l) => {
                        ctx.tally("lifecycle", &rt.name, false, l.unverified);
                        let total = l.create.ms + l.start.ms + l.wait + l.delete.ms;
                        ctx.add("lifecycle", &rt.name, "create", l.create.ms);
                        ctx.add("lifecycle", &rt.name, "start", l.start.ms);
                        ctx.add("lifecycle", &rt.name, "wait", l.wait);
                        ctx.add("lifecycle", &rt.name, "delete", l.delete.ms);
                        ctx.add("lifecycle", &rt.name, "total", total);
                        let cc = l.create.cpu_ms + l.init_cpu;
                        ctx.add("cpu", &rt.name, "create", cc);
                        ctx.add("cpu", &rt.name, "start", l.start.cpu_ms);
                        ctx.add("cpu", &rt.name, "delete", l.delete.cpu_ms);
                        ctx.add(
                            "cpu",
                            &rt.name,
                            "total",
                            cc + l.start.cpu_ms + l.delete.cpu_ms,
                        );
                        ctx.add("rss", &rt.name, "create", l.create.rss_kb as f64);
                        ctx.add("rss", &rt.name, "init", l.init_hwm as f64);
                        ctx.add(
                            "rss",
                            &rt.name,
                            "sum",
                            (l.create.rss_kb + l.init_hwm) as f64,
                        );
                    }
                    Err(e) => {
                        ctx.tally("lifecycle", &rt.name, true, false);
                        ctx.fail("lifecycle", &rt.name, &id, &e);
                    }
                }
            }
            None => {
                let o = run(
                    &floor_argv(ctx.floor_rootfs.as_ref().unwrap()),
                    &ctx.err_path("main"),
                    None,
                );
                reap_orphans();
                if !record {
                    continue;
                }
                ctx.tally("lifecycle", FLOOR, !o.ok, false);
                if o.ok {
                    ctx.add("lifecycle", FLOOR, "total", o.ms);
                    ctx.add("cpu", FLOOR, "total", o.cpu_ms);
                } else {
                    ctx.fail("lifecycle", FLOOR, "-", &o.detail);
                }
            }
        }
    }
    // `run` (foreground): waits for the container, returns its exit status
    // and, as in runc's CLI, deletes the container itself.
    if !opts.runs("run") {
        return;
    }
    for j in 0..rts.len() {
        let rt = &rts[(i + j) % rts.len()];
        if ctx.no_run.lock().unwrap().contains(&rt.name) {
            continue;
        }
        let id = format!("pivot-bench-{}-{}-run{}", ctx.tag, rt.name, i);
        settle(ctx);
        let o = rt.run(
            &["run", "--bundle", &ctx.bundle, &id],
            &ctx.err_path("main"),
        );
        // Nothing is left to delete when run worked; this is a safety net.
        rt.run(&["delete", "--force", &id], &ctx.err_path("cleanup"));
        reap_orphans();
        if !record {
            if !o.ok {
                ctx.fail("warm-up", &rt.name, &id, &o.detail);
                eprintln!(
                    "bench: {}'s `run` failed in the warm-up: left out of the `run` test",
                    rt.name
                );
                ctx.no_run.lock().unwrap().push(rt.name.clone());
            }
            continue;
        }
        ctx.tally("run", &rt.name, !o.ok, false);
        if o.ok {
            ctx.add("run", &rt.name, "run", o.ms);
        } else {
            ctx.fail("run", &rt.name, &id, &o.detail);
        }
    }
}

/// A long-running container (sleep 1000) to exec into.
fn start_sleeper(rt: &Rt, id: &str, ctx: &Ctx) -> Result<(Option<OwnedFd>, i32), String> {
    let err = ctx.err_path("main");
    let pidfile = ctx.out.join(format!("{id}.pid"));
    let pf = pidfile.to_string_lossy().to_string();
    let c = rt.run(
        &[
            "create",
            "--bundle",
            &ctx.sleep_bundle,
            "--pid-file",
            &pf,
            id,
        ],
        &err,
    );
    if !c.ok {
        force_delete(rt, id, ctx, None);
        return Err(format!("create: {}", c.detail));
    }
    let pid = read_pid(&pidfile).ok_or("no pid in --pid-file")?;
    let pidfd = sys::pidfd_open(pid);
    let s = rt.run(&["start", id], &err);
    if !s.ok {
        force_delete(rt, id, ctx, Some((pidfd.as_ref(), pid)));
        return Err(format!("start: {}", s.detail));
    }
    Ok((pidfd, pid))
}

fn exec_test(rts: &[Rt], ctx: &Ctx, iters: usize) {
    let mut live: Vec<(Rt, String, (Option<OwnedFd>, i32))> = Vec::new();
    for rt in rts.iter().filter(|r| r.exec) {
        let id = format!("pivot-bench-{}-{}-exec", ctx.tag, rt.name);
        match start_sleeper(rt, &id, ctx) {
            Ok(p) => live.push((rt.clone(), id, p)),
            Err(e) => {
                ctx.tally("exec", &rt.name, true, false);
                ctx.fail("exec", &rt.name, &id, &format!("sleeper: {e}"));
            }
        }
    }
    if live.is_empty() {
        return;
    }
    // One untimed warm-up exec each, then alternate.
    for i in 0..iters + 1 {
        for j in 0..live.len() {
            let (rt, id, _) = &live[(i + j) % live.len()];
            settle(ctx);
            let o = rt.run(&["exec", id, "/bin/true"], &ctx.err_path("main"));
            // The sleepers never exit during the test: a sweep cannot reap them.
            reap_orphans();
            if i == 0 {
                if !o.ok {
                    ctx.fail("warm-up", &rt.name, id, &o.detail);
                }
                continue;
            }
            ctx.tally("exec", &rt.name, !o.ok, false);
            if o.ok {
                ctx.add("exec", &rt.name, "exec", o.ms);
                ctx.add("rss", &rt.name, "exec", o.rss_kb as f64);
            } else {
                ctx.fail("exec", &rt.name, id, &o.detail);
            }
        }
    }
    for (rt, id, (pidfd, pid)) in live {
        rt.run(&["kill", &id, "KILL"], &ctx.err_path("cleanup"));
        wait_exit(pidfd.as_ref(), pid, Duration::from_secs(10));
        let d = rt.run(&["delete", "--force", &id], &ctx.err_path("cleanup"));
        if !d.ok {
            ctx.fail("exec", &rt.name, &id, &format!("delete: {}", d.detail));
        }
    }
    reap_orphans();
}

/// n containers created and started at once, then all deleted at once.
fn parallel_round(rt: &Rt, ctx: &Arc<Ctx>, n: usize, round: usize) {
    let ids: Vec<String> = (0..n)
        .map(|k| format!("pivot-bench-{}-{}-par{}-{}", ctx.tag, rt.name, round, k))
        .collect();
    settle(ctx);
    let gate = Arc::new(Barrier::new(n + 1));
    let mut hs = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let (rt, ctx, gate, id) = (rt.clone(), ctx.clone(), gate.clone(), id.clone());
        hs.push(std::thread::spawn(
            move || -> Result<(Option<OwnedFd>, i32), String> {
                let err = ctx.err_path(&format!("par{k}"));
                let pidfile = ctx.out.join(format!("{id}.pid"));
                let pf = pidfile.to_string_lossy().to_string();
                gate.wait();
                let c = rt.run(
                    &["create", "--bundle", &ctx.bundle, "--pid-file", &pf, &id],
                    &err,
                );
                if !c.ok {
                    return Err(format!("create: {}", c.detail));
                }
                let pid = read_pid(&pidfile).ok_or("create: no pid in --pid-file")?;
                let pidfd = sys::pidfd_open(pid);
                let s = rt.run(&["start", &id], &err);
                if !s.ok {
                    return Err(format!("start: {}", s.detail));
                }
                Ok((pidfd, pid))
            },
        ));
    }
    gate.wait();
    let t0 = Instant::now();
    let started: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let t_started = t0.elapsed().as_secs_f64() * 1e3;
    let mut ok = vec![true; n];
    let mut unverified = vec![false; n];
    for (k, r) in started.iter().enumerate() {
        match r {
            Ok((pidfd, pid)) => match wait_exit(pidfd.as_ref(), *pid, Duration::from_secs(20)) {
                Exit::Code(_, true) => {}
                Exit::NotOurChild => unverified[k] = true,
                Exit::Code(how, false) => {
                    ok[k] = false;
                    ctx.fail(
                        "parallel",
                        &rt.name,
                        &ids[k],
                        &format!("container process: {how}"),
                    );
                }
                Exit::Timeout => {
                    ok[k] = false;
                    ctx.fail(
                        "parallel",
                        &rt.name,
                        &ids[k],
                        "container did not exit within 20 s",
                    );
                }
            },
            Err(e) => {
                ok[k] = false;
                ctx.fail("parallel", &rt.name, &ids[k], e);
            }
        }
    }
    let t_exited = t0.elapsed().as_secs_f64() * 1e3;
    let gate = Arc::new(Barrier::new(n + 1));
    let mut hs = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let (rt, ctx, gate, id, go) = (rt.clone(), ctx.clone(), gate.clone(), id.clone(), ok[k]);
        hs.push(std::thread::spawn(move || -> Result<(), String> {
            gate.wait();
            if !go {
                return Ok(());
            }
            let d = rt.run(&["delete", &id], &ctx.err_path(&format!("par{k}")));
            if d.ok {
                Ok(())
            } else {
                Err(format!("delete: {}", d.detail))
            }
        }));
    }
    gate.wait();
    let t1 = Instant::now();
    let deleted: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let t_delete = t1.elapsed().as_secs_f64() * 1e3;
    for (k, r) in deleted.iter().enumerate() {
        if let Err(e) = r {
            ok[k] = false;
            ctx.fail("parallel", &rt.name, &ids[k], e);
        }
    }
    for (k, id) in ids.iter().enumerate() {
        if !ok[k] {
            force_delete(rt, id, ctx, None);
        }
        let _ = fs::remove_file(ctx.out.join(format!("{id}.pid")));
    }
    reap_orphans();
    let fails = ok.iter().filter(|o| !**o).count();
    let unv = unverified.iter().filter(|u| **u).count();
    for k in 0..n {
        ctx.tally("parallel", &rt.name, !ok[k], unverified[k]);
    }
    ctx.add("parallel", &rt.name, "started", t_started);
    ctx.add("parallel", &rt.name, "exited", t_exited - t_started);
    ctx.add("parallel", &rt.name, "delete", t_delete);
    ctx.add("parallel", &rt.name, "total", t_exited + t_delete);
    ctx.add("parallel", &rt.name, "fails", fails as f64);
    eprintln!(
        "bench: parallel {} round {}: {n} containers, started in {:.0} ms, deleted in {:.0} ms, {fails} failed, {unv} unverified",
        rt.name,
        round + 1,
        t_started,
        t_delete
    );
}

// ---------------------------------------------------------------- report

struct Stat {
    med: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn stat(v: &[f64]) -> Option<Stat> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Some(Stat {
        med,
        min: s[0],
        max: s[n - 1],
        n,
    })
}

fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(v: &[f64]) -> String {
    match stat(v) {
        None => "—".into(),
        Some(s) if s.n == 1 => num(s.med),
        Some(s) => format!("{} ({}–{})", num(s.med), num(s.min), num(s.max)),
    }
}

fn med(v: &[f64]) -> Option<f64> {
    stat(v).map(|s| s.med)
}

fn ratio(p: Option<f64>, o: Option<f64>) -> String {
    match (p, o) {
        (Some(p), Some(o)) if o > 0.0 => format!("{:.2}", p / o),
        _ => "—".into(),
    }
}

/// The "pivot ÷ this" cell of a row: pivot's median over this runtime's.
fn ratio_cell(ctx: &Ctx, test: &str, metric: &str, who: &str) -> String {
    if who == "pivot" {
        return "1".into();
    }
    ratio(
        med(&ctx.get(test, "pivot", metric)),
        med(&ctx.get(test, who, metric)),
    )
}

fn tries_cell(ctx: &Ctx, test: &str, rt: &str) -> String {
    if test == "run" && ctx.no_run.lock().unwrap().iter().any(|n| n == rt) {
        return "left out: failed in the warm-up".into();
    }
    let t = ctx.tries.lock().unwrap();
    match t.get(&(test.to_string(), rt.to_string())) {
        None => "—".into(),
        Some((a, f, u)) => {
            let mut s = format!("{f}/{a}");
            if *u > 0 {
                let _ = write!(s, " ({u} exit unverified)");
            }
            s
        }
    }
}

struct Sizes(BTreeMap<String, (u64, u64, String)>);

/// A table of one test's metrics, one row a runtime: `| label | keys... |
/// **total** | [failed] | pivot ÷ this |`, under `title` and `header`.
struct Metrics<'a> {
    test: &'a str,
    keys: &'a [&'a str],
    total: &'a str,
    tries: bool,
}

fn metric_table(m: &mut String, ctx: &Ctx, title: &str, header: &str, rows: &[String], t: Metrics) {
    let _ = writeln!(m, "{title}\n");
    let _ = writeln!(m, "{header}");
    let cols = 3 + t.keys.len() + usize::from(t.tries);
    let _ = writeln!(m, "|---|{}", "---:|".repeat(cols - 1));
    for n in rows {
        let label = if n == FLOOR {
            "floor: `unshare` + `chroot`"
        } else {
            n.as_str()
        };
        let mut line = format!("| {label} |");
        for k in t.keys {
            let _ = write!(line, " {} |", cell(&ctx.get(t.test, n, k)));
        }
        let _ = write!(line, " **{}** |", cell(&ctx.get(t.test, n, t.total)));
        if t.tries {
            let _ = write!(line, " {} |", tries_cell(ctx, t.test, n));
        }
        let _ = writeln!(m, "{line} {} |", ratio_cell(ctx, t.test, t.total, n));
    }
}

fn report(ctx: &Ctx, rts: &[Rt], sizes: &Sizes, cfg: &str, opts: &Opts) -> String {
    let names: Vec<String> = rts.iter().map(|r| r.name.clone()).collect();
    let has_floor = ctx.floor_rootfs.is_some() && opts.runs("lifecycle");
    let mut m = String::new();
    if !cfg.is_empty() {
        let _ = writeln!(m, "{cfg}\n");
    }
    let _ = writeln!(
        m,
        "Times in ms, memory and sizes in KiB; a cell is the median (min–max) of \
         the iterations that succeeded. \"pivot ÷ this\" divides pivot's median by \
         that row's (below 1: pivot is faster or smaller). \"failed\" counts failed \
         attempts out of all attempts; a failed attempt is never timed.\n"
    );

    if opts.runs("lifecycle") {
        let mut rows = names.clone();
        if has_floor {
            rows.push(FLOOR.into());
        }
        metric_table(
            &mut m,
            ctx,
            "#### 1. Lifecycle: create → start → wait for exit → delete",
            "| runtime | create | start | wait for exit | delete | **total** | failed | pivot ÷ this |",
            &rows,
            Metrics {
                test: "lifecycle",
                keys: &["create", "start", "wait", "delete"],
                total: "total",
                tries: true,
            },
        );
        metric_table(
            &mut m,
            ctx,
            &format!(
                "\nCPU time (user + system) of the same lifecycles, ms: what the parallel test \
                 below is bound by on {} CPUs. `create` counts the create command, the children \
                 it waited for and its container init up to the created state.",
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            ),
            "| runtime | create (+ init) | start | delete | **total** | pivot ÷ this |",
            &rows,
            Metrics {
                test: "cpu",
                keys: &["create", "start", "delete"],
                total: "total",
                tries: false,
            },
        );
    }

    if opts.runs("run") {
        let _ = writeln!(
            m,
            "\n#### 1b. `run` (foreground; the runtime deletes the container itself)\n"
        );
        let _ = writeln!(m, "| runtime | **run** | failed | pivot ÷ this |");
        let _ = writeln!(m, "|---|---:|---:|---:|");
        for n in &names {
            let _ = writeln!(
                m,
                "| {n} | **{}** | {} | {} |",
                cell(&ctx.get("run", n, "run")),
                tries_cell(ctx, "run", n),
                ratio_cell(ctx, "run", "run", n)
            );
        }
        if has_floor {
            let _ = writeln!(
                m,
                "| floor: `unshare` + `chroot` | **{}** | {} | {} |",
                cell(&ctx.get("lifecycle", FLOOR, "total")),
                tries_cell(ctx, "lifecycle", FLOOR),
                ratio(
                    med(&ctx.get("run", "pivot", "run")),
                    med(&ctx.get("lifecycle", FLOOR, "total"))
                )
            );
        }
    }

    if opts.runs("exec") {
        let _ = writeln!(
            m,
            "\n#### 2. `exec` of /bin/true into a running container\n"
        );
        let _ = writeln!(
            m,
            "| runtime | **exec** | failed | peak RSS of `exec` | pivot ÷ this |"
        );
        let _ = writeln!(m, "|---|---:|---:|---:|---:|");
        for rt in rts {
            let n = &rt.name;
            if !rt.exec {
                let _ = writeln!(
                    m,
                    "| {n} | n/a (`{n} exec --help` fails: no exec) | — | n/a | n/a |"
                );
                continue;
            }
            let pivot_exec = rts.iter().any(|r| r.name == "pivot" && r.exec);
            let _ = writeln!(
                m,
                "| {n} | **{}** | {} | {} | {} |",
                cell(&ctx.get("exec", n, "exec")),
                tries_cell(ctx, "exec", n),
                cell(&ctx.get("rss", n, "exec")),
                if pivot_exec {
                    ratio_cell(ctx, "exec", "exec", n)
                } else {
                    "n/a".into()
                }
            );
        }
    }

    if opts.runs("parallel") {
        metric_table(
            &mut m,
            ctx,
            &format!(
                "\n#### 3. {} containers created and started in parallel, then deleted in parallel",
                ctx.par
            ),
            "| runtime | create+start (wall) | then until all exited | delete (wall) | **total** | failed | pivot ÷ this |",
            &names,
            Metrics {
                test: "parallel",
                keys: &["started", "exited", "delete"],
                total: "total",
                tries: true,
            },
        );
    }

    if opts.runs("lifecycle") {
        metric_table(
            &mut m,
            ctx,
            "\n#### 4. Peak resident memory of the runtime's own processes during create (KiB)",
            "| runtime | `create` command (wait4 maxrss = `time -f %M`) | its container init while created (VmHWM) | **sum** | pivot ÷ this |",
            &names,
            Metrics {
                test: "rss",
                keys: &["create", "init"],
                total: "sum",
                tries: false,
            },
        );
    }

    if !sizes.0.is_empty() {
        let _ = writeln!(m, "\n#### 5. Binary size (KiB)\n");
        let _ = writeln!(m, "| runtime | **binary** | binary + the shared libraries it loads | linkage | pivot ÷ this (binary) |");
        let _ = writeln!(m, "|---|---:|---:|---|---:|");
        let ps = sizes.0.get("pivot").map(|s| s.0 as f64);
        for n in &names {
            let Some((b, w, link)) = sizes.0.get(n) else {
                continue;
            };
            let r = if n == "pivot" {
                "1".into()
            } else {
                ratio(ps, Some(*b as f64))
            };
            let _ = writeln!(
                m,
                "| {n} | **{}** | {} | {link} | {r} |",
                b / 1024,
                w / 1024
            );
        }
    }

    if opts.scenario == "seccomp" {
        m += &seccomp_cost(ctx);
        return m;
    }
    let _ = writeln!(m, "\n#### Targets (medians of this run)\n");
    let _ = writeln!(m, "| target | pivot vs other → ratio | met |");
    let _ = writeln!(m, "|---|---|:---:|");
    let tgt = |what: &str, test: &str, metric: &str, other: &str, limit: f64| -> String {
        let p = med(&ctx.get(test, "pivot", metric));
        let o = med(&ctx.get(test, other, metric));
        let (meas, met) = match (p, o) {
            (Some(p), Some(o)) if o > 0.0 => (
                format!("{} vs {} → {:.2}", num(p), num(o), p / o),
                if p / o <= limit { "yes" } else { "**no**" },
            ),
            (None, _) => ("pivot: not measured".to_string(), "**no**"),
            _ => (format!("{other}: not measured"), "—"),
        };
        format!("| {what} | {meas} | {met} |\n")
    };
    let reference = opts.reference.as_deref().unwrap_or("runc");
    if opts.runs("lifecycle") {
        m += &tgt(
            "lifecycle total ≤ 0.5 × crun",
            "lifecycle",
            "total",
            "crun",
            0.5,
        );
        m += &tgt(
            &format!("lifecycle total ≤ 0.3 × {reference}"),
            "lifecycle",
            "total",
            reference,
            0.3,
        );
    }
    if opts.runs("exec") {
        if rts.iter().any(|r| r.name == "pivot" && r.exec) {
            m += &tgt("exec ≤ 0.5 × crun", "exec", "exec", "crun", 0.5);
        } else {
            m += "| exec ≤ 0.5 × crun | pivot has no `exec` command (n/a) | **no** |\n";
        }
    }
    if opts.runs("lifecycle") {
        m += &tgt(
            "peak RSS during create (create + init) ≤ crun",
            "rss",
            "sum",
            "crun",
            1.0,
        );
    }
    if opts.runs("parallel") {
        let pf = ctx
            .tries
            .lock()
            .unwrap()
            .get(&("parallel".to_string(), "pivot".to_string()))
            .map(|t| (t.0, t.1));
        let _ = writeln!(
            m,
            "| parallel: no failures | {} | {} |",
            pf.map(|(a, f)| format!("{f} of {a} failed"))
                .unwrap_or("not measured".into()),
            if matches!(pf, Some((_, 0))) {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    m
}

/// The seccomp scenario's verdict: what the profile adds to pivot's
/// lifecycle when its compiled filter is cached (`pivot`, warm) and when
/// it is not (`pivot-cold`), against the same config without
/// `linux.seccomp` (`pivot-no-seccomp`), each the difference of medians.
fn seccomp_cost(ctx: &Ctx) -> String {
    let total = |n: &str| med(&ctx.get("lifecycle", n, "total"));
    let create = |n: &str| med(&ctx.get("lifecycle", n, "create"));
    let mut m = String::from("\n#### What the seccomp profile costs (medians of this run)\n\n");
    m += "| | lifecycle total | of it, create | added by the profile | target | met |\n";
    m += "|---|---:|---:|---:|---:|:---:|\n";
    let base = total("pivot-no-seccomp");
    let fmt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "—".into());
    let _ = writeln!(
        m,
        "| no `linux.seccomp` | {} | {} | — | — | — |",
        fmt(base),
        fmt(create("pivot-no-seccomp"))
    );
    for (n, what, limit) in [
        ("pivot", "profile cached (warm)", 2.0),
        ("pivot-cold", "first container of the profile (cold)", 5.0),
    ] {
        let t = total(n);
        let (added, met) = match (t, base) {
            (Some(t), Some(b)) => (
                format!("{:+.2}", t - b),
                if t - b <= limit { "yes" } else { "**no**" },
            ),
            _ => ("not measured".into(), "**no**"),
        };
        let _ = writeln!(
            m,
            "| {what} | {} | {} | {added} | ≤ {limit} ms | {met} |",
            fmt(t),
            fmt(create(n))
        );
    }
    m
}

/// The quartiles of a sample (for the chart's whiskers).
fn quartiles(v: &[f64]) -> Option<(f64, f64)> {
    if v.len() < 4 {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |f: f64| s[((s.len() - 1) as f64 * f).round() as usize];
    Some((q(0.25), q(0.75)))
}

/// The SVG of this run: lifecycle phases stacked per runtime, exec, run
/// and the parallel total, medians with their interquartile range.
fn chart(ctx: &Ctx, rts: &[Rt], opts: &Opts) -> String {
    let mut rows: Vec<String> = rts.iter().map(|r| r.name.clone()).collect();
    let mut panels = Vec::new();
    let bar = |n: &str, test: &str, metrics: &[&str], total: &str| -> Option<svg::Bar> {
        let t = ctx.get(test, n, total);
        let value = med(&t)?;
        let segments = metrics
            .iter()
            .map(|k| med(&ctx.get(test, n, k)).unwrap_or(0.0))
            .collect();
        Some(svg::Bar {
            label: if n == FLOOR {
                "floor (unshare+chroot)".into()
            } else {
                n.into()
            },
            segments,
            value,
            spread: quartiles(&t),
            bold: n == "pivot",
        })
    };
    if opts.runs("lifecycle") {
        if ctx.floor_rootfs.is_some() {
            rows.push(FLOOR.into());
        }
        let phases = ["create", "start", "wait", "delete"];
        panels.push(svg::Panel {
            title: "Lifecycle of /bin/true, ms: median of each phase, total median and IQR".into(),
            segments: vec!["create", "start", "wait for exit", "delete"],
            bars: rows
                .iter()
                .filter_map(|n| {
                    if n == FLOOR {
                        bar(n, "lifecycle", &["total"], "total")
                    } else {
                        bar(n, "lifecycle", &phases, "total")
                    }
                })
                .collect(),
        });
        rows.retain(|n| n != FLOOR);
    }
    for (test, metric, title) in [
        (
            "exec",
            "exec",
            "exec of /bin/true into a running container, ms",
        ),
        ("run", "run", "`run` (foreground, deletes itself), ms"),
        (
            "parallel",
            "total",
            "parallel: create+start, wait, delete of many containers, ms",
        ),
    ] {
        if opts.runs(test) {
            panels.push(svg::Panel {
                title: title.into(),
                segments: vec![metric],
                bars: rows
                    .iter()
                    .filter_map(|n| bar(n, test, &[metric], metric))
                    .collect(),
            });
        }
    }
    svg::render(
        &format!("pivot and its peers: {}", opts.scenario),
        "scripts/bench/run.sh; shorter is faster; bars: medians, whiskers: 25th–75th percentile",
        &panels,
    )
}

// ------------------------------------------------------------------ main

/// What one harness run measures, from the command line.
struct Opts {
    scenario: String,
    tests: Vec<String>,
    reference: Option<String>,
}

impl Opts {
    fn runs(&self, test: &str) -> bool {
        self.tests.iter().any(|t| t == test)
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("summary") {
        return summary(&argv[1..]);
    }
    let mut args = argv.into_iter();
    let mut out = None;
    let mut bundle = None;
    let mut sleep_bundle = None;
    let mut state = None;
    let mut tag = None;
    let mut floor_rootfs = None;
    let (mut iters, mut exec_iters, mut rounds, mut par) = (30usize, 10usize, 1usize, 50usize);
    let mut gap_ms = 50u64;
    let mut cfg = String::new();
    let mut sizes = Sizes(BTreeMap::new());
    let mut rts: Vec<(String, String)> = Vec::new();
    let mut mntns: BTreeMap<String, String> = BTreeMap::new();
    let mut bundle_for: BTreeMap<String, String> = BTreeMap::new();
    let mut cold: Vec<String> = Vec::new();
    let mut opts = Opts {
        scenario: "plain".into(),
        tests: ["lifecycle", "run", "exec", "parallel"]
            .map(String::from)
            .to_vec(),
        reference: None,
    };
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(val())),
            "--bundle" => bundle = Some(val()),
            "--sleep-bundle" => sleep_bundle = Some(val()),
            "--state" => state = Some(val()),
            "--tag" => tag = Some(val()),
            "--floor-rootfs" => floor_rootfs = Some(val()),
            "--iters" => iters = val().parse().unwrap_or_else(|_| die("--iters N")),
            "--exec-iters" => exec_iters = val().parse().unwrap_or_else(|_| die("--exec-iters N")),
            "--rounds" => rounds = val().parse().unwrap_or_else(|_| die("--rounds N")),
            "--parallel" => par = val().parse().unwrap_or_else(|_| die("--parallel N")),
            "--gap-ms" => gap_ms = val().parse().unwrap_or_else(|_| die("--gap-ms N")),
            "--config-line" => cfg = val(),
            "--scenario" => opts.scenario = val(),
            "--reference" => opts.reference = Some(val()),
            "--tests" => {
                opts.tests = val().split(',').map(String::from).collect();
                for t in &opts.tests {
                    if !["lifecycle", "run", "exec", "parallel"].contains(&t.as_str()) {
                        die(&format!("--tests: unknown test {t}"));
                    }
                }
            }
            // NAME=/proc/PID/ns/mnt
            "--mntns" => {
                let v = val();
                let (n, path) = v
                    .split_once('=')
                    .unwrap_or_else(|| die("--mntns NAME=PATH"));
                mntns.insert(n.into(), path.into());
            }
            // NAME=DIR: that runtime's lifecycle uses this bundle.
            "--bundle-for" => {
                let v = val();
                let (n, dir) = v
                    .split_once('=')
                    .unwrap_or_else(|| die("--bundle-for NAME=DIR"));
                bundle_for.insert(n.into(), dir.into());
            }
            "--cold-seccomp" => cold.push(val()),
            // NAME=BYTES:WITHLIBS:LINKAGE
            "--size" => {
                let v = val();
                let (n, rest) = v
                    .split_once('=')
                    .unwrap_or_else(|| die("--size NAME=B:W:L"));
                let mut p = rest.splitn(3, ':');
                let b = p.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                let w = p.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                let l = p.next().unwrap_or("").to_string();
                sizes.0.insert(n.into(), (b, w, l));
            }
            _ if a.contains('=') => {
                let (n, b) = a.split_once('=').unwrap();
                rts.push((n.into(), b.into()));
            }
            _ => die(&format!("unknown argument {a}")),
        }
    }
    let out = out.unwrap_or_else(|| die("--out DIR"));
    let state = state.unwrap_or_else(|| die("--state DIR"));
    if rts.is_empty() {
        die("no runtime given");
    }
    if let Err(e) = sys::set_child_subreaper() {
        die(&format!("prctl(PR_SET_CHILD_SUBREAPER): {e}"));
    }
    let faillog = OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("failures.log"))
        .unwrap_or_else(|e| die(&format!("failures.log: {e}")));
    let ctx = Arc::new(Ctx {
        out: out.clone(),
        bundle: bundle.unwrap_or_else(|| die("--bundle DIR")),
        sleep_bundle: sleep_bundle.unwrap_or_else(|| die("--sleep-bundle DIR")),
        tag: tag.unwrap_or_else(|| die("--tag TAG")),
        floor_rootfs,
        par,
        gap: Duration::from_millis(gap_ms),
        samples: Mutex::new(BTreeMap::new()),
        tries: Mutex::new(BTreeMap::new()),
        faillog: Mutex::new(faillog),
        no_run: Mutex::new(Vec::new()),
    });
    let rts: Vec<Rt> = rts
        .into_iter()
        .map(|(name, bin)| {
            let st = format!("{state}/{name}");
            // The bench's own temp dir.
            #[allow(clippy::disallowed_methods)]
            let _ = fs::create_dir_all(&st);
            let help = Command::new(&bin)
                .args(["exec", "--help"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let exec = matches!(help, Ok(s) if s.success());
            reap_orphans();
            let mntns = mntns.get(&name).map(|p| {
                Arc::new(File::open(p).unwrap_or_else(|e| die(&format!("--mntns {p}: {e}"))))
            });
            Rt {
                bundle: bundle_for.get(&name).cloned(),
                cold_seccomp: cold.contains(&name),
                name,
                bin,
                state: st,
                exec,
                mntns,
            }
        })
        .collect();

    let t0 = Instant::now();
    let lc = opts.runs("lifecycle") || opts.runs("run");
    if lc {
        eprintln!("bench: {}: warm-up", opts.scenario);
        lifecycle_round(&rts, &ctx, &opts, 0, false);
        eprintln!(
            "bench: {}: {} {iters} iterations, runtimes alternating",
            opts.scenario,
            opts.tests.join(", ")
        );
        for i in 0..iters {
            lifecycle_round(&rts, &ctx, &opts, i, true);
        }
    }
    if opts.runs("exec") {
        eprintln!("bench: {}: exec, {exec_iters} iterations", opts.scenario);
        exec_test(&rts, &ctx, exec_iters);
    }
    if opts.runs("parallel") {
        eprintln!(
            "bench: {}: parallel, {rounds} round(s) of {par} containers",
            opts.scenario
        );
        for round in 0..rounds {
            for j in 0..rts.len() {
                parallel_round(&rts[(round + j) % rts.len()], &ctx, par, round);
            }
        }
    }
    eprintln!(
        "bench: {}: measured in {:.0} s",
        opts.scenario,
        t0.elapsed().as_secs_f64()
    );

    let mut tsv = String::from("scenario\ttest\truntime\tmetric\tvalues\n");
    for ((t, r, k), v) in ctx.samples.lock().unwrap().iter() {
        let vals: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
        let _ = writeln!(tsv, "{}\t{t}\t{r}\t{k}\t{}", opts.scenario, vals.join(","));
    }
    write_out(&out.join("samples.tsv"), &tsv);
    write_out(
        &out.join("report.md"),
        &report(&ctx, &rts, &sizes, &cfg, &opts),
    );
    write_out(&out.join("chart.svg"), &chart(&ctx, &rts, &opts));
}

/// `pivot-bench summary [--reference NAME] DIR...`: one table over the
/// scenarios (each DIR holds one run's samples.tsv): the lifecycle and exec
/// medians of every runtime with pivot's ratio to them, and the targets.
fn summary(args: &[String]) {
    let mut reference = "runc".to_string();
    let mut dirs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--reference" {
            reference = it
                .next()
                .cloned()
                .unwrap_or_else(|| die("--reference NAME"));
        } else {
            dirs.push(PathBuf::from(a));
        }
    }
    // (scenario, test, runtime, metric) -> samples, scenarios in order.
    let mut data: BTreeMap<(String, String, String, String), Vec<f64>> = BTreeMap::new();
    let mut scenarios: Vec<String> = Vec::new();
    let mut runtimes: Vec<String> = Vec::new();
    for d in &dirs {
        let f = d.join("samples.tsv");
        let text = fs::read_to_string(&f).unwrap_or_else(|e| die(&format!("{}: {e}", f.display())));
        for line in text.lines().skip(1) {
            let c: Vec<&str> = line.split('\t').collect();
            if c.len() != 5 {
                continue;
            }
            if !scenarios.iter().any(|s| s == c[0]) {
                scenarios.push(c[0].into());
            }
            if !runtimes.iter().any(|r| r == c[2]) {
                runtimes.push(c[2].into());
            }
            let v = c[4].split(',').filter_map(|x| x.parse().ok()).collect();
            data.insert((c[0].into(), c[1].into(), c[2].into(), c[3].into()), v);
        }
    }
    runtimes.sort_by_key(|r| (r != "pivot", r == FLOOR, r.clone()));
    let get = |s: &str, t: &str, r: &str, m: &str| -> Option<f64> {
        data.get(&(s.into(), t.into(), r.into(), m.into()))
            .and_then(|v| med(v))
    };
    let cols: Vec<(String, &str, &str)> = scenarios
        .iter()
        .flat_map(|s| {
            [
                (s.clone(), "lifecycle", "total"),
                (s.clone(), "exec", "exec"),
            ]
        })
        .collect();
    let mut m = String::new();
    let _ = writeln!(
        m,
        "#### Summary: medians in ms, and pivot's median ÷ this runtime's in brackets\n"
    );
    let _ = write!(m, "| runtime |");
    for (s, t, _) in &cols {
        let _ = write!(m, " {s}: {t} |");
    }
    let _ = write!(m, "\n|---|");
    for _ in &cols {
        let _ = write!(m, "---:|");
    }
    m.push('\n');
    for r in &runtimes {
        let label = if r == FLOOR {
            "floor: `unshare` + `chroot`"
        } else {
            r.as_str()
        };
        let _ = write!(m, "| {label} |");
        for (s, t, k) in &cols {
            let cell = match (get(s, t, r, k), get(s, t, "pivot", k)) {
                (Some(v), _) if r == "pivot" => format!("**{}**", num(v)),
                (Some(v), Some(p)) if v > 0.0 => format!("{} ({:.2})", num(v), p / v),
                (Some(v), _) => num(v),
                (None, _) => "—".into(),
            };
            let _ = write!(m, " {cell} |");
        }
        m.push('\n');
    }
    let _ = writeln!(m, "\n#### Targets\n");
    let _ = writeln!(m, "| scenario | target | pivot vs other → ratio | met |");
    let _ = writeln!(m, "|---|---|---|:---:|");
    for s in &scenarios {
        for (what, t, k, other, limit) in [
            ("lifecycle ≤ 0.5 × crun", "lifecycle", "total", "crun", 0.5),
            (
                "lifecycle ≤ 0.3 × ",
                "lifecycle",
                "total",
                reference.as_str(),
                0.3,
            ),
            ("exec ≤ 0.5 × crun", "exec", "exec", "crun", 0.5),
        ] {
            let what = if what.ends_with("× ") {
                format!("{what}{other}")
            } else {
                what.to_string()
            };
            let (meas, met) = match (get(s, t, "pivot", k), get(s, t, other, k)) {
                (Some(p), Some(o)) if o > 0.0 => (
                    format!("{} vs {} → {:.2}", num(p), num(o), p / o),
                    if p / o <= limit { "yes" } else { "**no**" },
                ),
                (None, _) => ("pivot: not measured".to_string(), "**no**"),
                _ => (format!("{other}: not measured"), "—"),
            };
            let _ = writeln!(m, "| {s} | {what} | {meas} | {met} |");
        }
    }
    print!("{m}");
}

/// A file in the bench's own output dir.
fn write_out(path: &Path, text: &str) {
    #[allow(clippy::disallowed_methods)]
    if let Err(e) = fs::write(path, text) {
        die(&format!("{}: {e}", path.display()));
    }
}

fn die(msg: &str) -> ! {
    eprintln!("harness: {msg}");
    std::process::exit(2)
}
