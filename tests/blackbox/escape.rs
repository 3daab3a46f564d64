//! Escape regressions, one per class of public advisory that is not about
//! the image's own paths (those are in hostile.rs): the runtime binary
//! reached through /proc/<pid>/exe (CVE-2019-5736), host fds leaked to the
//! container or reached with ptrace (CVE-2016-9962, CVE-2024-21626), a
//! fake procfs or mounts over the /proc files the runtime writes
//! (CVE-2019-16884, CVE-2025-52881), a bind source swapped while
//! containers start (CVE-2024-45310), and /dev/console raced with a
//! symlink (CVE-2025-52565).
//!
//! Every test runs a copy of the runtime (`PIVOT_BIN`) made in its scratch
//! dir, so that an attack that works damages only the copy. The attacks
//! aim only at canaries in the scratch dir (files and directories with a
//! distinctive mode and owner) and at the container's own namespaced
//! state; writability is checked by opening, never by writing. Whatever
//! the outcome, each test ends by checking the host (`Guard`): canaries
//! unchanged (content, type, mode, owner, inode, times, entries), the
//! runtime copy byte for byte as copied, nothing mounted under the scratch
//! dir and the host mount table as before, the host's /dev entries as
//! before, and no entry named like the attacks' objects in /, /tmp, /run
//! or /dev (a name filter: other programs use /tmp meanwhile).
//!
//! The in-container attackers are `probe exe-hunt` and `probe ptrace-hunt`
//! (crates/probe/src/hunt.rs): they loop over /proc until `/result/stop`
//! exists and write `/result/report.json`.
//!
//! Races are bounded in iterations and in time; their deterministic
//! forms (a created container's init, which waits as the runtime's own
//! image until `start`, attacked from a second container joining its pid
//! namespace) carry the hard assertions.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CString, OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{catch, pivot_bin, tests, Scratch, WAIT};
use crate::host::{mount_points, wait_for};
use crate::runtime::Out;

tests![
    exe_of_created_init_from_sibling,
    exe_of_created_init_from_sibling_with_ptrace_cap,
    exe_of_exec_process,
    exe_of_exec_process_with_ptrace_cap,
    exe_of_exec_into_pod_sibling_with_ptrace_cap,
    exe_of_exec_in_flight_when_pod_sibling_with_ptrace_cap_joins,
    exe_of_init_from_start_hook_with_ptrace_cap,
    exe_of_created_init_from_exec_with_ptrace_cap,
    exe_of_created_init_from_exec_cap_ptrace,
    ptrace_created_init_runs_only_what_seccomp_allows,
    exe_of_exec_into_pod_member_while_exec_cap_ptrace_hunts,
    leaked_fds_not_in_init,
    leaked_fds_not_in_exec,
    preserve_fds_passes_exactly_those,
    cwd_proc_self_fd,
    exec_cwd_proc_self_fd,
    ptrace_created_init_from_sibling,
    ptrace_created_init_from_sibling_with_ptrace_cap,
    ptrace_exec_process,
    ptrace_exec_process_with_ptrace_cap,
    pod_sibling_with_ptrace_cap_reaches_no_host_root,
    tmpfs_on_proc_with_sysctl,
    bind_on_proc_with_sysctl,
    bind_over_proc_sys_with_sysctl,
    race_bind_source_exchange,
    race_mkdir_in_shared_volume,
    console_symlink_to_host_canary,
    console_symlink_climbing_to_host_canary,
    console_symlink_into_proc,
    race_console_symlink_exchange,
    bind_over_sysctl_file,
    symlink_destination_into_proc_sys,
    bind_over_proc_self_attr,
    bind_over_oom_score_adj,
    race_destination_exchange_into_proc,
    exec_without_mount_namespace_stays_in_its_root,
    sysctl_in_joined_host_network_namespace_is_refused,
    preserve_fds_beyond_open_fds,
];

// ---------------------------------------------------------------------
// The runtime under test: a copy in the scratch dir

/// How long one invocation of the runtime may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// The runtime binary (`PIVOT_BIN`) copied into the scratch dir: every
/// command of an escape test runs the copy, so an attack on the binary
/// can only damage the copy, which `Guard` compares byte for byte.
struct Rt {
    bin: PathBuf,
    bytes: Vec<u8>,
}

