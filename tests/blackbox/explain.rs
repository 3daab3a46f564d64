//! `pivot explain`: what create would do for a bundle, checked against
//! what the container then sees (its mount table in order, its device
//! nodes, its masked paths, from probe), every bad field of a broken
//! config named at once, run as an unprivileged user, and the JSON form
//! saying what the text says. runc has no such command: explain's side of
//! these tests is pivot's alone, skipped when PIVOT_BIN is another
//! runtime (its --version does not start with "pivot"); the container's
//! side of the --no-pivot and terminal tests is checked for every runtime.

use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

use crate::bundle::{chown_tree, Bundle};
use crate::harness::{pivot_bin, tests, Scratch};
use crate::mountinfo::host_mounts;
use crate::runtime::Out;

tests![
    mounts_in_order_match_the_default_bundle,
    mounts_in_order_match_with_binds_readonly_tmpfs_and_cgroupns,
    mounts_in_order_match_in_a_user_namespace,
    mounts_in_order_match_without_a_dev_mount,
    devices_match_the_nodes_inside,
    masked_paths_match_what_is_masked_inside,
    every_bad_field_is_named,
    runs_as_an_unprivileged_user,
    json_says_what_the_text_says,
    no_mount_namespace_is_a_chroot,
    no_pivot_moves_the_rootfs_onto_the_old_root,
    terminal_binds_the_pty_over_dev_console,
    cgroup_files_hold_what_explain_writes,
    systemd_driver_shows_the_unit_and_its_properties,
];

fn pivot_only() -> bool {
    crate::harness::is_pivot()
}

/// `explain --format json` for the bundle and the id create will get.
fn explain_json(s: &Scratch, bundle: &Bundle, id: &str) -> (Out, Value) {
    let dir = bundle.dir.to_string_lossy().into_owned();
    let out = s.pivot(&["explain", "--bundle", &dir, "--format", "json", "--id", id]);
    let doc = out.json();
    (out, doc)
}

/// The mount points explain says the container's table will hold, in
/// order.
fn planned_mount_points(doc: &Value) -> Vec<String> {
    doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["mounted"] == true)
        .map(|s| s["path"].as_str().unwrap().to_string())
        .collect()
}

fn seen_mount_points(mounts: &Value) -> Vec<String> {
    mounts
        .as_array()
        .expect("probe mounts")
        .iter()
        .map(|m| m["mount_point"].as_str().unwrap().to_string())
        .collect()
}

/// Explain, then run the bundle (whose process is `/probe mounts`) with
/// the same id: the mount table inside is the plan's, in order.
fn assert_plan_matches_inside(s: &Scratch, bundle: &Bundle) -> Value {
    let id = s.id("ex");
    let (out, doc) = explain_json(s, bundle, &id);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(doc["problems"], json!([]), "{out}");
    let mounts = s.run_json(&bundle.dir, &id);
    assert_eq!(
        planned_mount_points(&doc),
        seen_mount_points(&mounts),
        "explain's mounts (left) against the container's mountinfo (right)\n{}",
        out.stdout
    );
    doc
}

fn mounts_in_order_match_the_default_bundle(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    let doc = assert_plan_matches_inside(s, &bundle);
    let steps = doc["steps"].as_array().unwrap();
    // What pivot adds on its own is there, unnamed by any field.
    for (action, path) in [
        ("device", "/dev/null"),
        ("symlink", "/dev/ptmx"),
        ("symlink", "/dev/fd"),
        ("root switch", "/"),
    ] {
        assert!(
            steps
                .iter()
                .any(|s| s["action"] == action && s["path"] == path && s["field"].is_null()),
            "no {action} {path}: {doc}"
        );
    }
}

