use super::*;
use crate::sys::recv_fds;

tests![
    exe_of_created_init_from_sibling,
    exe_of_created_init_from_sibling_with_ptrace_cap,
    exe_of_exec_process,
    exe_of_exec_process_with_ptrace_cap,
    exe_of_exec_into_pod_sibling_with_ptrace_cap,
    exe_of_exec_in_flight_when_pod_sibling_with_ptrace_cap_joins,
    exe_of_init_from_start_hook_with_ptrace_cap,
    exe_of_created_init_from_exec_with_ptrace_cap,
    exe_of_created_init_from_exec_cap_ptrace,
    ptrace_created_init_runs_only_what_seccomp_allows,
    exe_of_exec_into_pod_member_while_exec_cap_ptrace_hunts,
];

/// The exe hunter runs in a second container joining the pid namespace
/// of a created (not started) container, whose init is the runtime's own
/// image; then the victim is started, so the binary is left unexecuted.
fn exe_of_created_init(s: &Scratch, ptrace_cap: bool) {
    guarded(s, &[], |rt| {
        let (victim_id, victim_pid) = victim(s, rt, None);
        let Some(hunter) = sibling_hunter(s, rt, "exe-hunt", &victim_id, victim_pid, ptrace_cap)
        else {
            return;
        };
        // The init stays as it is until start: give the hunter a while.
        std::thread::sleep(Duration::from_millis(300));
        rt.cmd(s, &["start", &victim_id]).ok();
        let report = hunter.report(s);
        eprintln!("pivot-tests: exe-hunt: {}", exe_summary(&report));
        let found = report["denied"].as_object().is_some_and(|d| !d.is_empty())
            || report["handles"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| !own_comm(&h["comm"])));
        assert!(
            found,
            "the hunter never saw the created container's init (pid {victim_pid} on the host): {report:#}"
        );
        let n = assert_binary_unreachable(rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {n}");
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// A hunter joining the pid namespace of the created (not started)
/// container `victim_id`. pivot runs a created init from its own binary as
/// it is (nothing in a new pid namespace can see it) and refuses a
/// container that may ptrace into that pid namespace instead: then the
/// victim is killed and there is no hunt (None).
#[track_caller]
pub(super) fn sibling_hunter(
    s: &Scratch,
    rt: &Rt,
    hunt: &str,
    victim_id: &str,
    victim_pid: i32,
    ptrace_cap: bool,
) -> Option<Hunter> {
    match Hunter::try_start(s, rt, hunt, Some(victim_pid), ptrace_cap) {
        Ok(h) => Some(h),
        Err(out) if ptrace_cap => {
            assert!(
                out.stderr.contains("created but not started"),
                "the hunter's create failed for another reason: {out}"
            );
            eprintln!("pivot-tests: the hunter was refused: {}", out.stderr.trim());
            rt.cmd(s, &["kill", victim_id, "KILL"]);
            None
        }
        Err(out) => panic!("the hunter was not created: {out}"),
    }
}

pub(super) fn own_comm(comm: &Value) -> bool {
    ["probe", "sh", "sleep", "busybox"]
        .iter()
        .any(|c| comm == *c)
}

/// Default capabilities: /proc/1/exe of the non-dumpable init is denied.
fn exe_of_created_init_from_sibling(s: &Scratch) {
    exe_of_created_init(s, false);
}

/// CAP_SYS_PTRACE, which container managers grant on request
/// (`--cap-add SYS_PTRACE`), passes the non-dumpable check: the binary
/// must still not be writable through the handle.
fn exe_of_created_init_from_sibling_with_ptrace_cap(s: &Scratch) {
    exe_of_created_init(s, true);
}

/// How many `exec`s race with a hunter, and for how long at most.
pub(super) const EXEC_ROUNDS: usize = 40;
pub(super) const EXEC_BUDGET: Duration = Duration::from_secs(15);

/// `exec`s into the hunter's container, one after the other, while it
/// loops over /proc (a race, bounded). Returns how many ran.
#[track_caller]
fn exec_rounds(s: &Scratch, rt: &Rt, id: &str) -> usize {
    let started = Instant::now();
    let mut n = 0;
    while n < EXEC_ROUNDS && started.elapsed() < EXEC_BUDGET {
        rt.cmd(s, &["exec", id, "/probe", "pid"]).ok();
        n += 1;
    }
    n
}

fn exe_of_exec_process_with(s: &Scratch, ptrace_cap: bool) {
    guarded(s, &[], |rt| {
        let hunter = Hunter::start(s, rt, "exe-hunt", None, ptrace_cap);
        let n = exec_rounds(s, rt, &hunter.id);
        let report = hunter.report(s);
        eprintln!("pivot-tests: {n} execs; exe-hunt: {}", exe_summary(&report));
        let hits = assert_binary_unreachable(rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
    });
}

/// `exec` joins the container non-dumpable: a root process inside, with
/// the default capabilities, cannot open its /proc/<pid>/exe.
fn exe_of_exec_process(s: &Scratch) {
    exe_of_exec_process_with(s, false);
}

fn exe_of_exec_process_with_ptrace_cap(s: &Scratch) {
    exe_of_exec_process_with(s, true);
}

/// A pod: the victim (default capabilities) runs; a second container that
/// may ptrace joins its pid namespace; then `exec`s go into the victim.
/// Its own config gives no reason to protect them, so the runtime must
/// have learnt of the sibling.
fn exe_of_exec_into_pod_sibling_with_ptrace_cap(s: &Scratch) {
    guarded(s, &[], |rt| {
        let (victim_id, victim_pid) = victim(s, rt, None);
        rt.cmd(s, &["start", &victim_id]).ok();
        let hunter = Hunter::start(s, rt, "exe-hunt", Some(victim_pid), true);
        let n = exec_rounds(s, rt, &victim_id);
        let report = hunter.report(s);
        eprintln!(
            "pivot-tests: {n} execs into the victim; exe-hunt: {}",
            exe_summary(&report)
        );
        let hits = assert_binary_unreachable(rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// A unix socket listening with a backlog of 0 at `path`: one connection
/// that nobody accepts fills it, and the next connect blocks until one is
/// accepted.
fn tight_listener(path: &Path) -> UnixListener {
    use rustix::net::{
        bind, listen, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType,
    };
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("socket");
    bind(&fd, &SocketAddrUnix::new(path).expect("socket path")).expect("bind");
    listen(&fd, 0).expect("listen");
    UnixListener::from(fd)
}

/// Reads a connection to its end, taking (and closing) the fds it
/// passes; close-on-exec at once, so no other test's child inherits them.
fn drain(conn: &std::os::unix::net::UnixStream) {
    let mut data = [0u8; 4096];
    while let Ok((n, fds)) = recv_fds(conn, &mut data) {
        drop(fds);
        if n == 0 {
            return;
        }
    }
}

/// Processes running the runtime copy inside the pid namespace of `pid`.
fn runtime_processes_in_pid_ns_of(rt: &Rt, pid: i32) -> Vec<i32> {
    let (_, ino) = rt.dev_ino();
    let Ok(ns) = std::fs::metadata(format!("/proc/{pid}/ns/pid")) else {
        return Vec::new();
    };
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .filter(|p| {
                    std::fs::metadata(format!("/proc/{p}/ns/pid"))
                        .is_ok_and(|m| (m.dev(), m.ino()) == (ns.dev(), ns.ino()))
                        && std::fs::metadata(format!("/proc/{p}/exe")).is_ok_and(|m| m.ino() == ino)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A pod: an `exec` into the victim (default capabilities) is still the
/// runtime's own image inside the victim's pid namespace (held there:
/// the container's seccomp profile has SCMP_ACT_NOTIFY and the agent's
/// socket takes no connection for a while) when a container that may
/// ptrace joins that pid namespace. The exec read the state before the
/// sibling was recorded, so it did not run from the read-only view: the
/// sibling's create must wait for it before going on.
fn exe_of_exec_in_flight_when_pod_sibling_with_ptrace_cap_joins(s: &Scratch) {
    guarded(s, &[], |rt| {
        let socket = s.path("esc-agent.sock");
        let listener = tight_listener(&socket);
        crate::harness::give_to_user(&socket);
        let release = AtomicBool::new(false);
        let done = AtomicBool::new(false);
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        bundle.edit(|c| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": socket,
                "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"}],
            });
        });
        let victim_id = s.id("victim");
        std::thread::scope(|scope| {
            // The agent: takes the init's fd at once, then nothing until
            // released, then everything.
            scope.spawn(|| {
                listener.set_nonblocking(true).expect("nonblocking");
                let mut first = true;
                while !done.load(Ordering::SeqCst) {
                    if first || release.load(Ordering::SeqCst) {
                        if let Ok((conn, _)) = listener.accept() {
                            conn.set_nonblocking(false).expect("blocking");
                            drain(&conn);
                            first = false;
                            continue;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let finish = || {
                release.store(true, Ordering::SeqCst);
                done.store(true, Ordering::SeqCst);
            };
            // Whatever fails, the agent thread must end for the scope to.
            let outcome = catch(|| {
                let victim_pid = rt.created(s, &bundle, &victim_id);
                rt.cmd(s, &["start", &victim_id]).ok();
                // Fill the backlog: the exec's connect now waits.
                let filler = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
                let pid_file = s.path("esc-exec.pid");
                let args = [
                    os("--root"),
                    s.root.as_os_str(),
                    os("exec"),
                    os("-d"),
                    os("--pid-file"),
                    pid_file.as_os_str(),
                    os(&victim_id),
                    os("/probe"),
                    os("exit"),
                    os("0"),
                ];
                let mut exec = crate::runtime::runtime_command(&rt.bin, &s.dir, &args)
                    .0
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("spawn exec");
                let held = wait_for(Duration::from_secs(10), || {
                    !runtime_processes_in_pid_ns_of(rt, victim_pid).is_empty()
                });
                eprintln!("pivot-tests: the exec is the runtime's image in the pod: {held}");
                // Let the exec go on in a while, whether the sibling's create
                // waits for it or not.
                let releaser = scope.spawn(|| {
                    std::thread::sleep(Duration::from_secs(2));
                    release.store(true, Ordering::SeqCst);
                });
                let hunter = catch(|| Hunter::start(s, rt, "exe-hunt", Some(victim_pid), true));
                releaser.join().expect("releaser");
                let deadline = Instant::now() + COMMAND_TIMEOUT;
                while exec.try_wait().expect("wait exec").is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = exec.kill();
                let _ = exec.wait();
                // The exec'd process, orphaned, is this harness's to reap
                // (subreaper): the victim's init cannot finish dying before.
                if let Some(pid) = std::fs::read_to_string(&pid_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                {
                    s.remember_pid(pid);
                }
                drop(filler);
                finish();
                let hunter = hunter.unwrap_or_else(|e| panic!("{e}"));
                let report = hunter.report(s);
                eprintln!("pivot-tests: exe-hunt: {}", exe_summary(&report));
                let hits = assert_binary_unreachable(rt, &report);
                eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
                rt.cmd(s, &["kill", &victim_id, "KILL"]);
            });
            finish();
            if let Err(msg) = outcome {
                panic!("{msg}");
            }
        });
    });
}

// ---------------------------------------------------------------------
// The created init's /proc/1/exe kept past `start` (probe exe-hold)

/// The report of `probe exe-hold /result 1` run in the container whose
/// result dir is `result`: `go` is made (the test calls this once `start`
/// returned, so no runtime process is left), then the report is awaited.
#[track_caller]
fn held_report(result: &Path) -> Value {
    std::fs::write(result.join("go"), "").expect("create go");
    let path = result.join("report.json");
    wait_file(&path, Duration::from_secs(30));
    let text = std::fs::read_to_string(&path).expect("read report.json");
    json_of(&text, "exe-hold's report")
}

/// The handle exe-hold kept on /proc/1/exe (the created init, the
/// runtime's own image) must not have reopened for writing on the
/// runtime binary: denied at open, on another file (a sealed copy), or
/// read-only (the binary counted by inode number, as in
/// `assert_binary_unreachable`).
#[track_caller]
fn assert_held_unwritable(rt: &Rt, report: &Value) {
    eprintln!(
        "pivot-tests: exe-hold: /proc/1/exe ({}) open={} -> {} ro={} write={}",
        report["comm"], report["open"], report["target"], report["readonly"], report["write"]
    );
    if report["open"] != "ok" {
        return;
    }
    let (_, ino) = rt.dev_ino();
    if report["ino"] != ino {
        return;
    }
    // In the rootless mode root of the container's user namespace is the
    // user, which may not write a binary only host root may write (the
    // runtime may then run it as it is: selfexe.rs, writable_beyond_root):
    // the write must have failed.
    let meta = std::fs::metadata(&rt.bin).expect("stat the runtime copy");
    if crate::harness::rootless() && meta.uid() == 0 && meta.mode() & 0o022 == 0 {
        assert!(
            report["write"] != "ok",
            "a process of a rootless container wrote the runtime binary {}, which only \
             host root may write (CVE-2019-5736)\nreport: {report:#}",
            rt.bin.display()
        );
        return;
    }
    assert!(
        report["readonly"] == true && report["write"] != "ok",
        "a process in the container kept /proc/1/exe of the created init, the runtime \
         binary {} on a writable mount, and reopened it for writing once `start` \
         returned (write attempt: {}): it can overwrite the host's runtime \
         (CVE-2019-5736)\nreport: {report:#}",
        rt.bin.display(),
        report["write"]
    );
}

/// A container with CAP_SYS_PTRACE and a startContainer hook (a program
/// of the image, run by the init with the container's capabilities) that
/// opens /proc/1/exe, the init that is still the runtime, and hands the
/// handle to a daemon that tries it for writing after `start` returned.
fn exe_of_init_from_start_hook_with_ptrace_cap(s: &Scratch) {
    guarded(s, &[], |rt| {
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "30"]);
        add_capability(&bundle, "CAP_SYS_PTRACE");
        bundle.edit(|c| {
            c["hooks"] = json!({"startContainer": [{
                "path": "/probe",
                "args": ["probe", "exe-hold", "/result", "1"],
            }]});
        });
        let id = s.id("hook");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let report = held_report(&result);
        assert_held_unwritable(rt, &report);
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// A container whose config has CAP_SYS_PTRACE, created, not started: an
/// `exec` into it keeps /proc/1/exe of the init past `start`. The exec is
/// a plain one (runc, crun and pivot all take it).
fn exe_of_created_init_from_exec_with_ptrace_cap(s: &Scratch) {
    guarded(s, &[], |rt| {
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "30"]);
        add_capability(&bundle, "CAP_SYS_PTRACE");
        let id = s.id("created");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["exec", &id, "/probe", "exe-hold", "/result", "1"])
            .ok();
        rt.cmd(s, &["start", &id]).ok();
        let report = held_report(&result);
        assert_held_unwritable(rt, &report);
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// The same with the default capabilities and `exec --cap CAP_SYS_PTRACE`:
/// the init cannot be moved onto a read-only binary any more, so pivot
/// refuses the exec (one line saying why); a runtime that takes it must
/// keep the binary unwritable.
fn exe_of_created_init_from_exec_cap_ptrace(s: &Scratch) {
    guarded(s, &[], |rt| {
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "30"]);
        let id = s.id("created");
        rt.created(s, &bundle, &id);
        let out = rt.cmd(
            s,
            &[
                "exec",
                "--cap",
                "CAP_SYS_PTRACE",
                &id,
                "/probe",
                "exe-hold",
                "/result",
                "1",
            ],
        );
        if out.code != 0 {
            assert_exec_refused(&out);
            // The container itself is untouched by the refusal.
            rt.cmd(s, &["start", &id]).ok();
            s.wait_status(&id, "running");
        } else {
            rt.cmd(s, &["start", &id]).ok();
            let report = held_report(&result);
            assert_held_unwritable(rt, &report);
        }
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// A pod of two containers with the default capabilities, both started;
/// the hunter is an `exec -d --cap CAP_SYS_PTRACE` into the second one,
/// then `exec`s go into the first. Neither config gives a reason to
/// protect them: the runtime must have learnt of the exec that may ptrace.
fn exe_of_exec_into_pod_member_while_exec_cap_ptrace_hunts(s: &Scratch) {
    guarded(s, &[], |rt| {
        let (victim_id, victim_pid) = victim(s, rt, None);
        rt.cmd(s, &["start", &victim_id]).ok();
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "60"]);
        bundle.join_namespace("pid", &format!("/proc/{victim_pid}/ns/pid"));
        let member = s.id("member");
        rt.created(s, &bundle, &member);
        rt.cmd(s, &["start", &member]).ok();
        // Orphaned by the detached exec, the hunter becomes this harness's
        // child (subreaper): remembered, so that it is reaped and the pod's
        // init can finish dying.
        let pid_file = s.path("esc-hunter.pid");
        rt.cmd(
            s,
            &[
                os("exec"),
                os("-d"),
                os("--pid-file"),
                pid_file.as_os_str(),
                os("--cap"),
                os("CAP_SYS_PTRACE"),
                os(&member),
                os("/probe"),
                os("exe-hunt"),
                os("/result"),
                os("60"),
            ],
        )
        .ok();
        let hunter: i32 = std::fs::read_to_string(&pid_file)
            .expect("read the hunter's pid file")
            .trim()
            .parse()
            .expect("a pid");
        s.remember_pid(hunter);
        wait_file(&result.join("ready"), WAIT);
        let n = exec_rounds(s, rt, &victim_id);
        std::fs::write(result.join("stop"), "").expect("create stop");
        let path = result.join("report.json");
        wait_file(&path, Duration::from_secs(30));
        let text = std::fs::read_to_string(&path).expect("read report.json");
        let report = json_of(&text, "the hunter's report");
        eprintln!(
            "pivot-tests: {n} execs into the other member; exe-hunt: {}",
            exe_summary(&report)
        );
        let hits = assert_binary_unreachable(rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
        rt.cmd(s, &["kill", &member, "KILL"]);
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// pivot's refusal of an `exec` that may ptrace a created init that still
/// runs the binary as it is.
#[track_caller]
fn assert_exec_refused(out: &Out) {
    let lines = out.stderr_lines();
    assert!(
        out.stderr.contains("created but not started") && lines.len() == 1,
        "the exec failed, but not with one line saying why: {out}"
    );
    eprintln!("pivot-tests: exec refused: {}", lines[0]);
}

/// The `Seccomp:` mode in /proc/<pid>/status, read on the host.
#[track_caller]
fn seccomp_mode(pid: i32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// A process that may ptrace (the config's CAP_SYS_PTRACE, or the default
/// capabilities and `exec --cap CAP_SYS_PTRACE`) attaches to the created
/// init and makes it call getsid, which the container's profile answers
/// with EXDEV. The created init must already be under the filter
/// (`Seccomp: 2`, as runc's), so the call gets EXDEV; pivot may refuse
/// the `--cap` exec instead.
fn ptrace_created_init_runs_only_what_seccomp_allows(s: &Scratch) {
    guarded(s, &[], |rt| {
        for config_cap in [true, false] {
            let bundle = s.bundle(&["/probe", "sleep", "30"]);
            bundle.edit(|c| {
                c["process"]["noNewPrivileges"] = json!(true);
                c["linux"]["seccomp"] = json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_ERRNO",
                                  "errnoRet": libc::EXDEV}],
                });
            });
            if config_cap {
                add_capability(&bundle, "CAP_SYS_PTRACE");
            }
            let id = s.id("seccomp");
            let pid = rt.created(s, &bundle, &id);
            let mode = seccomp_mode(pid);
            let mut exec: Vec<&str> = vec!["exec"];
            if !config_cap {
                exec.extend(["--cap", "CAP_SYS_PTRACE"]);
            }
            exec.extend([&id, "/probe", "ptrace-syscall", "1", "getsid", "0"]);
            let out = rt.cmd(s, &exec);
            rt.cmd(s, &["kill", &id, "KILL"]);
            s.wait_status(&id, "stopped");
            let what = if config_cap {
                "config CAP_SYS_PTRACE"
            } else {
                "exec --cap CAP_SYS_PTRACE"
            };
            if out.code != 0 && !config_cap {
                assert_exec_refused(&out);
            } else {
                let report = out.ok().json();
                eprintln!("pivot-tests: {what}: created init Seccomp: {mode}; injected: {report}");
                assert!(
                    report["attach"] != "ok" || report["errno"] == "EXDEV",
                    "{what}: the created init ran getsid for a tracer in the container, \
                     which its profile answers with EXDEV: {report}"
                );
            }
            assert_eq!(
                mode, "2",
                "{what}: the created init (pid {pid}) has no seccomp filter yet \
                 (Seccomp: {mode}): a tracer can make it run what the profile forbids"
            );
        }
    });
}

// ---------------------------------------------------------------------

/// One line about an exe-hunt report: scans, denials, handles.
fn exe_summary(report: &Value) -> String {
    let handles: Vec<String> = report["handles"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    format!(
                        "{}({}) -> {} ro={} write={}",
                        h["pid"], h["comm"], h["target"], h["readonly"], h["write"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} scans, denied {}, handles [{}]",
        report["scans"],
        report["denied"],
        handles.join(", ")
    )
}

/// Every handle on the runtime binary copy the exe hunter got must be on a
/// read-only mount and must not have opened for writing
/// (CVE-2019-5736). A handle counts as on the binary when its inode
/// number is the binary's, whatever the device: a read-only overlayfs view
/// of the binary's directory reports the file's own inode number on a
/// device of its own. Returns how many such handles there were.
///
/// In the rootless mode a created init is dumpable (selfexe.rs,
/// `created_init_dumpable`) and root of a sibling container in the same
/// user namespace is the user: it opens /proc/<pid>/exe of the init, which
/// runs a binary only host root may write as it is
/// (`writable_beyond_root`), as `assert_held_unwritable` accepts: the
/// write must have failed.
#[track_caller]
fn assert_binary_unreachable(rt: &Rt, report: &Value) -> usize {
    let (_, ino) = rt.dev_ino();
    let on_binary: Vec<&Value> = report["handles"]
        .as_array()
        .expect("report.handles")
        .iter()
        .filter(|h| h["ino"] == ino)
        .collect();
    let meta = std::fs::metadata(&rt.bin).expect("stat the runtime copy");
    let root_only = crate::harness::rootless() && meta.uid() == 0 && meta.mode() & 0o022 == 0;
    for h in &on_binary {
        if root_only {
            assert!(
                h["write"] != "ok",
                "a process of a rootless container wrote the runtime binary {} through \
                 /proc/{}/exe (comm {}), which only host root may write (CVE-2019-5736)\n\
                 report: {report:#}",
                rt.bin.display(),
                h["pid"],
                h["comm"]
            );
            continue;
        }
        assert!(
            h["readonly"] == true && h["write"] != "ok",
            "a process in the container reached the runtime binary {} through /proc/{}/exe \
             (comm {}) on a writable mount (write attempt: {}): once no runtime process \
             runs, it can be overwritten (CVE-2019-5736)\nreport: {report:#}",
            rt.bin.display(),
            h["pid"],
            h["comm"],
            h["write"]
        );
    }
    on_binary.len()
}
