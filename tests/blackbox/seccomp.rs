//! linux.seccomp: what a filter lets through, seen by `probe mkdir` and
//! `probe syscall` inside (each reports the errno a call got, so the
//! errnoRet of the rule that matched is visible), `probe caps` (Seccomp 2),
//! bad profiles refused naming their field, and SCMP_ACT_NOTIFY with a
//! listener in the test receiving the notify fd and answering through it.
//!
//! The syscalls the rules are about are ones that neither the runtime nor
//! busybox make on their own (getsid, getpgid, sched_get_priority_*, ...),
//! so a rule can only ever match the probe's own call.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch, SECCOMP_CACHE, WAIT};
use crate::process::{create, create_fails, probe_lines};
use crate::sys::{poll_readable, recv_fds};

tests![
    errno_rule_blocks_mkdir,
    errno_ret_defaults_to_eperm,
    unknown_syscall_names_are_skipped,
    argument_operators,
    masked_eq_operator,
    conditions_on_distinct_arguments_all_hold,
    kill_trap_and_log_actions,
    architectures_and_flags,
    without_no_new_privileges,
    default_errno_with_allow_list,
    containers_default_profile,
    bad_fields_are_named,
    notify_sends_the_fd_to_the_listener,
    filter_goes_in_after_the_fd_cleanup,
    start_container_hooks_run_under_the_filter,
    exec_sends_its_notify_fd_to_the_listener,
    notify_on_write_is_refused,
    syscalls_newer_than_the_profile_get_enosys,
    enosys_stub_without_architectures,
    compiled_filters_are_cached_per_profile,
    a_damaged_cache_entry_is_not_used,
    a_cache_directory_open_to_others_is_not_used,
];

/// errnos the tests pick for errnoRet: none is what the calls they are
/// given to would fail with on their own.
const ENXIO: u32 = libc::ENXIO as u32;
const E2BIG: u32 = libc::E2BIG as u32;
const EXDEV: u32 = libc::EXDEV as u32;
const ETXTBSY: u32 = libc::ETXTBSY as u32;
const EFBIG: u32 = libc::EFBIG as u32;
const EMLINK: u32 = libc::EMLINK as u32;
const ENOSYS: u32 = libc::ENOSYS as u32;
const EOPNOTSUPP: u32 = libc::EOPNOTSUPP as u32;
const ESTALE: u32 = libc::ESTALE as u32;

/// Where `probe` can make directories: the spec's /dev/shm tmpfs (the
/// root is read-only).
const SHM: &str = "/dev/shm";

/// A bundle running `script` under /bin/sh with `seccomp` as linux.seccomp.
fn bundle_with(s: &Scratch, script: &str, seccomp: Value) -> Bundle {
    let bundle = s.bundle(&["/bin/sh", "-c", script]);
    bundle.edit(|c| c["linux"]["seccomp"] = seccomp);
    bundle
}

/// An SCMP_ACT_ALLOW profile with `syscalls` as its rules.
fn allow_but(syscalls: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls})
}

/// The shell line that runs `probe syscall NAME ARGS`.
fn call(name: &str, args: &[&str]) -> String {
    format!("/probe syscall {name} {}", args.join(" "))
}

/// Runs one probe per line of `calls` in one container; returns the
/// answers in order (each line must print exactly one).
#[track_caller]
fn run_calls(s: &Scratch, seccomp: Value, calls: &[String]) -> Vec<Value> {
    let bundle = bundle_with(s, &calls.join("; "), seccomp);
    let answers = probe_lines(s, &bundle);
    assert_eq!(answers.len(), calls.len(), "{calls:?}: {answers:?}");
    answers
}

/// Asserts the errno (null: success) of each answer of `run_calls`.
#[track_caller]
fn assert_errnos(answers: &[Value], want: &[Option<&str>]) {
    let got: Vec<Option<&str>> = answers.iter().map(|a| a["errno"].as_str()).collect();
    assert_eq!(got, want, "{answers:#?}");
}

/// The symbolic name the probe gives an errno number.
fn errno_name(code: u32) -> &'static str {
    linux_text::errno::name(code as i32).unwrap_or_else(|| panic!("no name for errno {code}"))
}

fn errno_rule_blocks_mkdir(s: &Scratch) {
    let profile = allow_but(json!([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
    ]));
    let bundle = bundle_with(
        s,
        &format!("/probe mkdir {SHM}/blocked; /bin/mkdir {SHM}/by-busybox; /probe caps"),
        profile,
    );
    let out = s.run(&bundle.dir, &s.id("mkdir")).ok();
    let answers: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {out}")))
        .collect();
    assert_eq!(answers.len(), 2, "{out}");
    assert_eq!(answers[0]["ok"], false, "{out}");
    assert_eq!(answers[0]["errno"], "ENOSYS", "{out}");
    assert_eq!(answers[1]["seccomp"], 2, "Seccomp: filter mode: {out}");
    // busybox's mkdir, blocked alike, says why.
    assert!(
        out.stderr.contains("Function not implemented"),
        "strerror(ENOSYS) from busybox mkdir: {out}"
    );
    // The same calls without the filter succeed.
    let bundle = s.bundle(&[
        "/bin/sh",
        "-c",
        &format!("/probe mkdir {SHM}/free; /probe caps"),
    ]);
    let answers = probe_lines(s, &bundle);
    assert_eq!(answers[0]["ok"], true, "{answers:?}");
    assert_eq!(answers[1]["seccomp"], 0, "{answers:?}");
}