impl Rt {
    fn new(s: &Scratch) -> Rt {
        let original = pivot_bin().expect("PIVOT_BIN");
        let bytes =
            std::fs::read(&original).unwrap_or_else(|e| panic!("read {}: {e}", original.display()));
        let dir = s.mkdir("esc-runtime");
        // The same file name, so the runtime's processes have their usual
        // comm ("pivot", "runc", "crun").
        let bin = dir.join(original.file_name().expect("PIVOT_BIN names a file"));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&bin)
            .unwrap_or_else(|e| panic!("create {}: {e}", bin.display()));
        f.write_all(&bytes).expect("write the runtime copy");
        drop(f);
        Rt { bin, bytes }
    }

    fn dev_ino(&self) -> (u64, u64) {
        let m = std::fs::metadata(&self.bin).expect("stat the runtime copy");
        (m.dev(), m.ino())
    }

    /// `COPY --root <root> ARGS...` in the scratch dir, stdin /dev/null,
    /// stdout and stderr into files, and `leaks` (fd of this process, fd
    /// number the runtime gets) open in the runtime without close-on-exec.
    fn cmd_leaking<S: AsRef<OsStr>>(
        &self,
        s: &Scratch,
        args: &[S],
        leaks: &[(RawFd, RawFd)],
    ) -> Out {
        let mut all: Vec<OsString> = vec!["--root".into(), s.root.clone().into_os_string()];
        all.extend(args.iter().map(|a| a.as_ref().to_os_string()));
        if std::env::var_os("PIVOT_TEST_NO_PIVOT").is_some_and(|v| v == "1")
            && !all.iter().any(|a| a == "--no-pivot")
        {
            if let Some(i) = all.iter().position(|a| a == "create" || a == "run") {
                all.insert(i + 1, "--no-pivot".into());
            }
        }
        run_leaking(s, &self.bin, &all, leaks)
    }

    fn cmd<S: AsRef<OsStr>>(&self, s: &Scratch, args: &[S]) -> Out {
        self.cmd_leaking(s, args, &[])
    }

    fn create(&self, s: &Scratch, bundle: &Bundle, id: &str) -> Out {
        self.cmd(
            s,
            &[os("create"), os("--bundle"), bundle.dir.as_os_str(), os(id)],
        )
    }

    /// `create` that must succeed; returns the init's pid.
    #[track_caller]
    fn created(&self, s: &Scratch, bundle: &Bundle, id: &str) -> i32 {
        self.create(s, bundle, id).ok();
        init_pid(s, id)
    }

    fn run(&self, s: &Scratch, bundle: &Bundle, id: &str) -> Out {
        self.cmd(
            s,
            &[os("run"), os("--bundle"), bundle.dir.as_os_str(), os(id)],
        )
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// The pid `state` reports for a created or running container.
#[track_caller]
fn init_pid(s: &Scratch, id: &str) -> i32 {
    let state = s.state(id);
    state["pid"].as_i64().expect("state.pid") as i32
}

/// Runs `bin args` (fork and execve by hand: the leaked fds must reach
/// exactly the numbers asked for, which `Command` cannot promise), with
/// the same stdio and timeout as the harness's runner.
fn run_leaking(s: &Scratch, bin: &Path, args: &[OsString], leaks: &[(RawFd, RawFd)]) -> Out {
    let shown = std::iter::once(bin.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let base = s.path("esc-io-");
    let out_path = base.with_extension("out");
    let err_path = base.with_extension("err");
    let create = |p: &Path| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
    };
    let (out, err) = (create(&out_path), create(&err_path));
    let null = File::open("/dev/null").expect("open /dev/null");
    let cstr = |b: &[u8]| CString::new(b).expect("no NUL in arguments");
    let path = cstr(bin.as_os_str().as_bytes());
    let cwd = cstr(s.dir.as_os_str().as_bytes());
    let argv_c: Vec<CString> = std::iter::once(path.clone())
        .chain(args.iter().map(|a| cstr(a.as_bytes())))
        .collect();
    let env_c: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            cstr(&kv)
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    assert!(leaks.len() <= 8, "at most 8 leaked fds");
    let mut tries = 0;
    let pid = loop {
        let mut pipe = [-1; 2];
        // SAFETY: pipe2 fills a two-element array.
        assert_eq!(
            unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
            0
        );
        // SAFETY: both fds were just made and are ours.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
        // SAFETY: fork in a threaded process: the child only makes
        // async-signal-safe calls (fcntl, dup2, chdir, execve, write,
        // _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: see above; every pointer is to live, prepared memory.
            unsafe {
                let report = libc::fcntl(wr.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 100);
                let mut high = [-1; 8];
                for (i, (src, _)) in leaks.iter().enumerate() {
                    high[i] = libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, 110);
                }
                libc::dup2(null.as_raw_fd(), 0);
                libc::dup2(out.as_raw_fd(), 1);
                libc::dup2(err.as_raw_fd(), 2);
                for (i, (_, target)) in leaks.iter().enumerate() {
                    libc::dup2(high[i], *target);
                }
                libc::chdir(cwd.as_ptr());
                libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
                let errno = *libc::__errno_location();
                libc::write(report, (&errno as *const i32).cast(), 4);
                libc::_exit(127);
            }
        }
        drop(wr);
        let mut buf = [0u8; 4];
        // SAFETY: reading into a 4-byte buffer; EOF means execve worked.
        let n = unsafe { libc::read(rd.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
        if n != 4 {
            break pid;
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let errno = i32::from_ne_bytes(buf);
        // Another thread may hold the copy open for writing for the
        // instant between its fork and exec: retry.
        tries += 1;
        assert!(
            errno == libc::ETXTBSY && tries < 100,
            "execve {shown}: {}",
            std::io::Error::from_raw_os_error(errno)
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        let mut status = 0;
        // SAFETY: waiting for our own child, without blocking.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            break status;
        }
        if Instant::now() >= deadline {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("{shown}: still running after {COMMAND_TIMEOUT:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Out {
        cmd: shown,
        code,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Host objects handed to the runtime as open fds it was not told about:
/// a file and the scratch dir (at fds 3 and 4), and a listening socket
/// (fd 5).
struct Leaks {
    file: File,
    dir: File,
    sock: UnixListener,
}

impl Leaks {
    fn new(s: &Scratch) -> Leaks {
        let path = s.path("esc-leaked-file");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("create the leaked file");
        f.write_all(b"leaked\n").expect("write the leaked file");
        drop(f);
        Leaks {
            file: File::open(&path).expect("open the leaked file"),
            dir: File::open(&s.dir).expect("open the scratch dir"),
            sock: UnixListener::bind(s.path("esc-leaked.sock")).expect("bind the leaked socket"),
        }
    }

    fn fds(&self) -> [(RawFd, RawFd); 3] {
        [
            (self.file.as_raw_fd(), 3),
            (self.dir.as_raw_fd(), 4),
            (self.sock.as_raw_fd(), 5),
        ]
    }
}

// ---------------------------------------------------------------------
// Canaries and the host checks

const CANARY_UID: u32 = 4321;
const CANARY_GID: u32 = 4322;
const CANARY_FILE_MODE: u32 = 0o640;
const CANARY_DIR_MODE: u32 = 0o750;

/// Every object an attack names starts with this, so that one appearing
/// outside the scratch dir can be told from the host's own activity.
const TAG: &str = "esc-";

/// A host file in the scratch dir that no container may touch.
fn canary_file(s: &Scratch, tag: &str) -> PathBuf {
    let path = s.path(&format!("{TAG}{tag}"));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("create canary");
    f.write_all(format!("canary {tag}\n").as_bytes())
        .expect("write canary");
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(CANARY_FILE_MODE))
        .expect("chmod canary");
    std::os::unix::fs::lchown(&path, Some(CANARY_UID), Some(CANARY_GID)).expect("chown canary");
    path
}

/// A host directory (holding one file) that no container may touch.
fn canary_dir(s: &Scratch, tag: &str) -> PathBuf {
    let dir = s.mkdir(&format!("{TAG}{tag}"));
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
fn snapshot(path: &Path) -> Vec<String> {
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

/// The host's /dev, top level (its own mounts, pts, shm and mqueue, are
/// left out): type, device numbers, mode, owner and inode per entry.
/// Times are left out: using a device node updates them. Entries that
/// were there must stay as they were; new ones are only looked for by
/// name (WATCHED_DIRS), as the host may make devices meanwhile.
fn dev_snapshot() -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/dev") {
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let line = match std::fs::symlink_metadata(e.path()) {
                Ok(m) => {
                    let link = if m.file_type().is_symlink() {
                        format!(" -> {:?}", std::fs::read_link(e.path()).ok())
                    } else {
                        String::new()
                    };
                    format!(
                        "mode={:o} rdev={:#x} owner={}:{} ino={}{link}",
                        m.mode(),
                        m.rdev(),
                        m.uid(),
                        m.gid(),
                        m.ino()
                    )
                }
                Err(err) => err.to_string(),
            };
            map.insert(name, line);
        }
    }
    map
}

/// Host directories where an escaped runtime would leave files.
const WATCHED_DIRS: &[&str] = &["/", "/tmp", "/run", "/dev"];
/// Names the attacks make a runtime use, besides the `esc-` ones.
const SUSPECT_NAMES: &[&str] = &["console", "ip_forward", "oom_score_adj", "attr"];

fn listing(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What the host looked like when the test began.
struct Guard {
    canaries: Vec<(PathBuf, Vec<String>)>,
    mounts: BTreeSet<String>,
    dev: BTreeMap<String, String>,
    listings: Vec<(&'static str, BTreeSet<String>)>,
    runtime: PathBuf,
    runtime_bytes: Vec<u8>,
}

impl Guard {
    fn new(rt: &Rt, canaries: &[&Path]) -> Guard {
        Guard {
            canaries: canaries
                .iter()
                .map(|p| (p.to_path_buf(), snapshot(p)))
                .collect(),
            mounts: mount_points(),
            dev: dev_snapshot(),
            listings: WATCHED_DIRS.iter().map(|d| (*d, listing(d))).collect(),
            runtime: rt.bin.clone(),
            runtime_bytes: rt.bytes.clone(),
        }
    }

    /// Canaries as they were.
    #[track_caller]
    fn assert_canaries(&self) {
        for (path, before) in &self.canaries {
            let now = snapshot(path);
            assert_eq!(
                &now,
                before,
                "host canary {} changed:\nbefore: {before:#?}\nnow: {now:#?}",
                path.display()
            );
        }
    }

    /// Every host check (SECURITY.md "Testing attacks safely").
    #[track_caller]
    fn assert_host_untouched(&self, s: &Scratch) {
        self.assert_canaries();
        let bytes = std::fs::read(&self.runtime).unwrap_or_default();
        assert!(
            bytes == self.runtime_bytes,
            "the runtime binary copy {} was modified ({} bytes, was {})",
            self.runtime.display(),
            bytes.len(),
            self.runtime_bytes.len()
        );
        let own = s.own_mounts();
        assert!(own.is_empty(), "mounts under the scratch dir: {own:?}");
        let (added, removed) = s.mount_changes(&self.mounts);
        assert!(added.is_empty(), "new host mounts: {added:?}");
        assert!(removed.is_empty(), "host mounts gone: {removed:?}");
        let dev = dev_snapshot();
        let changed: Vec<String> = self
            .dev
            .iter()
            .filter(|(name, line)| dev.get(*name) != Some(line))
            .map(|(name, line)| format!("/dev/{name}: was {line}, now {:?}", dev.get(name)))
            .collect();
        assert!(changed.is_empty(), "the host's /dev changed: {changed:#?}");
        for (dir, before) in &self.listings {
            let new: Vec<String> = listing(dir)
                .difference(before)
                .filter(|n| {
                    !n.starts_with("pivot-test-")
                        && (n.contains(TAG) || SUSPECT_NAMES.contains(&n.as_str()))
                })
                .cloned()
                .collect();
            assert!(new.is_empty(), "new entries in the host's {dir}: {new:?}");
        }
    }
}

/// Runs a test's own checks (`body`), then, whatever they found, the host
/// checks; fails with every message.
#[track_caller]
fn checked(s: &Scratch, guard: &Guard, body: impl FnOnce()) {
    let outcome = catch(body);
    let host = catch(|| guard.assert_host_untouched(s));
    match (outcome, host) {
        (Ok(()), Ok(())) => {}
        (Err(msg), Ok(())) | (Ok(()), Err(msg)) => panic!("{msg}"),
        (Err(msg), Err(host)) => panic!("{msg}\nand on the host: {host}"),
    }
}

// ---------------------------------------------------------------------
// Bundles

fn host_str(p: &Path) -> String {
    p.to_str().expect("scratch paths are UTF-8").to_string()
}

/// `path` inside the rootfs of `bundle`.
fn in_rootfs(bundle: &Bundle, path: &str) -> PathBuf {
    bundle.rootfs().join(path.trim_start_matches('/'))
}

/// A relative symlink target that climbs from the directory of `link` up
/// to the host's `/` and down to `target`: on the host it names `target`.
fn climbing(link: &Path, target: &Path) -> String {
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

/// Replaces `rootfs/<name>` (whatever it is) with a symlink to `target`.
fn symlink_in_rootfs(bundle: &Bundle, name: &str, target: &str) -> PathBuf {
    let link = in_rootfs(bundle, name);
    remove_any(&link);
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir parent");
    std::os::unix::fs::symlink(target, &link)
        .unwrap_or_else(|e| panic!("symlink {} -> {target}: {e}", link.display()));
    link
}

fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).expect("remove dir"),
        Ok(_) => std::fs::remove_file(path).expect("remove file"),
        Err(_) => {}
    }
}

fn remove_mount(bundle: &Bundle, dest: &str) {
    bundle.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .retain(|m| m["destination"] != dest);
    });
}

/// Adds `cap` to every capability set the process has.
fn add_capability(bundle: &Bundle, cap: &str) {
    bundle.edit(|c| {
        let sets = c["process"]["capabilities"]
            .as_object_mut()
            .expect("process.capabilities");
        for set in sets.values_mut() {
            if let Some(list) = set.as_array_mut() {
                list.push(json!(cap));
            }
        }
    });
}

/// A bind of `host` at `dest` with `options` (the destination is made
/// in the rootfs as a file or a directory, like the source).
fn bind_at(bundle: &Bundle, host: &Path, dest: &str, options: &[&str]) {
    let inside = in_rootfs(bundle, dest);
    if !dest.starts_with("/proc") {
        if host.is_dir() {
            std::fs::create_dir_all(&inside).expect("mkdir bind destination");
        } else {
            std::fs::create_dir_all(inside.parent().expect("parent")).expect("mkdir parent");
        }
    }
    bundle.add_mount(json!({
        "destination": dest,
        "type": "bind",
        "source": host,
        "options": options,
    }));
}

/// The error of a refused command: non-zero, said something, and left
/// nothing behind.
#[track_caller]
fn assert_refused_cleanly(s: &Scratch, out: &Out, id: &str, before: &BTreeSet<String>) {
    assert_ne!(out.code, 0, "{out}");
    assert!(
        !out.stderr_lines().is_empty(),
        "failed without an error:\n{out}"
    );
    eprintln!(
        "pivot-tests: {id} refused: {}",
        out.stderr_lines().last().unwrap_or(&"")
    );
    s.assert_nothing_left(id, before);
}

/// Waits for `path` to exist (bounded).
#[track_caller]
fn wait_file(path: &Path, timeout: Duration) {
    assert!(
        wait_for(timeout, || path.exists()),
        "{} did not appear within {timeout:?}",
        path.display()
    );
}

/// The first JSON document in `text`.
#[track_caller]
fn json_of(text: &str, what: &str) -> Value {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text:?}"))
}

// ---------------------------------------------------------------------
// The attackers: probe exe-hunt and probe ptrace-hunt

/// A container running `probe HUNT /result 60`, created and started by
/// the runtime copy. Joins the pid namespace of `victim_pid` if given;
/// gets CAP_SYS_PTRACE if `ptrace_cap`.
struct Hunter {
    id: String,
    result: PathBuf,
}

impl Hunter {
    #[track_caller]
    fn start(
        s: &Scratch,
        rt: &Rt,
        hunt: &str,
        victim_pid: Option<i32>,
        ptrace_cap: bool,
    ) -> Hunter {
        Hunter::try_start(s, rt, hunt, victim_pid, ptrace_cap)
            .unwrap_or_else(|out| panic!("the hunter was not created: {out}"))
    }

    /// Like `start`, but a refused `create` is returned, not a failure.
    #[track_caller]
    fn try_start(
        s: &Scratch,
        rt: &Rt,
        hunt: &str,
        victim_pid: Option<i32>,
        ptrace_cap: bool,
    ) -> Result<Hunter, Out> {
        Hunter::try_start_with(s, rt, &[hunt], victim_pid, ptrace_cap, &[])
    }

    /// `probe HUNT /result 60 EXTRA...`, where `hunt` is [HUNT, EXTRA...],
    /// with the capabilities `caps` added too.
    #[track_caller]
    fn try_start_with(
        s: &Scratch,
        rt: &Rt,
        hunt: &[&str],
        victim_pid: Option<i32>,
        ptrace_cap: bool,
        caps: &[&str],
    ) -> Result<Hunter, Out> {
        let mut args = vec!["/probe", hunt[0], "/result", "60"];
        args.extend_from_slice(&hunt[1..]);
        let (bundle, result) = s.bundle_with_result(&args);
        if let Some(pid) = victim_pid {
            bundle.join_namespace("pid", &format!("/proc/{pid}/ns/pid"));
        }
        if ptrace_cap {
            add_capability(&bundle, "CAP_SYS_PTRACE");
        }
        for cap in caps {
            add_capability(&bundle, cap);
        }
        let id = s.id("hunter");
        let out = rt.create(s, &bundle, &id);
        if out.code != 0 {
            return Err(out);
        }
        // (`state` makes the harness remember the init, to reap it.)
        init_pid(s, &id);
        rt.cmd(s, &["start", &id]).ok();
        wait_file(&result.join("ready"), WAIT);
        Ok(Hunter { id, result })
    }

    /// Stops the hunt and returns the report.
    #[track_caller]
    fn report(&self, s: &Scratch) -> Value {
        std::fs::write(self.result.join("stop"), "").expect("create stop");
        let path = self.result.join("report.json");
        wait_file(&path, Duration::from_secs(30));
        let text = std::fs::read_to_string(&path).expect("read report.json");
        s.wait_status(&self.id, "stopped");
        json_of(&text, "the hunter's report")
    }
}

/// The container whose init (the runtime's own image until `start`) is
/// attacked: created, not started, by the runtime copy (`leaks` open in
/// the runtime); its process then runs `probe sleep 30`.
#[track_caller]
fn victim(s: &Scratch, rt: &Rt, leaks: Option<&Leaks>) -> (String, i32) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("victim");
    let fds = leaks.map(|l| l.fds().to_vec()).unwrap_or_default();
    rt.cmd_leaking(
        s,
        &[
            os("create"),
            os("--bundle"),
            bundle.dir.as_os_str(),
            os(&id),
        ],
        &fds,
    )
    .ok();
    (id.clone(), init_pid(s, &id))
}

