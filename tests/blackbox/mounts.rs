//! The container's mount table: every mount type, every option of runc's
//! table, propagation (of mounts and of the root), recursive attributes,
//! idmapped binds, tmpcopyup, destinations created inside the root,
//! read-only root, masked and read-only paths, --no-pivot, and the same
//! checks with openat2 unavailable (the fallback resolver).
//!
//! Mounts a test makes on the host are always inside its scratch dir and
//! held by a `HostMount` guard that detaches them even when the test fails.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{pivot_bin, tests, Scratch};
use crate::runtime::Out;
use rustix::mount::{MountFlags, MountPropagationFlags};

tests![
    proc_is_procfs,
    sysfs_is_read_only_sysfs,
    mqueue_is_mounted,
    tmpfs_size_mode_owner_inodes,
    devpts_is_a_new_instance_with_options,
    cgroup_mount_has_one_mount_per_hierarchy,
    bind_directory,
    bind_file,
    bind_source_relative_to_bundle,
    bind_source_in_rootfs_sees_earlier_mounts,
    userns_bind_source_in_rootfs_sees_earlier_mounts,
    bind_option_makes_a_bind_whatever_the_type,
    rbind_shows_submounts_bind_does_not,
    overlay_lower_visible_write_lands_in_upper,
    tmpfs_flag_options,
    bind_flag_options,
    read_only_bind_with_nosuid_nodev_noexec,
    read_only_tmpfs_with_a_mount_below,
    bind_rw_clears_read_only_of_source,
    bind_ro_clears_unrequested_source_flags,
    bind_clearing_options_clear_source_flags,
    one_clearing_option_replaces_source_flags,
    bind_remount_keeps_source_atime,
    userns_bind_remount_keeps_only_locked_source_flags,
    bind_propagation_of_private_source,
    bind_propagation_of_shared_source,
    recursive_propagation_reaches_submounts,
    rootfs_propagation_private,
    rootfs_propagation_default_rslave,
    rootfs_propagation_slave,
    rootfs_propagation_slave_under_shared_root,
    rootfs_propagation_shared,
    rootfs_propagation_rshared,
    rootfs_propagation_unbindable,
    recursive_attributes_reach_submounts,
    rbind_ro_is_not_recursive,
    idmap_bind_shows_mapped_owner,
    ridmap_reaches_submounts,
    mappings_without_idmap_option_imply_idmap,
    userns_idmap_bind_shows_mapped_owner,
    userns_idmap_without_mappings_takes_the_containers,
    idmap_without_mappings_takes_a_joined_user_namespace,
    features_report_idmap_enabled,
    tmpcopyup_copies_the_image_dir,
    tmpcopyup_read_only,
    tmpfs_on_existing_dir_keeps_its_mode,
    missing_file_destination_is_created,
    missing_directory_destination_is_created,
    destination_through_absolute_symlink_stays_in_rootfs,
    destination_through_dotdot_symlink_stays_in_rootfs,
    parallel_creates_with_dotdot_destinations,
    read_only_root_and_writable_tmpfs,
    masked_paths,
    masked_directories_share_one_tmpfs,
    readonly_paths,
    no_proc_mount_starts,
    no_pivot_mount_table_is_the_same,
    nested_proc_mount_is_refused,
    bind_of_a_whole_procfs_on_proc,
    no_pivot_nested_proc_mount_is_refused,
    noopenat2_filter_is_effective,
    noopenat2_default_mount_table_is_the_same,
    noopenat2_dotdot_symlink_stays_in_rootfs,
    env_no_openat2_dotdot_symlink_stays_in_rootfs,
];

// ---------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------

/// A bundle whose process runs `/probe CMD` for each of `cmds` in turn
/// (one JSON line each, whatever each exits with).
fn probes(s: &Scratch, cmds: &[&str]) -> Bundle {
    let script: Vec<String> = cmds.iter().map(|c| format!("/probe {c}")).collect();
    let script = format!("{}; true", script.join("; "));
    s.bundle(&["/bin/sh", "-c", &script])
}

/// Runs the bundle in the foreground and parses one JSON value per line.
#[track_caller]
fn run_lines(s: &Scratch, bundle: &Bundle) -> Vec<Value> {
    lines_of(&s.run(&bundle.dir, &s.id("mnt")).ok())
}

#[track_caller]
fn lines_of(out: &Out) -> Vec<Value> {
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect()
}

/// Runs `probe mounts` in the bundle (its args are replaced).
#[track_caller]
fn mounts_of(s: &Scratch, bundle: &Bundle) -> Value {
    bundle.edit(|c| c["process"]["args"] = json!(["/probe", "mounts"]));
    s.run_json(&bundle.dir, &s.id("mnt"))
}

/// The topmost mount at `mount_point` (the last one listed there).
fn find_mount<'a>(mounts: &'a Value, mount_point: &str) -> Option<&'a Value> {
    mounts
        .as_array()
        .expect("mounts array")
        .iter()
        .rev()
        .find(|m| m["mount_point"] == mount_point)
}

#[track_caller]
fn mount_at<'a>(mounts: &'a Value, mount_point: &str) -> &'a Value {
    find_mount(mounts, mount_point)
        .unwrap_or_else(|| panic!("no mount at {mount_point}: {mounts:#}"))
}

/// The comma-separated options of `field` ("mount_options" or
/// "super_options").
fn options(m: &Value, field: &str) -> Vec<String> {
    m[field]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect()
}

fn has(m: &Value, field: &str, opt: &str) -> bool {
    options(m, field).iter().any(|o| o == opt)
}

#[track_caller]
fn assert_opt(m: &Value, field: &str, opt: &str) {
    assert!(has(m, field, opt), "{field} lack {opt:?}: {m}");
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Writes a new file on the host (scratch or rootfs), never following a
/// symlink or truncating.
fn write_new(path: &Path, content: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(content.as_bytes()).expect("write");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn lchown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("lchown {}: {e}", path.display()));
}

/// A tmpfs the test mounts on the host, only ever inside its own scratch
/// dir; detached (with everything under it) when dropped, so it goes away
/// even when the test panics.
pub(crate) struct HostMount {
    path: PathBuf,
}

impl HostMount {
    #[track_caller]
    pub(crate) fn tmpfs(s: &Scratch, path: &Path) -> HostMount {
        assert!(
            path.starts_with(&s.dir) && path != s.dir,
            "host mounts only inside the scratch dir: {}",
            path.display()
        );
        if !path.exists() {
            std::fs::create_dir(path).expect("mkdir host mount point");
        }
        rustix::mount::mount(
            "tmpfs",
            path,
            "tmpfs",
            MountFlags::empty(),
            c"size=4m,mode=755",
        )
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", path.display()));
        HostMount {
            path: path.to_path_buf(),
        }
    }

    /// `path` (a directory of the scratch dir) bound onto itself, so that
    /// it is a mount point of its own.
    #[track_caller]
    pub(crate) fn bind_self(s: &Scratch, path: &Path) -> HostMount {
        assert!(
            path.starts_with(&s.dir) && path != s.dir,
            "host mounts only inside the scratch dir: {}",
            path.display()
        );
        rustix::mount::mount_bind(path, path)
            .unwrap_or_else(|e| panic!("bind {} onto itself: {e}", path.display()));
        HostMount {
            path: path.to_path_buf(),
        }
    }

    /// Sets this mount's per-mount flags (MS_RDONLY, MS_NOSUID, ...).
    #[track_caller]
    pub(crate) fn remount(&self, flags: libc::c_ulong) {
        let flags = MountFlags::BIND | MountFlags::from_bits_retain(flags as u32);
        rustix::mount::mount_remount(&self.path, flags, "")
            .unwrap_or_else(|e| panic!("mount flags {:#x}: {e}", flags.bits()));
    }

    /// Makes this mount shared (its own new peer group on the host).
    #[track_caller]
    pub(crate) fn make_shared(&self) {
        rustix::mount::mount_change(&self.path, MountPropagationFlags::SHARED)
            .unwrap_or_else(|e| panic!("mount --make-shared: {e}"));
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        // MNT_DETACH also takes whatever was mounted below it.
        let _ = crate::sys::umount_detach(&self.path);
    }
}

/// The host's mounts: mount point and optional fields.
fn host_mounts() -> Vec<(String, Vec<String>)> {
    crate::mountinfo::host_mounts()
        .into_iter()
        .map(|m| {
            (
                m.mount_point.to_string_lossy().into_owned(),
                m.optional_fields,
            )
        })
        .collect()
}

/// The optional fields of the host mount `path` is on.
fn host_mount_fields_of(path: &Path) -> Vec<String> {
    let path = path_str(path);
    host_mounts()
        .into_iter()
        .filter(|(mp, _)| {
            mp == "/" || path == mp || path.starts_with(&format!("{}/", mp.trim_end_matches('/')))
        })
        .max_by_key(|(mp, _)| mp.len())
        .map(|(_, fields)| fields)
        .unwrap_or_default()
}

/// The peer group of a shared host mount at exactly `path`.
fn host_peer_group(path: &Path) -> String {
    let (_, fields) = host_mounts()
        .into_iter()
        .rev()
        .find(|(mp, _)| mp == path_str(path))
        .unwrap_or_else(|| panic!("{} is not a mount point", path.display()));
    fields
        .iter()
        .find_map(|f| f.strip_prefix("shared:"))
        .unwrap_or_else(|| panic!("{} is not shared: {fields:?}", path.display()))
        .to_string()
}

/// What a mount point shows after the container's root was made rslave
/// (runc's default): a copy of a host mount that is shared (or a slave)
/// becomes a slave of it; a copy of a private one has no master to follow,
/// and MS_SLAVE leaves a mount without a master private.
fn after_rslave(host_fields: &[String]) -> &'static str {
    if host_fields
        .iter()
        .any(|f| f.starts_with("shared:") || f.starts_with("master:"))
    {
        "slave"
    } else {
        "private"
    }
}

