//! `spec`: writes a default config.json and never overwrites one.

use serde_json::Value;

use crate::harness::{tests, Scratch};

tests![
    writes_config_in_cwd,
    refuses_to_overwrite,
    rootless_has_user_namespace,
    bundle_flag_writes_there,
    cgroup_namespace_only_on_a_unified_host,
];

fn read_config(path: &std::path::Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn namespace_types(config: &Value) -> Vec<String> {
    config["linux"]["namespaces"]
        .as_array()
        .expect("linux.namespaces is an array")
        .iter()
        .map(|ns| ns["type"].as_str().expect("namespace type").to_string())
        .collect()
}

fn writes_config_in_cwd(s: &Scratch) {
    let dir = s.mkdir("cwd");
    s.runtime(&dir, &["spec"]).ok();
    let config = read_config(&dir.join("config.json"));
    assert!(
        config["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{config}"
    );
    assert!(
        config["process"]["args"].is_array(),
        "process.args: {config}"
    );
    assert_eq!(config["root"]["path"], "rootfs");
    let types = namespace_types(&config);
    for kind in ["pid", "mount"] {
        assert!(
            types.iter().any(|t| t == kind),
            "no {kind} namespace in {types:?}"
        );
    }
    assert!(
        !types.iter().any(|t| t == "user"),
        "default spec has a user namespace: {types:?}"
    );
}

fn refuses_to_overwrite(s: &Scratch) {
    let dir = s.mkdir("cwd");
    let path = dir.join("config.json");
    let mine = "{\"mine\": true}\n";
    std::fs::write(&path, mine).unwrap();
    let out = s.runtime(&dir, &["spec"]).fails();
    assert!(
        out.stderr.contains("config.json"),
        "error should name config.json:\n{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        mine,
        "config.json was changed"
    );
}

fn rootless_has_user_namespace(s: &Scratch) {
    let dir = s.mkdir("cwd");
    s.runtime(&dir, &["spec", "--rootless"]).ok();
    let config = read_config(&dir.join("config.json"));
    let types = namespace_types(&config);
    assert!(
        types.iter().any(|t| t == "user"),
        "no user namespace in {types:?}"
    );
}

fn bundle_flag_writes_there(s: &Scratch) {
    let cwd = s.mkdir("cwd");
    let target = s.mkdir("target");
    s.runtime(
        &cwd,
        &["spec".as_ref(), "--bundle".as_ref(), target.as_os_str()],
    )
    .ok();
    read_config(&target.join("config.json"));
    assert!(
        !cwd.join("config.json").exists(),
        "spec --bundle also wrote into cwd"
    );
}

/// As runc's (runc#2322), the default spec has a cgroup namespace only
/// where /sys/fs/cgroup is cgroup v2 alone; so a config that adds one on
/// a v1 or hybrid host does not list it twice.
fn cgroup_namespace_only_on_a_unified_host(s: &Scratch) {
    let dir = s.mkdir("cwd");
    s.runtime(&dir, &["spec"]).ok();
    let types = namespace_types(&read_config(&dir.join("config.json")));
    let unified = crate::mountinfo::host_mounts()
        .iter()
        .any(|m| m.mount_point == std::path::Path::new("/sys/fs/cgroup") && m.fs_type == "cgroup2");
    assert_eq!(
        types.iter().any(|t| t == "cgroup"),
        unified,
        "cgroup namespace in {types:?} (unified host: {unified})"
    );
}
