//! The test harness: one `Scratch` per test (its own directory and `--root`
//! state dir), helpers to run the runtime binary named by `PIVOT_BIN`, and a
//! teardown that always removes what a test made and reports what the
//! runtime left behind (containers' processes, mounts, cgroups).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use libtest_mimic::{Completion, Failed, Trial};
use serde_json::Value;

use crate::testuser::TestUser;

/// Spawning a command and writing an executable into a bundle exclude each
/// other. A child forked while another thread has a bundle's executable
/// open for writing holds that descriptor until its own exec, and a
/// container exec'ing the file in that window fails with ETXTBSY.
pub static SPAWN_LOCK: RwLock<()> = RwLock::new(());

use crate::host::{mount_points, try_reap, wait_for};
use crate::sys::{kill, umount_detach, Signal};

/// A test body. It asserts by panicking; the harness turns that into a
/// failure and still cleans up.
pub type TestFn = fn(&Scratch);

/// Builds the `TESTS` table of a test module from its function names.
macro_rules! tests {
    ($($f:ident),* $(,)?) => {
        pub const TESTS: &[(&str, $crate::harness::TestFn)] = &[$((stringify!($f), $f)),*];
    };
}
pub(crate) use tests;

/// How long a test waits for something a container does asynchronously
/// (a process to die, a file to appear). A bound, never an assertion.
pub const WAIT: Duration = Duration::from_secs(10);

/// Environment variable put into every container's environment; its value
/// is the scratch dir, so leftover container processes can be found in
/// `/proc/*/environ` whatever namespaces they are in.
pub const MARKER: &str = "PIVOT_TEST_SCRATCH";

static SCRATCH_SEQ: AtomicUsize = AtomicUsize::new(0);
pub(crate) static NAME_SEQ: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Where the last panic on this thread happened, for the failure text.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub fn pivot_bin() -> Option<PathBuf> {
    env_path("PIVOT_BIN")
}

/// Whether PIVOT_BIN is pivot: its `--version` starts with "pivot" (runc
/// or another runtime checking the tests themselves, under any file
/// name, has no explain, check or step timings).
pub fn is_pivot() -> bool {
    static IS_PIVOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IS_PIVOT.get_or_init(|| {
        let Some(bin) = pivot_bin() else {
            return false;
        };
        std::process::Command::new(bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("pivot"))
            .unwrap_or(false)
    })
}

pub fn probe_bin() -> Option<PathBuf> {
    env_path("PROBE_BIN")
}

/// A path from the environment, made absolute: the runtime is started with
/// other working directories. cargo runs this binary in tests/, so a
/// relative path is tried there and then from the workspace root.
fn env_path(var: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os(var)?);
    if path.is_absolute() {
        return Some(path);
    }
    let cwd = std::env::current_dir().ok()?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let candidates = [cwd.join(&path), workspace.join(&path)];
    let found = candidates.iter().find(|p| p.exists());
    Some(found.unwrap_or(&candidates[0]).clone())
}

/// Whether `PIVOT_BIN` is another runtime (runc, crun, under any file
/// name, such as runc-1.5.1), run to check the tests themselves, for which
/// pivot-only behaviour (its wording, its checks before the kernel) is not
/// asserted: not [`is_pivot`].
pub fn other_runtime() -> bool {
    pivot_bin().expect("PIVOT_BIN");
    !is_pivot()
}

/// Whether the runtime is driven with `--systemd-cgroup`
/// (`PIVOT_TEST_SYSTEMD=1`, on a host whose pid 1 is systemd, as
/// scripts/vm/systemd.sh runs the suite): every invocation gets the flag,
/// and a bundle without a `linux.cgroupsPath` gets
/// [`systemd_cgroups_path`] when a container is created from it.
pub fn systemd_cgroup() -> bool {
    std::env::var_os("PIVOT_TEST_SYSTEMD").is_some_and(|v| v == "1")
}

/// The `slice:prefix:name` cgroupsPath of container `id` under
/// `PIVOT_TEST_SYSTEMD=1`: the transient unit `pivot-test-ID.scope` in
/// system.slice, as containerd names its containers' scopes.
pub fn systemd_cgroups_path(id: &str) -> String {
    format!("system.slice:pivot-test:{id}")
}

/// The cgroup (as /proc/PID/cgroup shows it) of container `id`'s unit
/// under `PIVOT_TEST_SYSTEMD=1`.
pub fn systemd_cgroup_of(id: &str) -> String {
    format!("/system.slice/pivot-test-{id}.scope")
}

/// Whether a test that cannot apply with `--systemd-cgroup` (a cgroupfs
/// path, a cgroup made by hand) is skipped; says so.
pub fn skipped_under_systemd(why: &str) -> bool {
    if systemd_cgroup() {
        eprintln!("pivot-tests: skipped with --systemd-cgroup: {why}");
    }
    systemd_cgroup()
}

