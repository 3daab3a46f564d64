//! The process fields and namespaced kernel settings, seen from inside with
//! `probe` and from the host: process.capabilities, process.rlimits,
//! process.noNewPrivileges, process.oomScoreAdj, and linux.sysctl.
//!
//! Sysctl tests write only keys that belong to a namespace the container
//! has of its own, and check the host's value afterwards. A test that must
//! be refused (a key of the host, or of a namespace the container shares
//! with the host) asks for the value the host already has, so that even a
//! runtime that wrongly wrote it would change nothing.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch};
use crate::host::mount_points;
use crate::runtime::{assert_error_mentions, Out};
use rustix::process::Resource;

tests![
    default_capabilities,
    bounding_only_capability_is_not_effective,
    ambient_capability_for_non_root_user,
    unknown_capability_is_ignored_with_a_warning,
    ambient_capability_not_inheritable_is_a_warning,
    default_spec_has_no_ambient_capabilities,
    user_without_gid_is_group_0,
    home_is_filled_from_etc_passwd,
    execve_failure_has_runcs_words,
    no_capabilities_means_none,
    nofile_rlimit,
    every_rlimit_name,
    unknown_rlimit_is_an_error,
    soft_rlimit_above_hard_is_an_error,
    no_new_privileges,
    oom_score_adj,
    sysctl_net_in_network_namespace,
    sysctl_ipc_in_ipc_namespace,
    sysctl_mqueue_in_ipc_namespace,
    sysctl_domainname_in_uts_namespace,
    sysctl_net_without_network_namespace,
    sysctl_ipc_without_ipc_namespace,
    sysctl_host_global_key_is_refused,
];

/// Capability numbers (linux/capability.h).
const CAP_KILL: u32 = 5;
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_RESOURCE: u32 = 24;
const CAP_AUDIT_WRITE: u32 = 29;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;
const CAP_CHECKPOINT_RESTORE: u32 = 40;

/// The three capabilities of `runc spec` (and `pivot spec`).
const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// Runs the bundle in the foreground and returns the probe's JSON answer.
#[track_caller]
fn probe(s: &Scratch, bundle: &Bundle) -> Value {
    s.run_json(&bundle.dir, &s.id("proc"))
}

/// Runs the bundle in the foreground; its process prints one JSON document
/// per line (several probes in a shell snippet), returned in order.
#[track_caller]
pub(crate) fn probe_lines(s: &Scratch, bundle: &Bundle) -> Vec<Value> {
    let out = s.run(&bundle.dir, &s.id("proc")).ok();
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{out}")))
        .collect()
}

/// `create --bundle BUNDLE ID`, whatever it does.
pub(crate) fn create(s: &Scratch, bundle: &Path, id: &str) -> Out {
    s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.as_os_str(),
        OsStr::new(id),
    ])
}

/// `create` must fail with a one-line error naming one of `any_of`, and
/// leave nothing behind.
#[track_caller]
pub(crate) fn create_fails(s: &Scratch, bundle: &Path, id: &str, any_of: &[&str]) -> Out {
    let before: BTreeSet<String> = mount_points();
    let out = create(s, bundle, id);
    assert_error_mentions(&out, any_of);
    s.assert_nothing_left(id, &before);
    out
}

/// A capability set from /proc/self/status ("00000000a80425fb").
#[track_caller]
fn cap_set(caps: &Value, key: &str) -> u64 {
    let text = caps[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}: {caps}"));
    u64::from_str_radix(text, 16).unwrap_or_else(|e| panic!("{key} {text:?}: {e}"))
}

/// This test process's effective capabilities (the runtime gets the same).
fn own_effective_caps() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .expect("CapEff in /proc/self/status");
    u64::from_str_radix(line.trim(), 16).expect("CapEff is hex")
}

fn bits(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |mask, cap| mask | 1 << cap)
}

fn default_capabilities(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "caps"]);
    let config = bundle.config();
    let spec_caps = &config["process"]["capabilities"];
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(spec_caps[set], json!(DEFAULT_CAPS), "spec's {set}");
    }
    let caps = probe(s, &bundle);
    let three = bits(&[CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE]);
    assert_eq!(cap_set(&caps, "CapBnd"), three, "{caps}");
    assert_eq!(cap_set(&caps, "CapEff"), three, "{caps}");
    assert_eq!(cap_set(&caps, "CapPrm"), three, "{caps}");
    assert_eq!(cap_set(&caps, "CapInh"), 0, "{caps}");
    assert_eq!(cap_set(&caps, "CapAmb"), 0, "{caps}");
}

