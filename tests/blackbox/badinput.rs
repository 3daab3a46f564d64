//! Bad input: each case exits non-zero with a one-line error that names the
//! culprit, and leaves nothing behind (no state dir, no container in
//! `list`, no mount, no cgroup, no process).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use serde_json::json;

use crate::harness::{tests, Scratch};
use crate::host::mount_points;
use crate::runtime::{assert_error_mentions, Out};

tests![
    missing_bundle_dir,
    missing_rootfs,
    missing_config,
    malformed_json_names_the_line,
    wrong_type_names_the_field,
    unsupported_oci_version,
    empty_id,
    id_with_dotdot,
    id_with_slash,
    id_too_long,
    duplicate_id,
    start_running_container,
    delete_running_without_force,
    commands_on_missing_id,
    unknown_mount_type,
    relative_mount_destination,
    uid_no_change_is_refused,
    gid_no_change_is_refused,
    nul_in_hostname_is_refused,
    nul_in_domainname_is_refused,
    nul_in_args_is_refused,
    nul_in_env_is_refused,
    keys_in_another_case_are_read,
    one_key_in_two_cases_is_refused,
];

fn create(s: &Scratch, bundle: &Path, id: &str) -> Out {
    s.pivot(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        bundle.as_os_str(),
        OsStr::new(id),
    ])
}

/// `create` must fail naming one of `any_of`, and leave nothing behind.
#[track_caller]
fn create_fails(s: &Scratch, bundle: &Path, id: &str, any_of: &[&str]) {
    let before = mount_points();
    let out = create(s, bundle, id);
    assert_error_mentions(&out, any_of);
    s.assert_nothing_left(id, &before);
}

fn missing_bundle_dir(s: &Scratch) {
    let bundle = s.path("nobundle");
    create_fails(s, &bundle, &s.id("nobundle"), &[bundle.to_str().unwrap()]);
}

fn missing_rootfs(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    std::fs::remove_dir_all(bundle.rootfs()).unwrap();
    create_fails(s, &bundle.dir, &s.id("norootfs"), &["rootfs"]);
}

fn missing_config(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    std::fs::remove_file(bundle.config_path()).unwrap();
    create_fails(s, &bundle.dir, &s.id("noconfig"), &["config.json"]);
}

fn malformed_json_names_the_line(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    std::fs::write(
        bundle.config_path(),
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}\n",
    )
    .unwrap();
    create_fails(s, &bundle.dir, &s.id("badjson"), &["line"]);
}

fn wrong_type_names_the_field(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| c["process"]["user"]["uid"] = json!("zero"));
    create_fails(s, &bundle.dir, &s.id("badtype"), &["process.user.uid"]);
}

fn unsupported_oci_version(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| c["ociVersion"] = json!("2.0.0"));
    create_fails(s, &bundle.dir, &s.id("ociver"), &["ociVersion", "2.0.0"]);
}

fn empty_id(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    create_fails(s, &bundle.dir, "", &["id"]);
}

fn id_with_dotdot(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    create_fails(
        s,
        &bundle.dir,
        "../pivot-t-escape",
        &["id", "../pivot-t-escape"],
    );
    assert!(
        !s.dir.join("pivot-t-escape").exists(),
        "created a dir outside --root"
    );
}

fn id_with_slash(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    create_fails(s, &bundle.dir, "pivot-t/b", &["id", "pivot-t/b"]);
}

fn id_too_long(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    let mut id = s.id("long");
    while id.len() < 300 {
        id.push('x');
    }
    create_fails(s, &bundle.dir, &id, &["id", &id]);
}

fn duplicate_id(s: &Scratch) {
    let first = s.bundle(&["/probe", "sleep", "30"]);
    let second = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("dup");
    let pid = s.create(&first.dir, &id);
    let before = mount_points();
    let out = create(s, &second.dir, &id);
    assert_error_mentions(&out, &["exists", &id]);
    // The first container is untouched and still works.
    let state = s.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    assert_eq!(state["bundle"], first.dir.to_str().unwrap(), "{state}");
    assert_eq!(s.list_ids(), BTreeSet::from([id.clone()]));
    assert_eq!(
        mount_points(),
        before,
        "the failed create changed the mount table"
    );
    s.pivot(&["start", &id]).ok();
    assert_eq!(s.status(&id), "running");
    s.pivot(&["delete", "--force", &id]).ok();
    s.reap();
}

fn start_running_container(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("twice");
    let pid = s.create_started(&bundle.dir, &id);
    let out = s.pivot(&["start", &id]);
    assert_error_mentions(&out, &["running", "created"]);
    let state = s.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    s.pivot(&["delete", "--force", &id]).ok();
    s.reap();
}

fn delete_running_without_force(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "sleep", "30"]);
    let id = s.id("busy");
    let pid = s.create_started(&bundle.dir, &id);
    let out = s.pivot(&["delete", &id]);
    assert_error_mentions(&out, &[&id]);
    assert_error_mentions(&out, &["running"]);
    assert_eq!(s.status(&id), "running");
    assert!(s.alive(pid));
    s.pivot(&["delete", "--force", &id]).ok();
    s.reap();
}

