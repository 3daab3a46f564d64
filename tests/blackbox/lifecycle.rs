//! create → start → kill → delete, as `state` reports it.

use std::ffi::OsStr;

use crate::harness::{tests, Scratch, WAIT};
use crate::host::wait_for;

tests![
    create_start_kill_delete,
    create_does_not_run_the_process_until_start,
    delete_created_container,
];

fn create_start_kill_delete(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("life");
    let pid_file = s.path("pidfile");
    // A relative --bundle: state must still report it absolute.
    let relative = bundle.dir.file_name().unwrap();
    s.pivot_in(
        &s.dir,
        &[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            relative,
            OsStr::new("--pid-file"),
            pid_file.as_os_str(),
            OsStr::new(&id),
        ],
    )
    .ok();

    let state = s.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], id.as_str(), "{state}");
    assert_eq!(
        state["bundle"],
        bundle.dir.to_str().unwrap(),
        "bundle must be absolute: {state}"
    );
    assert!(
        state["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{state}"
    );
    let pid = state["pid"].as_i64().expect("state.pid") as i32;
    assert!(pid > 0 && s.alive(pid), "init {pid} is not alive: {state}");
    let from_file = std::fs::read_to_string(&pid_file).expect("read --pid-file");
    assert_eq!(from_file.trim(), pid.to_string(), "--pid-file content");

    s.pivot(&["start", &id]).ok();
    let state = s.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"], pid, "pid changed on start: {state}");

    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");

    s.delete(&id);
    let out = s.pivot(&["state", &id]).fails();
    assert!(
        out.stdout.trim().is_empty(),
        "state of a deleted container printed:\n{out}"
    );
    assert!(!s.root.join(&id).exists(), "state dir remains after delete");
    assert!(!s.alive(pid), "init {pid} still alive after delete");
    assert!(s.list_ids().is_empty());
}

fn create_does_not_run_the_process_until_start(s: &Scratch) {
    let (bundle, result) = s.bundle_with_result(&["/probe", "write", "/result/ran", "yes"]);
    let id = s.id("gate");
    s.create(&bundle.dir, &id);
    let ran = result.join("ran");
    assert!(!ran.exists(), "the process ran before start");
    s.pivot(&["start", &id]).ok();
    assert!(
        wait_for(WAIT, || ran.exists()),
        "the process did not run after start"
    );
    s.wait_status(&id, "stopped");
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "yes");
    s.delete(&id);
}

fn delete_created_container(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("created");
    let pid = s.create(&bundle.dir, &id);
    s.delete(&id);
    s.pivot(&["state", &id]).fails();
    assert!(
        wait_for(WAIT, || !s.alive(pid)),
        "init {pid} survived delete"
    );
}
