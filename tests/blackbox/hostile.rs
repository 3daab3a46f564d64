//! Hostile images: a rootfs whose /proc, /sys, /dev, /dev/null, mount
//! destinations, device paths or cwd are symlinks (absolute, relative,
//! climbing out with `../`) or files of the wrong kind, and a shared volume
//! that swaps a mount destination for a symlink while containers start
//! (CVE-2021-30465).
//!
//! Three kinds of outcome are asked for, per case:
//! - refused with a one-line error naming the culprit, nothing left
//!   behind: /proc or /sys not an ordinary directory (however the procfs
//!   destination is spelled); something other than procfs on /proc
//!   (through a symlink or `..`) is refused too, or at least the
//!   container's /proc is still procfs;
//! - refused like that, or contained: /dev a symlink, a fake /dev/null, a
//!   device path that is a symlink, the race;
//! - contained, and working: symlinks (absolute, dangling, climbing) and
//!   `..` in mount destinations and in the cwd resolve inside the root
//!   (SECURITY.md rule 9: real images rely on it).
//!
//! The attacks aim only at canaries in the test's scratch dir (files and
//! directories with a distinctive mode and owner). Whatever the outcome,
//! every test ends by checking that they are unchanged (content, type,
//! mode, owner, inode, mtime, ctime, and for directories every entry under
//! them), that nothing is mounted under the scratch dir on the host (the
//! tests mount nothing there themselves), and that the host mount table is
//! as it was.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::attack::{
    assert_mounts_untouched, canary_dir, canary_file, checked_with, climbing, host_str, in_rootfs,
    remove_any, remove_mount, snapshot, symlink_in_rootfs, Canaries, Swapper, CANARY_GID,
    CANARY_UID,
};
use crate::bundle::Bundle;
use crate::differential::run_command;
use crate::harness::{pivot_bin, tests, Scratch};
use crate::host::mount_points;
use crate::mounts::HostMount;
use crate::runtime::{assert_error_mentions, Out};

tests![
    proc_symlink_relative,
    proc_symlink_absolute,
    proc_symlink_climbing,
    proc_regular_file,
    proc_symlink_unclean_destination,
    sys_symlink_absolute,
    sys_symlink_climbing,
    mount_over_proc_through_symlink,
    mount_over_proc_through_dotdot,
    symlink_destination_absolute,
    symlink_destination_relative,
    dotdot_in_mount_destination,
    dev_symlink_absolute,
    dev_symlink_relative,
    dev_null_regular_file_with_masked_paths,
    dev_null_symlink_to_host_canary,
    file_bind_destination_symlink_to_host_canary,
    device_path_symlink_to_host_canary,
    host_dev_bind_at_unclean_destination,
    rshared_root_with_bundle_through_symlink,
    cwd_symlink_absolute,
    cwd_symlink_relative,
    race_symlink_exchange_on_mount_destination,
];

// ---------------------------------------------------------------------
// Canaries and host checks

/// The checks every hostile test ends with: canaries unchanged, nothing
/// mounted under the scratch dir (the tests mount nothing on the host
/// themselves), the host mount table as it was.
#[track_caller]
fn assert_host_untouched(s: &Scratch, before: &BTreeSet<String>, canaries: &Canaries) {
    canaries.assert_unchanged();
    assert_mounts_untouched(s, before);
}

/// Runs a test's checks of the outcome (`body`), then, whatever they
/// found, the host checks; fails with every message.
#[track_caller]
fn checked(s: &Scratch, before: &BTreeSet<String>, canaries: &Canaries, body: impl FnOnce()) {
    checked_with(body, || assert_host_untouched(s, before, canaries));
}

// ---------------------------------------------------------------------
// Bundles and outcomes

fn create(s: &Scratch, bundle: &Bundle, id: &str) -> Out {
    s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(id),
    ])
}

/// `create` must fail with a one-line error naming one of `any_of`, and
/// leave nothing behind.
#[track_caller]
fn assert_create_refused(s: &Scratch, bundle: &Bundle, any_of: &[&str]) {
    let before = mount_points();
    let id = s.id("hostile");
    let out = create(s, bundle, &id);
    assert_error_mentions(&out, any_of);
    eprintln!("pivot-tests: {id} refused: {}", out.stderr.trim());
    s.assert_nothing_left(&id, &before);
}

