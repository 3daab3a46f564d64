//! Rootless containers: the runtime run by an unprivileged user made for
//! the test (testuser.rs: useradd, with the /etc/subuid and /etc/subgid
//! range useradd gives it; removed again, also when the test fails), to
//! which the runtime drops between fork and exec, with $XDG_RUNTIME_DIR
//! a directory of the test's that the user owns and
//! no `--root`: the state goes where the runtime puts it by default. Each
//! test checks from inside with `probe` what the rootful tests check.

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::bundle::{make_rootfs, Bundle};
use crate::harness::{pivot_bin, tests, Scratch, WAIT};
use crate::host::wait_for;
use crate::runtime::Out;
use crate::testuser::{run_root, TestUser};

tests![
    spec_rootless_runs_unchanged,
    devices_and_sys_are_bound_from_the_host,
    subordinate_ranges_are_mapped,
    exec_kill_and_delete,
    exec_into_created_container,
    created_init_of_the_users_own_binary_runs_sealed,
    terminal_with_console_socket,
    run_t_on_the_callers_terminal,
    unowned_mapping_is_refused_leaving_nothing,
    limits_without_cgroup_permission_are_refused,
    cgroups_path_without_permission_is_refused,
    pause_and_ps_need_a_cgroup,
    delegated_cgroup_v2_gets_limits_pause_and_ps,
    systemd_user_instance_scope_with_limits_update_and_delete,
];

/// A busybox bundle whose config.json is the user's own
/// `spec --rootless`, with `args` for the process and no terminal.
fn rootless_bundle(s: &Scratch, u: &TestUser, args: &[&str]) -> Bundle {
    let dir = s.mkdir("bundle");
    make_rootfs(&dir.join("rootfs"));
    // The user writes config.json into the bundle directory.
    std::os::unix::fs::chown(&dir, Some(u.uid), Some(u.gid)).expect("chown bundle");
    u.pivot(
        s,
        &[
            OsStr::new("spec"),
            OsStr::new("--rootless"),
            OsStr::new("--bundle"),
            dir.as_os_str(),
        ],
    )
    .ok();
    Bundle::of_spec(s, dir, args)
}

/// Whether `PIVOT_BIN` is another runtime (runc, crun) run to check the
/// tests themselves: pivot-only wording is not asserted for those.
fn other_runtime() -> bool {
    let bin = pivot_bin().expect("PIVOT_BIN");
    let name = bin.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with("runc") || name == "crun"
}

/// The capability mask of the names in the config's
/// process.capabilities.effective.
fn cap_mask(config: &Value) -> String {
    const BITS: &[(&str, u32)] = &[
        ("CAP_CHOWN", 0),
        ("CAP_DAC_OVERRIDE", 1),
        ("CAP_FOWNER", 3),
        ("CAP_FSETID", 4),
        ("CAP_KILL", 5),
        ("CAP_SETGID", 6),
        ("CAP_SETUID", 7),
        ("CAP_SETPCAP", 8),
        ("CAP_NET_BIND_SERVICE", 10),
        ("CAP_NET_RAW", 13),
        ("CAP_SYS_CHROOT", 18),
        ("CAP_MKNOD", 27),
        ("CAP_AUDIT_WRITE", 29),
        ("CAP_SETFCAP", 31),
    ];
    let mut mask = 0u64;
    for name in config["process"]["capabilities"]["effective"]
        .as_array()
        .expect("process.capabilities.effective")
    {
        let name = name.as_str().unwrap();
        let bit = BITS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("unknown capability {name}"))
            .1;
        mask |= 1 << bit;
    }
    format!("{mask:016x}")
}

fn run_args<'a>(verb: &'a str, bundle: &'a Bundle, id: &'a str) -> Vec<&'a OsStr> {
    vec![
        OsStr::new(verb),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(id),
    ]
}

fn json_of(out: &Out) -> Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// `state ID` as the user; the init's pid is remembered for reaping (the
/// harness is the subreaper of detached containers).
fn user_state(s: &Scratch, u: &TestUser, id: &str) -> Value {
    s.reap();
    let state = json_of(&u.pivot(s, &["state", id]).ok());
    if let Some(pid) = state["pid"].as_i64().filter(|p| *p > 0) {
        s.remember_pid(pid as i32);
    }
    state
}

