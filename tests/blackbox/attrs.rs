//! The remaining process and linux fields, seen from inside with `probe`:
//! process.scheduler, process.ioPriority, process.execCPUAffinity (and the
//! init's CPU affinity), linux.personality, linux.memoryPolicy,
//! linux.netDevices; and the fields this host cannot honour (linux.intelRdt
//! without resctrl, the LSM fields without AppArmor or SELinux), which must
//! fail. Bad input fails with a one-line error naming the field and leaves
//! nothing behind.
//!
//! The network device tests make a veth pair on the host with `ip` (names
//! unique to the test run), move one end into the container, and always
//! delete the pair at the end.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch, NAME_SEQ};
use crate::host::mount_points;
use crate::runtime::assert_error_mentions;
use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};

tests![
    scheduler_batch_with_nice,
    scheduler_reset_on_fork,
    scheduler_deadline,
    scheduler_fifo_applies_or_names_the_field,
    scheduler_bad_input,
    io_priority_best_effort,
    io_priority_realtime,
    io_priority_bad_input,
    cpu_affinity_is_reset_and_exec_affinity_spares_the_init,
    exec_cpu_affinity_bad_input,
    exec_does_not_inherit_the_callers_pinning,
    personality_linux32,
    personality_bad_input,
    exec_gets_personality_and_memory_policy,
    memory_policy_bind,
    memory_policy_interleave_static,
    memory_policy_bad_input,
    memory_policy_refused_by_the_kernel,
    intel_rdt_is_never_ignored,
    lsm_fields_without_the_lsm_fail,
    lsm_empty_fields_are_fine,
    net_device_moved_renamed_and_up,
    net_device_bad_input,
    net_device_name_taken_in_container,
    features_list_what_works,
];

/// Runs the bundle in the foreground; its process prints one JSON document
/// per line (one probe, or several in a shell snippet), returned in order.
#[track_caller]
fn probe_lines(s: &Scratch, bundle: &Bundle) -> Vec<Value> {
    let out = s.run(&bundle.dir, &s.id("attr")).ok();
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out}")))
        .collect()
}

/// The text of `probe cat PATH` run as the container's process.
#[track_caller]
fn cat_inside(s: &Scratch, path: &str, edit: impl FnOnce(&mut Value)) -> String {
    let bundle = s.bundle(&["/probe", "cat", path]);
    bundle.edit(edit);
    let answer = probe_lines(s, &bundle);
    content(&answer[0])
}

fn content(answer: &Value) -> String {
    answer["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {answer}"))
        .to_string()
}

/// The fields of /proc/<pid>/stat after the command name: index 0 is the
/// state (field 3 of proc(5)), so field N is at index N - 3.
fn stat_field(stat: &str, field: usize) -> i64 {
    let rest = stat.rsplit_once(')').expect("stat has a ')'").1;
    let word = rest.split_whitespace().nth(field - 3).expect("stat field");
    word.parse()
        .unwrap_or_else(|_| panic!("stat field {field}: {word}"))
}

const NICE: usize = 19;
const RT_PRIORITY: usize = 40;
const POLICY: usize = 41;

/// A `key : value` line of /proc/<pid>/sched.
fn sched_value(sched: &str, key: &str) -> i64 {
    sched
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("no {key} in:\n{sched}"))
}

/// `create` must fail naming one of `any_of`, and leave nothing behind.
#[track_caller]
fn create_fails(s: &Scratch, edit: impl FnOnce(&mut Value), any_of: &[&str]) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(edit);
    let id = s.id("bad");
    let before = mount_points();
    let out = s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    assert_error_mentions(&out, any_of);
    s.assert_nothing_left(&id, &before);
}

fn scheduler_batch_with_nice(s: &Scratch) {
    let stat = cat_inside(s, "/proc/self/stat", |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    });
    assert_eq!(stat_field(&stat, POLICY), 3, "SCHED_BATCH: {stat}");
    assert_eq!(stat_field(&stat, NICE), 7, "{stat}");
}

