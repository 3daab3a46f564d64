//! `--debug` times each step of create and start: one `step done` line per
//! step in runc's log format (logrus fields `step` and `duration`), in the
//! --log file as JSON or text, or on stderr. Checked: every named step is
//! there (parse, cgroups, clone, the init's rootfs steps, seccomp, hooks,
//! exec), every duration parses, the steps directly below a command add up
//! to about the command's own line, and that line to most of the wall time
//! the test measured around the command. runc and the other runtimes log
//! no timings: with them only the commands' success is checked.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::harness::{tests, Scratch};

tests![
    debug_times_each_step_of_create_and_start,
    debug_step_lines_in_text_format_and_on_stderr,
    no_step_lines_without_debug,
];

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `--debug --log LOG --log-format FORMAT ARGS...`, which must succeed.
fn logged(s: &Scratch, log: &Path, format: &str, args: &[&OsStr]) {
    let mut all = vec![
        os("--debug"),
        os("--log"),
        log.as_os_str(),
        os("--log-format"),
        os(format),
    ];
    all.extend_from_slice(args);
    s.pivot(&all).ok();
}

fn is_pivot() -> bool {
    crate::harness::is_pivot()
}

/// A bundle running `args` with a seccomp profile and a createRuntime
/// hook, so that those steps have work to do.
fn bundle_with_work(s: &Scratch, args: &[&str]) -> Bundle {
    let bundle = s.bundle(args);
    bundle.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mknodat"], "action": "SCMP_ACT_ERRNO"}]
        });
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/true"}]});
    });
    bundle
}

/// "1.234ms" in milliseconds; None unless it is that shape exactly.
fn parse_ms(d: &str) -> Option<f64> {
    let n = d.strip_suffix("ms")?;
    let (int, frac) = n.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.len() != 3 || !digits(frac) {
        return None;
    }
    n.parse().ok()
}

/// The `step done` lines of a JSON log: (step, milliseconds), in order.
fn json_steps(log: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in log.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        if v["msg"] != "step done" {
            continue;
        }
        assert_eq!(v["level"], "debug", "{line}");
        assert!(v["time"].is_string(), "no time: {line}");
        let step = v["step"]
            .as_str()
            .unwrap_or_else(|| panic!("no step: {line}"));
        let d = v["duration"]
            .as_str()
            .and_then(parse_ms)
            .unwrap_or_else(|| panic!("duration is not N.NNNms: {line}"));
        out.push((step.to_string(), d));
    }
    out
}

/// The `step done` lines of a text log: `... msg="step done" step=S
/// duration=D`, S bare or quoted as logrus writes it.
fn text_steps(log: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.split_once(r#" msg="step done" step="#).map(|x| x.1) else {
            continue;
        };
        assert!(line.starts_with("time=\""), "{line}");
        assert!(line.contains(" level=debug "), "{line}");
        let (step, rest) = if let Some(q) = rest.strip_prefix('"') {
            let end = q
                .find('"')
                .unwrap_or_else(|| panic!("unterminated: {line}"));
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        let d = rest
            .trim()
            .strip_prefix("duration=")
            .and_then(parse_ms)
            .unwrap_or_else(|| panic!("no duration=N.NNNms: {line}"));
        out.push((step, d));
    }
    out
}

fn find(steps: &[(String, f64)], name: &str) -> Option<f64> {
    steps.iter().find(|(s, _)| s == name).map(|(_, d)| *d)
}

/// Checks the steps of `cmd` (create or start): each of `named` is there,
/// and those directly below `cmd` add up to its own line, which is no
/// longer than `wall_ms`. Returns the share of `wall_ms` that line covers,
/// or why the steps did not add up (a busy machine may stall the process
/// between two steps: the caller tries again).
fn check_command(
    steps: &[(String, f64)],
    cmd: &str,
    named: &[&str],
    wall_ms: f64,
) -> Result<f64, String> {
    let all: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    for n in named {
        assert!(
            find(steps, n).is_some(),
            "no step {n:?} in the log; steps: {all:?}"
        );
    }
    let total = find(steps, cmd).unwrap_or_else(|| panic!("no {cmd:?} line: {all:?}"));
    let prefix = format!("{cmd}/");
    let children: f64 = steps
        .iter()
        .filter(|(s, _)| s.strip_prefix(&prefix).is_some_and(|r| !r.contains('/')))
        .map(|(_, d)| d)
        .sum();
    // Sequential steps: their sum cannot exceed the whole (0.001 ms of
    // rounding per line); what lies between them is little.
    assert!(
        children <= total + 0.05,
        "{cmd}: its steps add up to {children:.3} ms, more than its {total:.3} ms"
    );
    assert!(
        total <= wall_ms,
        "{cmd}: {total:.3} ms logged, more than the {wall_ms:.3} ms measured around the command"
    );
    if children < 0.8 * total {
        return Err(format!(
            "{cmd}: its steps add up to {children:.3} ms, under 80% of its {total:.3} ms: {steps:?}"
        ));
    }
    Ok(total / wall_ms)
}