/// Whether the suite runs in its rootless mode (`PIVOT_TEST_ROOTLESS=1`):
/// every runtime invocation runs as a user made for the run
/// ([`rootless_user`]), on bundles the user owns, with a user namespace
/// mapping the user's own ids and its subordinate ranges
/// ([`rootless_mappings`]); the tests that need real root are skipped
/// (main.rs, `ROOTLESS_SKIP`).
pub fn rootless() -> bool {
    std::env::var_os("PIVOT_TEST_ROOTLESS").is_some_and(|v| v == "1")
}

/// The user of the rootless mode, made by [`init_rootless`].
static ROOTLESS_USER: std::sync::OnceLock<TestUser> = std::sync::OnceLock::new();

/// The user every runtime invocation runs as in the rootless mode.
pub fn rootless_user() -> Option<&'static TestUser> {
    ROOTLESS_USER.get()
}

/// Makes the rootless mode's user (named `PIVOT_TEST_ROOTLESS_USER`, by
/// default `pvrl<pid>x<n>`), with a subordinate id range and a 0700
/// $XDG_RUNTIME_DIR /tmp/pivot-test-<pid>-xdg of its own. Before any
/// test thread starts; [`remove_rootless_user`] removes it.
pub fn init_rootless() {
    let name = std::env::var("PIVOT_TEST_ROOTLESS_USER")
        .ok()
        .filter(|n| !n.is_empty());
    let xdg = std::env::temp_dir().join(format!("pivot-test-{}-xdg", std::process::id()));
    let user = TestUser::make(name, xdg);
    let (uid, gid) = (user.uid, user.gid);
    let ranges = (user.sub_range("/etc/subuid"), user.sub_range("/etc/subgid"));
    if ROOTLESS_USER.set(user).is_err() {
        panic!("init_rootless: called twice");
    }
    let (Some(su), Some(sg)) = ranges else {
        let left = remove_rootless_user();
        panic!("the rootless mode's user has no /etc/subuid or /etc/subgid range (left: {left:?})");
    };
    eprintln!(
        "pivot-tests: rootless mode: the runtime runs as uid {uid} gid {gid}, subordinate uids {}+{}, gids {}+{}",
        su.0, su.1, sg.0, sg.1
    );
}

/// Removes the rootless mode's user, its processes, its subordinate-id
/// lines and its $XDG_RUNTIME_DIR; returns what could not be removed.
pub fn remove_rootless_user() -> Vec<String> {
    rootless_user().map(TestUser::remove).unwrap_or_default()
}

/// The `linux.uidMappings` and `linux.gidMappings` of the rootless mode:
/// container id 0 is the user, 1 to 65536 its first subordinate range
/// (newuidmap and newgidmap write them), as a user who runs images with
/// several ids maps them.
pub fn rootless_mappings() -> (Value, Value) {
    let u = rootless_user().expect("rootless mode");
    let map = |own: u32, file: &str| {
        let (start, count) = u
            .sub_range(file)
            .unwrap_or_else(|| panic!("no {file} range of {}", u.name));
        serde_json::json!([
            {"containerID": 0, "hostID": own, "size": 1},
            {"containerID": 1, "hostID": start, "size": count.min(65536)},
        ])
    };
    (map(u.uid, "/etc/subuid"), map(u.gid, "/etc/subgid"))
}

/// In the rootless mode: hands `path` to the user (its uid and gid).
pub fn give_to_user(path: &Path) {
    if let Some(u) = rootless_user() {
        std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

/// A Unix socket bound at `path` that the runtime connects or sends to
/// (a console socket, a notify socket, a seccomp listener): the user's in
/// the rootless mode.
pub fn runtime_socket<'a, T>(
    path: &'a Path,
    bind: impl FnOnce(&'a Path) -> std::io::Result<T>,
) -> T {
    let sock = bind(path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
    give_to_user(path);
    sock
}

/// Debian's busybox-static, or `BUSYBOX` if set.
pub fn busybox_bin() -> PathBuf {
    std::env::var_os("BUSYBOX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/bin/busybox"))
}

/// Why the suite cannot run here, if it cannot.
pub fn skip_reason() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root".into());
    }
    let executable = |p: &Path| p.is_file();
    match pivot_bin() {
        None => return Some("PIVOT_BIN is not set".into()),
        Some(p) if !executable(&p) => {
            return Some(format!("PIVOT_BIN {} does not exist", p.display()))
        }
        Some(_) => {}
    }
    match probe_bin() {
        None => return Some("PROBE_BIN is not set".into()),
        Some(p) if !executable(&p) => {
            return Some(format!("PROBE_BIN {} does not exist", p.display()))
        }
        Some(_) => {}
    }
    let busybox = busybox_bin();
    if !executable(&busybox) {
        return Some(format!(
            "{} is missing (apt-get install busybox-static)",
            busybox.display()
        ));
    }
    None
}

