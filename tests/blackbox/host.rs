//! What the host shows of a test's containers: processes (by the marker in
//! their environment or a file they hold in the scratch dir), cgroups (named
//! after the ids), mounts (/proc/self/mountinfo), and reaping of exited inits.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::{Scratch, MARKER};

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
}

/// Reaps `pid` if it is our exited child. True when it is gone for good
/// (reaped now, or not our child / no such process).
pub fn try_reap(pid: i32) -> bool {
    let Ok(child) = crate::sys::pid_of(pid) else {
        return true;
    };
    match rustix::process::waitpid(Some(child), rustix::process::WaitOptions::NOHANG) {
        Ok(None) => false,
        Ok(Some(_)) => true,
        Err(_) => !process_alive(pid), // ECHILD: not ours; gone when it is gone
    }
}

fn has_marker(pid: i32, marker: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
        .unwrap_or(false)
}

/// Whether `pid` has its cwd or an open fd under `prefix` (a dir path
/// ending in "/").
fn uses_dir(pid: i32, prefix: &str) -> bool {
    let under = |link: PathBuf| {
        std::fs::read_link(link)
            .map(|target| target.to_string_lossy().starts_with(prefix))
            .unwrap_or(false)
    };
    if under(PathBuf::from(format!("/proc/{pid}/cwd"))) {
        return true;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok()).any(|fd| under(fd.path()))
}

/// Whether `pid` names a live (non-zombie) process.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the ")" that ends the command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Mount points in /proc/self/mountinfo, unescaped.
pub fn mount_points() -> BTreeSet<String> {
    crate::mountinfo::host_mounts()
        .into_iter()
        .map(|m| m.mount_point.to_string_lossy().into_owned())
        .collect()
}

/// Whether `path` belongs to another test's scratch dir (tests run in
/// parallel; their mounts are theirs to account for).
pub fn is_other_tests_path(path: &str, own: &Path) -> bool {
    let own = own.to_string_lossy();
    let tmp = std::env::temp_dir();
    let scratch_prefix = format!("{}/pivot-test-", tmp.display());
    path.starts_with(&scratch_prefix) && !(path == own || path.starts_with(&format!("{own}/")))
}

/// Directories below `dir` (to `depth` levels) whose name starts with `prefix`.
pub fn find_dirs_named(dir: &Path, prefix: &str, depth: usize, found: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            found.push(path.clone());
        }
        find_dirs_named(&path, prefix, depth - 1, found);
    }
}

impl Scratch {
    pub fn remember_pid(&self, pid: i32) {
        self.pids.lock().unwrap().insert(pid);
    }

    /// Reaps every remembered container init that has exited. Only known
    /// pids are waited for: waitpid(-1) would steal the exit status of a
    /// runtime invocation on another test thread.
    pub fn reap(&self) {
        let mut pids = self.pids.lock().unwrap();
        pids.retain(|&pid| !try_reap(pid));
    }

    /// Whether a process with this pid exists (a zombie counts as gone).
    pub fn alive(&self, pid: i32) -> bool {
        self.reap();
        process_alive(pid)
    }

