//! The systemd cgroup driver (`--systemd-cgroup`). Bad input is refused on
//! any host (before systemd is asked anything); a host without systemd
//! gets an error naming the bus. The rest needs systemd as pid 1
//! (/run/systemd/system, as runc checks it) and is skipped elsewhere:
//! scripts/vm boots such a host.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch, WAIT};
use crate::host::mount_points;
use crate::host::wait_for;
use crate::runtime::{assert_error_mentions, Out};

tests![
    bad_cgroups_path_is_refused,
    bad_annotation_is_refused,
    unreachable_systemd_is_refused,
    scope_with_limits_update_and_delete,
    nested_slice_and_default_path,
    exec_pause_and_kill_all_use_the_unit,
    shared_unit_is_refused_and_the_first_runs_on,
];

fn systemd_runs() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn skip_without_systemd(name: &str) -> bool {
    if systemd_runs() {
        return false;
    }
    eprintln!("{name}: skipped: systemd is not pid 1 here (scripts/vm/run.sh runs it)");
    true
}

/// `--systemd-cgroup ARGS...` (the flag is global: before the command).
fn sd<S: AsRef<OsStr>>(s: &Scratch, args: &[S]) -> Out {
    let mut all: Vec<&OsStr> = vec![OsStr::new("--systemd-cgroup")];
    all.extend(args.iter().map(AsRef::as_ref));
    s.pivot(&all)
}

fn sd_create(s: &Scratch, bundle: &Bundle, id: &str) -> Out {
    sd(
        s,
        &[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(id),
        ],
    )
}

/// `create` must fail naming one of `any_of`, leaving nothing behind.
#[track_caller]
fn refused(s: &Scratch, bundle: &Bundle, id: &str, any_of: &[&str]) {
    // runc refuses these before it makes --root, and its `list` then fails.
    std::fs::create_dir_all(&s.root).expect("mkdir --root");
    let before = mount_points();
    let out = sd_create(s, bundle, id);
    assert_error_mentions(&out, any_of);
    s.assert_nothing_left(id, &before);
}

fn bad_cgroups_path_is_refused(s: &Scratch) {
    for path in ["/pivot/x", "system.slice:x", "a:b:c:d"] {
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
        refused(s, &bundle, &s.id("sdpath"), &["cgroupsPath"]);
    }
}

fn bad_annotation_is_refused(s: &Scratch) {
    for (k, v) in [
        ("org.systemd.property.Memory_Max", "uint64 1"),
        ("org.systemd.property.Ab", "true"),
        ("org.systemd.property.TimeoutStopSec", "'soon'"),
    ] {
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        bundle.edit(|c| c["annotations"] = json!({ k: v }));
        refused(s, &bundle, &s.id("sdann"), &[k]);
    }
}

/// No systemd: one line naming the bus (runc 1.5.1 says "systemd not
/// running on this host"), and nothing made.
fn unreachable_systemd_is_refused(s: &Scratch) {
    if systemd_runs() || Path::new("/run/dbus/system_bus_socket").exists() {
        eprintln!("unreachable_systemd_is_refused: skipped: this host has a system bus");
        return;
    }
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    let id = s.id("sdbus");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("system.slice:pt:{id}")));
    refused(
        s,
        &bundle,
        &id,
        &["/run/dbus/system_bus_socket", "systemd not running"],
    );
}

/// `systemctl show UNIT -p NAME...` as a map.
fn show(unit: &str, props: &[&str]) -> BTreeMap<String, String> {
    let mut cmd = Command::new("systemctl");
    cmd.args(["show", unit]);
    for p in props {
        cmd.args(["-p", p]);
    }
    let out = cmd.output().expect("systemctl show");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The unit's state once it is gone: "not-found" (or inactive and dead).
fn gone(unit: &str) -> bool {
    let p = show(unit, &["LoadState", "ActiveState"]);
    p.get("LoadState").map(String::as_str) == Some("not-found")
        || p.get("ActiveState").map(String::as_str) == Some("inactive")
}

/// The unified cgroup of `pid`, as a directory under /sys/fs/cgroup.
fn v2_cgroup(pid: i32) -> Option<(String, PathBuf)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .to_string();
    let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    Some((path, dir))
}

fn unified_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