/// `run`s a bundle that must work: symlinks in the image used as mount
/// destinations or cwd (absolute, dangling, climbing) and `..` in
/// destinations are resolved inside the root, not refused (SECURITY.md
/// rule 9: real images, e.g. /etc/resolv.conf -> /run/..., rely on it).
/// Returns the JSON documents the container's probes printed.
#[track_caller]
fn must_run(s: &Scratch, bundle: &Bundle) -> Vec<Value> {
    let id = s.id("hostile");
    let out = s.run(&bundle.dir, &id);
    assert_eq!(
        out.code, 0,
        "refused, but this image must work, resolved inside the root (SECURITY.md rule 9):\n{out}"
    );
    answers(&out)
}

/// `run`s the bundle (through the harness: stdin is /dev/null). A
/// refusal must be a one-line error naming one of `any_of` and leave
/// nothing behind: then None. Otherwise the JSON documents the
/// container's probes printed, one per line.
#[track_caller]
fn refused_or_run(s: &Scratch, bundle: &Bundle, any_of: &[&str]) -> Option<Vec<Value>> {
    refused_or_run_with(s, any_of, |id| s.run(&bundle.dir, id)).map(|out| answers(&out))
}

/// `refused_or_run` with stdin a regular file (as a container manager's
/// pipes or files would be), not /dev/null: a runtime that re-opens a
/// /dev/null stdin inside the container goes through the container's
/// /proc, which would turn an accepted fake /proc into an unrelated error.
#[track_caller]
fn refused_or_run_file_stdin(s: &Scratch, bundle: &Bundle, any_of: &[&str]) -> Option<Vec<Value>> {
    refused_or_run_with(s, any_of, |id| {
        let stdin = s.path("stdin");
        std::fs::write(&stdin, "").expect("write stdin file");
        let stdin = std::fs::File::open(&stdin).expect("open stdin file");
        let pivot = pivot_bin().expect("PIVOT_BIN");
        run_command(
            s,
            &pivot,
            &[
                OsStr::new("--root"),
                s.root.as_os_str(),
                OsStr::new("run"),
                OsStr::new("--bundle"),
                bundle.dir.as_os_str(),
                OsStr::new(id),
            ],
            Stdio::from(stdin),
        )
    })
    .map(|out| answers(&out))
}

#[track_caller]
fn refused_or_run_with(s: &Scratch, any_of: &[&str], run: impl FnOnce(&str) -> Out) -> Option<Out> {
    let before = mount_points();
    let id = s.id("hostile");
    let out = run(&id);
    if out.code != 0 {
        let stderr = out.stderr.to_lowercase();
        assert!(
            any_of.iter().any(|k| stderr.contains(&k.to_lowercase())),
            "failed, but not by refusing the hostile part (the error names none of {any_of:?}):\n{out}"
        );
        assert_error_mentions(&out, any_of);
        eprintln!("pivot-tests: {id} refused: {}", out.stderr.trim());
        s.assert_nothing_left(&id, &before);
        return None;
    }
    eprintln!("pivot-tests: {id} ran");
    Some(out)
}

/// The JSON documents a container's probes printed, one per line (at
/// least one).
#[track_caller]
fn answers(out: &Out) -> Vec<Value> {
    let docs: Vec<Value> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out}")))
        .collect();
    assert!(!docs.is_empty(), "the container printed nothing:\n{out}");
    docs
}

/// Mounts in a `probe mounts` answer whose mount point is `path`.
fn mounts_at<'a>(mounts: &'a Value, path: &str) -> Vec<&'a Value> {
    mounts
        .as_array()
        .expect("probe mounts: an array")
        .iter()
        .filter(|m| m["mount_point"] == path)
        .collect()
}

// ---------------------------------------------------------------------
// /proc and /sys replaced in the image

/// The image's `name` (proc or sys) is replaced by `make`; `create` must
/// refuse naming `/name`, and nothing may change on the host.
fn special_dir_replaced(s: &Scratch, name: &str, make: impl FnOnce(&Bundle, &Path)) {
    let canary = canary_dir(s, "canary-dir");
    let bundle = s.bundle(&["/probe", "mounts"]);
    make(&bundle, &canary);
    // In the rootless mode the image is the user's before the snapshot
    // (create would shift what `make` added after it).
    crate::bundle::shift_to_user(&bundle.rootfs());
    // The image's own /tmp (the relative and absolute symlinks' target)
    // must not get a mount or an entry either.
    let rootfs_tmp = bundle.rootfs().join("tmp");
    let canaries = Canaries::new(&[&canary, &rootfs_tmp, &bundle.rootfs().join(name)]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        assert_create_refused(s, &bundle, &[&format!("/{name}")]);
    });
}

