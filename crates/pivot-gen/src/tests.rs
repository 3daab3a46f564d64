//! The pages and scripts against the definition they come from: every
//! command and flag `--help` shows is in them, the examples parse, and the
//! bash script completes container IDs.

use crate::{cli, command, completions, man};
use clap::Parser;
use std::collections::BTreeSet;
use std::process::Command as Proc;

fn page(name: &str) -> String {
    let (_, data) = man::pages()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no man page {name}"));
    String::from_utf8(data).unwrap()
}

/// The `--long` flags in a `--help` text.
fn help_flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .collect()
}

#[test]
fn every_command_has_a_page_with_every_flag_of_its_help() {
    let cmd = command();
    let mut all: Vec<(String, clap::Command)> = vec![("pivot".into(), cmd.clone())];
    all.extend(
        man::visible_subcommands(&cmd).map(|c| (format!("pivot-{}", c.get_name()), c.clone())),
    );
    assert!(all.len() > 10, "pivot has its commands");
    for (name, mut sub) in all {
        let text = page(&format!("{name}.8"));
        assert!(text.contains(&format!(".TH {name} 8")), "{name}.8: title");
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH \"EXIT STATUS\"",
            ".SH EXAMPLES",
        ] {
            assert!(text.contains(section), "{name}.8 has no {section}");
        }
        let help = sub.render_long_help().to_string();
        let flags = help_flags(&help);
        assert!(flags.contains("--help"), "{name}: --help in {help}");
        for flag in &flags {
            let roff = flag.replace('-', "\\-");
            assert!(
                text.contains(&roff),
                "{name}.8 lacks {flag}, which --help shows"
            );
        }
        for pos in sub.get_positionals() {
            let v = pos
                .get_value_names()
                .map(|v| v[0].to_string())
                .unwrap_or(pos.get_id().to_string().to_uppercase());
            assert!(text.contains(&v), "{name}.8 lacks the argument {v}");
        }
    }
    // pivot.8 names every command.
    let top = page("pivot.8");
    for sub in man::visible_subcommands(&cmd) {
        assert!(
            top.contains(&format!("pivot\\-{}(8)", sub.get_name())),
            "pivot.8 does not refer to pivot-{}(8)",
            sub.get_name()
        );
    }
}

#[test]
fn every_command_has_examples_and_they_parse() {
    let cmd = command();
    let names: Vec<&str> = man::visible_subcommands(&cmd)
        .map(|c| c.get_name())
        .collect();
    for name in names.iter().copied().chain(["pivot"]) {
        assert!(
            man::EXAMPLES
                .iter()
                .any(|(n, ex)| *n == name && !ex.is_empty()),
            "command {name} has no EXAMPLES in crates/pivot-gen/src/man.rs"
        );
    }
    for (name, examples) in man::EXAMPLES {
        assert!(
            *name == "pivot" || names.contains(name),
            "EXAMPLES for unknown command {name}"
        );
        for (line, _) in *examples {
            let words: Vec<&str> = line.split_whitespace().collect();
            let parsed = cli::Cli::try_parse_from(&words)
                .unwrap_or_else(|e| panic!("example {line:?} does not parse: {e}"));
            if *name != "pivot" {
                let sub = format!("{:?}", parsed.command);
                assert!(
                    sub.to_lowercase().starts_with(name),
                    "example {line:?} under {name} runs {sub}"
                );
            }
        }
    }
}

#[test]
fn id_commands_are_those_with_an_id_argument() {
    let ids: Vec<String> = completions::id_commands(&command())
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    for c in [
        "create",
        "start",
        "run",
        "exec",
        "state",
        "kill",
        "delete",
        "pause",
        "resume",
        "ps",
        "update",
        "checkpoint",
        "restore",
        "events",
    ] {
        assert!(ids.iter().any(|i| i == c), "{c} takes an ID: {ids:?}");
    }
    for c in ["spec", "list", "features"] {
        assert!(!ids.iter().any(|i| i == c), "{c} takes no ID: {ids:?}");
    }
}