fn errno_ret_defaults_to_eperm(s: &Scratch) {
    let profile = allow_but(json!([
        {"names": ["getsid"], "action": "SCMP_ACT_ERRNO"},
    ]));
    let answers = run_calls(s, profile, &[call("getsid", &["0"]), call("getpid", &[])]);
    assert_errnos(&answers, &[Some("EPERM"), None]);
}

fn unknown_syscall_names_are_skipped(s: &Scratch) {
    let profile = allow_but(json!([
        {"names": ["pivot_no_such_syscall", "mkdir", "mkdirat", "also_not_a_syscall"],
         "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV},
        {"names": ["nor_this_one"], "action": "SCMP_ACT_ERRNO"},
    ]));
    let bundle = bundle_with(s, &format!("/probe mkdir {SHM}/d"), profile);
    let answers = probe_lines(s, &bundle);
    assert_eq!(answers[0]["errno"], "EXDEV", "{answers:?}");
}

fn argument_operators(s: &Scratch) {
    let rule = |name: &str, errno: u32, op: &str, index: u32, value: u64| {
        json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": errno,
               "args": [{"index": index, "value": value, "op": op}]})
    };
    let profile = allow_but(json!([
        // Two conditions on one argument: either blocks (as in runc).
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]},
        rule("getpgid", EXDEV, "SCMP_CMP_NE", 0, 0),
        rule("sched_get_priority_max", EMLINK, "SCMP_CMP_LT", 0, 2),
        rule("sched_get_priority_min", ETXTBSY, "SCMP_CMP_LE", 0, 1),
        rule("getsid", EFBIG, "SCMP_CMP_GE", 0, 100_000),
        rule("ioprio_get", E2BIG, "SCMP_CMP_GT", 1, 1000),
    ]));
    let cases: &[(&str, &[&str], Option<u32>)] = &[
        // personality(0xffffffff) only asks; 8 and 9 would set.
        ("personality", &["0xffffffff"], None),
        ("personality", &["8"], Some(1)),
        ("personality", &["9"], Some(1)),
        ("getpgid", &["0"], None),
        ("getpgid", &["1"], Some(EXDEV)),
        ("sched_get_priority_max", &["1"], Some(EMLINK)),
        ("sched_get_priority_max", &["2"], None),
        ("sched_get_priority_min", &["1"], Some(ETXTBSY)),
        ("sched_get_priority_min", &["2"], None),
        ("getsid", &["0"], None),
        ("getsid", &["100000"], Some(EFBIG)),
        ("ioprio_get", &["1", "0"], None),
        ("ioprio_get", &["1", "1001"], Some(E2BIG)),
    ];
    let calls: Vec<String> = cases.iter().map(|(n, a, _)| call(n, a)).collect();
    let answers = run_calls(s, profile, &calls);
    for ((name, args, want), answer) in cases.iter().zip(&answers) {
        match want {
            Some(code) => assert_eq!(
                answer["errno"],
                errno_name(*code),
                "{name}{args:?}: {answer}"
            ),
            // Not blocked: what the kernel says, which is never one of the
            // errnos above (ESRCH at most, for a process that is not there).
            None => assert!(
                answer["errno"].is_null() || answer["errno"] == "ESRCH",
                "{name}{args:?}: {answer}"
            ),
        }
    }
    // Calls the filter passed through really were made.
    assert_eq!(
        answers[6]["ret"], 99,
        "SCHED_RR's max priority: {answers:?}"
    );
    assert_eq!(answers[8]["ret"], 1, "SCHED_RR's min priority: {answers:?}");
}