fn proc_symlink_relative(s: &Scratch) {
    special_dir_replaced(s, "proc", |b, _| {
        symlink_in_rootfs(b, "proc", "tmp");
    });
}

fn proc_symlink_absolute(s: &Scratch) {
    special_dir_replaced(s, "proc", |b, _| {
        symlink_in_rootfs(b, "proc", "/tmp");
    });
}

/// proc -> ../../../../<scratch>/canary-dir: on the host, the link really
/// names the canary.
fn proc_symlink_climbing(s: &Scratch) {
    special_dir_replaced(s, "proc", |b, canary| {
        let link = b.rootfs().join("proc");
        let link = symlink_in_rootfs(b, "proc", &climbing(&link, canary));
        assert_eq!(
            std::fs::canonicalize(&link).unwrap(),
            canary,
            "the test's symlink should name the host canary"
        );
    });
}

fn proc_regular_file(s: &Scratch) {
    special_dir_replaced(s, "proc", |b, _| {
        let proc = b.rootfs().join("proc");
        remove_any(&proc);
        std::fs::write(&proc, "not a directory\n").expect("write rootfs/proc");
    });
}

/// /proc is a symlink and the procfs mount's destination is written so
/// that it is not literally "/proc" but still names it: the check that
/// /proc is an ordinary directory must hold for the path as resolved
/// (runc cleans the destination before checking it).
fn proc_symlink_unclean_destination(s: &Scratch) {
    special_dir_replaced(s, "proc", |b, _| {
        symlink_in_rootfs(b, "proc", "tmp");
        b.edit(|c| {
            for m in c["mounts"].as_array_mut().expect("mounts") {
                if m["destination"] == "/proc" {
                    m["destination"] = json!("/sys/../proc");
                }
            }
        });
    });
}

fn sys_symlink_absolute(s: &Scratch) {
    special_dir_replaced(s, "sys", |b, canary| {
        symlink_in_rootfs(b, "sys", &host_str(canary));
    });
}

fn sys_symlink_climbing(s: &Scratch) {
    special_dir_replaced(s, "sys", |b, canary| {
        let link = b.rootfs().join("sys");
        symlink_in_rootfs(b, "sys", &climbing(&link, canary));
    });
}

/// Something other than procfs mounted on /proc through another path
/// (`dest`, made by `mount`): must be refused with an error naming the
/// mount, or the container's /proc must still be procfs (the fake's
/// marker file invisible). runc resolves the destination first and
/// refuses ("... cannot be mounted because it is not of type proc").
fn mount_over_proc(s: &Scratch, dest: &str, mount: impl FnOnce(&Bundle, &Path)) {
    let fake = canary_dir(s, "fakeproc");
    std::fs::write(fake.join("fake-proc-marker"), "fake\n").expect("write marker");
    let bundle = s.bundle(&[
        "/probe",
        "stat",
        "/proc/fake-proc-marker",
        "/proc/self/mountinfo",
    ]);
    mount(&bundle, &fake);
    let canaries = Canaries::new(&[&fake]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        if let Some(answers) = refused_or_run_file_stdin(s, &bundle, &[dest]) {
            let stat = &answers[0];
            assert_eq!(
                stat[0]["exists"], false,
                "a non-procfs mount covers the container's /proc: {stat}"
            );
            assert_eq!(stat[1]["type"], "file", "/proc is not procfs: {stat}");
        }
    });
}

/// rootfs/myproc -> /proc and a bind mount on /myproc: resolved inside
/// the root the destination is /proc.
fn mount_over_proc_through_symlink(s: &Scratch) {
    mount_over_proc(s, "/myproc", |b, fake| {
        symlink_in_rootfs(b, "myproc", "/proc");
        b.add_mount(json!({
            "destination": "/myproc",
            "type": "bind",
            "source": fake,
            "options": ["rbind", "ro"],
        }));
    });
}

/// A tmpfs on /sys/../proc.
fn mount_over_proc_through_dotdot(s: &Scratch) {
    mount_over_proc(s, "/sys/../proc", |b, _| {
        b.add_mount(json!({
            "destination": "/sys/../proc",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["size=64k"],
        }));
    });
}

// ---------------------------------------------------------------------
// Mount destinations that leave the root

