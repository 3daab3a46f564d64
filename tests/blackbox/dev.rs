//! /dev in the container: the default device nodes, linux.devices, the
//! ptmx and stdio symlinks, its submounts, devices as binds of the host's
//! nodes in a user namespace, nodes the image already has, a /dev bound
//! from the host (left alone), and stdio that was the host's /dev/null.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::bundle::{chown_tree, Bundle};
use crate::harness::{tests, Scratch};
use crate::host::mount_points;
use crate::runtime::assert_error_mentions;

tests![
    default_devices_are_char_nodes,
    config_devices_are_created,
    config_device_replaces_a_default,
    ptmx_and_standard_symlinks,
    dev_submounts,
    userns_devices_are_binds_of_host_nodes,
    existing_matching_node_is_reused,
    existing_node_of_wrong_type_fails,
    existing_node_with_wrong_numbers_fails,
    bind_mounted_dev_is_left_alone,
    read_only_dev_still_gets_its_devices,
    device_path_through_symlink_stays_in_rootfs,
    stdin_dev_null_is_the_containers,
    device_special_mode_bits_are_stripped,
];

/// The nodes every container gets: (path, major, minor).
const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// A bundle whose process runs `/probe CMD` for each of `cmds` in turn.
fn probes(s: &Scratch, cmds: &[&str]) -> Bundle {
    let script: Vec<String> = cmds.iter().map(|c| format!("/probe {c}")).collect();
    let script = format!("{}; true", script.join("; "));
    s.bundle(&["/bin/sh", "-c", &script])
}

/// Runs the bundle in the foreground and parses one JSON value per line.
#[track_caller]
fn run_lines(s: &Scratch, bundle: &Bundle) -> Vec<Value> {
    let out = s.run(&bundle.dir, &s.id("dev")).ok();
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect()
}

fn default_paths() -> String {
    DEFAULT_DEVICES
        .iter()
        .map(|(p, _, _)| *p)
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn assert_node(st: &Value, kind: &str, major: u64, minor: u64, mode: &str, uid: u64, gid: u64) {
    assert_eq!(st["exists"], true, "{st}");
    assert_eq!(st["type"], kind, "{st}");
    if kind != "fifo" {
        assert_eq!(
            (st["major"].as_u64(), st["minor"].as_u64()),
            (Some(major), Some(minor)),
            "{st}"
        );
    }
    assert_eq!(st["mode"], mode, "{st}");
    assert_eq!(
        (st["uid"].as_u64(), st["gid"].as_u64()),
        (Some(uid), Some(gid)),
        "{st}"
    );
}

fn mknod(path: &Path, kind: libc::mode_t, major: u32, minor: u32) {
    crate::sys::mknod(path, kind | 0o644, major, minor)
        .unwrap_or_else(|e| panic!("mknod {}: {e}", path.display()));
}

fn find_mount<'a>(mounts: &'a Value, mount_point: &str) -> Option<&'a Value> {
    mounts
        .as_array()
        .expect("mounts array")
        .iter()
        .rev()
        .find(|m| m["mount_point"] == mount_point)
}

fn default_devices_are_char_nodes(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh", "-c", &format!("/probe stat {}", default_paths())]);
    let stats = s.run_json(&bundle.dir, &s.id("dev"));
    for (i, (path, major, minor)) in DEFAULT_DEVICES.iter().enumerate() {
        let st = &stats[i];
        assert_eq!(st["path"], *path);
        assert_node(st, "char", *major, *minor, "0666", 0, 0);
    }
}

fn config_devices_are_created(s: &Scratch) {
    let bundle = probes(
        s,
        &["stat /dev/pivot-chr /dev/pivot-fifo /dev/pivot-blk /dev/deep/er/node"],
    );
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/pivot-chr", "type": "c", "major": 42, "minor": 7,
             "fileMode": 0o600, "uid": 1, "gid": 2},
            {"path": "/dev/pivot-fifo", "type": "p", "fileMode": 0o640, "uid": 3, "gid": 4},
            // Creating a node needs no such device on the host.
            {"path": "/dev/pivot-blk", "type": "b", "major": 7, "minor": 0,
             "fileMode": 0o660, "uid": 0, "gid": 6},
            {"path": "/dev/deep/er/node", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o644, "uid": 0, "gid": 0},
        ]);
    });
    let stats = &run_lines(s, &bundle)[0];
    assert_node(&stats[0], "char", 42, 7, "0600", 1, 2);
    assert_node(&stats[1], "fifo", 0, 0, "0640", 3, 4);
    assert_node(&stats[2], "block", 7, 0, "0660", 0, 6);
    assert_node(&stats[3], "char", 1, 3, "0644", 0, 0);
}

