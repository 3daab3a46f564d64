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
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{kill_process, waitpid, Pid, Signal, WaitOptions};
use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{catch, pivot_bin, tests, Scratch, WAIT};
use crate::host::{mount_points, wait_for};
use crate::runtime::Out;

pub mod console;
pub mod exe;
pub mod fds;
pub mod lifecycle;
pub mod procfs;
pub mod ptrace;
pub mod races;

use crate::attack::{
    self, climbing, host_str, in_rootfs, remove_any, remove_mount, symlink_in_rootfs, Canaries,
    Swapper,
};

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
        if crate::harness::rootless_user().is_some() {
            crate::runtime::rootless_user_namespace(&s.dir, &all);
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
    // In the rootless mode the runtime runs as the mode's user, with its
    // clean environment (runtime::runtime_command's).
    let user = crate::harness::rootless_user();
    let vars: Vec<(OsString, OsString)> = match user {
        Some(u) => vec![
            (
                "PATH".into(),
                "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into(),
            ),
            ("USER".into(), u.name.clone().into()),
            ("XDG_RUNTIME_DIR".into(), u.xdg.clone().into()),
        ],
        None => std::env::vars_os().collect(),
    };
    let ids = user.map(|u| (u.uid, u.gid));
    let env_c: Vec<CString> = vars
        .into_iter()
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
        let (rd, wr) = pipe_with(PipeFlags::CLOEXEC).expect("pipe2");
        // SAFETY: fork in a threaded process: the child only makes
        // async-signal-safe calls (fcntl, dup2, chdir, raw setgroups,
        // setresgid and setresuid, execve, write, _exit) on memory
        // prepared before the fork, and never returns from this block.
        let pid = unsafe {
            let pid = libc::fork();
            if pid == 0 {
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
                if let Some((uid, gid)) = ids {
                    // Raw system calls: the child has one thread, and
                    // glibc's wrappers would signal the parent's others.
                    let dropped =
                        libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
                            && libc::syscall(libc::SYS_setresgid, gid, gid, gid) == 0
                            && libc::syscall(libc::SYS_setresuid, uid, uid, uid) == 0;
                    if !dropped {
                        let errno = *libc::__errno_location();
                        libc::write(report, (&errno as *const i32).cast(), 4);
                        libc::_exit(127);
                    }
                }
                libc::chdir(cwd.as_ptr());
                libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
                let errno = *libc::__errno_location();
                libc::write(report, (&errno as *const i32).cast(), 4);
                libc::_exit(127);
            }
            pid
        };
        assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
        let child = Pid::from_raw(pid).expect("a child's pid");
        drop(wr);
        let mut buf = [0u8; 4];
        // EOF (nothing read) means execve worked.
        if rustix::io::read(&rd, &mut buf) != Ok(4) {
            break child;
        }
        let _ = waitpid(Some(child), WaitOptions::empty());
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
        if let Ok(Some((_, status))) = waitpid(Some(pid), WaitOptions::NOHANG) {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = kill_process(pid, Signal::KILL);
            let _ = waitpid(Some(pid), WaitOptions::empty());
            panic!("{shown}: still running after {COMMAND_TIMEOUT:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let code = match (status.exit_status(), status.terminating_signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 128,
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

/// Every object an attack names starts with this, so that one appearing
/// outside the scratch dir can be told from the host's own activity.
const TAG: &str = "esc-";

/// A host file in the scratch dir that no container may touch.
fn canary_file(s: &Scratch, tag: &str) -> PathBuf {
    attack::canary_file(s, &format!("{TAG}{tag}"))
}

/// A host directory (holding one file) that no container may touch.
fn canary_dir(s: &Scratch, tag: &str) -> PathBuf {
    attack::canary_dir(s, &format!("{TAG}{tag}"))
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
    canaries: Canaries,
    mounts: BTreeSet<String>,
    dev: BTreeMap<String, String>,
    listings: Vec<(&'static str, BTreeSet<String>)>,
    runtime: PathBuf,
    runtime_bytes: Vec<u8>,
}

impl Guard {
    fn new(rt: &Rt, canaries: &[&Path]) -> Guard {
        Guard {
            canaries: Canaries::new(canaries),
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
        self.canaries.assert_unchanged();
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
        attack::assert_mounts_untouched(s, &self.mounts);
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
    attack::checked_with(body, || guard.assert_host_untouched(s));
}

/// The frame of an escape test: the host as it was (with `canaries`),
/// `body` with the runtime, then every host check, whatever `body` found.
#[track_caller]
fn guarded(s: &Scratch, canaries: &[&Path], body: impl FnOnce(&Rt)) {
    let rt = Rt::new(s);
    let guard = Guard::new(&rt, canaries);
    checked(s, &guard, || body(&rt));
}

// ---------------------------------------------------------------------
// Bundles

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
