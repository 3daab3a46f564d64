//! `checkpoint` and `restore` through CRIU: what a container was doing
//! (its memory, its terminal, its stdio pipes, its mounts and cgroup) is
//! what it does again after a restore.
//!
//! The tests that need CRIU run where `criu check` passes: CRIU 3.17
//! cannot run on the 6.18 kernel of the development host (its vDSO
//! layout), but does in the cgroup v2 VM (scripts/vm), whose 6.12 kernel
//! it supports. Elsewhere they are skipped, saying why. The tests of
//! refused input run everywhere.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{pivot_bin, tests, Scratch, WAIT};
use crate::host::wait_for;
use crate::runtime::assert_error_mentions;

tests![
    checkpoint_and_restore_keep_the_process_memory,
    checkpoint_and_restore_twice_through_a_terminal,
    restore_reconnects_the_stdio_pipes,
    pre_dump_then_checkpoint_on_its_parent,
    leave_running_keeps_the_container,
    restore_remakes_nested_and_symlinked_bind_mountpoints,
    criu_config_annotation_is_used,
    restore_in_the_foreground_waits_and_deletes,
    joined_network_namespace_stays_the_same,
    without_a_cgroup_namespace_the_cgroup_bind_follows,
    parent_path_must_be_relative_and_exist,
    checkpoint_of_a_created_container_is_refused,
    restore_without_images_leaves_nothing,
];

/// Why CRIU cannot run here, if it cannot (`criu check`, once).
fn criu_unusable() -> Option<&'static str> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| match Command::new("criu").arg("check").output() {
            Err(e) => Some(format!("criu: {e}")),
            Ok(out) if out.status.success() => None,
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stderr).into_owned()
                    + &String::from_utf8_lossy(&out.stdout);
                let line = text
                    .lines()
                    .find(|l| l.contains("Error"))
                    .or_else(|| text.lines().last())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                Some(format!("`criu check` fails on this kernel: {line}"))
            }
        })
        .as_deref()
}

/// True (and says so) when the test must be skipped.
fn skip(test: &str) -> bool {
    match criu_unusable() {
        Some(reason) => {
            eprintln!("pivot-tests: checkpoint::{test} skipped: {reason}");
            true
        }
        None => false,
    }
}

/// The container's stdio, unless a test gives it pipes or a terminal, is
/// the harness's files on the host, which CRIU cannot dump (they are on
/// mounts of another mount namespace): the shells take the container's
/// own /dev/null first, as a real workload has its own stdio.
const QUIET: &str = "exec </dev/null >/dev/null 2>&1; ";

/// A shell counting in memory, writing "TOKEN N" to /result/count: the
/// token, drawn when the shell starts, tells a restored shell from a new
/// one.
const COUNTER: &str = "t=$(cat /proc/sys/kernel/random/uuid); i=0; while :; do i=$((i+1)); echo \"$t $i\" > /result/count; sleep 0.2; done";

/// `sh -c` of QUIET and `script`.
fn quiet(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), format!("{QUIET}{script}")]
}

fn bundle_quiet(s: &Scratch, script: &str) -> Bundle {
    let args = quiet(script);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.bundle(&args)
}

/// A counting container and the host directory it writes its count to.
fn counter_bundle(s: &Scratch) -> (Bundle, PathBuf) {
    let args = quiet(COUNTER);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.bundle_with_result(&args)
}

/// The counter's token and count.
fn read_entry(result: &Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(result.join("count")).ok()?;
    let (token, n) = text.trim().split_once(' ')?;
    Some((token.to_string(), n.parse().ok()?))
}

fn read_count(result: &Path) -> Option<u64> {
    read_entry(result).map(|e| e.1)
}

/// Waits until /result/count reads at least `n`; returns what it read.
#[track_caller]
fn wait_count(result: &Path, n: u64) -> u64 {
    let mut last = None;
    let ok = wait_for(WAIT, || {
        last = read_count(result);
        last.is_some_and(|v| v >= n)
    });
    assert!(ok, "the counter did not reach {n} (last read {last:?})");
    last.unwrap()
}

