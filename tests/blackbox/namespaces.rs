//! Joining an existing namespace by path, and a new user namespace.

use serde_json::{json, Value};

use crate::bundle::chown_tree;
use crate::harness::{tests, Scratch};
use rustix::mount::MountFlags;

tests![
    join_uts_namespace_by_path,
    join_pid_namespace_of_a_pod,
    join_pid_and_user_namespaces_of_a_pod,
    pod_member_with_own_userns_refuses_create_container_hook,
    user_namespace_maps_root,
    no_mount_namespace_chroots,
    no_mount_namespace_refuses_mounts,
    userns_without_netns_binds_host_sys,
    userns_read_only_bind_keeps_locked_flags,
    userns_bind_source_its_root_cannot_reach,
    userns_without_proc_mount_starts,
    join_another_containers_mount_namespace_is_refused,
    join_host_rooted_mount_namespace_by_path,
    time_offsets_seen_inside,
    join_user_namespace_and_a_network_namespace_it_does_not_own,
    time_offsets_without_time_namespace_refused,
];

fn hostname_of_host() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

fn join_uts_namespace_by_path(s: &Scratch) {
    let host_name = hostname_of_host();
    let first = s.bundle(&["/probe", "sleep", "30"]);
    first.edit(|c| c["hostname"] = json!("pivot-shared-uts"));
    let first_id = s.id("utsa");
    let pid = s.create_started(&first.dir, &first_id);

    let second = s.bundle(&["/probe", "hostname"]);
    second.edit(|c| {
        c.as_object_mut().unwrap().remove("hostname");
    });
    second.join_namespace("uts", &format!("/proc/{pid}/ns/uts"));
    let answer = s.run_json(&second.dir, &s.id("utsb"));
    assert_eq!(answer["hostname"], "pivot-shared-uts", "{answer}");

    assert_eq!(
        s.status(&first_id),
        "running",
        "joining harmed the first container"
    );
    assert_eq!(hostname_of_host(), host_name, "the host's hostname changed");
    s.pivot(&["delete", "--force", &first_id]).ok();
    s.reap();
}

/// The `NSpid:` line of a host pid: its pid in each pid namespace, from
/// the host's down.
fn ns_pids(pid: i32) -> Vec<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .expect("NSpid line")
        .split_whitespace()
        .map(|n| n.parse().expect("a pid"))
        .collect()
}

/// A pod: a second container joins the pid namespace of a running one.
/// The pid `state` reports is the second container's process, which is in
/// the pod (not its pid 1), and the container's /proc is the pod's (its
/// pid 1 is the first container's process), for `create` + `start` and for
/// `run` (a terminal: tty::pod_member_terminal_is_its_controlling_tty).
fn join_pid_namespace_of_a_pod(s: &Scratch) {
    let first = s.bundle(&["/probe", "sleep", "30"]);
    let first_id = s.id("poda");
    let pod = s.create_started(&first.dir, &first_id);
    let pod_ns = std::fs::read_link(format!("/proc/{pod}/ns/pid")).expect("pod pid ns");

    let second = s.bundle(&["/probe", "cat", "/proc/1/cmdline"]);
    second.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    let second_id = s.id("podb");
    let pid = s.create(&second.dir, &second_id);
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("ns of the created init"),
        pod_ns,
        "state.pid {pid} is not in the pod's pid namespace"
    );
    let nspid = ns_pids(pid);
    assert_eq!(nspid.len(), 2, "NSpid of {pid}: {nspid:?}");
    assert_ne!(
        nspid[1], 1,
        "the joining init is pid 1 in the pod: {nspid:?}"
    );
    s.pivot(&["start", &second_id]).ok();
    s.wait_status(&second_id, "stopped");
    s.delete(&second_id);

    let third = s.bundle(&["/probe", "cat", "/proc/1/cmdline"]);
    third.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    let answer = s.run_json(&third.dir, &s.id("podc"));
    assert_eq!(
        answer["content"], "/probe\u{0}sleep\u{0}30\u{0}",
        "/proc/1 in the joining container is not the pod's first process: {answer}"
    );

    // The init forks into the pod under the seccomp filter when it loads
    // before the capabilities drop (no_new_privs off): a profile that
    // answers clone3 with ENOSYS, as Docker's and podman's do, still runs.
    let fourth = s.bundle(&["/probe", "cat", "/proc/1/cmdline"]);
    fourth.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    fourth.edit(|c| {
        c["process"]["noNewPrivileges"] = json!(false);
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        });
    });
    let answer = s.run_json(&fourth.dir, &s.id("podd"));
    assert_eq!(
        answer["content"], "/probe\u{0}sleep\u{0}30\u{0}",
        "with clone3 refused: {answer}"
    );

    assert_eq!(s.status(&first_id), "running", "joining harmed the pod");
    s.pivot(&["delete", "--force", &first_id]).ok();
    s.reap();
}

