//! `run`: create + start + wait, with exit status and stdio passed through.

use std::ffi::OsStr;

use crate::harness::{tests, Scratch};

tests![
    exit_code_passthrough,
    stdout_passthrough,
    deletes_container_afterwards,
    keep_keeps_stopped_container,
    detach_returns_while_running,
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