/// After a restore the same shell counts on from where it was dumped: a
/// new one would have another token and start at 1.
#[track_caller]
fn assert_counts_on(result: &Path, from: &(String, u64)) {
    let mut next = None;
    let ok = wait_for(WAIT, || {
        next = read_entry(result).filter(|e| e.1 != from.1);
        next.is_some()
    });
    assert!(ok, "the counter stayed at {} after the restore", from.1);
    let (token, n) = next.unwrap();
    assert_eq!(token, from.0, "another shell counts: not the one dumped");
    assert!(n > from.1, "the count went from {} to {n}", from.1);
}

fn run_detached(s: &Scratch, bundle: &Bundle, id: &str) {
    s.pivot(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(id),
    ])
    .ok();
    s.state(id);
}

fn checkpoint(s: &Scratch, id: &str, images: &Path, extra: &[&str]) -> crate::runtime::Out {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("checkpoint"),
        OsStr::new("--image-path"),
        images.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    args.push(OsStr::new(id));
    s.pivot(&args)
}

fn restore(
    s: &Scratch,
    bundle: &Bundle,
    id: &str,
    images: &Path,
    extra: &[&OsStr],
) -> crate::runtime::Out {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("restore"),
        OsStr::new("-d"),
        OsStr::new("--image-path"),
        images.as_os_str(),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
    ];
    args.extend(extra.iter().copied());
    args.push(OsStr::new(id));
    s.pivot(&args)
}

/// After a checkpoint the container is gone, as runc leaves it.
#[track_caller]
fn assert_gone(s: &Scratch, id: &str) {
    let out = s.pivot(&["state", id]);
    assert_ne!(out.code, 0, "state after checkpoint:\n{out}");
    assert!(!s.list_ids().contains(id), "still listed after checkpoint");
}

/// The host's view of a process's cgroups names the container.
#[track_caller]
fn assert_in_container_cgroup(pid: i64, id: &str) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    assert!(
        text.contains(id),
        "restored init {pid} is not in the container's cgroup:\n{text}"
    );
}

/// Runs a counting container until it has counted, then checkpoints it;
/// returns the image directory and the count it was dumped at.
fn count_then_checkpoint(
    s: &Scratch,
    bundle: &Bundle,
    result: &Path,
    id: &str,
) -> (PathBuf, (String, u64)) {
    run_detached(s, bundle, id);
    wait_count(result, 2);
    let images = s.path("images");
    checkpoint(s, id, &images, &[]).ok();
    assert_gone(s, id);
    let at = read_entry(result).expect("count after checkpoint");
    (images, at)
}

fn checkpoint_and_restore_keep_the_process_memory(s: &Scratch) {
    if skip("checkpoint_and_restore_keep_the_process_memory") {
        return;
    }
    let (bundle, result) = counter_bundle(s);
    let id = s.id("cr");
    let (images, at) = count_then_checkpoint(s, &bundle, &result, &id);
    assert!(images.join("inventory.img").is_file(), "no images written");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        read_entry(&result),
        Some(at.clone()),
        "the counter ran on after the checkpoint"
    );

    restore(s, &bundle, &id, &images, &[]).ok();
    let state = s.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_counts_on(&result, &at);
    assert_in_container_cgroup(state["pid"].as_i64().unwrap(), &id);
    let out = s.pivot(&["exec", &id, "cat", "/result/count"]).ok();
    assert!(out.stdout.starts_with(&at.0), "{out}");
    s.pivot(&["delete", "-f", &id]).ok();
}

/// A console socket that hands over the pty master of the next connection.
fn console(s: &Scratch) -> (PathBuf, std::thread::JoinHandle<(String, OwnedFd)>) {
    let path = s.path("console.sock");
    let receiver = crate::sys::fd_receiver(UnixListener::bind(&path).unwrap());
    (path, receiver)
}

