//! Tooling shared by the attack tests (`hostile`, `escape`): host
//! canaries and what they looked like, the host check a test ends with
//! whatever its own checks found, symlinks planted in an image, and a
//! thread that keeps exchanging two paths while containers start.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::fs::{renameat_with, RenameFlags, CWD};

use crate::bundle::Bundle;
use crate::harness::{catch, Scratch};

/// Owner and modes of canaries: distinctive, so that a chown or chmod
/// through a symlink shows.
pub const CANARY_UID: u32 = 4321;
pub const CANARY_GID: u32 = 4322;
pub const CANARY_FILE_MODE: u32 = 0o640;
pub const CANARY_DIR_MODE: u32 = 0o750;

/// A host file in the scratch dir (named `name` and a number) that no
/// container may touch.
pub fn canary_file(s: &Scratch, name: &str) -> PathBuf {
    let path = s.path(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("create canary");
    f.write_all(format!("canary {name}\n").as_bytes())
        .expect("write canary");
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(CANARY_FILE_MODE))
        .expect("chmod canary");
    std::os::unix::fs::lchown(&path, Some(CANARY_UID), Some(CANARY_GID)).expect("chown canary");
    path
}

/// A host directory (holding one file) that no container may touch.
pub fn canary_dir(s: &Scratch, name: &str) -> PathBuf {
    let dir = s.mkdir(name);
    let keep = dir.join("keep");
    std::fs::write(&keep, "canary\n").expect("write canary/keep");
    std::os::unix::fs::lchown(&keep, Some(CANARY_UID), Some(CANARY_GID))
        .expect("chown canary/keep");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(CANARY_DIR_MODE))
        .expect("chmod canary dir");
    std::os::unix::fs::lchown(&dir, Some(CANARY_UID), Some(CANARY_GID)).expect("chown canary dir");
    dir
}

/// Everything observable about `path` (lstat, content or link target)
/// and, for a directory, about every entry under it.
pub fn snapshot(path: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    snapshot_into(path, path, &mut lines);
    lines
}

fn snapshot_into(base: &Path, path: &Path, lines: &mut Vec<String>) {
    let rel = path
        .strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            lines.push(format!("{rel:?}: {e}"));
            return;
        }
    };
    let kind = meta.file_type();
    let what = if kind.is_symlink() {
        format!("symlink -> {:?}", std::fs::read_link(path).ok())
    } else if kind.is_file() {
        let data = std::fs::read(path).unwrap_or_default();
        format!("file {:?}", String::from_utf8_lossy(&data))
    } else if kind.is_dir() {
        "dir".to_string()
    } else {
        format!(
            "other {:#o} rdev {:#x}",
            meta.mode() & libc::S_IFMT,
            meta.rdev()
        )
    };
    lines.push(format!(
        "{rel:?}: {what} mode={:o} owner={}:{} ino={} nlink={} mtime={}.{} ctime={}.{}",
        meta.mode(),
        meta.uid(),
        meta.gid(),
        meta.ino(),
        meta.nlink(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    ));
    if kind.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for entry in entries {
            snapshot_into(base, &entry, lines);
        }
    }
}

/// Host paths and what they looked like when the test began.
pub struct Canaries(pub Vec<(PathBuf, Vec<String>)>);

impl Canaries {
    pub fn new(paths: &[&Path]) -> Canaries {
        Canaries(
            paths
                .iter()
                .map(|p| (p.to_path_buf(), snapshot(p)))
                .collect(),
        )
    }

    #[track_caller]
    pub fn assert_unchanged(&self) {
        for (path, before) in &self.0 {
            let now = snapshot(path);
            assert_eq!(
                &now,
                before,
                "host canary {} changed:\nbefore: {before:#?}\nnow: {now:#?}",
                path.display()
            );
        }
    }
}