fn mounts_in_order_match_with_binds_readonly_tmpfs_and_cgroupns(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let (bundle, _result) = s.bundle_with_result(&["/probe", "mounts"]);
    bundle.add_mount(json!({
        "destination": "/ro", "type": "tmpfs", "source": "tmpfs",
        "options": ["ro", "nosuid", "size=64k"],
    }));
    let inner = s.mkdir("inner");
    bundle.add_mount(json!({
        "destination": "/ro/inner", "type": "bind", "source": inner,
        "options": ["bind", "ro", "nodev"],
    }));
    bundle.edit(|c| {
        // The default bundle already has one on a cgroup v2 host.
        let namespaces = c["linux"]["namespaces"].as_array_mut().unwrap();
        if !namespaces.iter().any(|n| n["type"] == "cgroup") {
            namespaces.push(json!({"type": "cgroup"}));
        }
        c["root"]["readonly"] = json!(false);
    });
    let doc = assert_plan_matches_inside(s, &bundle);
    let ro = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "read-only" && s["path"] == "/ro")
        .unwrap_or_else(|| panic!("the read-only tmpfs is not made read-only late: {doc}"));
    assert_eq!(ro["field"], "mounts[8]", "{ro}");
}

fn mounts_in_order_match_in_a_user_namespace(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
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
    let doc = assert_plan_matches_inside(s, &bundle);
    // Device nodes are binds of the host's there, and in the table.
    assert!(
        doc["devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["how"] == "bind"),
        "{doc}"
    );
    let user = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "user")
        .unwrap();
    assert_eq!(user["action"], "new", "{user}");
    assert_eq!(doc["uid_mappings"][0]["hostID"], 100_000, "{doc}");
}

fn mounts_in_order_match_without_a_dev_mount(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/dev");
    });
    assert_plan_matches_inside(s, &bundle);
}

fn devices_match_the_nodes_inside(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "stat"]);
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
             "fileMode": 0o640, "uid": 0, "gid": 0},
            {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5,
             "fileMode": 0o600, "uid": 0, "gid": 0},
        ]);
    });
    let id = s.id("exdev");
    let (out, doc) = explain_json(s, &bundle, &id);
    assert_eq!(out.code, 0, "{out}");
    let devices = doc["devices"].as_array().expect("devices");
    let paths: Vec<&str> = devices
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    // The defaults config.json does not replace, then linux.devices.
    assert_eq!(
        paths,
        [
            "/dev/null",
            "/dev/random",
            "/dev/full",
            "/dev/tty",
            "/dev/urandom",
            "/dev/fuse",
            "/dev/zero"
        ],
        "{out}"
    );
    assert_eq!(devices[6]["field"], "linux.devices[1]", "{out}");
    let mut args = vec!["/probe", "stat"];
    args.extend(&paths);
    bundle.edit(|c| c["process"]["args"] = json!(args));
    let seen = s.run_json(&bundle.dir, &id);
    for (d, st) in devices.iter().zip(seen.as_array().unwrap()) {
        assert_eq!(st["type"], "char", "{d} vs {st}");
        assert_eq!(st["major"], d["major"], "{d} vs {st}");
        assert_eq!(st["minor"], d["minor"], "{d} vs {st}");
        let mode = d["mode"].as_str().unwrap().trim_start_matches("0o");
        assert_eq!(
            st["mode"].as_str().unwrap().trim_start_matches('0'),
            mode,
            "{d} vs {st}"
        );
        assert_eq!(st["uid"], d["uid"], "{d} vs {st}");
    }
}

fn masked_paths_match_what_is_masked_inside(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.edit(|c| {
        let masked = c["linux"]["maskedPaths"].as_array_mut().unwrap();
        // A missing path, a file and a directory of the image, one twice.
        masked.push(json!("/no/such/path"));
        masked.push(json!("/etc/passwd"));
        masked.push(json!("/root"));
        masked.push(json!("/root/"));
    });
    let id = s.id("exmask");
    let (out, doc) = explain_json(s, &bundle, &id);
    assert_eq!(out.code, 0, "{out}");
    let mounts = s.run_json(&bundle.dir, &id);
    let seen = seen_mount_points(&mounts);
    let n = doc["masked_paths"].as_array().unwrap().len();
    let mut masked = 0;
    for i in 0..n {
        let field = format!("linux.maskedPaths[{i}]");
        let step = doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["field"] == field.as_str())
            .unwrap_or_else(|| panic!("no step for {field}: {out}"));
        let path = step["path"].as_str().unwrap().trim_end_matches('/');
        let mounted_there = seen.iter().filter(|p| *p == path).count();
        match step["action"].as_str().unwrap() {
            "mask" => {
                masked += 1;
                assert!(mounted_there > 0, "{field} {path} is not masked inside");
                let kind = &step["mount"]["type"];
                let m = mounts
                    .as_array()
                    .unwrap()
                    .iter()
                    .rev()
                    .find(|m| m["mount_point"] == path)
                    .unwrap();
                let want = if kind == "tmpfs" {
                    "tmpfs"
                } else {
                    "devtmpfs|tmpfs"
                };
                assert!(
                    want.split('|').any(|t| m["fs_type"] == t),
                    "{field}: planned {kind}, inside {m}"
                );
            }
            "skip" if path != "/root" => {
                assert_eq!(mounted_there, 0, "{field} {path} skipped but mounted")
            }
            _ => {}
        }
    }
    assert!(masked >= 3, "masks planned: {masked}\n{}", out.stdout);
}