/// One line about an exe-hunt report: scans, denials, handles.
fn exe_summary(report: &Value) -> String {
    let handles: Vec<String> = report["handles"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    format!(
                        "{}({}) -> {} ro={} write={}",
                        h["pid"], h["comm"], h["target"], h["readonly"], h["write"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} scans, denied {}, handles [{}]",
        report["scans"],
        report["denied"],
        handles.join(", ")
    )
}

/// One line about a ptrace-hunt report: per runtime process tried, the
/// attach outcome and the fds >= 3 reached (type and mount id).
fn ptrace_summary(report: &Value) -> String {
    let attempts = runtime_attempts(report);
    let shown: Vec<String> = attempts
        .iter()
        .take(6)
        .map(|a| {
            let fds: Vec<String> = a["reach"]["fds"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter(|fd| fd["fd"].as_u64().unwrap_or(0) >= 3)
                        .map(|fd| match fd["type"].as_str() {
                            Some(t) => format!("{}:{t}@{}", fd["fd"], fd["mnt_id"]),
                            None => format!("{}:?", fd["fd"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}({}) attach={} fds=[{}]",
                a["pid"],
                a["comm"],
                a["attach"],
                fds.join(" ")
            )
        })
        .collect();
    format!(
        "{} scans, {} runtime processes tried: {}{}",
        report["scans"],
        attempts.len(),
        shown.join("; "),
        if attempts.len() > 6 { "; ..." } else { "" }
    )
}

/// Every handle on the runtime binary copy the exe hunter got must be on a
/// read-only mount and must not have opened for writing
/// (CVE-2019-5736). A handle counts as on the binary when its inode
/// number is the binary's, whatever the device: a read-only overlayfs view
/// of the binary's directory reports the file's own inode number on a
/// device of its own. Returns how many such handles there were.
#[track_caller]
fn assert_binary_unreachable(rt: &Rt, report: &Value) -> usize {
    let (_, ino) = rt.dev_ino();
    let on_binary: Vec<&Value> = report["handles"]
        .as_array()
        .expect("report.handles")
        .iter()
        .filter(|h| h["ino"] == ino)
        .collect();
    for h in &on_binary {
        assert!(
            h["readonly"] == true && h["write"] != "ok",
            "a process in the container reached the runtime binary {} through /proc/{}/exe \
             (comm {}) on a writable mount (write attempt: {}): once no runtime process \
             runs, it can be overwritten (CVE-2019-5736)\nreport: {report:#}",
            rt.bin.display(),
            h["pid"],
            h["comm"],
            h["write"]
        );
    }
    on_binary.len()
}

/// The exe hunter runs in a second container joining the pid namespace
/// of a created (not started) container, whose init is the runtime's own
/// image; then the victim is started, so the binary is left unexecuted.
fn exe_of_created_init(s: &Scratch, ptrace_cap: bool) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (victim_id, victim_pid) = victim(s, &rt, None);
        let Some(hunter) = sibling_hunter(s, &rt, "exe-hunt", &victim_id, victim_pid, ptrace_cap)
        else {
            return;
        };
        // The init stays as it is until start: give the hunter a while.
        std::thread::sleep(Duration::from_millis(300));
        rt.cmd(s, &["start", &victim_id]).ok();
        let report = hunter.report(s);
        eprintln!("pivot-tests: exe-hunt: {}", exe_summary(&report));
        let found = report["denied"].as_object().is_some_and(|d| !d.is_empty())
            || report["handles"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| !own_comm(&h["comm"])));
        assert!(
            found,
            "the hunter never saw the created container's init (pid {victim_pid} on the host): {report:#}"
        );
        let n = assert_binary_unreachable(&rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {n}");
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// A hunter joining the pid namespace of the created (not started)
/// container `victim_id`. pivot runs a created init from its own binary as
/// it is (nothing in a new pid namespace can see it) and refuses a
/// container that may ptrace into that pid namespace instead: then the
/// victim is killed and there is no hunt (None).
#[track_caller]
fn sibling_hunter(
    s: &Scratch,
    rt: &Rt,
    hunt: &str,
    victim_id: &str,
    victim_pid: i32,
    ptrace_cap: bool,
) -> Option<Hunter> {
    match Hunter::try_start(s, rt, hunt, Some(victim_pid), ptrace_cap) {
        Ok(h) => Some(h),
        Err(out) if ptrace_cap => {
            assert!(
                out.stderr.contains("created but not started"),
                "the hunter's create failed for another reason: {out}"
            );
            eprintln!("pivot-tests: the hunter was refused: {}", out.stderr.trim());
            rt.cmd(s, &["kill", victim_id, "KILL"]);
            None
        }
        Err(out) => panic!("the hunter was not created: {out}"),
    }
}

fn own_comm(comm: &Value) -> bool {
    ["probe", "sh", "sleep", "busybox"]
        .iter()
        .any(|c| comm == *c)
}

/// Default capabilities: /proc/1/exe of the non-dumpable init is denied.
fn exe_of_created_init_from_sibling(s: &Scratch) {
    exe_of_created_init(s, false);
}

/// CAP_SYS_PTRACE, which container managers grant on request
/// (`--cap-add SYS_PTRACE`), passes the non-dumpable check: the binary
/// must still not be writable through the handle.
fn exe_of_created_init_from_sibling_with_ptrace_cap(s: &Scratch) {
    exe_of_created_init(s, true);
}

/// How many `exec`s race with a hunter, and for how long at most.
const EXEC_ROUNDS: usize = 40;
const EXEC_BUDGET: Duration = Duration::from_secs(15);

/// `exec`s into the hunter's container, one after the other, while it
/// loops over /proc (a race, bounded). Returns how many ran.
#[track_caller]
fn exec_rounds(s: &Scratch, rt: &Rt, id: &str) -> usize {
    let started = Instant::now();
    let mut n = 0;
    while n < EXEC_ROUNDS && started.elapsed() < EXEC_BUDGET {
        rt.cmd(s, &["exec", id, "/probe", "pid"]).ok();
        n += 1;
    }
    n
}

fn exe_of_exec_process_with(s: &Scratch, ptrace_cap: bool) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let hunter = Hunter::start(s, &rt, "exe-hunt", None, ptrace_cap);
        let n = exec_rounds(s, &rt, &hunter.id);
        let report = hunter.report(s);
        eprintln!("pivot-tests: {n} execs; exe-hunt: {}", exe_summary(&report));
        let hits = assert_binary_unreachable(&rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
    });
}

/// `exec` joins the container non-dumpable: a root process inside, with
/// the default capabilities, cannot open its /proc/<pid>/exe.
fn exe_of_exec_process(s: &Scratch) {
    exe_of_exec_process_with(s, false);
}

fn exe_of_exec_process_with_ptrace_cap(s: &Scratch) {
    exe_of_exec_process_with(s, true);
}

/// A pod: the victim (default capabilities) runs; a second container that
/// may ptrace joins its pid namespace; then `exec`s go into the victim.
/// Its own config gives no reason to protect them, so the runtime must
/// have learnt of the sibling.
fn exe_of_exec_into_pod_sibling_with_ptrace_cap(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (victim_id, victim_pid) = victim(s, &rt, None);
        rt.cmd(s, &["start", &victim_id]).ok();
        let hunter = Hunter::start(s, &rt, "exe-hunt", Some(victim_pid), true);
        let n = exec_rounds(s, &rt, &victim_id);
        let report = hunter.report(s);
        eprintln!(
            "pivot-tests: {n} execs into the victim; exe-hunt: {}",
            exe_summary(&report)
        );
        let hits = assert_binary_unreachable(&rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// A unix socket listening with a backlog of 0 at `path`: one connection
/// that nobody accepts fills it, and the next connect blocks until one is
/// accepted.
fn tight_listener(path: &Path) -> UnixListener {
    // SAFETY: plain socket calls on an fd this function owns; sockaddr_un
    // is plain data, filled within its size.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        assert!(bytes.len() < addr.sun_path.len(), "socket path too long");
        for (d, b) in addr.sun_path.iter_mut().zip(bytes) {
            *d = *b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, std::ptr::addr_of!(addr).cast(), len),
            0,
            "bind"
        );
        assert_eq!(libc::listen(fd, 0), 0, "listen");
        UnixListener::from_raw_fd(fd)
    }
}

/// Reads a connection to its end, taking (and closing) the fds it
/// passes; close-on-exec at once, so no other test's child inherits them.
fn drain(conn: &std::os::unix::net::UnixStream) {
    loop {
        let mut data = [0u8; 4096];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        let mut cbuf = [0u64; 16];
        // SAFETY: a zeroed msghdr is valid; the buffers outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: msg points at live buffers.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        // SAFETY: walking the control data the kernel filled; SCM_RIGHTS
        // fds are ours to close.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
                    drop(OwnedFd::from_raw_fd(fd));
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        if n <= 0 {
            return;
        }
    }
}

/// Processes running the runtime copy inside the pid namespace of `pid`.
fn runtime_processes_in_pid_ns_of(rt: &Rt, pid: i32) -> Vec<i32> {
    let (_, ino) = rt.dev_ino();
    let Ok(ns) = std::fs::metadata(format!("/proc/{pid}/ns/pid")) else {
        return Vec::new();
    };
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .filter(|p| {
                    std::fs::metadata(format!("/proc/{p}/ns/pid"))
                        .is_ok_and(|m| (m.dev(), m.ino()) == (ns.dev(), ns.ino()))
                        && std::fs::metadata(format!("/proc/{p}/exe")).is_ok_and(|m| m.ino() == ino)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A pod: an `exec` into the victim (default capabilities) is still the
/// runtime's own image inside the victim's pid namespace (held there:
/// the container's seccomp profile has SCMP_ACT_NOTIFY and the agent's
/// socket takes no connection for a while) when a container that may
/// ptrace joins that pid namespace. The exec read the state before the
/// sibling was recorded, so it did not run from the read-only view: the
/// sibling's create must wait for it before going on.
fn exe_of_exec_in_flight_when_pod_sibling_with_ptrace_cap_joins(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let socket = s.path("esc-agent.sock");
        let listener = tight_listener(&socket);
        let release = AtomicBool::new(false);
        let done = AtomicBool::new(false);
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        bundle.edit(|c| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": socket,
                "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_NOTIFY"}],
            });
        });
        let victim_id = s.id("victim");
        std::thread::scope(|scope| {
            // The agent: takes the init's fd at once, then nothing until
            // released, then everything.
            scope.spawn(|| {
                listener.set_nonblocking(true).expect("nonblocking");
                let mut first = true;
                while !done.load(Ordering::SeqCst) {
                    if first || release.load(Ordering::SeqCst) {
                        if let Ok((conn, _)) = listener.accept() {
                            conn.set_nonblocking(false).expect("blocking");
                            drain(&conn);
                            first = false;
                            continue;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let finish = || {
                release.store(true, Ordering::SeqCst);
                done.store(true, Ordering::SeqCst);
            };
            // Whatever fails, the agent thread must end for the scope to.
            let outcome = catch(|| {
                let victim_pid = rt.created(s, &bundle, &victim_id);
                rt.cmd(s, &["start", &victim_id]).ok();
                // Fill the backlog: the exec's connect now waits.
                let filler = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
                let pid_file = s.path("esc-exec.pid");
                let mut exec = std::process::Command::new(&rt.bin)
                    .args([os("--root"), s.root.as_os_str()])
                    .args([os("exec"), os("-d"), os("--pid-file"), pid_file.as_os_str()])
                    .args([&victim_id, "/probe", "exit", "0"])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("spawn exec");
                let held = wait_for(Duration::from_secs(10), || {
                    !runtime_processes_in_pid_ns_of(&rt, victim_pid).is_empty()
                });
                eprintln!("pivot-tests: the exec is the runtime's image in the pod: {held}");
                // Let the exec go on in a while, whether the sibling's create
                // waits for it or not.
                let releaser = scope.spawn(|| {
                    std::thread::sleep(Duration::from_secs(2));
                    release.store(true, Ordering::SeqCst);
                });
                let hunter = catch(|| Hunter::start(s, &rt, "exe-hunt", Some(victim_pid), true));
                releaser.join().expect("releaser");
                let deadline = Instant::now() + COMMAND_TIMEOUT;
                while exec.try_wait().expect("wait exec").is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = exec.kill();
                let _ = exec.wait();
                // The exec'd process, orphaned, is this harness's to reap
                // (subreaper): the victim's init cannot finish dying before.
                if let Some(pid) = std::fs::read_to_string(&pid_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                {
                    s.remember_pid(pid);
                }
                drop(filler);
                finish();
                let hunter = hunter.unwrap_or_else(|e| panic!("{e}"));
                let report = hunter.report(s);
                eprintln!("pivot-tests: exe-hunt: {}", exe_summary(&report));
                let hits = assert_binary_unreachable(&rt, &report);
                eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
                rt.cmd(s, &["kill", &victim_id, "KILL"]);
            });
            finish();
            if let Err(msg) = outcome {
                panic!("{msg}");
            }
        });
    });
}

// ---------------------------------------------------------------------
// The created init's /proc/1/exe kept past `start` (probe exe-hold)

/// The report of `probe exe-hold /result 1` run in the container whose
/// result dir is `result`: `go` is made (the test calls this once `start`
/// returned, so no runtime process is left), then the report is awaited.
#[track_caller]
fn held_report(result: &Path) -> Value {
    std::fs::write(result.join("go"), "").expect("create go");
    let path = result.join("report.json");
    wait_file(&path, Duration::from_secs(30));
    let text = std::fs::read_to_string(&path).expect("read report.json");
    json_of(&text, "exe-hold's report")
}

/// The handle exe-hold kept on /proc/1/exe (the created init, the
/// runtime's own image) must not have reopened for writing on the
/// runtime binary: denied at open, on another file (a sealed copy), or
/// read-only (the binary counted by inode number, as in
/// `assert_binary_unreachable`).
#[track_caller]
fn assert_held_unwritable(rt: &Rt, report: &Value) {
    eprintln!(
        "pivot-tests: exe-hold: /proc/1/exe ({}) open={} -> {} ro={} write={}",
        report["comm"], report["open"], report["target"], report["readonly"], report["write"]
    );
    if report["open"] != "ok" {
        return;
    }
    let (_, ino) = rt.dev_ino();
    if report["ino"] != ino {
        return;
    }
    assert!(
        report["readonly"] == true && report["write"] != "ok",
        "a process in the container kept /proc/1/exe of the created init, the runtime \
         binary {} on a writable mount, and reopened it for writing once `start` \
         returned (write attempt: {}): it can overwrite the host's runtime \
         (CVE-2019-5736)\nreport: {report:#}",
        rt.bin.display(),
        report["write"]
    );
}

/// A container with CAP_SYS_PTRACE and a startContainer hook (a program
/// of the image, run by the init with the container's capabilities) that
/// opens /proc/1/exe, the init that is still the runtime, and hands the
/// handle to a daemon that tries it for writing after `start` returned.
fn exe_of_init_from_start_hook_with_ptrace_cap(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "30"]);
        add_capability(&bundle, "CAP_SYS_PTRACE");
        bundle.edit(|c| {
            c["hooks"] = json!({"startContainer": [{
                "path": "/probe",
                "args": ["probe", "exe-hold", "/result", "1"],
            }]});
        });
        let id = s.id("hook");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let report = held_report(&result);
        assert_held_unwritable(&rt, &report);
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// A container whose config has CAP_SYS_PTRACE, created, not started: an
/// `exec` into it keeps /proc/1/exe of the init past `start`. The exec is
/// a plain one (runc, crun and pivot all take it).
fn exe_of_created_init_from_exec_with_ptrace_cap(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "30"]);
        add_capability(&bundle, "CAP_SYS_PTRACE");
        let id = s.id("created");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["exec", &id, "/probe", "exe-hold", "/result", "1"])
            .ok();
        rt.cmd(s, &["start", &id]).ok();
        let report = held_report(&result);
        assert_held_unwritable(&rt, &report);
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// The same with the default capabilities and `exec --cap CAP_SYS_PTRACE`:
/// the init cannot be moved onto a read-only binary any more, so pivot
/// refuses the exec (one line saying why); a runtime that takes it must
/// keep the binary unwritable.
fn exe_of_created_init_from_exec_cap_ptrace(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "30"]);
        let id = s.id("created");
        rt.created(s, &bundle, &id);
        let out = rt.cmd(
            s,
            &[
                "exec",
                "--cap",
                "CAP_SYS_PTRACE",
                &id,
                "/probe",
                "exe-hold",
                "/result",
                "1",
            ],
        );
        if out.code != 0 {
            assert_exec_refused(&out);
            // The container itself is untouched by the refusal.
            rt.cmd(s, &["start", &id]).ok();
            s.wait_status(&id, "running");
        } else {
            rt.cmd(s, &["start", &id]).ok();
            let report = held_report(&result);
            assert_held_unwritable(&rt, &report);
        }
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// A pod of two containers with the default capabilities, both started;
/// the hunter is an `exec -d --cap CAP_SYS_PTRACE` into the second one,
/// then `exec`s go into the first. Neither config gives a reason to
/// protect them: the runtime must have learnt of the exec that may ptrace.
fn exe_of_exec_into_pod_member_while_exec_cap_ptrace_hunts(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (victim_id, victim_pid) = victim(s, &rt, None);
        rt.cmd(s, &["start", &victim_id]).ok();
        let (bundle, result) = s.bundle_with_result(&["/probe", "sleep", "60"]);
        bundle.join_namespace("pid", &format!("/proc/{victim_pid}/ns/pid"));
        let member = s.id("member");
        rt.created(s, &bundle, &member);
        rt.cmd(s, &["start", &member]).ok();
        // Orphaned by the detached exec, the hunter becomes this harness's
        // child (subreaper): remembered, so that it is reaped and the pod's
        // init can finish dying.
        let pid_file = s.path("esc-hunter.pid");
        rt.cmd(
            s,
            &[
                os("exec"),
                os("-d"),
                os("--pid-file"),
                pid_file.as_os_str(),
                os("--cap"),
                os("CAP_SYS_PTRACE"),
                os(&member),
                os("/probe"),
                os("exe-hunt"),
                os("/result"),
                os("60"),
            ],
        )
        .ok();
        let hunter: i32 = std::fs::read_to_string(&pid_file)
            .expect("read the hunter's pid file")
            .trim()
            .parse()
            .expect("a pid");
        s.remember_pid(hunter);
        wait_file(&result.join("ready"), WAIT);
        let n = exec_rounds(s, &rt, &victim_id);
        std::fs::write(result.join("stop"), "").expect("create stop");
        let path = result.join("report.json");
        wait_file(&path, Duration::from_secs(30));
        let text = std::fs::read_to_string(&path).expect("read report.json");
        let report = json_of(&text, "the hunter's report");
        eprintln!(
            "pivot-tests: {n} execs into the other member; exe-hunt: {}",
            exe_summary(&report)
        );
        let hits = assert_binary_unreachable(&rt, &report);
        eprintln!("pivot-tests: handles on the runtime binary (all read-only): {hits}");
        rt.cmd(s, &["kill", &member, "KILL"]);
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// pivot's refusal of an `exec` that may ptrace a created init that still
/// runs the binary as it is.
#[track_caller]
fn assert_exec_refused(out: &Out) {
    let lines = out.stderr_lines();
    assert!(
        out.stderr.contains("created but not started") && lines.len() == 1,
        "the exec failed, but not with one line saying why: {out}"
    );
    eprintln!("pivot-tests: exec refused: {}", lines[0]);
}

/// The `Seccomp:` mode in /proc/<pid>/status, read on the host.
#[track_caller]
fn seccomp_mode(pid: i32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// A process that may ptrace (the config's CAP_SYS_PTRACE, or the default
/// capabilities and `exec --cap CAP_SYS_PTRACE`) attaches to the created
/// init and makes it call getsid, which the container's profile answers
/// with EXDEV. The created init must already be under the filter
/// (`Seccomp: 2`, as runc's), so the call gets EXDEV; pivot may refuse
/// the `--cap` exec instead.
fn ptrace_created_init_runs_only_what_seccomp_allows(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        for config_cap in [true, false] {
            let bundle = s.bundle(&["/probe", "sleep", "30"]);
            bundle.edit(|c| {
                c["process"]["noNewPrivileges"] = json!(true);
                c["linux"]["seccomp"] = json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["getsid"], "action": "SCMP_ACT_ERRNO",
                                  "errnoRet": libc::EXDEV}],
                });
            });
            if config_cap {
                add_capability(&bundle, "CAP_SYS_PTRACE");
            }
            let id = s.id("seccomp");
            let pid = rt.created(s, &bundle, &id);
            let mode = seccomp_mode(pid);
            let mut exec: Vec<&str> = vec!["exec"];
            if !config_cap {
                exec.extend(["--cap", "CAP_SYS_PTRACE"]);
            }
            exec.extend([&id, "/probe", "ptrace-syscall", "1", "getsid", "0"]);
            let out = rt.cmd(s, &exec);
            rt.cmd(s, &["kill", &id, "KILL"]);
            s.wait_status(&id, "stopped");
            let what = if config_cap {
                "config CAP_SYS_PTRACE"
            } else {
                "exec --cap CAP_SYS_PTRACE"
            };
            if out.code != 0 && !config_cap {
                assert_exec_refused(&out);
            } else {
                let report = out.ok().json();
                eprintln!("pivot-tests: {what}: created init Seccomp: {mode}; injected: {report}");
                assert!(
                    report["attach"] != "ok" || report["errno"] == "EXDEV",
                    "{what}: the created init ran getsid for a tracer in the container, \
                     which its profile answers with EXDEV: {report}"
                );
            }
            assert_eq!(
                mode, "2",
                "{what}: the created init (pid {pid}) has no seccomp filter yet \
                 (Seccomp: {mode}): a tracer can make it run what the profile forbids"
            );
        }
    });
}