fn read(dir: &Path, file: &str) -> String {
    let p = dir.join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

const MIB: u64 = 1 << 20;

fn scope_with_limits_update_and_delete(s: &Scratch) {
    if skip_without_systemd("scope_with_limits_update_and_delete") {
        return;
    }
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("sdscope");
    let unit = format!("pt-{id}.scope");
    bundle.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("system.slice:pt:{id}"));
        c["linux"]["resources"]["memory"] = json!({"limit": 64 * MIB, "reservation": 32 * MIB});
        c["linux"]["resources"]["pids"] = json!({"limit": 20});
        // 0.1234 CPU: systemd keeps whole percents, so both get 13%.
        c["linux"]["resources"]["cpu"] = json!({"shares": 512, "quota": 12340, "period": 100000});
        c["annotations"] = json!({"org.systemd.property.TimeoutStopSec": "uint64 7"});
    });
    sd_create(s, &bundle, &id).ok();
    let pid = s.state(&id)["pid"].as_i64().expect("pid") as i32;
    sd(s, &["start", &id]).ok();
    let p = show(
        &unit,
        &[
            "ActiveState",
            "Delegate",
            "Slice",
            "ControlGroup",
            "MemoryMax",
            "MemoryLow",
            "TasksMax",
            "CPUQuotaPerSecUSec",
            "CPUWeight",
            "TimeoutStopUSec",
            "DefaultDependencies",
        ],
    );
    assert_eq!(p["ActiveState"], "active", "{p:?}");
    assert_eq!(p["Delegate"], "yes", "{p:?}");
    assert_eq!(p["Slice"], "system.slice", "{p:?}");
    assert_eq!(p["ControlGroup"], format!("/system.slice/{unit}"), "{p:?}");
    assert_eq!(p["TasksMax"], "20", "{p:?}");
    assert_eq!(p["CPUQuotaPerSecUSec"], "130ms", "{p:?}");
    assert_eq!(p["TimeoutStopUSec"], "7s", "{p:?}");
    if unified_host() {
        let (path, dir) = v2_cgroup(pid).expect("the init's cgroup");
        assert_eq!(path, format!("/system.slice/{unit}"));
        assert_eq!(p["MemoryMax"], (64 * MIB).to_string(), "{p:?}");
        assert_eq!(p["MemoryLow"], (32 * MIB).to_string(), "{p:?}");
        assert_eq!(read(&dir, "memory.max"), (64 * MIB).to_string());
        assert_eq!(read(&dir, "memory.low"), (32 * MIB).to_string());
        assert_eq!(read(&dir, "pids.max"), "20");
        assert_eq!(read(&dir, "cpu.max"), "13000 100000");
        // The unit's weight and the file agree (runc's shares conversion).
        assert_eq!(p["CPUWeight"], read(&dir, "cpu.weight"), "{p:?}");
        // update: the unit's property and the file.
        sd(
            s,
            &["update", "--memory", "128M", "--pids-limit", "30", &id],
        )
        .ok();
        let p = show(&unit, &["MemoryMax", "TasksMax"]);
        assert_eq!(p["MemoryMax"], (128 * MIB).to_string(), "{p:?}");
        assert_eq!(p["TasksMax"], "30", "{p:?}");
        assert_eq!(read(&dir, "memory.max"), (128 * MIB).to_string());
        assert_eq!(read(&dir, "pids.max"), "30");
        sd(s, &["kill", &id, "KILL"]).ok();
        s.wait_status(&id, "stopped");
        sd(s, &["delete", &id]).ok();
        assert!(
            wait_for(WAIT, || !dir.exists()),
            "{} is left after delete",
            dir.display()
        );
    } else {
        sd(s, &["kill", &id, "KILL"]).ok();
        s.wait_status(&id, "stopped");
        sd(s, &["delete", &id]).ok();
    }
    s.reap();
    assert!(
        gone(&unit),
        "unit {unit} is left: {:?}",
        show(&unit, &["LoadState", "ActiveState"])
    );
    assert!(!s.root.join(&id).exists());
}

