//! Process plumbing: --pidfd-socket (create, run, exec) and socket
//! activation (LISTEN_FDS / LISTEN_PID) passed through to the container.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use crate::harness::{pivot_bin, tests, Scratch};
use crate::runtime::runtime_command;
use crate::sys::fd_receiver;

tests![
    pidfd_socket_on_create,
    pidfd_socket_on_exec,
    pidfd_signal_ends_a_created_container,
    pidfd_socket_on_run,
    listen_fds_reach_the_container,
    notify_socket_passes_ready_on,
];

/// The pid a pidfd refers to, from its fdinfo.
fn pidfd_pid(fd: &OwnedFd) -> i32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .expect("not a pidfd")
        .trim()
        .parse()
        .unwrap()
}

fn listen(
    s: &Scratch,
    name: &str,
) -> (
    std::path::PathBuf,
    std::thread::JoinHandle<(String, OwnedFd)>,
) {
    let path = s.path(name);
    let h = fd_receiver(crate::harness::runtime_socket(&path, UnixListener::bind));
    (path, h)
}

/// `VERB [flags] --pidfd-socket SOCK --bundle B ID` of a `sleep 30`
/// container: its id and the pidfd received, checked to be the init's.
fn with_pidfd_socket(s: &Scratch, verb: &[&str], name: &str) -> (String, OwnedFd) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id(name);
    let (sock, got) = listen(s, &format!("{name}.sock"));
    let mut args: Vec<&OsStr> = verb.iter().map(OsStr::new).collect();
    args.extend([
        OsStr::new("--pidfd-socket"),
        sock.as_os_str(),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    s.pivot(&args).ok();
    let (_, fd) = got.join().unwrap();
    let state = s.state(&id);
    assert_eq!(
        pidfd_pid(&fd) as i64,
        state["pid"].as_i64().unwrap(),
        "{state}"
    );
    (id, fd)
}

fn pidfd_socket_on_create(s: &Scratch) {
    with_pidfd_socket(s, &["create"], "pidfd");
}

fn pidfd_socket_on_exec(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("pidfdx");
    s.create_started(&bundle.dir, &id);
    let (sock, got) = listen(s, "pidfd-exec.sock");
    let pid_file = s.path("pidfd-exec.pid");
    s.pivot(&[
        OsStr::new("exec"),
        OsStr::new("-d"),
        OsStr::new("--pidfd-socket"),
        sock.as_os_str(),
        OsStr::new("--pid-file"),
        pid_file.as_os_str(),
        OsStr::new(&id),
        OsStr::new("/probe"),
        OsStr::new("sleep"),
        OsStr::new("30"),
    ])
    .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    s.remember_pid(pid);
    let (_, fd) = got.join().unwrap();
    assert_eq!(pidfd_pid(&fd), pid);
}

/// pidfd_send_signal on the received pidfd.
fn pidfd_kill(fd: &OwnedFd) {
    rustix::process::pidfd_send_signal(fd, crate::sys::Signal::KILL)
        .unwrap_or_else(|e| panic!("pidfd_send_signal: {e}"));
}

/// The pidfd `create --pidfd-socket` sends is the created init's: a
/// SIGKILL sent through it ends the container, which `state` then shows
/// stopped (and `delete` removes).
fn pidfd_signal_ends_a_created_container(s: &Scratch) {
    let (id, fd) = with_pidfd_socket(s, &["create"], "pidfdk");
    assert_eq!(s.status(&id), "created");
    pidfd_kill(&fd);
    s.wait_status(&id, "stopped");
    s.delete(&id);
}

/// `run -d --pidfd-socket` sends the init's pidfd too.
fn pidfd_socket_on_run(s: &Scratch) {
    let (id, fd) = with_pidfd_socket(s, &["run", "-d"], "pidfdr");
    pidfd_kill(&fd);
    s.wait_status(&id, "stopped");
    s.delete(&id);
}

/// systemd-style socket activation: LISTEN_FDS=1 with LISTEN_PID naming
/// the runtime itself; the container gets fd 3 and LISTEN_FDS=1,
/// LISTEN_PID=1.
fn listen_fds_reach_the_container(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh", "-c", "/probe env; /probe fds"]);
    let id = s.id("listen");
    let passed = s.path("activation-file");
    std::fs::write(&passed, "x").unwrap();
    let bin = pivot_bin().expect("PIVOT_BIN");
    let args = [
        OsStr::new("-c"),
        OsStr::new("export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$0\" \"$@\" 3<\"$PASSED\""),
        bin.as_os_str(),
        OsStr::new("--root"),
        s.root.as_os_str(),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ];
    let out = runtime_command(std::path::Path::new("/bin/sh"), &s.dir, &args)
        .0
        .env("PASSED", &passed)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    let env: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(env["LISTEN_FDS"], "1", "{env}");
    assert_eq!(env["LISTEN_PID"], "1", "{env}");
    let fds: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let fd3 = fds.as_array().unwrap().iter().find(|f| f["fd"] == 3);
    let target = fd3.and_then(|f| f["target"].as_str()).unwrap_or("");
    assert!(
        target.contains("activation-file"),
        "fd 3 is not the activation fd: {fds}"
    );
}

/// sd_notify: with NOTIFY_SOCKET set, the container gets a socket of
/// pivot's at /run/notify/notify.sock; `run -d` returns once the container
/// sent READY=1, which arrives at the caller's socket with MAINPID.
fn notify_socket_passes_ready_on(s: &Scratch) {
    let bundle = s.bundle(&[
        "/bin/sh",
        "-c",
        "sleep 0.2; /probe notify READY=1 >/dev/null; /probe sleep 30",
    ]);
    let id = s.id("notify");
    let host = s.path("host-notify.sock");
    let sock = crate::harness::runtime_socket(&host, std::os::unix::net::UnixDatagram::bind);
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let args = [
        OsStr::new("--root"),
        s.root.as_os_str(),
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ];
    let out = runtime_command(&pivot_bin().expect("PIVOT_BIN"), &s.dir, &args)
        .0
        .env("NOTIFY_SOCKET", &host)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(out.success(), "run -d failed");
    // runc sends the container's message and MAINPID as two datagrams.
    let mut msg = String::new();
    for _ in 0..2 {
        let mut buf = [0u8; 512];
        let n = sock
            .recv(&mut buf)
            .expect("no READY=1 reached the caller's socket");
        msg.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let pid = s.state(&id)["pid"].as_i64().unwrap();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    assert!(
        msg.lines().any(|l| l == format!("MAINPID={pid}")),
        "{msg:?}"
    );
}