fn masked_eq_operator(s: &Scratch) {
    // value is the mask, valueTwo what the masked argument must equal.
    let profile = allow_but(json!([
        {"names": ["sched_getscheduler"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENXIO,
         "args": [{"index": 0, "value": 0xff00, "valueTwo": 0x1200, "op": "SCMP_CMP_MASKED_EQ"}]},
    ]));
    let answers = run_calls(
        s,
        profile,
        &[
            call("sched_getscheduler", &["0"]),
            call("sched_getscheduler", &["0x1234"]),
            call("sched_getscheduler", &["0x12ff"]),
            call("sched_getscheduler", &["0x3434"]),
        ],
    );
    // No process 0x3434 in the container's pid namespace: ESRCH, from the
    // kernel, not the filter.
    assert_errnos(
        &answers,
        &[None, Some("ENXIO"), Some("ENXIO"), Some("ESRCH")],
    );
}

fn conditions_on_distinct_arguments_all_hold(s: &Scratch) {
    let profile = allow_but(json!([
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": ESTALE,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 4242, "op": "SCMP_CMP_EQ"}]},
    ]));
    // which 1 is PRIO_PGRP, 0 PRIO_PROCESS; there is no group or process
    // 4242 in the container (ESRCH from the kernel).
    let answers = run_calls(
        s,
        profile,
        &[
            call("getpriority", &["1", "4242"]),
            call("getpriority", &["0", "4242"]),
            call("getpriority", &["1", "0"]),
        ],
    );
    assert_errnos(&answers, &[Some("ESTALE"), Some("ESRCH"), None]);
}

fn kill_trap_and_log_actions(s: &Scratch) {
    for (action, status) in [
        ("SCMP_ACT_KILL", 128 + libc::SIGSYS),
        ("SCMP_ACT_KILL_PROCESS", 128 + libc::SIGSYS),
        ("SCMP_ACT_KILL_THREAD", 128 + libc::SIGSYS),
        ("SCMP_ACT_TRAP", 128 + libc::SIGSYS),
        ("SCMP_ACT_LOG", 0),
    ] {
        let profile = allow_but(json!([{"names": ["getsid"], "action": action}]));
        // The shell reports how the probe ended (128+N for signal N).
        let script = format!(
            "{}; echo \"{{\\\"status\\\": $?}}\"",
            call("getsid", &["0"])
        );
        let bundle = bundle_with(s, &script, profile);
        let answers = probe_lines(s, &bundle);
        let last = answers
            .last()
            .unwrap_or_else(|| panic!("{action}: no output"));
        assert_eq!(last["status"], status, "{action}: {answers:?}");
        if status == 0 {
            assert_eq!(answers[0]["errno"], Value::Null, "{action}: {answers:?}");
        } else {
            assert_eq!(answers.len(), 1, "{action}: the probe printed: {answers:?}");
        }
    }
}

fn architectures_and_flags(s: &Scratch) {
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV}],
    });
    let answers = run_calls(s, profile, &[call("getsid", &["0"]), call("getpid", &[])]);
    assert_errnos(&answers, &[Some("EXDEV"), None]);
}

fn without_no_new_privileges(s: &Scratch) {
    // Without no_new_privs loading a filter needs CAP_SYS_ADMIN: it must
    // go in before the capabilities are dropped, and still be there after.
    let profile = allow_but(json!([
        {"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV},
    ]));
    let bundle = bundle_with(
        s,
        &format!("{}; /probe caps", call("getsid", &["0"])),
        profile,
    );
    bundle.edit(|c| c["process"]["noNewPrivileges"] = json!(false));
    let answers = probe_lines(s, &bundle);
    assert_eq!(answers[0]["errno"], "EXDEV", "{answers:?}");
    let caps = &answers[1];
    assert_eq!(caps["no_new_privs"], 0, "{caps}");
    assert_eq!(caps["seccomp"], 2, "{caps}");
    // The spec's three capabilities, no CAP_SYS_ADMIN left.
    assert_eq!(caps["CapEff"], "0000000020000420", "{caps}");
}

/// Every x86_64 syscall name the kernel headers know, or why not.
fn all_syscall_names() -> Result<Vec<String>, String> {
    const HEADER: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
    if !cfg!(target_arch = "x86_64") {
        return Err("not on x86_64".into());
    }
    let text = std::fs::read_to_string(HEADER).map_err(|e| format!("{HEADER}: {e}"))?;
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#define __NR_"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    if names.len() < 300 {
        return Err(format!("{HEADER}: only {} syscalls", names.len()));
    }
    Ok(names)
}

fn default_errno_with_allow_list(s: &Scratch) {
    let names = match all_syscall_names() {
        Ok(names) => names,
        Err(reason) => {
            eprintln!("pivot-tests: seccomp allow-list test skipped: {reason}");
            return;
        }
    };
    // Everything but three calls is allowed; those get defaultErrnoRet.
    let denied = ["getsid", "mkdir", "mkdirat"];
    let allowed: Vec<&String> = names
        .iter()
        .filter(|n| !denied.contains(&n.as_str()))
        .collect();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EOPNOTSUPP,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}],
    });
    let script = format!(
        "{}; {}; /probe mkdir {SHM}/d; /probe caps",
        call("getsid", &["0"]),
        call("getpid", &[])
    );
    for nnp in [true, false] {
        let bundle = bundle_with(s, &script, profile.clone());
        bundle.edit(|c| c["process"]["noNewPrivileges"] = json!(nnp));
        let answers = probe_lines(s, &bundle);
        assert_eq!(answers.len(), 4, "noNewPrivileges {nnp}: {answers:?}");
        assert_eq!(answers[0]["errno"], "EOPNOTSUPP", "{nnp}: {answers:?}");
        assert_eq!(answers[1]["errno"], Value::Null, "{nnp}: {answers:?}");
        assert_eq!(answers[2]["errno"], "EOPNOTSUPP", "{nnp}: {answers:?}");
        assert_eq!(answers[3]["seccomp"], 2, "{nnp}: {answers:?}");
    }
}