/// A pod with a user namespace (as Kubernetes' `hostUsers: false`): the
/// second container joins the sandbox's user and pid namespaces; its
/// /proc is the pod's and its init is not pid 1 there.
fn join_pid_and_user_namespaces_of_a_pod(s: &Scratch) {
    let first = userns_bundle(s, &["/probe", "sleep", "30"]);
    let first_id = s.id("upoda");
    let pod = s.create_started(&first.dir, &first_id);

    let second = s.bundle(&["/probe", "cat", "/proc/1/cmdline"]);
    chown_tree(&second.rootfs(), 100_000, 100_000);
    second.join_namespace("user", &format!("/proc/{pod}/ns/user"));
    second.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    let second_id = s.id("upodb");
    let pid = s.create(&second.dir, &second_id);
    let nspid = ns_pids(pid);
    assert_eq!(nspid.len(), 2, "NSpid of {pid}: {nspid:?}");
    assert_ne!(
        nspid[1], 1,
        "the joining init is pid 1 in the pod: {nspid:?}"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/user")).expect("user ns"),
        std::fs::read_link(format!("/proc/{pod}/ns/user")).expect("pod user ns"),
    );
    s.pivot(&["start", &second_id]).ok();
    s.wait_status(&second_id, "stopped");
    s.delete(&second_id);

    let third = s.bundle(&["/probe", "cat", "/proc/1/cmdline"]);
    chown_tree(&third.rootfs(), 100_000, 100_000);
    third.join_namespace("user", &format!("/proc/{pod}/ns/user"));
    third.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    let answer = s.run_json(&third.dir, &s.id("upodc"));
    assert_eq!(
        answer["content"], "/probe\u{0}sleep\u{0}30\u{0}",
        "/proc/1 in the joining container is not the pod's first process: {answer}"
    );
    s.pivot(&["delete", "--force", &first_id]).ok();
    s.reap();
}

/// A container with a user namespace of its own joins a pod's pid
/// namespace before it makes that user namespace, so anything it forks
/// from then on is in the pod: a createContainer hook, which would run
/// there with the host's root, is refused, naming the field.
fn pod_member_with_own_userns_refuses_create_container_hook(s: &Scratch) {
    let first = s.bundle(&["/probe", "sleep", "30"]);
    let first_id = s.id("hpoda");
    let pod = s.create_started(&first.dir, &first_id);
    let second = userns_bundle(s, &["/probe", "pid"]);
    second.join_namespace("pid", &format!("/proc/{pod}/ns/pid"));
    second.edit(|c| {
        c["hooks"] = json!({"createContainer": [{"path": "/bin/true"}]});
    });
    let second_id = s.id("hpodb");
    let mounts = crate::host::mount_points();
    let out = s.pivot(&[
        std::ffi::OsStr::new("create"),
        std::ffi::OsStr::new("--bundle"),
        second.dir.as_os_str(),
        std::ffi::OsStr::new(&second_id),
    ]);
    crate::runtime::assert_error_mentions(&out.fails(), &["hooks.createContainer"]);
    assert!(!s.root.join(&second_id).exists(), "state dir left");
    let (added, removed) = s.mount_changes(&mounts);
    assert!(
        added.is_empty() && removed.is_empty(),
        "mounts: {added:?} {removed:?}"
    );
    assert_eq!(s.status(&first_id), "running", "the refusal harmed the pod");
    s.pivot(&["delete", "--force", &first_id]).ok();
    s.reap();
}

