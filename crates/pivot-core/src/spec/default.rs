//! The default config.json `pivot spec` writes: the same container runc
//! 1.5's `runc spec` describes (busybox-friendly `sh`, a read-only root,
//! the usual mounts, masked and read-only paths, three capabilities).

use super::types::Spec;
use serde_json::json;

/// The runtime-spec version pivot implements.
pub const OCI_VERSION: &str = "1.2.1";

pub fn default_spec() -> Spec {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let value = json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            // No ambient set, as runc 1.3 and later: without inheritable
            // capabilities none could be raised (each would be a warning).
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "pivot",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    });
    serde_json::from_value(value).expect("the default spec matches the spec types")
}

/// The spec `pivot spec` writes on this host: as runc's, it has a cgroup
/// namespace only where /sys/fs/cgroup is cgroup v2 alone (runc#2322); on
/// a v1 or hybrid host the container sees the host's cgroup paths.
pub fn host_default_spec() -> Spec {
    let mut spec = default_spec();
    if !crate::sys::cgroup2_unified() {
        if let Some(l) = spec.linux.as_mut() {
            l.namespaces.retain(|ns| ns.kind != "cgroup");
        }
    }
    spec
}

/// runc's `spec --rootless`: a user namespace mapping the caller to root,
/// no network namespace, /sys bound from the host, no uid=/gid= options,
/// no resources.
pub fn rootless_spec(uid: u32, gid: u32) -> Spec {
    let mut spec = host_default_spec();
    let linux = spec.linux.as_mut().expect("default has linux");
    linux
        .namespaces
        .retain(|ns| ns.kind != "network" && ns.kind != "user");
    linux.namespaces.push(super::types::Namespace {
        kind: "user".into(),
        path: None,
    });
    let map = |host| super::types::IdMapping {
        container_id: 0,
        host_id: host,
        size: 1,
    };
    linux.uid_mappings = vec![map(uid)];
    linux.gid_mappings = vec![map(gid)];
    linux.resources = None;
    for m in spec.mounts.iter_mut() {
        if m.destination == "/sys" {
            *m = super::types::Mount {
                destination: "/sys".into(),
                kind: Some("none".into()),
                source: Some("/sys".into()),
                options: ["rbind", "nosuid", "noexec", "nodev", "ro"]
                    .map(String::from)
                    .to_vec(),
                ..Default::default()
            };
        } else {
            m.options
                .retain(|o| !o.starts_with("gid=") && !o.starts_with("uid="));
        }
    }
    spec
}

/// Serialize as runc does: tab-indented JSON.
pub fn to_pretty_json(spec: &Spec) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    spec.serialize(&mut ser).expect("spec serializes");
    String::from_utf8(out).expect("json is utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips() {
        let s = to_pretty_json(&default_spec());
        let back: Spec = serde_json::from_str(&s).unwrap();
        assert_eq!(back.mounts.len(), 7);
        assert!(back.root.unwrap().readonly);
    }

    #[test]
    fn rootless_has_user_ns_and_sys_bind() {
        let s = rootless_spec(1000, 1000);
        let l = s.linux.unwrap();
        assert!(l.namespaces.iter().any(|n| n.kind == "user"));
        assert!(!l.namespaces.iter().any(|n| n.kind == "network"));
        let sys = s.mounts.iter().find(|m| m.destination == "/sys").unwrap();
        assert_eq!(sys.source.as_deref(), Some("/sys"));
        let pts = s
            .mounts
            .iter()
            .find(|m| m.destination == "/dev/pts")
            .unwrap();
        assert!(!pts.options.iter().any(|o| o == "gid=5"));
    }
}