/// The profile podman and buildah use, from Debian's
/// golang-github-containers-common.
const CONTAINERS_PROFILE: &str = "/usr/share/containers/seccomp.json";

/// The containers/common (moby-style) profile as an OCI linux.seccomp for
/// x86_64 and a container with `caps`: the rules whose includes and
/// excludes (arches, caps) select them, as podman does.
fn oci_profile(moby: &Value, caps: &[&str]) -> Value {
    let arch = "amd64";
    let architectures: Vec<Value> = moby["archMap"]
        .as_array()
        .expect("archMap")
        .iter()
        .filter(|m| m["architecture"] == "SCMP_ARCH_X86_64")
        .flat_map(|m| {
            std::iter::once(m["architecture"].clone()).chain(
                m["subArchitectures"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut syscalls = Vec::new();
    for rule in moby["syscalls"].as_array().expect("syscalls") {
        let inc_arches = strings(&rule["includes"]["arches"]);
        let inc_caps = strings(&rule["includes"]["caps"]);
        let exc_arches = strings(&rule["excludes"]["arches"]);
        let exc_caps = strings(&rule["excludes"]["caps"]);
        if !inc_arches.is_empty() && !inc_arches.iter().any(|a| a == arch) {
            continue;
        }
        if !inc_caps.iter().all(|c| caps.contains(&c.as_str())) {
            continue;
        }
        if exc_arches.iter().any(|a| a == arch)
            || exc_caps.iter().any(|c| caps.contains(&c.as_str()))
        {
            continue;
        }
        let mut oci = json!({"names": rule["names"], "action": rule["action"]});
        if let Some(errno) = rule.get("errnoRet").filter(|v| !v.is_null()) {
            oci["errnoRet"] = errno.clone();
        }
        if let Some(args) = rule.get("args").filter(|v| v.is_array()) {
            oci["args"] = args.clone();
        }
        syscalls.push(oci);
    }
    let mut profile = json!({
        "defaultAction": moby["defaultAction"],
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if let Some(errno) = moby.get("defaultErrnoRet").filter(|v| !v.is_null()) {
        profile["defaultErrnoRet"] = errno.clone();
    }
    profile
}

fn containers_default_profile(s: &Scratch) {
    let text = match std::fs::read_to_string(CONTAINERS_PROFILE) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "pivot-tests: seccomp default-profile test skipped: {CONTAINERS_PROFILE}: {e} \
                 (apt-get install golang-github-containers-common)"
            );
            return;
        }
    };
    let moby: Value = serde_json::from_str(&text).expect("seccomp.json is JSON");
    let probe_bundle = s.bundle(&["/probe", "caps"]);
    let caps = probe_bundle.config()["process"]["capabilities"]["bounding"].clone();
    let caps: Vec<&str> = caps
        .as_array()
        .expect("capabilities.bounding")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let profile = oci_profile(&moby, &caps);
    assert_eq!(
        profile["defaultAction"], "SCMP_ACT_ERRNO",
        "{CONTAINERS_PROFILE}"
    );
    // personality(4) is on no allow rule (0, 8, 0x20000, 0x20008 and
    // 0xffffffff are): it gets the default errno, ENOSYS in that profile.
    let script = format!(
        "/probe mkdir {SHM}/d; {}; {}; {}; /probe caps",
        call("personality", &["0xffffffff"]),
        call("personality", &["4"]),
        call("getsid", &["0"]),
    );
    for nnp in [true, false] {
        let bundle = bundle_with(s, &script, profile.clone());
        bundle.edit(|c| c["process"]["noNewPrivileges"] = json!(nnp));
        let answers = probe_lines(s, &bundle);
        assert_eq!(answers.len(), 5, "noNewPrivileges {nnp}: {answers:?}");
        assert_eq!(answers[0]["ok"], true, "{nnp}: {answers:?}");
        assert_eq!(answers[1]["errno"], Value::Null, "{nnp}: {answers:?}");
        let default_errno = profile["defaultErrnoRet"].as_u64().unwrap_or(1) as u32;
        assert_eq!(
            answers[2]["errno"],
            errno_name(default_errno),
            "{nnp}: {answers:?}"
        );
        assert_eq!(answers[3]["errno"], Value::Null, "{nnp}: {answers:?}");
        assert_eq!(answers[4]["seccomp"], 2, "{nnp}: {answers:?}");
    }
}

fn bad_fields_are_named(s: &Scratch) {
    let errno_rule = json!({"names": ["getsid"], "action": "SCMP_ACT_ERRNO"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"defaultAction": "SCMP_ACT_NOPE"}),
            "linux.seccomp.defaultAction",
        ),
        (
            allow_but(json!([errno_rule, {"names": ["getpid"], "action": "SCMP_ACT_NOPE"}])),
            "linux.seccomp.syscalls[1].action",
        ),
        (
            allow_but(json!([{"names": ["getsid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                         {"index": 1, "value": 1, "op": "SCMP_CMP_NOPE"}]}])),
            "linux.seccomp.syscalls[0].args[1].op",
        ),
        (
            allow_but(json!([{"names": ["getsid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}])),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_NOPE"],
                   "syscalls": [errno_rule]}),
            "linux.seccomp.architectures[1]",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "flags": ["SECCOMP_FILTER_FLAG_NOPE"],
                   "syscalls": [errno_rule]}),
            "linux.seccomp.flags[0]",
        ),
        (
            allow_but(json!([{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"}])),
            "linux.seccomp.listenerPath",
        ),
    ];
    for (profile, field) in cases {
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        bundle.edit(|c| c["linux"]["seccomp"] = profile);
        create_fails(s, &bundle.dir, &s.id("badseccomp"), &[field]);
    }
}

/// What the runtime sent to the listener: the message and the fds.
struct Received {
    message: Vec<u8>,
    fds: Vec<OwnedFd>,
}

/// Accepts one connection on `listener` and reads it to its end, with the
/// fds passed along (SCM_RIGHTS, close-on-exec here at once so that no
/// other test's child inherits the notify fd); None if nobody connected
/// or the sender did not finish within `timeout`.
fn receive(listener: &UnixListener, timeout: Duration) -> Option<Received> {
    let deadline = Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(Instant::now());
    if !poll_readable(listener, left()) {
        return None;
    }
    let (conn, _) = listener.accept().ok()?;
    let mut received = Received {
        message: Vec::new(),
        fds: Vec::new(),
    };
    loop {
        if !poll_readable(&conn, left()) {
            return None;
        }
        let mut buf = [0u8; 16384];
        let (n, fds) = recv_fds(&conn, &mut buf).ok()?;
        received.fds.extend(fds);
        if n == 0 {
            return Some(received);
        }
        received.message.extend_from_slice(&buf[..n]);
        // One JSON document: done once it parses (a sender may keep the
        // connection open).
        if serde_json::from_slice::<Value>(&received.message).is_ok() {
            return Some(received);
        }
    }
}

/// Takes the next notification from a seccomp notify fd (within WAIT).
fn next_notification(fd: &OwnedFd) -> libc::seccomp_notif {
    assert!(
        poll_readable(fd, WAIT),
        "no seccomp notification within {WAIT:?}"
    );
    // SAFETY: seccomp_notif is plain data, all zeroes as the kernel wants
    // it; the ioctl fills it in, valid and writable for the call.
    let (rc, notif) = unsafe {
        let mut notif: libc::seccomp_notif = std::mem::zeroed();
        let rc = libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut notif);
        (rc, notif)
    };
    assert_eq!(
        rc,
        0,
        "SECCOMP_IOCTL_NOTIF_RECV: {}",
        std::io::Error::last_os_error()
    );
    notif
}

/// Answers notification `id`: the call fails with `errno`.
fn fail_notified_call(fd: &OwnedFd, id: u64, errno: i32) {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: -errno,
        flags: 0,
    };
    // SAFETY: the ioctl reads `resp`, which is valid for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
    assert_eq!(
        rc,
        0,
        "SECCOMP_IOCTL_NOTIF_SEND: {}",
        std::io::Error::last_os_error()
    );
}

fn notify_sends_the_fd_to_the_listener(s: &Scratch) {
    let socket = s.path("listener.sock");
    let listener = crate::harness::runtime_socket(&socket, UnixListener::bind);
    let script = format!(
        "{} > /result/first; {} > /result/second",
        call("getsid", &["0"]),
        call("getsid", &["0"])
    );
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", &script]);
    bundle.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": socket,
            "listenerMetadata": "pivot-test-metadata",
            "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"}],
        });
    });
    let id = s.id("notify");
    // The runtime connects during create, before it returns.
    let got = std::thread::scope(|scope| {
        let listening = scope.spawn(|| receive(&listener, Duration::from_secs(30)));
        let out = create(s, &bundle.dir, &id);
        if out.code != 0 {
            // Nobody will connect: unblock the listener thread.
            let _ = std::os::unix::net::UnixStream::connect(&socket);
        }
        let got = listening.join().expect("listener thread");
        out.ok();
        got
    });
    let got = got.expect("the runtime sent nothing to linux.seccomp.listenerPath");
    let state = s.state(&id);
    let pid = state["pid"].as_i64().expect("state.pid");
    let message: Value = serde_json::from_slice(&got.message).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {:?}",
            String::from_utf8_lossy(&got.message)
        )
    });
    assert!(
        message["ociVersion"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{message}"
    );
    assert_eq!(message["fds"], json!(["seccompFd"]), "{message}");
    assert_eq!(message["pid"], pid, "{message}");
    assert_eq!(message["metadata"], "pivot-test-metadata", "{message}");
    assert_eq!(message["state"]["id"], id.as_str(), "{message}");
    assert_eq!(message["state"]["pid"], pid, "{message}");
    assert_eq!(
        message["state"]["bundle"],
        bundle.dir.to_str().unwrap(),
        "{message}"
    );
    assert_eq!(got.fds.len(), 1, "fds passed: {}", got.fds.len());
    let notify_fd = got.fds.into_iter().next().unwrap();
    let link = std::fs::read_link(format!("/proc/self/fd/{}", notify_fd.as_raw_fd())).unwrap();
    assert!(
        link.to_string_lossy().contains("seccomp notify"),
        "the fd is {link:?}"
    );

    s.pivot(&["start", &id]).ok();
    // The first getsid waits for our answer: make it fail with EXDEV.
    let notif = next_notification(&notify_fd);
    assert_eq!(i64::from(notif.data.nr), libc::SYS_getsid, "syscall number");
    assert_eq!(notif.data.args[0], 0, "getsid's argument");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", notif.pid)).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("getsid"),
        "notified by {cmdline:?}"
    );
    fail_notified_call(&notify_fd, notif.id, libc::EXDEV);
    // With no listener left, the second getsid fails with ENOSYS.
    drop(notify_fd);
    s.wait_status(&id, "stopped");
    let read = |name: &str| -> Value {
        let mut text = String::new();
        std::fs::File::open(result.join(name))
            .and_then(|mut f| f.read_to_string(&mut text))
            .unwrap_or_else(|e| panic!("/result/{name}: {e}"));
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("/result/{name} {text:?}: {e}"))
    };
    assert_eq!(read("first")["errno"], "EXDEV", "answered by the listener");
    assert_eq!(read("second")["errno"], "ENOSYS", "no listener left");
    s.delete(&id);
}