fn user_namespace_maps_root(s: &Scratch) {
    let script = "/probe ids && /probe cat /proc/self/uid_map && /probe cat /proc/self/gid_map";
    let bundle = s.bundle(&["/bin/sh", "-c", script]);
    chown_tree(&bundle.rootfs(), 100_000, 100_000);
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        let map = json!([{"containerID": 0, "hostID": 100_000, "size": 65_536}]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
    let out = s.run(&bundle.dir, &s.id("userns")).ok();
    let answers: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect();
    assert_eq!(answers.len(), 3, "{out}");
    let ids = &answers[0];
    assert_eq!(ids["uid"], 0, "{ids}");
    assert_eq!(ids["euid"], 0, "{ids}");
    assert_eq!(ids["gid"], 0, "{ids}");
    for (answer, what) in [(&answers[1], "uid_map"), (&answers[2], "gid_map")] {
        let content = answer["content"].as_str().unwrap_or_default();
        let fields: Vec<&str> = content.split_whitespace().collect();
        assert_eq!(fields, ["0", "100000", "65536"], "{what}: {answer}");
    }
}

/// A procfs mounted by the test inside its scratch dir, unmounted on drop.
pub(crate) struct ScratchProc(std::path::PathBuf);

impl ScratchProc {
    pub(crate) fn mount(s: &Scratch, path: &std::path::Path) -> ScratchProc {
        assert!(path.starts_with(&s.dir), "only inside the scratch dir");
        rustix::mount::mount("proc", path, "proc", MountFlags::empty(), None)
            .unwrap_or_else(|e| panic!("mount proc: {e}"));
        ScratchProc(path.to_path_buf())
    }
}

impl Drop for ScratchProc {
    fn drop(&mut self) {
        let _ = crate::sys::umount_detach(&self.0);
    }
}

pub(crate) fn without_mount_namespace(bundle: &crate::bundle::Bundle) {
    bundle.edit(|c| {
        c["mounts"] = json!([]);
        c["root"]["readonly"] = json!(false);
        let linux = &mut c["linux"];
        linux["maskedPaths"] = json!([]);
        linux["readonlyPaths"] = json!([]);
        let ns = linux["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "mount");
    });
}

/// Without a mount namespace the container is only chroot'ed: it shares
/// the host's mount namespace, sees the rootfs as `/`, and the host's mount
/// table is left as it was.
fn no_mount_namespace_chroots(s: &Scratch) {
    let bundle = s.bundle(&[
        "/probe",
        "stat",
        "/probe",
        "/proc/self/ns/mnt",
        "/bin/busybox",
    ]);
    without_mount_namespace(&bundle);
    // The container cannot mount /proc itself; give its rootfs one.
    let _proc = ScratchProc::mount(s, &bundle.rootfs().join("proc"));
    let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let answer = s.run_json(&bundle.dir, &s.id("chroot"));
    let after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(answer[0]["exists"], true, "{answer}");
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_eq!(
        answer[1]["link"],
        host_mnt.to_string_lossy().as_ref(),
        "not the host's mount namespace: {answer}"
    );
    assert_eq!(answer[2]["exists"], true, "{answer}");
    let mine = |t: &str| {
        t.lines()
            .filter(|l| l.contains(&*s.dir.to_string_lossy()))
            .count()
    };
    if mine(&before) != mine(&after) {
        // A runtime that mounted on the host (runc 1.1.5 binds the rootfs
        // onto itself even here): take it away before failing.
        let mut points: Vec<&str> = after
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&*s.dir.to_string_lossy()))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = crate::sys::umount_detach(p);
        }
        panic!("the run changed mounts under the scratch dir");
    }
}

fn no_mount_namespace_refuses_mounts(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "mount");
    });
    let out = s.run(&bundle.dir, &s.id("nomnt"));
    assert_ne!(out.code, 0, "{out}");
    crate::runtime::assert_error_mentions(&out, &["mount", "sys entries"]);
    assert!(s.list_ids().is_empty());
}

/// A user-namespace bundle (root mapped to 100000) running `args`.
fn userns_bundle(s: &Scratch, args: &[&str]) -> crate::bundle::Bundle {
    let bundle = s.bundle(args);
    chown_tree(&bundle.rootfs(), 100_000, 100_000);
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        let map = json!([{"containerID": 0, "hostID": 100_000, "size": 65_536}]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
    bundle
}

fn mount_at<'a>(mounts: &'a Value, point: &str) -> &'a Value {
    mounts
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point)
        .unwrap_or_else(|| panic!("nothing mounted at {point}: {mounts}"))
}

/// A user namespace may not mount sysfs for a network namespace it does
/// not own; as runc does, the host's /sys is bound instead, read-only.
fn userns_without_netns_binds_host_sys(s: &Scratch) {
    let bundle = userns_bundle(s, &["/probe", "mounts"]);
    bundle.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
    });
    let mounts = s.run_json(&bundle.dir, &s.id("usys"));
    let sys = mount_at(&mounts, "/sys");
    assert_eq!(sys["fs_type"], "sysfs", "{sys}");
    let opts = sys["mount_options"].as_str().unwrap();
    assert!(opts.split(',').any(|o| o == "ro"), "{sys}");
    // A bind of the host's tree: its submounts come along.
    assert!(
        mounts.as_array().unwrap().iter().any(|m| m["mount_point"]
            .as_str()
            .is_some_and(|p| p.starts_with("/sys/") && m["fs_type"] != "sysfs")),
        "no submount of the host's /sys: {mounts}"
    );
}

