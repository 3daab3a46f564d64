//! `exec`: a new process in a running container, with runc's flags.

use serde_json::{json, Value};

use crate::harness::{other_runtime, rootless, tests, Scratch};

tests![
    joins_the_containers_namespaces,
    exit_status_passes_through,
    cwd_env_and_user_flags,
    cap_and_no_new_privs_flags,
    process_json_replaces_the_process,
    detach_writes_pid_file,
    preserve_fds_passes_fd_3,
    same_cgroup_as_the_init,
    refused_for_stopped_and_missing_containers,
    missing_binary_leaves_container_unharmed,
    bad_flags_are_refused_and_container_unharmed,
    unknown_cap_flag_is_a_warning,
    ignore_paused_allows_exec_into_paused,
    failures_of_exec_itself_exit_255,
    process_json_without_user_runs_as_root,
    additional_gids_only_as_root,
    cwd_only_the_runtime_may_enter,
    cgroup_flag_picks_sub_cgroups,
    no_change_ids_are_refused,
];

/// A running container with a recognisable hostname; returns (id, init pid).
fn running(s: &Scratch) -> (String, i32) {
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    bundle.edit(|c| c["hostname"] = json!("pivot-exec"));
    let id = s.id("ex");
    let pid = s.create_started(&bundle.dir, &id);
    (id, pid)
}

fn exec_json(s: &Scratch, args: &[&str]) -> Value {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    let out = s.pivot(&all).ok();
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// `exec -d --pid-file F [FLAGS] ID ARGS`; returns the process's pid, which
/// the harness remembers: orphaned by the detached exec, it becomes this
/// harness's child (subreaper), and the container's init cannot finish
/// dying until it is reaped.
fn exec_detached(s: &Scratch, flags: &[&str], id: &str, args: &[&str]) -> i32 {
    let pid_file = s.path(&format!("{id}-exec.pid"));
    let mut all = vec!["exec", "-d", "--pid-file", pid_file.to_str().unwrap()];
    all.extend_from_slice(flags);
    all.push(id);
    all.extend_from_slice(args);
    s.pivot(&all).ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    s.remember_pid(pid);
    pid
}

fn joins_the_containers_namespaces(s: &Scratch) {
    let (id, init) = running(s);
    let pid = exec_json(s, &[&id, "/probe", "pid"]);
    assert_ne!(pid["pid"], 1, "exec'd process is not the init: {pid}");
    let host = exec_json(s, &[&id, "/probe", "hostname"]);
    assert_eq!(host["hostname"], "pivot-exec", "{host}");
    // The init is visible in its pid namespace as pid 1.
    let st = exec_json(s, &[&id, "/probe", "stat", "/proc/1"]);
    assert_eq!(st[0]["exists"], true, "{st}");
    // Same mount namespace as the init.
    let ns = exec_json(s, &[&id, "/probe", "stat", "/proc/self/ns/mnt"]);
    let init_ns = std::fs::read_link(format!("/proc/{init}/ns/mnt")).unwrap();
    assert_eq!(ns[0]["link"], init_ns.to_string_lossy().as_ref(), "{ns}");
    let mounts = exec_json(s, &[&id, "/probe", "mounts"]);
    assert!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mount_point"] == "/proc" && m["fs_type"] == "proc"),
        "{mounts}"
    );
}

fn exit_status_passes_through(s: &Scratch) {
    let (id, _) = running(s);
    for code in [0, 3, 42] {
        let out = s.pivot(&["exec", &id, "/probe", "exit", &code.to_string()]);
        assert_eq!(out.code, code, "{out}");
    }
    assert_eq!(s.status(&id), "running");
}

