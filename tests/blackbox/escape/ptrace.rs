use super::exe::{own_comm, sibling_hunter, EXEC_BUDGET, EXEC_ROUNDS};
use super::*;

tests![
    ptrace_created_init_from_sibling,
    ptrace_created_init_from_sibling_with_ptrace_cap,
    ptrace_exec_process,
    ptrace_exec_process_with_ptrace_cap,
    pod_sibling_with_ptrace_cap_reaches_no_host_root,
];

// ptrace of the process that joins the container (CVE-2016-9962)

/// The attempts on processes that were the runtime's own (not one of the
/// container's programs when tried).
fn runtime_attempts(report: &Value) -> Vec<&Value> {
    report["attempts"]
        .as_array()
        .expect("report.attempts")
        .iter()
        .filter(|a| !own_comm(&a["comm"]))
        .collect()
}

/// Whether an fd a hunter reached names a host file or directory: a
/// regular file or a directory on a mount that is not in the process's
/// own mount namespace (after the root switch that is the container's
/// mount tree; anything else is the host's, or detached from it).
fn outside_mount_tree(fd: &Value, mounts: &Value) -> bool {
    let kind = fd["type"].as_str().unwrap_or("");
    if kind != "dir" && kind != "file" {
        return false;
    }
    match (fd["mnt_id"].as_u64(), mounts.as_array()) {
        (Some(id), Some(ids)) => !ids.iter().any(|m| m.as_u64() == Some(id)),
        // Seen, but not where: count it as outside.
        _ => true,
    }
}

/// Checks a ptrace-hunt report. Without CAP_SYS_PTRACE no attach on a
/// runtime process succeeds and nothing its fds name can be seen (their
/// numbers can: /proc/<pid>/fd of a non-dumpable process is root's, and
/// the attacker is root). With it, the attach is the kernel's to grant,
/// and the fds >= 3 of the stopped runtime process must name no host file
/// or directory (CVE-2016-9962); sockets, pipes and the runtime's own
/// fifo are not a way out.
#[track_caller]
fn assert_ptrace_contained(rt: &Rt, report: &Value, ptrace_cap: bool) {
    let (dev, ino) = rt.dev_ino();
    for a in runtime_attempts(report) {
        // Caught (or looked at) after its exec: one of the container's
        // own programs, no longer the runtime.
        let exe = &a["reach"]["exe"];
        let fds = a["reach"]["fds"].as_array().cloned().unwrap_or_default();
        // Refused the attach (non-dumpable), then its stdio readable and
        // gone before its comm was read again: it became dumpable, which
        // the runtime's process only does by its execve of the container's
        // program, which then exited.
        let reached = |f: &&Value| {
            f["type"].is_string() || f["target"].as_str().is_some_and(|t| !t.is_empty())
        };
        let stdio_only = fds
            .iter()
            .filter(reached)
            .all(|f| f["fd"].as_u64().is_some_and(|n| n < 3));
        let exec_then_exit = a["attach"] == "EPERM" && a["comm_after"] == "?" && stdio_only;
        let after_exec = if a["attach"] == "ok" {
            own_comm(&a["comm_stopped"])
        } else {
            own_comm(&a["comm_after"])
                || exec_then_exit
                || (exe["target"].is_string() && (exe["dev"] != dev || exe["ino"] != ino))
        };
        if after_exec {
            continue;
        }
        if !ptrace_cap {
            assert!(
                a["attach"] != "ok",
                "a root process in the container ptrace-attached to the runtime's process \
                 {} (comm {}) as it joined the container (not non-dumpable?): {a:#}",
                a["pid"],
                a["comm"]
            );
            let seen: Vec<&Value> = fds.iter().filter(|f| f["type"].is_string()).collect();
            assert!(
                seen.is_empty(),
                "the fds of the runtime's process {} can be followed from the container: \
                 {seen:?}\n{a:#}",
                a["pid"]
            );
        }
        for fd in &fds {
            let n = fd["fd"].as_u64().unwrap_or(0);
            assert!(
                n < 3 || !outside_mount_tree(fd, &a["reach"]["mounts"]),
                "the runtime's process {} (comm {}) holds fd {n} -> {} ({}), a host object \
                 outside the container's mount tree, reachable from the container through \
                 /proc/{}/fd (CVE-2016-9962): {a:#}",
                a["pid"],
                a["comm"],
                fd["target"],
                fd["type"],
                a["pid"]
            );
        }
    }
}