/// In a user namespace the kernel locks a bind source's nosuid/nodev/
/// noexec; a read-only bind of such a source must still work, keeping them.
fn userns_read_only_bind_keeps_locked_flags(s: &Scratch) {
    let bundle = userns_bundle(s, &["/probe", "mounts"]);
    // A nosuid,nodev,noexec tmpfs of the test's own, in its scratch dir.
    let dir = s.mkdir("locked");
    rustix::mount::mount(
        "tmpfs",
        &dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        c"size=1m",
    )
    .unwrap_or_else(|e| panic!("mount tmpfs: {e}"));
    let _guard = ScratchProc(dir.clone());
    bundle.add_mount(json!({
        "destination": "/locked", "type": "bind", "source": dir, "options": ["bind", "ro"],
    }));
    let mounts = s.run_json(&bundle.dir, &s.id("ulock"));
    let m = mount_at(&mounts, "/locked");
    let opts: Vec<&str> = m["mount_options"].as_str().unwrap().split(',').collect();
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(opts.contains(&o), "{o} missing: {m}");
    }
}

/// With a user namespace, a bind source in a directory the container's
/// root (a mapped host uid) cannot search (0700, host root's) is opened
/// from the host's user namespace and mounted, as runc does; the mount is
/// still cloned inside the user namespace, so the kernel's locks hold:
/// root in the container, with CAP_SYS_ADMIN, can neither unmount a child
/// mount of an rbind source to see what it hides nor make a read-only
/// host mount writable. An exec'd process sees the same.
fn userns_bind_source_its_root_cannot_reach(s: &Scratch) {
    let bundle = userns_bundle(s, &["/probe", "sleep", "30"]);
    bundle.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_ADMIN"));
        }
    });
    let private = s.mkdir("private");
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let mut sources = Vec::new();
    for n in ["one", "two"] {
        let dir = private.join(n);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("file"), n).unwrap();
        sources.push(dir);
    }
    // one/sub: a file, hidden by a read-only tmpfs of the test's own.
    let sub = sources[0].join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("hidden"), "under").unwrap();
    let tmpfs = crate::mounts::HostMount::tmpfs(s, &sub);
    std::fs::write(sub.join("top"), "top").unwrap();
    tmpfs.remount(libc::MS_RDONLY);
    bundle.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.push(json!({"destination": "/mnt/0", "type": "bind",
                           "source": sources[0], "options": ["rbind"]}));
        mounts.push(json!({"destination": "/mnt/1", "type": "bind",
                           "source": sources[1], "options": ["bind", "ro"]}));
    });
    let id = s.id("usernsbind");
    s.create_started(&bundle.dir, &id);
    let script = "cat /mnt/0/file /mnt/1/file /mnt/0/sub/top; echo; \
                  umount /mnt/0/sub && echo UNMOUNTED; \
                  mount -o remount,bind,rw /mnt/0/sub && echo WRITABLE; \
                  ls /mnt/0/sub";
    let out = s.pivot(&["exec", &id, "/bin/sh", "-c", script]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, ["onetwotop", "top"], "in the container:\n{out}");
    s.pivot(&["kill", &id, "KILL"]).ok();
}

/// A container with a user namespace, its capabilities dropped and no
/// /proc mount starts: the init makes its procfs while it still may (a new
/// procfs in a user namespace needs a visible one, which the container
/// does not have once its root is switched).
fn userns_without_proc_mount_starts(s: &Scratch) {
    let bundle = userns_bundle(s, &["/bin/sh", "-c", "echo started; ls -A /proc"]);
    bundle.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/proc");
    });
    let out = s.run(&bundle.dir, &s.id("unoproc")).ok();
    assert_eq!(
        out.stdout, "started\n",
        "/proc is not empty, or no output:\n{out}"
    );
}

