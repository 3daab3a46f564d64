//! What podman reads in the runtime's error output. podman (and docker)
//! choose the exit status of `run` and `exec` from the words of the
//! runtime's message when the process could not be started: "no such file
//! or directory" or "executable file not found" gives 127, "permission
//! denied" gives 126, anything else 126 for `run` and 255 for `exec`.
//! The messages are Go's exec.LookPath wording, as runc prints them.
//! scripts/podman/run.sh drives the same through podman.

use crate::harness::{tests, Scratch};
use crate::runtime::Out;

tests![
    run_of_missing_absolute_command,
    run_of_command_not_in_path,
    run_of_non_executable_file,
    run_of_directory,
    exec_of_missing_absolute_command,
    exec_of_non_executable_file,
];

#[track_caller]
fn assert_failed_with(out: &Out, words: &str) {
    assert_ne!(out.code, 0, "the command ran:\n{out}");
    assert!(
        out.stderr.contains(words),
        "the error does not say {words:?}:\n{out}"
    );
}

/// `run` of ARGS in a fresh bundle (with a 0644 /notexec); what it did.
fn run_args(s: &Scratch, args: &[&str]) -> Out {
    let bundle = s.bundle(args);
    std::fs::write(bundle.rootfs().join("notexec"), "#!/bin/sh\n").unwrap();
    let id = s.id("run");
    let out = s.run(&bundle.dir, &id);
    assert!(
        !s.list_ids().contains(&id),
        "a container that never started is still listed"
    );
    out
}

fn run_of_missing_absolute_command(s: &Scratch) {
    let out = run_args(s, &["/no/such/command"]);
    assert_failed_with(&out, "no such file or directory");
    assert_failed_with(&out, "/no/such/command");
}

fn run_of_command_not_in_path(s: &Scratch) {
    let out = run_args(s, &["no-such-command"]);
    assert_failed_with(&out, "executable file not found in $PATH");
}

fn run_of_non_executable_file(s: &Scratch) {
    let out = run_args(s, &["/notexec"]);
    assert_failed_with(&out, "permission denied");
    assert!(
        !out.stderr.contains("no such file or directory"),
        "a file that exists is reported missing:\n{out}"
    );
}

fn run_of_directory(s: &Scratch) {
    let out = run_args(s, &["/tmp"]);
    assert_failed_with(&out, "permission denied");
}

/// A running container; its id.
fn running(s: &Scratch) -> String {
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    std::fs::write(bundle.rootfs().join("notexec"), "#!/bin/sh\n").unwrap();
    let id = s.id("ex");
    s.create_started(&bundle.dir, &id);
    id
}

fn exec_of_missing_absolute_command(s: &Scratch) {
    let id = running(s);
    let out = s.pivot(&["exec", &id, "/no/such/command"]);
    assert_eq!(out.code, 255, "{out}");
    assert_failed_with(&out, "no such file or directory");
    assert_eq!(s.status(&id), "running");
}

fn exec_of_non_executable_file(s: &Scratch) {
    let id = running(s);
    let out = s.pivot(&["exec", &id, "/notexec"]);
    assert_eq!(out.code, 255, "{out}");
    assert_failed_with(&out, "permission denied");
    assert_eq!(s.status(&id), "running");
}