/// Process-wide setup, once, before any test thread starts.
pub fn init_process() {
    // Container inits whose runtime process exited are reparented to us, not
    // to the host's pid 1, so the harness can reap them (as containerd's
    // shim does) and no zombie outlives a test.
    // (rustix passes the pid given as the flag: 1 sets it.)
    rustix::process::set_child_subreaper(rustix::process::Pid::from_raw(1))
        .expect("prctl(PR_SET_CHILD_SUBREAPER)");
    crate::host::record_host_nodes();
    // Failures are reported by the harness with their location; the default
    // hook would print them a second time, interleaved between threads.
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(location));
    }));
}

/// Wraps a test body into a libtest-mimic trial with setup and teardown;
/// `not_here` is why it does not run in this mode (reported as ignored,
/// with the reason).
pub fn trial(name: String, f: TestFn, skip: bool, not_here: Option<String>) -> Trial {
    let runner_name = name.clone();
    Trial::ignorable_test(name, move || match not_here {
        Some(why) => Ok(Completion::ignored_with(why)),
        None => run_one(&runner_name, f),
    })
    .with_ignored_flag(skip)
}

fn run_one(name: &str, f: TestFn) -> Result<Completion, Failed> {
    let scratch = Scratch::new(name);
    let outcome = catch(|| f(&scratch));
    let leftovers = scratch.teardown();
    drop(scratch); // removes the scratch dir
    match (outcome, leftovers.is_empty()) {
        (Err(msg), true) => Err(msg.into()),
        (Err(msg), false) => {
            Err(format!("{msg}\nand left behind:\n  {}", leftovers.join("\n  ")).into())
        }
        (Ok(()), false) => Err(format!("left behind:\n  {}", leftovers.join("\n  ")).into()),
        (Ok(()), true) => Ok(Completion::Completed),
    }
}

/// Runs `f`, turning a panic into its message with the place it happened.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let location = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_default();
        format!("{location}: {}", panic_message(payload.as_ref()))
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "panic".to_string()
    }
}

/// pivot's cache of compiled seccomp filters under `--root`: not a
/// container's state (it stays, like a compiler's cache), so not a leftover.
pub const SECCOMP_CACHE: &str = "pivot@seccomp";