/// Reads the master until `want` shows up (or panics after WAIT).
#[track_caller]
fn read_until(master: &OwnedFd, want: &str) {
    let seen = crate::tty::read_pty(master, WAIT, Some(want));
    assert!(
        seen.contains(want),
        "the terminal never showed {want:?}; it showed:\n{seen}"
    );
}

/// runc's simple_cr: a terminal container, checkpointed and restored
/// twice; each restore sends a new pty master to --console-socket, and the
/// shell behind it still has the variable set before the first checkpoint.
fn checkpoint_and_restore_twice_through_a_terminal(s: &Scratch) {
    if skip("checkpoint_and_restore_twice_through_a_terminal") {
        return;
    }
    let bundle = s.bundle(&["sh"]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    let id = s.id("crtty");
    let (sock, receiver) = console(s);
    s.pivot(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--console-socket"),
        sock.as_os_str(),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    let mut master = receiver.join().unwrap().1;
    crate::tty::write_all(&master, "KEPT=from-before; echo set-$((40+2))\n");
    read_until(&master, "set-42");
    for round in 0..2 {
        let images = s.path("images");
        checkpoint(s, &id, &images, &[]).ok();
        assert_gone(s, &id);
        drop(master);
        let (sock, receiver) = console(s);
        let out = restore(
            s,
            &bundle,
            &id,
            &images,
            &[OsStr::new("--console-socket"), sock.as_os_str()],
        );
        if out.code != 0 {
            let _ = std::os::unix::net::UnixStream::connect(&sock);
            panic!("restore (round {round}) failed:\n{out}");
        }
        master = receiver.join().unwrap().1;
        assert_eq!(s.status(&id), "running");
        crate::tty::write_all(&master, &format!("echo round{round}-$KEPT\n"));
        read_until(&master, &format!("round{round}-from-before"));
    }
    s.pivot(&["delete", "-f", &id]).ok();
}

/// Reads one line from `r` within WAIT (a thread does the blocking read).
fn read_line(r: std::process::ChildStdout) -> (String, std::process::ChildStdout) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = r;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = r.read(&mut byte) {
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        let _ = tx.send((String::from_utf8_lossy(&line).into_owned(), r));
    });
    rx.recv_timeout(WAIT).expect("no line from the container")
}

/// The test's ends of a container's stdio pipes.
struct Pipes {
    stdin: std::process::ChildStdin,
    stdout: std::process::ChildStdout,
    _stderr: std::process::ChildStderr,
}