// ---------------------------------------------------------------------
// ptrace of the process that joins the container (CVE-2016-9962)

/// The attempts on processes that were the runtime's own (not one of the
/// container's programs when tried).
fn runtime_attempts(report: &Value) -> Vec<&Value> {
    report["attempts"]
        .as_array()
        .expect("report.attempts")
        .iter()
        .filter(|a| !own_comm(&a["comm"]))
        .collect()
}

/// Whether an fd a hunter reached names a host file or directory: a
/// regular file or a directory on a mount that is not in the process's
/// own mount namespace (after the root switch that is the container's
/// mount tree; anything else is the host's, or detached from it).
fn outside_mount_tree(fd: &Value, mounts: &Value) -> bool {
    let kind = fd["type"].as_str().unwrap_or("");
    if kind != "dir" && kind != "file" {
        return false;
    }
    match (fd["mnt_id"].as_u64(), mounts.as_array()) {
        (Some(id), Some(ids)) => !ids.iter().any(|m| m.as_u64() == Some(id)),
        // Seen, but not where: count it as outside.
        _ => true,
    }
}

/// Checks a ptrace-hunt report. Without CAP_SYS_PTRACE no attach on a
/// runtime process succeeds and nothing its fds name can be seen (their
/// numbers can: /proc/<pid>/fd of a non-dumpable process is root's, and
/// the attacker is root). With it, the attach is the kernel's to grant,
/// and the fds >= 3 of the stopped runtime process must name no host file
/// or directory (CVE-2016-9962); sockets, pipes and the runtime's own
/// fifo are not a way out.
#[track_caller]
fn assert_ptrace_contained(rt: &Rt, report: &Value, ptrace_cap: bool) {
    let (dev, ino) = rt.dev_ino();
    for a in runtime_attempts(report) {
        // Caught (or looked at) after its exec: one of the container's
        // own programs, no longer the runtime.
        let exe = &a["reach"]["exe"];
        let after_exec = if a["attach"] == "ok" {
            own_comm(&a["comm_stopped"])
        } else {
            own_comm(&a["comm_after"])
                || (exe["target"].is_string() && (exe["dev"] != dev || exe["ino"] != ino))
        };
        if after_exec {
            continue;
        }
        let fds = a["reach"]["fds"].as_array().cloned().unwrap_or_default();
        if !ptrace_cap {
            assert!(
                a["attach"] != "ok",
                "a root process in the container ptrace-attached to the runtime's process \
                 {} (comm {}) as it joined the container (not non-dumpable?): {a:#}",
                a["pid"],
                a["comm"]
            );
            let seen: Vec<&Value> = fds.iter().filter(|f| f["type"].is_string()).collect();
            assert!(
                seen.is_empty(),
                "the fds of the runtime's process {} can be followed from the container: \
                 {seen:?}\n{a:#}",
                a["pid"]
            );
        }
        for fd in &fds {
            let n = fd["fd"].as_u64().unwrap_or(0);
            assert!(
                n < 3 || !outside_mount_tree(fd, &a["reach"]["mounts"]),
                "the runtime's process {} (comm {}) holds fd {n} -> {} ({}), a host object \
                 outside the container's mount tree, reachable from the container through \
                 /proc/{}/fd (CVE-2016-9962): {a:#}",
                a["pid"],
                a["comm"],
                fd["target"],
                fd["type"],
                a["pid"]
            );
        }
    }
}