fn scheduler_reset_on_fork(s: &Scratch) {
    // The shell has the init's settings; the probe it forks has them reset
    // (a negative nice goes back to 0). The trailing exit keeps the shell
    // from exec'ing the last probe in its own place.
    let bundle = s.bundle(&[
        "/bin/sh",
        "-c",
        "/probe cat /proc/$$/stat; /probe cat /proc/self/stat; exit 0",
    ]);
    bundle.edit(|c| {
        c["process"]["scheduler"] = json!({
            "policy": "SCHED_OTHER",
            "nice": -5,
            "flags": ["SCHED_FLAG_RESET_ON_FORK"],
        });
    });
    let answers = probe_lines(s, &bundle);
    let (shell, child) = (content(&answers[0]), content(&answers[1]));
    assert_eq!(stat_field(&shell, NICE), -5, "{shell}");
    assert_eq!(stat_field(&child, NICE), 0, "reset on fork: {child}");
}

fn scheduler_deadline(s: &Scratch) {
    let sched = cat_inside(s, "/proc/self/sched", |c| {
        c["process"]["scheduler"] = json!({
            "policy": "SCHED_DEADLINE",
            "runtime": 1_000_000,
            "deadline": 5_000_000,
            "period": 10_000_000,
        });
    });
    assert_eq!(sched_value(&sched, "policy"), 6, "SCHED_DEADLINE:\n{sched}");
    // What is left of the runtime in the current period: never more than
    // the 1 ms budget, and below zero when the task overran it (a slow,
    // emulated CPU does) and waits for its next period.
    let left = sched_value(&sched, "dl.runtime");
    assert!(left <= 1_000_000, "dl.runtime {left}:\n{sched}");
}