/// Nothing of the container is left: no state, no process of the user.
fn assert_nothing_left(s: &Scratch, u: &TestUser) {
    s.reap();
    let left = u.left();
    assert!(
        left.is_empty(),
        "state left under the user's root: {left:?}"
    );
    let mut procs = u.processes();
    wait_for(Duration::from_secs(2), || {
        procs = u.processes();
        procs.is_empty()
    });
    assert!(procs.is_empty(), "processes of the user left: {procs:?}");
}

fn content(v: &Value) -> String {
    v["content"].as_str().unwrap_or_default().to_string()
}

fn map_lines(text: &str) -> Vec<Vec<u64>> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .collect()
}

/// `spec --rootless` as written runs: root inside is the user outside
/// (uid_map and gid_map "0 UID 1", setgroups denied), the state goes to
/// $XDG_RUNTIME_DIR (0700 and sticky, the user's), and is gone after.
fn spec_rootless_runs_unchanged(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/bin/sh", "-c", "/probe ids; /probe cat /proc/self/uid_map; /probe cat /proc/self/gid_map; /probe cat /proc/self/setgroups; /probe caps"]);
    let id = s.id("rl");
    let out = u.pivot(s, &run_args("run", &b, &id)).ok();
    let docs: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect();
    assert_eq!(docs[0]["uid"], 0, "{out}");
    assert_eq!(docs[0]["gid"], 0, "{out}");
    assert_eq!(
        map_lines(&content(&docs[1])),
        [[0, u64::from(u.uid), 1]],
        "{out}"
    );
    assert_eq!(
        map_lines(&content(&docs[2])),
        [[0, u64::from(u.gid), 1]],
        "{out}"
    );
    assert_eq!(content(&docs[3]).trim(), "deny", "{out}");
    // The spec's capabilities, raised in the user namespace.
    assert_eq!(docs[4]["CapEff"], cap_mask(&b.config()), "{out}");
    let root = u
        .state_root()
        .expect("the runtime made its root in XDG_RUNTIME_DIR");
    let md = std::fs::metadata(&root).unwrap();
    assert_eq!(md.uid(), u.uid, "{} is not the user's", root.display());
    assert_eq!(md.mode() & 0o7777, 0o1700, "mode of {}", root.display());
    assert_nothing_left(s, &u);
}

/// Without root, device nodes are the host's, bound (runc binds them in
/// any user namespace); without a network namespace of its own sysfs is
/// the host's, bound read-only.
fn devices_and_sys_are_bound_from_the_host(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(
        s,
        &u,
        &[
            "/bin/sh",
            "-c",
            "/probe stat /dev/null /dev/zero /dev/urandom; /probe mounts",
        ],
    );
    let id = s.id("rldev");
    let out = u.pivot(s, &run_args("run", &b, &id)).ok();
    let mut lines = out.stdout.lines();
    let stats: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    for st in stats.as_array().unwrap() {
        assert_eq!(st["type"], "char", "{st}");
        // The host's node: its inode on the host's devtmpfs.
        let host_st = std::fs::metadata(st["path"].as_str().unwrap()).unwrap();
        assert_eq!(st["ino"], host_st.ino(), "{st}");
    }
    assert_eq!(stats[0]["major"], 1);
    assert_eq!(stats[0]["minor"], 3);
    let mounts: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let find = |target: &str| {
        mounts
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["mount_point"] == target)
            .cloned()
            .unwrap_or_else(|| panic!("no mount on {target}: {mounts}"))
    };
    let null = find("/dev/null");
    assert_eq!(
        null["fs_type"], "devtmpfs",
        "/dev/null is not bound from the host: {null}"
    );
    assert_eq!(
        null["root"], "/null",
        "/dev/null is not the host's node: {null}"
    );
    let sys = find("/sys");
    assert_eq!(sys["fs_type"], "sysfs", "{sys}");
    let opts = sys["mount_options"].as_str().unwrap_or_default();
    assert!(
        opts.split(',').any(|o| o == "ro"),
        "/sys is not read-only: {sys}"
    );
    assert_nothing_left(s, &u);
}

