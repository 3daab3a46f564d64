//! The six OCI hooks: when each runs, in which mount namespace, with what
//! on stdin (the state), which argv and env; what a failing, hanging or
//! missing hook does to the operation; and that nothing is left after one.
//!
//! Every hook runs `hook.sh` (written into the scratch dir), which records
//! what it sees as files KIND.* in an output dir and appends KIND to
//! OUT/order. Host-side hooks run it with /bin/sh and an argv0 of their
//! own (visible in /proc/self/cmdline); the startContainer hook runs in the
//! container, so its files (a copy of busybox as /hooks/sh and the script)
//! are in the rootfs only, and it writes to the bind-mounted /result.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch, MARKER, WAIT};
use crate::host::{mount_points, wait_for};
use crate::process::create_fails;

tests![
    all_six_hooks_in_order,
    failing_create_hooks_fail_create,
    failing_start_container_hook_fails_start,
    failing_start_container_hook_fails_run,
    start_container_hook_path_is_in_the_container,
    start_container_hook_without_env_gets_the_process_env,
    failing_poststart_hook_is_a_warning,
    failing_poststop_hook_is_a_warning,
    hook_timeout_fails_create,
    bad_hook_paths_are_named,
    create_container_hook_runs_in_the_rootfs,
];

/// What a hook records. Commands go through `$BB` (empty on the host,
/// /bin/busybox in the container, whose rootfs has few applet links).
/// argv is read from a /proc/self/cmdline the shell itself opened (a
/// command reading it would see its own). An EXIT argument makes the hook
/// fail with that status after printing MESSAGE on stderr.
const SCRIPT: &str = r#"#!/bin/sh
# hook.sh KIND OUT [EXIT [MESSAGE]]
kind=$1
out=$2
$BB cat > "$out/$kind.state"
exec 3< /proc/self/cmdline
$BB tr '\0' '\n' <&3 > "$out/$kind.argv"
exec 3<&-
$BB env > "$out/$kind.env"
$BB readlink /proc/self/ns/mnt > "$out/$kind.mntns"
pid=$($BB sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$out/$kind.state")
if [ -n "$pid" ]; then
    $BB tr '\0' ' ' < "/proc/$pid/cmdline" > "$out/$kind.cmdline" 2>/dev/null
fi
echo "$kind" >> "$out/order"
if [ -n "$3" ]; then
    echo "$4" >&2
    exit "$3"
fi
exit 0
"#;

/// Where the startContainer hook's files are in the rootfs.
const INSIDE_SH: &str = "/hooks/sh";
const INSIDE_SCRIPT: &str = "/hooks/hook.sh";

/// The host-side kinds, in the order they run.
const CREATE_KINDS: [&str; 3] = ["prestart", "createRuntime", "createContainer"];

/// A test's hook script and the directory its hooks record into.
struct Kit {
    script: PathBuf,
    out: PathBuf,
}

impl Kit {
    fn new(s: &Scratch) -> Kit {
        let script = s.path("hook.sh");
        std::fs::write(&script, SCRIPT).expect("write hook.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod hook.sh");
        Kit {
            script,
            out: s.mkdir("hooks-out"),
        }
    }

    fn script(&self) -> &str {
        self.script.to_str().unwrap()
    }

    fn out(&self) -> &str {
        self.out.to_str().unwrap()
    }

    /// A host-side hook that records as `kind` and succeeds; argv0 is
    /// "argv0-KIND".
    fn host(&self, kind: &str) -> Value {
        json!({
            "path": "/bin/sh",
            "args": [format!("argv0-{kind}"), self.script(), kind, self.out()],
            "env": env_for(kind, &[]),
        })
    }

    /// A host-side hook, the script itself as its path, that records as
    /// `kind` then fails with status `code`.
    fn failing(&self, kind: &str, code: i32) -> Value {
        json!({
            "path": self.script(),
            "args": ["hook.sh", kind, self.out(), code.to_string(), format!("{kind} hook says no")],
            "env": env_for(kind, &[]),
        })
    }

    /// Puts busybox and the script into the rootfs for startContainer.
    fn install_inside(&self, bundle: &Bundle) {
        let rootfs = bundle.rootfs();
        std::fs::create_dir_all(rootfs.join("hooks")).expect("mkdir rootfs/hooks");
        let copy = |from: &Path, to: &str| {
            let to = rootfs.join(to.trim_start_matches('/'));
            std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy to {}: {e}", to.display()));
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        copy(&rootfs.join("bin/busybox"), INSIDE_SH);
        copy(&self.script, INSIDE_SCRIPT);
    }

    /// The startContainer hook as found in the container (busybox picks
    /// its applet from argv0, "sh"), recording into /result, failing
    /// with `code` if given.
    fn inside(&self, code: Option<i32>) -> Value {
        let kind = "startContainer";
        let mut args = vec![
            "sh".to_string(),
            INSIDE_SCRIPT.into(),
            kind.into(),
            "/result".into(),
        ];
        if let Some(code) = code {
            args.extend([code.to_string(), format!("{kind} hook says no")]);
        }
        json!({
            "path": INSIDE_SH,
            "args": args,
            "env": env_for(kind, &["PATH=/bin", "BB=/bin/busybox"]),
        })
    }

    fn order(&self) -> Vec<String> {
        read_lines(&self.out.join("order"))
    }

    fn ran(&self, kind: &str) -> bool {
        self.out.join(format!("{kind}.state")).exists()
    }
}

/// A hook's env: its kind, a value with a space, `more`, and the host's
/// PATH unless `more` has one.
fn env_for(kind: &str, more: &[&str]) -> Vec<String> {
    let mut env = vec![
        format!("HOOK_KIND={kind}"),
        "HOOK_SPACE=two words".to_string(),
    ];
    if !more.iter().any(|m| m.starts_with("PATH=")) {
        env.push("PATH=/usr/local/bin:/usr/bin:/bin".into());
    }
    env.extend(more.iter().map(|s| s.to_string()));
    env
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn read_text(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The state a hook of `kind` got on stdin.
#[track_caller]
fn hook_state(dir: &Path, kind: &str) -> Value {
    let text = read_text(dir, &format!("{kind}.state"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{kind}'s stdin ({e}): {text:?}"))
}

/// Asserts what the hook of `kind` saw: argv, env, and common state.
#[track_caller]
fn assert_hook_saw(dir: &Path, kind: &str, argv: &[&str], id: &str, status: &str) -> Value {
    let state = hook_state(dir, kind);
    assert_eq!(state["id"], id, "{kind}: {state}");
    assert_eq!(state["status"], status, "{kind}: {state}");
    assert!(
        state["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{kind}: {state}"
    );
    assert_eq!(
        read_lines(&dir.join(format!("{kind}.argv"))),
        argv,
        "{kind}'s argv"
    );
    let env = read_lines(&dir.join(format!("{kind}.env")));
    for want in [format!("HOOK_KIND={kind}"), "HOOK_SPACE=two words".into()] {
        assert!(env.contains(&want), "{kind}'s env lacks {want:?}: {env:?}");
    }
    // Exactly the hook's env, not the runtime's or the container's.
    for var in ["PIVOT_BIN=", "PROBE_BIN=", &format!("{MARKER}=")] {
        assert!(
            !env.iter().any(|e| e.starts_with(var)),
            "{kind}'s env has {var}: {env:?}"
        );
    }
    state
}

fn host_mnt_ns() -> String {
    std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `start ID`, whatever it does.
fn start(s: &Scratch, id: &str) -> crate::runtime::Out {
    s.pivot(&["start", id])
}

fn all_six_hooks_in_order(s: &Scratch) {
    let kit = Kit::new(s);
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "test -e /result/startContainer.state && echo saw-hook > /result/process; \
         exec /probe sleep 60",
    ]);
    kit.install_inside(&bundle);
    bundle.edit(|c| {
        c["annotations"] = json!({"org.pivot.test": "hooks"});
        c["hooks"] = json!({
            "prestart": [kit.host("prestart")],
            "createRuntime": [kit.host("createRuntime")],
            "createContainer": [kit.host("createContainer")],
            "startContainer": [kit.inside(None)],
            "poststart": [kit.host("poststart")],
            "poststop": [kit.host("poststop")],
        });
    });
    let id = s.id("hooks");
    // A relative --bundle: the state has it absolute.
    let relative = bundle.dir.strip_prefix(&s.dir).unwrap();
    s.pivot_in(
        &s.dir,
        &[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            relative.as_os_str(),
            OsStr::new(&id),
        ],
    )
    .ok();
    let pid = s.state(&id)["pid"].as_i64().expect("state.pid");
    assert_eq!(kit.order(), CREATE_KINDS, "hooks run by create");
    let host_ns = host_mnt_ns();
    let container_ns = std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_ne!(container_ns, host_ns);
    for kind in CREATE_KINDS {
        let argv0 = format!("argv0-{kind}");
        let argv = [argv0.as_str(), kit.script(), kind, kit.out()];
        let state = assert_hook_saw(&kit.out, kind, &argv, &id, "creating");
        assert_eq!(state["pid"], pid, "{kind}: {state}");
        assert_eq!(
            state["bundle"],
            bundle.dir.to_str().unwrap(),
            "{kind}: {state}"
        );
        assert_eq!(
            state["annotations"]["org.pivot.test"], "hooks",
            "{kind}: {state}"
        );
        let ns = read_text(&kit.out, &format!("{kind}.mntns"));
        // createContainer runs in the container's mount namespace (where
        // the host's paths, like this script's, still resolve); the others
        // in the runtime's.
        let want = if kind == "createContainer" {
            &container_ns
        } else {
            &host_ns
        };
        assert_eq!(&ns, want, "{kind}'s mount namespace");
    }
    assert!(
        !result.join("startContainer.state").exists(),
        "startContainer ran at create"
    );

    start(s, &id).ok();
    assert_eq!(
        kit.order(),
        ["prestart", "createRuntime", "createContainer", "poststart"],
        "hooks run by start"
    );
    let argv = ["sh", INSIDE_SCRIPT, "startContainer", "/result"];
    let state = assert_hook_saw(&result, "startContainer", &argv, &id, "created");
    assert_eq!(state["pid"], pid, "startContainer: {state}");
    assert_eq!(
        read_text(&result, "startContainer.mntns"),
        container_ns,
        "startContainer's mount namespace"
    );
    assert_eq!(read_lines(&result.join("order")), ["startContainer"]);
    let process = result.join("process");
    assert!(
        wait_for(WAIT, || process.exists()),
        "the container's process did not run"
    );
    assert_eq!(
        read_text(&result, "process"),
        "saw-hook",
        "startContainer ran before the process"
    );
    let argv = ["argv0-poststart", kit.script(), "poststart", kit.out()];
    let state = assert_hook_saw(&kit.out, "poststart", &argv, &id, "running");
    assert_eq!(state["pid"], pid, "poststart: {state}");
    // By poststart the init is the container's process, not the runtime.
    let cmdline = read_text(&kit.out, "poststart.cmdline");
    assert!(
        cmdline.starts_with("/bin/sh") || cmdline.starts_with("/probe"),
        "the container's process at poststart: {cmdline:?}"
    );

    s.pivot(&["kill", &id, "KILL"]).ok();
    s.wait_status(&id, "stopped");
    assert!(!kit.ran("poststop"), "poststop ran before delete");
    s.delete(&id);
    assert_eq!(
        kit.order(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ],
        "hooks run by delete"
    );
    let argv = ["argv0-poststop", kit.script(), "poststop", kit.out()];
    assert_hook_saw(&kit.out, "poststop", &argv, &id, "stopped");
}

fn failing_create_hooks_fail_create(s: &Scratch) {
    for (failing, kind) in CREATE_KINDS.iter().enumerate() {
        let kit = Kit::new(s);
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        let mut hooks = serde_json::Map::new();
        for (i, k) in CREATE_KINDS.iter().enumerate() {
            let hook = if i == failing {
                kit.failing(k, 3)
            } else {
                kit.host(k)
            };
            hooks.insert(k.to_string(), json!([hook]));
        }
        hooks.insert("poststart".into(), json!([kit.host("poststart")]));
        bundle.edit(|c| c["hooks"] = Value::Object(hooks));
        let out = create_fails(s, &bundle.dir, &s.id("hookfail"), &["hook"]);
        assert!(
            out.stderr.contains(&format!("{kind} hook says no")),
            "the hook's stderr is in the error:\n{out}"
        );
        // The hooks before it ran, none after it.
        assert_eq!(kit.order(), CREATE_KINDS[..=failing], "failing {kind}");
    }
}

/// A bundle whose startContainer hook fails; the process would leave
/// /result/process.
fn failing_start_bundle(s: &Scratch, kit: &Kit) -> (Bundle, PathBuf) {
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", "echo ran > /result/process"]);
    kit.install_inside(&bundle);
    bundle.edit(|c| {
        c["hooks"] = json!({
            "startContainer": [kit.inside(Some(4))],
            "poststart": [kit.host("poststart")],
        });
    });
    (bundle, result)
}

fn failing_start_container_hook_fails_start(s: &Scratch) {
    let kit = Kit::new(s);
    let (bundle, result) = failing_start_bundle(s, &kit);
    let id = s.id("startfail");
    s.create(&bundle.dir, &id);
    let out = start(s, &id).fails();
    assert!(
        out.stderr.contains("startContainer hook says no"),
        "the hook's stderr is in the error:\n{out}"
    );
    assert!(result.join("startContainer.state").exists(), "the hook ran");
    s.wait_status(&id, "stopped");
    assert!(
        !result.join("process").exists(),
        "the process ran after its startContainer hook failed"
    );
    assert!(!kit.ran("poststart"), "poststart ran after a failed start");
    s.delete(&id);
}

fn failing_start_container_hook_fails_run(s: &Scratch) {
    let kit = Kit::new(s);
    let (bundle, result) = failing_start_bundle(s, &kit);
    let id = s.id("runfail");
    let before = mount_points();
    let out = s.run(&bundle.dir, &id).fails();
    assert!(
        out.stderr.contains("startContainer hook says no"),
        "the hook's stderr is in the error:\n{out}"
    );
    assert!(result.join("startContainer.state").exists(), "the hook ran");
    assert!(!result.join("process").exists(), "the process ran");
    assert!(!kit.ran("poststart"), "poststart ran after a failed run");
    s.reap();
    s.assert_nothing_left(&id, &before);
}

fn start_container_hook_path_is_in_the_container(s: &Scratch) {
    // The script exists on the host, at a path the rootfs does not have:
    // found there, it would run; looked up in the container, it is not.
    let kit = Kit::new(s);
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", "echo ran > /result/process"]);
    bundle.edit(|c| {
        c["hooks"] = json!({"startContainer": [{
            "path": kit.script(),
            "args": ["hook.sh", "startContainer", kit.out()],
            "env": env_for("startContainer", &[]),
        }]});
    });
    let id = s.id("startpath");
    s.create(&bundle.dir, &id);
    start(s, &id).fails();
    s.wait_status(&id, "stopped");
    assert!(!kit.ran("startContainer"), "the host's script ran");
    assert!(!result.join("process").exists(), "the process ran");
    s.delete(&id);
}

/// A startContainer hook without `env` runs with the container process's
/// environment (runc runs it from its init, whose environment that is by
/// then); one with `env` gets exactly that.
fn start_container_hook_without_env_gets_the_process_env(s: &Scratch) {
    let (bundle, result) = s.bundle_with_result(&["/bin/sh", "-c", "echo ran > /result/process"]);
    let marker = format!("{MARKER}={}", s.dir.display());
    bundle.edit(|c| {
        c["process"]["env"] = json!(["PATH=/bin", "PIVOT_A=two words", marker]);
        c["hooks"] = json!({"startContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", "env > /result/no-env"]},
            {"path": "/bin/sh", "args": ["sh", "-c", "env > /result/own-env"], "env": ["PIVOT_B=b"]},
        ]});
    });
    let id = s.id("startenv");
    let out = s.run(&bundle.dir, &id);
    let read = |f: &str| {
        let mut l = read_lines(&result.join(f));
        // sh itself exports PWD and SHLVL, and PATH if it got none.
        l.retain(|v| !v.starts_with("PWD=") && !v.starts_with("SHLVL="));
        l.sort();
        l
    };
    assert_eq!(out.code, 0, "{out}");
    // The process's env as it gets it: HOME filled in from /etc/passwd.
    let mut want = vec![
        "HOME=/root".to_string(),
        "PATH=/bin".into(),
        "PIVOT_A=two words".into(),
        marker,
    ];
    want.sort();
    assert_eq!(read("no-env"), want, "a hook without env");
    let own = read("own-env");
    assert!(
        own.iter().any(|v| v == "PIVOT_B=b") && !own.iter().any(|v| v.starts_with("PIVOT_A=")),
        "a hook's own env: {own:?}"
    );
    assert!(result.join("process").exists(), "the process ran");
}

fn failing_poststart_hook_is_a_warning(s: &Scratch) {
    let kit = Kit::new(s);
    let bundle = s.bundle(&["/probe", "sleep", "60"]);
    bundle.edit(|c| {
        c["hooks"] = json!({
            "poststart": [kit.failing("poststart", 5), kit.host("second-poststart")],
        });
    });
    let id = s.id("poststart");
    s.create(&bundle.dir, &id);
    let out = start(s, &id).ok();
    assert!(
        out.stderr.contains("poststart hook says no"),
        "a warning with the hook's stderr:\n{out}"
    );
    assert_eq!(s.status(&id), "running", "{out}");
    // The remaining hooks still run.
    assert_eq!(kit.order(), ["poststart", "second-poststart"]);
    s.pivot(&["delete", "--force", &id]).ok();
}

fn failing_poststop_hook_is_a_warning(s: &Scratch) {
    let kit = Kit::new(s);
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        c["hooks"] = json!({
            "poststop": [kit.failing("poststop", 6), kit.host("second-poststop")],
        });
    });
    let id = s.id("poststop");
    let before = mount_points();
    s.create_started(&bundle.dir, &id);
    s.wait_status(&id, "stopped");
    let out = s.pivot(&["delete", &id]).ok();
    assert!(
        out.stderr.contains("poststop hook says no"),
        "a warning with the hook's stderr:\n{out}"
    );
    assert_eq!(kit.order(), ["poststop", "second-poststop"]);
    s.reap();
    s.assert_nothing_left(&id, &before);
}

fn hook_timeout_fails_create(s: &Scratch) {
    let kit = Kit::new(s);
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        c["hooks"] = json!({
            // exec: the process to kill at the timeout is the sleep itself.
            "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 30"],
                          "env": ["PATH=/usr/bin:/bin"], "timeout": 1}],
            "createRuntime": [kit.host("createRuntime")],
        });
    });
    let started = Instant::now();
    create_fails(
        s,
        &bundle.dir,
        &s.id("hooktimeout"),
        &["timed out", "timeout"],
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "create took {took:?} with a 1s hook timeout"
    );
    assert!(
        !kit.ran("createRuntime"),
        "a hook ran after a timed-out one"
    );
}