fn every_bad_field_is_named(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.edit(|c| {
        c["process"]["cwd"] = json!("relative");
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1},
            {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024},
            {"type": "RLIMIT_CORE", "soft": 2, "hard": 1}
        ]);
        c["process"]["scheduler"] = json!({"policy": "SCHED_BOGUS", "nice": 40,
                                           "flags": ["SCHED_FLAG_BOGUS"]});
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BOGUS", "priority": 9});
        c["process"]["execCPUAffinity"] = json!({"initial": "0-x", "final": "3-1"});
        c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BOGUS", "flags": ["MPOL_F_BOGUS"]});
        c["mounts"][2]["destination"] = json!("dev/pts");
        c["linux"]["namespaces"][1]["type"] = json!("bogus");
        c["linux"]["devices"] = json!([{"path": "/dev/x", "type": "q", "major": 1, "minor": 1}]);
        c["linux"]["sysctl"] = json!({"kernel.bogus_global": "1"});
        c["linux"]["rootfsPropagation"] = json!("sideways");
        c["hooks"] = json!({"prestart": [{"path": "relative/hook"}]});
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_BOGUS",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_BOGUS"],
            "flags": ["SECCOMP_FILTER_FLAG_BOGUS"],
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["chmod"], "action": "SCMP_ACT_BOGUS"},
                {"names": ["write"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"},
                          {"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}
            ]
        });
        let r = &mut c["linux"]["resources"];
        r["memory"] = json!({"limit": 1_048_576, "swap": 4096});
        r["cpu"] = json!({"quota": 5, "period": 100_000});
        r["pids"] = json!({"limit": -5});
        r["blockIO"] = json!({"weight": 5});
    });
    let id = s.id("exbad");
    let (out, doc) = explain_json(s, &bundle, &id);
    assert_eq!(out.code, 1, "problems must fail the command:\n{out}");
    let problems: Vec<&str> = doc["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for field in [
        "process.cwd",
        "process.rlimits[0].type",
        "process.rlimits[2]: soft limit",
        "process.scheduler.policy",
        "process.scheduler.nice",
        "process.scheduler.flags[0]",
        "process.ioPriority.class",
        "process.ioPriority.priority",
        "process.execCPUAffinity.initial",
        "process.execCPUAffinity.final",
        "linux.memoryPolicy.mode",
        "linux.memoryPolicy.flags[0]",
        "mounts[2].destination",
        "linux.namespaces[1].type",
        "linux.devices[0].type",
        "linux.sysctl[\"kernel.bogus_global\"]",
        "linux.rootfsPropagation",
        "hooks.prestart[0].path",
        "linux.seccomp.defaultAction",
        "linux.seccomp.architectures[1]",
        "linux.seccomp.flags[0]",
        "linux.seccomp.syscalls[1].action",
        "linux.seccomp.syscalls[2]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
        "linux.seccomp.syscalls[3].args[0].op",
        "linux.seccomp.syscalls[3].args[1].index",
        "linux.seccomp.listenerPath",
        "linux.resources.memory.swap",
        "linux.resources.cpu.quota",
        "linux.resources.pids.limit",
        "linux.resources.blockIO.weight",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(field)),
            "{field} is not named: {problems:#?}"
        );
    }
    // create stops at the first of them, with the same words.
    let dir = bundle.dir.to_string_lossy().into_owned();
    let created = s.pivot(&["create", "--bundle", &dir, &id]);
    assert_ne!(created.code, 0, "{created}");
    assert!(
        created.stderr.contains(problems[0]),
        "create's error is not explain's first problem {:?}:\n{created}",
        problems[0]
    );
    assert!(s.list_ids().is_empty());
    // The text form lists them all too.
    let text = s.pivot(&["explain", "--bundle", &dir, "--id", &id]);
    assert_eq!(text.code, 1, "{text}");
    for p in &problems {
        assert!(text.stdout.contains(p), "text lacks {p:?}:\n{text}");
    }
}