/// linux.namespaces with the mount namespace of another container: the
/// runtime would build the new root, run hooks and write sysctls inside
/// a namespace the other container's root can rearrange. Refused, the
/// other container unharmed. (Its rootfs holds a copy of the new one at
/// the same path, so a runtime that goes ahead finds what it looks for.)
fn join_another_containers_mount_namespace_is_refused(s: &Scratch) {
    let first = s.bundle(&["/probe", "sleep", "30"]);
    let first_id = s.id("mnta");
    let pid = s.create_started(&first.dir, &first_id);
    let second = s.bundle(&["/probe", "exit", "0"]);
    let rootfs = second.rootfs();
    let mirror = first
        .rootfs()
        .join(rootfs.strip_prefix("/").expect("absolute rootfs"));
    std::fs::create_dir_all(mirror.parent().expect("parent")).expect("mkdir mirror");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&rootfs)
        .arg(&mirror)
        .status()
        .expect("cp");
    assert!(
        copied.success(),
        "cp -a {} {}",
        rootfs.display(),
        mirror.display()
    );
    second.join_namespace("mount", &format!("/proc/{pid}/ns/mnt"));
    let before = crate::host::mount_points();
    let theirs = || mount_points_of(pid);
    let theirs_before = theirs();
    let id = s.id("mntb");
    let out = s.pivot(&[
        "create",
        "--bundle",
        second.dir.to_str().expect("UTF-8"),
        &id,
    ]);
    assert_eq!(
        theirs(),
        theirs_before,
        "the other container's mount table changed:\n{out}"
    );
    crate::runtime::assert_error_mentions(&out, &["mount namespace", "linux.namespaces"]);
    assert_eq!(
        s.status(&first_id),
        "running",
        "the other container was harmed"
    );

    s.pivot(&["delete", "--force", &first_id]).ok();
    s.reap();
    s.assert_nothing_left(&id, &before);
}

/// The mount points of a process's mount namespace, as the host sees them.
fn mount_points_of(pid: i32) -> Vec<String> {
    crate::mountinfo::mounts_of(&pid.to_string())
        .into_iter()
        .map(|m| m.mount_point.to_string_lossy().into_owned())
        .collect()
}

/// A mount namespace a caller made with the host's root (`unshare -m`,
/// kept by a process in it) is joined, as runc does: the refusal above is
/// only for a namespace whose root is elsewhere.
fn join_host_rooted_mount_namespace_by_path(s: &Scratch) {
    let mut keeper = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "slave", "sleep", "30"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn unshare");
    let pid = keeper.id() as i32;
    let outcome = crate::harness::catch(|| {
        // unshare has made the namespace once its mnt link differs.
        let own = std::fs::read_link("/proc/self/ns/mnt").expect("own mnt ns");
        assert!(
            crate::host::wait_for(crate::harness::WAIT, || {
                std::fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|l| l != own)
            }),
            "unshare made no mount namespace"
        );
        let bundle = s.bundle(&["/probe", "cat", "/etc/pivot-mntns"]);
        std::fs::write(bundle.rootfs().join("etc/pivot-mntns"), "joined\n").expect("marker");
        bundle.join_namespace("mount", &format!("/proc/{pid}/ns/mnt"));
        let out = s.run(&bundle.dir, &s.id("mnthost")).ok();
        assert!(out.stdout.contains("joined"), "{out}");
    });
    let _ = keeper.kill();
    let _ = keeper.wait();
    if let Err(msg) = outcome {
        panic!("{msg}");
    }
}

/// The host's uptime in seconds (boottime).
fn host_uptime() -> f64 {
    let text = std::fs::read_to_string("/proc/uptime").expect("read /proc/uptime");
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// `linux.timeOffsets` are written before any process is in the new time
/// namespace (the kernel refuses them after): the container's process sees
/// them in /proc/self/timens_offsets and its boottime (/proc/uptime) is
/// ahead of the host's by the offset. With and without a user namespace
/// of its own (which owns the time namespace then), and joining another
/// namespace by path (the init makes the namespaces itself).
fn time_offsets_seen_inside(s: &Scratch) {
    let offsets = json!({
        "monotonic": {"secs": 7881, "nanosecs": 2718281},
        "boottime": {"secs": 1_000_000, "nanosecs": 3141519}
    });
    let script = "/probe cat /proc/self/timens_offsets && /probe cat /proc/uptime";
    let plain = s.bundle(&["/bin/sh", "-c", script]);
    let userns = userns_bundle(s, &["/bin/sh", "-c", script]);
    let joining = s.bundle(&["/bin/sh", "-c", script]);
    joining.join_namespace("ipc", "/proc/self/ns/ipc");
    for (tag, bundle) in [("plain", &plain), ("userns", &userns), ("join", &joining)] {
        bundle.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] = offsets.clone();
        });
        let before = host_uptime();
        let out = s.run(&bundle.dir, &s.id(&format!("timens{tag}"))).ok();
        let after = host_uptime();
        let text = out.stdout.clone();
        let mut answers = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
        let offsets_seen = answers.next().expect("timens_offsets").expect("json");
        let uptime = answers.next().expect("uptime").expect("json");
        let lines: Vec<String> = offsets_seen["content"]
            .as_str()
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert!(
            lines.contains(&"monotonic 7881 2718281".to_string())
                && lines.contains(&"boottime 1000000 3141519".to_string()),
            "{tag}: the offsets are not in the container's time namespace: {lines:?}"
        );
        let inside: f64 = uptime["content"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            inside >= before + 1_000_000.0 && inside <= after + 1_000_001.0,
            "{tag}: uptime inside {inside}, host {before}..{after}: boottime offset not applied"
        );
    }
    s.reap();
}

