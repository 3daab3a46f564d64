//! Running the runtime binary: `Out` (status, stdout, stderr) and the
//! `Scratch` methods that wrap its commands (`create`, `state`, `run`, ...).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{pivot_bin, Scratch, NAME_SEQ, SPAWN_LOCK, WAIT};
use crate::host::wait_for;

/// How long one invocation of the runtime may take before the test fails
/// (runc takes well under a second; a hung runtime must not stall the suite).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// What one invocation of the runtime did.
#[derive(Debug)]
pub struct Out {
    pub cmd: String,
    /// The exit status, or 128 + signal number as a shell reports it.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Panics unless the command exited 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success:\n{self}");
        self
    }

    /// Panics unless the command exited non-zero.
    #[track_caller]
    pub fn fails(self) -> Self {
        assert_ne!(self.code, 0, "expected failure:\n{self}");
        self
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// The non-empty lines of stderr.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit {}\n--- stdout\n{}--- stderr\n{}---",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

/// For `create` and `run` under `PIVOT_TEST_SYSTEMD=1`: gives the bundle
/// (`--bundle`/`-b`, else `cwd`) the systemd cgroupsPath of the container
/// (the last argument) if its config.json has none.
fn systemd_cgroups_path(cwd: &Path, args: &[std::ffi::OsString]) {
    let Some((bundle, id)) = bundle_of_create(cwd, args) else {
        return;
    };
    let id = id.as_str();
    let config = bundle.join("config.json");
    let Ok(text) = std::fs::read_to_string(&config) else {
        return;
    };
    let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    // None, or one this function wrote for an earlier container.
    let path = &value["linux"]["cgroupsPath"];
    let ours = path.is_null()
        || path
            .as_str()
            .is_some_and(|p| p.starts_with(&crate::harness::systemd_cgroups_path("")));
    if !value["linux"].is_object() || !ours {
        return;
    }
    value["linux"]["cgroupsPath"] = Value::from(crate::harness::systemd_cgroups_path(id));
    let text = serde_json::to_string_pretty(&value).expect("config.json");
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
}

/// The bundle of a `create` or `run` in `args` (`--bundle`/`-b`, else
/// `cwd`) and the container id (the last argument).
fn bundle_of_create(
    cwd: &Path,
    args: &[std::ffi::OsString],
) -> Option<(std::path::PathBuf, String)> {
    let sub = args.iter().position(|a| a == "create" || a == "run")?;
    let rest = &args[sub + 1..];
    let id = rest
        .last()
        .and_then(|a| a.to_str())
        .filter(|a| !a.starts_with('-'))?;
    let mut bundle = cwd.to_path_buf();
    for (i, a) in rest.iter().enumerate() {
        if a == "--bundle" || a == "-b" {
            if let Some(b) = rest.get(i + 1) {
                bundle = cwd.join(b);
            }
        } else if let Some(b) = a.to_str().and_then(|a| a.strip_prefix("--bundle=")) {
            bundle = cwd.join(b);
        }
    }
    Some((bundle, id.to_string()))
}

/// For `create`, `run` and `explain` in the rootless mode: gives the
/// bundle's config.json a user namespace with the mode's mappings
/// (harness::rootless_mappings) if it has no user namespace, and shifts
/// its rootfs into them (bundle::shift_to_user), so that inside the
/// container every file has the owner it has as root.
pub(crate) fn rootless_user_namespace(cwd: &Path, args: &[std::ffi::OsString]) {
    let Some((bundle, _)) = bundle_of_create(cwd, args).or_else(|| {
        let sub = args.iter().position(|a| a == "explain")?;
        let mut rest = args[sub + 1..].to_vec();
        rest.insert(0, "create".into());
        rest.push("id".into());
        bundle_of_create(cwd, &rest)
    }) else {
        return;
    };
    let config = bundle.join("config.json");
    let Ok(text) = std::fs::read_to_string(&config) else {
        return;
    };
    let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    let Some(namespaces) = value["linux"]["namespaces"].as_array() else {
        return;
    };
    let (uids, gids) = crate::harness::rootless_mappings();
    let mut ours = value["linux"]["uidMappings"] == uids;
    if !namespaces.iter().any(|ns| ns["type"] == "user") {
        // Joining a namespace of another of the user's containers (a
        // pod's) means joining the user namespace that owns it.
        let user_ns = match joined_container_of_user(namespaces) {
            Some(pid) => {
                serde_json::json!({"type": "user", "path": format!("/proc/{pid}/ns/user")})
            }
            None => {
                value["linux"]["uidMappings"] = uids;
                value["linux"]["gidMappings"] = gids;
                serde_json::json!({"type": "user"})
            }
        };
        if let Some(list) = value["linux"]["namespaces"].as_array_mut() {
            list.push(user_ns);
        }
        ours = true;
        let text = serde_json::to_string_pretty(&value).expect("config.json");
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
    }
    // A rootfs of a user namespace of the test's own stays as it is.
    if ours {
        if let Some(rootfs) = value["root"]["path"].as_str() {
            crate::bundle::shift_to_user(&bundle.join(rootfs));
        }
    }
}

/// The pid of a process of the rootless mode's user (a container's) whose
/// namespace one of `namespaces` joins by its /proc/PID/ns path.
fn joined_container_of_user(namespaces: &[Value]) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let uid = crate::harness::rootless_user()?.uid;
    namespaces.iter().find_map(|ns| {
        let rest = ns["path"].as_str()?.strip_prefix("/proc/")?;
        let pid: u32 = rest.split_once("/ns/")?.0.parse().ok()?;
        let owner = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
        (owner == uid).then_some(pid)
    })
}