/// Starts `pivot ARGS` with its stdin, stdout and stderr piped to the
/// test; the container keeps the pipes once pivot has returned.
fn piped(s: &Scratch, args: &[&OsStr]) -> Pipes {
    let mut child = Command::new(pivot_bin().unwrap())
        .arg("--root")
        .arg(&s.root)
        .args(args)
        .current_dir(&s.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipes = Pipes {
        stdin: child.stdin.take().unwrap(),
        stdout: child.stdout.take().unwrap(),
        _stderr: child.stderr.take().unwrap(),
    };
    let status = child.wait().unwrap();
    assert!(status.success(), "pivot {args:?}: {status}");
    pipes
}

/// A container whose stdin and stdout are pipes: after a restore they are
/// the pipes `restore` was given (CRIU's inherit-fd, keyed by the pipes
/// the checkpoint recorded).
fn restore_reconnects_the_stdio_pipes(s: &Scratch) {
    if skip("restore_reconnects_the_stdio_pipes") {
        return;
    }
    let bundle = s.bundle(&["sh", "-c", "while read x; do echo \"got $x\"; done"]);
    let id = s.id("crpipe");
    let mut p = piped(
        s,
        &[
            OsStr::new("run"),
            OsStr::new("-d"),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(&id),
        ],
    );
    s.state(&id);
    writeln!(p.stdin, "one").unwrap();
    let (line, _stdout) = read_line(p.stdout);
    assert_eq!(line, "got one");
    let images = s.path("images");
    checkpoint(s, &id, &images, &[]).ok();
    assert_gone(s, &id);
    drop(p.stdin);

    let mut p = piped(
        s,
        &[
            OsStr::new("restore"),
            OsStr::new("-d"),
            OsStr::new("--image-path"),
            images.as_os_str(),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(&id),
        ],
    );
    assert_eq!(s.status(&id), "running");
    writeln!(p.stdin, "two").unwrap();
    let (line, _stdout) = read_line(p.stdout);
    assert_eq!(line, "got two");
    s.pivot(&["delete", "-f", &id]).ok();
}

fn pre_dump_then_checkpoint_on_its_parent(s: &Scratch) {
    if skip("pre_dump_then_checkpoint_on_its_parent") {
        return;
    }
    let (bundle, result) = counter_bundle(s);
    let id = s.id("crpre");
    run_detached(s, &bundle, &id);
    wait_count(&result, 2);
    let dumps = s.mkdir("dumps");
    let parent = dumps.join("parent");
    checkpoint(s, &id, &parent, &["--pre-dump"]).ok();
    assert_eq!(s.status(&id), "running", "a pre-dump leaves it running");
    let before = wait_count(&result, 1);
    wait_count(&result, before + 2);
    let images = dumps.join("images");
    checkpoint(s, &id, &images, &["--parent-path", "../parent"]).ok();
    assert_gone(s, &id);
    assert!(
        std::fs::symlink_metadata(images.join("parent")).is_ok(),
        "the checkpoint has no link to its parent"
    );
    let at = read_entry(&result).unwrap();
    restore(s, &bundle, &id, &images, &[]).ok();
    assert_counts_on(&result, &at);
    s.pivot(&["delete", "-f", &id]).ok();
}

fn leave_running_keeps_the_container(s: &Scratch) {
    if skip("leave_running_keeps_the_container") {
        return;
    }
    let (bundle, result) = counter_bundle(s);
    let id = s.id("crleave");
    run_detached(s, &bundle, &id);
    let pid = s.state(&id)["pid"].clone();
    let at = wait_count(&result, 2);
    let images = s.path("images");
    checkpoint(s, &id, &images, &["--leave-running"]).ok();
    assert!(images.join("inventory.img").is_file(), "no images written");
    let state = s.state(&id);
    assert_eq!(state["status"], "running");
    assert_eq!(state["pid"], pid, "the same init runs on");
    wait_count(&result, at + 2);
    s.pivot(&["delete", "-f", &id]).ok();
}

/// runc's "bind mount, destination is symlink" and "nested bind mounts":
/// a bind whose destination is a symlink in the rootfs, and a bind inside
/// another whose mountpoint the restore must make again in the first's
/// source.
fn restore_remakes_nested_and_symlinked_bind_mountpoints(s: &Scratch) {
    if skip("restore_remakes_nested_and_symlinked_bind_mountpoints") {
        return;
    }
    let bundle = bundle_quiet(s, "exec sleep 1000");
    let (outer, inner, conf) = (s.mkdir("outer"), s.mkdir("inner"), s.mkdir("conf"));
    std::fs::write(inner.join("note"), "inner\n").unwrap();
    std::fs::write(conf.join("note"), "conf\n").unwrap();
    std::fs::create_dir_all(bundle.rootfs().join("real/conf")).unwrap();
    std::os::unix::fs::symlink("/real/conf", bundle.rootfs().join("conf")).unwrap();
    for (src, dest) in [
        (&outer, "/test"),
        (&inner, "/test/for/nested"),
        (&conf, "/conf"),
    ] {
        bundle.add_mount(json!({
            "destination": dest, "type": "bind", "source": src, "options": ["rw", "bind"],
        }));
    }
    let id = s.id("crmnt");
    run_detached(s, &bundle, &id);
    let images = s.path("images");
    checkpoint(s, &id, &images, &[]).ok();
    assert_gone(s, &id);
    // The mountpoint made at create time inside the outer source goes.
    std::fs::remove_dir_all(outer.join("for")).unwrap();
    restore(s, &bundle, &id, &images, &[]).ok();
    assert_eq!(s.status(&id), "running");
    let mounts: Value = s.pivot(&["exec", &id, "/probe", "mounts"]).ok().json();
    let points: Vec<&str> = mounts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["mount_point"].as_str())
        .collect();
    for want in ["/test", "/test/for/nested", "/real/conf"] {
        assert!(points.contains(&want), "no mount at {want}: {points:?}");
    }
    for (path, text) in [
        ("/test/for/nested/note", "inner"),
        ("/real/conf/note", "conf"),
    ] {
        let out = s.pivot(&["exec", &id, "cat", path]).ok();
        assert_eq!(out.stdout.trim(), text, "{path}");
    }
    s.pivot(&["delete", "-f", &id]).ok();
}