fn commands_on_missing_id(s: &Scratch) {
    let id = s.id("ghost");
    let before = mount_points();
    // "does not exist" is what runc says and what containerd's runc shim
    // matches on to treat a container as already gone.
    for args in [
        vec!["start", &id],
        vec!["state", &id],
        vec!["kill", &id, "KILL"],
        vec!["delete", &id],
    ] {
        let out = s.pivot(&args);
        assert_error_mentions(&out, &["does not exist"]);
    }
    // runc 1.1.5: `delete --force` of a missing container succeeds quietly.
    s.pivot(&["delete", "--force", &id]).ok();
    s.assert_nothing_left(&id, &before);
}

fn unknown_mount_type(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.add_mount(json!({
        "destination": "/pivot-unknown-fs",
        "type": "pivotnosuchfs",
        "source": "none",
    }));
    create_fails(
        s,
        &bundle.dir,
        &s.id("fstype"),
        &["/pivot-unknown-fs", "pivotnosuchfs"],
    );
}

fn relative_mount_destination(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.add_mount(json!({
        "destination": "pivot-relative",
        "type": "tmpfs",
        "source": "tmpfs",
    }));
    create_fails(s, &bundle.dir, &s.id("reldest"), &["pivot-relative"]);
}

/// 4294967295 is (uid_t)-1, which setresuid and setresgid take as "leave
/// it as it is": taken as given, the process would run as root.
fn uid_no_change_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "ids"]);
    bundle.edit(|c| c["process"]["user"]["uid"] = json!(4294967295u32));
    create_fails(s, &bundle.dir, &s.id("uidmax"), &["process.user.uid"]);
}

fn gid_no_change_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "ids"]);
    bundle.edit(|c| c["process"]["user"]["gid"] = json!(4294967295u32));
    create_fails(s, &bundle.dir, &s.id("gidmax"), &["process.user.gid"]);
}

/// A NUL byte cuts a C string short (a hostname "ab\0cd" becomes "ab") or
/// fails only at execve, after everything was made: refused up front.
fn nul_in_hostname_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "hostname"]);
    bundle.edit(|c| c["hostname"] = json!("pivot\u{0}evil"));
    create_fails(s, &bundle.dir, &s.id("hostnul"), &["hostname"]);
}

fn nul_in_domainname_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "hostname"]);
    bundle.edit(|c| c["domainname"] = json!("pivot\u{0}evil"));
    create_fails(s, &bundle.dir, &s.id("domnul"), &["domainname"]);
}

fn nul_in_args_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "env", "a\u{0}b"]);
    create_fails(s, &bundle.dir, &s.id("argnul"), &["process.args[2]"]);
}

fn nul_in_env_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "env"]);
    bundle.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .expect("process.env")
            .push(json!("PIVOT_NUL=a\u{0}b"))
    });
    create_fails(s, &bundle.dir, &s.id("envnul"), &["process.env["]);
}

/// Renames key `from` of the object `v` to `to`, keeping its value.
fn rename(v: &mut serde_json::Value, from: &str, to: &str) {
    let o = v.as_object_mut().expect("object");
    let x = o.remove(from).unwrap_or_else(|| panic!("no {from:?}"));
    o.insert(to.to_string(), x);
}

/// runc's decoder (Go's encoding/json) matches keys without regard to
/// case: such a config runs, with the fields it names.
fn keys_in_another_case_are_read(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "all"]);
    bundle.edit(|c| {
        c["hostname"] = serde_json::json!("casehost");
        rename(c, "hostname", "HostName");
        c["process"]["user"] = serde_json::json!({"UID": 65534, "Gid": 65534});
        rename(&mut c["process"], "user", "USER");
        rename(&mut c["process"], "cwd", "Cwd");
        rename(c, "process", "Process");
    });
    let all = s.run_json(&bundle.dir, &s.id("case"));
    assert_eq!(
        all["hostname"]["hostname"], "casehost",
        "{}",
        all["hostname"]
    );
    let ids = &all["ids"];
    assert_eq!(
        (&ids["uid"], &ids["gid"]),
        (&serde_json::json!(65534), &serde_json::json!(65534)),
        "{ids}"
    );
}

/// One name given twice in two cases: Go takes the last, a reader that
/// matches case the exact one; pivot refuses the config, naming the field.
fn one_key_in_two_cases_is_refused(s: &Scratch) {
    let bundle = s.bundle(&["/probe", "exit", "0"]);
    bundle.edit(|c| {
        c["process"]["noNewPrivileges"] = serde_json::json!(true);
        c["process"]["NoNewPrivileges"] = serde_json::json!(false);
    });
    create_fails(s, &bundle.dir, &s.id("twice"), &["process.noNewPrivileges"]);
}