fn bounding_only_capability_is_not_effective(s: &Scratch) {
    // The three newest names too: kept where the kernel has them (up to
    // /proc/sys/kernel/cap_last_cap), ignored where it does not.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("read cap_last_cap")
        .trim()
        .parse()
        .expect("cap_last_cap is a number");
    let bundle = s.bundle(&["/probe", "caps"]);
    bundle.edit(|c| {
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL", "CAP_SYS_ADMIN",
                         "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_KILL"],
        });
    });
    let caps = probe(s, &bundle);
    let newest: Vec<u32> = [CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE]
        .into_iter()
        .filter(|&cap| cap <= last)
        .collect();
    assert_eq!(
        cap_set(&caps, "CapBnd"),
        bits(&[CAP_KILL, CAP_SYS_ADMIN]) | bits(&newest),
        "{caps}"
    );
    assert_eq!(cap_set(&caps, "CapEff"), bits(&[CAP_KILL]), "{caps}");
    assert_eq!(cap_set(&caps, "CapPrm"), bits(&[CAP_KILL]), "{caps}");
    assert_eq!(cap_set(&caps, "CapInh"), 0, "{caps}");
    assert_eq!(cap_set(&caps, "CapAmb"), 0, "{caps}");
}

fn ambient_capability_for_non_root_user(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "all"]);
    bundle.edit(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"],
        });
    });
    let all = probe(s, &bundle);
    assert_eq!(all["ids"]["uid"], 1000, "{all}");
    assert_eq!(all["ids"]["euid"], 1000, "{all}");
    let caps = &all["caps"];
    let bind = bits(&[CAP_NET_BIND_SERVICE]);
    assert_eq!(cap_set(caps, "CapAmb"), bind, "{caps}");
    assert_eq!(cap_set(caps, "CapInh"), bind, "{caps}");
    // A non-root execve keeps the ambient set only: CAP_KILL, permitted
    // but not ambient, is gone.
    assert_eq!(cap_set(caps, "CapPrm"), bind, "{caps}");
    assert_eq!(cap_set(caps, "CapEff"), bind, "{caps}");
    assert_eq!(
        cap_set(caps, "CapBnd"),
        bits(&[CAP_KILL, CAP_NET_BIND_SERVICE]),
        "{caps}"
    );
}

/// runc and crun leave out a capability name they do not know and go on,
/// with a warning on stderr, or in the --log file when there is one.
fn unknown_capability_is_ignored_with_a_warning(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "caps"]);
    bundle.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(["CAP_KILL", "CAP_NOPE"]);
        }
    });
    let out = s.run(&bundle.dir, &s.id("nocap")).ok();
    let caps = out.json();
    for key in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(cap_set(&caps, key), bits(&[CAP_KILL]), "{key}: {caps}");
    }
    assert!(
        out.stderr.contains("CAP_NOPE"),
        "no warning naming CAP_NOPE on stderr:\n{out}"
    );
    // With --log the warning is a line of the log, level "warning".
    let log = s.path("log.json");
    let out = s
        .pivot(&[
            OsStr::new("--log"),
            log.as_os_str(),
            OsStr::new("--log-format"),
            OsStr::new("json"),
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(&s.id("nocaplog")),
        ])
        .ok();
    assert_eq!(cap_set(&out.json(), "CapEff"), bits(&[CAP_KILL]), "{out}");
    let lines = log_lines(&log);
    assert!(
        lines.iter().any(|l| l["level"] == "warning"
            && l["msg"].as_str().is_some_and(|m| m.contains("CAP_NOPE"))),
        "no warning naming CAP_NOPE in the log: {lines:?}"
    );
}

/// The JSON lines of a --log file.
fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
        .collect()
}