/// The org.criu.config annotation names a CRIU configuration file, which
/// wins over what pivot asks (here: the log file's name).
fn criu_config_annotation_is_used(s: &Scratch) {
    if skip("criu_config_annotation_is_used") {
        return;
    }
    let bundle = bundle_quiet(s, "exec sleep 1000");
    let conf = s.path("criu.conf");
    std::fs::write(&conf, "log-file=from-annotation.log\n").unwrap();
    bundle.edit(|c| c["annotations"] = json!({"org.criu.config": conf}));
    let id = s.id("crconf");
    run_detached(s, &bundle, &id);
    let (images, work) = (s.path("images"), s.path("work"));
    let work_flag = ["--work-path", work.to_str().unwrap()];
    checkpoint(s, &id, &images, &work_flag).ok();
    assert!(
        work.join("from-annotation.log").is_file(),
        "the configured log is missing"
    );
    assert!(!work.join("dump.log").exists(), "pivot's own log name won");
    std::fs::remove_file(work.join("from-annotation.log")).unwrap();
    restore(
        s,
        &bundle,
        &id,
        &images,
        &[OsStr::new(work_flag[0]), OsStr::new(work_flag[1])],
    )
    .ok();
    assert!(
        work.join("from-annotation.log").is_file(),
        "the configured log is missing"
    );
    assert!(
        !work.join("restore.log").exists(),
        "pivot's own log name won"
    );
    s.pivot(&["delete", "-f", &id]).ok();
}

/// --parent-path is checked before CRIU is asked: absolute or missing, it
/// is refused with a one-line error naming it, and the container runs on.
fn parent_path_must_be_relative_and_exist(s: &Scratch) {
    let bundle = s.bundle(&["sleep", "1000"]);
    let id = s.id("crparent");
    run_detached(s, &bundle, &id);
    let images = s.path("images");
    let absolute = s.mkdir("parent");
    for parent in [absolute.to_str().unwrap(), "../missing"] {
        let out = checkpoint(s, &id, &images, &["--parent-path", parent]);
        assert_error_mentions(&out, &["--parent-path"]);
        assert_eq!(s.status(&id), "running");
    }
    s.pivot(&["delete", "-f", &id]).ok();
}

fn checkpoint_of_a_created_container_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["sleep", "1000"]);
    let id = s.id("crcreated");
    s.create(&bundle.dir, &id);
    let out = checkpoint(s, &id, &s.path("images"), &[]);
    assert_error_mentions(&out, &["created"]);
    assert_eq!(s.status(&id), "created");
    s.pivot(&["delete", "-f", &id]).ok();
}

/// A restore from an image directory that is not there fails naming it
/// and leaves no container (the harness also checks cgroups and mounts).
fn restore_without_images_leaves_nothing(s: &Scratch) {
    let bundle = s.bundle(&["sleep", "1000"]);
    let id = s.id("crnone");
    let out = restore(s, &bundle, &id, &s.path("no-images"), &[]);
    assert_error_mentions(&out, &["--image-path", "no-images"]);
    assert!(!s.list_ids().contains(&id));
    assert!(!s.root.join(&id).exists(), "a state dir was left");
}

