//! `kill`: signal names and numbers, the SIGTERM default, `--all`, and a
//! container whose init dies behind the runtime's back.

use std::ffi::OsStr;
use std::path::Path;

use crate::harness::{tests, Scratch, WAIT};
use crate::host::wait_for;

tests![
    sigkill_by_name_and_number,
    named_signal_reaches_init,
    default_signal_is_sigterm,
    all_signals_every_process,
    init_killed_from_host_is_stopped,
    delete_force_running_leaves_no_process,
    kill_stopped_container_fails,
    signal_0_and_kill_all_of_stopped_container,
    sigkill_without_pid_namespace_kills_every_process,
    sigkill_of_exited_init_without_pid_namespace_kills_what_is_left,
];

/// Waits until `path` exists and holds a complete line; returns the text.
#[track_caller]
fn wait_file(path: &Path) -> String {
    let mut text = String::new();
    let found = wait_for(WAIT, || {
        text = std::fs::read_to_string(path).unwrap_or_default();
        text.ends_with('\n')
    });
    assert!(found, "{} never appeared", path.display());
    text
}

/// A shell init that handles `signal` by running `on_signal`, and waits
/// forever otherwise (pid 1 of a pid namespace only gets signals it handles).
fn trapping_shell(signal: &str, on_signal: &str) -> Vec<String> {
    let script = format!(
        "trap '{on_signal}' {signal}; echo ready > /result/ready; while :; do sleep 3600 & wait; done"
    );
    vec!["/bin/sh".into(), "-c".into(), script]
}

fn sigkill_by_name_and_number(s: &Scratch) {
    for signal in ["SIGKILL", "KILL", "9"] {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        let id = s.id("kill");
        s.create_started(&bundle.dir, &id);
        s.pivot(&["kill", &id, signal]).ok();
        s.wait_status(&id, "stopped");
        s.delete(&id);
    }
}

fn named_signal_reaches_init(s: &Scratch) {
    let args = trapping_shell("USR1", "echo usr1 >> /result/got");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (bundle, result) = s.bundle_with_result(&args);
    let id = s.id("usr1");
    s.create_started(&bundle.dir, &id);
    wait_file(&result.join("ready"));
    for (n, signal) in ["USR1", "SIGUSR1", "10"].iter().enumerate() {
        s.pivot(&["kill", &id, signal]).ok();
        let mut lines = 0;
        let got = wait_for(WAIT, || {
            lines = std::fs::read_to_string(result.join("got"))
                .unwrap_or_default()
                .lines()
                .count();
            lines == n + 1
        });
        assert!(got, "kill {signal}: init saw {lines} of {} signals", n + 1);
    }
    assert_eq!(s.status(&id), "running");
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    s.delete(&id);
}

fn default_signal_is_sigterm(s: &Scratch) {
    let args = trapping_shell("TERM", "echo TERM > /result/sig; exit 0");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (bundle, result) = s.bundle_with_result(&args);
    let id = s.id("term");
    s.create_started(&bundle.dir, &id);
    wait_file(&result.join("ready"));
    s.pivot(&["kill", &id]).ok();
    assert_eq!(wait_file(&result.join("sig")), "TERM\n");
    s.wait_status(&id, "stopped");
    s.delete(&id);
}

