//! `pivot check`: one line per host feature with its consequence, the same
//! as JSON, facts that agree with what the test reads on the host, and a
//! non-zero exit when something pivot needs is missing (shown by running
//! pivot's static binary inside a container whose seccomp filter hides
//! the new mount API). runc has no such command: these tests are pivot's
//! alone and pass without asserting anything when PIVOT_BIN is runc or crun.

use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::harness::{pivot_bin, tests, Scratch};
use crate::runtime::Out;

tests![
    check_prints_each_probe_with_a_consequence,
    check_json_agrees_with_the_text_and_the_exit_status,
    check_cgroup_layout_matches_mountinfo,
    check_says_when_openat2_is_disabled,
    check_fails_when_the_mount_api_is_missing,
    check_needs_no_root,
];

/// The probes `pivot check` reports, in order.
const NAMES: &[&str] = &[
    "kernel",
    "root",
    "procfs",
    "clone3",
    "openat2",
    "mount API",
    "cgroups",
    "user namespaces",
    "seccomp",
    "AppArmor",
    "SELinux",
    "CRIU",
    "systemd",
];

fn pivot_only() -> bool {
    crate::harness::is_pivot()
}

fn check_json(s: &Scratch) -> (Out, Value) {
    let out = s.runtime(&s.dir, &["check", "--format", "json"]);
    let doc = out.json();
    (out, doc)
}