/// A tmpfs on /evil and a bind on /evil2, two symlinks to host canary
/// dirs (targets made by `target`): both mounts must land on the
/// symlinks' targets resolved inside the rootfs.
fn symlink_destinations(s: &Scratch, target: impl Fn(&Path, &Path) -> String) {
    let canary_a = canary_dir(s, "canary-dir");
    let canary_b = canary_dir(s, "canary-dir");
    let volume = s.mkdir("volume");
    std::fs::write(volume.join("from-volume"), "volume\n").expect("write volume file");
    let bundle = s.bundle(&[
        "/bin/sh",
        "-c",
        "/probe mounts && /probe ls /evil && /probe ls /evil2 && /probe stat /evil /evil2",
    ]);
    for (name, canary) in [("evil", &canary_a), ("evil2", &canary_b)] {
        let link = bundle.rootfs().join(name);
        symlink_in_rootfs(&bundle, name, &target(&link, canary));
    }
    bundle.add_mount(json!({
        "destination": "/evil",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=64k"],
    }));
    bundle.add_mount(json!({
        "destination": "/evil2",
        "type": "bind",
        "source": volume,
        "options": ["rbind", "rw"],
    }));
    let canaries = Canaries::new(&[&canary_a, &canary_b, &volume]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        let answers = must_run(s, &bundle);
        let mounts = &answers[0];
        let tmpfs = mounts_at(mounts, &host_str(&canary_a));
        assert!(
            tmpfs.iter().any(|m| m["fs_type"] == "tmpfs"),
            "no tmpfs at {} inside the container: {mounts}",
            canary_a.display()
        );
        let bind = mounts_at(mounts, &host_str(&canary_b));
        assert!(
            bind.iter().any(|m| m["root"] == host_str(&volume)),
            "the bind is not at {} inside the container: {mounts}",
            canary_b.display()
        );
        assert_eq!(answers[1], json!([]), "/evil is not the new tmpfs");
        assert_eq!(answers[2], json!(["from-volume"]), "/evil2 is not the bind");
        assert_eq!(answers[3][0]["type"], "symlink", "{}", answers[3]);
        assert_eq!(answers[3][1]["type"], "symlink", "{}", answers[3]);
        for canary in [&canary_a, &canary_b] {
            let inside = in_rootfs(&bundle, canary);
            assert!(
                inside.is_dir(),
                "mountpoint {} not made inside the rootfs",
                inside.display()
            );
        }
    });
}

fn symlink_destination_absolute(s: &Scratch) {
    symlink_destinations(s, |_, canary| host_str(canary));
}

fn symlink_destination_relative(s: &Scratch) {
    symlink_destinations(s, climbing);
}

/// Destinations /../../../<scratch>/canary-dir for a tmpfs and a bind:
/// `..` never climbs above the root.
fn dotdot_in_mount_destination(s: &Scratch) {
    let canary_a = canary_dir(s, "canary-dir");
    let canary_b = canary_dir(s, "canary-dir");
    let volume = s.mkdir("volume");
    std::fs::write(volume.join("from-volume"), "volume\n").expect("write volume file");
    let bundle = s.bundle(&["/probe", "mounts"]);
    let dotdot = |p: &Path| format!("/../../..{}", p.display());
    bundle.add_mount(json!({
        "destination": dotdot(&canary_a),
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=64k"],
    }));
    bundle.add_mount(json!({
        "destination": dotdot(&canary_b),
        "type": "bind",
        "source": volume,
        "options": ["rbind", "rw"],
    }));
    let canaries = Canaries::new(&[&canary_a, &canary_b, &volume]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        let answers = must_run(s, &bundle);
        let mounts = &answers[0];
        assert!(
            mounts_at(mounts, &host_str(&canary_a))
                .iter()
                .any(|m| m["fs_type"] == "tmpfs"),
            "no tmpfs at {} inside the container: {mounts}",
            canary_a.display()
        );
        assert!(
            mounts_at(mounts, &host_str(&canary_b))
                .iter()
                .any(|m| m["root"] == host_str(&volume)),
            "the bind is not at {} inside the container: {mounts}",
            canary_b.display()
        );
    });
}

// ---------------------------------------------------------------------
// /dev in the image

