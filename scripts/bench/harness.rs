//! The measuring half of scripts/bench.sh: a child subreaper that drives
//! OCI runtimes (runc's CLI) side by side and writes a Markdown report.
//!
//! Built by bench.sh with plain `rustc -O` (std only, no crates), run as
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
//! usage: harness --out DIR --bundle DIR --sleep-bundle DIR --state DIR
//!        --tag TAG [--iters N] [--exec-iters N] [--rounds N]
//!        [--parallel N] [--gap-ms MS] [--floor-rootfs DIR]
//!        [--config-line TEXT] [--size NAME=BYTES:WITHLIBS:LINKAGE]...
//!        NAME=BINARY...
//! Writes DIR/report.md, DIR/samples.tsv and DIR/failures.log.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

#[repr(C)]
#[derive(Default)]
struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

extern "C" {
    fn prctl(option: i32, ...) -> i32;
    fn wait4(pid: i32, status: *mut i32, options: i32, ru: *mut Rusage) -> i32;
    fn syscall(num: i64, ...) -> i64;
    fn poll(fds: *mut PollFd, n: u64, timeout: i32) -> i32;
    fn close(fd: i32) -> i32;
}

const PR_SET_CHILD_SUBREAPER: i32 = 36;
const SYS_PIDFD_OPEN: i64 = 434;
const WNOHANG: i32 = 1;
const POLLIN: i16 = 1;
const EINTR: i32 = 4;
const ECHILD: i32 = 10;

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

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