/// Runs a test's checks of the outcome (`body`), then, whatever they
/// found, the host checks (`host`); fails with every message.
#[track_caller]
pub fn checked_with(body: impl FnOnce(), host: impl FnOnce()) {
    let outcome = catch(body);
    let host = catch(host);
    match (outcome, host) {
        (Ok(()), Ok(())) => {}
        (Err(msg), Ok(())) | (Ok(()), Err(msg)) => panic!("{msg}"),
        (Err(msg), Err(host)) => {
            // The body may have run the same host check (a race does,
            // after each container): say it once.
            let text = |m: &str| m.split_once(": ").map(|(_, t)| t.to_string());
            if text(&msg) == text(&host) {
                panic!("{msg}");
            }
            panic!("{msg}\nand on the host: {host}");
        }
    }
}

pub fn host_str(p: &Path) -> String {
    p.to_str().expect("scratch paths are UTF-8").to_string()
}

/// `path` inside the rootfs of `bundle` (host path `rootfs/<path>`).
pub fn in_rootfs(bundle: &Bundle, path: impl AsRef<Path>) -> PathBuf {
    let path = path.as_ref();
    bundle.rootfs().join(path.strip_prefix("/").unwrap_or(path))
}

/// A relative symlink target that climbs from the directory of `link`
/// up to the host's `/` and then down to `target` (an absolute host
/// path): on the host it names `target`; resolved inside the root it
/// names `target` inside the rootfs.
pub fn climbing(link: &Path, target: &Path) -> String {
    let depth = link
        .parent()
        .expect("link has a parent")
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    format!(
        "{}{}",
        "../".repeat(depth),
        target.strip_prefix("/").unwrap_or(target).display()
    )
}

/// Replaces `rootfs/<name>` (a dir, a file or nothing) with a symlink to
/// `target`.
pub fn symlink_in_rootfs(bundle: &Bundle, name: &str, target: &str) -> PathBuf {
    let link = in_rootfs(bundle, name);
    remove_any(&link);
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir parent");
    std::os::unix::fs::symlink(target, &link)
        .unwrap_or_else(|e| panic!("symlink {} -> {target}: {e}", link.display()));
    link
}

pub fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).expect("remove dir"),
        Ok(_) => std::fs::remove_file(path).expect("remove file"),
        Err(_) => {}
    }
}

/// Removes the mounts whose destination is `dest` from config.json.
pub fn remove_mount(bundle: &Bundle, dest: &str) {
    bundle.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .retain(|m| m["destination"] != dest);
    });
}

/// A thread exchanging two paths with renameat2(RENAME_EXCHANGE) until
/// stopped, dropped (also while unwinding), or `bound` passes.
pub struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Swapper {
    pub fn start(a: &Path, b: &Path, bound: Duration) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let (a, b) = (a.to_path_buf(), b.to_path_buf());
        let thread = {
            let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
            std::thread::spawn(move || {
                let deadline = Instant::now() + bound;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    for _ in 0..64 {
                        if renameat_with(CWD, &a, CWD, &b, RenameFlags::EXCHANGE).is_ok() {
                            swaps.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::yield_now();
                }
            })
        };
        Swapper {
            stop,
            swaps,
            thread: Some(thread),
        }
    }

    /// Stops and joins the thread; returns how many exchanges it made
    /// (at least one).
    #[track_caller]
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("swapper thread");
        }
        let n = self.swaps.load(Ordering::Relaxed);
        assert!(n > 0, "the swapper never exchanged the paths");
        n
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Nothing mounted under the scratch dir (the attack tests mount nothing
/// there themselves), and the host mount table as it was (`before`).
#[track_caller]
pub fn assert_mounts_untouched(s: &Scratch, before: &BTreeSet<String>) {
    let own = s.own_mounts();
    assert!(own.is_empty(), "mounts under the scratch dir: {own:?}");
    let (added, removed) = s.mount_changes(before);
    assert!(added.is_empty(), "new host mounts: {added:?}");
    assert!(removed.is_empty(), "host mounts gone: {removed:?}");
}