fn ptrace_created_init(s: &Scratch, ptrace_cap: bool) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let (victim_id, victim_pid) = victim(s, &rt, Some(&leaks));
        let Some(hunter) =
            sibling_hunter(s, &rt, "ptrace-hunt", &victim_id, victim_pid, ptrace_cap)
        else {
            return;
        };
        std::thread::sleep(Duration::from_millis(300));
        rt.cmd(s, &["start", &victim_id]).ok();
        let report = hunter.report(s);
        eprintln!("pivot-tests: ptrace-hunt: {}", ptrace_summary(&report));
        assert!(
            !runtime_attempts(&report).is_empty(),
            "the hunter never saw the created container's init (pid {victim_pid} on the host): {report:#}"
        );
        assert_ptrace_contained(&rt, &report, ptrace_cap);
        rt.cmd(s, &["kill", &victim_id, "KILL"]);
    });
}

/// The created init (the runtime's image, started with a host file, the
/// scratch dir and a socket leaked to it) cannot be traced by root in a
/// second container joining its pid namespace.
fn ptrace_created_init_from_sibling(s: &Scratch) {
    ptrace_created_init(s, false);
}

/// With CAP_SYS_PTRACE the attach is the kernel's to grant; what the
/// tracer reaches must hold no host file or directory.
fn ptrace_created_init_from_sibling_with_ptrace_cap(s: &Scratch) {
    ptrace_created_init(s, true);
}

fn ptrace_exec_process_with(s: &Scratch, ptrace_cap: bool) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let hunter = Hunter::start(s, &rt, "ptrace-hunt", None, ptrace_cap);
        let started = Instant::now();
        let mut n = 0;
        while n < EXEC_ROUNDS && started.elapsed() < EXEC_BUDGET {
            rt.cmd_leaking(s, &["exec", &hunter.id, "/probe", "pid"], &leaks.fds())
                .ok();
            n += 1;
        }
        let report = hunter.report(s);
        eprintln!(
            "pivot-tests: {n} execs; ptrace-hunt: {}",
            ptrace_summary(&report)
        );
        assert_ptrace_contained(&rt, &report, ptrace_cap);
    });
}

/// `exec` (with a host file, the scratch dir and a socket leaked to the
/// runtime) while root in the container tries to attach to every process
/// that is not one of its own programs.
fn ptrace_exec_process(s: &Scratch) {
    ptrace_exec_process_with(s, false);
}

fn ptrace_exec_process_with_ptrace_cap(s: &Scratch) {
    ptrace_exec_process_with(s, true);
}

// ---------------------------------------------------------------------
// A pod: a container joining a pid namespace others are in

/// How many containers join the sandbox's pid namespace, and for how long
/// at most.
const POD_ROUNDS: usize = 3;
const POD_BUDGET: Duration = Duration::from_secs(30);

/// One line about a root-hunt report: per runtime process, what its root
/// was and what reading the canary and creating a file gave, directly
/// and traced.
fn root_summary(report: &Value) -> String {
    let looks: Vec<String> = report["first"]
        .as_array()
        .map(|a| {
            a.iter()
                .take(8)
                .map(|l| {
                    let t = &l["traced"];
                    let fds: Vec<String> = t["reach"]["fds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|fd| fd["fd"].as_u64().unwrap_or(0) >= 3)
                        .map(|fd| format!("{}:{}", fd["fd"], fd["type"]))
                        .collect();
                    format!(
                        "{}({}) root={} read={} create={} traced: attach={} stopped={} root={} read={} create={} fds=[{}]",
                        l["pid"],
                        l["comm"],
                        l["direct"]["root"],
                        l["direct"]["read"],
                        l["direct"]["create"],
                        t["attach"],
                        t["stopped"],
                        t["root"],
                        t["read"],
                        t["create"],
                        fds.join(" ")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} scans, {} reached the host; {}",
        report["scans"],
        report["reached"].as_array().map_or(0, Vec::len),
        looks.join("; ")
    )
}

/// A pod whose sandbox may ptrace (CAP_SYS_PTRACE, no user namespace; and
/// CAP_DAC_OVERRIDE, which Docker and podman grant by default) watches its
/// pid namespace while other containers join it. Each joins
/// with a createContainer hook that sleeps a while before the root
/// switch, so a runtime that lets its init into the pod before the root
/// is built holds it there, in the sandbox's view, with the host's `/`
/// as its root. For every runtime process that appears, the sandbox
/// tries, through /proc/<pid>/root (directly, and with the process
/// PTRACE_SEIZE'd and stopped), to read a host canary file and to create
/// a file in a host canary directory. Neither may succeed, and the
/// stopped process may hold no fd on a host file or directory.
fn pod_sibling_with_ptrace_cap_reaches_no_host_root(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "pod-file");
    let dir = canary_dir(s, "pod-dir");
    let guard = Guard::new(&rt, &[&canary, &dir]);
    checked(s, &guard, || {
        let (canary_s, dir_s) = (host_str(&canary), host_str(&dir));
        let hunter = Hunter::try_start_with(
            s,
            &rt,
            &["root-hunt", &canary_s, &dir_s],
            None,
            true,
            &["CAP_DAC_OVERRIDE"],
        )
        .unwrap_or_else(|out| panic!("the sandbox was not created: {out}"));
        let sandbox = init_pid(s, &hunter.id);
        let started = Instant::now();
        let mut joined = 0;
        while joined < POD_ROUNDS && started.elapsed() < POD_BUDGET {
            let bundle = s.bundle(&["/probe", "pid"]);
            bundle.join_namespace("pid", &format!("/proc/{sandbox}/ns/pid"));
            bundle.edit(|c| {
                c["hooks"] = json!({"createContainer": [
                    {"path": "/bin/sleep", "args": ["sleep", "0.5"]}
                ]});
            });
            let id = s.id("podjoin");
            let out = rt.create(s, &bundle, &id);
            assert_eq!(out.code, 0, "a container could not join the pod: {out}");
            init_pid(s, &id);
            // The joined init waits for `start` in the pod a while too.
            std::thread::sleep(Duration::from_millis(200));
            rt.cmd(s, &["start", &id]).ok();
            s.wait_status(&id, "stopped");
            rt.cmd(s, &["delete", &id]).ok();
            joined += 1;
        }
        let report = hunter.report(s);
        eprintln!(
            "pivot-tests: {joined} containers joined the pod; root-hunt: {}",
            root_summary(&report)
        );
        assert!(
            report["first"].as_array().is_some_and(|a| !a.is_empty()),
            "the sandbox never saw a runtime process of the joining containers: {report:#}"
        );
        for look in report["first"].as_array().into_iter().flatten() {
            let t = &look["traced"];
            for fd in t["reach"]["fds"].as_array().into_iter().flatten() {
                let n = fd["fd"].as_u64().unwrap_or(0);
                // A procfs (the pod's own, held to re-open exec.fifo) shows
                // only what the sandbox's /proc shows.
                let procfs = fd["fs_magic"] == 0x9fa0;
                assert!(
                    n < 3 || procfs || !outside_mount_tree(fd, &t["reach"]["mounts"]),
                    "the runtime's process {} (comm {}) in the pod holds fd {n} -> {} ({}), \
                     a host object outside the container's mount tree: {look:#}",
                    look["pid"],
                    look["comm"],
                    fd["target"],
                    fd["type"]
                );
            }
        }
        let reached = report["reached"].as_array().cloned().unwrap_or_default();
        assert!(
            reached.is_empty(),
            "a pod sibling that may ptrace reached the host's filesystem through \
             /proc/<pid>/root of a process of a container joining its pid namespace \
             (read the canary {} or created a file in {}): {reached:#?}",
            canary.display(),
            dir.display()
        );
    });
}

// ---------------------------------------------------------------------
// Leaked fds and the cwd (CVE-2024-21626)

/// The fd numbers in a `probe fds` answer.
#[track_caller]
fn fd_numbers(answer: &Value) -> Vec<u64> {
    answer
        .as_array()
        .unwrap_or_else(|| panic!("probe fds: {answer}"))
        .iter()
        .map(|f| f["fd"].as_u64().expect("fd"))
        .collect()
}

/// `run` with a host file, the scratch dir and a socket open in the
/// runtime (fds 3, 4, 5) and no --preserve-fds: the process has 0, 1, 2.
fn leaked_fds_not_in_init(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "fds"]);
        let id = s.id("leak");
        let out = rt
            .cmd_leaking(
                s,
                &[os("run"), os("--bundle"), bundle.dir.as_os_str(), os(&id)],
                &leaks.fds(),
            )
            .ok();
        let fds = out.json();
        assert_eq!(
            fd_numbers(&fds),
            [0, 1, 2],
            "the caller's fds reached the container: {fds}"
        );
    });
}