fn cwd_env_and_user_flags(s: &Scratch) {
    let (id, _) = running(s);
    let cwd = exec_json(s, &["--cwd", "/tmp", &id, "/probe", "cwd"]);
    assert_eq!(cwd["cwd"], "/tmp", "{cwd}");
    // One form of the flag, repeated: runc 1.5.1 (urfave/cli) refuses `-e`
    // and `--env` together ("Cannot use two forms of the same flag"),
    // which pivot takes (docs/CONFORMANCE.md).
    let mixed = !other_runtime();
    let env = exec_json(
        s,
        &[
            "-e",
            "PIVOT_X=1",
            if mixed { "--env" } else { "-e" },
            "PIVOT_Y=two",
            &id,
            "/probe",
            "env",
        ],
    );
    assert_eq!(env["PIVOT_X"], "1", "{env}");
    assert_eq!(env["PIVOT_Y"], "two", "{env}");
    let ids = exec_json(s, &["-u", "1000:1001", &id, "/probe", "ids"]);
    assert_eq!(ids["uid"], 1000, "{ids}");
    assert_eq!(ids["gid"], 1001, "{ids}");
}

/// `-g` and a process.json's `user.additionalGids` add supplementary
/// groups; an unprivileged caller may set none, and is refused before
/// anything runs in runc 1.5.1's words, as `create` refuses
/// `process.user.additionalGids`.
fn additional_gids_only_as_root(s: &Scratch) {
    let (id, init) = running(s);
    let path = s.path("process-gids.json");
    let process = |args: &[&str]| {
        json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0, "additionalGids": [8]},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/",
        })
        .to_string()
    };
    if !rootless() {
        let ids = exec_json(s, &["-u", "1000:1001", "-g", "7", &id, "/probe", "ids"]);
        assert_eq!(ids["gid"], 1001, "{ids}");
        assert!(
            ids["groups"].as_array().unwrap().contains(&json!(7)),
            "{ids}"
        );
        std::fs::write(&path, process(&["/probe", "ids"])).unwrap();
        let ids = exec_json(s, &["-p", path.to_str().unwrap(), &id]);
        assert!(
            ids["groups"].as_array().unwrap().contains(&json!(8)),
            "{ids}"
        );
        return;
    }
    // Each would leave a file if it ran.
    let marker = |n: usize| format!("/dev/shm/additional-gids-{n}");
    let m0 = marker(0);
    let flag = ["exec", "-g", "7", &id, "/probe", "write", &m0, "ran"];
    std::fs::write(&path, process(&["/probe", "write", &marker(1), "ran"])).unwrap();
    let json = ["exec", "-p", path.to_str().unwrap(), &id];
    for args in [&flag[..], &json[..]] {
        let out = s.pivot(args);
        assert_eq!(out.code, 255, "{out}");
        assert!(
            out.stderr
                .contains("cannot set any additional groups in a rootless container"),
            "{out}"
        );
    }
    // The same without the groups does write it.
    s.pivot(&["exec", &id, "/probe", "write", &marker(2), "ran"])
        .ok();
    for n in 0..3 {
        let st = exec_json(s, &[&id, "/probe", "stat", &marker(n)]);
        assert_eq!(st[0]["exists"], n == 2, "{}: {st}", marker(n));
    }
    assert_eq!(s.status(&id), "running");
    assert!(s.alive(init));
}

fn cap_bit(caps: &Value, set: &str, bit: u32) -> bool {
    let hex = caps[set].as_str().unwrap_or("0");
    u64::from_str_radix(hex, 16).unwrap() & (1 << bit) != 0
}

fn cap_and_no_new_privs_flags(s: &Scratch) {
    let (id, _) = running(s);
    let plain = exec_json(s, &[&id, "/probe", "caps"]);
    // CAP_SYS_ADMIN is 21; the default spec does not have it.
    assert!(!cap_bit(&plain, "CapEff", 21), "{plain}");
    let with = exec_json(s, &["-c", "CAP_SYS_ADMIN", &id, "/probe", "caps"]);
    assert!(cap_bit(&with, "CapEff", 21), "{with}");
    assert!(cap_bit(&with, "CapBnd", 21), "{with}");
    // The default spec sets noNewPrivileges; a spec without it gets it
    // from the flag.
    let nnp = exec_json(s, &["--no-new-privs", &id, "/probe", "caps"]);
    assert_eq!(nnp["no_new_privs"], 1, "{nnp}");
}

