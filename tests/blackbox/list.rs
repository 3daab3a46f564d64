//! `list`: the table, `-q` and `--format json`.

use std::collections::BTreeSet;

use crate::harness::{tests, Scratch};

tests![table_quiet_and_json, empty_root_lists_nothing];

fn table_quiet_and_json(s: &Scratch) {
    let created_bundle = s.bundle(&["/probe", "sleep", "30"]);
    let running_bundle = s.bundle(&["/probe", "sleep", "30"]);
    let created = s.id("listc");
    let running = s.id("listr");
    let created_pid = s.create(&created_bundle.dir, &created);
    let running_pid = s.create_started(&running_bundle.dir, &running);

    let table = s.pivot(&["list"]).ok();
    let mut lines = table.stdout.lines();
    let header = lines.next().unwrap_or_default();
    for word in ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] {
        assert!(
            header.split_whitespace().any(|w| w == word),
            "header lacks {word}:\n{table}"
        );
    }
    for (id, pid, status, bundle) in [
        (&created, created_pid, "created", &created_bundle.dir),
        (&running, running_pid, "running", &running_bundle.dir),
    ] {
        let row = table
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("no row for {id}:\n{table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1], pid.to_string(), "pid column: {row}");
        assert_eq!(cells[2], status, "status column: {row}");
        assert_eq!(cells[3], bundle.to_str().unwrap(), "bundle column: {row}");
    }

    let quiet = s.list_ids();
    assert_eq!(quiet, BTreeSet::from([created.clone(), running.clone()]));

    let json = s.pivot(&["list", "--format", "json"]).ok().json();
    let entries = json
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {json}"));
    assert_eq!(entries.len(), 2, "{json}");
    for (id, pid, status, bundle) in [
        (&created, created_pid, "created", &created_bundle.dir),
        (&running, running_pid, "running", &running_bundle.dir),
    ] {
        let entry = entries
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap_or_else(|| panic!("no entry for {id}: {json}"));
        assert_eq!(entry["pid"], pid, "{entry}");
        assert_eq!(entry["status"], status, "{entry}");
        assert_eq!(entry["bundle"], bundle.to_str().unwrap(), "{entry}");
    }

    s.pivot(&["delete", "--force", &created]).ok();
    s.pivot(&["delete", "--force", &running]).ok();
    s.reap();
    assert!(s.list_ids().is_empty());
}

fn empty_root_lists_nothing(s: &Scratch) {
    let out = s.pivot(&["list", "-q"]).ok();
    assert!(out.stdout.trim().is_empty(), "{out}");
    let out = s.pivot(&["list"]).ok();
    assert!(
        out.stdout.lines().count() <= 1,
        "rows in an empty list:\n{out}"
    );
}
