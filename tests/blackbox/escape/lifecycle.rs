use super::fds::fd_numbers;
use super::procfs::SYSCTL_KEY;
use super::*;
use crate::sys::{kill, umount_detach, Signal};

tests![
    exec_without_mount_namespace_stays_in_its_root,
    sysctl_in_joined_host_network_namespace_is_refused,
    preserve_fds_beyond_open_fds,
];

// Lifecycle: exec without a mount namespace, sysctls in the host's
// network namespace, --preserve-fds past the caller's fds

/// A container without a mount namespace is only chroot'ed into its
/// rootfs; a process `exec` starts in it must be too (there is no mount
/// namespace to join, which would set its root). Before, it ran in the
/// host's root: it read host files, and the container could reach them
/// through its `/proc/<pid>/root`. The exec'd `/bin/busybox` exists on the
/// host too, so a process left in the host's root runs and shows it.
fn exec_without_mount_namespace_stays_in_its_root(s: &Scratch) {
    let canary = canary_file(s, "canary");
    guarded(s, &[&canary], |rt| {
        let bundle = s.bundle(&["/probe", "sleep", "60"]);
        crate::namespaces::without_mount_namespace(&bundle);
        // A container without a mount namespace cannot mount its own /proc.
        let _proc = crate::namespaces::ScratchProc::mount(s, &in_rootfs(&bundle, "/proc"));
        let id = s.id("nomntns");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let script = format!(
            "/bin/busybox test -e {} && echo sees-host-canary; /bin/busybox test -e /probe && echo in-container-root; exit 0",
            host_str(&canary)
        );
        let out = rt.cmd(s, &["exec", &id, "/bin/busybox", "sh", "-c", &script]);
        rt.cmd(s, &["delete", "--force", &id]).ok();
        s.reap();
        // runc binds the rootfs onto itself in the host's mount namespace
        // and leaves it there: take it away (the failure is reported by
        // the host checks all the same, after this test's own verdict).
        let ours = host_str(&in_rootfs(&bundle, "/proc"));
        let left: Vec<String> = s.own_mounts().into_iter().filter(|m| *m != ours).collect();
        let leftover = catch(|| {
            assert!(
                left.is_empty(),
                "the runtime left mounts on the host: {left:?}"
            )
        });
        drop(_proc);
        unmount_under(s, &bundle.rootfs());
        assert!(
            !out.stdout.contains("sees-host-canary"),
            "the exec'd process sees the host canary {}: it runs in the host's root:\n{out}",
            canary.display()
        );
        if out.code != 0 && out.stdout.trim().is_empty() {
            assert!(
                !out.stderr_lines().is_empty(),
                "failed without an error:\n{out}"
            );
            eprintln!("pivot-tests: exec refused: {}", out.stderr.trim());
        } else {
            assert!(
                out.stdout.contains("in-container-root"),
                "the exec'd process does not see the container's root:\n{out}"
            );
        }
        leftover.unwrap_or_else(|msg| panic!("{msg}"));
    });
}

/// Unmounts (lazily, deepest first) whatever is mounted at or under `dir`,
/// a directory of this test's scratch dir.
fn unmount_under(s: &Scratch, dir: &Path) {
    assert!(dir.starts_with(&s.dir), "only inside the scratch dir");
    // Mounts stacked on one point are listed once: go round until none
    // is left (bounded).
    for _ in 0..8 {
        let mut points: Vec<String> = mount_points()
            .into_iter()
            .filter(|p| Path::new(p).starts_with(dir))
            .collect();
        if points.is_empty() {
            return;
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = umount_detach(&p);
        }
    }
}

