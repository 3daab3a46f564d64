//! Man pages in runc's layout: pivot(8) and pivot-COMMAND(8), each with
//! NAME, SYNOPSIS, DESCRIPTION and OPTIONS from the clap definition, then
//! EXIT STATUS, EXAMPLES and SEE ALSO from the tables below (whose command
//! lines a test parses with the real definition).

use clap_mangen::Man;

/// Command lines shown under EXAMPLES, with what each does.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "pivot",
        &[
            ("pivot spec", "Write a default config.json into the current directory (a bundle whose rootfs/ is filled)."),
            ("pivot create --bundle /srv/web --pid-file /run/web.pid web", "Set up the container \"web\"; its process waits."),
            ("pivot start web", "Run its process."),
            ("pivot list", "Show every container under the state directory."),
            ("pivot delete --force web", "Kill and remove it."),
            ("pivot --root /run/containerd/pivot list -q", "The IDs of the containers kept in another state directory."),
        ],
    ),
    (
        "spec",
        &[
            ("pivot spec", "Write config.json for a container run as root; refuses to overwrite one."),
            ("pivot spec --rootless --bundle /srv/web", "A config.json with a user namespace mapping the caller's ids."),
        ],
    ),
    (
        "create",
        &[
            ("pivot create --bundle /srv/web --pid-file /run/web.pid web", "Create \"web\" from the bundle; `pivot start web` runs its process."),
            ("pivot create --console-socket /run/tty.sock --bundle . web", "With \"terminal\": true in config.json: send the pty master to the socket."),
        ],
    ),
    ("start", &[("pivot start web", "Run the process of the created container \"web\".")]),
    (
        "run",
        &[
            ("pivot run --bundle /srv/web web", "Create and start \"web\", wait for it, delete it; exit with its status."),
            ("pivot run --detach --bundle . web", "Return once it runs; `pivot delete` it later."),
            ("pivot run --keep --bundle . web", "Leave it stopped after it exits, for `pivot state`."),
            ("pivot run --no-pivot --bundle . web", "A rootfs on ramfs: MS_MOVE and chroot instead of pivot_root."),
        ],
    ),
    (
        "exec",
        &[
            ("pivot exec web ps", "Run ps in \"web\"; exit with its status."),
            ("pivot exec -t web sh", "A shell with a terminal."),
            ("pivot exec -d --pid-file p --cwd /tmp -e K=V -u 1000:1000 -g 10 -c CAP_NET_RAW web cmd", "Detached, as user 1000, with one more capability."),
            ("pivot exec -p process.json web", "The whole process from a file."),
        ],
    ),
    ("state", &[("pivot state web", "Print {\"ociVersion\":..,\"id\":\"web\",\"pid\":..,\"status\":\"running\",..}.")]),
    (
        "kill",
        &[
            ("pivot kill web", "Send SIGTERM to the init of \"web\"."),
            ("pivot kill web KILL", "SIGKILL (also: SIGKILL, 9)."),
            ("pivot kill --all web HUP", "Every process in the container's cgroup."),
        ],
    ),
    (
        "delete",
        &[
            ("pivot delete web", "Remove a stopped or created container."),
            ("pivot delete --force web", "Kill it first if it runs."),
        ],
    ),
    (
        "list",
        &[
            ("pivot list", "ID PID STATUS BUNDLE CREATED OWNER, one line per container."),
            ("pivot list -q", "The IDs only."),
            ("pivot list --format json", "The same as JSON."),
        ],
    ),
    (
        "check",
        &[
            ("pivot check", "One line per host feature: what was found and what it means for pivot."),
            ("pivot check --format json", "The same as JSON, for tools; \"ok\" and \"missing\" sum it up."),
        ],
    ),
    (
        "explain",
        &[
            ("pivot explain --bundle /srv/web", "What create would do for the bundle, in order (namespaces, each mount, devices, the root switch, masks, capabilities, seccomp, hooks, cgroup writes), and every problem its checks find."),
            ("pivot explain --format json --id web --bundle .", "The same as JSON, for the ID create would get (it names the default cgroup)."),
            ("pivot --systemd-cgroup explain --no-pivot", "As create would take these flags."),
        ],
    ),
    ("features", &[("pivot features", "The OCI features document of this build.")]),
    ("pause", &[("pivot pause web", "Freeze every process of \"web\".")]),
    ("resume", &[("pivot resume web", "Thaw them.")]),
    (
        "ps",
        &[
            ("pivot ps web", "The host's ps -ef, only the container's processes."),
            ("pivot ps --format json web", "Their pids as JSON."),
        ],
    ),
    (
        "update",
        &[
            ("pivot update --memory 64M --pids-limit 100 web", "Change two limits of a running container."),
            ("pivot update -r resources.json web", "Apply a LinuxResources JSON file."),
        ],
    ),
    (
        "checkpoint",
        &[
            ("pivot checkpoint --image-path img web", "Dump \"web\" with CRIU into img/; it stops."),
            ("pivot checkpoint --leave-running --image-path img web", "Dump it and let it run on."),
            ("pivot checkpoint --pre-dump --image-path pre web", "Dump memory only, for a later --parent-path ../pre."),
        ],
    ),
    (
        "restore",
        &[("pivot restore -d --image-path img --bundle /srv/web web", "Bring \"web\" back from img/, detached.")],
    ),
    (
        "events",
        &[
            ("pivot events --stats web", "One runc-shaped stats object."),
            ("pivot events --interval 1s web", "A stats object every second, and OOM events, until the container exits."),
        ],
    ),
];