/// The image's /dev is a symlink to a host dir and /dev is not a tmpfs,
/// so device nodes and /dev symlinks are made through it (crun
/// CVE-2026-47766): nothing may appear in the host dir.
fn dev_symlink(s: &Scratch, target: impl FnOnce(&Path, &Path) -> String) {
    let hostdev = canary_dir(s, "hostdev");
    let bundle = s.bundle(&[
        "/bin/sh",
        "-c",
        "/probe stat /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/fd",
    ]);
    let link = bundle.rootfs().join("dev");
    symlink_in_rootfs(&bundle, "dev", &target(&link, &hostdev));
    remove_mount(&bundle, "/dev");
    let canaries = Canaries::new(&[&hostdev]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        // The error must name /dev, with or without the slash.
        if let Some(answers) = refused_or_run(s, &bundle, &["dev"]) {
            let stat = &answers[0];
            for (i, (major, minor)) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)]
                .into_iter()
                .enumerate()
            {
                assert_eq!(stat[i]["type"], "char", "{}", stat[i]);
                assert_eq!(stat[i]["major"], major, "{}", stat[i]);
                assert_eq!(stat[i]["minor"], minor, "{}", stat[i]);
            }
            let null = in_rootfs(&bundle, &hostdev).join("null");
            let meta = std::fs::symlink_metadata(&null)
                .unwrap_or_else(|e| panic!("device nodes not inside the rootfs ({e})"));
            assert!(meta.file_type().is_char_device(), "{}", null.display());
        }
    });
}

/// A directory standing in for the host's /dev (a bind of the real one
/// would be the machine's own nodes): a null, a zero and a ptmx node
/// with the canaries' owner and odd modes, and the canary file. The
/// directory is readable by all, as /dev is (the container's root has no
/// CAP_DAC_OVERRIDE).
fn standin_dev(s: &Scratch) -> PathBuf {
    let dir = canary_dir(s, "hostdev");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for (name, major, minor, mode) in [
        ("null", 1, 3, 0o606),
        ("zero", 1, 5, 0o604),
        ("ptmx", 5, 2, 0o620),
    ] {
        let path = dir.join(name);
        crate::sys::mknod(&path, libc::S_IFCHR | mode, major, minor)
            .unwrap_or_else(|e| panic!("mknod {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        std::os::unix::fs::lchown(&path, Some(CANARY_UID), Some(CANARY_GID)).expect("chown node");
    }
    dir
}

/// The host's /dev (a stand-in) bound at /dev spelled `/dev/.`, `//dev`
/// or `/x/../dev`, with linux.devices asking for one more node. It is
/// /dev, so it is not set up, as runc does with a bind on /dev: no node
/// is re-owned or chmod'ed, /dev/ptmx stays the node it was (not a
/// symlink), and nothing is added, inside or on the host.
fn host_dev_bind_at_unclean_destination(s: &Scratch) {
    let hostdev = standin_dev(s);
    let mut names: Vec<String> = std::fs::read_dir(&hostdev)
        .expect("read stand-in")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let canaries = Canaries::new(&[&hostdev]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        for dest in ["/dev/.", "//dev", "/x/../dev"] {
            let bundle = s.bundle(&["/probe", "ls", "/dev"]);
            bundle.edit(|c| {
                let mounts = c["mounts"].as_array_mut().expect("mounts");
                mounts.retain(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"));
                mounts.push(json!({
                    "destination": dest, "type": "bind", "source": hostdev,
                    "options": ["rbind", "rw"],
                }));
                c["linux"]["devices"] = json!([
                    {"path": "/dev/extra", "type": "c", "major": 1, "minor": 7,
                     "fileMode": 0o666, "uid": 0, "gid": 0},
                ]);
            });
            let out = s.run(&bundle.dir, &s.id("hostdev"));
            let after = snapshot(&hostdev);
            assert_eq!(
                after, canaries.0[0].1,
                "{dest}: the host's /dev (stand-in) changed:\nbefore: {:#?}\nnow: {after:#?}\n{out}",
                canaries.0[0].1
            );
            assert_eq!(out.code, 0, "{dest}: failed:\n{out}");
            let mut inside: Vec<String> = answers(&out)[0]
                .as_array()
                .unwrap_or_else(|| panic!("{dest}: probe ls: {out}"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            inside.sort();
            assert_eq!(inside, names, "{dest}: /dev inside the container");
        }
    });
}

fn dev_symlink_absolute(s: &Scratch) {
    dev_symlink(s, |_, hostdev| host_str(hostdev));
}

fn dev_symlink_relative(s: &Scratch) {
    dev_symlink(s, climbing);
}

/// /dev is not a tmpfs, maskedPaths is set and the image's /dev/null is
/// not the null device (made by `make`). Refused, or every masked path is
/// the real null device (char 1:3, reads empty) (CVE-2025-31133).
fn fake_dev_null(s: &Scratch, make: impl FnOnce(&Bundle, &Path)) {
    let canary = canary_file(s, "canary");
    // Results go to a bind-mounted dir, not stdio: a runtime fooled by the
    // fake /dev/null may also redirect the container's stdio into it
    // (runc 1.1.5 re-opens onto the container's "/dev/null" every stdio fd
    // whose st_rdev equals that of "/dev/null": 0 for a regular file there
    // and for the harness's stdout file alike).
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "/probe stat /etc/secret > /result/stat && /probe cat /etc/secret > /result/cat",
    ]);
    remove_mount(&bundle, "/dev");
    std::fs::write(bundle.rootfs().join("etc/secret"), "secret\n").expect("write secret");
    bundle.edit(|c| {
        // A writable root: a runtime that keeps a fake /dev/null open for
        // writing would otherwise fail the read-only remount (EBUSY)
        // before masking, which is what this test looks at.
        c["root"]["readonly"] = json!(false);
        c["linux"]["maskedPaths"]
            .as_array_mut()
            .expect("maskedPaths")
            .push(json!("/etc/secret"));
    });
    make(&bundle, &canary);
    let canaries = Canaries::new(&[&canary]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        let ran = refused_or_run_with(s, &["/dev/null"], |id| s.run(&bundle.dir, id));
        if let Some(out) = ran {
            let read = |name: &str| -> Value {
                let text = std::fs::read_to_string(result.join(name))
                    .unwrap_or_else(|e| panic!("result/{name}: {e}\n{out}"));
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("result/{name}: {e}: {text}"))
            };
            let stat = &read("stat")[0];
            assert_eq!(stat["type"], "char", "masked path: {stat}");
            assert_eq!(stat["major"], 1, "masked path: {stat}");
            assert_eq!(stat["minor"], 3, "masked path: {stat}");
            let cat = read("cat");
            assert_eq!(cat["content"], "", "masked path: {cat}");
        }
    });
}

