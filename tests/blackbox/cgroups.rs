//! Cgroups as the host sees them (cgroupfs driver): where a container's
//! init is placed for the default, absolute and relative
//! `linux.cgroupsPath`, and that nothing named after a container is left
//! once it is deleted or its create failed.
//!
//! Only cgroups named after this test's ids are made or removed here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::bundle::Bundle;
use crate::harness::{
    other_runtime, skipped_under_systemd, systemd_cgroup, systemd_cgroup_of, tests, Scratch,
};
use crate::host::mount_points;
use crate::mountinfo::host_cgroup_mounts;
use crate::runtime::assert_error_mentions;

tests![
    default_path_under_own_cgroup_in_every_hierarchy,
    absolute_cgroups_path_from_hierarchy_root,
    relative_cgroups_path_under_own_cgroup,
    failed_create_leaves_no_cgroup,
    cgroups_path_with_dotdot_is_refused,
    frozen_cgroup_is_refused,
    shared_cgroup_is_refused,
    bystander_in_cgroups_path_is_refused_and_spared,
    delete_spares_a_process_put_into_its_cgroup,
    delete_removes_sub_cgroups,
    exec_joins_the_init_cgroup_when_its_own_takes_no_process,
    empty_cpuset_parent_is_filled,
];

/// One cgroup hierarchy mounted under /sys/fs/cgroup.
#[derive(Debug)]
struct Hierarchy {
    /// Super options of the mount (for v1: "rw", the controllers, ...).
    options: Vec<String>,
    mount: PathBuf,
    /// The mount's root inside the hierarchy (mountinfo field 4).
    root: String,
    v2: bool,
}

impl Hierarchy {
    /// Whether a /proc/PID/cgroup line's controller list names this one.
    fn is(&self, controllers: &str) -> bool {
        if self.v2 {
            return controllers.is_empty();
        }
        !controllers.is_empty()
            && controllers
                .split(',')
                .all(|c| self.options.iter().any(|o| o == c))
    }

    /// The host directory of the cgroup at `path` in this hierarchy.
    fn dir(&self, path: &str) -> PathBuf {
        let rel = path.strip_prefix(self.root.as_str()).unwrap_or(path);
        self.mount.join(rel.trim_start_matches('/'))
    }
}

/// The cgroup (v1 and v2) hierarchies mounted under /sys/fs/cgroup.
fn hierarchies() -> Vec<Hierarchy> {
    host_cgroup_mounts()
        .into_iter()
        .filter(|m| m.mount_point.starts_with("/sys/fs/cgroup"))
        .map(|m| Hierarchy {
            v2: m.fs_type == "cgroup2",
            options: m.super_options,
            mount: m.mount_point,
            root: m.root,
        })
        .collect()
}

/// The hierarchies a container is placed in: every v1 hierarchy (on a
/// hybrid host the cgroup2 tree holds no controllers pivot uses), or the
/// cgroup2 tree of a unified host.
fn placement_hierarchies() -> Vec<Hierarchy> {
    let all = hierarchies();
    let unified = !all.iter().any(|h| !h.v2);
    let placed: Vec<Hierarchy> = all.into_iter().filter(|h| h.v2 == unified).collect();
    assert!(
        !placed.is_empty(),
        "no cgroup hierarchy under /sys/fs/cgroup"
    );
    placed
}

/// `/proc/PID/cgroup` as (controllers, path) pairs.
fn proc_cgroup(pid: &str) -> Vec<(String, String)> {
    let file = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {file}: {e}"));
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _n = it.next()?;
            Some((it.next()?.to_string(), it.next()?.to_string()))
        })
        .collect()
}

/// The path of `pid` in hierarchy `h`, from its /proc/PID/cgroup.
#[track_caller]
fn path_in(pid: &str, h: &Hierarchy) -> String {
    let lines = proc_cgroup(pid);
    lines
        .iter()
        .find(|(c, _)| h.is(c))
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("/proc/{pid}/cgroup has no line for {}", h.mount.display()))
}