/// Failures collected over a table, reported together.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    #[track_caller]
    fn assert_none(self, context: &Value) {
        assert!(
            self.0.is_empty(),
            "{} failures:\n  {}\nmounts: {context:#}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------
// Mount types
// ---------------------------------------------------------------------

fn proc_is_procfs(s: &Scratch) {
    let mounts = mounts_of(s, &s.bundle(&[]));
    let proc = mount_at(&mounts, "/proc");
    assert_eq!(proc["fs_type"], "proc", "{proc}");
    assert_eq!(proc["source"], "proc", "{proc}");
}

fn sysfs_is_read_only_sysfs(s: &Scratch) {
    let mounts = mounts_of(s, &s.bundle(&[]));
    let sys = mount_at(&mounts, "/sys");
    assert_eq!(sys["fs_type"], "sysfs", "{sys}");
    // runc spec: ["nosuid", "noexec", "nodev", "ro"]
    for opt in ["ro", "nosuid", "nodev", "noexec"] {
        assert_opt(sys, "mount_options", opt);
    }
}

fn mqueue_is_mounted(s: &Scratch) {
    let mounts = mounts_of(s, &s.bundle(&[]));
    let mq = mount_at(&mounts, "/dev/mqueue");
    assert_eq!(mq["fs_type"], "mqueue", "{mq}");
    for opt in ["nosuid", "nodev", "noexec"] {
        assert_opt(mq, "mount_options", opt);
    }
}

fn tmpfs_size_mode_owner_inodes(s: &Scratch) {
    // A destination the image lacks: runc chmods a tmpfs on an existing
    // directory to that directory's mode, which would hide mode=.
    let bundle = probes(s, &["mounts", "stat /scratchpad"]);
    bundle.add_mount(json!({
        "destination": "/scratchpad",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=1m", "mode=0710", "uid=1234", "gid=5678", "nr_inodes=1000"],
    }));
    let answers = run_lines(s, &bundle);
    let tmpfs = mount_at(&answers[0], "/scratchpad");
    assert_eq!(tmpfs["fs_type"], "tmpfs", "{tmpfs}");
    for opt in [
        "size=1024k",
        "nr_inodes=1000",
        "mode=710",
        "uid=1234",
        "gid=5678",
    ] {
        assert_opt(tmpfs, "super_options", opt);
    }
    let st = &answers[1][0];
    assert_eq!(st["type"], "dir", "{st}");
    assert_eq!(st["mode"], "0710", "{st}");
    assert_eq!(st["uid"], 1234, "{st}");
    assert_eq!(st["gid"], 5678, "{st}");
}

fn devpts_is_a_new_instance_with_options(s: &Scratch) {
    // runc spec: newinstance, ptmxmode=0666, mode=0620, gid=5.
    let mounts = mounts_of(s, &s.bundle(&[]));
    let pts = mount_at(&mounts, "/dev/pts");
    assert_eq!(pts["fs_type"], "devpts", "{pts}");
    for opt in ["gid=5", "mode=620", "ptmxmode=666"] {
        assert_opt(pts, "super_options", opt);
    }
    for opt in ["nosuid", "noexec"] {
        assert_opt(pts, "mount_options", opt);
    }
    // newinstance: not the host's devpts superblock.
    let host_devpts: BTreeSet<String> = crate::mountinfo::host_mounts()
        .into_iter()
        .filter(|m| m.fs_type == "devpts")
        .map(|m| m.major_minor)
        .collect();
    let inside = pts["major_minor"].as_str().unwrap();
    assert!(
        !host_devpts.contains(inside),
        "devpts {inside} is a host instance ({host_devpts:?})"
    );
}

fn cgroup_mount_has_one_mount_per_hierarchy(s: &Scratch) {
    let mounts = mounts_of(s, &s.bundle(&[]));
    // The host's v1 hierarchies under /sys/fs/cgroup (cgroup2 "unified"
    // beside them is not given to a v1 container, as in runc).
    let v1: Vec<String> = crate::mountinfo::host_cgroup_mounts()
        .into_iter()
        .filter(|m| m.fs_type == "cgroup")
        .filter_map(|m| {
            let rel = m.mount_point.strip_prefix("/sys/fs/cgroup/").ok()?;
            Some(rel.to_string_lossy().into_owned())
        })
        .collect();
    let top = mount_at(&mounts, "/sys/fs/cgroup");
    if v1.is_empty() {
        assert_eq!(top["fs_type"], "cgroup2", "unified host: {top}");
        return;
    }
    assert_eq!(top["fs_type"], "tmpfs", "{top}");
    let mut failures = Failures::default();
    for name in &v1 {
        let mp = format!("/sys/fs/cgroup/{name}");
        match find_mount(&mounts, &mp) {
            None => failures.0.push(format!("no mount at {mp}")),
            Some(m) => {
                failures.check(m["fs_type"] == "cgroup", || format!("{mp}: {m}"));
                // Its controllers in the super options ("memory", or
                // "name=systemd").
                let sopts = options(m, "super_options");
                failures.check(
                    name.split(',')
                        .all(|c| sopts.iter().any(|o| o == c || o == &format!("name={c}"))),
                    || format!("{mp}: controllers missing: {m}"),
                );
                // runc spec: ro.
                failures.check(has(m, "mount_options", "ro"), || {
                    format!("{mp}: not ro: {m}")
                });
            }
        }
    }
    failures.assert_none(&mounts);
}

fn bind_directory(s: &Scratch) {
    let host = s.mkdir("hostdir");
    write_new(&host.join("hello"), "from host");
    let bundle = probes(s, &["mounts", "cat /hostdir/hello"]);
    bundle.add_mount(json!({
        "destination": "/hostdir",
        "type": "bind",
        "source": host,
        "options": ["bind"],
    }));
    let answers = run_lines(s, &bundle);
    let m = mount_at(&answers[0], "/hostdir");
    let root = m["root"].as_str().unwrap();
    assert!(
        root.ends_with(host.file_name().unwrap().to_str().unwrap()),
        "bind root {root:?} is not {}",
        host.display()
    );
    assert_eq!(answers[1]["content"], "from host", "{}", answers[1]);
}

fn bind_file(s: &Scratch) {
    let file = s.path("hostfile");
    write_new(&file, "file content");
    let bundle = probes(s, &["mounts", "stat /etc/bound", "cat /etc/bound"]);
    bundle.add_mount(json!({
        "destination": "/etc/bound",
        "type": "bind",
        "source": file,
        "options": ["bind", "ro"],
    }));
    let answers = run_lines(s, &bundle);
    mount_at(&answers[0], "/etc/bound");
    assert_eq!(answers[1][0]["type"], "file", "{}", answers[1]);
    assert_eq!(answers[2]["content"], "file content", "{}", answers[2]);
}

fn bind_source_relative_to_bundle(s: &Scratch) {
    let bundle = probes(s, &["cat /rel/which"]);
    std::fs::create_dir(bundle.dir.join("reldata")).unwrap();
    write_new(&bundle.dir.join("reldata/which"), "bundle");
    // The runtime runs from another directory that has its own "reldata":
    // a relative source is relative to the bundle, not to the caller.
    let cwd = s.mkdir("cwd");
    std::fs::create_dir(cwd.join("reldata")).unwrap();
    write_new(&cwd.join("reldata/which"), "caller cwd");
    bundle.add_mount(json!({
        "destination": "/rel",
        "type": "bind",
        "source": "reldata",
        "options": ["rbind"],
    }));
    let id = s.id("rel");
    let out = s
        .pivot_in(
            &cwd,
            &[
                OsStr::new("run"),
                OsStr::new("--bundle"),
                bundle.dir.as_os_str(),
                OsStr::new(&id),
            ],
        )
        .ok();
    assert_eq!(out.json()["content"], "bundle", "{out}");
}

/// Mounts are made in order through one tree: a bind whose source is a
/// directory of the rootfs, after an earlier entry mounted a tmpfs there,
/// binds that tmpfs (runc mounts through the same rootfs path; its
/// integration tests bind `/rootfs/...` sources this way).
fn assert_bind_source_sees_earlier_mounts(s: &Scratch, bundle: &Bundle) {
    let rootfs = bundle.rootfs();
    std::fs::create_dir_all(rootfs.join("a")).expect("mkdir a");
    bundle.add_mount(json!({
        "destination": "/a", "type": "tmpfs", "source": "tmpfs",
        "options": ["size=1m", "mode=755"],
    }));
    bundle.add_mount(json!({
        "destination": "/b", "type": "bind", "source": rootfs.join("a"),
        "options": ["bind"],
    }));
    let mounts = run_lines(s, bundle);
    let mounts = &mounts[0];
    let a = mount_at(mounts, "/a");
    let b = mount_at(mounts, "/b");
    assert_eq!(b["fs_type"], "tmpfs", "/b is not the tmpfs on /a: {b}");
    assert_eq!(a["major_minor"], b["major_minor"], "{a}\n{b}");
}

fn bind_source_in_rootfs_sees_earlier_mounts(s: &Scratch) {
    let bundle = probes(s, &["mounts"]);
    assert_bind_source_sees_earlier_mounts(s, &bundle);
}

/// Gives the bundle a user namespace, root mapped to host uid 100000.
fn with_userns(bundle: &Bundle) {
    crate::bundle::chown_tree(&bundle.rootfs(), 100_000, 100_000);
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        let map = json!([{"containerID": 0, "hostID": 100_000, "size": 65_536}]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
}

fn userns_bind_source_in_rootfs_sees_earlier_mounts(s: &Scratch) {
    let bundle = probes(s, &["mounts"]);
    with_userns(&bundle);
    assert_bind_source_sees_earlier_mounts(s, &bundle);
}

fn bind_option_makes_a_bind_whatever_the_type(s: &Scratch) {
    // runc: with "bind"/"rbind" among the options the type is ignored
    // (containerd writes "none", some tools "bind" or no type at all).
    let host = s.mkdir("anytype");
    write_new(&host.join("marker"), "bound");
    let kinds = ["none", "bind", "", "tmpfs"];
    let cmds: Vec<String> = (0..kinds.len())
        .map(|i| format!("cat /any{i}/marker"))
        .collect();
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    let bundle = probes(s, &cmds);
    for (i, kind) in kinds.iter().enumerate() {
        let mut m = json!({
            "destination": format!("/any{i}"), "source": host, "options": ["rbind", "ro"],
        });
        if !kind.is_empty() {
            m["type"] = json!(kind);
        }
        bundle.add_mount(m);
    }
    let answers = run_lines(s, &bundle);
    for (i, kind) in kinds.iter().enumerate() {
        assert_eq!(
            answers[i]["content"], "bound",
            "type {kind:?}: {}",
            answers[i]
        );
    }
}

fn rbind_shows_submounts_bind_does_not(s: &Scratch) {
    let host = s.mkdir("tree");
    let sub = host.join("sub");
    let _guard = HostMount::tmpfs(s, &sub);
    write_new(&sub.join("inner"), "in the submount");
    let bundle = probes(s, &["mounts", "cat /rb/sub/inner", "ls /plain/sub"]);
    bundle.add_mount(json!({
        "destination": "/rb", "type": "bind", "source": host, "options": ["rbind"],
    }));
    bundle.add_mount(json!({
        "destination": "/plain", "type": "bind", "source": host, "options": ["bind"],
    }));
    let answers = run_lines(s, &bundle);
    let submount = mount_at(&answers[0], "/rb/sub");
    assert_eq!(submount["fs_type"], "tmpfs", "{submount}");
    assert_eq!(answers[1]["content"], "in the submount", "{}", answers[1]);
    assert!(
        find_mount(&answers[0], "/plain/sub").is_none(),
        "a plain bind carried the submount: {:#}",
        answers[0]
    );
    assert_eq!(answers[2], json!([]), "/plain/sub is the bare directory");
}

fn overlay_lower_visible_write_lands_in_upper(s: &Scratch) {
    let lower = s.mkdir("lower");
    let lower2 = s.mkdir("lowertwo");
    let upper = s.mkdir("upper");
    let work = s.mkdir("work");
    write_new(&lower.join("from-lower"), "lower data");
    write_new(&lower2.join("from-lower2"), "second lower");
    let bundle = probes(
        s,
        &[
            "mounts",
            "cat /ov/from-lower",
            "write /ov/new-file upper-data",
            "cat /ov/from-lower2",
        ],
    );
    bundle.add_mount(json!({
        "destination": "/ov",
        "type": "overlay",
        "source": "overlay",
        "options": [
            format!("lowerdir={}:{}", lower.display(), lower2.display()),
            format!("upperdir={}", upper.display()),
            format!("workdir={}", work.display()),
        ],
    }));
    let answers = run_lines(s, &bundle);
    let ov = mount_at(&answers[0], "/ov");
    assert_eq!(ov["fs_type"], "overlay", "{ov}");
    assert_eq!(answers[1]["content"], "lower data", "{}", answers[1]);
    assert_eq!(answers[2]["ok"], true, "{}", answers[2]);
    assert_eq!(answers[3]["content"], "second lower", "{}", answers[3]);
    let written = std::fs::read_to_string(upper.join("new-file"))
        .unwrap_or_else(|e| panic!("upperdir/new-file on the host: {e}"));
    assert_eq!(written, "upper-data");
    assert!(
        !lower.join("new-file").exists(),
        "the write reached lowerdir"
    );
}

// ---------------------------------------------------------------------
// Options of runc's table
// ---------------------------------------------------------------------

/// What an option should show in mountinfo.
enum Shows {
    /// In the per-mount options.
    Mount(&'static str),
    /// In the superblock options.
    Super(&'static str),
    /// strictatime: neither relatime nor noatime.
    StrictAtime,
}

fn check_shows(failures: &mut Failures, m: &Value, opt: &str, shows: &Shows) {
    match shows {
        Shows::Mount(o) => failures.check(has(m, "mount_options", o), || {
            format!("{opt}: mount_options lack {o}: {m}")
        }),
        Shows::Super(o) => failures.check(has(m, "super_options", o), || {
            format!("{opt}: super_options lack {o}: {m}")
        }),
        Shows::StrictAtime => failures.check(
            !has(m, "mount_options", "relatime") && !has(m, "mount_options", "noatime"),
            || format!("{opt}: still relatime/noatime: {m}"),
        ),
    }
}

fn tmpfs_flag_options(s: &Scratch) {
    let table: &[(&str, Shows)] = &[
        ("ro", Shows::Mount("ro")),
        ("rw", Shows::Mount("rw")),
        ("nosuid", Shows::Mount("nosuid")),
        ("nodev", Shows::Mount("nodev")),
        ("noexec", Shows::Mount("noexec")),
        ("sync", Shows::Super("sync")),
        ("dirsync", Shows::Super("dirsync")),
        ("lazytime", Shows::Super("lazytime")),
        ("noatime", Shows::Mount("noatime")),
        ("nodiratime", Shows::Mount("nodiratime")),
        ("relatime", Shows::Mount("relatime")),
        ("strictatime", Shows::StrictAtime),
        ("nosymfollow", Shows::Mount("nosymfollow")),
        // mount(2) applies MS_STRICTATIME last: it wins over noatime.
        ("noatime+strictatime", Shows::StrictAtime),
    ];
    let bundle = s.bundle(&[]);
    for (opt, _) in table {
        bundle.add_mount(json!({
            "destination": format!("/flags/{opt}"),
            "type": "tmpfs",
            "source": "tmpfs",
            "options": opt.split('+').collect::<Vec<_>>(),
        }));
    }
    let mounts = mounts_of(s, &bundle);
    let mut failures = Failures::default();
    for (opt, shows) in table {
        match find_mount(&mounts, &format!("/flags/{opt}")) {
            None => failures.0.push(format!("{opt}: no mount")),
            Some(m) => check_shows(&mut failures, m, opt, shows),
        }
    }
    failures.assert_none(&mounts);
}

fn bind_flag_options(s: &Scratch) {
    let table: &[(&str, Shows)] = &[
        ("ro", Shows::Mount("ro")),
        ("rw", Shows::Mount("rw")),
        ("nosuid", Shows::Mount("nosuid")),
        ("nodev", Shows::Mount("nodev")),
        ("noexec", Shows::Mount("noexec")),
        ("noatime", Shows::Mount("noatime")),
        ("nodiratime", Shows::Mount("nodiratime")),
        ("relatime", Shows::Mount("relatime")),
        ("strictatime", Shows::StrictAtime),
        ("nosymfollow", Shows::Mount("nosymfollow")),
    ];
    let host = s.mkdir("bindsrc");
    let bundle = s.bundle(&[]);
    for (opt, _) in table {
        bundle.add_mount(json!({
            "destination": format!("/bflags/{opt}"),
            "type": "bind",
            "source": host,
            "options": ["bind", opt],
        }));
    }
    let mounts = mounts_of(s, &bundle);
    let mut failures = Failures::default();
    for (opt, shows) in table {
        match find_mount(&mounts, &format!("/bflags/{opt}")) {
            None => failures.0.push(format!("{opt}: no mount")),
            Some(m) => check_shows(&mut failures, m, opt, shows),
        }
    }
    failures.assert_none(&mounts);
}

fn bind_rw_clears_read_only_of_source(s: &Scratch) {
    // A host mount that is read-only per mount (its tmpfs is writable):
    // "rw" on the bind clears it, a bind without it keeps it.
    let host = s.path("rosrc");
    let guard = HostMount::tmpfs(s, &host);
    guard.remount(libc::MS_RDONLY);
    let bundle = probes(s, &["mounts", "writable /rw-bind /plain-bind"]);
    bundle.add_mount(json!({
        "destination": "/rw-bind", "type": "bind", "source": host, "options": ["bind", "rw"],
    }));
    bundle.add_mount(json!({
        "destination": "/plain-bind", "type": "bind", "source": host, "options": ["bind"],
    }));
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/rw-bind"), "mount_options", "rw");
    assert_opt(mount_at(&answers[0], "/plain-bind"), "mount_options", "ro");
    let w = &answers[1];
    assert_eq!(w[0]["writable"], true, "{w}");
    assert_eq!(w[1]["errno"], "EROFS", "{w}");
}

/// A host tmpfs (in the scratch dir) with nosuid,nodev,noexec per mount.
fn nosuid_nodev_noexec_source(s: &Scratch) -> HostMount {
    let guard = HostMount::tmpfs(s, &s.path("nosuidsrc"));
    guard.remount(libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC);
    guard
}

/// Binds `source` plain at /b-plain and with `options` at /b-opts; checks
/// the plain bind kept the source's nosuid,nodev,noexec and the other lost
/// them all.
fn assert_bind_flags_replaced(s: &Scratch, options: &[&str]) {
    let source = nosuid_nodev_noexec_source(s);
    let bundle = s.bundle(&[]);
    for (dest, options) in [("/b-plain", vec!["bind"]), ("/b-opts", options.to_vec())] {
        bundle.add_mount(json!({
            "destination": dest, "type": "bind", "source": source.path, "options": options,
        }));
    }
    let mounts = mounts_of(s, &bundle);
    let mut failures = Failures::default();
    let flags = ["nosuid", "nodev", "noexec"];
    let plain = mount_at(&mounts, "/b-plain");
    for f in flags {
        failures.check(has(plain, "mount_options", f), || {
            format!("bind: {f} of the source lost: {plain}")
        });
    }
    let m = mount_at(&mounts, "/b-opts");
    for f in flags {
        failures.check(!has(m, "mount_options", f), || {
            format!("{options:?}: {f} of the source kept: {m}")
        });
    }
    if options.contains(&"ro") {
        failures.check(has(m, "mount_options", "ro"), || {
            format!("{options:?}: {m}")
        });
    }
    failures.assert_none(&json!([plain, m]));
}

/// A bind with mount flag options gets exactly the flags asked for: what
/// the source has and the options do not name is cleared, as runc's
/// MS_REMOUNT|MS_BIND does (runc 1.1.5 and later alike). A bind without
/// flag options keeps the source's.
fn bind_ro_clears_unrequested_source_flags(s: &Scratch) {
    assert_bind_flags_replaced(s, &["bind", "ro"]);
}

/// suid, dev, exec explicitly clear the source's nosuid, nodev, noexec
/// (runc >= 1.2, opencontainers/runc#3967; runc 1.1.5 ignores them).
fn bind_clearing_options_clear_source_flags(s: &Scratch) {
    assert_bind_flags_replaced(s, &["bind", "suid", "dev", "exec"]);
}

/// One clearing option is enough for the remount, and the remount
/// replaces the source's flags: "suid" alone (or "rw") also drops the
/// source's nodev and noexec (runc >= 1.2 remounts when any flag is set
/// or cleared; runc 1.1.5 ignores clearing options).
fn one_clearing_option_replaces_source_flags(s: &Scratch) {
    assert_bind_flags_replaced(s, &["bind", "suid"]);
    assert_bind_flags_replaced(s, &["bind", "rw"]);
}

/// A bind remount without an atime option keeps the source's atime, as
/// mount(2) keeps it on MS_REMOUNT without MS_*ATIME (and mount(8),
/// runc): "norelatime" or "nosuid" on a noatime source stay noatime;
/// an atime option replaces it.
fn bind_remount_keeps_source_atime(s: &Scratch) {
    let host = s.path("noatimesrc");
    let source = HostMount::tmpfs(s, &host);
    source.remount(libc::MS_NOATIME | libc::MS_NODIRATIME);
    let table: &[(&str, &[&str], &[&str])] = &[
        // (destination, options, shown) and never relatime where noatime
        ("/plain", &["bind"], &["noatime", "nodiratime"]),
        (
            "/norelatime",
            &["bind", "norelatime"],
            &["noatime", "nodiratime"],
        ),
        (
            "/nostrictatime",
            &["bind", "nostrictatime"],
            &["noatime", "nodiratime"],
        ),
        (
            "/nosuid",
            &["bind", "nosuid"],
            &["noatime", "nodiratime", "nosuid"],
        ),
        ("/ro", &["bind", "ro"], &["noatime", "nodiratime", "ro"]),
        ("/relatime", &["bind", "relatime"], &["relatime"]),
    ];
    let bundle = s.bundle(&[]);
    for (dest, options, _) in table {
        bundle.add_mount(json!({
            "destination": dest, "type": "bind", "source": host, "options": options,
        }));
    }
    let mounts = mounts_of(s, &bundle);
    let mut failures = Failures::default();
    for (dest, options, shown) in table {
        let m = mount_at(&mounts, dest);
        for o in *shown {
            failures.check(has(m, "mount_options", o), || {
                format!("{options:?}: {o} missing: {m}")
            });
        }
        let atime_kept = shown.contains(&"noatime");
        failures.check(has(m, "mount_options", "relatime") != atime_kept, || {
            format!("{options:?}: atime: {m}")
        });
        failures.check(has(m, "mount_options", "nodiratime") == atime_kept, || {
            format!("{options:?}: nodiratime: {m}")
        });
    }
    failures.assert_none(&mounts);
}

/// In a user namespace the kernel locks a source's ro, nosuid, nodev,
/// noexec and atime: a bind remount that would clear one fails, and runc
/// (1.2 and later) remounts once more with the source's locked flags
/// added to the options'. Flags the kernel does not lock (nosymfollow)
/// are still replaced: "bind,ro" on a nosuid,nosymfollow source gives
/// ro,nosuid without nosymfollow; "bind,suid" there is refused.
fn userns_bind_remount_keeps_only_locked_source_flags(s: &Scratch) {
    let host = s.path("lockedsrc");
    let source = HostMount::tmpfs(s, &host);
    source.remount(libc::MS_NOSUID | libc::MS_NOSYMFOLLOW | libc::MS_NOATIME);
    let bundle = s.bundle(&[]);
    with_userns(&bundle);
    bundle.add_mount(json!({
        "destination": "/b", "type": "bind", "source": host, "options": ["bind", "ro"],
    }));
    let mounts = mounts_of(s, &bundle);
    let m = mount_at(&mounts, "/b");
    for o in ["ro", "nosuid", "noatime"] {
        assert!(has(m, "mount_options", o), "{o} missing: {m}");
    }
    assert!(
        !has(m, "mount_options", "nosymfollow"),
        "nosymfollow kept: {m}"
    );
    // An option clearing a locked flag the source has cannot be honoured:
    // refused (runc: "cannot clear locked flags MS_NOSUID").
    let bundle = s.bundle(&["/probe", "mounts"]);
    with_userns(&bundle);
    bundle.add_mount(json!({
        "destination": "/b", "type": "bind", "source": host, "options": ["bind", "suid"],
    }));
    let out = s.run(&bundle.dir, &s.id("locked"));
    crate::runtime::assert_error_mentions(&out, &["locked flags"]);
}

fn read_only_tmpfs_with_a_mount_below(s: &Scratch) {
    // runc mounts a tmpfs read-write and makes it read-only at the end, so
    // mount points below it can still be made; it is read-only after.
    let host = s.mkdir("below");
    let bundle = probes(s, &["mounts", "writable /rotmp"]);
    bundle.add_mount(json!({
        "destination": "/rotmp", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "size=1m"],
    }));
    bundle.add_mount(json!({
        "destination": "/rotmp/sub", "type": "bind", "source": host, "options": ["bind"],
    }));
    let answers = run_lines(s, &bundle);
    mount_at(&answers[0], "/rotmp/sub");
    assert_opt(mount_at(&answers[0], "/rotmp"), "mount_options", "ro");
    assert_eq!(answers[1][0]["errno"], "EROFS", "{}", answers[1]);
}

fn read_only_bind_with_nosuid_nodev_noexec(s: &Scratch) {
    let host = s.mkdir("robind");
    let bundle = probes(s, &["mounts", "writable /ro-bind"]);
    bundle.add_mount(json!({
        "destination": "/ro-bind",
        "type": "bind",
        "source": host,
        "options": ["bind", "ro", "nosuid", "nodev", "noexec"],
    }));
    let answers = run_lines(s, &bundle);
    let m = mount_at(&answers[0], "/ro-bind");
    for opt in ["ro", "nosuid", "nodev", "noexec"] {
        assert_opt(m, "mount_options", opt);
    }
    let w = &answers[1][0];
    assert_eq!(w["writable"], false, "{w}");
    assert_eq!(w["errno"], "EROFS", "{w}");
    // The host's directory is not read-only.
    write_new(&host.join("still-writable"), "yes");
}

// ---------------------------------------------------------------------
// Propagation
// ---------------------------------------------------------------------

const PROPAGATION_OPTIONS: &[&str] = &[
    "none",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

/// Binds `host` once per propagation option at /prop/<option> and returns
/// the container's mount table.
fn bind_with_each_propagation(s: &Scratch, host: &Path) -> Value {
    let bundle = s.bundle(&[]);
    for opt in PROPAGATION_OPTIONS {
        let options = if *opt == "none" {
            json!(["rbind"])
        } else {
            json!(["rbind", opt])
        };
        bundle.add_mount(json!({
            "destination": format!("/prop/{opt}"),
            "type": "bind",
            "source": host,
            "options": options,
        }));
    }
    mounts_of(s, &bundle)
}

fn check_propagations(mounts: &Value, expected: &[(&str, &str)]) {
    let mut failures = Failures::default();
    for (opt, want) in expected {
        let mp = format!("/prop/{opt}");
        match find_mount(mounts, &mp) {
            None => failures.0.push(format!("{opt}: no mount")),
            Some(m) => failures.check(m["propagation"] == *want, || {
                format!(
                    "{opt}: propagation {} (wanted {want}): {m}",
                    m["propagation"]
                )
            }),
        }
    }
    failures.assert_none(mounts);
}

fn bind_propagation_of_private_source(s: &Scratch) {
    let host = s.mkdir("privsrc");
    // The copy of the host mount holding the scratch dir, after the
    // default rslave of the container's root (private on a host whose /
    // is private, as here; a slave if the host's is shared).
    let inherited = after_rslave(&host_mount_fields_of(&host));
    let mounts = bind_with_each_propagation(s, &host);
    check_propagations(
        &mounts,
        &[
            ("none", inherited),
            ("private", "private"),
            ("rprivate", "private"),
            ("shared", "shared"),
            ("rshared", "shared"),
            // MS_SLAVE makes a mount the slave of its peer group; a mount
            // with no peers and no master has nothing to follow and stays
            // as it is.
            ("slave", inherited),
            ("rslave", inherited),
            ("unbindable", "unbindable"),
            ("runbindable", "unbindable"),
        ],
    );
}

fn bind_propagation_of_shared_source(s: &Scratch) {
    // A shared tmpfs on the host (in the scratch dir): the container's copy
    // of it is made a slave by the rslave of its root, and a bind of that
    // slave is a slave of the same master, the host's peer group.
    let host = s.path("sharedsrc");
    let guard = HostMount::tmpfs(s, &host);
    guard.make_shared();
    let group = host_peer_group(&host);
    let mounts = bind_with_each_propagation(s, &host);
    check_propagations(
        &mounts,
        &[
            ("none", "slave"),
            ("private", "private"),
            ("rprivate", "private"),
            // shared and still a slave of the host ("shared:N master:M"):
            // probe reports "shared".
            ("shared", "shared"),
            ("rshared", "shared"),
            ("slave", "slave"),
            ("rslave", "slave"),
            ("unbindable", "unbindable"),
            ("runbindable", "unbindable"),
        ],
    );
    // The master is the host's peer group (peer group ids are global).
    let master = format!("master:{group}");
    for opt in ["none", "slave", "rslave", "shared"] {
        let m = mount_at(&mounts, &format!("/prop/{opt}"));
        let fields: Vec<&str> = m["optional_fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(fields.contains(&master.as_str()), "{opt}: {m}");
    }
}

fn recursive_propagation_reaches_submounts(s: &Scratch) {
    // A shared host tmpfs with a shared submount: rprivate/runbindable
    // reach the submount, private/unbindable leave it a slave.
    let host = s.path("proptree");
    let top = HostMount::tmpfs(s, &host);
    top.make_shared();
    let sub = host.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let _sub = HostMount::tmpfs(s, &sub);
    let mounts = bind_with_each_propagation(s, &host);
    let mut failures = Failures::default();
    for (opt, want) in [
        ("none", "slave"),
        ("private", "slave"),
        ("rprivate", "private"),
        ("unbindable", "slave"),
        ("runbindable", "unbindable"),
        ("slave", "slave"),
        ("rslave", "slave"),
        ("rshared", "shared"),
    ] {
        let mp = format!("/prop/{opt}/sub");
        match find_mount(&mounts, &mp) {
            None => failures.0.push(format!("{opt}: no submount")),
            Some(m) => failures.check(m["propagation"] == want, || {
                format!("{opt}: submount {} (wanted {want}): {m}", m["propagation"])
            }),
        }
    }
    failures.assert_none(&mounts);
}

/// The propagation of the container's "/" with linux.rootfsPropagation.
fn root_propagation(s: &Scratch, propagation: Option<&str>) -> Value {
    let bundle = s.bundle(&[]);
    if let Some(p) = propagation {
        bundle.edit(|c| c["linux"]["rootfsPropagation"] = json!(p));
    }
    let mounts = mounts_of(s, &bundle);
    mount_at(&mounts, "/").clone()
}

fn rootfs_propagation_private(s: &Scratch) {
    for p in ["private", "rprivate"] {
        let root = root_propagation(s, Some(p));
        assert_eq!(root["propagation"], "private", "{p}: {root}");
    }
}

fn rootfs_propagation_default_rslave(s: &Scratch) {
    // The rootfs mount is a bind of the host mount holding the bundle,
    // copied into the container and made rslave: a slave of the host's
    // peer group if that mount is shared, private if it is private (a
    // mount cannot be a slave of nothing).
    let bundle = s.bundle(&[]);
    let expected = after_rslave(&host_mount_fields_of(&bundle.rootfs()));
    for p in [None, Some("rslave")] {
        let root = root_propagation(s, p);
        assert_eq!(root["propagation"], expected, "{p:?}: {root}");
    }
}

fn rootfs_propagation_slave(s: &Scratch) {
    // Non-recursive: the runtime makes the mount holding the rootfs
    // private (pivot_root needs a non-shared parent), and the rootfs is a
    // bind of it: private. The point is that the runtime accepts it.
    let root = root_propagation(s, Some("slave"));
    assert_eq!(root["propagation"], "private", "{root}");
}

/// "slave" where the mount holding the rootfs is the runtime's own "/" and
/// shared: "/" made a slave (non-recursive) is no longer shared, but the
/// runtime still makes the mount holding the rootfs private before the
/// rootfs bind, as runc 1.2+ does unconditionally (walking up with
/// MS_PRIVATE), so the container's "/" is private; MS_SLAVE after the
/// root switch leaves a mount without a master private. runc 1.1.5 made
/// that mount private only when it was shared, so there "/" stays a slave.
/// The runtime runs in a mount namespace of the test's own, made with
/// private propagation, whose "/" (a copy of the host's) the test makes
/// shared there: the host's mounts are untouched.
fn rootfs_propagation_slave_under_shared_root(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "mounts"]);
    bundle.edit(|c| c["linux"]["rootfsPropagation"] = json!("slave"));
    let pivot = pivot_bin().expect("PIVOT_BIN");
    let id = s.id("slave");
    let mut cmd = Command::new("/usr/bin/unshare");
    cmd.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg(r#"mount --make-shared / && exec "$@""#)
        .arg("sh")
        .arg(&pivot)
        .arg("--root")
        .arg(&s.root)
        .args(["run", "--bundle"])
        .arg(&bundle.dir)
        .arg(&id)
        .current_dir(&s.dir);
    let shown = format!(
        "unshare --mount (/ shared there): {} run {id}",
        pivot.display()
    );
    let mounts = run_command(s, cmd, shown).ok().json();
    let root = mount_at(&mounts, "/");
    assert_eq!(root["propagation"], "private", "{root}");
}

/// The spec: rootfsPropagation "sets the rootfs's mount propagation". The
/// mount above the rootfs must not be shared for pivot_root, so the
/// runtime applies a shared or unbindable propagation to "/" once the root
/// is switched, as runc does since opencontainers/runc#4724 (2025, in
/// 1.2.x and 1.3); runc 1.1.5 leaves "/" private, and fails outright on
/// "unbindable".
fn rootfs_propagation_shared(s: &Scratch) {
    let root = root_propagation(s, Some("shared"));
    assert_eq!(root["propagation"], "shared", "{root}");
}

fn rootfs_propagation_rshared(s: &Scratch) {
    let root = root_propagation(s, Some("rshared"));
    assert_eq!(root["propagation"], "shared", "{root}");
}

fn rootfs_propagation_unbindable(s: &Scratch) {
    let root = root_propagation(s, Some("unbindable"));
    assert_eq!(root["propagation"], "unbindable", "{root}");
}

// ---------------------------------------------------------------------
// Recursive attributes
// ---------------------------------------------------------------------

fn recursive_attributes_reach_submounts(s: &Scratch) {
    let table: &[(&str, Shows)] = &[
        ("rro", Shows::Mount("ro")),
        ("rnosuid", Shows::Mount("nosuid")),
        ("rnodev", Shows::Mount("nodev")),
        ("rnoexec", Shows::Mount("noexec")),
        ("rnoatime", Shows::Mount("noatime")),
        ("rnodiratime", Shows::Mount("nodiratime")),
        ("rstrictatime", Shows::StrictAtime),
        ("rnosymfollow", Shows::Mount("nosymfollow")),
    ];
    let host = s.mkdir("rattr");
    let _guard = HostMount::tmpfs(s, &host.join("sub"));
    let bundle = probes(s, &["mounts", "writable /rattr/rro/sub"]);
    for (opt, _) in table {
        bundle.add_mount(json!({
            "destination": format!("/rattr/{opt}"),
            "type": "bind",
            "source": host,
            "options": ["rbind", opt],
        }));
    }
    let answers = run_lines(s, &bundle);
    let mounts = &answers[0];
    let mut failures = Failures::default();
    for (opt, shows) in table {
        for mp in [format!("/rattr/{opt}"), format!("/rattr/{opt}/sub")] {
            match find_mount(mounts, &mp) {
                None => failures.0.push(format!("{opt}: no mount at {mp}")),
                Some(m) => check_shows(&mut failures, m, &format!("{opt} {mp}"), shows),
            }
        }
    }
    let w = &answers[1][0];
    failures.check(w["errno"] == "EROFS", || {
        format!("rro: the submount is writable: {w}")
    });
    failures.assert_none(mounts);
}

fn rbind_ro_is_not_recursive(s: &Scratch) {
    let host = s.mkdir("rbindro");
    let _guard = HostMount::tmpfs(s, &host.join("sub"));
    let bundle = probes(s, &["mounts", "writable /rbro /rbro/sub"]);
    bundle.add_mount(json!({
        "destination": "/rbro", "type": "bind", "source": host, "options": ["rbind", "ro"],
    }));
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/rbro"), "mount_options", "ro");
    assert_opt(mount_at(&answers[0], "/rbro/sub"), "mount_options", "rw");
    assert_eq!(answers[1][0]["errno"], "EROFS", "{}", answers[1]);
    assert_eq!(answers[1][1]["writable"], true, "{}", answers[1]);
}

// ---------------------------------------------------------------------
// idmapped binds (runc >= 1.2)
// ---------------------------------------------------------------------

/// An idmap mapping container ID 0 to host ID 1000: with an idmapped
/// mount the kernel maps the file's on-disk owner (0) through the mount's
/// user namespace, whose uid_map is "0 1000 1", so it is seen as 1000.
fn idmap_mount(dest: &str, source: &Path, option: &str) -> Value {
    let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    json!({
        "destination": dest,
        "type": "bind",
        "source": source,
        "options": [if option == "ridmap" { "rbind" } else { "bind" }, option],
        "uidMappings": map,
        "gidMappings": map,
    })
}

fn idmap_bind_shows_mapped_owner(s: &Scratch) {
    let host = s.mkdir("idmap");
    write_new(&host.join("rootfile"), "root's");
    lchown(&host.join("rootfile"), 0, 0);
    let bundle = probes(s, &["mounts", "stat /idm/rootfile"]);
    bundle.add_mount(idmap_mount("/idm", &host, "idmap"));
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/idm"), "mount_options", "idmapped");
    let st = &answers[1][0];
    assert_eq!(st["uid"], 1000, "{st}");
    assert_eq!(st["gid"], 1000, "{st}");
    // The host's file is untouched.
    let meta = std::fs::metadata(host.join("rootfile")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
}

fn ridmap_reaches_submounts(s: &Scratch) {
    let host = s.mkdir("ridmap");
    let sub = host.join("sub");
    let _guard = HostMount::tmpfs(s, &sub);
    write_new(&sub.join("subfile"), "in the submount");
    let bundle = probes(s, &["mounts", "stat /ridm/sub/subfile"]);
    bundle.add_mount(idmap_mount("/ridm", &host, "ridmap"));
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/ridm"), "mount_options", "idmapped");
    assert_opt(
        mount_at(&answers[0], "/ridm/sub"),
        "mount_options",
        "idmapped",
    );
    let st = &answers[1][0];
    assert_eq!(st["uid"], 1000, "{st}");
    assert_eq!(st["gid"], 1000, "{st}");
}

/// A host directory with a file of host root's and one of host uid 1000's,
/// for a container whose root is host uid 100000: without idmap both show
/// as the overflow id (65534) inside.
fn userns_idmap_source(s: &Scratch, name: &str) -> std::path::PathBuf {
    let host = s.mkdir(name);
    write_new(&host.join("rootfile"), "root's");
    lchown(&host.join("rootfile"), 0, 0);
    write_new(&host.join("userfile"), "user's");
    lchown(&host.join("userfile"), 1000, 1000);
    host
}

#[track_caller]
fn assert_userns_idmapped(answers: &[Value], dest: &str) {
    assert_opt(mount_at(&answers[0], dest), "mount_options", "idmapped");
    let st = &answers[1];
    let owners: Vec<_> = (0..2).map(|i| (&st[i]["uid"], &st[i]["gid"])).collect();
    assert_eq!(
        owners,
        [(&json!(0), &json!(0)), (&json!(1000), &json!(1000))],
        "{st}"
    );
}

/// idmap in a container with its own user namespace: the kernel refuses
/// MOUNT_ATTR_IDMAP from inside it, so the mount is made idmapped from the
/// host's user namespace (runc 1.2 and later); the mount's mapping takes
/// the files' host owners to the ids the container sees.
fn userns_idmap_bind_shows_mapped_owner(s: &Scratch) {
    let host = userns_idmap_source(s, "uidm");
    let bundle = probes(s, &["mounts", "stat /uidm/rootfile /uidm/userfile"]);
    with_userns(&bundle);
    let mut m = idmap_mount("/uidm", &host, "idmap");
    let map = json!([{"containerID": 0, "hostID": 100_000, "size": 65_536}]);
    m["uidMappings"] = map.clone();
    m["gidMappings"] = map;
    bundle.add_mount(m);
    assert_userns_idmapped(&run_lines(s, &bundle), "/uidm");
}

/// idmap with no mappings of its own, in a container with a user
/// namespace: the mount takes the container's mappings.
fn userns_idmap_without_mappings_takes_the_containers(s: &Scratch) {
    let host = userns_idmap_source(s, "cidm");
    let bundle = probes(s, &["mounts", "stat /cidm/rootfile /cidm/userfile"]);
    with_userns(&bundle);
    bundle.add_mount(json!({
        "destination": "/cidm", "type": "bind", "source": host, "options": ["bind", "idmap"],
    }));
    assert_userns_idmapped(&run_lines(s, &bundle), "/cidm");
}

/// idmap with no mappings, in a container that joins another's user
/// namespace by path and gives no mappings of its own: the mount takes
/// the mapping that user namespace implies (runc 1.5), not a refusal.
fn idmap_without_mappings_takes_a_joined_user_namespace(s: &Scratch) {
    let first = s.bundle(&["/probe", "sleep", "30"]);
    with_userns(&first);
    let first_id = s.id("jidmowner");
    let owner = s.create_started(&first.dir, &first_id);
    let host = userns_idmap_source(s, "jidm");
    let bundle = probes(s, &["mounts", "stat /jidm/rootfile /jidm/userfile"]);
    crate::bundle::chown_tree(&bundle.rootfs(), 100_000, 100_000);
    bundle.join_namespace("user", &format!("/proc/{owner}/ns/user"));
    bundle.add_mount(json!({
        "destination": "/jidm", "type": "bind", "source": host, "options": ["bind", "idmap"],
    }));
    let out = s.run(&bundle.dir, &s.id("jidm"));
    s.pivot(&["delete", "--force", &first_id]);
    s.reap();
    assert_userns_idmapped(&lines_of(&out.ok()), "/jidm");
}

/// `features` says idmapped mounts work, as runc 1.5 does on this host.
fn features_report_idmap_enabled(s: &Scratch) {
    let features = s.runtime(&s.dir, &["features"]).ok().json();
    let idmap = &features["linux"]["mountExtensions"]["idmap"];
    assert_eq!(idmap["enabled"], json!(true), "{idmap}");
}

/// uidMappings/gidMappings without an idmap or ridmap option: runc 1.2
/// and later take them as idmap (only the mount itself is idmapped, not
/// the submounts an rbind brings along).
fn mappings_without_idmap_option_imply_idmap(s: &Scratch) {
    let host = s.mkdir("impl");
    write_new(&host.join("rootfile"), "root's");
    lchown(&host.join("rootfile"), 0, 0);
    let sub = host.join("sub");
    let _guard = HostMount::tmpfs(s, &sub);
    let bundle = probes(s, &["mounts", "stat /im/rootfile /im/sub"]);
    let mut m = idmap_mount("/im", &host, "idmap");
    m["options"] = json!(["rbind"]);
    bundle.add_mount(m);
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/im"), "mount_options", "idmapped");
    let st = &answers[1];
    assert_eq!(
        (&st[0]["uid"], &st[0]["gid"]),
        (&json!(1000), &json!(1000)),
        "{st}"
    );
    let sub = mount_at(&answers[0], "/im/sub");
    assert!(!has(sub, "mount_options", "idmapped"), "{sub}");
    assert_eq!(
        (&st[1]["uid"], &st[1]["gid"]),
        (&json!(0), &json!(0)),
        "{st}"
    );
}

// ---------------------------------------------------------------------
// tmpcopyup
// ---------------------------------------------------------------------

/// /data in the image: a file, a symlink, a subdirectory with a file, each
/// with its own mode and owner; /data itself 0750.
fn image_data_dir(bundle: &Bundle) -> PathBuf {
    let data = bundle.rootfs().join("data");
    std::fs::create_dir(&data).unwrap();
    write_new(&data.join("a"), "hello");
    chmod(&data.join("a"), 0o654);
    lchown(&data.join("a"), 1234, 5678);
    std::os::unix::fs::symlink("a", data.join("link")).unwrap();
    std::fs::create_dir(data.join("sub")).unwrap();
    write_new(&data.join("sub/b"), "bee");
    chmod(&data.join("sub/b"), 0o604);
    chmod(&data.join("sub"), 0o711);
    lchown(&data.join("sub"), 42, 43);
    chmod(&data, 0o750);
    data
}

fn tmpcopyup_copies_the_image_dir(s: &Scratch) {
    let bundle = probes(
        s,
        &[
            "mounts",
            "stat /data /data/a /data/link /data/sub /data/sub/b",
            "cat /data/a",
            "cat /data/sub/b",
            "write /data/new written",
        ],
    );
    let data = image_data_dir(&bundle);
    bundle.add_mount(json!({
        "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"],
    }));
    let answers = run_lines(s, &bundle);
    let m = mount_at(&answers[0], "/data");
    assert_eq!(m["fs_type"], "tmpfs", "{m}");
    let st = &answers[1];
    let (dir, a, link, sub, b) = (&st[0], &st[1], &st[2], &st[3], &st[4]);
    assert_eq!(
        (&a["type"], &a["mode"], &a["uid"], &a["gid"]),
        (&json!("file"), &json!("0654"), &json!(1234), &json!(5678)),
        "{a}"
    );
    assert_eq!(link["type"], "symlink", "{link}");
    assert_eq!(link["link"], "a", "{link}");
    assert_eq!(
        (&sub["type"], &sub["mode"], &sub["uid"], &sub["gid"]),
        (&json!("dir"), &json!("0711"), &json!(42), &json!(43)),
        "{sub}"
    );
    assert_eq!(b["mode"], "0604", "{b}");
    assert_eq!(answers[2]["content"], "hello", "{}", answers[2]);
    assert_eq!(answers[3]["content"], "bee", "{}", answers[3]);
    assert_eq!(answers[4]["ok"], true, "{}", answers[4]);
    // The write went to the tmpfs, not to the image.
    assert!(!data.join("new").exists(), "a write reached the image dir");
    // The directory itself keeps its mode too (runc chmods a tmpfs mounted
    // on an existing directory to that directory's mode).
    assert_eq!(dir["mode"], "0750", "{dir}");
}

fn tmpfs_on_existing_dir_keeps_its_mode(s: &Scratch) {
    // No mode= option: the tmpfs root takes the mode of the directory it
    // covers, as with runc (tmpfs alone would make it 1777).
    let bundle = probes(s, &["mounts", "stat /srv"]);
    let srv = bundle.rootfs().join("srv");
    std::fs::create_dir(&srv).unwrap();
    chmod(&srv, 0o750);
    bundle.add_mount(json!({
        "destination": "/srv", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"],
    }));
    let answers = run_lines(s, &bundle);
    assert_eq!(mount_at(&answers[0], "/srv")["fs_type"], "tmpfs");
    assert_eq!(answers[1][0]["mode"], "0750", "{}", answers[1]);
}

fn tmpcopyup_read_only(s: &Scratch) {
    let bundle = probes(s, &["mounts", "cat /data/a", "writable /data"]);
    image_data_dir(&bundle);
    bundle.add_mount(json!({
        "destination": "/data",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["tmpcopyup", "ro"],
    }));
    let answers = run_lines(s, &bundle);
    let m = mount_at(&answers[0], "/data");
    assert_eq!(m["fs_type"], "tmpfs", "{m}");
    assert_opt(m, "mount_options", "ro");
    assert_eq!(answers[1]["content"], "hello", "{}", answers[1]);
    assert_eq!(answers[2][0]["errno"], "EROFS", "{}", answers[2]);
}

// ---------------------------------------------------------------------
// Destinations
// ---------------------------------------------------------------------

fn missing_file_destination_is_created(s: &Scratch) {
    let file = s.path("srcfile");
    write_new(&file, "file!");
    let bundle = probes(s, &["stat /new/dir /new/dir/file", "cat /new/dir/file"]);
    bundle.add_mount(json!({
        "destination": "/new/dir/file", "type": "bind", "source": file, "options": ["bind"],
    }));
    let answers = run_lines(s, &bundle);
    assert_eq!(answers[0][0]["type"], "dir", "{}", answers[0]);
    assert_eq!(answers[0][1]["type"], "file", "{}", answers[0]);
    assert_eq!(answers[1]["content"], "file!", "{}", answers[1]);
    // The mount point was made in the image, as a file.
    let made = bundle.rootfs().join("new/dir/file");
    assert!(made.is_file(), "{} is not a file", made.display());
}

fn missing_directory_destination_is_created(s: &Scratch) {
    let host = s.mkdir("srcdir");
    write_new(&host.join("x"), "x");
    let bundle = probes(s, &["mounts", "ls /a/b/c"]);
    bundle.add_mount(json!({
        "destination": "/a/b/c", "type": "bind", "source": host, "options": ["rbind"],
    }));
    let answers = run_lines(s, &bundle);
    mount_at(&answers[0], "/a/b/c");
    assert_eq!(answers[1], json!(["x"]));
    assert!(bundle.rootfs().join("a/b/c").is_dir());
}

/// Removes a directory tree the runtime should never have made (a test
/// failure is reported; this only keeps the host clean).
struct RemoveIfMade(PathBuf);

impl Drop for RemoveIfMade {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn destination_through_absolute_symlink_stays_in_rootfs(s: &Scratch) {
    // A top-level name unique to this test, so the host check is exact.
    let name = format!(
        "pivot-target-{}",
        s.path("t").file_name().unwrap().to_string_lossy()
    );
    let host_target = Path::new("/").join(&name);
    assert!(!host_target.exists(), "{} exists", host_target.display());
    let _cleanup = RemoveIfMade(host_target.clone());
    let bundle = probes(s, &["mounts"]);
    std::os::unix::fs::symlink(format!("/{name}"), bundle.rootfs().join("link")).unwrap();
    bundle.add_mount(json!({
        "destination": "/link/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"],
    }));
    let answers = run_lines(s, &bundle);
    let m = mount_at(&answers[0], &format!("/{name}/sub"));
    assert_eq!(m["fs_type"], "tmpfs", "{m}");
    assert!(
        bundle.rootfs().join(&name).join("sub").is_dir(),
        "the target was not made in the rootfs"
    );
    assert!(
        !host_target.exists(),
        "{} was made on the host",
        host_target.display()
    );
}

/// Symlinks in the image that climb out with "..": a directory one for a
/// tmpfs and a file one for a file bind. Both must resolve inside the
/// rootfs, where the scratch dir's path is made; on the host the canaries
/// (in the scratch dir) must not appear.
fn assert_dotdot_symlinks_contained(s: &Scratch, how: Runner) {
    let canary_dir = s.dir.join("host-canary-dir");
    let canary_file = s.dir.join("host-canary-file");
    let bundle = s.bundle(&["/probe", "mounts"]);
    let up = "/../../../../../../../..";
    std::os::unix::fs::symlink(
        format!("{up}{}", canary_dir.display()),
        bundle.rootfs().join("escape-dir"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        format!("../../../../../../../..{}", canary_file.display()),
        bundle.rootfs().join("escape-file"),
    )
    .unwrap();
    let src = s.path("srcfile");
    write_new(&src, "bound");
    bundle.add_mount(json!({
        "destination": "/escape-dir", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"],
    }));
    bundle.add_mount(json!({
        "destination": "/escape-file", "type": "bind", "source": src, "options": ["bind"],
    }));
    let out = how.run(s, &bundle).ok();
    let mounts = out.json();
    let m = mount_at(&mounts, path_str(&canary_dir));
    assert_eq!(m["fs_type"], "tmpfs", "{m}");
    mount_at(&mounts, path_str(&canary_file));
    assert!(
        !canary_dir.exists(),
        "the tmpfs destination left the rootfs"
    );
    assert!(
        !canary_file.exists(),
        "the file destination left the rootfs"
    );
    let inside = bundle
        .rootfs()
        .join(s.dir.strip_prefix("/").unwrap())
        .join("host-canary-dir");
    assert!(inside.is_dir(), "{} not made", inside.display());
}

fn destination_through_dotdot_symlink_stays_in_rootfs(s: &Scratch) {
    assert_dotdot_symlinks_contained(s, Runner::Plain);
}

/// Containers created at the same time, each with destinations reached
/// through ".." symlinks: resolving ".." inside a root is where openat2
/// (RESOLVE_IN_ROOT) fails with EAGAIN whenever any mount or rename
/// happened meanwhile on the machine, and the other containers' own
/// mounts make that likely. A runtime must retry (or fall back), not fail.
fn parallel_creates_with_dotdot_destinations(s: &Scratch) {
    const CONTAINERS: usize = 12;
    const MOUNTS: usize = 16;
    const ROUNDS: usize = 5;
    let bundles: Vec<Bundle> = (0..CONTAINERS)
        .map(|_| {
            let bundle = s.bundle(&["/bin/true"]);
            for i in 0..MOUNTS {
                let link = format!("up{i}");
                std::os::unix::fs::symlink(
                    format!("../../../../a/../b/../../c{i}"),
                    bundle.rootfs().join(&link),
                )
                .unwrap();
                bundle.add_mount(json!({
                    "destination": format!("/{link}"),
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": ["size=64k"],
                }));
            }
            bundle
        })
        .collect();
    // A few rounds: the race is likely in one round, near certain in five.
    for round in 0..ROUNDS {
        let outs: Vec<Out> = std::thread::scope(|scope| {
            let handles: Vec<_> = bundles
                .iter()
                .map(|b| scope.spawn(|| s.run(&b.dir, &s.id("par"))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let failed: Vec<String> = outs
            .iter()
            .filter(|o| o.code != 0)
            .map(|o| o.to_string())
            .collect();
        assert!(
            failed.is_empty(),
            "round {round}: {} of {CONTAINERS} failed:\n{}",
            failed.len(),
            failed.join("\n")
        );
    }
}

// ---------------------------------------------------------------------
// Read-only root, masked and read-only paths
// ---------------------------------------------------------------------

fn read_only_root_and_writable_tmpfs(s: &Scratch) {
    let bundle = probes(s, &["mounts", "writable / /tmp"]);
    assert_eq!(bundle.config()["root"]["readonly"], true);
    bundle.add_mount(json!({
        "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"],
    }));
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/"), "mount_options", "ro");
    let w = &answers[1];
    assert_eq!(w[0]["writable"], false, "{w}");
    assert_eq!(w[0]["errno"], "EROFS", "{w}");
    assert_eq!(w[1]["writable"], true, "{w}");
}

fn masked_paths(s: &Scratch) {
    let bundle = probes(
        s,
        &[
            "mounts",
            "stat /masked-file /masked-dir /not-there",
            "cat /masked-file",
            "ls /masked-dir",
            "writable /masked-dir",
        ],
    );
    write_new(&bundle.rootfs().join("masked-file"), "secret");
    std::fs::create_dir(bundle.rootfs().join("masked-dir")).unwrap();
    write_new(&bundle.rootfs().join("masked-dir/hidden"), "hidden");
    bundle.edit(|c| {
        c["linux"]["maskedPaths"] = json!(["/masked-file", "/masked-dir", "/not-there"]);
    });
    let answers = run_lines(s, &bundle);
    let st = &answers[1];
    assert_eq!(st[0]["type"], "char", "{st}");
    assert_eq!(
        (&st[0]["major"], &st[0]["minor"]),
        (&json!(1), &json!(3)),
        "{st}"
    );
    assert_eq!(
        st[2]["exists"], false,
        "a missing masked path was made: {st}"
    );
    assert_eq!(answers[2]["content"], "", "{}", answers[2]);
    assert_eq!(answers[3], json!([]), "masked dir lists {}", answers[3]);
    let dir = mount_at(&answers[0], "/masked-dir");
    assert_eq!(dir["fs_type"], "tmpfs", "{dir}");
    assert_opt(dir, "mount_options", "ro");
    assert_eq!(answers[4][0]["errno"], "EROFS", "{}", answers[4]);
    assert!(find_mount(&answers[0], "/not-there").is_none());
}

/// As runc 1.3 and later: every masked directory gets the same empty
/// read-only tmpfs (4 KiB, one inode), and a path listed twice is masked
/// once.
fn masked_directories_share_one_tmpfs(s: &Scratch) {
    let bundle = probes(s, &["mounts", "writable /m1 /m2"]);
    for d in ["m1", "m2"] {
        std::fs::create_dir(bundle.rootfs().join(d)).unwrap();
    }
    write_new(&bundle.rootfs().join("f1"), "secret");
    bundle.edit(|c| {
        c["linux"]["maskedPaths"] = json!(["/m1", "/m2", "/m1", "/f1", "/f1", "/m2/"]);
    });
    let answers = run_lines(s, &bundle);
    let mounts = answers[0].as_array().unwrap();
    for point in ["/m1", "/m2", "/f1"] {
        let n = mounts.iter().filter(|m| m["mount_point"] == point).count();
        assert_eq!(n, 1, "{point} masked {n} times: {}", answers[0]);
    }
    let (m1, m2) = (mount_at(&answers[0], "/m1"), mount_at(&answers[0], "/m2"));
    assert_eq!(m1["fs_type"], "tmpfs", "{m1}");
    assert_eq!(
        m1["major_minor"], m2["major_minor"],
        "not one tmpfs: {m1} {m2}"
    );
    for opt in ["ro", "size=4k", "nr_inodes=1"] {
        assert_opt(m1, "super_options", opt);
    }
    assert_opt(m1, "mount_options", "ro");
    for w in answers[1].as_array().unwrap() {
        assert_eq!(w["writable"], false, "{w}");
    }
}

/// A container without a /proc mount starts (runc 1.5): the init re-opens
/// its /dev/null stdio and exec.fifo through a procfs of its own, not
/// through the container's /proc. Without process.capabilities, which runc
/// 1.5.1 reads from the container's /proc/sys/kernel/cap_last_cap.
fn no_proc_mount_starts(s: &Scratch) {
    let bundle = s.bundle(&["/bin/sh", "-c", "echo started; ls -A /proc"]);
    bundle.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/proc");
        c["process"].as_object_mut().unwrap().remove("capabilities");
    });
    // stdin is /dev/null: the init re-opens it after the root switch.
    let out = s.run(&bundle.dir, &s.id("noproc")).ok();
    assert_eq!(
        out.stdout, "started\n",
        "/proc is not empty, or no output:\n{out}"
    );
}

fn readonly_paths(s: &Scratch) {
    let bundle = probes(
        s,
        &["mounts", "writable /ro-dir /ro-file /", "stat /ro-missing"],
    );
    std::fs::create_dir(bundle.rootfs().join("ro-dir")).unwrap();
    write_new(&bundle.rootfs().join("ro-file"), "data");
    bundle.edit(|c| {
        // Only the paths are read-only, not the whole root.
        c["root"]["readonly"] = json!(false);
        c["linux"]["readonlyPaths"] = json!(["/ro-dir", "/ro-file", "/ro-missing"]);
    });
    let answers = run_lines(s, &bundle);
    assert_opt(mount_at(&answers[0], "/ro-dir"), "mount_options", "ro");
    let w = &answers[1];
    assert_eq!(w[0]["errno"], "EROFS", "{w}");
    assert_eq!(w[1]["errno"], "EROFS", "{w}");
    assert_eq!(w[2]["writable"], true, "{w}");
    assert_eq!(answers[2][0]["exists"], false, "{}", answers[2]);
}

// ---------------------------------------------------------------------
// --no-pivot and openat2 disabled
// ---------------------------------------------------------------------

/// How the runtime is started.
#[derive(Clone, Copy, Debug)]
enum Runner {
    Plain,
    NoPivot,
    /// Through tests/noopenat2: openat2 fails with ENOSYS.
    NoOpenat2,
    /// With PIVOT_NO_OPENAT2=1 in the runtime's environment.
    EnvNoOpenat2,
}

impl Runner {
    fn run(self, s: &Scratch, bundle: &Bundle) -> Out {
        let id = s.id("how");
        let mut args: Vec<OsString> = vec!["--root".into(), s.root.clone().into(), "run".into()];
        if matches!(self, Runner::NoPivot) {
            args.push("--no-pivot".into());
        }
        args.extend(["--bundle".into(), bundle.dir.clone().into(), id.into()]);
        let pivot = pivot_bin().expect("PIVOT_BIN");
        let mut cmd = match self {
            Runner::NoOpenat2 => {
                let mut all: Vec<OsString> = vec![pivot.clone().into()];
                all.extend(args.iter().cloned());
                let noopenat2 = Path::new(env!("CARGO_BIN_EXE_noopenat2"));
                crate::runtime::runtime_command(noopenat2, &s.dir, &all).0
            }
            _ => crate::runtime::runtime_command(&pivot, &s.dir, &args).0,
        };
        if matches!(self, Runner::EnvNoOpenat2) {
            cmd.env("PIVOT_NO_OPENAT2", "1");
        }
        let shown = format!("{self:?}: {} {}", pivot.display(), show(&args));
        run_command(s, cmd, shown)
    }
}

fn show(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Like the harness's runner: stdin /dev/null, stdout and stderr into
/// files of the scratch dir, killed after a bound.
fn run_command(s: &Scratch, mut cmd: Command, shown: String) -> Out {
    let out_path = s.path("run-out");
    let err_path = s.path("run-err");
    let open = |p: &Path| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
    };
    cmd.stdin(Stdio::null())
        .stdout(open(&out_path))
        .stderr(open(&err_path));
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown}: still running after 20s, killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Out {
        cmd: shown,
        code,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// The default bundle's mount table as (fs_type, mount point, mount
/// options), in order: what does not depend on the instance.
fn normalized_table(s: &Scratch, how: Runner) -> Vec<String> {
    let bundle = s.bundle(&["/probe", "mounts"]);
    let mounts = how.run(s, &bundle).ok().json();
    mounts
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {}",
                m["fs_type"].as_str().unwrap(),
                m["mount_point"].as_str().unwrap(),
                m["mount_options"].as_str().unwrap()
            )
        })
        .collect()
}

#[track_caller]
fn assert_same_table(s: &Scratch, how: Runner) {
    let plain = normalized_table(s, Runner::Plain);
    let other = normalized_table(s, how);
    assert_eq!(
        plain,
        other,
        "{how:?} differs:\npivot_root:\n  {}\n{how:?}:\n  {}",
        plain.join("\n  "),
        other.join("\n  ")
    );
}

fn no_pivot_mount_table_is_the_same(s: &Scratch) {
    assert_same_table(s, Runner::NoPivot);
}

/// A new procfs may be mounted only where a fully visible one exists in
/// the mount namespace. The container's own /proc has masked paths, so a
/// `mount -t proc` in a new user, pid and mount namespace inside the
/// container is refused, also with --no-pivot, where the old root (the
/// host's /proc and /sys) stays in the container's mount namespace below
/// the chroot unless pivot hides it.
fn assert_nested_proc_refused(s: &Scratch, how: Runner) {
    let bundle = s.bundle(&[
        "/bin/unshare",
        "-mrpf",
        "/bin/sh",
        "-c",
        "echo in-new-namespaces; mount -t proc none /proc && echo MOUNTED",
    ]);
    bundle.edit(|c| {
        for set in ["bounding", "permitted", "effective"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .expect("process.capabilities")
                .push("CAP_SETFCAP".into());
        }
    });
    let out = how.run(s, &bundle);
    assert!(
        out.stdout.contains("in-new-namespaces"),
        "unshare did not run: {out}"
    );
    assert!(
        !out.stdout.contains("MOUNTED"),
        "a nested procfs mount went through: {out}"
    );
    assert!(out.stderr.contains("permission denied"), "{out}");
}

/// As runc: without a pid namespace the container may be given the host's
/// /proc by a bind of the whole procfs (its root); a bind of anything else
/// there (a part of a procfs, a plain directory) stays refused.
fn bind_of_a_whole_procfs_on_proc(s: &Scratch) {
    let with_proc_bind = |source: &str| {
        let bundle = s.bundle(&["/bin/sh", "-c", "test -r /proc/1/status && echo host-proc"]);
        bundle.remove_namespace("pid");
        bundle.edit(|c| {
            for m in c["mounts"].as_array_mut().expect("mounts") {
                if m["type"] == "proc" {
                    *m = json!({
                        "destination": "/proc",
                        "type": "none",
                        "source": source,
                        "options": ["rbind", "nosuid", "nodev", "noexec"],
                    });
                }
            }
        });
        Runner::Plain.run(s, &bundle)
    };
    let out = with_proc_bind("/proc");
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "host-proc", "{out}");
    for refused in ["/proc/sys", "/tmp"] {
        let out = with_proc_bind(refused);
        assert_ne!(out.code, 0, "a bind of {refused} onto /proc ran: {out}");
        // (pivot's own words; runc 1.1.5 fails later, on its own terms.)
        let pivot = pivot_bin().is_some_and(|b| b.file_name().is_some_and(|n| n == "pivot"));
        assert!(!pivot || out.stderr.contains("only procfs"), "{out}");
    }
}

fn nested_proc_mount_is_refused(s: &Scratch) {
    assert_nested_proc_refused(s, Runner::Plain);
}

fn no_pivot_nested_proc_mount_is_refused(s: &Scratch) {
    assert_nested_proc_refused(s, Runner::NoPivot);
}

fn noopenat2_filter_is_effective(s: &Scratch) {
    // The wrapper refuses to exec when openat2 still works; a program it
    // runs sees no difference otherwise.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_noopenat2"));
    cmd.args(["/bin/sh", "-c", "echo filtered"])
        .current_dir(&s.dir);
    let out = run_command(s, cmd, "noopenat2 sh -c 'echo filtered'".into()).ok();
    assert_eq!(out.stdout, "filtered\n", "{out}");
    // And a runtime started through it works.
    let bundle = s.bundle(&["/probe", "pid"]);
    let out = Runner::NoOpenat2.run(s, &bundle).ok();
    assert_eq!(out.json()["pid"], 1, "{out}");
}

fn noopenat2_default_mount_table_is_the_same(s: &Scratch) {
    assert_same_table(s, Runner::NoOpenat2);
    assert_same_table(s, Runner::EnvNoOpenat2);
}

fn noopenat2_dotdot_symlink_stays_in_rootfs(s: &Scratch) {
    assert_dotdot_symlinks_contained(s, Runner::NoOpenat2);
}

fn env_no_openat2_dotdot_symlink_stays_in_rootfs(s: &Scratch) {
    assert_dotdot_symlinks_contained(s, Runner::EnvNoOpenat2);
}