fn dev_null_regular_file_with_masked_paths(s: &Scratch) {
    fake_dev_null(s, |b, _| {
        std::fs::write(b.rootfs().join("dev/null"), "not the null device\n")
            .expect("write rootfs/dev/null");
    });
}

fn dev_null_symlink_to_host_canary(s: &Scratch) {
    fake_dev_null(s, |b, canary| {
        symlink_in_rootfs(b, "dev/null", &host_str(canary));
    });
}

// ---------------------------------------------------------------------
// Files the runtime creates, truncates or chowns through a symlink

/// Binds of a bundle file onto /etc/hostname and /etc/hosts, which the
/// image made symlinks to host canaries (absolute, climbing): the canaries
/// keep their content, mode and owner; the binds land inside the rootfs.
fn file_bind_destination_symlink_to_host_canary(s: &Scratch) {
    let canary_a = canary_file(s, "canary");
    let canary_b = canary_file(s, "canary");
    let source = s.path("bindsrc");
    std::fs::write(&source, "from the bundle\n").expect("write bind source");
    let bundle = s.bundle(&[
        "/bin/sh",
        "-c",
        "/probe cat /etc/hostname && /probe cat /etc/hosts && /probe stat /etc/hostname /etc/hosts",
    ]);
    symlink_in_rootfs(&bundle, "etc/hostname", &host_str(&canary_a));
    let link = bundle.rootfs().join("etc/hosts");
    symlink_in_rootfs(&bundle, "etc/hosts", &climbing(&link, &canary_b));
    for dest in ["/etc/hostname", "/etc/hosts"] {
        bundle.add_mount(json!({
            "destination": dest,
            "type": "bind",
            "source": source,
            "options": ["bind", "ro"],
        }));
    }
    let canaries = Canaries::new(&[&canary_a, &canary_b, &source]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        let answers = must_run(s, &bundle);
        assert_eq!(answers[0]["content"], "from the bundle\n", "{}", answers[0]);
        assert_eq!(answers[1]["content"], "from the bundle\n", "{}", answers[1]);
        assert_eq!(answers[2][0]["type"], "symlink", "{}", answers[2]);
        assert_eq!(answers[2][1]["type"], "symlink", "{}", answers[2]);
        for canary in [&canary_a, &canary_b] {
            let inside = in_rootfs(&bundle, canary);
            assert!(
                inside.is_file(),
                "bind mountpoint {} not made inside the rootfs",
                inside.display()
            );
        }
    });
}