/// explain needs no privileges: as nobody, on a bundle nobody can read,
/// it says what it says as root (but for the rootless cgroup manager).
fn runs_as_an_unprivileged_user(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    for dir in [&s.dir, &bundle.dir] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let id = s.id("exnobody");
    let (root_out, as_root) = explain_json(s, &bundle, &id);
    assert_eq!(root_out.code, 0, "{root_out}");
    let mut cmd = std::process::Command::new(pivot_bin().unwrap());
    cmd.uid(65534)
        .gid(65534)
        .arg("--root")
        .arg(&s.root)
        .args(["explain", "--format", "json", "--bundle"])
        .arg(&bundle.dir)
        .args(["--id", &id]);
    let out = s.run_command(cmd, "(as 65534) pivot explain".into());
    assert_eq!(out.code, 0, "{out}");
    let mut as_nobody = out.json();
    // The one difference: nobody's create would use the rootless cgroup
    // manager, and says so.
    let note = as_nobody["cgroup"]
        .as_object_mut()
        .unwrap()
        .remove("note")
        .unwrap_or_default();
    assert!(note.to_string().contains("rootless"), "{out}");
    assert_eq!(as_nobody, as_root, "as nobody (left) and as root (right)");
}

/// Every step, device, problem and cgroup write of the JSON form is in
/// the text form, in the same order.
fn json_says_what_the_text_says(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let (bundle, _result) = s.bundle_with_result(&["/probe", "mounts"]);
    bundle.edit(|c| {
        c["linux"]["resources"]["pids"] = json!({"limit": 64});
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]);
    });
    let id = s.id("extext");
    let dir = bundle.dir.to_string_lossy().into_owned();
    let (_, doc) = explain_json(s, &bundle, &id);
    let text = s.pivot(&["explain", "--bundle", &dir, "--id", &id]);
    assert_eq!(text.code, 1, "{text}");
    let mut at = 0;
    let mut expect = |what: String| {
        let found = text.stdout[at..]
            .find(&what)
            .unwrap_or_else(|| panic!("{what:?} not in the text after byte {at}:\n{text}"));
        at += found + what.len();
    };
    for n in doc["namespaces"].as_array().unwrap() {
        expect(format!("{} ", n["type"].as_str().unwrap()));
        expect(n["action"].as_str().unwrap().to_string());
    }
    for (i, st) in doc["steps"].as_array().unwrap().iter().enumerate() {
        expect(format!(
            "{}. {:<12} {}",
            i + 1,
            st["action"].as_str().unwrap(),
            st["path"].as_str().unwrap()
        ));
        if let Some(src) = st["mount"]["source"].as_str() {
            expect(format!(
                "{src:?} flags {}",
                st["mount"]["flags"].as_str().unwrap()
            ));
        }
        if let Some(f) = st["field"].as_str() {
            expect(format!("[{f}]"));
        }
    }
    for d in doc["devices"].as_array().unwrap() {
        expect(d["path"].as_str().unwrap().to_string());
    }
    expect(doc["root_switch"].as_str().unwrap().to_string());
    for (k, v) in doc["sysctls"].as_object().unwrap() {
        expect(format!("{k} = {}", v.as_str().unwrap()));
    }
    for w in doc["cgroup"]["writes"].as_array().unwrap() {
        expect(format!(
            "{} <- {:?}",
            w["file"].as_str().unwrap(),
            w["value"].as_str().unwrap()
        ));
    }
    let writes = doc["cgroup"]["writes"].as_array().unwrap();
    assert!(
        writes
            .iter()
            .any(|w| w["value"] == "64" && w["field"] == "linux.resources.pids.limit"),
        "pids.limit is not written: {writes:?}"
    );
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    for p in problems {
        expect(p.as_str().unwrap().to_string());
    }
}