/// `a-b.slice` lives in `a.slice`; an empty cgroupsPath is the default
/// scope in system.slice (runc's prefix is its own name, pivot's "pivot").
fn nested_slice_and_default_path(s: &Scratch) {
    if skip_without_systemd("nested_slice_and_default_path") {
        return;
    }
    let outer = format!("pvt{}", std::process::id());
    let slice = format!("{outer}-inner.slice");
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("sdnest");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("{slice}:pt:{id}")));
    sd_create(s, &bundle, &id).ok();
    let pid = s.state(&id)["pid"].as_i64().expect("pid") as i32;
    let unit = format!("pt-{id}.scope");
    let p = show(&unit, &["ControlGroup", "Slice"]);
    let want = format!("/{outer}.slice/{slice}/{unit}");
    assert_eq!(p["ControlGroup"], want, "{p:?}");
    assert_eq!(p["Slice"], slice, "{p:?}");
    if unified_host() {
        assert_eq!(v2_cgroup(pid).expect("cgroup").0, want);
    }
    sd(s, &["delete", "--force", &id]).ok();
    s.reap();
    assert!(gone(&unit), "unit {unit} is left");
    // The slices systemd made for it stay, as with runc: remove them.
    let _ = Command::new("systemctl")
        .args(["stop", &slice, &format!("{outer}.slice")])
        .status();

    // The default: pivot-<id>.scope in system.slice (runc: runc-<id>.scope).
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("sddef");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(""));
    sd_create(s, &bundle, &id).ok();
    let pid = s.state(&id)["pid"].as_i64().expect("pid") as i32;
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let line = text
        .lines()
        .find(|l| l.starts_with("0::") || l.contains(":name=systemd:"))
        .expect("systemd's cgroup line")
        .to_string();
    assert!(
        line.ends_with(&format!("/system.slice/pivot-{id}.scope"))
            || line.ends_with(&format!("/system.slice/runc-{id}.scope")),
        "{line}"
    );
    sd(s, &["delete", "--force", &id]).ok();
}

fn ps(s: &Scratch, id: &str) -> Vec<i64> {
    let v: Value = sd(s, &["ps", "--format", "json", id]).ok().json();
    // runc prints `null` for no processes, pivot `[]`.
    if v.is_null() {
        return Vec::new();
    }
    v.as_array()
        .expect("ps json")
        .iter()
        .filter_map(Value::as_i64)
        .collect()
}

fn exec_pause_and_kill_all_use_the_unit(s: &Scratch) {
    if skip_without_systemd("exec_pause_and_kill_all_use_the_unit") {
        return;
    }
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let id = s.id("sdexec");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("system.slice:pt:{id}")));
    sd_create(s, &bundle, &id).ok();
    sd(s, &["start", &id]).ok();
    let init = s.state(&id)["pid"].as_i64().expect("pid");
    sd(s, &["exec", "--detach", &id, "/probe", "sleep", "60"]).ok();
    let mut pids = Vec::new();
    assert!(
        wait_for(WAIT, || {
            pids = ps(s, &id);
            pids.len() == 2
        }),
        "ps after exec: {pids:?}"
    );
    assert!(pids.contains(&init), "{pids:?}");
    for pid in &pids {
        s.remember_pid(*pid as i32);
    }
    sd(s, &["pause", &id]).ok();
    assert_eq!(s.status(&id), "paused");
    if unified_host() {
        let (_, dir) = v2_cgroup(init as i32).expect("cgroup");
        assert_eq!(read(&dir, "cgroup.freeze"), "1");
    }
    sd(s, &["resume", &id]).ok();
    assert_eq!(s.status(&id), "running");
    sd(s, &["kill", "--all", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    assert!(wait_for(WAIT, || ps(s, &id).is_empty()), "processes left");
    sd(s, &["delete", &id]).ok();
    assert!(gone(&format!("pt-{id}.scope")));
}

/// A second container with the cgroupsPath of a running one names the
/// same unit, whose cgroup holds the first one's init: refused, as runc
/// 1.2 and later refuse it (`container's cgroup is not empty`), before
/// systemd is asked to start the unit again, and the first container and
/// its unit are untouched (a failed create stops the unit it started:
/// this one was not its own).
fn shared_unit_is_refused_and_the_first_runs_on(s: &Scratch) {
    if skip_without_systemd("shared_unit_is_refused_and_the_first_runs_on") {
        return;
    }
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let first = s.id("sdshared");
    let unit = format!("pt-{first}.scope");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("system.slice:pt:{first}")));
    sd_create(s, &bundle, &first).ok();
    let pid = s.state(&first)["pid"].as_i64().expect("pid");
    let second = s.id("sdshared");
    let out = sd_create(s, &bundle, &second);
    let after = show(&unit, &["ActiveState"]);
    let first_status = s.status(&first);
    if out.code == 0 {
        sd(s, &["delete", "--force", &second]);
    }
    let alive = Path::new(&format!("/proc/{pid}")).exists();
    sd(s, &["delete", "--force", &first]).ok();
    s.reap();
    assert_error_mentions(&out, &["cgroup is not empty"]);
    assert_eq!(
        after["ActiveState"], "active",
        "the first container's unit: {after:?}"
    );
    assert_eq!(
        first_status, "created",
        "the refused create harmed the first container"
    );
    assert!(alive, "the first container's init {pid} is gone");
    assert!(
        !s.list_ids().contains(&second),
        "the refused container is listed"
    );
    assert!(gone(&unit), "unit {unit} is left");
}
