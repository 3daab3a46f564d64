//! Joining an existing namespace by path, and a new user namespace.

use serde_json::{json, Value};

use crate::bundle::chown_tree;
use crate::harness::{tests, Scratch};

tests![join_uts_namespace_by_path, user_namespace_maps_root];

fn hostname_of_host() -> String {
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct it is given.
    assert_eq!(unsafe { libc::uname(&mut uts) }, 0);
    // SAFETY: the kernel NUL-terminates nodename.
    let name = unsafe { std::ffi::CStr::from_ptr(uts.nodename.as_ptr()) };
    name.to_string_lossy().into_owned()
}

fn join_uts_namespace_by_path(s: &Scratch) {
    let host_name = hostname_of_host();
    let first = s.bundle(&["/probe", "sleep", "30"]);
    first.edit(|c| c["hostname"] = json!("pivot-shared-uts"));
    let first_id = s.id("utsa");
    let pid = s.create_started(&first.dir, &first_id);

    let second = s.bundle(&["/probe", "hostname"]);
    second.edit(|c| {
        c.as_object_mut().unwrap().remove("hostname");
    });
    second.join_namespace("uts", &format!("/proc/{pid}/ns/uts"));
    let answer = s.run_json(&second.dir, &s.id("utsb"));
    assert_eq!(answer["hostname"], "pivot-shared-uts", "{answer}");

    assert_eq!(
        s.status(&first_id),
        "running",
        "joining harmed the first container"
    );
    assert_eq!(hostname_of_host(), host_name, "the host's hostname changed");
    s.pivot(&["delete", "--force", &first_id]).ok();
    s.reap();
}

fn user_namespace_maps_root(s: &Scratch) {
    let script = "/probe ids && /probe cat /proc/self/uid_map && /probe cat /proc/self/gid_map";
    let bundle = s.bundle(&["/bin/sh", "-c", script]);
    chown_tree(&bundle.rootfs(), 100_000, 100_000);
    bundle.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        let map = json!([{"containerID": 0, "hostID": 100_000, "size": 65_536}]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
    let out = s.run(&bundle.dir, &s.id("userns")).ok();
    let answers: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect();
    assert_eq!(answers.len(), 3, "{out}");
    let ids = &answers[0];
    assert_eq!(ids["uid"], 0, "{ids}");
    assert_eq!(ids["euid"], 0, "{ids}");
    assert_eq!(ids["gid"], 0, "{ids}");
    for (answer, what) in [(&answers[1], "uid_map"), (&answers[2], "gid_map")] {
        let content = answer["content"].as_str().unwrap_or_default();
        let fields: Vec<&str> = content.split_whitespace().collect();
        assert_eq!(fields, ["0", "100000", "65536"], "{what}: {answer}");
    }
}