fn config_device_replaces_a_default(s: &Scratch) {
    let bundle = probes(s, &["stat /dev/null"]);
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o606, "uid": 5, "gid": 6},
        ]);
        // runc then drops its default cgroup rule for 1:3; allow it again.
        c["linux"]["resources"]["devices"]
            .as_array_mut()
            .expect("linux.resources.devices")
            .push(json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}));
    });
    let stats = &run_lines(s, &bundle)[0];
    assert_node(&stats[0], "char", 1, 3, "0606", 5, 6);
}

fn ptmx_and_standard_symlinks(s: &Scratch) {
    let bundle = probes(
        s,
        &["stat /dev/ptmx /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/core"],
    );
    let st = &run_lines(s, &bundle)[0];
    let expected = [
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    for (i, (path, target)) in expected.iter().enumerate() {
        assert_eq!(st[i]["path"], *path, "{st}");
        assert_eq!(st[i]["type"], "symlink", "{}", st[i]);
        assert_eq!(st[i]["link"], *target, "{}", st[i]);
    }
    // /dev/core -> /proc/kcore only when the host has /proc/kcore.
    let core = &st[5];
    if Path::new("/proc/kcore").exists() {
        assert_eq!(core["type"], "symlink", "{core}");
        assert_eq!(core["link"], "/proc/kcore", "{core}");
    } else {
        assert_eq!(core["exists"], false, "{core}");
    }
}

fn dev_submounts(s: &Scratch) {
    let bundle = probes(s, &["mounts"]);
    let mounts = &run_lines(s, &bundle)[0];
    for (mp, fs) in [
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
    ] {
        let m = find_mount(mounts, mp).unwrap_or_else(|| panic!("no {mp}: {mounts:#}"));
        assert_eq!(m["fs_type"], fs, "{m}");
    }
}

fn userns_devices_are_binds_of_host_nodes(s: &Scratch) {
    // mknod is refused in a user namespace: each device is the host's node
    // bind-mounted onto a file.
    let bundle = probes(s, &["mounts", &format!("stat {}", default_paths())]);
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
    let answers = run_lines(s, &bundle);
    let mounts = &answers[0];
    for (i, (path, major, minor)) in DEFAULT_DEVICES.iter().enumerate() {
        assert!(
            find_mount(mounts, path).is_some(),
            "{path} is not a bind mount: {mounts:#}"
        );
        let st = &answers[1][i];
        assert_eq!(st["type"], "char", "{st}");
        assert_eq!(
            (st["major"].as_u64(), st["minor"].as_u64()),
            (Some(*major), Some(*minor)),
            "{st}"
        );
    }
}

/// `run` with /opt/node in the image and in linux.devices as char 1:3.
fn run_over_image_node(s: &Scratch, make: impl FnOnce(&Path)) -> (String, crate::runtime::Out) {
    let bundle = s.bundle(&["/probe", "stat", "/opt/node"]);
    std::fs::create_dir(bundle.rootfs().join("opt")).unwrap();
    make(&bundle.rootfs().join("opt/node"));
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/opt/node", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o666, "uid": 0, "gid": 0},
        ]);
    });
    let id = s.id("node");
    let out = s.pivot(&[
        OsStr::new("run"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(&id),
    ]);
    (id, out)
}

fn existing_matching_node_is_reused(s: &Scratch) {
    // A node the runtime did not make keeps its owner and mode, whatever
    // linux.devices says (runc's mknod meets EEXIST and leaves it): it
    // may be the host's own, in a /dev that came from the host.
    let (_, out) = run_over_image_node(s, |p| {
        mknod(p, libc::S_IFCHR, 1, 3);
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o604)).unwrap();
        std::os::unix::fs::lchown(p, Some(1000), Some(1001)).unwrap();
    });
    let out = out.ok();
    assert_node(&out.json()[0], "char", 1, 3, "0604", 1000, 1001);
}

/// An image node that is not the device asked for is an error naming the
/// path, and the failed container leaves nothing behind. (runc 1.1.5
/// ignores EEXIST and keeps whatever the image had.)
#[track_caller]
fn assert_wrong_node_fails(s: &Scratch, make: impl FnOnce(&Path)) {
    let before = mount_points();
    let (id, out) = run_over_image_node(s, make);
    assert_error_mentions(&out, &["/opt/node"]);
    s.assert_nothing_left(&id, &before);
}

fn existing_node_of_wrong_type_fails(s: &Scratch) {
    assert_wrong_node_fails(s, |p| {
        std::fs::write(p, "not a device").unwrap();
    });
}

fn existing_node_with_wrong_numbers_fails(s: &Scratch) {
    assert_wrong_node_fails(s, |p| mknod(p, libc::S_IFCHR, 1, 5));
}

