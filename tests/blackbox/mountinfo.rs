//! Mount tables as the tests read them from the host: one reader of
//! /proc/PID/mountinfo for the whole suite, with the parser pivot and
//! probe use (`linux_text::mountinfo`, which undoes every octal escape).

use std::path::PathBuf;

/// One line of mountinfo.
#[derive(Debug, Clone)]
pub struct HostMount {
    pub major_minor: String,
    /// The mount's root within its filesystem (for a cgroup mount, within
    /// the hierarchy).
    pub root: String,
    pub mount_point: PathBuf,
    /// `shared:N`, `master:N`, `unbindable` ...
    pub optional_fields: Vec<String>,
    pub fs_type: String,
    /// Per-superblock options, split at the commas as written.
    pub super_options: Vec<String>,
}

/// The mounts of the test process's mount namespace.
pub fn host_mounts() -> Vec<HostMount> {
    mounts_of("self")
}

/// The mounts of `/proc/<pid>`'s mount namespace.
pub fn mounts_of(pid: &str) -> Vec<HostMount> {
    let path = format!("/proc/{pid}/mountinfo");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    linux_text::mountinfo::parse(&data)
        .into_iter()
        .map(|m| HostMount {
            major_minor: m.major_minor,
            root: m.root,
            mount_point: PathBuf::from(m.mount_point),
            optional_fields: m.optional_fields,
            fs_type: m.fs_type,
            super_options: m.super_options.split(',').map(str::to_string).collect(),
        })
        .collect()
}

/// The host's cgroup and cgroup2 mounts.
pub fn host_cgroup_mounts() -> Vec<HostMount> {
    host_mounts()
        .into_iter()
        .filter(|m| matches!(m.fs_type.as_str(), "cgroup" | "cgroup2"))
        .collect()
}