/// A real-time policy needs real-time runtime in the container's cgroup:
/// on a cgroup v1 host with RT group scheduling a new cgroup has none, and
/// the kernel refuses (as it does for runc). Either outcome is checked.
fn scheduler_fifo_applies_or_names_the_field(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "cat", "/proc/self/stat"]);
    bundle.edit(|c| c["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 10}));
    let id = s.id("fifo");
    let before = mount_points();
    let out = s.run(&bundle.dir, &id);
    if out.code == 0 {
        let stat = content(&out.json());
        assert_eq!(stat_field(&stat, POLICY), 1, "SCHED_FIFO: {stat}");
        assert_eq!(stat_field(&stat, RT_PRIORITY), 10, "{stat}");
    } else {
        assert_error_mentions(&out, &["process.scheduler"]);
        assert_error_mentions(&out, &["sched_setattr(0, {SCHED_FIFO, nice 0, priority 10"]);
        s.assert_nothing_left(&id, &before);
    }
}

fn scheduler_bad_input(s: &Scratch) {
    let cases = [
        (json!({"policy": "SCHED_PIVOT"}), "process.scheduler.policy"),
        (json!({"nice": 1}), "process.scheduler.policy"),
        (
            json!({"policy": "SCHED_OTHER", "nice": 20}),
            "process.scheduler.nice",
        ),
        (
            json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_PIVOT"]}),
            "process.scheduler.flags[0]",
        ),
        (
            json!({"policy": "SCHED_BATCH", "priority": 5}),
            "process.scheduler.priority",
        ),
        (
            json!({"policy": "SCHED_RR", "priority": 100}),
            "process.scheduler.priority",
        ),
        (
            json!({"policy": "SCHED_OTHER", "period": 1000}),
            "process.scheduler",
        ),
    ];
    for (scheduler, field) in cases {
        create_fails(s, |c| c["process"]["scheduler"] = scheduler, &[field]);
    }
}

/// ioprio_get(IOPRIO_WHO_PROCESS, 0) as seen by the container's process.
fn ioprio_inside(s: &Scratch, io_priority: Value) -> i64 {
    let bundle = s.bundle(&["/probe", "syscall", "ioprio_get", "1", "0"]);
    bundle.edit(|c| c["process"]["ioPriority"] = io_priority);
    let answer = probe_lines(s, &bundle).remove(0);
    assert!(answer["errno"].is_null(), "{answer}");
    answer["ret"].as_i64().unwrap_or_else(|| panic!("{answer}"))
}

fn io_priority_best_effort(s: &Scratch) {
    let prio = ioprio_inside(s, json!({"class": "IOPRIO_CLASS_BE", "priority": 6}));
    assert_eq!((prio >> 13, prio & 0x1fff), (2, 6), "class BE, level 6");
}

fn io_priority_realtime(s: &Scratch) {
    let prio = ioprio_inside(s, json!({"class": "IOPRIO_CLASS_RT", "priority": 0}));
    assert_eq!((prio >> 13, prio & 0x1fff), (1, 0), "class RT, level 0");
}

fn io_priority_bad_input(s: &Scratch) {
    let cases = [
        (
            json!({"class": "IOPRIO_CLASS_PIVOT", "priority": 1}),
            "process.ioPriority.class",
        ),
        (json!({"priority": 1}), "process.ioPriority.class"),
        (
            json!({"class": "IOPRIO_CLASS_BE", "priority": 8}),
            "process.ioPriority.priority",
        ),
        (
            json!({"class": "IOPRIO_CLASS_BE", "priority": -1}),
            "process.ioPriority.priority",
        ),
    ];
    for (prio, field) in cases {
        create_fails(s, |c| c["process"]["ioPriority"] = prio, &[field]);
    }
}

/// The CPUs a task may run on, from its status file.
fn allowed_list(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in:\n{status}"))
}

/// Pins the calling thread (and what it spawns) to one CPU until dropped.
struct Pinned(CpuSet);

impl Pinned {
    fn to(cpu: usize) -> Pinned {
        let old = sched_getaffinity(None).expect("sched_getaffinity");
        let mut one = CpuSet::new();
        one.set(cpu);
        sched_setaffinity(None, &one).expect("sched_setaffinity");
        Pinned(old)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = sched_setaffinity(None, &self.0);
    }
}

/// runc resets the init's affinity (a container does not inherit the
/// runtime's pinning), and execCPUAffinity is for `exec`, not the init
/// (runtime-spec: "not applicable to the container's init process").
fn cpu_affinity_is_reset_and_exec_affinity_spares_the_init(s: &Scratch) {
    let mine = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let all = allowed_list(&mine);
    let first: usize = all
        .split([',', '-'])
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("Cpus_allowed_list {all:?}"));
    let status = {
        let _pinned = Pinned::to(first);
        cat_inside(s, "/proc/self/status", |c| {
            c["process"]["execCPUAffinity"] =
                json!({"initial": first.to_string(), "final": first.to_string()});
        })
    };
    assert_eq!(allowed_list(&status), all, "the init kept pivot's pinning");
}

/// `exec` from a caller pinned to one CPU (`taskset -c 0 pivot exec`)
/// without execCPUAffinity: the process gets every CPU the container's
/// cpuset allows, not the caller's pinning, as runc 1.2.7 and later.
fn exec_does_not_inherit_the_callers_pinning(s: &Scratch) {
    let mine = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let all = allowed_list(&mine);
    let first: usize = all
        .split([',', '-'])
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("Cpus_allowed_list {all:?}"));
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("xaff");
    s.create_started(&bundle.dir, &id);
    let out = {
        let _pinned = Pinned::to(first);
        s.pivot(&["exec", &id, "/probe", "cat", "/proc/self/status"])
    };
    s.pivot(&["kill", &id, "KILL"]);
    s.wait_status(&id, "stopped");
    s.delete(&id);
    let out = out.ok();
    let status =
        content(&serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}")));
    assert_eq!(
        allowed_list(&status),
        all,
        "the exec'd process kept the caller's pinning to CPU {first}"
    );
}