/// Without a mount namespace nothing is mounted: chroot alone.
fn no_mount_namespace_is_a_chroot(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.edit(|c| {
        c["mounts"] = json!([]);
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
        c["root"]["readonly"] = json!(false);
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "mount");
    });
    let (out, doc) = explain_json(s, &bundle, &s.id("exchroot"));
    assert_eq!(out.code, 0, "{out}");
    assert!(planned_mount_points(&doc).is_empty(), "{out}");
    assert!(
        doc["root_switch"].as_str().unwrap().contains("chroot"),
        "{out}"
    );
    // With the mounts back, every entry is a problem.
    bundle.edit(|c| {
        c["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
        c["root"]["readonly"] = json!(true);
    });
    let (out, doc) = explain_json(s, &bundle, &s.id("exchroot"));
    assert_eq!(out.code, 1, "{out}");
    let problems = doc["problems"].to_string();
    assert!(problems.contains("linux.maskedPaths:"), "{out}");
    assert!(problems.contains("root.readonly:"), "{out}");
}

/// With --systemd-cgroup: the unit, its properties (the resources among
/// them) and the files written below the unit's cgroup.
fn systemd_driver_shows_the_unit_and_its_properties(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.edit(|c| c["linux"]["resources"]["pids"] = json!({"limit": 64}));
    let id = s.id("exsd");
    let dir = bundle.dir.to_string_lossy().into_owned();
    let out = s.pivot(&[
        "--systemd-cgroup",
        "explain",
        "--format",
        "json",
        "--bundle",
        &dir,
        "--id",
        &id,
    ]);
    assert_eq!(out.code, 0, "{out}");
    let doc = out.json();
    let cg = &doc["cgroup"];
    assert_eq!(cg["driver"], "systemd", "{out}");
    let unit = format!("pivot-{id}.scope");
    assert_eq!(cg["unit"], unit.as_str(), "{out}");
    let props = cg["properties"].as_array().expect("properties");
    let has = |stage: &str, name: &str, value: &str| {
        props
            .iter()
            .any(|p| p["stage"] == stage && p["name"] == name && p["value"] == value)
    };
    assert!(has("start", "Delegate", "yes"), "{out}");
    assert!(has("set", "TasksMax", "64"), "{out}");
    let pids = cg["writes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["field"] == "linux.resources.pids.limit")
        .unwrap_or_else(|| panic!("no pids write: {out}"));
    let file = pids["file"].as_str().unwrap();
    assert!(
        file.ends_with(&format!("/{unit}/pids.max")),
        "pids.max not in the unit's cgroup: {file}"
    );
    // The cgroupfs driver puts it elsewhere, with no unit.
    let (_, plain) = explain_json(s, &bundle, &id);
    assert_eq!(plain["cgroup"]["driver"], "cgroupfs");
    assert!(plain["cgroup"].get("unit").is_none(), "{plain}");
}

/// Whether the suite runs every create with --no-pivot.
fn suite_without_pivot() -> bool {
    std::env::var_os("PIVOT_TEST_NO_PIVOT").is_some_and(|v| v == "1")
}

/// `path` as the root of a mount of it shows it: relative to the root
/// of the filesystem holding it, as the host's mount table says.
fn root_in_its_filesystem(path: &std::path::Path) -> String {
    let mounts = host_mounts();
    let holder = mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.components().count())
        .expect("a mount holding the path");
    let rest = path.strip_prefix(&holder.mount_point).unwrap();
    std::path::Path::new(&holder.root)
        .join(rest)
        .to_string_lossy()
        .into_owned()
}