fn process_json_replaces_the_process(s: &Scratch) {
    let (id, _) = running(s);
    let path = s.path("process.json");
    std::fs::write(
        &path,
        json!({
            "terminal": false,
            "user": {"uid": 5, "gid": 6},
            "args": ["/probe", "ids"],
            "env": ["PATH=/bin"],
            "cwd": "/",
        })
        .to_string(),
    )
    .unwrap();
    let ids = exec_json(s, &["-p", path.to_str().unwrap(), &id]);
    assert_eq!(ids["uid"], 5, "{ids}");
    assert_eq!(ids["gid"], 6, "{ids}");
    // A broken one is refused, naming the field.
    std::fs::write(&path, r#"{"user": {"uid": "x", "gid": 0}, "cwd": "/"}"#).unwrap();
    let out = s.pivot(&["exec", "-p", path.to_str().unwrap(), &id]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("user.uid"), "{out}");
    assert_eq!(s.status(&id), "running");
}

fn detach_writes_pid_file(s: &Scratch) {
    let (id, init) = running(s);
    let pid = exec_detached(s, &[], &id, &["/probe", "sleep", "30"]);
    assert_ne!(pid, init);
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline.starts_with("/probe\0sleep"), "{cmdline:?}");
}

fn preserve_fds_passes_fd_3(s: &Scratch) {
    let (id, _) = running(s);
    // Without the flag nothing of the caller's reaches the process.
    let fds = exec_json(s, &[&id, "/probe", "fds"]);
    assert!(
        !fds.as_array().unwrap().iter().any(|f| f["fd"] == 3),
        "fd 3 leaked: {fds}"
    );
    // With --preserve-fds 1 the caller's fd 3 is the process's fd 3.
    let (file, name) = crate::cli::fd3_file(s);
    let words = ["exec", "--preserve-fds", "1", &id, "/probe", "fds"];
    let args: Vec<&std::ffi::OsStr> = words.iter().map(std::ffi::OsStr::new).collect();
    let (out, _) = crate::cli::pivot_with_fd3(s, &file, &args);
    let fds = out.ok().json();
    crate::cli::assert_fd3_is(&fds, &name);
}

fn same_cgroup_as_the_init(s: &Scratch) {
    let (id, init) = running(s);
    let pid = exec_detached(s, &[], &id, &["/probe", "sleep", "30"]);
    let of = |p: i32| std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    assert_eq!(of(pid), of(init));
}