/// Offsets without a time namespace have nothing to apply to: refused,
/// naming the field, as runc refuses them.
fn time_offsets_without_time_namespace_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "pid"]);
    bundle.remove_namespace("time");
    bundle.edit(|c| {
        c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1, "nanosecs": 0}});
    });
    let id = s.id("timensnone");
    let out = s.pivot(&[
        std::ffi::OsStr::new("run"),
        std::ffi::OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        std::ffi::OsStr::new(&id),
    ]);
    crate::runtime::assert_error_mentions(&out.fails(), &["timeOffsets", "time namespace"]);
    assert!(!s.root.join(&id).exists(), "state dir left");
}

/// A process in a network namespace of its own, owned by the host's user
/// namespace (`unshare -n`); killed when dropped.
struct NetnsHolder(std::process::Child);

impl NetnsHolder {
    fn start() -> NetnsHolder {
        let child = std::process::Command::new("unshare")
            .args(["-n", "sleep", "60"])
            .spawn()
            .expect("spawn unshare -n sleep");
        let holder = NetnsHolder(child);
        let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
        let deadline = std::time::Instant::now() + crate::harness::WAIT;
        while std::fs::read_link(holder.ns_path()).ok().as_ref() == Some(&mine)
            || std::fs::read_link(holder.ns_path()).is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "unshare -n did not make a network namespace"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        holder
    }

    fn ns_path(&self) -> String {
        format!("/proc/{}/ns/net", self.0.id())
    }
}

impl Drop for NetnsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The user namespace of another container joined by path, with a network
/// namespace that user namespace does not own (the host's user namespace
/// owns it): joined after the user namespace, setns(CLONE_NEWNET) would
/// need CAP_SYS_ADMIN over the host's user namespace (EPERM). Joined in
/// an order that works, as runc 1.2 and later: the container is in both.
fn join_user_namespace_and_a_network_namespace_it_does_not_own(s: &Scratch) {
    let holder = NetnsHolder::start();
    let first = userns_bundle(s, &["/probe", "sleep", "30"]);
    let first_id = s.id("usrneta");
    let owner = s.create_started(&first.dir, &first_id);

    let second = s.bundle(&["/probe", "sleep", "30"]);
    chown_tree(&second.rootfs(), 100_000, 100_000);
    second.join_namespace("user", &format!("/proc/{owner}/ns/user"));
    second.join_namespace("network", &holder.ns_path());
    // sysfs needs the network namespace's owner: not this container's.
    second.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/sys");
    });
    let second_id = s.id("usrnetb");
    let out = s.pivot(&[
        std::ffi::OsStr::new("create"),
        std::ffi::OsStr::new("--bundle"),
        second.dir.as_os_str(),
        std::ffi::OsStr::new(&second_id),
    ]);
    let joined = (out.code == 0).then(|| {
        let pid = s.state(&second_id)["pid"].as_i64().unwrap() as i32;
        s.remember_pid(pid);
        let ns =
            |pid: String, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok();
        (
            ns(pid.to_string(), "user") == ns(owner.to_string(), "user"),
            ns(pid.to_string(), "net") == ns(holder.0.id().to_string(), "net"),
        )
    });
    s.pivot(&["delete", "--force", &second_id]);
    s.pivot(&["delete", "--force", &first_id]);
    s.reap();
    drop(holder);
    assert_eq!(out.code, 0, "create failed:\n{out}");
    assert_eq!(joined, Some((true, true)), "(user, net) namespaces joined");
}
