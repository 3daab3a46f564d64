//! The command line around the lifecycle: `--version`, `features`, `--log`
//! and `--log-format`, `--debug`, refused global flags, `--preserve-fds`,
//! `--no-new-keyring`, `--pid-file`, `kill` corner cases, the time and
//! cgroup namespaces, and `delete` after the init died behind our back.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{other_runtime, pivot_bin, tests, Scratch, WAIT};
use crate::host::{mount_points, wait_for};
use crate::runtime::Out;

tests![
    version_names_commit_and_spec,
    features_lists_options_and_namespaces,
    log_json_records_the_error,
    log_text_records_the_error,
    debug_flag_is_accepted,
    rootless_flag_takes_runcs_words,
    preserve_fds_passes_fd_3_on_run,
    preserve_fds_passes_fd_3_through_create_and_start,
    no_preserve_fds_closes_fd_3,
    new_session_keyring_unless_no_new_keyring,
    run_detached_writes_pid_file,
    kill_unknown_signal_fails_naming_it,
    kill_created_container,
    time_namespace_is_new,
    cgroup_namespace_roots_every_hierarchy,
    delete_after_init_killed_from_host,
    debug_lines_on_stderr_or_in_the_log,
    dash_v_prints_the_version,
];

/// `ARGS... --bundle BUNDLE ID` as the argument list of a command.
fn with_bundle<'a>(args: &[&'a str], bundle: &'a Path, id: &'a str) -> Vec<&'a OsStr> {
    let mut all: Vec<&OsStr> = args.iter().map(|a| OsStr::new(*a)).collect();
    all.extend([OsStr::new("--bundle"), bundle.as_os_str(), OsStr::new(id)]);
    all
}

/// Whether `s` starts like an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS`.
fn is_rfc3339(s: &str) -> bool {
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let b = s.as_bytes();
    b.len() >= shape.len()
        && shape.iter().zip(b).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            _ => want == got,
        })
}

fn version_names_commit_and_spec(s: &Scratch) {
    let out = s.runtime(&s.dir, &["--version"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let first = lines.first().copied().unwrap_or_default();
    let words: Vec<&str> = first.split_whitespace().collect();
    assert!(
        words.len() >= 3 && ["pivot", "runc"].contains(&words[0]) && words[1] == "version",
        "first line is not \"<name> version <version>\":\n{out}"
    );
    for key in ["commit:", "spec:"] {
        let line = lines.iter().find(|l| l.starts_with(key));
        let value = line.map(|l| l[key.len()..].trim()).unwrap_or_default();
        assert!(!value.is_empty(), "no {key:?} line with a value:\n{out}");
    }
}

fn features_lists_options_and_namespaces(s: &Scratch) {
    let out = s.runtime(&s.dir, &["features"]).ok();
    let features = out.json();
    for key in ["ociVersionMin", "ociVersionMax"] {
        let version = features[key].as_str().unwrap_or_default();
        let numbers: Vec<&str> = version.split(['.', '-', '+']).take(3).collect();
        assert!(
            numbers.len() == 3 && numbers.iter().all(|n| n.parse::<u32>().is_ok()),
            "{key} is not a version: {}",
            features[key]
        );
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .iter()
            .map(|x| x.as_str().expect("array of strings").to_string())
            .collect()
    };
    let options = strings(&features["mountOptions"]);
    for want in ["rbind", "ro", "rro"] {
        assert!(
            options.iter().any(|o| o == want),
            "mountOptions lacks {want:?}: {options:?}"
        );
    }
    let namespaces = strings(&features["linux"]["namespaces"]);
    for want in [
        "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
    ] {
        assert!(
            namespaces.iter().any(|n| n == want),
            "linux.namespaces lacks {want:?}: {namespaces:?}"
        );
    }
}

/// The line of the log file at `path` that reports an error, if any.
fn error_line(path: &Path, is_error: impl Fn(&str) -> bool) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("log file {}: {e}", path.display()));
    text.lines()
        .find(|l| is_error(l))
        .unwrap_or_else(|| panic!("no error line in {}:\n{text}", path.display()))
        .to_string()
}