/// A profile that refuses close_range (and everything it does not list),
/// with and without no_new_privileges: the runtime's own fd clean-up comes
/// before the filter (or copes with it), and the process runs.
fn filter_goes_in_after_the_fd_cleanup(s: &Scratch) {
    for nnp in [true, false] {
        let seccomp = allow_but(json!([
            {"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENXIO},
        ]));
        let bundle = bundle_with(s, &call("getpid", &[]), seccomp);
        bundle.edit(|c| c["process"]["noNewPrivileges"] = json!(nnp));
        let answers = probe_lines(s, &bundle);
        assert_eq!(answers.len(), 1, "noNewPrivileges {nnp}: {answers:?}");
        assert_eq!(answers[0]["errno"], Value::Null, "{answers:?}");
        // exec too.
        let bundle = s.bundle(&["/probe", "sleep", "60"]);
        bundle.edit(|c| {
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = allow_but(json!([
                {"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENXIO},
            ]));
        });
        let id = s.id("closerange");
        s.create_started(&bundle.dir, &id);
        s.pivot(&["exec", &id, "/probe", "pid"]).ok();
        s.pivot(&["kill", &id, "KILL"]).ok();
        s.wait_status(&id, "stopped");
        s.delete(&id);
    }
}

/// startContainer hooks run with the filter loaded, as runc runs them: a
/// hook making a directory the profile kills fails the start.
fn start_container_hooks_run_under_the_filter(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        c["linux"]["seccomp"] = allow_but(json!([
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"},
        ]));
        c["hooks"] = json!({"startContainer": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", "mkdir /dev/shm/hook-dir"],
        }]});
    });
    let id = s.id("hookfilter");
    let out = s.run(&bundle.dir, &id);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("startContainer"), "{out}");
    assert!(out.stderr.contains("bad system call"), "{out}");
}