/// `create` then `start`, each with its own JSON log: every named step,
/// well-formed, adding up. The test's spawn of the command, the process's
/// start-up (about 1 ms here) and its exit are outside pivot's own line,
/// which no clock inside the process can see, and on a machine busy with
/// the rest of the suite they can take most of a short command's wall
/// time (start is about 1.5 ms of work). So each line must be no longer
/// than the wall time, and create's must cover at least a fifth of it in
/// the best of three runs: a line that began late or ended early shows.
fn debug_times_each_step_of_create_and_start(s: &Scratch) {
    let bundle = bundle_with_work(s, &["/probe", "exit", "0"]);
    let mut best = (0.0f64, 0.0f64);
    let mut why = String::new();
    for round in 0..3 {
        let id = s.id(&format!("steps{round}"));
        let clog = s.path(&format!("create{round}.json"));
        let slog = s.path(&format!("start{round}.json"));
        let t = Instant::now();
        logged(
            s,
            &clog,
            "json",
            &[
                os("create"),
                os("--bundle"),
                bundle.dir.as_os_str(),
                os(&id),
            ],
        );
        let create_wall = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        logged(s, &slog, "json", &[os("start"), os(&id)]);
        let start_wall = t.elapsed().as_secs_f64() * 1e3;
        // /probe exit 0 may still be on its way out.
        s.pivot(&["delete", "--force", &id]).ok();
        s.reap();
        if !is_pivot() {
            return;
        }
        let created = json_steps(&std::fs::read_to_string(&clog).unwrap_or_default());
        let started = json_steps(&std::fs::read_to_string(&slog).unwrap_or_default());
        let c = check_command(
            &created,
            "create",
            &[
                "create/parse",
                "create/cgroups",
                "create/seccomp",
                "create/clone",
                "create/init",
                "create/init/join cgroups",
                "create/init/rootfs",
                "create/init/rootfs/prepare_root",
                "create/init/rootfs/mounts[0] /proc",
                "create/init/rootfs/hooks",
                "create/init/rootfs/switch_root",
                "create/init/rootfs/mask_paths",
                "create/init/seccomp",
                "create/save state",
            ],
            create_wall,
        );
        let st = check_command(
            &started,
            "start",
            &["start/state", "start/release", "start/exec"],
            start_wall,
        );
        // Nothing of start in create's log and the other way round.
        assert!(created.iter().all(|(n, _)| n.starts_with("create")));
        assert!(started.iter().all(|(n, _)| n.starts_with("start")));
        match (c, st) {
            (Ok(c), Ok(st)) => best = (best.0.max(c), best.1.max(st)),
            (Err(e), _) | (_, Err(e)) => {
                why = e;
                continue;
            }
        }
        if best.0 >= 0.2 {
            return;
        }
    }
    panic!(
        "in three runs pivot's own lines covered at best {:.0}% of create's wall time (want 20%; start's {:.0}%){}",
        best.0 * 100.0,
        best.1 * 100.0,
        if why.is_empty() { String::new() } else { format!("; last: {why}") }
    );
}

/// runc's text format: `step=... duration=...` fields after the message,
/// in the --log file or, without --log, on stderr; `run` logs create's and
/// start's steps.
fn debug_step_lines_in_text_format_and_on_stderr(s: &Scratch) {
    let bundle = bundle_with_work(s, &["/probe", "exit", "0"]);
    let log = s.path("steps.txt");
    let id = s.id("textsteps");
    logged(
        s,
        &log,
        "text",
        &[os("run"), os("--bundle"), bundle.dir.as_os_str(), os(&id)],
    );
    let id2 = s.id("stderrsteps");
    let out = s
        .pivot(&[
            OsStr::new("--debug"),
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(&id2),
        ])
        .ok();
    if !is_pivot() {
        return;
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for (what, steps) in [
        ("--log", text_steps(&text)),
        ("stderr", text_steps(&out.stderr)),
    ] {
        for n in [
            "create",
            "create/init/rootfs/mounts[0] /proc",
            "create/init/seccomp",
            "start",
            "start/exec",
        ] {
            assert!(
                find(&steps, n).is_some(),
                "{what}: no step {n:?}: {steps:?}\n{text}"
            );
        }
    }
}

/// Without --debug nothing is timed into the log.
fn no_step_lines_without_debug(s: &Scratch) {
    let bundle = bundle_with_work(s, &["/probe", "exit", "0"]);
    let log = s.path("quiet.json");
    let id = s.id("nosteps");
    let out = s
        .pivot(&[
            OsStr::new("--log"),
            log.as_os_str(),
            OsStr::new("--log-format"),
            OsStr::new("json"),
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.dir.as_os_str(),
            OsStr::new(&id),
        ])
        .ok();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("step done"), "{text}");
    assert!(!out.stderr.contains("step done"), "{out}");
}