/// The command failed with exit 1 and said something on stderr.
#[track_caller]
fn assert_failed_on_stderr(out: &Out, mentions: &str) {
    assert_eq!(out.code, 1, "expected exit code 1:\n{out}");
    assert!(
        out.stderr.to_lowercase().contains(mentions),
        "stderr does not mention {mentions:?}:\n{out}"
    );
}

fn log_json_records_the_error(s: &Scratch) {
    let log = s.path("log.json");
    let missing = s.id("missing");
    let log_arg = log.as_os_str();
    let out = s.pivot(&[
        OsStr::new("--log"),
        log_arg,
        OsStr::new("--log-format"),
        OsStr::new("json"),
        OsStr::new("state"),
        OsStr::new(&missing),
    ]);
    assert_failed_on_stderr(&out, "does not exist");
    let line = error_line(&log, |l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| v["level"] == "error")
    });
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert!(entry.is_object(), "not a JSON object: {line}");
    let msg = entry["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("does not exist"),
        "msg does not say what went wrong: {line}"
    );
    let time = entry["time"].as_str().unwrap_or_default();
    assert!(is_rfc3339(time), "time is not RFC 3339: {line}");
}

fn log_text_records_the_error(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    std::fs::remove_dir_all(bundle.rootfs()).unwrap();
    let id = s.id("logtext");
    let log = s.path("log.text");
    let before = mount_points();
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("--log-format"),
        OsStr::new("text"),
    ];
    args.extend(with_bundle(&["create"], &bundle.dir, &id));
    let out = s.pivot(&args);
    assert_failed_on_stderr(&out, "rootfs");
    let line = error_line(&log, |l| l.contains("level=error"));
    assert!(
        line.contains("rootfs"),
        "the error does not name it: {line}"
    );
    let time = line
        .split_once("time=")
        .map(|(_, t)| t.trim_start_matches('"'))
        .unwrap_or_default();
    assert!(is_rfc3339(time), "no RFC 3339 time=: {line}");
    s.assert_nothing_left(&id, &before);
}

fn debug_flag_is_accepted(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("debug");
    s.create_started(&bundle.dir, &id);
    let out = s.pivot(&["--debug", "list", "-q"]).ok();
    let ids: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(ids, [id.as_str()], "{out}");
    s.pivot(&["--debug", "delete", "--force", &id]).ok();
    s.reap();
}

/// As runc: `--rootless true` only makes cgroup permission errors
/// ignorable, so root runs the container as usual; a word that is neither
/// a boolean nor "auto" is refused naming the flag, leaving nothing.
fn rootless_flag_takes_runcs_words(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    let id = s.id("rootless");
    let before = mount_points();
    for word in ["true", "auto", "false"] {
        let mut args: Vec<&OsStr> = vec![OsStr::new("--rootless"), OsStr::new(word)];
        args.extend(with_bundle(&["run"], &bundle.dir, &id));
        s.pivot(&args).ok();
        s.assert_nothing_left(&id, &before);
    }
    let mut args: Vec<&OsStr> = vec![OsStr::new("--rootless"), OsStr::new("maybe")];
    args.extend(with_bundle(&["create"], &bundle.dir, &id));
    let out = s.pivot(&args).fails();
    assert!(
        out.stderr.contains("maybe"),
        "error does not name the value:\n{out}"
    );
    s.assert_nothing_left(&id, &before);
}

/// A fresh file in the scratch dir, opened read-only, with a unique name.
pub(crate) fn fd3_file(s: &Scratch) -> (File, String) {
    let path = s.path("preserved-fd-");
    std::fs::write(&path, "preserved\n").unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (File::open(&path).unwrap(), name)
}