fn ptrace_created_init(s: &Scratch, ptrace_cap: bool) {
    guarded(s, &[], |rt| {
        let leaks = Leaks::new(s);
        let (victim_id, victim_pid) = victim(s, rt, Some(&leaks));
        let Some(hunter) = sibling_hunter(s, rt, "ptrace-hunt", &victim_id, victim_pid, ptrace_cap)
        else {
            return;
        };
        std::thread::sleep(Duration::from_millis(300));
        rt.cmd(s, &["start", &victim_id]).ok();
        let report = hunter.report(s);
        eprintln!("pivot-tests: ptrace-hunt: {}", ptrace_summary(&report));
        assert!(
            !runtime_attempts(&report).is_empty(),
            "the hunter never saw the created container's init (pid {victim_pid} on the host): {report:#}"
        );
        assert_ptrace_contained(rt, &report, ptrace_cap);
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// The created init (the runtime's image, started with a host file, the
/// scratch dir and a socket leaked to it) cannot be traced by root in a
/// second container joining its pid namespace.
fn ptrace_created_init_from_sibling(s: &Scratch) {
    ptrace_created_init(s, false);
}

/// With CAP_SYS_PTRACE the attach is the kernel's to grant; what the
/// tracer reaches must hold no host file or directory.
fn ptrace_created_init_from_sibling_with_ptrace_cap(s: &Scratch) {
    ptrace_created_init(s, true);
}

fn ptrace_exec_process_with(s: &Scratch, ptrace_cap: bool) {
    guarded(s, &[], |rt| {
        let leaks = Leaks::new(s);
        let hunter = Hunter::start(s, rt, "ptrace-hunt", None, ptrace_cap);
        let started = Instant::now();
        let mut n = 0;
        while n < EXEC_ROUNDS && started.elapsed() < EXEC_BUDGET {
            rt.cmd_leaking(s, &["exec", &hunter.id, "/probe", "pid"], &leaks.fds())
                .ok();
            n += 1;
        }
        let report = hunter.report(s);
        eprintln!(
            "pivot-tests: {n} execs; ptrace-hunt: {}",
            ptrace_summary(&report)
        );
        assert_ptrace_contained(rt, &report, ptrace_cap);
    });
}

/// `exec` (with a host file, the scratch dir and a socket leaked to the
/// runtime) while root in the container tries to attach to every process
/// that is not one of its own programs.
fn ptrace_exec_process(s: &Scratch) {
    ptrace_exec_process_with(s, false);
}

fn ptrace_exec_process_with_ptrace_cap(s: &Scratch) {
    ptrace_exec_process_with(s, true);
}

// ---------------------------------------------------------------------
// A pod: a container joining a pid namespace others are in

/// How many containers join the sandbox's pid namespace, and for how long
/// at most.
const POD_ROUNDS: usize = 3;
const POD_BUDGET: Duration = Duration::from_secs(30);

/// One line about a root-hunt report: per runtime process, what its root
/// was and what reading the canary and creating a file gave, directly
/// and traced.
fn root_summary(report: &Value) -> String {
    let looks: Vec<String> = report["first"]
        .as_array()
        .map(|a| {
            a.iter()
                .take(8)
                .map(|l| {
                    let t = &l["traced"];
                    let fds: Vec<String> = t["reach"]["fds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|fd| fd["fd"].as_u64().unwrap_or(0) >= 3)
                        .map(|fd| format!("{}:{}", fd["fd"], fd["type"]))
                        .collect();
                    format!(
                        "{}({}) root={} read={} create={} traced: attach={} stopped={} root={} read={} create={} fds=[{}]",
                        l["pid"],
                        l["comm"],
                        l["direct"]["root"],
                        l["direct"]["read"],
                        l["direct"]["create"],
                        t["attach"],
                        t["stopped"],
                        t["root"],
                        t["read"],
                        t["create"],
                        fds.join(" ")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} scans, {} reached the host; {}",
        report["scans"],
        report["reached"].as_array().map_or(0, Vec::len),
        looks.join("; ")
    )
}

/// A pod whose sandbox may ptrace (CAP_SYS_PTRACE, no user namespace; and
/// CAP_DAC_OVERRIDE, which Docker and podman grant by default) watches its
/// pid namespace while other containers join it. Each joins
/// with a createContainer hook that sleeps a while before the root
/// switch, so a runtime that lets its init into the pod before the root
/// is built holds it there, in the sandbox's view, with the host's `/`
/// as its root. For every runtime process that appears, the sandbox
/// tries, through /proc/<pid>/root (directly, and with the process
/// PTRACE_SEIZE'd and stopped), to read a host canary file and to create
/// a file in a host canary directory. Neither may succeed, and the
/// stopped process may hold no fd on a host file or directory.
fn pod_sibling_with_ptrace_cap_reaches_no_host_root(s: &Scratch) {
    let canary = canary_file(s, "pod-file");
    let dir = canary_dir(s, "pod-dir");
    guarded(s, &[&canary, &dir], |rt| {
        let (canary_s, dir_s) = (host_str(&canary), host_str(&dir));
        let hunter = Hunter::try_start_with(
            s,
            rt,
            &["root-hunt", &canary_s, &dir_s],
            None,
            true,
            &["CAP_DAC_OVERRIDE"],
        )
        .unwrap_or_else(|out| panic!("the sandbox was not created: {out}"));
        let sandbox = init_pid(s, &hunter.id);
        let started = Instant::now();
        let mut joined = 0;
        while joined < POD_ROUNDS && started.elapsed() < POD_BUDGET {
            let bundle = s.bundle(&["/probe", "pid"]);
            bundle.join_namespace("pid", &format!("/proc/{sandbox}/ns/pid"));
            bundle.edit(|c| {
                c["hooks"] = json!({"createContainer": [
                    {"path": "/bin/sleep", "args": ["sleep", "0.5"]}
                ]});
            });
            let id = s.id("podjoin");
            let out = rt.create(s, &bundle, &id);
            assert_eq!(out.code, 0, "a container could not join the pod: {out}");
            init_pid(s, &id);
            // The joined init waits for `start` in the pod a while too.
            std::thread::sleep(Duration::from_millis(200));
            rt.cmd(s, &["start", &id]).ok();
            s.wait_status(&id, "stopped");
            rt.cmd(s, &["delete", &id]).ok();
            joined += 1;
        }
        let report = hunter.report(s);
        eprintln!(
            "pivot-tests: {joined} containers joined the pod; root-hunt: {}",
            root_summary(&report)
        );
        assert!(
            report["first"].as_array().is_some_and(|a| !a.is_empty()),
            "the sandbox never saw a runtime process of the joining containers: {report:#}"
        );
        for look in report["first"].as_array().into_iter().flatten() {
            let t = &look["traced"];
            for fd in t["reach"]["fds"].as_array().into_iter().flatten() {
                let n = fd["fd"].as_u64().unwrap_or(0);
                // A procfs (the pod's own, held to re-open exec.fifo) shows
                // only what the sandbox's /proc shows.
                let procfs = fd["fs_magic"] == 0x9fa0;
                assert!(
                    n < 3 || procfs || !outside_mount_tree(fd, &t["reach"]["mounts"]),
                    "the runtime's process {} (comm {}) in the pod holds fd {n} -> {} ({}), \
                     a host object outside the container's mount tree: {look:#}",
                    look["pid"],
                    look["comm"],
                    fd["target"],
                    fd["type"]
                );
            }
        }
        let reached = report["reached"].as_array().cloned().unwrap_or_default();
        assert!(
            reached.is_empty(),
            "a pod sibling that may ptrace reached the host's filesystem through \
             /proc/<pid>/root of a process of a container joining its pid namespace \
             (read the canary {} or created a file in {}): {reached:#?}",
            canary.display(),
            dir.display()
        );
    });
}

// ---------------------------------------------------------------------

/// One line about a ptrace-hunt report: per runtime process tried, the
/// attach outcome and the fds >= 3 reached (type and mount id).
fn ptrace_summary(report: &Value) -> String {
    let attempts = runtime_attempts(report);
    let shown: Vec<String> = attempts
        .iter()
        .take(6)
        .map(|a| {
            let fds: Vec<String> = a["reach"]["fds"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter(|fd| fd["fd"].as_u64().unwrap_or(0) >= 3)
                        .map(|fd| match fd["type"].as_str() {
                            Some(t) => format!("{}:{t}@{}", fd["fd"], fd["mnt_id"]),
                            None => format!("{}:?", fd["fd"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}({}) attach={} fds=[{}]",
                a["pid"],
                a["comm"],
                a["attach"],
                fds.join(" ")
            )
        })
        .collect();
    format!(
        "{} scans, {} runtime processes tried: {}{}",
        report["scans"],
        attempts.len(),
        shown.join("; "),
        if attempts.len() > 6 { "; ..." } else { "" }
    )
}