fn exec_cpu_affinity_bad_input(s: &Scratch) {
    let cases = [
        (json!({"initial": "0-x"}), "process.execCPUAffinity.initial"),
        (json!({"final": "3-1"}), "process.execCPUAffinity.final"),
        (
            json!({"initial": "0", "final": "99999"}),
            "process.execCPUAffinity.final",
        ),
    ];
    for (affinity, field) in cases {
        create_fails(s, |c| c["process"]["execCPUAffinity"] = affinity, &[field]);
    }
}

fn personality_linux32(s: &Scratch) {
    let persona = cat_inside(s, "/proc/self/personality", |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
    });
    assert_eq!(persona.trim(), "00000008", "PER_LINUX32");
    let persona = cat_inside(s, "/proc/self/personality", |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX"});
    });
    assert_eq!(persona.trim(), "00000000", "PER_LINUX");
}

fn personality_bad_input(s: &Scratch) {
    create_fails(
        s,
        |c| c["linux"]["personality"] = json!({"domain": "LINUX64"}),
        &["linux.personality.domain"],
    );
    // runc drops flags with a warning; pivot names the one it cannot honour.
    create_fails(
        s,
        |c| c["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
        &["linux.personality.flags[0]: \"ADDR_NO_RANDOMIZE\""],
    );
}

/// linux.personality and linux.memoryPolicy are the container's: a
/// process `exec` starts gets them too (runc 1.4 and later).
fn exec_gets_personality_and_memory_policy(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    bundle.edit(|c| {
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
        c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
    });
    let id = s.id("xattr");
    s.create_started(&bundle.dir, &id);
    let cat = |path: &str| {
        let out = s.pivot(&["exec", &id, "/probe", "cat", path]).ok();
        content(&serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}")))
    };
    let persona = cat("/proc/self/personality");
    let maps = cat("/proc/self/numa_maps");
    s.pivot(&["kill", &id, "KILL"]);
    s.wait_status(&id, "stopped");
    s.delete(&id);
    assert_eq!(
        persona.trim(),
        "00000008",
        "PER_LINUX32 in the exec'd process"
    );
    let policies: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(!policies.is_empty(), "empty numa_maps");
    assert!(policies.iter().all(|p| *p == "bind:0"), "{policies:?}");
}

/// The policy column of /proc/self/numa_maps: the task's policy for every
/// mapping without one of its own (the probe sets none).
#[track_caller]
fn numa_policies(s: &Scratch, policy: Value) -> Vec<String> {
    let maps = cat_inside(s, "/proc/self/numa_maps", |c| {
        c["linux"]["memoryPolicy"] = policy;
    });
    let policies: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    assert!(!policies.is_empty(), "empty numa_maps");
    policies
}

fn memory_policy_bind(s: &Scratch) {
    let policies = numa_policies(s, json!({"mode": "MPOL_BIND", "nodes": "0"}));
    assert!(policies.iter().all(|p| p == "bind:0"), "{policies:?}");
}

fn memory_policy_interleave_static(s: &Scratch) {
    let policies = numa_policies(
        s,
        json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
    );
    assert!(
        policies.iter().all(|p| p == "interleave=static:0"),
        "{policies:?}"
    );
}

fn memory_policy_bad_input(s: &Scratch) {
    let cases = [
        (
            json!({"mode": "MPOL_PIVOT", "nodes": "0"}),
            "linux.memoryPolicy.mode",
        ),
        (json!({"nodes": "0"}), "linux.memoryPolicy.mode"),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": ""}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_PIVOT"]}),
            "linux.memoryPolicy.flags[0]",
        ),
    ];
    for (policy, field) in cases {
        create_fails(s, |c| c["linux"]["memoryPolicy"] = policy, &[field]);
    }
}

/// Well-formed, but no such node: the init's set_mempolicy fails, and the
/// error still names the field.
fn memory_policy_refused_by_the_kernel(s: &Scratch) {
    create_fails(
        s,
        |c| c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "63"}),
        &["linux.memoryPolicy: set_mempolicy(MPOL_BIND, nodes [63])"],
    );
}