/// Asserts that `pid` is in cgroup `want(h)` of every hierarchy it is
/// placed in and is listed in its cgroup.procs; returns the host dirs.
#[track_caller]
fn assert_placed(pid: i32, want: impl Fn(&Hierarchy) -> String) -> Vec<PathBuf> {
    let pid_s = pid.to_string();
    let mut dirs = Vec::new();
    for h in placement_hierarchies() {
        let expected = want(&h);
        let actual = path_in(&pid_s, &h);
        assert_eq!(
            actual,
            expected,
            "init {pid} in {}: /proc/{pid}/cgroup:\n{:?}",
            h.mount.display(),
            proc_cgroup(&pid_s)
        );
        let dir = h.dir(&actual);
        let procs_file = dir.join("cgroup.procs");
        let procs = std::fs::read_to_string(&procs_file)
            .unwrap_or_else(|e| panic!("read {}: {e}", procs_file.display()));
        assert!(
            procs.lines().any(|l| l.trim() == pid_s),
            "{} does not list {pid}: {procs:?}",
            procs_file.display()
        );
        dirs.push(dir);
    }
    dirs
}

/// Where a relative (or the default) cgroupsPath starts in `h`, without a
/// trailing slash ("" for the root): this test process's (so the
/// runtime's) cgroup on v1; on a unified v2 host its parent, as runc does
/// (the runtime's own cgroup holds processes, so no controller could be
/// enabled for a child of it).
fn own(h: &Hierarchy) -> String {
    let mine = path_in("self", h).trim_end_matches('/').to_string();
    if h.v2 && hierarchies().iter().all(|h| h.v2) {
        mine.rsplit_once('/')
            .map(|(p, _)| p.to_string())
            .unwrap_or_default()
    } else {
        mine
    }
}

#[track_caller]
fn assert_gone(dirs: &[PathBuf]) {
    let left: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "cgroup dirs left after delete: {left:?}");
}

/// `parent` (a single path component starting with this test's id prefix)
/// in every hierarchy under /sys/fs/cgroup, below `base(h)`.
fn parent_dirs(parent: &str, base: impl Fn(&Hierarchy) -> String) -> Vec<PathBuf> {
    assert!(parent.starts_with("pivot-t-") && !parent.contains('/'));
    hierarchies()
        .iter()
        .map(|h| h.dir(&format!("{}/{parent}", base(h))))
        .collect()
}

/// Parent cgroups the runtime made for a cgroupsPath: pivot removes those
/// it created; runc 1.1 leaves them, so for runc they are removed here
/// (only ever dirs named pivot-t-*, and with rmdir, which only removes an
/// empty cgroup).
#[track_caller]
fn parents_gone_or_removed(parents: &[PathBuf]) {
    let left: Vec<PathBuf> = parents.iter().filter(|d| d.exists()).cloned().collect();
    if other_runtime() {
        for dir in &left {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            assert!(name.starts_with("pivot-t-"), "refusing to rmdir {dir:?}");
            std::fs::remove_dir(dir).unwrap_or_else(|e| panic!("rmdir {}: {e}", dir.display()));
        }
    } else {
        assert!(
            left.is_empty(),
            "parent cgroups the runtime created are left: {left:?}"
        );
    }
}

fn started(s: &Scratch, bundle: &Bundle, tag: &str) -> (String, i32) {
    let id = s.id(tag);
    let pid = s.create_started(&bundle.dir, &id);
    (id, pid)
}

fn stop_and_delete(s: &Scratch, id: &str) {
    s.pivot(&["kill", id, "KILL"]).ok();
    s.wait_status(id, "stopped");
    s.delete(id);
}

fn default_path_under_own_cgroup_in_every_hierarchy(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    assert!(
        bundle.config()["linux"]["cgroupsPath"].is_null(),
        "the default spec sets a cgroupsPath"
    );
    let (id, pid) = started(s, &bundle, "cgdefault");
    // With --systemd-cgroup, the unit the harness names (see runtime.rs).
    let dirs = assert_placed(pid, |h| {
        if systemd_cgroup() {
            systemd_cgroup_of(&id)
        } else {
            format!("{}/{id}", own(h))
        }
    });
    stop_and_delete(s, &id);
    assert_gone(&dirs);
}