/// Runs `$PIVOT_BIN --root ROOT ARGS...` with `fd3` open as its fd 3 (not
/// close-on-exec), stdin from /dev/null and stdout/stderr into files (a
/// container inherits them). Stdout is read back when the runtime exits,
/// or later from the returned path.
pub(crate) fn pivot_with_fd3(
    s: &Scratch,
    fd3: &File,
    args: &[&OsStr],
) -> (Out, std::path::PathBuf) {
    let bin = pivot_bin().expect("PIVOT_BIN");
    let mut all: Vec<OsString> = vec!["--root".into(), s.root.clone().into()];
    all.extend(args.iter().map(|a| a.to_os_string()));
    let shown = std::iter::once(bin.as_os_str())
        .chain(all.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
        + " 3<file";
    let out_path = s.path("fd3-out");
    let err_path = s.path("fd3-err");
    let open = |p: &Path| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
    };
    let src = fd3.as_raw_fd();
    let (mut cmd, _) = crate::runtime::runtime_command(&bin, &s.dir, &all);
    cmd.stdin(Stdio::null())
        .stdout(open(&out_path))
        .stderr(open(&err_path));
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe calls (dup2, fcntl) on fds it owns.
    unsafe {
        cmd.pre_exec(move || {
            let rc = if src == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(src, 3)
            };
            if rc < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    let mut status = None;
    wait_for(Duration::from_secs(20), || {
        status = child.try_wait().expect("waitpid");
        status.is_some()
    });
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{shown}: still running after 20s, killed");
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    let out = Out {
        cmd: shown,
        code,
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    (out, out_path)
}

/// The `probe fds` entry for fd `n`, if there is one.
fn fd_entry(fds: &Value, n: u64) -> Option<Value> {
    fds.as_array()
        .unwrap_or_else(|| panic!("probe fds: not an array: {fds}"))
        .iter()
        .find(|e| e["fd"] == n)
        .cloned()
}

#[track_caller]
pub(crate) fn assert_fd3_is(fds: &Value, name: &str) {
    let entry = fd_entry(fds, 3).unwrap_or_else(|| panic!("no fd 3 inside: {fds}"));
    let target = entry["target"].as_str().unwrap_or_default();
    assert!(
        target.ends_with(&format!("/{name}")),
        "fd 3 is not the preserved file {name}: {fds}"
    );
}

fn preserve_fds_passes_fd_3_on_run(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "fds"]);
    let id = s.id("keepfd");
    let (file, name) = fd3_file(s);
    let args = with_bundle(&["run", "--preserve-fds", "1"], &bundle.dir, &id);
    let (out, _) = pivot_with_fd3(s, &file, &args);
    let fds = out.ok().json();
    assert_fd3_is(&fds, &name);
}

fn preserve_fds_passes_fd_3_through_create_and_start(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "fds"]);
    let id = s.id("keepfd");
    let (file, name) = fd3_file(s);
    let args = with_bundle(&["create", "--preserve-fds", "1"], &bundle.dir, &id);
    let (out, stdout) = pivot_with_fd3(s, &file, &args);
    out.ok();
    drop(file);
    s.state(&id);
    s.pivot(&["start", &id]).ok();
    s.wait_status(&id, "stopped");
    let mut text = String::new();
    let done = wait_for(WAIT, || {
        text = std::fs::read_to_string(&stdout).unwrap_or_default();
        text.ends_with('\n')
    });
    assert!(done, "the container printed nothing: {text:?}");
    let fds: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("probe output is not JSON ({e}): {text}"));
    assert_fd3_is(&fds, &name);
    s.delete(&id);
}

fn no_preserve_fds_closes_fd_3(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "fds"]);
    let id = s.id("nofd");
    let (file, name) = fd3_file(s);
    let (out, _) = pivot_with_fd3(s, &file, &with_bundle(&["run"], &bundle.dir, &id));
    let fds = out.ok().json();
    assert!(fd_entry(&fds, 3).is_none(), "fd 3 leaked: {fds}");
    let leaked = fds.as_array().unwrap().iter().any(|e| {
        e["target"]
            .as_str()
            .is_some_and(|t| t.ends_with(&format!("/{name}")))
    });
    assert!(!leaked, "the runtime's fd 3 reached the container: {fds}");
}