/// Without resctrl there is nowhere to put the container: it must not run
/// without (this host has no resctrl; a bad closID is refused anywhere).
fn intel_rdt_is_never_ignored(s: &Scratch) {
    create_fails(
        s,
        |c| c["linux"]["intelRdt"] = json!({"closID": "pivot-test"}),
        &["linux.intelRdt"],
    );
    create_fails(
        s,
        |c| c["linux"]["intelRdt"] = json!({"closID": "../escape"}),
        &["linux.intelRdt.closID"],
    );
}

/// This host has neither AppArmor nor SELinux; a host that has them
/// refuses these names too (no such profile, an invalid label; mount
/// labels are not supported yet).
fn lsm_fields_without_the_lsm_fail(s: &Scratch) {
    create_fails(
        s,
        |c| c["process"]["apparmorProfile"] = json!("pivot-test-no-such-profile"),
        &["process.apparmorProfile"],
    );
    create_fails(
        s,
        |c| c["process"]["selinuxLabel"] = json!("pivot_u:pivot_r:pivot_no_such_t:s0"),
        &["process.selinuxLabel"],
    );
    create_fails(
        s,
        |c| c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0"),
        &["linux.mountLabel"],
    );
}

fn lsm_empty_fields_are_fine(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "pid"]);
    bundle.edit(|c| {
        c["process"]["apparmorProfile"] = json!("");
        c["process"]["selinuxLabel"] = json!("");
        c["linux"]["mountLabel"] = json!("");
    });
    assert_eq!(probe_lines(s, &bundle)[0]["pid"], 1);
}

/// A veth pair on the host, deleted (both ends) when dropped.
struct Veth {
    host: String,
    peer: String,
}

impl Veth {
    /// None when `ip` is not there to make one.
    fn new() -> Option<Veth> {
        let n = NAME_SEQ.fetch_add(1, Ordering::SeqCst);
        let base = format!("pvt{}x{n}", std::process::id() % 100_000);
        let veth = Veth {
            host: format!("{base}a"),
            peer: format!("{base}b"),
        };
        let made = Command::new("ip")
            .args(["link", "add", &veth.host, "type", "veth", "peer", "name"])
            .arg(&veth.peer)
            .status();
        match made {
            Ok(st) if st.success() => Some(veth),
            Ok(st) => panic!("ip link add {}: {st}", veth.host),
            Err(e) => {
                eprintln!("pivot-tests: attrs: network device test skipped: ip: {e}");
                None
            }
        }
    }

    fn on_host(name: &str) -> bool {
        Path::new("/sys/class/net").join(name).exists()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Deleting either end deletes the pair; one of them may be gone
        // already (with the container's namespace).
        for name in [&self.peer, &self.host] {
            if Veth::on_host(name) {
                let _ = Command::new("ip").args(["link", "del", name]).status();
            }
        }
    }
}

/// `ip ARGS...`, which must succeed.
#[track_caller]
fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {}: {st}", args.join(" "));
}