/// linux.sysctl with a `net.*` key, and linux.namespaces joining a network
/// namespace by a path that names the runtime's own (the host's): refused,
/// as runc refuses it ("not allowed in host network namespace"), however
/// the path is spelt. Only ever with the value the host already has, so
/// that even a runtime that writes it changes nothing; checked after.
fn sysctl_in_joined_host_network_namespace_is_refused(s: &Scratch) {
    const FILE: &str = "/proc/sys/net/ipv4/ip_forward";
    let read = || std::fs::read_to_string(FILE).expect("read ip_forward");
    let host = read();
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    // runc 1.5's `list` fails on a --root that does not exist yet.
    std::fs::create_dir_all(&s.root).expect("mkdir --root");
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        bundle.edit(|c| c["linux"]["sysctl"] = json!({SYSCTL_KEY: host.trim()}));
        let this_process = format!("/proc/{}/ns/net", std::process::id());
        for path in [this_process.as_str(), "/proc/self/ns/net"] {
            bundle.join_namespace("network", path);
            let before = mount_points();
            let id = s.id("hostnet");
            let out = rt.create(s, &bundle, &id);
            if out.code == 0 {
                rt.cmd(s, &["delete", "--force", &id]);
                s.reap();
            }
            assert_eq!(read(), host, "the host's {FILE} changed");
            assert_ne!(
                out.code, 0,
                "network namespace {path:?} (the host's) with linux.sysctl {SYSCTL_KEY}: created \
                 (the sysctl was written to the host's namespace):\n{out}"
            );
            assert_refused_cleanly(s, &out, &id, &before);
            assert!(
                out.stderr.contains("host network namespace"),
                "the error does not say why:\n{out}"
            );
        }
    });
}

/// `--preserve-fds 10` from a caller whose fds 3.. are closed. Refused
/// (as runc refuses it), or the container works: `start`, `kill` and
/// `delete` each return (bounded). Before, pivot's own fds (the state
/// lock and directory, exec.fifo, procfs) took the free numbers and the
/// init kept them, so `start` and `delete` waited forever on the lock it
/// held. The same for `exec --preserve-fds 10`.
fn preserve_fds_beyond_open_fds(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    std::fs::create_dir_all(&s.root).expect("mkdir --root");
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "60"]);
        let id = s.id("preserve");
        let pid_file = s.path("esc-preserve.pid");
        let before = mount_points();
        let out = rt.cmd(
            s,
            &[
                os("create"),
                os("--preserve-fds"),
                os("10"),
                os("--pid-file"),
                pid_file.as_os_str(),
                os("--bundle"),
                bundle.dir.as_os_str(),
                os(&id),
            ],
        );
        if out.code == 0 {
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .expect("--pid-file");
            s.remember_pid(pid);
            let works = catch(|| {
                rt.cmd(s, &["start", &id]).ok();
                rt.cmd(s, &["kill", &id, "KILL"]).ok();
                s.wait_status(&id, "stopped");
                rt.cmd(s, &["delete", &id]).ok();
            });
            if let Err(msg) = works {
                let _ = kill(pid, Signal::KILL);
                s.reap();
                let _ = catch(|| rt.cmd(s, &["delete", "--force", &id]));
                panic!("create --preserve-fds 10 (fds 3.. closed) was taken and then: {msg}");
            }
            eprintln!("pivot-tests: create --preserve-fds 10: created, and it works");
        } else {
            assert_refused_cleanly(s, &out, &id, &before);
            assert!(
                out.stderr.contains("preserve"),
                "the error does not say why:\n{out}"
            );
        }

        let id = s.id("preserve");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let out = rt.cmd(s, &["exec", "--preserve-fds", "10", &id, "/probe", "fds"]);
        let after = catch(|| {
            rt.cmd(s, &["kill", &id, "KILL"]).ok();
            s.wait_status(&id, "stopped");
            rt.cmd(s, &["delete", &id]).ok();
        });
        if out.code == 0 {
            let fds = fd_numbers(&out.json());
            assert!(
                fds.iter().all(|&fd| fd < 3),
                "exec --preserve-fds 10 passed fds {fds:?} the caller never had:\n{out}"
            );
        } else {
            assert!(
                out.stderr.contains("preserve"),
                "the error does not say why:\n{out}"
            );
        }
        after.unwrap_or_else(|msg| panic!("after exec --preserve-fds 10: {msg}"));
    });
}