/// An ambient capability must be inheritable (and permitted) to be
/// raised: the container runs without it, and the runtime says so (runc
/// 1.3 and later).
fn ambient_capability_not_inheritable_is_a_warning(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "caps"]);
    bundle.edit(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        });
    });
    let out = s.run(&bundle.dir, &s.id("amb")).ok();
    let caps = out.json();
    assert_eq!(
        cap_set(&caps, "CapAmb"),
        bits(&[CAP_NET_BIND_SERVICE]),
        "{caps}"
    );
    let warned = out
        .stderr_lines()
        .into_iter()
        .any(|l| l.contains("ambient") && l.contains("CAP_KILL"));
    assert!(warned, "no warning about ambient CAP_KILL:\n{out}");
    assert!(
        !out.stderr.contains("CAP_NET_BIND_SERVICE"),
        "a warning about a capability that was raised:\n{out}"
    );
}

/// `spec` writes no ambient capabilities (runc 1.3 and later): with no
/// inheritable ones, none could be raised.
fn default_spec_has_no_ambient_capabilities(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "caps"]);
    let config = bundle.config();
    let caps = &config["process"]["capabilities"];
    assert!(caps.get("ambient").is_none(), "{caps}");
    let out = s.run(&bundle.dir, &s.id("defamb")).ok();
    assert_eq!(cap_set(&out.json(), "CapAmb"), 0, "{out}");
    assert!(
        !out.stderr.contains("capabilit"),
        "a capability warning for the default spec:\n{out}"
    );
}

/// A user without "gid" (or "uid") runs with 0, as runc's decoder leaves
/// a missing number.
fn user_without_gid_is_group_0(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "ids"]);
    bundle.edit(|c| c["process"]["user"] = json!({"uid": 65534}));
    let ids = probe(s, &bundle);
    assert_eq!(
        (&ids["uid"], &ids["gid"]),
        (&json!(65534), &json!(0)),
        "{ids}"
    );
    bundle.edit(|c| c["process"]["user"] = json!({"gid": 65534}));
    let ids = probe(s, &bundle);
    assert_eq!(
        (&ids["uid"], &ids["gid"]),
        (&json!(0), &json!(65534)),
        "{ids}"
    );
}

fn no_capabilities_means_none(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "caps"]);
    bundle.edit(|c| {
        c["process"]
            .as_object_mut()
            .expect("process")
            .remove("capabilities");
    });
    let caps = probe(s, &bundle);
    for key in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(cap_set(&caps, key), 0, "{key}: {caps}");
    }
}

fn nofile_rlimit(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "rlimits"]);
    bundle.edit(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]);
    });
    let limits = probe(s, &bundle);
    assert_eq!(
        limits["RLIMIT_NOFILE"],
        json!({"soft": 123, "hard": 456}),
        "{limits}"
    );
}

/// The runtime's own (soft, hard) limit of `resource`: what its children
/// may have at most, as the test machine may lack CAP_SYS_RESOURCE.
fn own_rlimit(resource: Resource) -> (u64, u64) {
    let limit = rustix::process::getrlimit(resource);
    // (None is RLIM_INFINITY.)
    (
        limit.current.unwrap_or(libc::RLIM_INFINITY),
        limit.maximum.unwrap_or(libc::RLIM_INFINITY),
    )
}