/// The same for a process `exec` starts.
fn leaked_fds_not_in_exec(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        let id = s.id("leak");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let out = rt
            .cmd_leaking(s, &["exec", &id, "/probe", "fds"], &leaks.fds())
            .ok();
        let fds = out.json();
        assert_eq!(
            fd_numbers(&fds),
            [0, 1, 2],
            "the caller's fds reached the container: {fds}"
        );
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// --preserve-fds 1 passes fd 3 (the file) and nothing else, to the init
/// and to an exec'd process.
fn preserve_fds_passes_exactly_those(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/bin/sh", "-c", "/probe fds; /probe sleep 30"]);
        let id = s.id("preserve");
        rt.cmd_leaking(
            s,
            &[
                os("create"),
                os("--preserve-fds"),
                os("1"),
                os("--bundle"),
                bundle.dir.as_os_str(),
                os(&id),
            ],
            &leaks.fds(),
        )
        .ok();
        init_pid(s, &id);
        rt.cmd(s, &["start", &id]).ok();
        let out = rt
            .cmd_leaking(
                s,
                &["exec", "--preserve-fds", "1", &id, "/probe", "fds"],
                &leaks.fds(),
            )
            .ok();
        let fds = out.json();
        assert_eq!(
            fd_numbers(&fds),
            [0, 1, 2, 3],
            "exec --preserve-fds 1: {fds}"
        );
        assert!(
            fds[3]["target"]
                .as_str()
                .unwrap_or("")
                .contains("esc-leaked-file"),
            "exec --preserve-fds 1: fd 3 is not the caller's fd 3: {fds}"
        );
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// The script a cwd test runs: where am I, and can `..` reach the host
/// canary from here. Two JSON lines.
fn cwd_script(canary: &Path) -> String {
    format!(
        "/probe cwd; /probe stat {}{}",
        "../".repeat(16),
        canary.strip_prefix("/").unwrap_or(canary).display()
    )
}

/// A process whose cwd was /proc/self/fd/N ran: its cwd must have a name
/// inside the container and the host canary must be out of reach.
#[track_caller]
fn assert_cwd_contained(out: &Out, n: i32) {
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "cwd /proc/self/fd/{n}: unexpected output:\n{out}"
    );
    let cwd: Value = serde_json::from_str(lines[0]).expect("probe cwd: JSON");
    let stat: Value = serde_json::from_str(lines[1]).expect("probe stat: JSON");
    assert_eq!(
        stat[0]["exists"], false,
        "cwd /proc/self/fd/{n}: the host canary is reachable with ../ from the process's \
         working directory {cwd} (CVE-2024-21626):\n{out}"
    );
    let path = cwd["cwd"].as_str().unwrap_or_else(|| {
        panic!("cwd /proc/self/fd/{n}: the working directory has no name in the container (outside its root?): {cwd}\n{out}")
    });
    assert!(
        path.starts_with('/'),
        "cwd /proc/self/fd/{n}: the working directory is outside the container: {path}\n{out}"
    );
}

/// process.cwd "/proc/self/fd/N" for N in 3..=10, with a host file, the
/// scratch dir and a socket open in the runtime at 3, 4, 5: refused, or
/// the process's cwd is inside the container and `..` cannot reach a host
/// canary.
fn cwd_proc_self_fd(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/bin/sh", "-c", &cwd_script(&canary)]);
        let (mut refused, mut ran) = (0, 0);
        for n in 3..=10 {
            bundle.edit(|c| c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}")));
            let before = mount_points();
            let id = s.id("cwd");
            let out = rt.cmd_leaking(
                s,
                &[os("run"), os("--bundle"), bundle.dir.as_os_str(), os(&id)],
                &leaks.fds(),
            );
            if out.code != 0 && out.stdout.trim().is_empty() {
                assert_refused_cleanly(s, &out, &id, &before);
                refused += 1;
            } else {
                assert_cwd_contained(&out, n);
                ran += 1;
            }
        }
        eprintln!("pivot-tests: cwd /proc/self/fd/3..10: {refused} refused, {ran} contained");
    });
}

/// `exec --cwd /proc/self/fd/N` for N in 3..=10, leaks as above.
fn exec_cwd_proc_self_fd(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    let leaks = Leaks::new(s);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "60"]);
        let id = s.id("cwd");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let script = cwd_script(&canary);
        let (mut refused, mut ran) = (0, 0);
        for n in 3..=10 {
            let cwd = format!("/proc/self/fd/{n}");
            let out = rt.cmd_leaking(
                s,
                &["exec", "--cwd", &cwd, &id, "/bin/sh", "-c", &script],
                &leaks.fds(),
            );
            if out.code != 0 && out.stdout.trim().is_empty() {
                assert!(
                    !out.stderr_lines().is_empty(),
                    "failed without an error:\n{out}"
                );
                refused += 1;
            } else {
                assert_cwd_contained(&out, n);
                ran += 1;
            }
        }
        eprintln!(
            "pivot-tests: exec --cwd /proc/self/fd/3..10: {refused} refused, {ran} contained"
        );
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

// ---------------------------------------------------------------------
// A fake procfs, and mounts over the /proc files the runtime writes

/// The sysctl the procfs tests set: in the container's own network
/// namespace (new by default), never the host's.
const SYSCTL_KEY: &str = "net.ipv4.ip_forward";

fn set_sysctl(bundle: &Bundle) {
    bundle.edit(|c| c["linux"]["sysctl"] = json!({SYSCTL_KEY: "1"}));
}

/// IP forwarding in the network namespace of `pid`, read from the host
/// (/proc/<pid>/net/snmp, "Ip: Forwarding": 1 on, 2 off).
#[track_caller]
fn forwarding(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/snmp"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/net/snmp: {e}"));
    let ip: Vec<&str> = text.lines().filter(|l| l.starts_with("Ip:")).collect();
    assert!(ip.len() >= 2, "no Ip lines in /proc/{pid}/net/snmp: {text}");
    let names = ip[0].split_whitespace();
    let values = ip[1].split_whitespace();
    names
        .zip(values)
        .find(|(n, _)| *n == "Forwarding")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no Forwarding in /proc/{pid}/net/snmp: {text}"))
}

/// `create`s the bundle (linux.sysctl set): refused and nothing left, or
/// created with the sysctl in the container's network namespace (read
/// from the host, not through any path the config could cover). Returns
/// whether it was created. The container is deleted.
#[track_caller]
fn create_and_check_sysctl(s: &Scratch, rt: &Rt, bundle: &Bundle) -> bool {
    let before = mount_points();
    let id = s.id("procfs");
    let out = rt.create(s, bundle, &id);
    if out.code != 0 {
        assert_refused_cleanly(s, &out, &id, &before);
        return false;
    }
    let pid = init_pid(s, &id);
    let value = forwarding(pid);
    rt.cmd(s, &["delete", "--force", &id]).ok();
    s.reap();
    assert_eq!(
        value, 1,
        "linux.sysctl {SYSCTL_KEY}=1 did not reach the container's network namespace \
         (written elsewhere?)"
    );
    eprintln!("pivot-tests: {id} created; the sysctl is in its network namespace");
    true
}

/// A canary directory shaped like /proc/sys (net/ipv4/ip_forward, a
/// file reading "canary"), for binds where procfs should be.
fn fake_proc_sys(s: &Scratch, tag: &str) -> PathBuf {
    let dir = canary_dir(s, tag);
    let ipv4 = dir.join("net/ipv4");
    std::fs::create_dir_all(&ipv4).expect("mkdir fake net/ipv4");
    std::fs::write(ipv4.join("ip_forward"), "canary\n").expect("write fake ip_forward");
    dir
}

/// A tmpfs, not procfs, as the /proc mount, with linux.sysctl set: refused
/// (only procfs goes on /proc), or the sysctl still lands in the
/// container's network namespace.
fn tmpfs_on_proc_with_sysctl(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        bundle.edit(|c| {
            for m in c["mounts"].as_array_mut().expect("mounts") {
                if m["destination"] == "/proc" {
                    *m = json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs",
                                "options": ["size=64k"]});
                }
            }
        });
        create_and_check_sysctl(s, &rt, &bundle);
    });
}

/// A bind of a canary dir shaped like procfs (sys/net/ipv4/ip_forward) as
/// the /proc mount, read-write, with linux.sysctl set: refused (only
/// procfs goes on /proc), or the canary gets nothing (no sysctl written
/// into it, no mountpoint made in it) and the sysctl lands in the
/// container's network namespace.
fn bind_on_proc_with_sysctl(s: &Scratch) {
    let rt = Rt::new(s);
    let fake = canary_dir(s, "fakeproc");
    let ipv4 = fake.join("sys/net/ipv4");
    std::fs::create_dir_all(&ipv4).expect("mkdir fake sys/net/ipv4");
    std::fs::write(ipv4.join("ip_forward"), "canary\n").expect("write fake ip_forward");
    let guard = Guard::new(&rt, &[&fake]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        remove_mount(&bundle, "/proc");
        bind_at(&bundle, &fake, "/proc", &["rbind", "rw"]);
        create_and_check_sysctl(s, &rt, &bundle);
    });
}

/// A bind of a canary dir shaped like /proc/sys over the container's
/// /proc/sys, with linux.sysctl set: refused (inside /proc), or the sysctl
/// lands in the container's network namespace and the canary is unchanged.
fn bind_over_proc_sys_with_sysctl(s: &Scratch) {
    let rt = Rt::new(s);
    let sys = fake_proc_sys(s, "fakesys");
    let guard = Guard::new(&rt, &[&sys]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        bind_at(&bundle, &sys, "/proc/sys", &["rbind", "rw"]);
        create_and_check_sysctl(s, &rt, &bundle);
    });
}

/// A canary file bound over /proc/sys/net/ipv4/ip_forward, the file the
/// runtime writes for linux.sysctl (CVE-2025-52881 without the race).
fn bind_over_sysctl_file(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        bind_at(
            &bundle,
            &canary,
            "/proc/sys/net/ipv4/ip_forward",
            &["bind", "rw"],
        );
        create_and_check_sysctl(s, &rt, &bundle);
    });
}

/// The same through a symlink in the image: /evil -> /proc/sys/net/ipv4
/// and the bind on /evil/ip_forward.
fn symlink_destination_into_proc_sys(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        symlink_in_rootfs(&bundle, "evil", "/proc/sys/net/ipv4");
        bundle.add_mount(json!({
            "destination": "/evil/ip_forward",
            "type": "bind",
            "source": canary,
            "options": ["bind", "rw"],
        }));
        create_and_check_sysctl(s, &rt, &bundle);
    });
}

/// A canary dir bound over /proc/self/attr (the LSM attribute files a
/// runtime writes), with oomScoreAdj set: refused, or nothing written
/// into the canary and oom_score_adj set on the real process.
fn bind_over_proc_self_attr(s: &Scratch) {
    let rt = Rt::new(s);
    let attr = canary_dir(s, "fakeattr");
    std::fs::write(attr.join("exec"), "canary\n").expect("write fake attr/exec");
    let guard = Guard::new(&rt, &[&attr]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        bundle.edit(|c| c["process"]["oomScoreAdj"] = json!(123));
        bind_at(&bundle, &attr, "/proc/self/attr", &["rbind", "rw"]);
        create_and_check_oom(s, &rt, &bundle, 123);
    });
}

