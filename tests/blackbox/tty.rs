//! Terminals: --console-socket (a receiver written here gets the pty
//! master, drives a shell through it and checks what the container sees),
//! and `run -t` / `exec -t` proxying a terminal the test owns.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{pivot_bin, tests, Scratch};
use crate::runtime::runtime_command;
use crate::sys::{fd_receiver, poll_read};

tests![
    console_socket_receives_the_master,
    terminal_without_console_socket_is_refused,
    run_t_proxies_the_callers_terminal,
    terminal_output_newlines_like_runc,
    exec_t_with_console_socket,
    pty_belongs_to_the_process_user,
    terminal_with_read_only_dev,
    pod_member_terminal_is_its_controlling_tty,
];

/// Read a pty master until the other side is gone (EIO) or `deadline`.
pub(crate) fn read_all(master: &OwnedFd, deadline: Duration) -> String {
    read_pty(master, deadline, None)
}

/// Read a pty master until the other side is gone (EIO), `deadline`, or
/// (if given) `until` shows up in what was read.
pub(crate) fn read_pty(master: &OwnedFd, deadline: Duration, until: Option<&str>) -> String {
    let end = Instant::now() + deadline;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        let n = match poll_read(master, &mut buf, Duration::from_millis(100)) {
            None => continue,
            Some(0) => break,
            Some(n) => n,
        };
        out.extend_from_slice(&buf[..n]);
        if until.is_some_and(|u| String::from_utf8_lossy(&out).contains(u)) {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
pub(crate) fn write_all(fd: &OwnedFd, text: &str) {
    let n = rustix::io::write(fd, text.as_bytes()).expect("write");
    assert_eq!(n, text.len());
}

fn console_socket_receives_the_master(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh"]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    let sock_path = s.path("console.sock");
    let receiver = fd_receiver(crate::harness::runtime_socket(
        &sock_path,
        UnixListener::bind,
    ));
    let id = s.id("tty");
    s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--console-socket"),
        sock_path.as_os_str(),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    let master = receiver.join().unwrap().1;
    s.pivot(&["start", &id]).ok();
    write_all(&master, "/probe isatty; /probe stat /dev/console; exit 3\n");
    let out = read_all(&master, Duration::from_secs(10));
    assert!(
        out.contains(r#""stdin":true"#) && out.contains(r#""stdout":true"#),
        "the shell's stdio is not a terminal:\n{out}"
    );
    assert!(
        out.contains(r#""type":"char""#),
        "/dev/console is not the pty:\n{out}"
    );
    s.wait_status(&id, "stopped");
}

fn terminal_without_console_socket_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh"]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    let id = s.id("notty");
    let out = s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("console"), "{out}");
    assert!(s.list_ids().is_empty());
}

/// A pty pair the test owns: (master, slave).
pub(crate) fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    crate::sys::openpty(rows, cols).expect("openpty")
}

fn spawn_on(slave: &OwnedFd, args: &[&OsStr]) -> Child {
    let io = || Stdio::from(slave.try_clone().unwrap());
    let bin = pivot_bin().expect("PIVOT_BIN");
    runtime_command(&bin, &std::env::temp_dir(), args)
        .0
        .stdin(io())
        .stdout(io())
        .stderr(io())
        .spawn()
        .expect("spawn pivot")
}

fn wait_code(child: &mut Child) -> i32 {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        assert!(Instant::now() < end, "pivot did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn lflag(fd: &OwnedFd) -> u32 {
    rustix::termios::tcgetattr(fd)
        .expect("tcgetattr")
        .local_modes
        .bits()
}

fn run_t_proxies_the_callers_terminal(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh", "-c", "stty size; /probe isatty; exit 5"]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    let (master, slave) = openpty(40, 120);
    let before = lflag(&slave);
    let id = s.id("runt");
    let mut child = spawn_on(
        &slave,
        &[
            OsStr::new("--root"),
            s.root.as_os_str(),
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(&id),
        ],
    );
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::from(master);
        let mut out = Vec::new();
        let _ = f.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    let code = wait_code(&mut child);
    let after = lflag(&slave);
    drop(slave);
    let out = reader.join().unwrap();
    assert_eq!(code, 5, "exit status not passed through:\n{out}");
    assert!(out.contains("40 120"), "window size not passed on:\n{out}");
    assert!(out.contains(r#""stdin":true"#), "{out}");
    assert_eq!(before, after, "the caller's terminal was not restored");
}

/// Runs pivot with `args` on a pty the test owns (cooked, as openpty
/// makes it); returns (exit code, what the caller got). With `piped`,
/// only stdin is the terminal and the answer is what came out of a pipe
/// on stdout and stderr (as bats' `run` captures it).
fn on_test_terminal(args: &[&OsStr], piped: bool) -> (i32, String) {
    let (master, slave) = openpty(24, 80);
    let (mut child, from): (Child, std::fs::File) = if piped {
        let (r, w) = std::io::pipe().expect("pipe");
        let bin = pivot_bin().expect("PIVOT_BIN");
        let child = runtime_command(&bin, &std::env::temp_dir(), args)
            .0
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(w.try_clone().unwrap())
            .stderr(w)
            .spawn()
            .expect("spawn pivot");
        (child, OwnedFd::from(r).into())
    } else {
        (spawn_on(&slave, args), master.try_clone().unwrap().into())
    };
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = { from }.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    let code = wait_code(&mut child);
    // The reader ends at EOF (pipe) or EIO (pty, once no slave is open).
    drop(slave);
    drop(master);
    (code, reader.join().unwrap())
}

/// `run` and `exec -t` in the foreground turn ONLCR off on the container's
/// pty, as runc does: a caller whose stdout is a file gets "\n" as the
/// process wrote it, not "\r\n". A caller's terminal keeps its own output
/// processing while raw, so it still shows "\r\n" (once, not "\r\r\n",
/// and not a bare "\n" that would leave the cursor mid-line). runc turns
/// ONLCR off once it has received the pty master, concurrently with
/// starting the process: the process waits a second before printing.
fn terminal_output_newlines_like_runc(s: &Scratch) {
    let print = "sleep 1; printf 'one\\ntwo\\n'";
    let bundle = s.bundle(&["/bin/sh", "-c", print]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    let root = s.root.as_os_str();
    let run = |id: &str, piped: bool| {
        on_test_terminal(
            &[
                OsStr::new("--root"),
                root,
                OsStr::new("run"),
                OsStr::new("--bundle"),
                bundle.dir.as_os_str(),
                OsStr::new(id),
            ],
            piped,
        )
    };
    let (code, out) = run(&s.id("nl"), true);
    assert_eq!(code, 0, "run failed: {out:?}");
    assert_eq!(out, "one\ntwo\n", "run with a terminal, stdout a pipe");
    let (code, out) = run(&s.id("nlt"), false);
    assert_eq!(code, 0, "run failed: {out:?}");
    assert!(
        out.contains("one\r\ntwo\r\n") && !out.contains("\r\r"),
        "run on the caller's terminal: {out:?}"
    );

    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("nlx");
    s.create_started(&bundle.dir, &id);
    let (code, out) = on_test_terminal(
        &[
            OsStr::new("--root"),
            root,
            OsStr::new("exec"),
            OsStr::new("-t"),
            OsStr::new(&id),
            OsStr::new("/bin/sh"),
            OsStr::new("-c"),
            OsStr::new(print),
        ],
        true,
    );
    assert_eq!(code, 0, "exec -t failed: {out:?}");
    assert_eq!(out, "one\ntwo\n", "exec -t, stdout a pipe");
}

fn exec_t_with_console_socket(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("exect");
    s.create_started(&bundle.dir, &id);
    let master = exec_t_detached(s, &id, &["/bin/sh"]);
    write_all(&master, "/probe isatty; exit\n");
    let out = read_all(&master, Duration::from_secs(10));
    assert!(out.contains(r#""stdin":true"#), "{out}");
}

/// `exec -t -d` of `args` in container `id`, with a console socket and a
/// pid file (the process is remembered, to be reaped); returns the pty
/// master.
fn exec_t_detached(s: &Scratch, id: &str, args: &[&str]) -> OwnedFd {
    let sock_path = s.path("exec-console.sock");
    let receiver = fd_receiver(crate::harness::runtime_socket(
        &sock_path,
        UnixListener::bind,
    ));
    let pid_file = s.path("exec-t.pid");
    let mut all = vec![
        OsStr::new("exec"),
        OsStr::new("-t"),
        OsStr::new("-d"),
        OsStr::new("--console-socket"),
        sock_path.as_os_str(),
        OsStr::new("--pid-file"),
        pid_file.as_os_str(),
        OsStr::new(id),
    ];
    all.extend(args.iter().map(OsStr::new));
    s.pivot(&all).ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    s.remember_pid(pid);
    receiver.join().unwrap().1
}

/// Create `bundle` with a console socket; returns the pty master.
pub(crate) fn create_with_console(
    s: &Scratch,
    bundle: &crate::bundle::Bundle,
    id: &str,
) -> OwnedFd {
    let sock_path = s.path("console.sock");
    let receiver = fd_receiver(crate::harness::runtime_socket(
        &sock_path,
        UnixListener::bind,
    ));
    let out = s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--console-socket"),
        sock_path.as_os_str(),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(id),
    ]);
    if out.code != 0 {
        // Unblock the receiver before failing.
        let _ = std::os::unix::net::UnixStream::connect(&sock_path);
        panic!("create failed:\n{out}");
    }
    receiver.join().unwrap().1
}

/// The pty of `run` and of `exec -t` belongs to the process's uid (its
/// group stays devpts' tty group), as runc's does.
fn pty_belongs_to_the_process_user(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "stat", "/proc/self/fd/0"]);
    bundle.edit(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["user"] = json!({"uid": 1000, "gid": 100});
    });
    let id = s.id("ttyown");
    let master = create_with_console(s, &bundle, &id);
    s.pivot(&["start", &id]).ok();
    let out = read_all(&master, Duration::from_secs(10));
    assert!(
        out.contains(r#""uid":1000"#),
        "run: the pty is not uid 1000's:\n{out}"
    );
    s.wait_status(&id, "stopped");
    s.delete(&id);

    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    bundle.edit(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 100}));
    let id = s.id("ttyownx");
    s.create_started(&bundle.dir, &id);
    let master = exec_t_detached(s, &id, &["/probe", "stat", "/proc/self/fd/0"]);
    let out = read_all(&master, Duration::from_secs(10));
    assert!(
        out.contains(r#""uid":1000"#),
        "exec -t: the pty is not uid 1000's:\n{out}"
    );
}

/// A read-only /dev (tmpfs with "ro") with a terminal: /dev/console is
/// made before /dev turns read-only (runc#3248).
fn terminal_with_read_only_dev(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh"]);
    bundle.edit(|c| {
        c["process"]["terminal"] = json!(true);
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev" {
                m["options"].as_array_mut().unwrap().push(json!("ro"));
            }
        }
    });
    let id = s.id("rodev");
    let master = create_with_console(s, &bundle, &id);
    s.pivot(&["start", &id]).ok();
    write_all(
        &master,
        "/probe stat /dev/console; /probe writable /dev; exit 3\n",
    );
    let out = read_all(&master, Duration::from_secs(10));
    assert!(
        out.contains(r#""type":"char""#),
        "/dev/console is not the pty:\n{out}"
    );
    assert!(out.contains("EROFS"), "/dev is not read-only:\n{out}");
    s.wait_status(&id, "stopped");
}

/// A container joining a pod's pid namespace with a terminal: its init is
/// forked into the pod last, and the pty must still be the controlling
/// terminal of its session (/dev/tty opens), with /dev/console bound.
fn pod_member_terminal_is_its_controlling_tty(s: &Scratch) {
    let pod_bundle = s.bundle(&["/probe", "sleep", "30"]);
    let pod_id = s.id("ttypod");
    let pod = s.create_started(&pod_bundle.dir, &pod_id);
    let bundle = s.bundle(&["/bin/sh"]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    bundle.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    let id = s.id("ttymember");
    let master = create_with_console(s, &bundle, &id);
    // (`state` makes the harness remember the init, to reap it.)
    s.state(&id);
    s.pivot(&["start", &id]).ok();
    write_all(
        &master,
        "/probe isatty; /probe stat /dev/console; echo x >/dev/tty && echo ctty-$((6*7)); exit 3\n",
    );
    let out = read_all(&master, Duration::from_secs(10));
    assert!(
        out.contains(r#""stdin":true"#) && out.contains(r#""type":"char""#),
        "the shell's stdio or /dev/console is not the pty:\n{out}"
    );
    assert!(
        out.contains("ctty-42"),
        "the pty is not the controlling terminal of the pod member:\n{out}"
    );
    s.wait_status(&id, "stopped");
    s.delete(&id);
    s.pivot(&["delete", "--force", &pod_id]).ok();
    s.reap();
}