fn all_signals_every_process(s: &Scratch) {
    // Init ignores SIGTERM (no handler in a pid namespace's init); its child
    // does not. Only `kill --all` reaches the child.
    let script = "sleep 3600 & child=$!; echo ready > /result/ready; wait $child; echo child:$? > /result/out; sleep 3600";
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", script]);
    let id = s.id("all");
    s.create_started(&bundle.dir, &id);
    wait_file(&result.join("ready"));
    s.pivot(&["kill", "--all", &id, "TERM"]).ok();
    assert_eq!(
        wait_file(&result.join("out")),
        "child:143\n",
        "the child did not get SIGTERM"
    );
    assert_eq!(s.status(&id), "running", "init should have ignored SIGTERM");
    s.pivot(&["kill", "--all", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    s.delete(&id);
    assert!(
        wait_for(WAIT, || s.find_processes().is_empty()),
        "processes left: {:?}",
        s.find_processes()
    );
}

fn init_killed_from_host_is_stopped(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("hostkill");
    let pid = s.create_started(&bundle.dir, &id);
    crate::sys::kill(pid, crate::sys::Signal::KILL).expect("kill the init");
    s.wait_status(&id, "stopped");
    s.delete(&id);
    s.pivot(&["state", &id]).fails();
}

fn delete_force_running_leaves_no_process(s: &Scratch) {
    let script = "sleep 3600 & sleep 3600 & echo ready > /result/ready; wait";
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", script]);
    let id = s.id("force");
    let pid = s.create_started(&bundle.dir, &id);
    wait_file(&result.join("ready"));
    assert_eq!(s.find_processes().len(), 3, "expected sh and two sleeps");
    s.pivot(&["delete", "--force", &id]).ok();
    s.pivot(&["state", &id]).fails();
    assert!(!s.root.join(&id).exists(), "state dir remains");
    assert!(
        wait_for(WAIT, || !s.alive(pid)),
        "init {pid} survived delete --force"
    );
    assert!(
        wait_for(WAIT, || s.find_processes().is_empty()),
        "processes left: {:?}",
        s.find_processes()
    );
}

fn kill_stopped_container_fails(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    let id = s.id("stopped");
    let keep = [
        OsStr::new("run"),
        OsStr::new("--keep"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ];
    s.pivot(&keep).ok();
    assert_eq!(s.status(&id), "stopped");
    s.pivot(&["kill", &id, "KILL"]).fails();
    assert_eq!(s.status(&id), "stopped");
    s.delete(&id);
}

/// Signal 0 (only the checks) is accepted; `kill --all` of a stopped
/// container signals what is left (nothing) and succeeds, as runc's.
fn signal_0_and_kill_all_of_stopped_container(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("sig0");
    let pid = s.create_started(&bundle.dir, &id);
    s.pivot(&["kill", &id, "0"]).ok();
    assert!(s.alive(pid), "signal 0 killed the init");
    assert_eq!(s.status(&id), "running");
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    s.pivot(&["kill", "--all", &id, "0"]).ok();
    s.pivot(&["kill", "-a", &id, "KILL"]).ok();
    s.pivot(&["kill", &id, "0"]).fails();
    s.delete(&id);
}

/// Waits (bounded) until none of the test's container processes is left;
/// returns what was left otherwise.
fn processes_left(s: &Scratch) -> Vec<i32> {
    let mut left = Vec::new();
    wait_for(WAIT, || {
        s.reap();
        left = s.find_processes();
        left.is_empty()
    });
    left
}

/// Without a pid namespace of its own the init's death takes nothing
/// with it: `kill KILL` kills every process of the container's cgroup,
/// as runc 1.2 and later do (runc 1.1.5 signals the init only).
fn sigkill_without_pid_namespace_kills_every_process(s: &Scratch) {
    let script = "sleep 3600 & echo ready > /result/ready; exec sleep 3601";
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", script]);
    bundle.remove_namespace("pid");
    let id = s.id("hostpid");
    s.create_started(&bundle.dir, &id);
    wait_file(&result.join("ready"));
    assert!(
        wait_for(WAIT, || s.find_processes().len() == 2),
        "expected the init and its child: {:?}",
        s.find_processes()
    );
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    let left = processes_left(s);
    s.pivot(&["delete", "--force", &id]).ok();
    assert!(
        left.is_empty(),
        "kill KILL left processes running: {left:?}"
    );
}

/// And once such an init has exited, `kill KILL` still kills what it left
/// in the cgroup, as runc 1.2 and later (before: "container not running").
fn sigkill_of_exited_init_without_pid_namespace_kills_what_is_left(s: &Scratch) {
    let script = "sleep 3600 & echo ready > /result/ready";
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", script]);
    bundle.remove_namespace("pid");
    let id = s.id("hostpidleft");
    s.create_started(&bundle.dir, &id);
    wait_file(&result.join("ready"));
    s.wait_status(&id, "stopped");
    // "stopped" can be seen while the exiting init is not yet a zombie.
    assert!(
        wait_for(WAIT, || s.find_processes().len() == 1),
        "expected the init's child alone: {:?}",
        s.find_processes()
    );
    let out = s.pivot(&["kill", &id, "KILL"]);
    let left = processes_left(s);
    s.pivot(&["delete", "--force", &id]).ok();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        left.is_empty(),
        "kill KILL left processes running: {left:?}"
    );
}