fn absolute_cgroups_path_from_hierarchy_root(s: &Scratch) {
    if skipped_under_systemd("a cgroupfs path") {
        return;
    }
    let parent = s.id("cgabs");
    let path = format!("/{parent}/inner");
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    let parents = parent_dirs(&parent, |_| String::new());
    let (id, pid) = started(s, &bundle, "cgabs");
    let placed = std::panic::catch_unwind(|| assert_placed(pid, |_| path.clone()));
    stop_and_delete(s, &id);
    let dirs = placed.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_gone(&dirs);
    parents_gone_or_removed(&parents);
}

fn relative_cgroups_path_under_own_cgroup(s: &Scratch) {
    if skipped_under_systemd("a cgroupfs path") {
        return;
    }
    let parent = s.id("cgrel");
    let path = format!("{parent}/y");
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    let parents = parent_dirs(&parent, own);
    let (id, pid) = started(s, &bundle, "cgrel");
    let placed = std::panic::catch_unwind(|| assert_placed(pid, |h| format!("{}/{path}", own(h))));
    stop_and_delete(s, &id);
    let dirs = placed.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_gone(&dirs);
    parents_gone_or_removed(&parents);
}

/// A bundle whose create fails after the cgroups are set up: a bind mount
/// of a source that does not exist.
fn bad_mount_bundle(s: &Scratch) -> Bundle {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let missing = s.path("no-such-source");
    bundle.add_mount(json!({
        "destination": "/mnt",
        "type": "bind",
        "source": missing,
        "options": ["rbind"],
    }));
    bundle
}

fn create(s: &Scratch, bundle: &Bundle, id: &str) -> crate::runtime::Out {
    s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.dir.as_os_str(),
        OsStr::new(id),
    ])
}

/// Dirs named `name` anywhere (5 levels deep) under /sys/fs/cgroup.
fn cgroups_named(name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    crate::host::find_dirs_named(Path::new("/sys/fs/cgroup"), name, 5, &mut found);
    found.retain(|d| d.file_name().is_some_and(|n| n == name));
    found
}

fn failed_create_leaves_no_cgroup(s: &Scratch) {
    // The default cgroupsPath: the cgroup would be named after the id.
    let bundle = bad_mount_bundle(s);
    let id = s.id("cgfail");
    let before = mount_points();
    create(s, &bundle, &id).fails();
    let mut named = cgroups_named(&id);
    if systemd_cgroup() {
        named.extend(cgroups_named(&format!("pivot-test-{id}.scope")));
    }
    assert!(named.is_empty(), "cgroups named {id} left: {named:?}");
    s.assert_nothing_left(&id, &before);
    if skipped_under_systemd("the rest uses a cgroupfs path") {
        return;
    }

    // An absolute cgroupsPath under a parent the runtime has to create.
    let parent = s.id("cgfailparent");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{parent}/inner")));
    let parents = parent_dirs(&parent, |_| String::new());
    let inner: Vec<PathBuf> = parents.iter().map(|p| p.join("inner")).collect();
    let id = s.id("cgfail");
    create(s, &bundle, &id).fails();
    let left: Vec<&PathBuf> = inner.iter().filter(|d| d.exists()).collect();
    assert!(
        left.is_empty(),
        "cgroups left after a failed create: {left:?}"
    );
    parents_gone_or_removed(&parents);
    s.assert_nothing_left(&id, &before);
}

fn cgroups_path_with_dotdot_is_refused(s: &Scratch) {
    if skipped_under_systemd("a cgroupfs path") || other_runtime() {
        return; // runc cleans the path (Go's filepath.Clean) and uses it.
    }
    let first = s.id("cgdots");
    let second = s.id("cgdots");
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{first}/../{second}")));
    let id = s.id("cgdots");
    let before = mount_points();
    let out = create(s, &bundle, &id);
    assert_error_mentions(&out, &["linux.cgroupsPath"]);
    s.assert_nothing_left(&id, &before);
    for name in [&first, &second] {
        let made: Vec<PathBuf> = parent_dirs(name, |_| String::new())
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        assert!(made.is_empty(), "a refused create made cgroups {made:?}");
    }
}