fn every_rlimit_name(s: &Scratch) {
    const MIB: u64 = 1 << 20;
    // (name, resource, soft, hard) wanted: roomy enough for the probe, soft
    // below hard to see both; capped at the runtime's own hard limit, which
    // it cannot raise without CAP_SYS_RESOURCE.
    let wanted: &[(&str, Resource, u64, u64)] = &[
        ("RLIMIT_CPU", Resource::Cpu, 100, 200),
        ("RLIMIT_FSIZE", Resource::Fsize, 64 * MIB, 128 * MIB),
        ("RLIMIT_DATA", Resource::Data, 1024 * MIB, 2048 * MIB),
        ("RLIMIT_STACK", Resource::Stack, 4 * MIB, 8 * MIB),
        ("RLIMIT_CORE", Resource::Core, 0, MIB),
        ("RLIMIT_RSS", Resource::Rss, 512 * MIB, 1024 * MIB),
        ("RLIMIT_NPROC", Resource::Nproc, 1000, 2000),
        ("RLIMIT_NOFILE", Resource::Nofile, 100, 200),
        ("RLIMIT_MEMLOCK", Resource::Memlock, MIB, 2 * MIB),
        ("RLIMIT_AS", Resource::As, 4096 * MIB, 8192 * MIB),
        ("RLIMIT_LOCKS", Resource::Locks, 300, 400),
        ("RLIMIT_SIGPENDING", Resource::Sigpending, 500, 600),
        ("RLIMIT_MSGQUEUE", Resource::Msgqueue, 70_000, 80_000),
        ("RLIMIT_NICE", Resource::Nice, 1, 2),
        ("RLIMIT_RTPRIO", Resource::Rtprio, 3, 4),
        ("RLIMIT_RTTIME", Resource::Rttime, 5_000_000, 6_000_000),
    ];
    let wanted: Vec<(&str, u64, u64)> = wanted
        .iter()
        .map(|&(name, resource, soft, hard)| {
            let (_, own_hard) = own_rlimit(resource);
            let hard = hard.min(own_hard);
            (name, soft.min(hard), hard)
        })
        .collect();
    let bundle = s.bundle(&["/probe", "rlimits"]);
    let spec: Vec<Value> = wanted
        .iter()
        .map(|(name, soft, hard)| json!({"type": name, "soft": soft, "hard": hard}))
        .collect();
    bundle.edit(|c| c["process"]["rlimits"] = json!(spec));
    let limits = probe(s, &bundle);
    for (name, soft, hard) in &wanted {
        assert_eq!(
            limits[*name],
            json!({"soft": soft, "hard": hard}),
            "{name}: {limits}"
        );
    }
}

fn unknown_rlimit_is_an_error(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "rlimits"]);
    bundle.edit(|c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
            {"type": "RLIMIT_NOPE", "soft": 1, "hard": 1},
        ]);
    });
    let out = create_fails(
        s,
        &bundle.dir,
        &s.id("norlimit"),
        &["process.rlimits[1].type"],
    );
    assert!(out.stderr.contains("RLIMIT_NOPE"), "{out}");
}

fn soft_rlimit_above_hard_is_an_error(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "rlimits"]);
    bundle.edit(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]);
    });
    create_fails(s, &bundle.dir, &s.id("softhard"), &["rlimit"]);
}

fn no_new_privileges(s: &Scratch) {
    for (flag, want) in [(true, 1), (false, 0)] {
        let bundle = s.bundle(&["/probe", "caps"]);
        bundle.edit(|c| c["process"]["noNewPrivileges"] = json!(flag));
        let caps = probe(s, &bundle);
        assert_eq!(caps["no_new_privs"], want, "noNewPrivileges {flag}: {caps}");
    }
}

fn oom_score_adj(s: &Scratch) {
    let host_before = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    // Lowering it below the runtime's own needs CAP_SYS_RESOURCE, which
    // the test machine may not have.
    let mut values = vec![321, 1000];
    if own_effective_caps() & bits(&[CAP_SYS_RESOURCE]) != 0 {
        values.push(-123);
    }
    for adj in values {
        let bundle = s.bundle(&["/probe", "cat", "/proc/self/oom_score_adj"]);
        bundle.edit(|c| c["process"]["oomScoreAdj"] = json!(adj));
        let answer = probe(s, &bundle);
        assert_eq!(
            answer["content"].as_str().map(str::trim),
            Some(adj.to_string().as_str()),
            "{answer}"
        );
    }
    // The runtime set its child's, not its own caller's.
    let host_after = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    assert_eq!(host_before, host_after);
}

/// The host's value of a sysctl key (from this process's namespaces).
fn host_sysctl(key: &str) -> String {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .trim()
        .to_string()
}

/// Runs `cat` of each key's /proc/sys file inside a container with
/// `sysctl` set; returns the values seen, trimmed, in order.
fn sysctl_inside(s: &Scratch, sysctl: Value, keys: &[&str]) -> Vec<String> {
    let script = keys
        .iter()
        .map(|k| format!("/probe cat /proc/sys/{}", k.replace('.', "/")))
        .collect::<Vec<_>>()
        .join(" && ");
    let bundle = s.bundle(&["/bin/sh", "-c", &script]);
    bundle.edit(|c| c["linux"]["sysctl"] = sysctl);
    probe_lines(s, &bundle)
        .iter()
        .map(|v| {
            v["content"]
                .as_str()
                .unwrap_or_else(|| panic!("no content: {v}"))
                .trim()
                .to_string()
        })
        .collect()
}