/// --no-pivot: explain says MS_MOVE and chroot, and lists the host's
/// procfs and sysfs mounts the switch detaches first (deepest first).
/// Inside, the mount table is the plan's, its root the bundle's rootfs;
/// below the root (statmount, listmount: probe root-chain with
/// CAP_SYS_ADMIN) sits the old root, the host's "/" with its other
/// mounts, but no procfs or sysfs. With pivot_root the root's parent is
/// the mount namespace's root and nothing else is left below. The
/// container's side is checked for every runtime (runc's --no-pivot
/// does the same), explain's for pivot.
fn no_pivot_moves_the_rootfs_onto_the_old_root(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "mounts"]);
    let dir = bundle.dir.to_string_lossy().into_owned();
    let rootfs = std::fs::canonicalize(bundle.rootfs()).unwrap();
    let rel = root_in_its_filesystem(&rootfs);
    let id = s.id("exnp");
    let explained = pivot_only().then(|| {
        let out = s.pivot(&[
            "explain",
            "--no-pivot",
            "--bundle",
            &dir,
            "--format",
            "json",
            "--id",
            &id,
        ]);
        assert_eq!(out.code, 0, "{out}");
        let doc = out.json();
        assert_eq!(doc["problems"], json!([]), "{out}");
        let switch = doc["root_switch"].as_str().unwrap();
        assert!(
            switch.contains("MS_MOVE")
                && switch.contains("chroot")
                && !switch.contains("pivot_root"),
            "{switch}"
        );
        // The host's whole procfs and sysfs mounts outside the rootfs,
        // in mountinfo's order, deepest first.
        let mut host: Vec<String> = host_mounts()
            .into_iter()
            .filter(|m| matches!(m.fs_type.as_str(), "proc" | "sysfs") && m.root == "/")
            .filter(|m| !m.mount_point.starts_with(&rootfs))
            .map(|m| m.mount_point.to_string_lossy().into_owned())
            .collect();
        host.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let detached: Vec<&str> = doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["action"] == "detach")
            .map(|s| s["path"].as_str().unwrap())
            .collect();
        assert!(!host.is_empty(), "the host has no procfs?");
        assert_eq!(detached, host, "detached (left), the host's (right)");
        doc
    });
    let mounts = s
        .pivot(&["run", "--no-pivot", "--bundle", &dir, &id])
        .ok()
        .json();
    if let Some(doc) = &explained {
        assert_eq!(
            planned_mount_points(doc),
            seen_mount_points(&mounts),
            "explain's mounts (left) against the container's mountinfo (right)"
        );
    }
    let root = &mounts[0];
    assert_eq!(root["mount_point"], "/", "{mounts}");
    assert_eq!(
        root["root"],
        rel.as_str(),
        "the root is not the rootfs: {root}"
    );

    bundle.edit(|c| {
        c["process"]["args"] = json!(["/probe", "root-chain"]);
        for set in c["process"]["capabilities"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            set.as_array_mut().unwrap().push(json!("CAP_SYS_ADMIN"));
        }
    });
    let seen = s
        .pivot(&["run", "--no-pivot", "--bundle", &dir, &s.id("exnp")])
        .ok()
        .json();
    let chain = seen["chain"].as_array().expect("chain");
    assert_eq!(chain[0]["root"], rel.as_str(), "{seen}");
    assert_eq!(chain[0]["mount_point"], "/", "{seen}");
    // Right below it the host's root, as this process sees it.
    let host_root = host_mounts()
        .into_iter()
        .rev()
        .find(|m| m.mount_point == std::path::Path::new("/"))
        .unwrap();
    assert!(
        chain.len() >= 2,
        "the rootfs is the namespace's root: {seen}"
    );
    assert_eq!(chain[1]["fs_type"], host_root.fs_type.as_str(), "{seen}");
    assert_eq!(chain[1]["root"], host_root.root.as_str(), "{seen}");
    assert!(
        chain[1]["mount_point"].is_null(),
        "the old root is reachable: {seen}"
    );
    let below = seen["below"].as_array().unwrap();
    assert!(
        !below
            .iter()
            .chain(&chain[1..])
            .any(|m| m["fs_type"] == "proc" || m["fs_type"] == "sysfs"),
        "a procfs or sysfs is left below the root: {seen}"
    );

    if suite_without_pivot() {
        return;
    }
    let seen = s
        .pivot(&["run", "--bundle", &dir, &s.id("exnp")])
        .ok()
        .json();
    let chain = seen["chain"].as_array().expect("chain");
    assert_eq!(
        chain.len(),
        2,
        "pivot_root: the root's parent is not the namespace's root: {seen}"
    );
    assert_eq!(chain[1]["id"], chain[1]["parent"], "{seen}");
    assert_eq!(
        seen["below"],
        json!([]),
        "pivot_root left mounts below: {seen}"
    );
    if pivot_only() {
        let (out, doc) = explain_json(s, &bundle, &s.id("exnp"));
        assert_eq!(out.code, 0, "{out}");
        assert!(
            doc["root_switch"].as_str().unwrap().contains("pivot_root"),
            "{out}"
        );
        assert!(
            !doc["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["action"] == "detach"),
            "{out}"
        );
    }
}