/// A cgroup frozen beforehand (made by this test, in the freezer
/// hierarchy or the cgroup2 tree) would hold the init forever: create
/// refuses it at once, and leaves the frozen cgroup as it was.
/// With --systemd-cgroup, the unit's cgroup is the one made by hand and
/// frozen before the create (as runc's cgroups.bats "runc run/create
/// should refuse pre-existing frozen cgroup" does).
fn frozen_cgroup_is_refused(s: &Scratch) {
    let name = s.id("cgfrozen");
    let id = s.id("cgfrozen");
    let all = hierarchies();
    let unified = !all.iter().any(|h| !h.v2);
    let Some(h) = all.iter().find(|h| {
        if unified {
            h.v2
        } else {
            h.options.iter().any(|o| o == "freezer")
        }
    }) else {
        return; // no freezer here
    };
    let dir = match systemd_cgroup() {
        true => h.dir(&systemd_cgroup_of(&id)),
        false => h.dir(&format!("/{name}")),
    };
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let (file, frozen, thawed) = if unified {
        ("cgroup.freeze", "1", "0")
    } else {
        ("freezer.state", "FROZEN", "THAWED")
    };
    std::fs::write(dir.join(file), frozen).unwrap();
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    if !systemd_cgroup() {
        bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{name}")));
    }
    let out = create(s, &bundle, &id);
    let _ = std::fs::write(dir.join(file), thawed);
    let _ = std::fs::remove_dir(&dir);
    assert_error_mentions(&out, &["frozen"]);
    let named = cgroups_named(&name);
    assert!(named.is_empty(), "cgroups named {name} left: {named:?}");
}

/// A second container in the cgroup of a running one is refused, as runc
/// 1.2 and later refuse it (`container's cgroup is not empty`), and the
/// first one runs on; runc 1.1.5 only warned.
fn shared_cgroup_is_refused(s: &Scratch) {
    if skipped_under_systemd("a cgroupfs path") {
        return;
    }
    let name = s.id("cgshared");
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{name}")));
    let (first, _) = started(s, &bundle, "cgshared");
    let second = s.id("cgshared");
    let out = create(s, &bundle, &second);
    let first_status = s.status(&first);
    if out.code == 0 {
        s.pivot(&["delete", "--force", &second]);
    }
    stop_and_delete(s, &first);
    assert_error_mentions(&out, &["cgroup is not empty"]);
    assert_eq!(
        first_status, "running",
        "the refused create harmed the first container"
    );
    assert!(
        !s.list_ids().contains(&second),
        "the refused container is listed"
    );
    let named = cgroups_named(&name);
    assert!(named.is_empty(), "cgroups named {name} left: {named:?}");
}

/// A process of the caller's own (not a container's) in the cgroups this
/// test made, in every hierarchy a container is placed in but cpuset
/// (whose new cgroups hold no cpus): killed, reaped and its cgroups
/// removed on drop.
struct Bystander {
    child: std::process::Child,
    dirs: Vec<PathBuf>,
}

impl Bystander {
    /// The process, in the cgroups this test makes, named `name`.
    fn new(name: &str) -> Bystander {
        let mut b = Bystander::spawn();
        for h in placement_hierarchies() {
            if !h.v2 && h.options.iter().any(|o| o == "cpuset") {
                continue;
            }
            let dir = h.dir(&format!("/{name}"));
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            b.dirs.push(dir.clone());
            b.move_into(&dir);
        }
        b
    }