/// Sets namespaced `keys` to `values` inside, checks the container saw
/// them and the host still has what it had.
fn assert_namespaced_sysctls(s: &Scratch, keys: &[&str], values: &[String]) {
    let host_before: Vec<String> = keys.iter().map(|k| host_sysctl(k)).collect();
    for (key, (value, host)) in keys.iter().zip(values.iter().zip(&host_before)) {
        assert_ne!(value, host, "{key}: pick a value the host does not have");
    }
    let sysctl: serde_json::Map<String, Value> = keys
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let inside = sysctl_inside(s, Value::Object(sysctl), keys);
    assert_eq!(inside, values, "values inside the container for {keys:?}");
    let host_after: Vec<String> = keys.iter().map(|k| host_sysctl(k)).collect();
    assert_eq!(host_after, host_before, "the host's values of {keys:?}");
}

fn sysctl_net_in_network_namespace(s: &Scratch) {
    let flip = if host_sysctl("net.ipv4.ip_forward") == "1" {
        "0"
    } else {
        "1"
    };
    let somaxconn: u64 = host_sysctl("net.core.somaxconn").parse().unwrap();
    assert_namespaced_sysctls(
        s,
        &["net.ipv4.ip_forward", "net.core.somaxconn"],
        &[flip.to_string(), (somaxconn / 2 + 1).to_string()],
    );
}

fn sysctl_ipc_in_ipc_namespace(s: &Scratch) {
    let shmmax: u64 = host_sysctl("kernel.shmmax").parse().unwrap();
    let msgmax: u64 = host_sysctl("kernel.msgmax").parse().unwrap();
    assert_namespaced_sysctls(
        s,
        &["kernel.shmmax", "kernel.msgmax"],
        &[(shmmax / 2 + 1).to_string(), (msgmax / 2 + 1).to_string()],
    );
}

fn sysctl_mqueue_in_ipc_namespace(s: &Scratch) {
    let msg_max: u64 = host_sysctl("fs.mqueue.msg_max").parse().unwrap();
    let want = if msg_max == 20 { 30 } else { 20 };
    assert_namespaced_sysctls(s, &["fs.mqueue.msg_max"], &[want.to_string()]);
}

fn sysctl_domainname_in_uts_namespace(s: &Scratch) {
    assert_namespaced_sysctls(s, &["kernel.domainname"], &["pivot.sysctl.test".into()]);
}

/// `create` with `key` set to the host's own value (so that nothing could
/// change even if it were written) must fail naming linux.sysctl, before
/// anything runs: a createRuntime hook leaves no mark.
fn assert_sysctl_refused(s: &Scratch, bundle: &Bundle, key: &str) {
    let host_before = host_sysctl(key);
    let mark = s.path("hook-ran");
    let script = format!("echo ran > '{}'", mark.display());
    bundle.edit(|c| {
        c["linux"]["sysctl"] = json!({ key: host_before });
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    });
    let out = create_fails(s, &bundle.dir, &s.id("sysctl"), &["linux.sysctl"]);
    assert!(out.stderr.contains(key), "the error names {key}:\n{out}");
    assert!(!mark.exists(), "a hook ran before {key} was refused");
    assert_eq!(host_sysctl(key), host_before, "the host's {key}");
}

fn sysctl_net_without_network_namespace(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.remove_namespace("network");
    assert_sysctl_refused(s, &bundle, "net.ipv4.ip_forward");
}

fn sysctl_ipc_without_ipc_namespace(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.remove_namespace("ipc");
    assert_sysctl_refused(s, &bundle, "kernel.shmmax");
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.remove_namespace("ipc");
    assert_sysctl_refused(s, &bundle, "fs.mqueue.msg_max");
}

fn sysctl_host_global_key_is_refused(s: &Scratch) {
    // Every namespace the container can have, and still refused: the key
    // belongs to the host.
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    assert_sysctl_refused(s, &bundle, "kernel.core_pattern");
}