/// Mappings beyond the user's own id go through newuidmap/newgidmap
/// within its /etc/subuid and /etc/subgid ranges; setgroups stays
/// allowed, and a process can be another mapped user.
fn subordinate_ranges_are_mapped(s: &Scratch) {
    let u = TestUser::new(s);
    // A bare uid (no useradd, no newuidmap: the cgroup v2 VM) has none.
    let (Some((su, sn)), Some((sg, gn))) = (u.sub_range("/etc/subuid"), u.sub_range("/etc/subgid"))
    else {
        return;
    };
    let b = rootless_bundle(s, &u, &["/bin/sh", "-c", "/probe cat /proc/self/uid_map; /probe cat /proc/self/gid_map; /probe cat /proc/self/setgroups; /probe ids"]);
    b.edit(|c| {
        c["linux"]["uidMappings"] = json!([
            {"containerID": 0, "hostID": u.uid, "size": 1},
            {"containerID": 1, "hostID": su, "size": sn.min(65536)},
        ]);
        c["linux"]["gidMappings"] = json!([
            {"containerID": 0, "hostID": u.gid, "size": 1},
            {"containerID": 1, "hostID": sg, "size": gn.min(65536)},
        ]);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let id = s.id("rlsub");
    let out = u.pivot(s, &run_args("run", &b, &id)).ok();
    let docs: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        map_lines(&content(&docs[0])),
        [
            vec![0, u64::from(u.uid), 1],
            vec![1, u64::from(su), u64::from(sn.min(65536))]
        ],
        "{out}"
    );
    assert_eq!(
        map_lines(&content(&docs[1])),
        [
            vec![0, u64::from(u.gid), 1],
            vec![1, u64::from(sg), u64::from(gn.min(65536))]
        ],
        "{out}"
    );
    assert_eq!(content(&docs[2]).trim(), "allow", "{out}");
    assert_eq!(docs[3]["uid"], 1000, "{out}");
    assert_eq!(docs[3]["gid"], 1000, "{out}");
    assert_nothing_left(s, &u);
}

/// create, start, exec, kill, delete as the user.
fn exec_kill_and_delete(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/probe", "sleep", "60"]);
    let id = s.id("rlx");
    u.pivot(s, &run_args("create", &b, &id)).ok();
    user_state(s, &u, &id);
    u.pivot(s, &["start", &id]).ok();
    let state = user_state(s, &u, &id);
    assert_eq!(state["status"], "running", "{state}");
    let ids = json_of(&u.pivot(s, &["exec", &id, "/probe", "ids"]).ok());
    assert_eq!(ids["uid"], 0, "{ids}");
    let st = json_of(
        &u.pivot(s, &["exec", &id, "/probe", "stat", "/proc/1/exe"])
            .ok(),
    );
    assert!(st[0]["exists"] == true, "{st}");
    let list = u.pivot(s, &["list", "-q"]).ok();
    assert_eq!(list.stdout.trim(), id, "{list}");
    u.pivot(s, &["kill", &id, "KILL"]).ok();
    let stopped = wait_for(WAIT, || user_state(s, &u, &id)["status"] == "stopped");
    assert!(stopped, "the container did not stop after kill");
    u.pivot(s, &["delete", &id]).ok();
    assert_nothing_left(s, &u);
}

/// `exec` as the user into a container that is created, not started
/// (runc's create.bats "runc create exec"): the process joins the
/// container's user, pid and mount namespaces while the init still waits
/// for `start`, and `start` runs the init's process after.
fn exec_into_created_container(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/probe", "sleep", "60"]);
    let id = s.id("rlc");
    u.pivot(s, &run_args("create", &b, &id)).ok();
    let state = user_state(s, &u, &id);
    assert_eq!(state["status"], "created", "{state}");
    let init = state["pid"].as_i64().expect("state.pid");
    let out = u
        .pivot(
            s,
            &[
                "exec",
                &id,
                "/bin/sh",
                "-c",
                "/probe ids; /probe pid; /probe cat /proc/self/uid_map; /probe stat /probe",
            ],
        )
        .ok();
    let docs: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect();
    assert_eq!(docs.len(), 4, "{out}");
    // Root of the container's user namespace, which maps it to the user.
    assert_eq!(docs[0]["uid"], 0, "{out}");
    assert_eq!(docs[0]["gid"], 0, "{out}");
    assert_eq!(
        map_lines(&content(&docs[2])),
        vec![vec![0, u64::from(u.uid), 1]],
        "{out}"
    );
    // In the container's pid namespace (the init is its pid 1, the
    // shell's parent), not the host's.
    assert!(docs[1]["pid"].as_u64().is_some_and(|p| p > 1), "{out}");
    assert_ne!(docs[1]["pid"].as_i64(), Some(init), "{out}");
    // The container's root: the rootfs's /probe.
    assert_eq!(docs[3][0]["exists"], true, "{out}");
    // The exec changed nothing of the container's state; start runs it.
    let state = user_state(s, &u, &id);
    assert_eq!(state["status"], "created", "{state}");
    u.pivot(s, &["start", &id]).ok();
    let state = user_state(s, &u, &id);
    assert_eq!(state["status"], "running", "{state}");
    let ids = json_of(&u.pivot(s, &["exec", &id, "/probe", "ids"]).ok());
    assert_eq!(ids["uid"], 0, "{ids}");
    u.pivot(s, &["kill", &id, "KILL"]).ok();
    let stopped = wait_for(WAIT, || user_state(s, &u, &id)["status"] == "stopped");
    assert!(stopped, "the container did not stop after kill");
    u.pivot(s, &["delete", &id]).ok();
    assert_nothing_left(s, &u);
}

/// A runtime binary the user owns (built or installed in its home): the
/// created init, which the container's root may reach through
/// /proc/<pid>/exe before `start`, must not be that file but a read-only
/// view of it.
fn created_init_of_the_users_own_binary_runs_sealed(s: &Scratch) {
    let mut u = TestUser::new(s);
    let dir = s.mkdir("userbin");
    let own = dir.join(pivot_bin().expect("PIVOT_BIN").file_name().unwrap());
    std::fs::copy(pivot_bin().unwrap(), &own).expect("copy the runtime binary");
    std::os::unix::fs::chown(&own, Some(u.uid), Some(u.gid)).expect("chown");
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    u.bin = Some(own.clone());
    let b = rootless_bundle(s, &u, &["/probe", "sleep", "60"]);
    let id = s.id("rls");
    u.pivot(s, &run_args("create", &b, &id)).ok();
    let state = user_state(s, &u, &id);
    let init = state["pid"].as_i64().expect("state.pid");
    let exe = std::fs::metadata(format!("/proc/{init}/exe")).expect("stat /proc/<init>/exe");
    let file = std::fs::metadata(&own).unwrap();
    assert_ne!(
        (exe.dev(), exe.ino()),
        (file.dev(), file.ino()),
        "the created init runs the user's binary {} itself ({:?})",
        own.display(),
        std::fs::read_link(format!("/proc/{init}/exe"))
    );
    // The exec before `start` works from the view too.
    let ids = json_of(&u.pivot(s, &["exec", &id, "/probe", "ids"]).ok());
    assert_eq!(ids["uid"], 0, "{ids}");
    u.pivot(s, &["delete", "--force", &id]).ok();
    assert_nothing_left(s, &u);
}

/// `create --console-socket` as the user: the pty master arrives, the
/// process's stdio is the terminal.
fn terminal_with_console_socket(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/bin/sh"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let sock_dir = s.mkdir("sock");
    std::os::unix::fs::chown(&sock_dir, Some(u.uid), Some(u.gid)).unwrap();
    let sock_path = sock_dir.join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    std::os::unix::fs::chown(&sock_path, Some(u.uid), Some(u.gid)).unwrap();
    let receiver = crate::sys::fd_receiver(listener);
    let id = s.id("rltty");
    let mut args = vec![
        OsStr::new("create"),
        OsStr::new("--console-socket"),
        sock_path.as_os_str(),
    ];
    args.extend(run_args("create", &b, &id).into_iter().skip(1));
    let out = u.pivot(s, &args);
    if out.code != 0 {
        let _ = std::os::unix::net::UnixStream::connect(&sock_path);
        panic!("create failed:\n{out}");
    }
    let master = receiver.join().unwrap().1;
    user_state(s, &u, &id);
    u.pivot(s, &["start", &id]).ok();
    crate::tty::write_all(&master, "/probe isatty; exit 3\n");
    let text = crate::tty::read_all(&master, Duration::from_secs(10));
    assert!(
        text.contains(r#""stdin":true"#) && text.contains(r#""stdout":true"#),
        "the shell's stdio is not a terminal:\n{text}"
    );
    let stopped = wait_for(WAIT, || user_state(s, &u, &id)["status"] == "stopped");
    assert!(stopped, "the shell did not exit");
    u.pivot(s, &["delete", &id]).ok();
    assert_nothing_left(s, &u);
}

/// `run` in the foreground with `"terminal": true`, as the user, on a pty
/// the test owns (its slave is the runtime's stdin, stdout and stderr;
/// closed in the test right after the spawn, so the master reads EIO once
/// the runtime is gone): the container's process has a terminal of its
/// own on fd 0, 1 and 2 as its controlling terminal, with the caller's
/// size; the runtime exits with the process's status and gives the
/// caller's terminal its modes back.
fn run_t_on_the_callers_terminal(s: &Scratch) {
    use std::process::Stdio;
    let u = TestUser::new(s);
    let b = rootless_bundle(
        s,
        &u,
        &[
            "/bin/sh",
            "-c",
            "stty size; /probe isatty; : </dev/tty && echo ctty-ok; exit 7",
        ],
    );
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let (master, slave) = crate::tty::openpty(33, 101);
    let before = crate::tty::lflag(&master);
    let id = s.id("rlrunt");
    let (mut cmd, shown) = u.command(&s.dir, &run_args("run", &b, &id));
    let io = || Stdio::from(slave.try_clone().expect("dup pty slave"));
    let mut child = cmd
        .stdin(io())
        .stdout(io())
        .stderr(io())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    // The Command holds its copies of the slave until dropped.
    drop(cmd);
    drop(slave);
    // Bounded: ends at EIO (no slave open any more) or after the wait.
    let out = crate::tty::read_all(&master, WAIT);
    let mut code = None;
    wait_for(WAIT, || {
        code = child.try_wait().expect("wait").map(|st| st.code());
        code.is_some()
    });
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{shown} did not exit:\n{out}");
    }
    let after = crate::tty::lflag(&master);
    assert_eq!(
        code,
        Some(Some(7)),
        "exit status not passed through:\n{out}"
    );
    assert!(out.contains("33 101"), "window size not passed on:\n{out}");
    assert!(
        out.contains(r#""stdin":true"#) && out.contains(r#""stdout":true"#),
        "the process's stdio is not a terminal:\n{out}"
    );
    assert!(
        out.contains("ctty-ok"),
        "the terminal is not the process's controlling terminal:\n{out}"
    );
    assert_eq!(
        before, after,
        "the caller's terminal modes were not restored"
    );
    assert_nothing_left(s, &u);
}

/// A mapping of host ids the user was not given: refused, nothing left.
fn unowned_mapping_is_refused_leaving_nothing(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/probe", "exit", "0"]);
    // Far beyond any range useradd hands out.
    b.edit(|c| {
        c["linux"]["uidMappings"] = json!([
            {"containerID": 0, "hostID": u.uid, "size": 1},
            {"containerID": 1, "hostID": 4_000_000_000u32, "size": 100},
        ]);
    });
    let id = s.id("rlbad");
    let out = u.pivot(s, &run_args("run", &b, &id)).fails();
    if !other_runtime() {
        assert!(
            out.stderr.contains("linux.uidMappings[1]") && out.stderr.contains("/etc/subuid"),
            "the error names neither the field nor /etc/subuid:\n{out}"
        );
        assert!(
            out.stderr.contains(&u.name),
            "the error does not name the user:\n{out}"
        );
    }
    assert_nothing_left(s, &u);
}

/// runc's rootless cgroup manager: where the user may not make the
/// container's cgroup, a limit is an error naming it (cgroup v1 and v2
/// without delegation), and nothing is left.
fn limits_without_cgroup_permission_are_refused(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/probe", "exit", "0"]);
    b.edit(|c| c["linux"]["resources"] = json!({"pids": {"limit": 100}}));
    let id = s.id("rllim");
    let out = u.pivot(s, &run_args("run", &b, &id)).fails();
    assert!(
        out.stderr
            .contains("cannot set pids limit: container could not join or create cgroup")
            || out.stderr.contains("rootless needs no limits"),
        "not runc's rootless limit error:\n{out}"
    );
    // With no limit the same config runs.
    b.edit(|c| c["linux"]["resources"] = json!({}));
    u.pivot(s, &run_args("run", &b, &id)).ok();
    assert_nothing_left(s, &u);
}

/// A `linux.cgroupsPath` the user may not make is an error even with no
/// limit (runc's rootless manager ignores permission only without a
/// path), in runc's words, and nothing is left.
fn cgroups_path_without_permission_is_refused(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/probe", "exit", "0"]);
    let id = s.id("rlcgp");
    // At the top of every hierarchy, which only root may write.
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{id}")));
    let out = u.pivot(s, &run_args("run", &b, &id)).fails();
    let text = out.stderr.to_lowercase();
    assert!(
        out.stderr.contains("unable to apply cgroup configuration")
            && text.contains("permission denied"),
        "not runc's error for a cgroupsPath without permission:\n{out}"
    );
    if !other_runtime() {
        assert!(
            out.stderr.contains("linux.cgroupsPath"),
            "the error does not name linux.cgroupsPath:\n{out}"
        );
    }
    assert_nothing_left(s, &u);
}

/// With no cgroup of its own there is nothing to freeze or to list the
/// processes of: both fail (as runc's), and the container keeps running.
fn pause_and_ps_need_a_cgroup(s: &Scratch) {
    let u = TestUser::new(s);
    let b = rootless_bundle(s, &u, &["/probe", "sleep", "60"]);
    let id = s.id("rlp");
    u.pivot(s, &run_args("create", &b, &id)).ok();
    user_state(s, &u, &id);
    u.pivot(s, &["start", &id]).ok();
    // On cgroup v1 an unprivileged user can make no cgroup at all.
    if Path::new("/sys/fs/cgroup/freezer").is_dir() {
        u.pivot(s, &["pause", &id]).fails();
        u.pivot(s, &["ps", &id]).fails();
    }
    let state = user_state(s, &u, &id);
    assert_eq!(state["status"], "running", "{state}");
    u.pivot(s, &["delete", "--force", &id]).ok();
    assert_nothing_left(s, &u);
}

/// A cgroup v2 subtree made for the test and handed to the user (as
/// systemd delegates one); removed on drop, deepest first.
struct Delegated(PathBuf);

impl Drop for Delegated {
    fn drop(&mut self) {
        fn rm(dir: &Path) {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        rm(&e.path());
                    }
                }
            }
            wait_for(WAIT, || std::fs::remove_dir(dir).is_ok() || !dir.exists());
        }
        rm(&self.0);
    }
}