fn net_device_moved_renamed_and_up(s: &Scratch) {
    let Some(veth) = Veth::new() else { return };
    let Some(other) = Veth::new() else { return };
    // Permanent global addresses go with the device (runtime-spec).
    ip(&["addr", "add", "192.0.2.77/32", "dev", &veth.host]);
    let ipv6 = Path::new("/proc/net/if_inet6").exists();
    if ipv6 {
        ip(&[
            "addr",
            "add",
            "2001:db8::77/128",
            "dev",
            &veth.host,
            "nodad",
        ]);
    }
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "/probe ls /sys/class/net > /result/ls && \
         /probe cat /sys/class/net/ctr7/flags > /result/flags && \
         /probe cat /proc/net/fib_trie > /result/fib && \
         /probe cat /proc/net/if_inet6 > /result/inet6",
    ]);
    bundle.edit(|c| {
        c["linux"]["netDevices"] = json!({
            &veth.host: {"name": "ctr7"},
            // A template: the kernel picks the number.
            &other.host: {"name": "tpl%d"},
        })
    });
    let id = s.id("netdev");
    s.create(&bundle.dir, &id);
    // Moved at create: gone from the host, the peers still here.
    for v in [&veth, &other] {
        assert!(!Veth::on_host(&v.host), "{} is still on the host", v.host);
        assert!(Veth::on_host(&v.peer), "the peer {} is gone", v.peer);
    }
    s.pivot(&["start", &id]).ok();
    s.wait_status(&id, "stopped");
    let read = |f: &str| {
        let text =
            std::fs::read_to_string(result.join(f)).unwrap_or_else(|e| panic!("result {f}: {e}"));
        serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{f} ({e}): {text}"))
    };
    let names = read("ls");
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(names.contains(&"ctr7"), "{names:?}");
    assert!(names.contains(&"tpl0"), "{names:?}");
    assert!(
        !names.contains(&veth.host.as_str()),
        "not renamed: {names:?}"
    );
    let flags = content(&read("flags"));
    let flags = i64::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(
        flags & libc::IFF_UP as i64,
        libc::IFF_UP as i64,
        "not up: {flags:#x}"
    );
    let fib = content(&read("fib"));
    assert!(fib.contains("192.0.2.77"), "IPv4 address not kept:\n{fib}");
    if ipv6 {
        let inet6 = content(&read("inet6"));
        assert!(
            inet6
                .lines()
                .any(|l| l.starts_with("20010db8000000000000000000000077") && l.ends_with("ctr7")),
            "IPv6 address not kept:\n{inet6}"
        );
    }
    s.delete(&id);
}

fn net_device_bad_input(s: &Scratch) {
    let missing = format!("pvt{}nope", std::process::id() % 100_000);
    create_fails(
        s,
        |c| c["linux"]["netDevices"] = json!({&missing: {}}),
        &["linux.netDevices"],
    );
    create_fails(
        s,
        |c| c["linux"]["netDevices"] = json!({"lo": {"name": "a/b"}}),
        &["linux.netDevices[\"lo\"].name"],
    );
    create_fails(
        s,
        |c| c["linux"]["netDevices"] = json!({"this-name-is-too-long": {}}),
        &["linux.netDevices"],
    );
    // Without a network namespace of its own the device would stay put.
    create_fails(
        s,
        |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|ns| ns["type"] != "network");
            c["linux"]["netDevices"] = json!({"lo": {}});
        },
        &["linux.netDevices"],
    );
}

/// The container's namespace has a "lo" already: the kernel refuses the
/// rename, and the device stays on the host, untouched.
fn net_device_name_taken_in_container(s: &Scratch) {
    let Some(veth) = Veth::new() else { return };
    create_fails(
        s,
        |c| c["linux"]["netDevices"] = json!({&veth.host: {"name": "lo"}}),
        &["linux.netDevices"],
    );
    assert!(Veth::on_host(&veth.host), "{} left the host", veth.host);
}

/// `pivot features` lists what works: memory policy modes and flags,
/// moving network devices; not Intel RDT.
fn features_list_what_works(s: &Scratch) {
    let features = s.runtime(&s.dir, &["features"]).ok().json();
    let linux = &features["linux"];
    let modes = linux["memoryPolicy"]["modes"]
        .as_array()
        .expect("memoryPolicy.modes");
    for want in [
        "MPOL_BIND",
        "MPOL_INTERLEAVE",
        "MPOL_WEIGHTED_INTERLEAVE",
        "MPOL_LOCAL",
    ] {
        assert!(modes.iter().any(|m| m == want), "{want} not in {modes:?}");
    }
    let flags = linux["memoryPolicy"]["flags"]
        .as_array()
        .expect("memoryPolicy.flags");
    assert!(
        flags.iter().any(|f| f == "MPOL_F_STATIC_NODES"),
        "{flags:?}"
    );
    assert_eq!(linux["netDevices"]["enabled"], true, "{linux}");
    assert_eq!(linux["intelRdt"]["enabled"], true, "{linux}");
}