fn check_prints_each_probe_with_a_consequence(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let out = s.runtime(&s.dir, &["check"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        NAMES.len() + 1,
        "one line per probe and a verdict:\n{out}"
    );
    for (line, name) in lines.iter().zip(NAMES) {
        let rest = line
            .strip_prefix(name)
            .unwrap_or_else(|| panic!("line {line:?} is not about {name}:\n{out}"));
        // name, what was found, and a consequence of several words
        assert!(
            rest.starts_with(' ') && rest.split_whitespace().count() >= 3,
            "line {line:?} has no finding and consequence"
        );
    }
    let verdict = lines.last().unwrap();
    match out.code {
        0 => assert_eq!(*verdict, "pivot can run containers on this host", "{out}"),
        1 => assert!(
            verdict.starts_with("pivot cannot run containers on this host: missing "),
            "{out}"
        ),
        c => panic!("exit status {c}:\n{out}"),
    }
    assert!(out.stderr.is_empty(), "nothing on stderr:\n{out}");
}

fn check_json_agrees_with_the_text_and_the_exit_status(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let (out, doc) = check_json(s);
    let checks = doc["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, NAMES, "{out}");
    for c in checks {
        for (key, kind) in [
            ("ok", "bool"),
            ("required", "bool"),
            ("found", "string"),
            ("consequence", "string"),
        ] {
            let ok = if kind == "bool" {
                c[key].is_boolean()
            } else {
                c[key].as_str().is_some_and(|v| !v.is_empty())
            };
            assert!(ok, "{}: {key} is not a {kind}:\n{out}", c["name"]);
        }
        assert!(c["details"].is_object(), "{}: details:\n{out}", c["name"]);
    }
    let missing: Vec<&Value> = checks
        .iter()
        .filter(|c| c["required"] == json!(true) && c["ok"] == json!(false))
        .map(|c| &c["name"])
        .collect();
    assert_eq!(
        doc["missing"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        missing
    );
    assert_eq!(doc["ok"], json!(missing.is_empty()));
    assert_eq!(out.code, if missing.is_empty() { 0 } else { 1 }, "{out}");
    // This host runs the suite's containers, so nothing pivot needs is missing.
    assert_eq!(out.code, 0, "{out}");
    // The text's findings are the JSON's.
    let text = s.runtime(&s.dir, &["check"]);
    for c in checks {
        let line = text
            .stdout
            .lines()
            .find(|l| l.starts_with(c["name"].as_str().unwrap()))
            .unwrap();
        assert!(
            line.contains(c["found"].as_str().unwrap())
                && line.contains(c["consequence"].as_str().unwrap()),
            "{line:?} vs {c}"
        );
    }
    // Facts the test reads itself.
    let by_name: BTreeMap<&str, &Value> = checks
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c))
        .collect();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(by_name["kernel"]["found"], json!(release.trim()));
    let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap();
    assert_eq!(
        by_name["user namespaces"]["details"]["max_user_namespaces"],
        json!(max.trim().parse::<u64>().unwrap())
    );
    let criu = [
        "/usr/sbin/criu",
        "/usr/bin/criu",
        "/usr/local/sbin/criu",
        "/usr/local/bin/criu",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists());
    assert_eq!(
        by_name["CRIU"]["details"]["path"].is_string(),
        criu,
        "{}",
        by_name["CRIU"]
    );
}

/// The hierarchies in mountinfo as the test reads them: (fstype, mount
/// point, super options).
fn cgroup_mounts() -> Vec<(String, String, String)> {
    crate::mountinfo::host_cgroup_mounts()
        .into_iter()
        .map(|m| {
            let point = m.mount_point.to_string_lossy().into_owned();
            (m.fs_type, point, m.super_options.join(","))
        })
        .collect()
}

fn check_cgroup_layout_matches_mountinfo(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let (out, doc) = check_json(s);
    let cg = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cgroups")
        .expect("cgroups")
        .clone();
    let mounts = cgroup_mounts();
    let v1 = mounts.iter().any(|(t, _, _)| t == "cgroup");
    let v2 = mounts.iter().find(|(t, _, _)| t == "cgroup2");
    let mode = match (v1, v2.is_some()) {
        (false, true) => "v2",
        (true, true) => "hybrid",
        (true, false) => "v1",
        (false, false) => "none",
    };
    assert_eq!(cg["found"], json!(mode), "{out}");
    assert_eq!(cg["details"]["mode"], json!(mode));
    // Every v1 controller is reported at the mount point that has it.
    let controllers = &cg["details"]["controllers"];
    let mut seen = 0;
    for (t, point, opts) in &mounts {
        if t != "cgroup" {
            continue;
        }
        for c in opts.split(',').filter(|o| {
            [
                "cpu",
                "cpuacct",
                "cpuset",
                "memory",
                "devices",
                "freezer",
                "blkio",
                "pids",
                "hugetlb",
                "net_cls",
                "net_prio",
                "perf_event",
                "rdma",
                "misc",
            ]
            .contains(o)
        }) {
            if controllers[c]["mount"] == json!(point) {
                assert_eq!(controllers[c]["version"], json!("v1"), "{c}");
                seen += 1;
            } else {
                // A second mount of the same hierarchy: the first one wins.
                assert!(
                    controllers[c]["mount"].is_string(),
                    "{c} at {point} missing from {controllers}"
                );
            }
        }
    }
    // The cgroup2 tree's controllers are those its root lists.
    if let Some((_, point, _)) = v2 {
        let list = std::fs::read_to_string(format!("{point}/cgroup.controllers")).unwrap();
        for c in list.split_whitespace() {
            let at = &controllers[c];
            assert!(
                at["version"] == json!("v2") || at["version"] == json!("v1"),
                "{c}: {controllers}"
            );
            if at["version"] == json!("v2") {
                assert_eq!(at["mount"], json!(point), "{c}");
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "no controller checked: {controllers}");
}

fn check_says_when_openat2_is_disabled(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bin = pivot_bin().unwrap();
    let (mut cmd, _) =
        crate::runtime::runtime_command(&bin, &s.dir, &["check", "--format", "json"]);
    cmd.env("PIVOT_NO_OPENAT2", "1");
    let out = s
        .run_command(
            cmd,
            format!("PIVOT_NO_OPENAT2=1 {} check --format json", bin.display()),
        )
        .ok();
    let doc = out.json();
    let o = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "openat2")
        .unwrap();
    assert_eq!(o["found"], json!("disabled"), "{out}");
    assert!(
        o["consequence"].as_str().unwrap().contains("fd-by-fd walk"),
        "{o}"
    );
    let (_, plain) = check_json(s);
    let o = plain["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "openat2")
        .unwrap();
    assert_eq!(
        o["found"],
        json!("yes"),
        "this host's kernel has openat2: {o}"
    );
}

fn check_fails_when_the_mount_api_is_missing(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/pivot", "check", "--format", "json"]);
    std::fs::copy(pivot_bin().unwrap(), bundle.rootfs().join("pivot"))
        .expect("copy pivot into the rootfs");
    bundle.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["fsopen", "open_tree"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSYS}],
        });
    });
    let id = s.id("check");
    let out = s.run(&bundle.dir, &id);
    assert_eq!(
        out.code, 1,
        "pivot check exits 1 without the mount API:\n{out}"
    );
    let doc = out.json();
    assert_eq!(doc["ok"], json!(false));
    assert_eq!(doc["missing"], json!(["mount API"]), "{out}");
    let m = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "mount API")
        .unwrap();
    assert_eq!(m["found"], json!("no fsopen, open_tree"), "{m}");
    assert_eq!(m["details"]["fsopen"]["probe_errno"], json!("ENOSYS"));
    assert_ne!(
        m["details"]["fsmount"]["probe_errno"],
        json!("ENOSYS"),
        "{m}"
    );
}

/// An unprivileged user runs `check` too: the same probes, the root line
/// says so, and it still exits 0 here.
fn check_needs_no_root(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = s.mkdir("nobody");
    for d in [&s.dir, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = dir.join("pivot");
    std::fs::copy(pivot_bin().unwrap(), &bin).expect("copy pivot");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = std::process::Command::new(&bin);
    cmd.args(["check", "--format", "json"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir(&dir)
        .uid(65534)
        .gid(65534);
    let out = s
        .run_command(
            cmd,
            format!("(as 65534) {} check --format json", bin.display()),
        )
        .ok();
    let doc = out.json();
    let checks = doc["checks"].as_array().unwrap();
    let root = checks.iter().find(|c| c["name"] == "root").unwrap();
    assert_eq!(root["found"], json!("no"), "{out}");
    assert_eq!(root["details"]["uid"], json!(65534));
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, NAMES);
    assert_eq!(doc["ok"], json!(true), "{out}");
}