/// `exec` into a container whose profile has SCMP_ACT_NOTIFY: the exec'd
/// process's own notify fd reaches linux.seccomp.listenerPath, and the
/// agent answers its calls.
fn exec_sends_its_notify_fd_to_the_listener(s: &Scratch) {
    let socket = s.path("exec-listener.sock");
    let listener = crate::harness::runtime_socket(&socket, UnixListener::bind);
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    bundle.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": socket,
            "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"}],
        });
    });
    let id = s.id("execnotify");
    let init_fd = std::thread::scope(|scope| {
        let listening = scope.spawn(|| receive(&listener, Duration::from_secs(30)));
        let out = create(s, &bundle.dir, &id);
        if out.code != 0 {
            let _ = std::os::unix::net::UnixStream::connect(&socket);
        }
        let got = listening.join().expect("listener thread");
        out.ok();
        got
    });
    assert!(init_fd.is_some(), "the init's notify fd did not come");
    s.pivot(&["start", &id]).ok();
    let out = std::thread::scope(|scope| {
        let exec = scope.spawn(|| s.pivot(&["exec", &id, "/probe", "syscall", "getsid", "0"]));
        let got = receive(&listener, Duration::from_secs(30));
        let got = match got {
            Some(g) => g,
            None => {
                let out = exec.join().expect("exec thread");
                panic!("exec sent no notify fd to the listener:\n{out}");
            }
        };
        let message: Value = serde_json::from_slice(&got.message).expect("JSON message");
        assert_eq!(message["fds"], json!(["seccompFd"]), "{message}");
        assert_eq!(message["state"]["id"], id.as_str(), "{message}");
        let fd = got.fds.into_iter().next().expect("an fd");
        let notif = next_notification(&fd);
        assert_eq!(i64::from(notif.data.nr), libc::SYS_getsid, "syscall number");
        fail_notified_call(&fd, notif.id, libc::EXDEV);
        exec.join().expect("exec thread")
    });
    let answer = out.ok().json();
    assert_eq!(
        answer["errno"], "EXDEV",
        "answered by the listener: {answer}"
    );
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    s.delete(&id);
}