/// linux.devices /dev/foo and /dev/bar where the image (with no tmpfs on
/// /dev) has them as symlinks to host canaries: refused, or the nodes are
/// made inside the root, and the canaries keep content, mode and owner.
fn device_path_symlink_to_host_canary(s: &Scratch) {
    let canary_a = canary_file(s, "canary");
    let canary_b = canary_file(s, "canary");
    let script = format!(
        "/probe stat /dev/foo /dev/bar {} {}",
        canary_a.display(),
        canary_b.display()
    );
    let bundle = s.bundle(&["/bin/sh", "-c", &script]);
    remove_mount(&bundle, "/dev");
    symlink_in_rootfs(&bundle, "dev/foo", &host_str(&canary_a));
    let link = bundle.rootfs().join("dev/bar");
    symlink_in_rootfs(&bundle, "dev/bar", &climbing(&link, &canary_b));
    bundle.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/foo", "type": "c", "major": 1, "minor": 5,
             "fileMode": 0o600, "uid": 1234, "gid": 1234},
            {"path": "/dev/bar", "type": "c", "major": 1, "minor": 7,
             "fileMode": 0o600, "uid": 1234, "gid": 1234},
        ]);
    });
    let canaries = Canaries::new(&[&canary_a, &canary_b]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        if let Some(answers) = refused_or_run(s, &bundle, &["/dev/foo", "/dev/bar"]) {
            let stat = &answers[0];
            for (i, minor) in [(0, 5), (1, 7)] {
                // Either the node replaced the link, or it was made at the
                // link's target inside the root.
                let node = if stat[i]["type"] == "symlink" {
                    &stat[i + 2]
                } else {
                    &stat[i]
                };
                let what = "linux.devices node neither refused nor made inside the root";
                assert_eq!(node["type"], "char", "{what}: {stat}");
                assert_eq!(node["major"], 1, "{what}: {stat}");
                assert_eq!(node["minor"], minor, "{what}: {stat}");
                assert_eq!(node["uid"], 1234, "{what}: {stat}");
            }
        }
    });
}

/// process.cwd /work/sub where the image's /work is a symlink to a host
/// canary dir: the missing directory is made inside the root.
fn cwd_symlink(s: &Scratch, target: impl FnOnce(&Path, &Path) -> String) {
    let canary = canary_dir(s, "canary-dir");
    let bundle = s.bundle(&["/probe", "cwd"]);
    let link = bundle.rootfs().join("work");
    symlink_in_rootfs(&bundle, "work", &target(&link, &canary));
    bundle.edit(|c| c["process"]["cwd"] = json!("/work/sub"));
    let canaries = Canaries::new(&[&canary]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        let answers = must_run(s, &bundle);
        let cwd = answers[0]["cwd"].as_str().unwrap_or_default();
        assert_eq!(
            cwd,
            format!("{}/sub", canary.display()),
            "cwd not the link's target inside the root"
        );
        let inside = in_rootfs(&bundle, &canary).join("sub");
        assert!(
            inside.is_dir(),
            "{} not made inside the rootfs",
            inside.display()
        );
    });
}

fn cwd_symlink_absolute(s: &Scratch) {
    cwd_symlink(s, |_, canary| host_str(canary));
}

fn cwd_symlink_relative(s: &Scratch) {
    cwd_symlink(s, climbing);
}

// ---------------------------------------------------------------------
// The symlink-exchange race (CVE-2021-30465)

/// How many containers are started while the swapper races.
const RACE_CONTAINERS: usize = 20;
/// No new container is started after this long.
const RACE_BUDGET: Duration = Duration::from_secs(10);