/// Run argv with stdin and stdout on /dev/null and stderr into `err`;
/// time it from spawn to wait4 and take its peak RSS from wait4's rusage.
fn run(argv: &[String], err: &Path) -> Outcome {
    let errf = match File::create(err) {
        Ok(f) => f,
        Err(e) => return fail_outcome(format!("{}: {e}", err.display())),
    };
    let t0 = Instant::now();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errf)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => return fail_outcome(format!("{}: {e}", argv.join(" "))),
    };
    let pid = child.id() as i32;
    let mut st = 0;
    let mut ru = Rusage::default();
    loop {
        let r = unsafe { wait4(pid, &mut st, 0, &mut ru) };
        if r == pid {
            break;
        }
        if errno() != EINTR {
            return fail_outcome(format!("wait4 {pid}: {}", io::Error::last_os_error()));
        }
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    drop(child);
    let (ok, how) = describe_status(st);
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
    let cpu_ms =
        (ru.utime.sec + ru.stime.sec) as f64 * 1e3 + (ru.utime.usec + ru.stime.usec) as f64 / 1e3;
    Outcome {
        ok,
        ms,
        cpu_ms,
        rss_kb: ru.maxrss,
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

fn pidfd_open(pid: i32) -> i32 {
    unsafe { syscall(SYS_PIDFD_OPEN, pid as i64, 0i64) as i32 }
}

/// Wait (poll on a pidfd) until `pid` has exited, then reap it.
fn wait_exit(pidfd: i32, pid: i32, timeout: Duration) -> Exit {
    if pidfd >= 0 {
        let mut p = PollFd {
            fd: pidfd,
            events: POLLIN,
            revents: 0,
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = unsafe { poll(&mut p, 1, left.as_millis() as i32) };
            if r > 0 {
                break;
            }
            if r == 0 || (r < 0 && errno() != EINTR) {
                return Exit::Timeout;
            }
        }
    }
    let mut st = 0;
    loop {
        let r = unsafe { wait4(pid, &mut st, 0, std::ptr::null_mut()) };
        if r == pid {
            let (ok, how) = describe_status(st);
            return Exit::Code(how, ok);
        }
        match errno() {
            EINTR => continue,
            ECHILD => return Exit::NotOurChild,
            _ => return Exit::Timeout,
        }
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
    let mut st = 0;
    while unsafe { wait4(-1, &mut st, WNOHANG, std::ptr::null_mut()) } > 0 {}
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
}

impl Rt {
    fn cmd(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![self.bin.clone(), "--root".into(), self.state.clone()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }
}

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
    tries: Mutex<BTreeMap<(String, String), (u32, u32, u32)>>, // attempts, failures, unverified
    faillog: Mutex<File>,
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
fn force_delete(rt: &Rt, id: &str, ctx: &Ctx, pid: Option<(i32, i32)>) {
    run(
        &rt.cmd(&["delete", "--force", id]),
        &ctx.err_path("cleanup"),
    );
    if let Some((pidfd, pid)) = pid {
        wait_exit(pidfd, pid, Duration::from_secs(5));
        if pidfd >= 0 {
            unsafe { close(pidfd) };
        }
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

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
    let c = run(
        &rt.cmd(&["create", "--bundle", &ctx.bundle, "--pid-file", &pf, id]),
        &err,
    );
    if !c.ok {
        force_delete(rt, id, ctx, None);
        return Err(format!("create: {}", c.detail));
    }
    let Some(pid) = read_pid(&pidfile) else {
        force_delete(rt, id, ctx, None);
        return Err("create: no pid in --pid-file".into());
    };
    let _ = fs::remove_file(&pidfile);
    let pidfd = pidfd_open(pid);
    let init_hwm = vm_hwm_kb(pid);
    let init_cpu = cpu_ms_of(pid);
    let s = run(&rt.cmd(&["start", id]), &err);
    if !s.ok {
        force_delete(rt, id, ctx, Some((pidfd, pid)));
        return Err(format!("start: {}", s.detail));
    }
    let tw = Instant::now();
    let ex = wait_exit(pidfd, pid, Duration::from_secs(10));
    let wait = tw.elapsed().as_secs_f64() * 1e3;
    if pidfd >= 0 {
        unsafe { close(pidfd) };
    }
    let unverified = match ex {
        Exit::Code(_, true) => false,
        Exit::NotOurChild => true,
        Exit::Code(how, false) => {
            force_delete(rt, id, ctx, None);
            return Err(format!("container process: {how}"));
        }
        Exit::Timeout => {
            force_delete(rt, id, ctx, Some((-1, pid)));
            return Err("container did not exit within 10 s".into());
        }
    };
    let d = run(&rt.cmd(&["delete", id]), &err);
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

fn lifecycle_round(rts: &[Rt], ctx: &Ctx, i: usize, record: bool) {
    let mut names: Vec<Option<&Rt>> = rts.iter().map(Some).collect();
    if ctx.floor_rootfs.is_some() {
        names.push(None);
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
    for j in 0..rts.len() {
        let rt = &rts[(i + j) % rts.len()];
        let id = format!("pivot-bench-{}-{}-run{}", ctx.tag, rt.name, i);
        settle(ctx);
        let o = run(
            &rt.cmd(&["run", "--bundle", &ctx.bundle, &id]),
            &ctx.err_path("main"),
        );
        // Nothing is left to delete when run worked; this is a safety net.
        run(
            &rt.cmd(&["delete", "--force", &id]),
            &ctx.err_path("cleanup"),
        );
        reap_orphans();
        if !record {
            if !o.ok {
                ctx.fail("warm-up", &rt.name, &id, &o.detail);
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
fn start_sleeper(rt: &Rt, id: &str, ctx: &Ctx) -> Result<(i32, i32), String> {
    let err = ctx.err_path("main");
    let pidfile = ctx.out.join(format!("{id}.pid"));
    let pf = pidfile.to_string_lossy().to_string();
    let c = run(
        &rt.cmd(&[
            "create",
            "--bundle",
            &ctx.sleep_bundle,
            "--pid-file",
            &pf,
            id,
        ]),
        &err,
    );
    if !c.ok {
        force_delete(rt, id, ctx, None);
        return Err(format!("create: {}", c.detail));
    }
    let pid = read_pid(&pidfile).ok_or("no pid in --pid-file")?;
    let pidfd = pidfd_open(pid);
    let s = run(&rt.cmd(&["start", id]), &err);
    if !s.ok {
        force_delete(rt, id, ctx, Some((pidfd, pid)));
        return Err(format!("start: {}", s.detail));
    }
    Ok((pidfd, pid))
}

fn exec_test(rts: &[Rt], ctx: &Ctx, iters: usize) {
    let mut live: Vec<(Rt, String, (i32, i32))> = Vec::new();
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
            let o = run(&rt.cmd(&["exec", id, "/bin/true"]), &ctx.err_path("main"));
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
        run(&rt.cmd(&["kill", &id, "KILL"]), &ctx.err_path("cleanup"));
        wait_exit(pidfd, pid, Duration::from_secs(10));
        unsafe { close(pidfd) };
        let d = run(
            &rt.cmd(&["delete", "--force", &id]),
            &ctx.err_path("cleanup"),
        );
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
        hs.push(std::thread::spawn(move || -> Result<(i32, i32), String> {
            let err = ctx.err_path(&format!("par{k}"));
            let pidfile = ctx.out.join(format!("{id}.pid"));
            let pf = pidfile.to_string_lossy().to_string();
            gate.wait();
            let c = run(
                &rt.cmd(&["create", "--bundle", &ctx.bundle, "--pid-file", &pf, &id]),
                &err,
            );
            if !c.ok {
                return Err(format!("create: {}", c.detail));
            }
            let pid = read_pid(&pidfile).ok_or("create: no pid in --pid-file")?;
            let pidfd = pidfd_open(pid);
            let s = run(&rt.cmd(&["start", &id]), &err);
            if !s.ok {
                return Err(format!("start: {}", s.detail));
            }
            Ok((pidfd, pid))
        }));
    }
    gate.wait();
    let t0 = Instant::now();
    let started: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let t_started = t0.elapsed().as_secs_f64() * 1e3;
    let mut ok = vec![true; n];
    let mut unverified = vec![false; n];
    for (k, r) in started.iter().enumerate() {
        match r {
            Ok((pidfd, pid)) => {
                match wait_exit(*pidfd, *pid, Duration::from_secs(20)) {
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
                }
                if *pidfd >= 0 {
                    unsafe { close(*pidfd) };
                }
            }
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
            let d = run(&rt.cmd(&["delete", &id]), &ctx.err_path(&format!("par{k}")));
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

fn report(ctx: &Ctx, rts: &[Rt], sizes: &Sizes, cfg: &str) -> String {
    let names: Vec<String> = rts.iter().map(|r| r.name.clone()).collect();
    let has_floor = ctx.floor_rootfs.is_some();
    let mut m = String::new();
    let _ = writeln!(m, "{cfg}\n");
    let _ = writeln!(
        m,
        "Times in ms, memory and sizes in KiB; a cell is the median (min–max) of \
         the iterations that succeeded. \"pivot ÷ this\" divides pivot's median by \
         that row's (below 1: pivot is faster or smaller). \"failed\" counts failed \
         attempts out of all attempts; a failed attempt is never timed.\n"
    );

    let _ = writeln!(
        m,
        "#### 1. Lifecycle: create → start → wait for exit → delete\n"
    );
    let _ = writeln!(
        m,
        "| runtime | create | start | wait for exit | delete | **total** | failed | pivot ÷ this |"
    );
    let _ = writeln!(m, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = names.clone();
    if has_floor {
        rows.push(FLOOR.into());
    }
    for n in &rows {
        let g = |k: &str| cell(&ctx.get("lifecycle", n, k));
        let label = if n == FLOOR {
            "floor: `unshare` + `chroot`".to_string()
        } else {
            n.clone()
        };
        let _ = writeln!(
            m,
            "| {label} | {} | {} | {} | {} | **{}** | {} | {} |",
            g("create"),
            g("start"),
            g("wait"),
            g("delete"),
            g("total"),
            tries_cell(ctx, "lifecycle", n),
            ratio_cell(ctx, "lifecycle", "total", n)
        );
    }

    let _ = writeln!(
        m,
        "\nCPU time (user + system) of the same lifecycles, ms: what the parallel test \
         below is bound by on {} CPUs. `create` counts the create command, the children \
         it waited for and its container init up to the created state.\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let _ = writeln!(
        m,
        "| runtime | create (+ init) | start | delete | **total** | pivot ÷ this |"
    );
    let _ = writeln!(m, "|---|---:|---:|---:|---:|---:|");
    for n in &rows {
        let g = |k: &str| cell(&ctx.get("cpu", n, k));
        let label = if n == FLOOR {
            "floor: `unshare` + `chroot`"
        } else {
            n.as_str()
        };
        let _ = writeln!(
            m,
            "| {label} | {} | {} | {} | **{}** | {} |",
            g("create"),
            g("start"),
            g("delete"),
            g("total"),
            ratio_cell(ctx, "cpu", "total", n)
        );
    }

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

    let par = ctx.par;
    let _ = writeln!(
        m,
        "\n#### 3. {par} containers created and started in parallel, then deleted in parallel\n"
    );
    let _ = writeln!(
        m,
        "| runtime | create+start (wall) | then until all exited | delete (wall) | **total** | failed | pivot ÷ this |"
    );
    let _ = writeln!(m, "|---|---:|---:|---:|---:|---:|---:|");
    for n in &names {
        let g = |k: &str| cell(&ctx.get("parallel", n, k));
        let _ = writeln!(
            m,
            "| {n} | {} | {} | {} | **{}** | {} | {} |",
            g("started"),
            g("exited"),
            g("delete"),
            g("total"),
            tries_cell(ctx, "parallel", n),
            ratio_cell(ctx, "parallel", "total", n)
        );
    }

    let _ = writeln!(
        m,
        "\n#### 4. Peak resident memory of the runtime's own processes during create (KiB)\n"
    );
    let _ = writeln!(
        m,
        "| runtime | `create` command (wait4 maxrss = `time -f %M`) | its container init while created (VmHWM) | **sum** | pivot ÷ this |"
    );
    let _ = writeln!(m, "|---|---:|---:|---:|---:|");
    for n in &names {
        let g = |k: &str| cell(&ctx.get("rss", n, k));
        let _ = writeln!(
            m,
            "| {n} | {} | {} | **{}** | {} |",
            g("create"),
            g("init"),
            g("sum"),
            ratio_cell(ctx, "rss", "sum", n)
        );
    }

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
    m += &tgt(
        "lifecycle total ≤ 0.75 × crun",
        "lifecycle",
        "total",
        "crun",
        0.75,
    );
    m += &tgt(
        "lifecycle total ≤ 0.25 × runc",
        "lifecycle",
        "total",
        "runc",
        0.25,
    );
    if rts.iter().any(|r| r.name == "pivot" && r.exec) {
        m += &tgt("exec ≤ 0.75 × crun", "exec", "exec", "crun", 0.75);
    } else {
        m += "| exec ≤ 0.75 × crun | pivot has no `exec` command (n/a) | **no** |\n";
    }
    m += &tgt(
        "peak RSS during create (create + init) ≤ crun",
        "rss",
        "sum",
        "crun",
        1.0,
    );
    m += &tgt(
        "peak RSS of the `create` command alone ≤ crun",
        "rss",
        "create",
        "crun",
        1.0,
    );
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
    m += &tgt(
        "parallel total ≤ 0.75 × crun",
        "parallel",
        "total",
        "crun",
        0.75,
    );
    m
}

// ------------------------------------------------------------------ main

fn main() {
    let mut args = std::env::args().skip(1);
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
    if unsafe { prctl(PR_SET_CHILD_SUBREAPER, 1u64, 0u64, 0u64, 0u64) } != 0 {
        die(&format!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            io::Error::last_os_error()
        ));
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
    });
    let rts: Vec<Rt> = rts
        .into_iter()
        .map(|(name, bin)| {
            let st = format!("{state}/{name}");
            let _ = fs::create_dir_all(&st);
            let help = Command::new(&bin)
                .args(["exec", "--help"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let exec = matches!(help, Ok(s) if s.success());
            reap_orphans();
            Rt {
                name,
                bin,
                state: st,
                exec,
            }
        })
        .collect();

    let t0 = Instant::now();
    eprintln!("bench: warm-up");
    lifecycle_round(&rts, &ctx, 0, false);
    eprintln!("bench: lifecycle and run, {iters} iterations, runtimes alternating");
    for i in 0..iters {
        lifecycle_round(&rts, &ctx, i, true);
    }
    eprintln!("bench: exec, {exec_iters} iterations");
    exec_test(&rts, &ctx, exec_iters);
    eprintln!("bench: parallel, {rounds} round(s) of {par} containers");
    for round in 0..rounds {
        for j in 0..rts.len() {
            parallel_round(&rts[(round + j) % rts.len()], &ctx, par, round);
        }
    }
    eprintln!("bench: measured in {:.0} s", t0.elapsed().as_secs_f64());

    let mut tsv = String::from("test\truntime\tmetric\tvalues\n");
    for ((t, r, k), v) in ctx.samples.lock().unwrap().iter() {
        let vals: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
        let _ = writeln!(tsv, "{t}\t{r}\t{k}\t{}", vals.join(","));
    }
    let _ = fs::write(out.join("samples.tsv"), tsv);
    let md = report(&ctx, &rts, &sizes, &cfg);
    let _ = fs::write(out.join("report.md"), &md);
}

fn die(msg: &str) -> ! {
    eprintln!("harness: {msg}");
    std::process::exit(2)
}