/// Waits for a child with a deadline; kills it when the deadline passes.
fn wait_child(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// [`assert_error_mentions`] for pivot; for another runtime (runc, crun),
/// whose words are its own, only that the command failed.
#[track_caller]
pub fn assert_refused_naming(out: &Out, any_of: &[&str]) {
    if crate::harness::other_runtime() {
        assert_ne!(out.code, 0, "expected failure:\n{out}");
    } else {
        assert_error_mentions(out, any_of);
    }
}

/// Asserts the failure shape every bad-input case shares: non-zero exit,
/// exactly one line on stderr, and that line names one of `any_of`
/// (case-insensitive).
#[track_caller]
pub fn assert_error_mentions(out: &Out, any_of: &[&str]) {
    assert_ne!(out.code, 0, "expected failure:\n{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "expected a one-line error:\n{out}");
    let line = lines[0].to_lowercase();
    assert!(
        any_of.iter().any(|k| line.contains(&k.to_lowercase())),
        "error does not mention any of {any_of:?}:\n{out}"
    );
}

/// `bin ARGS...` in `cwd`, and how it is shown: as root, or in the
/// rootless mode as its user (harness::rootless_user: no supplementary
/// groups, a clean environment with its $XDG_RUNTIME_DIR, and a `create`
/// or `run` bundle given the mode's user namespace). Every test that
/// spawns the runtime itself (or a wrapper running it) starts from this.
pub fn runtime_command<S: AsRef<OsStr>>(bin: &Path, cwd: &Path, args: &[S]) -> (Command, String) {
    let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    if let Some(u) = crate::harness::rootless_user() {
        let owned: Vec<std::ffi::OsString> = args.iter().map(|a| a.to_os_string()).collect();
        rootless_user_namespace(cwd, &owned);
        return u.command_of(bin, cwd, &args);
    }
    let mut cmd = Command::new(bin);
    cmd.args(&args).current_dir(cwd);
    let shown = std::iter::once(bin.as_os_str())
        .chain(args.iter().copied())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    (cmd, shown)
}

impl Scratch {
    /// Runs `$PIVOT_BIN --root <root> ARGS...`.
    pub fn pivot<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        self.pivot_in(&self.dir, args)
    }

    /// Runs `$PIVOT_BIN --root <root> ARGS...` with `cwd` as its working dir.
    pub fn pivot_in<S: AsRef<OsStr>>(&self, cwd: &Path, args: &[S]) -> Out {
        let mut all = vec![OsStr::new("--root"), self.root.as_os_str()];
        all.extend(args.iter().map(AsRef::as_ref));
        self.runtime(cwd, &all)
    }

    /// Runs `$PIVOT_BIN ARGS...` (no `--root`) with `cwd` as working dir.
    /// With `PIVOT_TEST_NO_PIVOT=1` every `create` and `run` gets
    /// `--no-pivot`, so the whole suite (or a part) can be run again in
    /// that mode.
    pub fn runtime<S: AsRef<OsStr>>(&self, cwd: &Path, args: &[S]) -> Out {
        let bin = pivot_bin().expect("PIVOT_BIN");
        let mut args: Vec<std::ffi::OsString> =
            args.iter().map(|a| a.as_ref().to_os_string()).collect();
        if std::env::var_os("PIVOT_TEST_NO_PIVOT").is_some_and(|v| v == "1")
            && !args.iter().any(|a| a == "--no-pivot")
        {
            if let Some(i) = args.iter().position(|a| a == "create" || a == "run") {
                args.insert(i + 1, "--no-pivot".into());
            }
        }
        if crate::harness::systemd_cgroup() && !args.iter().any(|a| a == "--systemd-cgroup") {
            systemd_cgroups_path(cwd, &args);
            args.insert(0, "--systemd-cgroup".into());
        }
        let (cmd, shown) = runtime_command(&bin, cwd, &args);
        self.run_command(cmd, shown)
    }

    /// Runs a command with stdin from /dev/null and stdout/stderr into
    /// files: a container created by the command inherits them and would
    /// keep a pipe open (and a reader waiting) for as long as it lives.
    pub fn run_command(&self, mut cmd: Command, shown: String) -> Out {
        let n = NAME_SEQ.fetch_add(1, Ordering::SeqCst);
        let out_path = self.dir.join("io").join(format!("{n}.out"));
        let err_path = self.dir.join("io").join(format!("{n}.err"));
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
        let spawned = {
            let _spawning = SPAWN_LOCK.read().unwrap_or_else(|e| e.into_inner());
            cmd.spawn()
        };
        let mut child = spawned.unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
        let status = wait_child(&mut child, COMMAND_TIMEOUT)
            .unwrap_or_else(|| panic!("{shown}: still running after {COMMAND_TIMEOUT:?}, killed"));
        let read =
            |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        Out {
            cmd: shown,
            code: exit_code(status),
            stdout: read(&out_path),
            stderr: read(&err_path),
        }
    }

    /// `state ID` as JSON; panics if it fails. Remembers the pid for reaping.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let state = self.pivot(&["state", id]).ok().json();
        if let Some(pid) = state["pid"].as_i64().filter(|p| *p > 0) {
            self.remember_pid(pid as i32);
        }
        state
    }

    /// The `status` field of `state ID`.
    #[track_caller]
    pub fn status(&self, id: &str) -> String {
        self.reap();
        let state = self.state(id);
        state["status"].as_str().unwrap_or_default().to_string()
    }

    /// Polls `state ID` until its status is `want`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: &str) {
        let mut last = String::new();
        let done = wait_for(WAIT, || {
            last = self.status(id);
            last == want
        });
        assert!(
            done,
            "container {id}: status stayed {last:?}, wanted {want:?}"
        );
    }

    /// `create --bundle BUNDLE ID`, which must succeed; returns the init pid.
    #[track_caller]
    pub fn create(&self, bundle: &Path, id: &str) -> i32 {
        self.pivot(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            bundle.as_os_str(),
            OsStr::new(id),
        ])
        .ok();
        let state = self.state(id);
        assert_eq!(state["status"], "created", "state after create: {state}");
        state["pid"].as_i64().expect("state.pid") as i32
    }

    /// `create` then `start`; returns the init pid of the running container.
    #[track_caller]
    pub fn create_started(&self, bundle: &Path, id: &str) -> i32 {
        let pid = self.create(bundle, id);
        self.pivot(&["start", id]).ok();
        pid
    }

    /// `run --bundle BUNDLE ID` in the foreground; returns what it did.
    pub fn run(&self, bundle: &Path, id: &str) -> Out {
        self.pivot(&[
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.as_os_str(),
            OsStr::new(id),
        ])
    }

    /// `run` that must exit 0 and print one JSON document (a probe's answer).
    #[track_caller]
    pub fn run_json(&self, bundle: &Path, id: &str) -> Value {
        self.run(bundle, id).ok().json()
    }

    /// `delete ID`, which must succeed; reaps the init afterwards.
    #[track_caller]
    pub fn delete(&self, id: &str) {
        self.pivot(&["delete", id]).ok();
        self.reap();
    }

    /// `list -q` as a set of ids.
    #[track_caller]
    pub fn list_ids(&self) -> BTreeSet<String> {
        let out = self.pivot(&["list", "-q"]).ok();
        out.stdout.split_whitespace().map(str::to_string).collect()
    }
}
