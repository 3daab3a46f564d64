use super::*;

tests![
    leaked_fds_not_in_init,
    leaked_fds_not_in_exec,
    preserve_fds_passes_exactly_those,
    cwd_proc_self_fd,
    exec_cwd_proc_self_fd,
];

// Leaked fds and the cwd (CVE-2024-21626)

/// The fd numbers in a `probe fds` answer.
#[track_caller]
pub(super) fn fd_numbers(answer: &Value) -> Vec<u64> {
    answer
        .as_array()
        .unwrap_or_else(|| panic!("probe fds: {answer}"))
        .iter()
        .map(|f| f["fd"].as_u64().expect("fd"))
        .collect()
}

/// A `probe fds` answer with 0, 1 and 2 alone: none of the caller's fds.
#[track_caller]
fn assert_only_stdio(fds: &Value) {
    assert_eq!(
        fd_numbers(fds),
        [0, 1, 2],
        "the caller's fds reached the container: {fds}"
    );
}

/// `run` with a host file, the scratch dir and a socket open in the
/// runtime (fds 3, 4, 5) and no --preserve-fds: the process has 0, 1, 2.
fn leaked_fds_not_in_init(s: &Scratch) {
    guarded(s, &[], |rt| {
        let leaks = Leaks::new(s);
        let bundle = s.bundle(&["/probe", "fds"]);
        let id = s.id("leak");
        let out = rt
            .cmd_leaking(
                s,
                &[os("run"), os("--bundle"), bundle.dir.as_os_str(), os(&id)],
                &leaks.fds(),
            )
            .ok();
        assert_only_stdio(&out.json());
    });
}

/// The same for a process `exec` starts.
fn leaked_fds_not_in_exec(s: &Scratch) {
    guarded(s, &[], |rt| {
        let leaks = Leaks::new(s);
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        let id = s.id("leak");
        rt.created(s, &bundle, &id);
        rt.cmd(s, &["start", &id]).ok();
        let out = rt
            .cmd_leaking(s, &["exec", &id, "/probe", "fds"], &leaks.fds())
            .ok();
        assert_only_stdio(&out.json());
        rt.cmd(s, &["kill", &id, "KILL"]);
    });
}

/// --preserve-fds 1 passes fd 3 (the file) and nothing else, to the init
/// and to an exec'd process.
fn preserve_fds_passes_exactly_those(s: &Scratch) {
    guarded(s, &[], |rt| {
        let leaks = Leaks::new(s);
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
    let canary = canary_file(s, "canary");
    guarded(s, &[&canary], |rt| {
        let leaks = Leaks::new(s);
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
    let canary = canary_file(s, "canary");
    guarded(s, &[&canary], |rt| {
        let leaks = Leaks::new(s);
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