/// A host dir shared with the container as /vol (a bind in config.json)
/// holds `dir` (a directory) and `link` (a symlink to a host canary dir);
/// a thread keeps exchanging the two with renameat2(RENAME_EXCHANGE)
/// while containers whose config mounts a tmpfs on /vol/dir are started
/// one after the other. Each must fail cleanly or get its tmpfs inside
/// the root (on the directory, wherever the swap left it, or on the
/// symlink's target resolved inside the root); the host canary never gets
/// a mount or an entry.
fn race_symlink_exchange_on_mount_destination(s: &Scratch) {
    let canary = canary_dir(s, "canary-dir");
    let shared = s.mkdir("shared");
    std::fs::create_dir(shared.join("dir")).expect("mkdir shared/dir");
    std::os::unix::fs::symlink(&canary, shared.join("link")).expect("symlink shared/link");
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.bind(&shared, "/vol");
    bundle.add_mount(json!({
        "destination": "/vol/dir",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=64k"],
    }));
    let canaries = Canaries::new(&[&canary]);
    let before = mount_points();
    checked(s, &before, &canaries, || {
        let canary_path = host_str(&canary);
        // Where the tmpfs may be seen from inside: on the directory, under
        // either name, or on the link's target resolved inside the root.
        let inside_targets = [
            "/vol/dir".to_string(),
            "/vol/link".to_string(),
            canary_path.clone(),
        ];

        // Bounded on its own too, in case the test body panics early.
        let swapper = Swapper::start(
            &shared.join("dir"),
            &shared.join("link"),
            RACE_BUDGET + Duration::from_secs(60),
        );

        let started = Instant::now();
        let (mut contained, mut refused) = (0, 0);
        for _ in 0..RACE_CONTAINERS {
            if started.elapsed() > RACE_BUDGET {
                break;
            }
            let id = s.id("race");
            let before_one = mount_points();
            let out = s.run(&bundle.dir, &id);
            if out.code == 0 {
                let mounts = out.json();
                let tmpfs: Vec<&Value> = mounts
                    .as_array()
                    .expect("mounts array")
                    .iter()
                    .filter(|m| {
                        m["fs_type"] == "tmpfs"
                            && m["super_options"]
                                .as_str()
                                .is_some_and(|o| o.contains("size=64k"))
                    })
                    .collect();
                assert!(
                    !tmpfs.is_empty()
                        && tmpfs.iter().all(|m| inside_targets
                            .iter()
                            .any(|t| m["mount_point"] == t.as_str())),
                    "the /vol/dir tmpfs is not inside the root (escaped?): {tmpfs:?}\nall mounts: {mounts}"
                );
                contained += 1;
            } else {
                let lines = out.stderr_lines();
                assert!(!lines.is_empty(), "failed without an error:\n{out}");
                eprintln!("pivot-tests: race: {id} refused: {}", out.stderr.trim());
                s.assert_nothing_left(&id, &before_one);
                refused += 1;
            }
            canaries.assert_unchanged();
            assert!(
                !mount_points().contains(&canary_path),
                "a mount on the host canary {canary_path}"
            );
        }
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {contained} contained, {refused} refused, {swaps} swaps");
    });
}

// ---------------------------------------------------------------------
// Root propagation

/// linux.rootfsPropagation rshared, with the bundle given through a
/// symlink and sitting on a shared host mount. The mount holding the
/// rootfs must be found from the rootfs itself: matched as a string
/// against mountinfo, the link's path names another mount, the real one
/// stays shared, and the rootfs bind and every mount made on it
/// propagate to the host (and pivot_root, refusing a shared parent,
/// fails with them left there). `create` works, and the host's mount
/// table is as it was while the container exists, after `delete`, and
/// after a `create` that fails late.
fn rshared_root_with_bundle_through_symlink(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sleep", "100"]);
    bundle.edit(|c| c["linux"]["rootfsPropagation"] = json!("rshared"));
    let volume = HostMount::bind_self(s, &bundle.dir);
    volume.make_shared();
    let link = s.path("bundle-link");
    std::os::unix::fs::symlink(&bundle.dir, &link).expect("symlink to the bundle");
    let before = mount_points();
    let id = s.id("rshared");
    let out = create_through(s, &link, &id);
    let while_created = s.mount_changes(&before);
    if out.code == 0 {
        s.delete(&id);
    }
    let after_delete = s.mount_changes(&before);
    let none = (Vec::new(), Vec::new());
    assert!(
        while_created == none && after_delete == none,
        "the host's mount table changed (added, removed):\nwhile created: {while_created:?}\nafter delete: {after_delete:?}\n{out}"
    );
    assert_eq!(out.code, 0, "create failed:\n{out}");
    // A create that fails once its mounts are made (the last bind's
    // source is missing) leaves nothing on the host either.
    bundle.add_mount(json!({
        "destination": "/late", "type": "bind",
        "source": s.path("missing"), "options": ["rbind"],
    }));
    let id = s.id("rshared");
    let out = create_through(s, &link, &id);
    assert_ne!(
        out.code, 0,
        "create with a missing bind source worked:\n{out}"
    );
    s.assert_nothing_left(&id, &before);
    drop(volume);
}

fn create_through(s: &Scratch, bundle: &Path, id: &str) -> Out {
    s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.as_os_str(),
        OsStr::new(id),
    ])
}