/// SCMP_ACT_NOTIFY for write is refused (the runtime writes after loading
/// the filter), as runc refuses it.
fn notify_on_write_is_refused(s: &Scratch) {
    let socket = s.path("write-listener.sock");
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": socket,
            "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}],
        });
    });
    create_fails(
        s,
        &bundle.dir,
        &s.id("notifywrite"),
        &["SCMP_ACT_NOTIFY cannot be used for the write syscall"],
    );
}

/// runc's -ENOSYS stub: with a default action that refuses, a syscall
/// numbered above every one the profile names (newer than the profile)
/// gets ENOSYS, so that a libc falls back; known calls still get the
/// default errno. Not when defaultErrnoRet is ENOSYS already or the default
/// allows.
fn syscalls_newer_than_the_profile_get_enosys(s: &Scratch) {
    let names = match all_syscall_names() {
        Ok(names) => names,
        Err(reason) => {
            eprintln!("pivot-tests: seccomp ENOSYS test skipped: {reason}");
            return;
        }
    };
    let allowed: Vec<&String> = names.iter().filter(|n| n.as_str() != "getsid").collect();
    let script = format!("{}; {}", call("getsid", &["0"]), call("1000", &[]));
    for nnp in [true, false] {
        let profile = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": ENXIO,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}],
        });
        let bundle = bundle_with(s, &script, profile);
        bundle.edit(|c| c["process"]["noNewPrivileges"] = json!(nnp));
        let answers = probe_lines(s, &bundle);
        assert_eq!(answers.len(), 2, "noNewPrivileges {nnp}: {answers:?}");
        assert_eq!(answers[0]["errno"], "ENXIO", "{nnp}: {answers:?}");
        assert_eq!(answers[1]["errno"], "ENOSYS", "{nnp}: {answers:?}");
    }
}

/// The -ENOSYS stub covers the native architecture when the profile lists
/// none (or only others): libseccomp's filter always has it, as runc 1.2
/// and later make the stub for it.
fn enosys_stub_without_architectures(s: &Scratch) {
    let names = match all_syscall_names() {
        Ok(names) => names,
        Err(reason) => {
            eprintln!("pivot-tests: seccomp ENOSYS test skipped: {reason}");
            return;
        }
    };
    let allowed: Vec<&String> = names.iter().filter(|n| n.as_str() != "getsid").collect();
    let script = format!("{}; {}", call("getsid", &["0"]), call("1000", &[]));
    for arches in [None, Some(json!([])), Some(json!(["SCMP_ARCH_X86"]))] {
        let mut profile = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": ENXIO,
            "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}],
        });
        if let Some(a) = &arches {
            profile["architectures"] = a.clone();
        }
        let bundle = bundle_with(s, &script, profile);
        let answers = probe_lines(s, &bundle);
        assert_eq!(answers.len(), 2, "architectures {arches:?}: {answers:?}");
        assert_eq!(answers[0]["errno"], "ENXIO", "{arches:?}: {answers:?}");
        assert_eq!(answers[1]["errno"], "ENOSYS", "{arches:?}: {answers:?}");
    }
}

/// A profile whose getsid answers `errno`, with three architectures as
/// podman's.
fn getsid_profile(errno: u32) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}],
    })
}

/// The errno getsid gets under `profile`.
#[track_caller]
fn getsid_errno(s: &Scratch, profile: Value) -> Value {
    run_calls(s, profile, &[call("getsid", &["0"])])[0]["errno"].clone()
}