/// A scratch dir with the scripts and a `pivot` that prints IDs only for
/// `pivot --root DIR/state list -q` (and one for `pivot list -q`).
struct Fixture {
    dir: std::path::PathBuf,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("pivot-gen-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        for (name, data) in completions::scripts() {
            std::fs::write(dir.join(name), data).unwrap();
        }
        let stub = format!(
            "#!/bin/sh\n[ \"$1 $2 $3 $4\" = \"--root {}/state list -q\" ] && [ $# = 4 ] && printf 'web\\nweb2\\ndb\\n' && exit 0\n[ \"$*\" = \"list -q\" ] && echo default-root && exit 0\nexit 1\n",
            dir.display()
        );
        let bin = dir.join("bin/pivot");
        std::fs::write(&bin, stub).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fixture { dir }
    }

    /// COMPREPLY for the words typed so far (the last is the current word).
    fn complete(&self, words: &[&str]) -> Vec<String> {
        let words: Vec<String> = words
            .iter()
            .map(|w| w.replace("STATE", &format!("{}/state", self.dir.display())))
            .collect();
        let script = r#"
            source "$DIR/pivot.bash"
            COMP_WORDS=("$@")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_LINE="${COMP_WORDS[*]}"
            COMP_POINT=${#COMP_LINE}
            func=$(complete -p pivot | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
            "$func" pivot "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}"
        "#;
        let out = Proc::new("bash")
            .args(["-c", script, "bash"])
            .args(&words)
            .env("DIR", &self.dir)
            .env("PATH", format!("{}/bin:/usr/bin:/bin", self.dir.display()))
            .current_dir(&self.dir)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "bash: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn bash_completes_container_ids_from_the_root_given() {
    let f = Fixture::new("ids");
    let ids = ["web", "web2", "db"];
    assert_eq!(f.complete(&["pivot", "--root", "STATE", "state", ""]), ids);
    assert_eq!(
        f.complete(&["pivot", "--root", "STATE", "delete", "-f", "w"]),
        ["web", "web2"]
    );
    assert_eq!(
        f.complete(&["pivot", "start", "--root", "STATE", "d"]),
        ["db"]
    );
    // --root=DIR reaches the function as "--root" "=" "DIR".
    assert_eq!(
        f.complete(&["pivot", "--root", "=", "STATE", "pause", ""]),
        ids
    );
    // A flag's value is skipped: the ID is still the first positional.
    assert_eq!(
        f.complete(&["pivot", "--root", "STATE", "exec", "-u", "1000", "--cwd", "/", ""]),
        ids
    );
    // Where no ID goes: the value of a flag, kill's signal, exec's command,
    // a command without an ID, and another --root.
    assert!(!f
        .complete(&["pivot", "--root", "STATE", "exec", "-u", ""])
        .contains(&"web".to_string()));
    assert!(!f
        .complete(&["pivot", "--root", "STATE", "kill", "web", ""])
        .contains(&"web".to_string()));
    assert!(!f
        .complete(&["pivot", "--root", "STATE", "exec", "web", ""])
        .contains(&"web".to_string()));
    assert!(!f
        .complete(&["pivot", "--root", "STATE", "list", ""])
        .contains(&"web".to_string()));
    assert!(f
        .complete(&["pivot", "--root", "/nonexistent", "state", ""])
        .is_empty());
    // Commands and flags come from clap's part.
    assert_eq!(f.complete(&["pivot", "st"]), ["start", "state"]);
    assert!(f
        .complete(&["pivot", "run", "--no-p"])
        .contains(&"--no-pivot".to_string()));
}

fn installed(shell: &str) -> bool {
    let found = Proc::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .output()
        .unwrap();
    found.status.success()
}

#[test]
fn fish_completes_container_ids_from_the_root_given() {
    if !installed("fish") {
        eprintln!("fish is not installed (scripts/setup.sh installs it): not checked");
        return;
    }
    let f = Fixture::new("fish");
    let complete = |line: &str| -> Vec<String> {
        let line = line.replace("STATE", &format!("{}/state", f.dir.display()));
        let out = Proc::new("fish")
            .args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
            .arg(f.dir.join("pivot.fish"))
            .arg(&line)
            .env("PATH", format!("{}/bin:/usr/bin:/bin", f.dir.display()))
            .current_dir(&f.dir)
            .output()
            .expect("fish");
        assert!(
            out.status.success(),
            "fish: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(complete("pivot --root STATE state "), ["db", "web", "web2"]);
    assert_eq!(complete("pivot --root STATE delete w"), ["web", "web2"]);
    assert_eq!(complete("pivot kill "), ["default-root"]);
    assert!(!complete("pivot --root STATE list ").contains(&"web".to_string()));
}

/// Types a line and TAB into an interactive zsh on a pty whose fpath has
/// the fixture's `_pivot`, and prints what zsh offers, one per line (each
/// compadd is intercepted; NUL lines mark where completion starts and ends).
const ZSH_CAPTURE: &str = include_str!("zsh-capture.zsh");

#[test]
fn zsh_completes_container_ids_from_the_root_given() {
    if !installed("zsh") {
        eprintln!("zsh is not installed (scripts/setup.sh installs it): not checked");
        return;
    }
    let f = Fixture::new("zsh");
    std::fs::write(f.dir.join("capture.zsh"), ZSH_CAPTURE).unwrap();
    let complete = |line: &str| -> Vec<String> {
        let line = line.replace("STATE", &format!("{}/state", f.dir.display()));
        let out = Proc::new("timeout")
            .args(["60", "zsh", "-f"])
            .arg(f.dir.join("capture.zsh"))
            .arg(&f.dir)
            .arg(&line)
            .env("PATH", format!("{}/bin:/usr/bin:/bin", f.dir.display()))
            .current_dir(&f.dir)
            .output()
            .expect("zsh");
        assert!(
            out.status.success(),
            "zsh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        v.sort();
        v
    };
    assert_eq!(complete("pivot --root STATE state "), ["db", "web", "web2"]);
    assert_eq!(complete("pivot --root STATE exec -u 1 w"), ["web", "web2"]);
    assert_eq!(complete("pivot kill "), ["default-root"]);
    assert_eq!(complete("pivot --root STATE st"), ["start", "state"]);
    assert!(!complete("pivot --root STATE kill web ").contains(&"web".to_string()));
}

#[test]
fn scripts_are_valid_for_their_shells() {
    let f = Fixture::new("syntax");
    for (shell, file) in [
        ("bash", "pivot.bash"),
        ("zsh", "_pivot"),
        ("fish", "pivot.fish"),
    ] {
        if !installed(shell) {
            eprintln!("{shell} is not installed: {file} not checked");
            continue;
        }
        let flag = if shell == "fish" {
            "--no-execute"
        } else {
            "-n"
        };
        let out = Proc::new(shell)
            .arg(flag)
            .arg(f.dir.join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} {flag} {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let zsh = String::from_utf8(completions::scripts().remove(1).1).unwrap();
    assert!(zsh.starts_with("#compdef pivot\n"));
    let n = completions::id_commands(&command()).len();
    assert_eq!(
        zsh.matches(":id:_pivot_container_ids").count(),
        n,
        "one ID completion per command taking an ID"
    );
    let fish = String::from_utf8(completions::scripts().remove(2).1).unwrap();
    assert_eq!(fish.matches("(__fish_pivot_container_ids)").count(), n);
}