fn refused_for_stopped_and_missing_containers(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    let id = s.id("stopped");
    s.pivot(&[
        "run".as_ref(),
        "--keep".as_ref(),
        "--bundle".as_ref(),
        bundle.dir.as_os_str(),
        id.as_ref(),
    ]);
    assert_eq!(s.status(&id), "stopped");
    let out = s.pivot(&["exec", &id, "/probe", "pid"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("stopped"), "{out}");
    let out = s.pivot(&["exec", &s.id("nosuch"), "/probe", "pid"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("does not exist"), "{out}");
}

fn missing_binary_leaves_container_unharmed(s: &Scratch) {
    let (id, init) = running(s);
    let out = s.pivot(&["exec", &id, "no-such-binary"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("no-such-binary"), "{out}");
    assert_eq!(s.status(&id), "running");
    assert!(s.alive(init));
}

fn bad_flags_are_refused_and_container_unharmed(s: &Scratch) {
    let (id, init) = running(s);
    let missing_sock = s.path("no-such.sock");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-u", "nobody"], "nobody"),
        (vec!["-u", "0:x"], "0:x"),
        (
            vec!["-t", "--console-socket", missing_sock.to_str().unwrap()],
            "console-socket",
        ),
        (vec!["-p", "/no/such/process.json"], "process.json"),
    ];
    for (flags, word) in cases {
        let mut args = vec!["exec"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&[&id, "/probe", "pid"]);
        let out = s.pivot(&args);
        assert_ne!(out.code, 0, "{flags:?} accepted:\n{out}");
        assert!(
            other_runtime() || out.stderr.contains(word),
            "{flags:?}: the error does not name {word}:\n{out}"
        );
        assert_eq!(s.status(&id), "running", "{flags:?} harmed the container");
    }
    assert!(s.alive(init));
}

/// `exec --cap` with a name the runtime does not know: left out with a
/// warning, and the process runs, as with runc 1.5.
fn unknown_cap_flag_is_a_warning(s: &Scratch) {
    let (id, _) = running(s);
    let out = s
        .pivot(&["exec", "-c", "CAP_NOPE", &id, "/probe", "pid"])
        .ok();
    assert!(out.stderr.contains("CAP_NOPE"), "no warning:\n{out}");
    assert_eq!(s.status(&id), "running");
}

fn ignore_paused_allows_exec_into_paused(s: &Scratch) {
    let (id, _) = running(s);
    s.pivot(&["pause", &id]).ok();
    let out = s.pivot(&["exec", "-d", &id, "/probe", "exit", "0"]);
    assert_ne!(
        out.code, 0,
        "exec into a paused container was allowed:\n{out}"
    );
    assert!(out.stderr.contains("paused"), "{out}");
    let pid_file = s.path("paused-exec.pid");
    // Allowed with --ignore-paused; the new process sits frozen with the
    // rest until resume, so exec -d returns once the container runs again.
    let args: [&std::ffi::OsStr; 11] = [
        "--root".as_ref(),
        s.root.as_os_str(),
        "exec".as_ref(),
        "-d".as_ref(),
        "--ignore-paused".as_ref(),
        "--pid-file".as_ref(),
        pid_file.as_os_str(),
        id.as_ref(),
        "/probe".as_ref(),
        "exit".as_ref(),
        "0".as_ref(),
    ];
    let bin = crate::harness::pivot_bin().unwrap();
    let mut child = crate::runtime::runtime_command(&bin, &s.dir, &args)
        .0
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.pivot(&["resume", &id]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exec --ignore-paused never returned"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "exec --ignore-paused failed");
    // Its zombie is this harness's (subreaper) to reap.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    s.remember_pid(pid);
    assert_eq!(s.status(&id), "running");
}

/// runc's exec exits 255 when it could not run the process at all, so a
/// caller can tell that from the process's own status.
fn failures_of_exec_itself_exit_255(s: &Scratch) {
    let (id, init) = running(s);
    let out = s.pivot(&["exec", &id, "no-such-binary"]);
    assert_eq!(out.code, 255, "{out}");
    let out = s.pivot(&["exec", &s.id("nosuch"), "/probe", "pid"]);
    assert_eq!(out.code, 255, "{out}");
    let out = s.pivot(&[
        "exec",
        "--pid-file",
        "/non-existent/dir/pid",
        &id,
        "/probe",
        "exit",
        "0",
    ]);
    assert_eq!(out.code, 255, "{out}");
    // The process's own status still passes through.
    let out = s.pivot(&["exec", &id, "/probe", "exit", "1"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(s.alive(init));
}

/// `exec -p` with a process.json that has no `user`: 0:0, as runc reads it.
fn process_json_without_user_runs_as_root(s: &Scratch) {
    let (id, _) = running(s);
    let path = s.path("process-nouser.json");
    std::fs::write(
        &path,
        json!({"args": ["/probe", "ids"], "cwd": "/"}).to_string(),
    )
    .unwrap();
    let ids = exec_json(s, &["-p", path.to_str().unwrap(), &id]);
    assert_eq!(ids["uid"], 0, "{ids}");
    assert_eq!(ids["gid"], 0, "{ids}");
}

/// process.cwd that the process user cannot enter (0700, someone else's)
/// works when the runtime can (runc#2086): the directory is changed
/// before the user switch. Both for the init and for exec.
fn cwd_only_the_runtime_may_enter(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let private = bundle.rootfs().join("private");
    std::fs::create_dir(&private).unwrap();
    std::os::unix::fs::chown(&private, Some(42), Some(42)).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    bundle.edit(|c| {
        c["process"]["cwd"] = json!("/private");
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let id = s.id("cwd");
    s.create_started(&bundle.dir, &id);
    // Root without CAP_DAC_OVERRIDE (the default capabilities) cannot
    // enter it either.
    let cwd = exec_json(s, &["--user", "0", &id, "/probe", "cwd"]);
    assert_eq!(cwd["cwd"], "/private", "{cwd}");
    let cwd = exec_json(s, &[&id, "/probe", "cwd"]);
    assert_eq!(cwd["cwd"], "/private", "{cwd}");
}

/// `/proc/PID/cgroup` as the host sees it: (controllers, path) per line.
fn cgroup_lines(pid: i32) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            f.next()?;
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// runc's `exec --cgroup [CONTROLLERS:]PATH`, repeatable: on cgroup v1
/// each named controller's hierarchy gets its sub-cgroup, the others stay
/// in the container's; on cgroup v2 a value naming controllers is left
/// out; bad values are refused with runc's words.
fn cgroup_flag_picks_sub_cgroups(s: &Scratch) {
    let (id, init) = running(s);
    let lines = cgroup_lines(init);
    let path_of = |ctrl: &str| {
        lines
            .iter()
            .find(|(c, _)| c.split(',').any(|x| x == ctrl))
            .map(|(_, p)| p.clone())
    };
    let memory = path_of("memory");
    let pids = path_of("pids");
    let (Some(memory), Some(pids)) = (memory, pids) else {
        // A unified host: one tree, no controllers to name.
        let (_, path) = lines
            .iter()
            .find(|(c, _)| c.is_empty())
            .expect("a 0:: line");
        let sub = std::path::Path::new("/sys/fs/cgroup")
            .join(path.trim_start_matches('/'))
            .join("sub");
        std::fs::create_dir(&sub).unwrap();
        // Only a plain path counts: a value naming controllers (any) is
        // accepted and left out, as runc 1.5.1 does.
        for (value, cgroup) in [
            ("sub", format!("{path}/sub")),
            ("memory:sub", path.clone()),
            ("whaaat:sub", path.clone()),
        ] {
            let pid = exec_detached(s, &["--cgroup", value], &id, &["/probe", "sleep", "30"]);
            let now = cgroup_lines(pid);
            assert_eq!(now, vec![(String::new(), cgroup)], "--cgroup {value}");
        }
        return;
    };
    for (ctrl, path, name) in [("memory", &memory, "m1"), ("pids", &pids, "p1")] {
        let dir = std::path::Path::new("/sys/fs/cgroup")
            .join(ctrl)
            .join(path.trim_start_matches('/'))
            .join(name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    let pid = exec_detached(
        s,
        &["--cgroup", "memory:m1", "--cgroup", "pids:p1"],
        &id,
        &["/probe", "sleep", "30"],
    );
    let now = cgroup_lines(pid);
    for (c, p) in &now {
        let ctrls: Vec<&str> = c.split(',').collect();
        if ctrls.contains(&"memory") {
            assert_eq!(p, &format!("{memory}/m1"), "{now:?}");
        } else if ctrls.contains(&"pids") {
            assert_eq!(p, &format!("{pids}/p1"), "{now:?}");
        } else {
            let was = lines.iter().find(|(ic, _)| ic == c).map(|(_, ip)| ip);
            assert_eq!(Some(p), was, "{c} moved: {now:?}");
        }
    }
    for (value, words) in [
        ("..", ".. is not a sub cgroup path"),
        ("whaaat:/", "unknown controller"),
        ("nonexistent", "nonexistent/cgroup.procs: no such file"),
    ] {
        let out = s.pivot(&["exec", "--cgroup", value, &id, "/probe", "pid"]);
        crate::runtime::assert_refused_naming(&out, &[words]);
    }
}

/// `-u 4294967295`: (uid_t)-1 is setresuid's "no change", which would
/// leave the process root; refused naming the field, the container
/// unharmed.
fn no_change_ids_are_refused(s: &Scratch) {
    let (id, init) = running(s);
    for (user, field) in [
        ("4294967295", "process.user.uid"),
        ("0:4294967295", "process.user.gid"),
    ] {
        let out = s.pivot(&["exec", "-u", user, &id, "/probe", "ids"]);
        assert_ne!(out.code, 0, "-u {user} accepted:\n{out}");
        assert!(
            other_runtime() || out.stderr.contains(field),
            "-u {user}: the error does not name {field}:\n{out}"
        );
        assert_eq!(s.status(&id), "running", "-u {user} harmed the container");
    }
    assert!(s.alive(init));
}