/// One test's private world: `dir` is /tmp/pivot-test-*, `root` the state
/// dir passed as `--root`, and every container id it hands out starts with
/// `id_prefix` (contains "pivot-t", unique on the machine, so cgroups and
/// leaks can be traced back).
pub struct Scratch {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub(crate) id_prefix: String,
    /// Container init pids seen by this test, to reap once they exit.
    pub(crate) pids: Mutex<BTreeSet<i32>>,
    /// The host's mount points when the test began.
    mounts_before: BTreeSet<String>,
    torn_down: AtomicBool,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let tmp = std::env::temp_dir();
        let (dir, seq) = loop {
            let seq = SCRATCH_SEQ.fetch_add(1, Ordering::SeqCst);
            let dir = tmp.join(format!("pivot-test-{}-{seq}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break (dir, seq),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("mkdir {}: {e}", dir.display()),
            }
        };
        std::fs::create_dir(dir.join("io")).expect("mkdir io");
        // A note for whoever finds a leftover dir.
        let note = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join("TEST"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, name.as_bytes()));
        note.expect("write TEST note");
        // The rootless mode's user owns the scratch dir (files the runtime
        // writes there: pid files, logs) and its --root.
        let root = dir.join("state");
        if rootless_user().is_some() {
            give_to_user(&dir);
            std::fs::create_dir(&root).expect("mkdir state");
            let mode = std::os::unix::fs::PermissionsExt::from_mode(0o700);
            std::fs::set_permissions(&root, mode).expect("chmod state");
            give_to_user(&root);
        }
        Scratch {
            root,
            dir,
            id_prefix: format!("pivot-t-{}-{seq}-", std::process::id()),
            pids: Mutex::new(BTreeSet::new()),
            mounts_before: mount_points(),
            torn_down: AtomicBool::new(false),
        }
    }

    /// A fresh container id, unique on this machine, containing `tag`.
    pub fn id(&self, tag: &str) -> String {
        let n = NAME_SEQ.fetch_add(1, Ordering::SeqCst);
        format!("{}{tag}{n}", self.id_prefix)
    }

    /// A fresh path inside the scratch dir (not created).
    pub fn path(&self, tag: &str) -> PathBuf {
        let n = NAME_SEQ.fetch_add(1, Ordering::SeqCst);
        self.dir.join(format!("{tag}{n}"))
    }

    /// A fresh empty directory inside the scratch dir (the user's in the
    /// rootless mode).
    pub fn mkdir(&self, tag: &str) -> PathBuf {
        let dir = self.path(tag);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        give_to_user(&dir);
        dir
    }

    /// Removes every container, process, mount and cgroup of the test;
    /// returns what was still there after the runtime's own `delete`.
    fn teardown(&self) -> Vec<String> {
        self.torn_down.store(true, Ordering::SeqCst);
        let mut left = Vec::new();
        // Processes the test remembered (inits, detached exec processes)
        // go first: orphans are this harness's children (subreaper), and
        // their zombies would keep a container's init from finishing its
        // exit until reaped, so delete would wait for nothing.
        let known: Vec<i32> = self.pids.lock().unwrap().iter().copied().collect();
        for pid in known {
            let _ = kill(pid, Signal::KILL);
        }
        wait_for(Duration::from_secs(2), || {
            self.reap();
            self.pids.lock().unwrap().is_empty()
        });
        // The runtime's own cleanup first: delete --force everything it
        // lists, and anything in --root it may have failed to list.
        let mut ids = BTreeSet::new();
        if let Ok(out) = catch(|| self.pivot(&["list", "-q"])) {
            ids.extend(out.stdout.split_whitespace().map(str::to_string));
        }
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            ids.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != SECCOMP_CACHE),
            );
        }
        for id in &ids {
            let id = id.as_str();
            if let Ok(out) = catch(|| self.pivot(&["state", id])) {
                if let Ok(state) = serde_json::from_str::<Value>(&out.stdout) {
                    if let Some(pid) = state["pid"].as_i64().filter(|p| *p > 0) {
                        self.remember_pid(pid as i32);
                    }
                }
            }
            let _ = catch(|| self.pivot(&["delete", "--force", id]));
        }
        // Processes die asynchronously after SIGKILL; give them the bound.
        let mut procs = Vec::new();
        wait_for(WAIT, || {
            self.reap();
            procs = self.find_processes();
            procs.is_empty()
        });
        if !procs.is_empty() {
            left.push(format!("processes {procs:?}"));
            for &pid in &procs {
                let _ = kill(pid, Signal::KILL);
                // Orphans are our children (subreaper): reap them too.
                self.remember_pid(pid);
            }
            wait_for(WAIT, || {
                self.reap();
                self.find_processes().is_empty()
            });
        }
        // Remembered inits that are still zombies or alive.
        let pids: Vec<i32> = self.pids.lock().unwrap().iter().copied().collect();
        for pid in pids {
            if !wait_for(WAIT, || try_reap(pid)) {
                left.push(format!("process {pid} did not exit"));
            }
        }
        let cgroups = self.find_cgroups();
        if !cgroups.is_empty() {
            left.push(format!("cgroups {cgroups:?}"));
            // Deepest first; a cgroup dir is removed with rmdir only.
            let mut sorted = cgroups;
            sorted.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
            for dir in sorted {
                let _ = std::fs::remove_dir(dir);
            }
        }
        let mounts = self.own_mounts();
        if !mounts.is_empty() {
            left.push(format!("mounts {mounts:?}"));
            // Deepest first, detached: remove_dir_all must never descend
            // into something mounted from elsewhere.
            let mut sorted = mounts;
            sorted.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in sorted {
                let _ = umount_detach(&m);
            }
        }
        // Mounts elsewhere on the host: reported, never touched.
        let (added, removed) = self.mount_changes(&self.mounts_before);
        if !added.is_empty() {
            left.push(format!("new host mounts {added:?}"));
        }
        if !removed.is_empty() {
            left.push(format!("host mounts gone {removed:?}"));
        }
        left.extend(crate::host::restore_host_nodes());
        if self.root.is_dir() {
            let names: Vec<_> = std::fs::read_dir(&self.root)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n != SECCOMP_CACHE)
                        .collect()
                })
                .unwrap_or_default();
            if !names.is_empty() {
                left.push(format!(
                    "state entries {names:?} in {}",
                    self.root.display()
                ));
            }
        }
        left
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.torn_down.load(Ordering::SeqCst) {
            for problem in self.teardown() {
                eprintln!("pivot-tests: {}: left behind {problem}", self.dir.display());
            }
        }
        // Never remove across a mount point that is somehow still there.
        if !self.own_mounts().is_empty() {
            eprintln!("pivot-tests: keeping {}: mounts remain", self.dir.display());
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("pivot-tests: remove {}: {e}", self.dir.display());
        }
    }
}