/// A canary file bound over /proc/self/oom_score_adj with
/// process.oomScoreAdj set: refused, or the value is on the real process
/// and the canary is unchanged.
fn bind_over_oom_score_adj(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        bundle.edit(|c| c["process"]["oomScoreAdj"] = json!(321));
        bind_at(
            &bundle,
            &canary,
            "/proc/self/oom_score_adj",
            &["bind", "rw"],
        );
        create_and_check_oom(s, &rt, &bundle, 321);
    });
}

#[track_caller]
fn create_and_check_oom(s: &Scratch, rt: &Rt, bundle: &Bundle, want: i32) {
    let before = mount_points();
    let id = s.id("procfs");
    let out = rt.create(s, bundle, &id);
    if out.code != 0 {
        assert_refused_cleanly(s, &out, &id, &before);
        return;
    }
    let pid = init_pid(s, &id);
    let value = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap_or_default();
    rt.cmd(s, &["delete", "--force", &id]).ok();
    s.reap();
    assert_eq!(
        value.trim(),
        want.to_string(),
        "process.oomScoreAdj did not reach the container's init (written elsewhere?)"
    );
    eprintln!("pivot-tests: {id} created; oom_score_adj is on its init");
}

// ---------------------------------------------------------------------
// Races on host paths and shared volumes

/// How many containers are started while a swapper races, and for how
/// long at most.
const RACE_CONTAINERS: usize = 20;
const RACE_BUDGET: Duration = Duration::from_secs(12);

fn cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("path without NUL")
}

/// A thread exchanging two paths with renameat2(RENAME_EXCHANGE) until
/// dropped (or a bound of its own passes).
struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Swapper {
    fn start(a: &Path, b: &Path) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let (a, b) = (cstring(a), cstring(b));
        let thread = {
            let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
            std::thread::spawn(move || {
                let deadline = Instant::now() + RACE_BUDGET + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    for _ in 0..64 {
                        // SAFETY: renameat2 with two absolute NUL-terminated
                        // paths in the test's scratch dir and a valid flag.
                        let rc = unsafe {
                            libc::syscall(
                                libc::SYS_renameat2,
                                libc::AT_FDCWD,
                                a.as_ptr(),
                                libc::AT_FDCWD,
                                b.as_ptr(),
                                libc::RENAME_EXCHANGE,
                            )
                        };
                        if rc == 0 {
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

    /// Stops and joins the thread; returns how many exchanges it made.
    #[track_caller]
    fn finish(mut self) -> u64 {
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

/// Runs up to `rounds` containers with `one` (bounded by `budget`),
/// checking the canaries after each; `one` returns whether the container
/// ran (else it was refused).
#[track_caller]
fn race_loop(
    guard: &Guard,
    rounds: usize,
    budget: Duration,
    mut one: impl FnMut() -> bool,
) -> (usize, usize) {
    let started = Instant::now();
    let (mut ran, mut refused) = (0, 0);
    for _ in 0..rounds {
        if started.elapsed() > budget {
            break;
        }
        if one() {
            ran += 1;
        } else {
            refused += 1;
        }
        guard.assert_canaries();
    }
    (ran, refused)
}

/// A bind source on the host (`shared/src`, a directory) that a thread
/// swaps with a symlink to a canary dir while containers are started.
/// Binding a host path is the caller's choice, so a container may see
/// either directory; the runtime must never create, chown or mount
/// anything outside: the canary gets no mount and no entry, and every
/// container either fails cleanly or sees one of the two (told apart by
/// their owners).
fn race_bind_source_exchange(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_dir(s, "canary-dir");
    let shared = s.mkdir("esc-shared");
    let src = shared.join("src");
    std::fs::create_dir(&src).expect("mkdir shared/src");
    std::fs::write(src.join("from-src"), "src\n").expect("write shared/src/from-src");
    let alt = shared.join("alt");
    std::os::unix::fs::symlink(&canary, &alt).expect("symlink shared/alt");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "stat", "/vol/deeper/dir"]);
        bundle.add_mount(json!({
            "destination": "/vol/deeper/dir",
            "type": "bind",
            "source": src,
            "options": ["rbind", "rw"],
        }));
        let canary_path = host_str(&canary);
        let swapper = Swapper::start(&src, &alt);
        let mut saw_canary = 0;
        let (ran, refused) = race_loop(&guard, RACE_CONTAINERS, RACE_BUDGET, || {
            let before = mount_points();
            let id = s.id("race");
            let out = rt.run(s, &bundle, &id);
            assert!(
                !mount_points().contains(&canary_path),
                "a mount on the host canary {canary_path}"
            );
            if out.code != 0 {
                assert_refused_cleanly(s, &out, &id, &before);
                return false;
            }
            // The source dir is root's, the canary is CANARY_UID's.
            let seen = out.json();
            let uid = &seen[0]["uid"];
            assert!(
                seen[0]["type"] == "dir" && (uid == 0 || uid == CANARY_UID),
                "the container saw neither directory at /vol/deeper/dir: {seen}\n{out}"
            );
            if uid == CANARY_UID {
                saw_canary += 1;
            }
            true
        });
        let swaps = swapper.finish();
        eprintln!(
            "pivot-tests: race: {ran} ran ({saw_canary} saw the symlink's target), \
             {refused} refused, {swaps} swaps"
        );
    });
}

/// A shared volume (/vol, bound from the scratch dir) holds `dir`, which
/// a thread swaps with a symlink to a host canary dir, while containers
/// whose config mounts a tmpfs on /vol/dir/esc-new/sub (missing: the
/// runtime makes it) are started: each fails cleanly or runs, and the
/// runtime never makes `esc-new` (or anything) in the canary
/// (CVE-2024-45310); resolved inside the root, the link names a path in
/// the rootfs.
fn race_mkdir_in_shared_volume(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_dir(s, "canary-dir");
    let shared = s.mkdir("esc-shared");
    let dir = shared.join("dir");
    std::fs::create_dir(&dir).expect("mkdir shared/dir");
    let link = shared.join("link");
    std::os::unix::fs::symlink(&canary, &link).expect("symlink shared/link");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/bin/true"]);
        bind_at(&bundle, &shared, "/vol", &["rbind", "rw"]);
        bundle.add_mount(json!({
            "destination": "/vol/dir/esc-new/sub",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["size=64k"],
        }));
        let swapper = Swapper::start(&dir, &link);
        let (ran, refused) = race_loop(&guard, RACE_CONTAINERS, RACE_BUDGET, || {
            let before = mount_points();
            let id = s.id("race");
            let out = rt.run(s, &bundle, &id);
            if out.code != 0 {
                assert_refused_cleanly(s, &out, &id, &before);
                return false;
            }
            true
        });
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {ran} ran, {refused} refused, {swaps} swaps");
    });
}

/// A destination in a shared volume (/vol, bound from the scratch dir)
/// whose directory `dir` a thread swaps with a symlink to
/// /proc/sys/net/ipv4 while containers with linux.sysctl ip_forward=1 and
/// a bind of a canary file on /vol/dir/ip_forward are created: each is
/// refused, or the sysctl lands in its network namespace, and the canary
/// never changes (CVE-2025-52881).
fn race_destination_exchange_into_proc(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let shared = s.mkdir("esc-shared");
    let dir = shared.join("dir");
    std::fs::create_dir(&dir).expect("mkdir shared/dir");
    std::fs::write(dir.join("ip_forward"), "volume\n").expect("write shared/dir/ip_forward");
    let link = shared.join("link");
    std::os::unix::fs::symlink("/proc/sys/net/ipv4", &link).expect("symlink shared/link");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        bind_at(&bundle, &shared, "/vol", &["rbind", "rw"]);
        bundle.add_mount(json!({
            "destination": "/vol/dir/ip_forward",
            "type": "bind",
            "source": canary,
            "options": ["bind", "rw"],
        }));
        let swapper = Swapper::start(&dir, &link);
        // More rounds: a runtime that writes sysctls through the
        // container's /proc loses this race only now and then.
        let (ran, refused) = race_loop(&guard, 5 * RACE_CONTAINERS, 5 * RACE_BUDGET / 2, || {
            create_and_check_sysctl(s, &rt, &bundle)
        });
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {ran} created, {refused} refused, {swaps} swaps");
    });
}

// ---------------------------------------------------------------------
// /dev/console (CVE-2025-52565)

/// Receive one fd sent with SCM_RIGHTS.
fn recv_fd(sock: RawFd) -> Option<OwnedFd> {
    let mut data = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut cbuf = [0u64; 8];
    // SAFETY: a zeroed msghdr is valid; the buffers outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: msg points at live buffers.
    if unsafe { libc::recvmsg(sock, &mut msg, 0) } < 0 {
        return None;
    }
    // SAFETY: walking the control data the kernel filled.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
        Some(OwnedFd::from_raw_fd(fd))
    }
}

/// A --console-socket receiver: accepts one connection, takes the pty
/// master and reads it until the container side hangs up, so the
/// container never blocks on its terminal. Stops when told or after a
/// bound.
struct ConsoleReceiver {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<bool>>,
}

impl ConsoleReceiver {
    fn start(s: &Scratch) -> ConsoleReceiver {
        let path = s.path("esc-console.sock");
        let listener = UnixListener::bind(&path).expect("bind console socket");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let conn = loop {
                if flag.load(Ordering::Relaxed) || Instant::now() > deadline {
                    return false;
                }
                match listener.accept() {
                    Ok((c, _)) => break c,
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            };
            conn.set_nonblocking(false).expect("blocking connection");
            let Some(master) = recv_fd(conn.as_raw_fd()) else {
                return false;
            };
            let mut buf = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let mut p = libc::pollfd {
                    fd: master.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut p, 1, 50) } <= 0 {
                    continue;
                }
                // SAFETY: buf is writable for its length.
                let n =
                    unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break;
                }
            }
            true
        });
        ConsoleReceiver {
            path,
            stop,
            thread: Some(thread),
        }
    }

    /// Whether a pty master was received.
    fn finish(mut self) -> bool {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .is_some_and(|t| t.join().unwrap_or(false))
    }
}

impl Drop for ConsoleReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A bundle with a terminal, no tmpfs on /dev (the image's /dev is used),
/// and a process that reports the container's mounts and /dev/console to
/// /result.
fn console_bundle(s: &Scratch) -> (Bundle, PathBuf) {
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "/probe mounts > /result/mounts; /probe stat /dev/console > /result/console",
    ]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    remove_mount(&bundle, "/dev");
    (bundle, result)
}

/// What one console container did.
enum ConsoleRun {
    Refused,
    /// The container's mounts and `stat /dev/console`.
    Ran(Value, Value),
}

/// `create --console-socket` and `start` the bundle, then read what it
/// reported. A refusal must leave nothing behind.
#[track_caller]
fn console_run(s: &Scratch, rt: &Rt, bundle: &Bundle, result: &Path) -> ConsoleRun {
    for f in ["mounts", "console"] {
        let _ = std::fs::remove_file(result.join(f));
    }
    let receiver = ConsoleReceiver::start(s);
    let before = mount_points();
    let id = s.id("console");
    let out = rt.cmd(
        s,
        &[
            os("create"),
            os("--console-socket"),
            receiver.path.as_os_str(),
            os("--bundle"),
            bundle.dir.as_os_str(),
            os(&id),
        ],
    );
    if out.code != 0 {
        receiver.finish();
        assert_refused_cleanly(s, &out, &id, &before);
        return ConsoleRun::Refused;
    }
    init_pid(s, &id);
    rt.cmd(s, &["start", &id]).ok();
    s.wait_status(&id, "stopped");
    let got_master = receiver.finish();
    rt.cmd(s, &["delete", &id]).ok();
    s.reap();
    assert!(got_master, "no pty master came to the console socket");
    let read = |name: &str| {
        let text = std::fs::read_to_string(result.join(name))
            .unwrap_or_else(|e| panic!("result/{name}: {e}"));
        json_of(&text, name)
    };
    ConsoleRun::Ran(read("mounts"), read("console"))
}