/// A bundle with /dev bound from a host directory that holds only a null
/// node (runc needs /dev/null to exist: it stats it for the stdio's
/// permissions), and none of the spec's /dev submounts.
fn bundle_with_host_dev(s: &Scratch, cmds: &[&str]) -> (Bundle, PathBuf) {
    let bundle = probes(s, cmds);
    let host_dev = s.mkdir("hostdev");
    mknod(&host_dev.join("null"), libc::S_IFCHR, 1, 3);
    bundle.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"));
        mounts.push(json!({
            "destination": "/dev", "type": "bind", "source": host_dev, "options": ["rbind", "rw"],
        }));
    });
    (bundle, host_dev)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn bind_mounted_dev_is_left_alone(s: &Scratch) {
    // runc does not set /dev up when /dev is a bind mount: no nodes, no
    // ptmx or stdio symlinks are added to the host's directory. The spec's
    // maskedPaths still work (with the /dev/null that is there).
    let (bundle, host_dev) = bundle_with_host_dev(s, &["ls /dev", "stat /proc/keys"]);
    let answers = run_lines(s, &bundle);
    assert_eq!(answers[0], json!(["null"]), "/dev inside");
    assert_eq!(
        answers[1][0]["type"], "char",
        "/proc/keys masked: {}",
        answers[1]
    );
    assert_eq!(entries(&host_dev), ["null"], "host dir");
}

fn device_path_through_symlink_stays_in_rootfs(s: &Scratch) {
    // /devlink in the image climbs out with "..": the node is made where
    // the link leads inside the rootfs, never in the host's directory.
    let canary = s.dir.join("dev-canary");
    let bundle = probes(s, &["stat /devlink/node"]);
    std::os::unix::fs::symlink(
        format!("/../../../../../..{}", canary.display()),
        bundle.rootfs().join("devlink"),
    )
    .unwrap();
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/devlink/node", "type": "c", "major": 1, "minor": 5,
             "fileMode": 0o600, "uid": 0, "gid": 0},
        ]);
    });
    let st = &run_lines(s, &bundle)[0][0];
    assert_node(st, "char", 1, 5, "0600", 0, 0);
    assert!(!canary.exists(), "{} made on the host", canary.display());
    let inside = bundle
        .rootfs()
        .join(s.dir.strip_prefix("/").unwrap())
        .join("dev-canary/node");
    assert!(inside.exists(), "{} not made", inside.display());
}

fn read_only_dev_still_gets_its_devices(s: &Scratch) {
    // runc mounts the /dev tmpfs read-write, populates it, and only then
    // makes it read-only.
    let bundle = probes(
        s,
        &[
            "mounts",
            &format!("stat {}", default_paths()),
            "writable /dev",
        ],
    );
    bundle.edit(|c| {
        let dev = c["mounts"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|m| m["destination"] == "/dev")
            .expect("a /dev mount");
        dev["options"].as_array_mut().unwrap().push(json!("ro"));
    });
    let answers = run_lines(s, &bundle);
    let dev = find_mount(&answers[0], "/dev").expect("/dev mount");
    let ro = dev["mount_options"]
        .as_str()
        .unwrap()
        .split(',')
        .any(|o| o == "ro");
    assert!(ro, "/dev is not read-only: {dev}");
    for (i, (_, major, minor)) in DEFAULT_DEVICES.iter().enumerate() {
        assert_node(&answers[1][i], "char", *major, *minor, "0666", 0, 0);
    }
    assert_eq!(answers[2][0]["errno"], "EROFS", "{}", answers[2]);
}

fn stdin_dev_null_is_the_containers(s: &Scratch) {
    // A detached container inherits the runtime's stdio; the harness gives
    // it the host's /dev/null as stdin, which is re-opened on the
    // container's own /dev/null, so the link resolves inside the
    // container's root. (In the foreground, runc gives the container pipes.)
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", "/probe fds > /result/fds"]);
    let id = s.id("stdin");
    s.create_started(&bundle.dir, &id);
    s.wait_status(&id, "stopped");
    s.delete(&id);
    let text = std::fs::read_to_string(result.join("fds")).expect("read fds");
    let fds: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    let stdin = fds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fd"] == 0)
        .unwrap_or_else(|| panic!("no fd 0: {fds}"));
    assert_eq!(stdin["target"], "/dev/null", "{fds}");
}

/// setuid, setgid and sticky in a device's fileMode: the node gets the
/// permission bits only, and the caller is told (a warning naming the
/// field), since no device needs them.
fn device_special_mode_bits_are_stripped(s: &Scratch) {
    let bundle = probes(s, &["stat /dev/pivot-suid /dev/pivot-sticky"]);
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/pivot-suid", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o6666, "uid": 0, "gid": 0},
            {"path": "/dev/pivot-sticky", "type": "c", "major": 1, "minor": 5,
             "fileMode": 0o1640, "uid": 0, "gid": 0},
        ]);
    });
    let out = s.run(&bundle.dir, &s.id("devsuid")).ok();
    let stats: Value = serde_json::from_str(out.stdout.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_node(&stats[0], "char", 1, 3, "0666", 0, 0);
    assert_node(&stats[1], "char", 1, 5, "0640", 0, 0);
    for field in ["linux.devices[0].fileMode", "linux.devices[1].fileMode"] {
        assert!(
            out.stderr.contains(field),
            "no warning names {field}:\n{out}"
        );
    }
}
