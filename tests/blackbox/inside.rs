//! What the container's process sees, reported by `probe` through `run`.

use std::ffi::OsStr;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch, MARKER};

tests![
    pid_one_in_new_pid_namespace,
    hostname_from_config,
    env_from_config,
    cwd_from_config,
    missing_cwd_is_created,
    user_groups_and_umask_from_config,
    proc_is_mounted,
    root_is_the_rootfs,
    no_pivot_root_is_the_rootfs,
    network_namespace_or_host_network,
];

/// Runs the bundle in the foreground and returns the probe's JSON answer.
#[track_caller]
fn probe(s: &Scratch, bundle: &Bundle) -> Value {
    s.run_json(&bundle.dir, &s.id("in"))
}

fn pid_one_in_new_pid_namespace(s: &Scratch) {
    let answer = probe(s, &s.bundle(&["/probe", "pid"]));
    assert_eq!(answer["pid"], 1, "{answer}");
    assert_eq!(answer["ppid"], 0, "{answer}");
}

fn hostname_from_config(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "hostname"]);
    bundle.edit(|c| c["hostname"] = json!("pivot-inside"));
    let answer = probe(s, &bundle);
    assert_eq!(answer["hostname"], "pivot-inside", "{answer}");
}

fn env_from_config(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "env"]);
    let marker = format!("{MARKER}={}", s.dir.display());
    bundle.edit(|c| {
        c["process"]["env"] = json!(["PATH=/bin", "PIVOT_A=one", "PIVOT_B=two words=x", marker]);
    });
    let env = probe(s, &bundle);
    assert_eq!(env["PATH"], "/bin", "{env}");
    assert_eq!(env["PIVOT_A"], "one", "{env}");
    assert_eq!(env["PIVOT_B"], "two words=x", "{env}");
    assert!(
        env.get("TERM").is_none(),
        "an env var not in config.json: {env}"
    );
}

fn cwd_from_config(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "cwd"]);
    bundle.edit(|c| c["process"]["cwd"] = json!("/etc"));
    assert_eq!(probe(s, &bundle)["cwd"], "/etc");
}

fn missing_cwd_is_created(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "cwd"]);
    // Not in the rootfs, and the root is read-only (runc spec's default).
    bundle.edit(|c| c["process"]["cwd"] = json!("/pivot/work/dir"));
    assert_eq!(bundle.config()["root"]["readonly"], true);
    assert_eq!(probe(s, &bundle)["cwd"], "/pivot/work/dir");
}

fn user_groups_and_umask_from_config(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "ids"]);
    bundle.edit(|c| {
        c["process"]["user"] = json!({
            "uid": 1000,
            "gid": 1001,
            "additionalGids": [2000, 3000],
            "umask": 0o027,
        });
    });
    let ids = probe(s, &bundle);
    assert_eq!(ids["uid"], 1000, "{ids}");
    assert_eq!(ids["euid"], 1000, "{ids}");
    assert_eq!(ids["gid"], 1001, "{ids}");
    assert_eq!(ids["egid"], 1001, "{ids}");
    let mut groups: Vec<u64> = ids["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, [2000, 3000], "{ids}");
    assert_eq!(ids["umask"], "0027", "{ids}");
}

fn proc_is_mounted(s: &Scratch) {
    let mounts = probe(s, &s.bundle(&["/probe", "mounts"]));
    let proc = mounts
        .as_array()
        .expect("mounts array")
        .iter()
        .find(|m| m["mount_point"] == "/proc")
        .unwrap_or_else(|| panic!("no /proc mount: {mounts}"));
    assert_eq!(proc["fs_type"], "proc", "{proc}");
}

/// Stats a file made in the rootfs, a canary made on the host next to the
/// bundle, and the scratch dir itself: only the first may be visible.
fn assert_root_is_rootfs(s: &Scratch, no_pivot: bool) {
    let canary = s.path("canary");
    std::fs::write(&canary, "host").unwrap();
    let canary = canary.to_str().unwrap().to_string();
    let scratch = s.dir.to_str().unwrap().to_string();
    let bundle = s.bundle(&[
        "/probe",
        "stat",
        "/probe",
        "/rootfs-marker",
        &canary,
        &scratch,
    ]);
    std::fs::write(bundle.rootfs().join("rootfs-marker"), "rootfs").unwrap();
    let id = s.id("root");
    let mut args = vec![OsStr::new("run")];
    if no_pivot {
        args.push(OsStr::new("--no-pivot"));
    }
    args.extend([
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    let answer = s.pivot(&args).ok().json();
    let entry = |i: usize| &answer[i];
    assert_eq!(entry(0)["exists"], true, "{answer}");
    assert_eq!(entry(0)["type"], "file", "{answer}");
    assert_eq!(entry(1)["exists"], true, "{answer}");
    assert_eq!(entry(2)["exists"], false, "host canary visible: {answer}");
    assert_eq!(
        entry(3)["exists"],
        false,
        "host scratch dir visible: {answer}"
    );
}

fn root_is_the_rootfs(s: &Scratch) {
    assert_root_is_rootfs(s, false);
}

fn no_pivot_root_is_the_rootfs(s: &Scratch) {
    assert_root_is_rootfs(s, true);
}

fn network_namespace_or_host_network(s: &Scratch) {
    let host = std::fs::read_link("/proc/self/ns/net").expect("readlink /proc/self/ns/net");
    let host = host.to_str().unwrap();

    let own = s.bundle(&["/probe", "stat", "/proc/self/ns/net"]);
    assert!(own.config()["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ns| ns["type"] == "network"));
    let inside = probe(s, &own);
    let link = inside[0]["link"]
        .as_str()
        .unwrap_or_else(|| panic!("no link: {inside}"));
    assert!(link.starts_with("net:["), "{inside}");
    assert_ne!(link, host, "a network namespace was asked for: {inside}");

    let shared = s.bundle(&["/probe", "stat", "/proc/self/ns/net"]);
    shared.remove_namespace("network");
    let inside = probe(s, &shared);
    assert_eq!(
        inside[0]["link"], host,
        "no network namespace was asked for: {inside}"
    );
}