/// What each command's exit status means.
fn exit_status(name: &str) -> &'static str {
    match name {
        "pivot" => "0 when the command succeeded; 1 when it failed (the error is one line on stderr, or in the --log file); 2 for a command line pivot cannot parse. run and exec exit with the status of the container's process, see pivot-run(8) and pivot-exec(8).",
        "run" => "Without --detach: the exit status of the container's process, 128+N when signal N killed it. 0 with --detach once the process started. 1 when pivot failed (the error is on stderr, or in the --log file); 2 for a command line pivot cannot parse.",
        "exec" => "Without --detach: the exit status of the process, 128+N when signal N killed it. 0 with --detach once the process started. 255 when pivot could not run the process (the error is on stderr, or in the --log file), so that a caller can tell it from the process's own status; 2 for a command line pivot cannot parse.",
        "restore" => "Without --detach: the exit status of the restored process, 128+N when signal N killed it. 0 with --detach once the container is restored. 1 when pivot failed; 2 for a command line pivot cannot parse.",
        "explain" => "0 when create's checks find no problem in the bundle; 1 when they find one or more (each is listed, naming its config.json field) or the bundle cannot be read; 2 for a command line pivot cannot parse.",
        "check" => "0 when this host has everything pivot needs to run containers; 1 when something is missing (the last line, or \"missing\" in JSON, names it); 2 for a command line pivot cannot parse.",
        _ => "0 on success; 1 on failure (the error is one line on stderr, or in the --log file); 2 for a command line pivot cannot parse.",
    }
}

/// Text for a roff body line: backslashes and dashes escaped, no leading
/// control character.
fn roff_text(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

fn extra_sections(name: &str, out: &mut Vec<u8>) {
    let mut s = String::new();
    s.push_str(".SH \"EXIT STATUS\"\n");
    s.push_str(&roff_text(exit_status(name)));
    s.push('\n');
    if let Some((_, examples)) = EXAMPLES.iter().find(|(n, _)| *n == name) {
        s.push_str(".SH EXAMPLES\n");
        for (line, what) in *examples {
            s.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_text(line),
                roff_text(what)
            ));
        }
    }
    s.push_str(".SH \"SEE ALSO\"\n");
    let mut refs: Vec<String> = vec![];
    if name != "pivot" {
        refs.push("\\fBpivot\\fR(8)".into());
    }
    if name == "pivot" {
        let cmd = crate::command();
        refs.extend(
            visible_subcommands(&cmd)
                .map(|c| format!("\\fBpivot\\-{}\\fR(8)", roff_text(c.get_name()))),
        );
    }
    refs.push("\\fBrunc\\fR(8)".into());
    s.push_str(&refs.join(", "));
    s.push('\n');
    out.extend_from_slice(s.as_bytes());
}

pub fn visible_subcommands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

fn page(cmd: clap::Command, name: &str, subcommands: bool) -> Vec<u8> {
    let versioned = cmd.get_version().is_some();
    let man = Man::new(cmd)
        .section("8")
        .source(concat!("pivot ", env!("CARGO_PKG_VERSION")))
        .manual("pivot Manual");
    let mut out = Vec::new();
    let write = |r: std::io::Result<()>| r.expect("writing to a Vec cannot fail");
    write(man.render_title(&mut out));
    write(man.render_name_section(&mut out));
    write(man.render_synopsis_section(&mut out));
    write(man.render_description_section(&mut out));
    write(man.render_options_section(&mut out));
    if subcommands {
        write(man.render_subcommands_section(&mut out));
    }
    extra_sections(name, &mut out);
    if versioned {
        write(man.render_version_section(&mut out));
    }
    out
}

/// (file name, roff) for pivot.8 and one page per command.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = crate::command();
    let mut pages = vec![("pivot.8".to_string(), page(cmd.clone(), "pivot", true))];
    for sub in visible_subcommands(&cmd) {
        let name = sub.get_name();
        pages.push((format!("pivot-{name}.8"), page(sub.clone(), name, false)));
    }
    pages
}