/// With a delegated cgroup v2 subtree (the user owns it and the runtime
/// runs in it) the container's cgroup is made there, beside the
/// runtime's, with the limits; pause and ps work. Cgroup v2 hosts only
/// (the VM): on v1 an unprivileged user cannot be given a subtree the
/// hybrid cgroup2 tree lets it move into.
fn delegated_cgroup_v2_gets_limits_pause_and_ps(s: &Scratch) {
    let top = Path::new("/sys/fs/cgroup");
    if !top.join("cgroup.controllers").exists() {
        return;
    }
    let deleg = Delegated(top.join(s.id("deleg")));
    let mut u = TestUser::new(s);
    let chown = |p: &Path| std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid)).unwrap();
    std::fs::create_dir(&deleg.0).unwrap();
    std::fs::write(deleg.0.join("cgroup.subtree_control"), "+pids +memory").unwrap();
    for f in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.threads",
    ] {
        chown(&deleg.0.join(f));
    }
    let leader = deleg.0.join("leader");
    std::fs::create_dir(&leader).unwrap();
    for f in ["", "cgroup.procs", "cgroup.threads"] {
        chown(&leader.join(f));
    }
    u.leader = Some(leader);
    let b = rootless_bundle(s, &u, &["/probe", "sleep", "60"]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 42}, "memory": {"limit": 67108864}});
    });
    let id = s.id("rldeleg");
    u.pivot(s, &run_args("create", &b, &id)).ok();
    let pid = user_state(s, &u, &id)["pid"].as_i64().unwrap();
    let cg = deleg.0.join(&id);
    let read = |f: &str| std::fs::read_to_string(cg.join(f)).unwrap_or_default();
    assert_eq!(
        read("pids.max").trim(),
        "42",
        "pids.max of {}",
        cg.display()
    );
    assert_eq!(
        read("memory.max").trim(),
        "67108864",
        "memory.max of {}",
        cg.display()
    );
    assert!(
        read("cgroup.procs")
            .lines()
            .any(|l| l.trim() == pid.to_string()),
        "the init {pid} is not in {}",
        cg.display()
    );
    u.pivot(s, &["start", &id]).ok();
    u.pivot(s, &["pause", &id]).ok();
    assert_eq!(user_state(s, &u, &id)["status"], "paused");
    u.pivot(s, &["resume", &id]).ok();
    assert_eq!(user_state(s, &u, &id)["status"], "running");
    let ps = json_of(&u.pivot(s, &["ps", "--format", "json", &id]).ok());
    assert_eq!(ps, json!([pid]), "ps");
    u.pivot(s, &["delete", "--force", &id]).ok();
    assert!(!cg.exists(), "{} left after delete", cg.display());
    assert_nothing_left(s, &u);
}