/// process.terminal with --console-socket: explain makes /dev/console an
/// empty file with /dev's nodes and binds the pty's peer over it last.
/// Inside, the mount table is the plan's and ends with /dev/console, a
/// devpts mount of pts/N, whose node is the process's terminal (its
/// stdin) with devpts' major and minor N.
fn terminal_binds_the_pty_over_dev_console(s: &Scratch) {
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "/probe mounts >/result/mounts; t=$(readlink /proc/self/fd/0); \
         /probe stat /dev/console \"$t\" >/result/stat",
    ]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    let id = s.id("exterm");
    let explained = pivot_only().then(|| {
        let (out, doc) = explain_json(s, &bundle, &id);
        assert_eq!(out.code, 0, "{out}");
        let steps = doc["steps"].as_array().unwrap();
        assert!(
            steps.iter().any(|s| s["action"] == "file"
                && s["path"] == "/dev/console"
                && s["field"] == "process.terminal"),
            "no /dev/console file: {out}"
        );
        let last = steps.iter().rfind(|s| s["mounted"] == true).unwrap();
        assert_eq!(last["path"], "/dev/console", "{out}");
        assert_eq!(last["field"], "process.terminal", "{out}");
        assert_eq!(last["mount"]["type"], "bind", "{out}");
        assert!(
            last["mount"]["source"]
                .as_str()
                .unwrap()
                .starts_with("/dev/pts/"),
            "{out}"
        );
        doc
    });
    let master = crate::tty::create_with_console(s, &bundle, &id);
    s.pivot(&["start", &id]).ok();
    let said = crate::tty::read_all(&master, std::time::Duration::from_secs(10));
    s.wait_status(&id, "stopped");
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(result.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; the terminal said:\n{said}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
    };
    let mounts = read("mounts");
    if let Some(doc) = &explained {
        assert_eq!(
            planned_mount_points(doc),
            seen_mount_points(&mounts),
            "explain's mounts (left) against the container's mountinfo (right)"
        );
    }
    // (Last in pivot's table, as explained; runc 1.1.5 binds it before
    // the masks.)
    let console = mounts
        .as_array()
        .unwrap()
        .iter()
        .rfind(|m| m["mount_point"] == "/dev/console")
        .unwrap_or_else(|| panic!("no /dev/console mount: {mounts}"));
    assert_eq!(console["fs_type"], "devpts", "{console}");
    let n: u64 = console["root"]
        .as_str()
        .unwrap()
        .strip_prefix('/')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a pts/N: {console}"));
    let stat = read("stat");
    let (node, tty) = (&stat[0], &stat[1]);
    assert_eq!(
        tty["path"],
        format!("/dev/pts/{n}"),
        "stdin is not pts/{n}: {stat}"
    );
    for st in [node, tty] {
        assert_eq!(st["type"], "char", "{stat}");
        assert_eq!(st["major"], 136, "{stat}");
        assert_eq!(st["minor"], n, "{stat}");
    }
}

/// Whether a cgroup file read back holds the value written to it: the
/// same text, the controllers a `+name` write enabled among those listed
/// (cgroup.subtree_control), or for v1's write-only devices files the
/// rule in devices.list beside it (an allow); None for a deny, which
/// nothing lists, and for v2's device rules, an eBPF program attached to
/// the directory (devices:: tests what it lets through).
fn holds(file: &std::path::Path, written: &str) -> Option<bool> {
    if file.is_dir() {
        assert!(written.starts_with("eBPF device program"), "{written}");
        return None;
    }
    let read = |f: &std::path::Path| {
        std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
    };
    let name = file.file_name().unwrap().to_string_lossy();
    Some(match name.as_ref() {
        "devices.deny" => return None,
        "devices.allow" => read(&file.with_file_name("devices.list"))
            .lines()
            .any(|l| l.trim() == written),
        "cgroup.subtree_control" => {
            let content = read(file);
            written.split_whitespace().all(|w| {
                let c = w.trim_start_matches('+');
                content.split_whitespace().any(|have| have == c)
            })
        }
        _ => read(file).trim() == written.trim(),
    })
}