/// `restore` without -d stays the restored init's parent, as `run` does:
/// it returns the container's exit status and deletes it.
fn restore_in_the_foreground_waits_and_deletes(s: &Scratch) {
    if skip("restore_in_the_foreground_waits_and_deletes") {
        return;
    }
    let (bundle, result) = counter_bundle(s);
    let id = s.id("crfg");
    let (images, at) = count_then_checkpoint(s, &bundle, &result, &id);
    let mut fg = Command::new(pivot_bin().unwrap())
        .arg("--root")
        .arg(&s.root)
        .args(["restore", "--image-path"])
        .arg(&images)
        .arg("--bundle")
        .arg(&bundle.dir)
        .arg(&id)
        .current_dir(&s.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_counts_on(&result, &at);
    s.wait_status(&id, "running");
    s.pivot(&["kill", &id, "KILL"]).ok();
    let mut status = None;
    wait_for(WAIT, || {
        status = fg.try_wait().unwrap();
        status.is_some()
    });
    let Some(status) = status else {
        let _ = fg.kill();
        let _ = fg.wait();
        panic!("restore in the foreground did not return after its container was killed");
    };
    assert_eq!(status.code(), Some(128 + libc::SIGKILL), "{status}");
    assert!(!s.list_ids().contains(&id), "the container was not deleted");
}

/// A container that joined another's network namespace is dumped without
/// it (CRIU's extRootNetNS) and restored into the same one.
fn joined_network_namespace_stays_the_same(s: &Scratch) {
    if skip("joined_network_namespace_stays_the_same") {
        return;
    }
    let holder = bundle_quiet(s, "exec sleep 1000");
    let holder_id = s.id("crnet-holder");
    run_detached(s, &holder, &holder_id);
    let holder_pid = s.state(&holder_id)["pid"].as_i64().unwrap();
    let netns = format!("/proc/{holder_pid}/ns/net");
    let inode = |path: &str| {
        std::fs::read_link(path)
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let want = inode(&netns);
    let bundle = bundle_quiet(s, "exec sleep 1000");
    bundle.join_namespace("network", &netns);
    let id = s.id("crnet");
    run_detached(s, &bundle, &id);
    for _ in 0..2 {
        let images = s.path("images");
        checkpoint(s, &id, &images, &[]).ok();
        assert_gone(s, &id);
        restore(s, &bundle, &id, &images, &[]).ok();
        let pid = s.state(&id)["pid"].as_i64().unwrap();
        assert_eq!(
            inode(&format!("/proc/{pid}/ns/net")),
            want,
            "another network namespace"
        );
    }
    s.pivot(&["delete", "-f", &id]).ok();
    s.pivot(&["delete", "-f", &holder_id]).ok();
}

/// Without a cgroup namespace /sys/fs/cgroup is a bind of the container's
/// own cgroup from the host: an external mount, which the restore binds
/// from the cgroup it made.
fn without_a_cgroup_namespace_the_cgroup_bind_follows(s: &Scratch) {
    if skip("without_a_cgroup_namespace_the_cgroup_bind_follows") {
        return;
    }
    let (bundle, result) = counter_bundle(s);
    bundle.remove_namespace("cgroup");
    let id = s.id("crcg");
    let (images, at) = count_then_checkpoint(s, &bundle, &result, &id);
    restore(s, &bundle, &id, &images, &[]).ok();
    assert_counts_on(&result, &at);
    let pid = s.state(&id)["pid"].as_i64().unwrap();
    assert_in_container_cgroup(pid, &id);
    // The restored init (pid 1 inside) is in the cgroup that is bound at
    // /sys/fs/cgroup (pivot binds the container's own cgroup there; runc
    // mounts the whole cgroup2 tree, where the init shows as pid 0).
    let out = s.pivot(&["exec", &id, "cat", "/sys/fs/cgroup/cgroup.procs"]);
    let out = if out.code == 0 {
        out
    } else {
        // cgroup v1: the pids hierarchy's directory.
        s.pivot(&["exec", &id, "cat", "/sys/fs/cgroup/pids/cgroup.procs"])
            .ok()
    };
    let procs: Vec<i64> = out
        .stdout
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(
        procs.contains(&1),
        "the init is not in the bound cgroup: {procs:?}"
    );
    s.pivot(&["delete", "-f", &id]).ok();
}