/// The user's systemd instance (user@UID.service), started as root for
/// the test and stopped again on drop, also when the test fails.
struct UserManager {
    unit: String,
}

impl UserManager {
    fn start(u: &TestUser) -> UserManager {
        let unit = format!("user@{}.service", u.uid);
        let out = run_root("systemctl", &["start", &unit]);
        let m = UserManager { unit };
        if !out.status.success() {
            let journal = run_root(
                "journalctl",
                &[
                    "-b",
                    "--no-pager",
                    "-n",
                    "40",
                    "-u",
                    &m.unit,
                    "-u",
                    &format!("user-runtime-dir@{}.service", u.uid),
                ],
            );
            panic!(
                "systemctl start {}: {}\njournal:\n{}",
                m.unit,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&journal.stdout)
            );
        }
        m
    }
}

impl Drop for UserManager {
    fn drop(&mut self) {
        let _ = run_root("systemctl", &["stop", &self.unit]);
    }
}

/// `systemctl --user show UNIT -p NAME...` as the user, as a map.
fn user_show(s: &Scratch, u: &TestUser, unit: &str, props: &[&str]) -> BTreeMap<String, String> {
    let mut args = vec![OsStr::new("--user"), OsStr::new("show"), OsStr::new(unit)];
    for p in props {
        args.push(OsStr::new("-p"));
        args.push(OsStr::new(p));
    }
    let (cmd, shown) = u.command_of(Path::new("/usr/bin/systemctl"), &s.dir, &args);
    let out = s.run_command(cmd, shown).ok();
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `--systemd-cgroup` as the user, with a systemd user instance and its
/// session bus (`PIVOT_TEST_USER_SESSION=1`: the systemd VM sets it up,
/// scripts/vm/systemd-user-session.sh): the container's scope is a unit of
/// the user's instance, its cgroup under user@UID.service with the
/// memory and pids limits (the controllers systemd delegates to it);
/// `update` changes unit and files; `delete` leaves no unit, no cgroup.
fn systemd_user_instance_scope_with_limits_update_and_delete(s: &Scratch) {
    const MIB: u64 = 1 << 20;
    if std::env::var_os("PIVOT_TEST_USER_SESSION").is_none_or(|v| v != "1")
        || !Path::new("/run/systemd/system").is_dir()
    {
        eprintln!(
            "systemd_user_instance_scope_with_limits_update_and_delete: skipped: no systemd user session here (PIVOT_TEST_USER_SESSION=1: scripts/vm/systemd.sh)"
        );
        return;
    }
    let mut u = TestUser::new(s);
    let manager = UserManager::start(&u);
    let run_dir = PathBuf::from(format!("/run/user/{}", u.uid));
    let bus = run_dir.join("bus");
    assert!(
        wait_for(WAIT, || bus.exists()),
        "no session bus at {} after starting {}",
        bus.display(),
        manager.unit
    );
    // The session's address, as a login would set it (the state stays in
    // the test's $XDG_RUNTIME_DIR).
    u.env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!("unix:path={}", bus.display()),
    ));
    let b = rootless_bundle(s, &u, &["/probe", "sleep", "60"]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({
            "memory": {"limit": 64 * MIB},
            "pids": {"limit": 20},
        });
    });
    let id = s.id("rlsd");
    let mut args = vec![OsStr::new("--systemd-cgroup")];
    args.extend(run_args("create", &b, &id));
    u.pivot(s, &args).ok();
    let pid = user_state(s, &u, &id)["pid"].as_i64().expect("state.pid");
    let cgroup =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("/proc/<pid>/cgroup");
    let path = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup v2 line")
        .to_string();
    // runc's scope is runc-ID.scope, pivot's pivot-ID.scope.
    let manager_cgroup = format!("/user.slice/user-{}.slice/{}/", u.uid, manager.unit);
    let scope = path.rsplit('/').next().unwrap_or_default().to_string();
    assert!(
        path.starts_with(&manager_cgroup) && scope.ends_with(&format!("-{id}.scope")),
        "the init is in {path}, not in a scope of {manager_cgroup}"
    );
    let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("read {}/{f}: {e}", dir.display()))
            .trim()
            .to_string()
    };
    assert_eq!(read("memory.max"), (64 * MIB).to_string());
    assert_eq!(read("pids.max"), "20");
    let p = user_show(
        s,
        &u,
        &scope,
        &["ActiveState", "MemoryMax", "TasksMax", "ControlGroup"],
    );
    assert_eq!(p["MemoryMax"], (64 * MIB).to_string(), "{p:?}");
    assert_eq!(p["TasksMax"], "20", "{p:?}");
    assert_eq!(p["ControlGroup"], path, "{p:?}");
    u.pivot(s, &["--systemd-cgroup", "start", &id]).ok();
    u.pivot(
        s,
        &[
            "--systemd-cgroup",
            "update",
            "--memory",
            "128M",
            "--pids-limit",
            "30",
            &id,
        ],
    )
    .ok();
    assert_eq!(read("memory.max"), (128 * MIB).to_string());
    assert_eq!(read("pids.max"), "30");
    let p = user_show(s, &u, &scope, &["MemoryMax", "TasksMax"]);
    assert_eq!(p["MemoryMax"], (128 * MIB).to_string(), "{p:?}");
    assert_eq!(p["TasksMax"], "30", "{p:?}");
    // An exec from a cgroup of root's (this test's): the user may not
    // move it into the scope (the common ancestor is root's), so, as
    // runc's rootless cgroup manager, the process runs in the caller's
    // cgroup rather than the exec failing.
    let out = u
        .pivot(
            s,
            &[
                "--systemd-cgroup",
                "exec",
                &id,
                "/probe",
                "cat",
                "/proc/self/cgroup",
            ],
        )
        .ok();
    assert!(out.stdout.contains("0::"), "exec as the user: {out}");
    u.pivot(s, &["--systemd-cgroup", "kill", &id, "KILL"]).ok();
    let stopped = wait_for(WAIT, || user_state(s, &u, &id)["status"] == "stopped");
    assert!(stopped, "the container did not stop after kill");
    u.pivot(s, &["--systemd-cgroup", "delete", &id]).ok();
    assert!(
        wait_for(WAIT, || !dir.exists()),
        "{} is left after delete",
        dir.display()
    );
    let p = user_show(s, &u, &scope, &["LoadState", "ActiveState"]);
    assert!(
        p.get("LoadState").map(String::as_str) == Some("not-found")
            || p.get("ActiveState").map(String::as_str) == Some("inactive"),
        "unit {scope} is left: {p:?}"
    );
    drop(manager);
    assert_nothing_left(s, &u);
}