    /// Asserts that a failed command left no trace of container `id`: no
    /// state dir, nothing in `list`, no new mount, no cgroup, no process.
    #[track_caller]
    pub fn assert_nothing_left(&self, id: &str, mounts_before: &BTreeSet<String>) {
        let state_dir = self.root.join(id);
        if !id.is_empty() {
            assert!(
                !state_dir.exists(),
                "state dir {} exists",
                state_dir.display()
            );
        }
        let ids = self.list_ids();
        assert!(ids.is_empty(), "list -q shows {ids:?}");
        let (added, removed) = self.mount_changes(mounts_before);
        assert!(added.is_empty(), "new mounts: {added:?}");
        assert!(removed.is_empty(), "mounts gone: {removed:?}");
        let cgroups = self.find_cgroups();
        assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
        // Another test's freshly forked child holds this test's files for
        // the instant between fork and exec: only what stays is a leak.
        let mut procs = self.find_processes();
        if !procs.is_empty() {
            wait_for(Duration::from_secs(2), || {
                procs = self.find_processes();
                procs.is_empty()
            });
        }
        assert!(procs.is_empty(), "container processes left: {procs:?}");
        if self.root.is_dir() {
            let names: Vec<_> = std::fs::read_dir(&self.root)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != crate::harness::SECCOMP_CACHE)
                .collect();
            assert!(names.is_empty(), "entries left in --root: {names:?}");
        }
    }

    /// Processes of this test's containers that still exist: those whose
    /// environment carries the marker (after exec), and those holding a file
    /// or working directory in the scratch dir (an init not yet exec'd still
    /// has the caller's stdio, which the harness points into the scratch dir).
    pub fn find_processes(&self) -> Vec<i32> {
        let marker = format!("{MARKER}={}", self.dir.display());
        let prefix = format!("{}/", self.dir.display());
        let own = std::process::id() as i32;
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| pid != own && process_alive(pid))
            .filter(|&pid| has_marker(pid, &marker) || uses_dir(pid, &prefix))
            .collect()
    }

    /// Cgroup directories named after this test's container ids.
    pub fn find_cgroups(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        find_dirs_named(Path::new("/sys/fs/cgroup"), &self.id_prefix, 5, &mut found);
        found
    }

    /// Mount points added and removed since `before`, leaving out other
    /// tests' scratch dirs (they run in parallel and account for their own).
    pub(crate) fn mount_changes(&self, before: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
        let now = mount_points();
        // systemd mounts a user's runtime dir, /run/user/UID, while its
        // instance runs (a rootless test's user session, started and
        // stopped by that test): never the runtime's.
        let mine = |m: &&String| !is_other_tests_path(m, &self.dir) && !m.starts_with("/run/user/");
        let added = now.difference(before).filter(mine).cloned().collect();
        let removed = before.difference(&now).filter(mine).cloned().collect();
        (added, removed)
    }

    /// Mount points under the scratch dir in the host's mount namespace.
    pub(crate) fn own_mounts(&self) -> Vec<String> {
        let prefix = format!("{}/", self.dir.display());
        mount_points()
            .into_iter()
            .filter(|m| m.starts_with(&prefix) || *m == self.dir.to_string_lossy())
            .collect()
    }
}

/// The host's device nodes a runtime could be fooled into changing (a
/// user namespace's root chowning its stdio when that is the host's
/// /dev/null, as crun 1.8.1 does): path, uid, gid, mode.
const HOST_NODES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

static HOST_NODE_OWNERS: std::sync::OnceLock<Vec<(&'static str, u32, u32, u32)>> =
    std::sync::OnceLock::new();

fn node_owners() -> Vec<(&'static str, u32, u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    HOST_NODES
        .iter()
        .filter_map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((*p, m.uid(), m.gid(), m.mode() & 0o7777))
        })
        .collect()
}

/// Remember the owners and modes of the host's device nodes (at start).
pub fn record_host_nodes() {
    HOST_NODE_OWNERS.get_or_init(node_owners);
}

/// Host device nodes whose owner or mode changed since the start, each
/// put back; one line per node saying what it had become.
pub fn restore_host_nodes() -> Vec<String> {
    let Some(before) = HOST_NODE_OWNERS.get() else {
        return Vec::new();
    };
    let now = node_owners();
    let mut changed = Vec::new();
    for &(path, uid, gid, mode) in before {
        let Some(&(_, u, g, m)) = now.iter().find(|n| n.0 == path) else {
            continue;
        };
        if (u, g, m) != (uid, gid, mode) {
            let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
            let _ =
                std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode));
            changed.push(format!(
                "host {path} changed: owner {u}:{g} mode {m:o}, was {uid}:{gid} {mode:o} (put back)"
            ));
        }
    }
    changed
}