    /// The process, where this test runs.
    fn spawn() -> Bystander {
        let child = std::process::Command::new(crate::harness::busybox_bin())
            .args(["sleep", "60"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the bystander");
        Bystander {
            child,
            dirs: Vec::new(),
        }
    }

    fn move_into(&self, dir: &Path) {
        std::fs::write(dir.join("cgroup.procs"), self.child.id().to_string())
            .unwrap_or_else(|e| panic!("move the bystander into {}: {e}", dir.display()));
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("waitpid").is_none()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// A pre-existing cgroupsPath that holds a process of someone else's: the
/// create is refused and the process lives on (before, the container was
/// made in the shared cgroup and its `delete` SIGKILLed the bystander).
fn bystander_in_cgroups_path_is_refused_and_spared(s: &Scratch) {
    if skipped_under_systemd("a cgroup made by hand as the cgroupsPath") {
        return;
    }
    let name = s.id("cgbystander");
    let mut bystander = Bystander::new(&name);
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{name}")));
    let id = s.id("cgbystander");
    let before = mount_points();
    let out = create(s, &bundle, &id);
    if out.code == 0 {
        s.pivot(&["delete", "--force", &id]);
        s.reap();
    }
    let alive = bystander.alive();
    drop(bystander);
    assert!(
        alive,
        "the bystander in the shared cgroup was killed:\n{out}"
    );
    assert_error_mentions(&out, &["cgroup is not empty"]);
    s.assert_nothing_left(&id, &before);
    let named = cgroups_named(&name);
    assert!(named.is_empty(), "cgroups named {name} left: {named:?}");
}

/// A process put by someone else into the cgroup of a running container
/// with a pid namespace of its own is not the container's: `delete
/// --force` kills the container (its init, and with it the namespace) and
/// leaves that process alone; the cgroup cannot be removed while it is
/// there, which `delete` may report. Before, `delete` SIGKILLed every
/// process of the cgroup.
fn delete_spares_a_process_put_into_its_cgroup(s: &Scratch) {
    // systemd's StopUnit kills every process of the scope (runc 1.5.1's
    // delete stops the unit: the intruder dies with it).
    if skipped_under_systemd("delete stops the unit, which kills all its processes") {
        return;
    }
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    let (id, pid) = started(s, &bundle, "cgintruder");
    let mut bystander = Bystander::spawn();
    for h in placement_hierarchies() {
        bystander.move_into(&h.dir(&path_in(&pid.to_string(), &h)));
    }
    let first = crate::harness::catch(|| s.pivot(&["delete", "--force", &id]));
    let alive = bystander.alive();
    drop(bystander);
    s.reap();
    let again = crate::harness::catch(|| s.pivot(&["delete", "--force", &id]).ok());
    assert!(
        alive,
        "delete --force killed a process that is not the container's: {first:?}"
    );
    let first = first.unwrap_or_else(|e| panic!("delete --force with the intruder: {e}"));
    eprintln!(
        "pivot-tests: delete --force with the intruder: exit {}: {}",
        first.code,
        first.stderr.trim()
    );
    again.unwrap_or_else(|e| panic!("delete --force once the intruder is gone: {e}"));
    assert!(!s.root.join(&id).exists(), "state dir remains");
}

/// Sub-cgroups made in the container's cgroup (as a container with a
/// writable cgroupfs does) are removed with it on delete, as runc does.
fn delete_removes_sub_cgroups(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let (id, pid) = started(s, &bundle, "cgsub");
    let pid = pid.to_string();
    let subs: Vec<PathBuf> = placement_hierarchies()
        .iter()
        .map(|h| h.dir(&path_in(&pid, h)).join("sub").join("deeper"))
        .collect();
    for d in &subs {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
    }
    stop_and_delete(s, &id);
    let parents: Vec<PathBuf> = subs
        .iter()
        .filter_map(|d| d.parent().and_then(Path::parent).map(Path::to_path_buf))
        .collect();
    assert_gone(&parents);
}

/// On cgroup v2, a container that moved its init into a child cgroup and
/// enabled a controller for its children has a cgroup that may hold no
/// process (EBUSY): an exec then joins the init's cgroup, as runc does
/// (runc's cgroups.bats "runc exec (cgroup v2 + init process in non-root
/// cgroup) succeeds").
fn exec_joins_the_init_cgroup_when_its_own_takes_no_process(s: &Scratch) {
    let all = placement_hierarchies();
    let Some(h) = all.iter().find(|h| h.v2).filter(|_| all.len() == 1) else {
        eprintln!("pivot-tests: skipped: needs a unified cgroup v2 host");
        return;
    };
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let (id, pid) = started(s, &bundle, "cgbusy");
    let dir = h.dir(&path_in(&pid.to_string(), h));
    let sub = dir.join("foo");
    std::fs::create_dir(&sub).unwrap_or_else(|e| panic!("mkdir {}: {e}", sub.display()));
    std::fs::write(sub.join("cgroup.procs"), pid.to_string())
        .unwrap_or_else(|e| panic!("move the init into {}: {e}", sub.display()));
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap();
    let ctl = ["pids", "memory"]
        .into_iter()
        .find(|c| controllers.split_whitespace().any(|x| x == *c))
        .unwrap_or_else(|| panic!("neither pids nor memory in {}", dir.display()));
    std::fs::write(dir.join("cgroup.subtree_control"), format!("+{ctl}"))
        .unwrap_or_else(|e| panic!("+{ctl} in {}: {e}", dir.display()));
    let out = s.pivot(&["exec", &id, "/probe", "cat", "/proc/self/cgroup"]);
    // `--cgroup /` names the container's own cgroup: no fallback there.
    let root = s.pivot(&["exec", "--cgroup", "/", &id, "/probe", "true"]);
    stop_and_delete(s, &id);
    assert_gone(&[dir]);
    // runc 1.5.1 with --systemd-cgroup has systemd attach the process and
    // words the errno as systemd does (`Failed to attach processes to
    // control group: Device or resource busy`).
    let root = root.fails();
    assert!(
        root.stderr.contains("adding pid ")
            && root
                .stderr
                .to_lowercase()
                .contains("device or resource busy"),
        "exec --cgroup / into a cgroup that takes no process: {root}"
    );
    let out = out.ok();
    let answer: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let cgroup = answer["content"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        cgroup.starts_with("0::") && cgroup.ends_with("/foo"),
        "the exec'd process is in {cgroup:?}, not the init's cgroup .../foo"
    );
}

/// A pod's parent cpuset cgroup made by hand is empty (no cpus, no mems),
/// so no child of it could take a task: as runc, the runtime fills it from
/// its own parent before the container's cgroup (cgroup v1 only).
fn empty_cpuset_parent_is_filled(s: &Scratch) {
    if skipped_under_systemd("a cgroupfs path under a cgroup made by hand") {
        return;
    }
    let Some(h) = hierarchies()
        .into_iter()
        .find(|h| !h.v2 && h.options.iter().any(|o| o == "cpuset"))
    else {
        eprintln!("pivot-tests: skipped: no cgroup v1 cpuset hierarchy on this host");
        return;
    };
    let pod = s.id("cgpod");
    let pod_dir = h.dir(&format!("{}/{pod}", own(&h)));
    std::fs::create_dir(&pod_dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", pod_dir.display()));
    let read = |d: &Path, f: &str| {
        std::fs::read_to_string(d.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    let check = std::panic::catch_unwind(|| {
        assert_eq!(
            read(&pod_dir, "cpuset.cpus"),
            "",
            "a new cpuset cgroup starts empty"
        );
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("{pod}/ctr")));
        let (id, pid) = started(s, &bundle, "cgpodctr");
        let parent = pod_dir.parent().unwrap();
        let ctr_dir = pod_dir.join("ctr");
        for f in ["cpuset.cpus", "cpuset.mems"] {
            assert_eq!(read(&pod_dir, f), read(parent, f), "{f} of the pod");
            assert_eq!(read(&ctr_dir, f), read(parent, f), "{f} of the container");
        }
        let procs = read(&ctr_dir, "cgroup.procs");
        assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
        stop_and_delete(s, &id);
    });
    // The cpuset pod cgroup is this test's: remove it (and what a failed
    // delete left); the runtime made the pod in the other hierarchies.
    let _ = std::fs::remove_dir(pod_dir.join("ctr"));
    std::fs::remove_dir(&pod_dir).unwrap_or_else(|e| panic!("rmdir {}: {e}", pod_dir.display()));
    check.unwrap_or_else(|e| std::panic::resume_unwind(e));
    parents_gone_or_removed(&parent_dirs(&pod, own));
}
