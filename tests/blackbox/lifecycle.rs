//! create → start → kill → delete, as `state` reports it.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{tests, Scratch, WAIT};
use crate::host::wait_for;

tests![
    create_start_kill_delete,
    create_does_not_run_the_process_until_start,
    delete_created_container,
    delete_waits_for_a_create_in_progress,
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

/// `delete` of a container whose `create` is still under way (its state
/// not yet written: here a createRuntime hook waits) must not take the
/// directory for one an aborted create left: it waits for the create,
/// then deletes the container it made. Without the lock, the delete
/// removes the directory under the create, which then fails (or leaves
/// an init nobody knows of).
fn delete_waits_for_a_create_in_progress(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let started = s.path("hook-started");
    let go = s.path("hook-go");
    // The hook says it runs, then waits (bounded) for the test.
    let script = format!(
        "touch {started}; i=0; while [ ! -e {go} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done",
        started = started.display(),
        go = go.display()
    );
    bundle.edit(|c| {
        c["hooks"] = serde_json::json!({
            "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}],
        });
    });
    let id = s.id("racing");
    let spawn = |args: &[&OsStr]| {
        let mut all = vec![OsStr::new("--root"), s.root.as_os_str()];
        all.extend_from_slice(args);
        let bin = crate::harness::pivot_bin().unwrap();
        crate::runtime::runtime_command(&bin, &s.dir, &all)
            .0
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the runtime")
    };
    let create = spawn(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    assert!(
        wait_for(WAIT, || started.exists()),
        "the createRuntime hook never ran"
    );
    let delete = spawn(&[OsStr::new("delete"), OsStr::new(&id)]);
    // Give the delete time to do the wrong thing, then let the create on.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&go, "").expect("create the go file");
    let finish = |child: std::process::Child, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut child = child;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).ok();
                return (st.success(), err);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not return");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (created, create_err) = finish(create, "create");
    let (deleted, delete_err) = finish(delete, "delete");
    // Whatever happened, nothing of the container may stay.
    s.pivot(&["delete", "--force", &id]);
    s.reap();
    assert!(
        created,
        "the create in progress failed once delete ran: {create_err}\n(delete said: {delete_err})"
    );
    assert!(
        deleted,
        "delete did not delete the container once its create was done: {delete_err}"
    );
    assert!(!s.root.join(&id).exists(), "state dir remains after delete");
    assert!(s.list_ids().is_empty());
}