/// Keyring names in the /proc/keys text `keys`.
fn keyrings(keys: &str) -> Vec<String> {
    keys.lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.get(7) == Some(&"keyring"))
                .then(|| fields.get(8).map(|d| d.trim_end_matches(':').to_string()))
                .flatten()
        })
        .collect()
}

/// /proc/keys as a container of `bundle` sees it, with `extra` run flags.
fn proc_keys(s: &Scratch, bundle: &Bundle, id: &str, extra: &[&str]) -> String {
    let mut flags = vec!["run"];
    flags.extend(extra);
    let answer = s.pivot(&with_bundle(&flags, &bundle.dir, id)).ok().json();
    answer["content"]
        .as_str()
        .unwrap_or_else(|| panic!("probe cat /proc/keys: {answer}"))
        .to_string()
}

fn new_session_keyring_unless_no_new_keyring(s: &Scratch) {
    // /proc/keys lists the keys a process may view, which include those
    // it possesses: its session keyring, named "_ses.<id>" by runc and
    // pivot. Container ids are unique, so the name is this container's.
    let bundle = s.bundle(&["/probe", "cat", "/proc/keys"]);
    bundle.edit(|c| {
        c["linux"]["maskedPaths"]
            .as_array_mut()
            .expect("linux.maskedPaths")
            .retain(|p| p != "/proc/keys");
    });
    let id = s.id("keys");
    let keys = proc_keys(s, &bundle, &id, &[]);
    let want = format!("_ses.{id}");
    assert!(
        keyrings(&keys).contains(&want),
        "no session keyring {want:?} inside:\n{keys}"
    );
    let id = s.id("nokeys");
    let keys = proc_keys(s, &bundle, &id, &["--no-new-keyring"]);
    let unwanted = format!("_ses.{id}");
    assert!(
        !keyrings(&keys).contains(&unwanted),
        "--no-new-keyring made a session keyring {unwanted:?}:\n{keys}"
    );
}

fn run_detached_writes_pid_file(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("pidfile");
    let pid_file = s.path("pid");
    let pid_arg = pid_file.to_str().unwrap();
    s.pivot(&with_bundle(
        &["run", "-d", "--pid-file", pid_arg],
        &bundle.dir,
        &id,
    ))
    .ok();
    let state = s.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    let text = std::fs::read_to_string(&pid_file).expect("read the pid file");
    let pid: i64 = text
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid file holds {text:?}: {e}"));
    assert_eq!(Some(pid), state["pid"].as_i64(), "pid file vs {state}");
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    s.delete(&id);
}

fn kill_unknown_signal_fails_naming_it(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("badsig");
    let pid = s.create_started(&bundle.dir, &id);
    for signal in ["SIGNOPE", "NOPE"] {
        let out = s.pivot(&["kill", &id, signal]).fails();
        assert!(
            out.stderr.contains("NOPE"),
            "the error does not name the signal:\n{out}"
        );
    }
    assert!(s.alive(pid), "the init died of an unknown signal");
    assert_eq!(s.status(&id), "running");
    s.pivot(&["delete", "--force", &id]).ok();
    s.reap();
}

fn kill_created_container(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("killcreated");
    let pid = s.create(&bundle.dir, &id);
    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    assert!(
        wait_for(WAIT, || !s.alive(pid)),
        "init {pid} survived SIGKILL"
    );
    s.delete(&id);
    s.pivot(&["state", &id]).fails();
}

fn time_namespace_is_new(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "stat", "/proc/self/ns/time"]);
    bundle.edit(|c| {
        let list = c["linux"]["namespaces"]
            .as_array_mut()
            .expect("linux.namespaces");
        list.retain(|ns| ns["type"] != "time");
        list.push(json!({"type": "time"}));
    });
    let host = std::fs::read_link("/proc/self/ns/time").expect("readlink /proc/self/ns/time");
    let host = host.to_string_lossy();
    let answer = s.run_json(&bundle.dir, &s.id("timens"));
    let inside = answer[0]["link"].as_str().unwrap_or_default();
    assert!(inside.starts_with("time:["), "{answer}");
    assert_ne!(
        inside, host,
        "the container shares the host's time namespace"
    );
}