/// The cache's entries: name, inode, mode and contents.
fn cache_entries(s: &Scratch) -> Vec<(String, u64, u32, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let dir = s.root.join(SECCOMP_CACHE);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let data = std::fs::read(e.path()).unwrap_or_default();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.ino(),
                m.mode() & 0o7777,
                data,
            )
        })
        .collect();
    v.sort();
    v
}

/// pivot keeps each compiled filter under --root (pivot@seccomp, 0700, one
/// 0600 file per profile), takes it from there the next time (the file
/// is not written again), and two profiles never share one: each
/// container gets its own profile's filter, warm or cold.
fn compiled_filters_are_cached_per_profile(s: &Scratch) {
    use std::os::unix::fs::MetadataExt;
    assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO");
    let dir = std::fs::symlink_metadata(s.root.join(SECCOMP_CACHE)).expect("the cache dir");
    assert!(dir.is_dir());
    assert_eq!(dir.mode() & 0o7777, 0o700);
    let first = cache_entries(s);
    assert_eq!(
        first.len(),
        1,
        "{:?}",
        first.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    assert!(first[0].0.ends_with(".bpf"), "{}", first[0].0);
    assert_eq!(first[0].2, 0o600);
    // The same profile again: the same entry, not rewritten.
    assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO");
    assert_eq!(cache_entries(s), first);
    // Another profile, differing only in one errno: an entry of its own,
    // and its own filter; then the first one still gets its own.
    assert_eq!(getsid_errno(s, getsid_profile(EXDEV)), "EXDEV");
    let both = cache_entries(s);
    assert_eq!(both.len(), 2);
    assert!(both.contains(&first[0]));
    assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO");
    assert_eq!(getsid_errno(s, getsid_profile(EXDEV)), "EXDEV");
    assert_eq!(cache_entries(s), both);
}

/// An entry changed behind pivot's back never decides a container's
/// filter: another profile's entry copied or linked over it, a flipped
/// bit, a truncation, a wrong mode. Each time the container gets its own
/// profile's filter and the entry is compiled and written anew.
fn a_damaged_cache_entry_is_not_used(s: &Scratch) {
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO");
    let ours = cache_entries(s).remove(0);
    assert_eq!(getsid_errno(s, getsid_profile(EXDEV)), "EXDEV");
    let theirs = cache_entries(s)
        .into_iter()
        .find(|e| e.0 != ours.0)
        .expect("the second profile's entry");
    let dir = s.root.join(SECCOMP_CACHE);
    let path = dir.join(&ours.0);
    let write = |data: &[u8], mode: u32| {
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let mut flipped = ours.3.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    type Damage<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let damage: Vec<Damage> = vec![
        (
            "another profile's entry",
            Box::new(|| write(&theirs.3, 0o600)),
        ),
        ("a flipped bit", Box::new(|| write(&flipped, 0o600))),
        (
            "a truncation",
            Box::new(|| write(&ours.3[..ours.3.len() - 8], 0o600)),
        ),
        ("mode 0644", Box::new(|| write(&ours.3, 0o644))),
        (
            "a symlink to another profile's entry",
            Box::new(|| {
                let _ = std::fs::remove_file(&path);
                std::os::unix::fs::symlink(dir.join(&theirs.0), &path).unwrap();
            }),
        ),
        (
            "a hard link to another profile's entry",
            Box::new(|| {
                let _ = std::fs::remove_file(&path);
                std::fs::hard_link(dir.join(&theirs.0), &path).unwrap();
            }),
        ),
    ];
    for (what, damage) in damage {
        damage();
        assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO", "{what}");
        let now = cache_entries(s);
        let entry = now.iter().find(|e| e.0 == ours.0).expect("entry rewritten");
        assert_eq!(
            (entry.2, &entry.3),
            (0o600, &ours.3),
            "{what}: not rewritten"
        );
        assert_eq!(getsid_errno(s, getsid_profile(EXDEV)), "EXDEV", "{what}");
    }
}

/// A cache directory others could write to (or that is a symlink) is not
/// used at all: nothing is read from it or written to it, and filters
/// still work.
fn a_cache_directory_open_to_others_is_not_used(s: &Scratch) {
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO");
    let dir = s.root.join(SECCOMP_CACHE);
    for e in cache_entries(s) {
        std::fs::remove_file(dir.join(e.0)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(getsid_errno(s, getsid_profile(ENXIO)), "ENXIO");
    assert_eq!(cache_entries(s), vec![], "written into a 0777 cache dir");
    std::fs::remove_dir(&dir).unwrap();
    let elsewhere = s.mkdir("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    assert_eq!(getsid_errno(s, getsid_profile(EXDEV)), "EXDEV");
    let written: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().collect();
    assert!(
        written.is_empty(),
        "written through a symlinked cache dir: {written:?}"
    );
    std::fs::remove_file(&dir).unwrap();
}