/// The container's mounts whose mount point is under /proc and whose
/// filesystem is devpts (a pty mounted over a procfs file).
fn ptys_under_proc(mounts: &Value) -> Vec<&Value> {
    mounts
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| {
                    m["fs_type"] == "devpts"
                        && m["mount_point"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("/proc/"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the pty was mounted in the container (for the log).
fn pty_mounts(mounts: &Value) -> Vec<String> {
    mounts
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["fs_type"] == "devpts" && m["mount_point"] != "/dev/pts")
                .map(|m| m["mount_point"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// rootfs/dev/console is a symlink (made by `target`) to a host canary
/// file: refused, or the host canary keeps content, mode and owner, gets
/// no mount, and nothing is made outside the rootfs.
fn console_symlink(s: &Scratch, target: impl FnOnce(&Path, &Path) -> String) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let (bundle, result) = console_bundle(s);
        let link = in_rootfs(&bundle, "/dev/console");
        symlink_in_rootfs(&bundle, "/dev/console", &target(&link, &canary));
        if let ConsoleRun::Ran(mounts, console) = console_run(s, &rt, &bundle, &result) {
            eprintln!(
                "pivot-tests: /dev/console {}; pty mounted at {:?}",
                console[0],
                pty_mounts(&mounts)
            );
            assert!(ptys_under_proc(&mounts).is_empty(), "{mounts}");
        }
    });
}

fn console_symlink_to_host_canary(s: &Scratch) {
    console_symlink(s, |_, canary| host_str(canary));
}

fn console_symlink_climbing_to_host_canary(s: &Scratch) {
    console_symlink(s, climbing);
}

/// rootfs/dev/console -> /proc/sys/kernel/hostname (the container's own,
/// UTS-namespaced): refused, or the pty is not mounted over a procfs
/// file (SECURITY.md rule 4: nothing but lxcfs's files is mounted over
/// files under /proc).
fn console_symlink_into_proc(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    checked(s, &guard, || {
        let (bundle, result) = console_bundle(s);
        symlink_in_rootfs(&bundle, "/dev/console", "/proc/sys/kernel/hostname");
        if let ConsoleRun::Ran(mounts, console) = console_run(s, &rt, &bundle, &result) {
            let over_proc = ptys_under_proc(&mounts);
            assert!(
                over_proc.is_empty(),
                "the console pty was mounted over a procfs file through the image's \
                 /dev/console symlink ({}): {over_proc:?}",
                console[0]
            );
        }
    });
}

/// rootfs/dev/console (a regular file) is swapped by a thread with a
/// symlink to a host canary file while containers with a terminal start:
/// each is refused or runs, and the canary never changes or gets a mount.
fn race_console_symlink_exchange(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let (bundle, result) = console_bundle(s);
        let console = in_rootfs(&bundle, "/dev/console");
        remove_any(&console);
        std::fs::write(&console, "").expect("write rootfs/dev/console");
        let link = in_rootfs(&bundle, "/dev/esc-console-link");
        std::os::unix::fs::symlink(&canary, &link).expect("symlink rootfs/dev/esc-console-link");
        let canary_path = host_str(&canary);
        let swapper = Swapper::start(&console, &link);
        let (ran, refused) = race_loop(&guard, RACE_CONTAINERS, RACE_BUDGET, || {
            let run = console_run(s, &rt, &bundle, &result);
            assert!(
                !mount_points().contains(&canary_path),
                "a mount on the host canary {canary_path}"
            );
            match run {
                ConsoleRun::Refused => false,
                ConsoleRun::Ran(mounts, _) => {
                    assert!(ptys_under_proc(&mounts).is_empty(), "{mounts}");
                    true
                }
            }
        });
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {ran} ran, {refused} refused, {swaps} swaps");
    });
}

// ---------------------------------------------------------------------
// Lifecycle: exec without a mount namespace, sysctls in the host's
// network namespace, --preserve-fds past the caller's fds

/// A container without a mount namespace is only chroot'ed into its
/// rootfs; a process `exec` starts in it must be too (there is no mount
/// namespace to join, which would set its root). Before, it ran in the
/// host's root: it read host files, and the container could reach them
/// through its `/proc/<pid>/root`. The exec'd `/bin/busybox` exists on the
/// host too, so a process left in the host's root runs and shows it.
fn exec_without_mount_namespace_stays_in_its_root(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "60"]);
        crate::namespaces::without_mount_namespace(&bundle);
        // A container without a mount namespace cannot mount its own /proc.
        let _proc = crate::namespaces::ScratchProc::mount(s, &in_rootfs(&bundle, "/proc"));
        let id = s.id("nomntns");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let script = format!(
            "/bin/busybox test -e {} && echo sees-host-canary; /bin/busybox test -e /probe && echo in-container-root; exit 0",
            host_str(&canary)
        );
        let out = rt.cmd(s, &["exec", &id, "/bin/busybox", "sh", "-c", &script]);
        rt.cmd(s, &["delete", "--force", &id]).ok();
        s.reap();
        // runc binds the rootfs onto itself in the host's mount namespace
        // and leaves it there: take it away (the failure is reported by
        // the host checks all the same, after this test's own verdict).
        let ours = host_str(&in_rootfs(&bundle, "/proc"));
        let left: Vec<String> = s.own_mounts().into_iter().filter(|m| *m != ours).collect();
        let leftover = catch(|| {
            assert!(
                left.is_empty(),
                "the runtime left mounts on the host: {left:?}"
            )
        });
        drop(_proc);
        unmount_under(s, &bundle.rootfs());
        assert!(
            !out.stdout.contains("sees-host-canary"),
            "the exec'd process sees the host canary {}: it runs in the host's root:\n{out}",
            canary.display()
        );
        if out.code != 0 && out.stdout.trim().is_empty() {
            assert!(
                !out.stderr_lines().is_empty(),
                "failed without an error:\n{out}"
            );
            eprintln!("pivot-tests: exec refused: {}", out.stderr.trim());
        } else {
            assert!(
                out.stdout.contains("in-container-root"),
                "the exec'd process does not see the container's root:\n{out}"
            );
        }
        leftover.unwrap_or_else(|msg| panic!("{msg}"));
    });
}

/// Unmounts (lazily, deepest first) whatever is mounted at or under `dir`,
/// a directory of this test's scratch dir.
fn unmount_under(s: &Scratch, dir: &Path) {
    assert!(dir.starts_with(&s.dir), "only inside the scratch dir");
    // Mounts stacked on one point are listed once: go round until none
    // is left (bounded).
    for _ in 0..8 {
        let mut points: Vec<String> = mount_points()
            .into_iter()
            .filter(|p| Path::new(p).starts_with(dir))
            .collect();
        if points.is_empty() {
            return;
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let c = CString::new(p).expect("no NUL in a mount point");
            // SAFETY: unmounting a mount under this test's scratch dir.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// linux.sysctl with a `net.*` key, and linux.namespaces joining a network
/// namespace by a path that names the runtime's own (the host's): refused,
/// as runc refuses it ("not allowed in host network namespace"), however
/// the path is spelt. Only ever with the value the host already has, so
/// that even a runtime that writes it changes nothing; checked after.
fn sysctl_in_joined_host_network_namespace_is_refused(s: &Scratch) {
    const FILE: &str = "/proc/sys/net/ipv4/ip_forward";
    let read = || std::fs::read_to_string(FILE).expect("read ip_forward");
    let host = read();
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    // runc 1.5's `list` fails on a --root that does not exist yet.
    std::fs::create_dir_all(&s.root).expect("mkdir --root");
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        bundle.edit(|c| c["linux"]["sysctl"] = json!({SYSCTL_KEY: host.trim()}));
        let this_process = format!("/proc/{}/ns/net", std::process::id());
        for path in [this_process.as_str(), "/proc/self/ns/net"] {
            bundle.join_namespace("network", path);
            let before = mount_points();
            let id = s.id("hostnet");
            let out = rt.create(s, &bundle, &id);
            if out.code == 0 {
                rt.cmd(s, &["delete", "--force", &id]);
                s.reap();
            }
            assert_eq!(read(), host, "the host's {FILE} changed");
            assert_ne!(
                out.code, 0,
                "network namespace {path:?} (the host's) with linux.sysctl {SYSCTL_KEY}: created \
                 (the sysctl was written to the host's namespace):\n{out}"
            );
            assert_refused_cleanly(s, &out, &id, &before);
            assert!(
                out.stderr.contains("host network namespace"),
                "the error does not say why:\n{out}"
            );
        }
    });
}

/// `--preserve-fds 10` from a caller whose fds 3.. are closed. Refused
/// (as runc refuses it), or the container works: `start`, `kill` and
/// `delete` each return (bounded). Before, pivot's own fds (the state
/// lock and directory, exec.fifo, procfs) took the free numbers and the
/// init kept them, so `start` and `delete` waited forever on the lock it
/// held. The same for `exec --preserve-fds 10`.
fn preserve_fds_beyond_open_fds(s: &Scratch) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, &[]);
    std::fs::create_dir_all(&s.root).expect("mkdir --root");
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "60"]);
        let id = s.id("preserve");
        let pid_file = s.path("esc-preserve.pid");
        let before = mount_points();
        let out = rt.cmd(
            s,
            &[
                os("create"),
                os("--preserve-fds"),
                os("10"),
                os("--pid-file"),
                pid_file.as_os_str(),
                os("--bundle"),
                bundle.dir.as_os_str(),
                os(&id),
            ],
        );
        if out.code == 0 {
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .expect("--pid-file");
            s.remember_pid(pid);
            let works = catch(|| {
                rt.cmd(s, &["start", &id]).ok();
                rt.cmd(s, &["kill", &id, "KILL"]).ok();
                s.wait_status(&id, "stopped");
                rt.cmd(s, &["delete", &id]).ok();
            });
            if let Err(msg) = works {
                // SAFETY: kill(2) of the init this test created.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                s.reap();
                let _ = catch(|| rt.cmd(s, &["delete", "--force", &id]));
                panic!("create --preserve-fds 10 (fds 3.. closed) was taken and then: {msg}");
            }
            eprintln!("pivot-tests: create --preserve-fds 10: created, and it works");
        } else {
            assert_refused_cleanly(s, &out, &id, &before);
            assert!(
                out.stderr.contains("preserve"),
                "the error does not say why:\n{out}"
            );
        }

        let id = s.id("preserve");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let out = rt.cmd(s, &["exec", "--preserve-fds", "10", &id, "/probe", "fds"]);
        let after = catch(|| {
            rt.cmd(s, &["kill", &id, "KILL"]).ok();
            s.wait_status(&id, "stopped");
            rt.cmd(s, &["delete", &id]).ok();
        });
        if out.code == 0 {
            let fds = fd_numbers(&out.json());
            assert!(
                fds.iter().all(|&fd| fd < 3),
                "exec --preserve-fds 10 passed fds {fds:?} the caller never had:\n{out}"
            );
        } else {
            assert!(
                out.stderr.contains("preserve"),
                "the error does not say why:\n{out}"
            );
        }
        after.unwrap_or_else(|msg| panic!("after exec --preserve-fds 10: {msg}"));
    });
}