/// `HOME` missing or empty in the process's env is set, as runc does, to
/// the home of the process's uid in the container's /etc/passwd, or "/"
/// without an entry; a `HOME` given is kept. For run, exec, `exec --user`
/// and `exec -p`.
fn home_is_filled_from_etc_passwd(s: &Scratch) {
    let home_of = |out: Out| -> String {
        let v: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
        v["HOME"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("(unset) {v}"))
    };
    let bundle_env = |env: Option<&str>, uid: u32| {
        let b = s.bundle(&["/probe", "env"]);
        let passwd = b.rootfs().join("etc/passwd");
        let mut text = std::fs::read_to_string(&passwd).unwrap();
        text.push_str("u:x:1000:1000:u:/home/u:/bin/sh\n");
        std::fs::write(&passwd, text).unwrap();
        b.edit(|c| {
            let e = c["process"]["env"].as_array_mut().unwrap();
            e.retain(|v| !v.as_str().unwrap_or("").starts_with("HOME="));
            if let Some(h) = env {
                e.push(json!(h));
            }
            c["process"]["user"] = json!({"uid": uid, "gid": uid});
        });
        b
    };
    for (env, uid, want) in [
        (None, 0, "/root"),
        (Some("HOME="), 0, "/root"),
        (Some("HOME=/given"), 0, "/given"),
        (None, 1000, "/home/u"),
        (None, 65534, "/nonexistent"),
        (None, 2000, "/"),
    ] {
        let b = bundle_env(env, uid);
        let got = home_of(s.run(&b.dir, &s.id("home")).ok());
        assert_eq!(got, want, "run, env {env:?}, uid {uid}");
    }

    let b = bundle_env(None, 0);
    b.edit(|c| c["process"]["args"] = json!(["/probe", "sleep", "60"]));
    let id = s.id("homex");
    s.create_started(&b.dir, &id);
    let exec = |args: &[&str]| {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        home_of(s.pivot(&all).ok())
    };
    assert_eq!(exec(&[&id, "/probe", "env"]), "/root", "exec");
    assert_eq!(
        exec(&["--user", "1000", &id, "/probe", "env"]),
        "/home/u",
        "exec --user 1000"
    );
    assert_eq!(
        exec(&["--user", "2000:2000", &id, "/probe", "env"]),
        "/",
        "exec --user 2000"
    );
    assert_eq!(
        exec(&["--user", "1000", "--env", "HOME=/x", &id, "/probe", "env"]),
        "/x",
        "exec --env HOME=/x"
    );
    let path = s.path("home-process.json");
    std::fs::write(
        &path,
        json!({
            "user": {"uid": 1000, "gid": 1000},
            "args": ["/probe", "env"],
            "env": ["PATH=/bin"],
            "cwd": "/",
        })
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        exec(&["-p", path.to_str().unwrap(), &id]),
        "/home/u",
        "exec -p"
    );
}

/// An execve that fails after the executable was found (a script whose
/// interpreter is missing: ENOENT; a file the kernel cannot run: ENOEXEC)
/// is reported in runc's words, which callers match: `exec PATH: no such
/// file or directory`, `exec PATH: exec format error`; for run and exec.
fn execve_failure_has_runcs_words(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let t = bundle.rootfs().join("t");
    std::fs::create_dir(&t).unwrap();
    std::fs::write(t.join("run.sh"), "#!/nonexistent\necho hi\n").unwrap();
    std::fs::write(t.join("junk"), "not an executable\n").unwrap();
    for f in ["run.sh", "junk"] {
        std::fs::set_permissions(
            t.join(f),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    let cases = [
        ("/t/run.sh", "exec /t/run.sh: no such file or directory"),
        ("/t/junk", "exec /t/junk: exec format error"),
    ];
    let id = s.id("execve");
    s.create_started(&bundle.dir, &id);
    for (path, words) in cases {
        let out = s.pivot(&["exec", &id, path]);
        assert_ne!(out.code, 0, "{out}");
        assert!(
            out.stderr.contains(words),
            "exec {path}: no {words:?}:\n{out}"
        );
    }
    for (path, words) in cases {
        bundle.edit(|c| c["process"]["args"] = json!([path]));
        let out = s.run(&bundle.dir, &s.id("execve-run"));
        assert_ne!(out.code, 0, "{out}");
        assert!(
            out.stderr.contains(words),
            "run {path}: no {words:?}:\n{out}"
        );
    }
}