/// The cgroup explain plans against the one create makes: each of its
/// directories exists, each file it writes holds the value (read on the
/// host), and the container sees the same files where explain's cgroup
/// mount steps put its cgroup (v1: a bind of each hierarchy's directory;
/// v2: the cgroup2 mount of its own cgroup namespace). On cgroup v1 here,
/// on v2 in the VM (scripts/vm/run.sh explain::).
fn cgroup_files_hold_what_explain_writes(s: &Scratch) {
    if !pivot_only() {
        return;
    }
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    bundle.edit(|c| {
        let r = &mut c["linux"]["resources"];
        r["pids"] = json!({"limit": 64});
        r["memory"] = json!({"limit": 67_108_864, "reservation": 33_554_432});
        r["cpu"] = json!({"shares": 512, "quota": 50_000, "period": 100_000});
    });
    let id = s.id("excg");
    let (out, doc) = explain_json(s, &bundle, &id);
    assert_eq!(out.code, 0, "{out}");
    let cg = &doc["cgroup"];
    let paths: Vec<std::path::PathBuf> = cg["paths"]
        .as_array()
        .expect("cgroup paths")
        .iter()
        .map(|p| p.as_str().unwrap().into())
        .collect();
    let writes = cg["writes"].as_array().expect("cgroup writes");
    for field in [
        "pids.limit",
        "memory.limit",
        "memory.reservation",
        "cpu.shares",
        "cpu.quota",
    ] {
        assert!(
            writes
                .iter()
                .any(|w| w["field"] == format!("linux.resources.{field}").as_str()),
            "no write for linux.resources.{field}: {out}"
        );
    }
    s.create_started(&bundle.dir, &id);
    for p in &paths {
        assert!(p.is_dir(), "explain's cgroup {} is not there", p.display());
    }
    let mut compared = 0;
    for w in writes {
        let file = std::path::Path::new(w["file"].as_str().unwrap());
        let value = w["value"].as_str().unwrap();
        if let Some(ok) = holds(file, value) {
            let content = std::fs::read_to_string(file).unwrap_or_default();
            assert!(
                ok,
                "{} holds {content:?}, explain wrote {value:?} ({w})",
                file.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 5, "{compared} files compared: {out}");
    // Inside: where explain mounts each cgroup directory, the same files.
    let steps = doc["steps"].as_array().unwrap();
    let inside_dir = |dir: &std::path::Path| -> Option<String> {
        let dir = dir.to_string_lossy();
        steps.iter().find_map(|st| {
            let m = &st["mount"];
            let here = match m["type"].as_str()? {
                "bind" => m["source"] == dir.as_ref(),
                // A cgroup namespace: the mount's root is the container's
                // cgroup, its only directory on unified v2.
                "cgroup2" => paths.len() == 1,
                _ => false,
            };
            here.then(|| st["path"].as_str().unwrap().to_string())
        })
    };
    let mut script = String::new();
    let mut wanted = Vec::new();
    for w in writes {
        let file = std::path::Path::new(w["file"].as_str().unwrap());
        let Some(dir) = paths.iter().find(|p| file.parent() == Some(p.as_path())) else {
            continue;
        };
        let Some(at) = inside_dir(dir) else {
            continue;
        };
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("devices.") {
            continue;
        }
        let inside = format!("{at}/{name}");
        script.push_str(&format!("echo \"== {inside}\"; cat {inside}; "));
        wanted.push((inside, w["value"].as_str().unwrap().to_string()));
    }
    assert!(
        wanted.len() >= 4,
        "explain mounts too few of its files: {out}"
    );
    let seen = s
        .pivot(&["exec", &id, "/bin/sh", "-c", &script])
        .ok()
        .stdout;
    for (inside, value) in &wanted {
        let at = seen
            .find(&format!("== {inside}\n"))
            .unwrap_or_else(|| panic!("{inside} not read inside:\n{seen}"));
        let rest = &seen[at + inside.len() + 4..];
        let got = rest.split("\n==").next().unwrap_or_default();
        assert_eq!(got.trim(), value.trim(), "{inside} inside:\n{seen}");
    }
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    s.delete(&id);
}