fn cgroup_namespace_roots_every_hierarchy(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "cat", "/proc/self/cgroup"]);
    // runc 1.1's spec has no cgroup namespace; pivot's has.
    bundle.edit(|c| {
        let list = c["linux"]["namespaces"]
            .as_array_mut()
            .expect("linux.namespaces");
        if !list.iter().any(|ns| ns["type"] == "cgroup") {
            list.push(json!({"type": "cgroup"}));
        }
    });
    let answer = s.run_json(&bundle.dir, &s.id("cgns"));
    let content = answer["content"].as_str().unwrap_or_default();
    let lines: Vec<&str> = content.lines().collect();
    assert!(!lines.is_empty(), "{answer}");
    for line in lines {
        let path = line.splitn(3, ':').nth(2);
        assert_eq!(
            path,
            Some("/"),
            "not the namespace's root: {line:?}\n{content}"
        );
    }
}

fn delete_after_init_killed_from_host(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("hostkilled");
    let before = mount_points();
    let pid = s.create_started(&bundle.dir, &id);
    crate::sys::kill(pid, crate::sys::Signal::KILL).expect("kill the init");
    assert!(
        wait_for(WAIT, || !s.alive(pid)),
        "init {pid} survived SIGKILL"
    );
    s.delete(&id);
    s.pivot(&["state", &id]).fails();
    s.assert_nothing_left(&id, &before);
}

/// `--debug`: logrus-style `level=debug` lines on stderr, or only in the
/// --log file (text or JSON), with runc's milestone names; the --log file
/// is made even when nothing goes wrong.
fn debug_lines_on_stderr_or_in_the_log(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    let id = s.id("dbg");
    let mut args: Vec<&OsStr> = vec![OsStr::new("--debug")];
    args.extend(with_bundle(&["run"], &bundle.dir, &id));
    let out = s.pivot(&args).ok();
    assert!(out.stderr.contains("level=debug"), "{out}");
    if !other_runtime() {
        for milestone in [
            "nsexec container setup",
            "child process in init()",
            "init: closing the pipe to signal completion",
        ] {
            assert!(out.stderr.contains(milestone), "no {milestone:?}:\n{out}");
        }
    }
    for (format, want) in [("text", "level=debug"), ("json", r#""level":"debug""#)] {
        let log = s.path(&format!("debug.{format}"));
        let id = s.id("dbglog");
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("--debug"),
            OsStr::new("--log"),
            log.as_os_str(),
            OsStr::new("--log-format"),
            OsStr::new(format),
        ];
        args.extend(with_bundle(&["run"], &bundle.dir, &id));
        let out = s.pivot(&args).ok();
        assert!(
            !out.stderr.contains("level=debug"),
            "debug on stderr too:\n{out}"
        );
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(text.contains(want), "{format} log:\n{text}");
    }
    // exec too.
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("dbgexec");
    s.create_started(&bundle.dir, &id);
    let out = s
        .pivot(&["--debug", "exec", &id, "/probe", "exit", "0"])
        .ok();
    assert!(out.stderr.contains("level=debug"), "{out}");
    if !other_runtime() {
        assert!(out.stderr.contains("setns_init: about to exec"), "{out}");
    }
    // The --log file exists after a command that logged nothing.
    let log = s.path("quiet.log");
    s.pivot(&[OsStr::new("--log"), log.as_os_str(), OsStr::new("list")])
        .ok();
    assert!(log.exists(), "--log file not created");
    s.pivot(&["delete", "--force", &id]).ok();
    s.reap();
}

/// `-v` prints the version, as `runc -v` does (`-V`, `--version` too).
fn dash_v_prints_the_version(s: &Scratch) {
    for flag in ["-v", "--version"] {
        let out = s.runtime(&s.dir, &[flag]).ok();
        let first = out.stdout.lines().next().unwrap_or_default();
        assert!(first.contains(" version "), "{flag}:\n{out}");
    }
}
