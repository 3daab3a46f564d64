//! `run`: create + start + wait, with exit status and stdio passed through.

use std::ffi::OsStr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{pivot_bin, tests, Scratch};
use crate::runtime::runtime_command;

tests![
    exit_code_passthrough,
    stdout_passthrough,
    deletes_container_afterwards,
    keep_keeps_stopped_container,
    detach_returns_while_running,
    foreground_forwards_signals,
    foreground_reports_death_by_signal,
];

fn exit_code_passthrough(s: &Scratch) {
    for code in [7, 0, 1, 42] {
        let bundle = s.bundle(&["/probe", "exit", &code.to_string()]);
        let out = s.run(&bundle.dir, &s.id("exit"));
        assert_eq!(out.code, code, "exit status not passed through:\n{out}");
    }
}

fn stdout_passthrough(s: &Scratch) {
    let bundle = s.bundle(&["/bin/echo", "hello from the container"]);
    let out = s.run(&bundle.dir, &s.id("echo")).ok();
    assert_eq!(out.stdout, "hello from the container\n", "{out}");
}

fn deletes_container_afterwards(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "3"]);
    let id = s.id("gone");
    assert_eq!(s.run(&bundle.dir, &id).code, 3);
    s.pivot(&["state", &id]).fails();
    assert!(s.list_ids().is_empty());
    assert!(!s.root.join(&id).exists(), "state dir remains after run");
}

fn keep_keeps_stopped_container(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "5"]);
    let id = s.id("keep");
    let out = s.pivot(&[
        OsStr::new("run"),
        OsStr::new("--keep"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    assert_eq!(out.code, 5, "{out}");
    assert_eq!(s.status(&id), "stopped");
    s.delete(&id);
    s.pivot(&["state", &id]).fails();
}

fn detach_returns_while_running(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("detach");
    s.pivot(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    let state = s.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert!(s.alive(pid));
    s.pivot(&["delete", "--force", &id]).ok();
    s.reap();
    s.pivot(&["state", &id]).fails();
}

/// `run` in the foreground, as a child of the test, with output in a file.
fn spawn_run(s: &Scratch, bundle: &std::path::Path, id: &str) -> Child {
    let out = std::fs::File::create(s.path("fg.out")).unwrap();
    let args = [
        OsStr::new("--root"),
        s.root.as_os_str(),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        bundle.as_os_str(),
        OsStr::new(id),
    ];
    runtime_command(&pivot_bin().expect("PIVOT_BIN"), &s.dir, &args)
        .0
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn run")
}

/// Wait until `run` has made the container and started it.
fn wait_running(s: &Scratch, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = s.pivot(&["state", id]);
        if out.code == 0 && out.json()["status"] == "running" {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never ran: {out}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("run did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A signal sent to `run` reaches the container's init, whose exit status
/// `run` then exits with.
fn foreground_forwards_signals(s: &Scratch) {
    // The shell says when its trap is set: the kernel drops a signal the
    // init of a pid namespace has no handler for, so one sent earlier
    // would be lost and the test would wait for nothing.
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "trap 'exit 3' USR1; touch /result/trapped; while :; do sleep 0.05; done",
    ]);
    let id = s.id("fwd");
    let mut child = spawn_run(s, &bundle.dir, &id);
    wait_running(s, &id);
    let trapped =
        crate::host::wait_for(Duration::from_secs(10), || result.join("trapped").exists());
    assert!(trapped, "the container's shell never set its trap");
    crate::sys::kill(child.id() as i32, crate::sys::Signal::USR1).expect("kill -USR1 the runtime");
    assert_eq!(
        wait_exit(&mut child),
        3,
        "USR1 was not passed to the container"
    );
    s.pivot(&["state", &id]).fails();
}

/// A container killed by a signal makes `run` exit with 128+N.
fn foreground_reports_death_by_signal(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("sig");
    let mut child = spawn_run(s, &bundle.dir, &id);
    wait_running(s, &id);
    s.pivot(&["kill", &id, "KILL"]).ok();
    assert_eq!(wait_exit(&mut child), 137);
}