fn bad_hook_paths_are_named(s: &Scratch) {
    let kit = Kit::new(s);
    let not_executable = s.path("not-executable.sh");
    std::fs::write(&not_executable, SCRIPT).unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let missing = s.path("missing-hook");
    let hook = |path: &Path| json!({"path": path, "args": ["hook"], "env": ["PATH=/bin"]});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"prestart": [hook(&missing)]}),
            "hooks.prestart[0].path",
        ),
        (
            json!({"createRuntime": [kit.host("createRuntime"), hook(&missing)]}),
            "hooks.createRuntime[1].path",
        ),
        (
            json!({"createContainer": [hook(&not_executable)]}),
            "hooks.createContainer[0].path",
        ),
        (
            json!({"poststart": [hook(&missing)]}),
            "hooks.poststart[0].path",
        ),
        (
            json!({"poststop": [hook(&not_executable)]}),
            "hooks.poststop[0].path",
        ),
        (
            json!({"prestart": [hook(Path::new("relative/hook.sh"))]}),
            "hooks.prestart[0].path",
        ),
    ];
    for (hooks, field) in cases {
        let bundle = s.bundle(&["/probe", "exit", "0"]);
        bundle.edit(|c| c["hooks"] = hooks);
        create_fails(s, &bundle.dir, &s.id("hookpath"), &[field]);
        assert!(
            kit.order().is_empty(),
            "{field}: a hook ran: {:?}",
            kit.order()
        );
    }
}

/// createContainer hooks run with the container's rootfs as their working
/// directory, as runc runs them (a relative path lands in the rootfs).
fn create_container_hook_runs_in_the_rootfs(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        c["hooks"] = json!({"createContainer": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", "pwd > ./hook-cwd"],
        }]});
    });
    let id = s.id("hookcwd");
    s.run(&bundle.dir, &id).ok();
    let cwd = std::fs::read_to_string(bundle.rootfs().join("hook-cwd"))
        .expect("the hook wrote no ./hook-cwd in the rootfs");
    assert_eq!(
        Path::new(cwd.trim()),
        bundle.rootfs().canonicalize().unwrap(),
        "hook cwd"
    );
}
