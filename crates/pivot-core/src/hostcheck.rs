//! `pivot check`: what this host offers and what pivot makes of it. Every
//! probe only reads (procfs, sysfs, mountinfo) or calls a system call with
//! arguments the kernel refuses (`sys::syscall_probe`); nothing on the
//! host is written, mounted or created.

use crate::cgroups::{parse_hierarchies, Hierarchy};
use crate::sys::OFlags;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    /// Present and usable.
    pub ok: bool,
    /// pivot cannot create containers without it.
    pub required: bool,
    /// What was found, in a few words ("yes", "v2", "3.17.1").
    pub found: String,
    /// What it means for pivot, one line.
    pub consequence: String,
    pub details: Value,
}

fn check(
    name: &'static str,
    ok: bool,
    required: bool,
    found: impl Into<String>,
    consequence: impl Into<String>,
    details: Value,
) -> Check {
    Check {
        name,
        ok,
        required,
        found: found.into(),
        consequence: consequence.into(),
        details,
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// "ENOSYS", without the description.
fn errno_name(e: i32) -> String {
    let name = crate::error::errno_name(e);
    name.split(" (").next().unwrap_or_default().to_string()
}

/// Every check, in the order `pivot check` prints them.
pub fn run() -> Vec<Check> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok();
    vec![
        kernel(),
        privileges(),
        procfs(mountinfo.is_some()),
        clone3(),
        openat2(),
        mount_api(),
        cgroups(mountinfo.as_deref()),
        user_namespaces(),
        seccomp(),
        apparmor(),
        selinux(),
        criu(),
        systemd(),
    ]
}

fn kernel() -> Check {
    let release = read("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into());
    let mut nums = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    let recent = (major, minor) >= (5, 12);
    let consequence = if recent {
        "Linux 5.12 or newer: it has every call pivot uses"
    } else {
        "older than Linux 5.12: the lines below say what is missing"
    };
    check(
        "kernel",
        recent,
        false,
        release.clone(),
        consequence,
        json!({ "release": release }),
    )
}

fn privileges() -> Check {
    let euid = crate::sys::geteuid();
    let root = euid == 0;
    let consequence = if root {
        "running as root: containers get cgroups and every namespace the config asks for"
    } else {
        "not root: containers run rootless (a user namespace mapping your ids, no cgroup limits without delegation, state in $XDG_RUNTIME_DIR/pivot)"
    };
    check(
        "root",
        root,
        false,
        if root { "yes" } else { "no" },
        consequence,
        json!({ "uid": euid }),
    )
}

fn procfs(mountinfo: bool) -> Check {
    let ok = mountinfo && Path::new("/proc/self/ns/mnt").exists();
    let consequence = if ok {
        "procfs is mounted at /proc: mountinfo, namespaces and the init's pidfd are read there"
    } else {
        "no procfs at /proc: pivot cannot find cgroups or namespaces"
    };
    check(
        "procfs",
        ok,
        true,
        if ok { "yes" } else { "no" },
        consequence,
        json!({}),
    )
}

fn syscalls(names: &[(&'static str, libc::c_long)]) -> (Vec<&'static str>, Value) {
    let mut missing = vec![];
    let mut details = serde_json::Map::new();
    for (name, nr) in names {
        let (present, errno) = crate::sys::syscall_probe(*nr);
        if !present {
            missing.push(*name);
        }
        details.insert(
            (*name).into(),
            json!({ "present": present, "probe_errno": errno_name(errno) }),
        );
    }
    (missing, Value::Object(details))
}

fn clone3() -> Check {
    required_syscalls(
        "clone3",
        &[
            ("clone3", libc::SYS_clone3),
            ("pidfd_open", libc::SYS_pidfd_open),
            ("pidfd_send_signal", libc::SYS_pidfd_send_signal),
        ],
        "the init is cloned with every namespace at once, into its cgroup, and signalled through a pidfd",
        "pivot cannot start a container",
        "Linux 5.3",
    )
}

/// A check of system calls pivot cannot do without: `works` where the
/// kernel has every one, else `fails` naming those missing and the
/// `linux` release that brought them.
fn required_syscalls(
    name: &'static str,
    calls: &[(&'static str, libc::c_long)],
    works: &str,
    fails: &str,
    linux: &str,
) -> Check {
    let (missing, details) = syscalls(calls);
    if missing.is_empty() {
        return check(name, true, true, "yes", works, details);
    }
    let missing = missing.join(", ");
    check(
        name,
        false,
        true,
        format!("no {missing}"),
        format!("{fails}: {missing} missing ({linux})"),
        details,
    )
}

fn openat2() -> Check {
    let (missing, mut details) = syscalls(&[("openat2", libc::SYS_openat2)]);
    let disabled = crate::sys::openat2_disabled();
    details["disabled_by_PIVOT_NO_OPENAT2"] = json!(disabled);
    if disabled {
        check(
            "openat2",
            true,
            false,
            "disabled",
            "PIVOT_NO_OPENAT2=1: the fd-by-fd walk resolves paths in the rootfs",
            details,
        )
    } else if missing.is_empty() {
        check(
            "openat2",
            true,
            false,
            "yes",
            "paths in the rootfs are resolved with openat2(RESOLVE_IN_ROOT)",
            details,
        )
    } else {
        check(
            "openat2",
            false,
            false,
            "no",
            "no openat2: the fd-by-fd walk resolves paths in the rootfs",
            details,
        )
    }
}

fn mount_api() -> Check {
    required_syscalls(
        "mount API",
        &[
            ("fsopen", libc::SYS_fsopen),
            ("fsconfig", libc::SYS_fsconfig),
            ("fsmount", libc::SYS_fsmount),
            ("move_mount", libc::SYS_move_mount),
            ("open_tree", libc::SYS_open_tree),
            ("mount_setattr", libc::SYS_mount_setattr),
        ],
        "mounts are made with fsopen/fsmount and open_tree, attached with move_mount, changed with mount_setattr",
        "pivot cannot build a root filesystem",
        "Linux 5.12",
    )
}

/// The cgroup layout from mountinfo: "v2" (cgroup2 at /sys/fs/cgroup),
/// "hybrid" (v1 hierarchies and a cgroup2 tree), "v1", or "none".
pub fn cgroup_mode(hs: &[Hierarchy]) -> &'static str {
    let v2 = hs.iter().any(|h| h.is_v2());
    let v1 = hs.iter().any(|h| !h.is_v2());
    match (v1, v2) {
        (false, true) => "v2",
        (true, true) => "hybrid",
        (true, false) => "v1",
        (false, false) => "none",
    }
}

fn cgroups(mountinfo: Option<&str>) -> Check {
    let hs = mountinfo.map(parse_hierarchies).unwrap_or_default();
    let mode = cgroup_mode(&hs);
    let mut controllers = serde_json::Map::new();
    let mut hierarchies = vec![];
    for h in &hs {
        let (version, names): (&str, Vec<String>) = if h.is_v2() {
            let file = h.mount.join("cgroup.controllers");
            let list = std::fs::read_to_string(file).unwrap_or_default();
            ("v2", list.split_whitespace().map(String::from).collect())
        } else {
            (
                "v1",
                h.controllers
                    .split(',')
                    .filter(|c| !c.starts_with("name="))
                    .map(String::from)
                    .collect(),
            )
        };
        for n in &names {
            controllers
                .entry(n.clone())
                .or_insert(json!({ "version": version, "mount": h.mount }));
        }
        hierarchies.push(json!({ "version": version, "mount": h.mount, "controllers": names }));
    }
    let mut where_: Vec<String> = controllers
        .iter()
        .map(|(c, v)| format!("{c}({})", v["version"].as_str().unwrap_or_default()))
        .collect();
    where_.sort();
    let details = json!({ "mode": mode, "hierarchies": hierarchies, "controllers": controllers });
    let freezer = controllers.contains_key("freezer")
        || mode == "v2"
        || hs
            .iter()
            .any(|h| h.is_v2() && h.mount.join("cgroup.freeze").exists());
    let pause = if freezer {
        "pause works"
    } else {
        "no freezer: pause fails"
    };
    match mode {
        "none" => check("cgroups", false, true, "none", "no cgroup hierarchy is mounted: pivot cannot place a container", details),
        "v2" => check("cgroups", true, true, "v2", format!("limits are written to cgroup v2 files under {}; {pause}; controllers: {}", hs.iter().find(|h| h.is_v2()).map(|h| h.mount.display().to_string()).unwrap_or_default(), where_.join(" ")), details),
        m => check("cgroups", true, true, m, format!("limits are written to each controller's v1 hierarchy (the cgroup2 tree, if any, for the rest); {pause}; controllers: {}", where_.join(" ")), details),
    }
}

fn user_namespaces() -> Check {
    let kernel = Path::new("/proc/self/ns/user").exists();
    let max: Option<u64> = read("/proc/sys/user/max_user_namespaces").and_then(|s| s.parse().ok());
    let unpriv: Option<u64> =
        read("/proc/sys/kernel/unprivileged_userns_clone").and_then(|s| s.parse().ok());
    let aa_restrict: Option<u64> =
        read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").and_then(|s| s.parse().ok());
    let details = json!({
        "kernel": kernel,
        "max_user_namespaces": max,
        "unprivileged_userns_clone": unpriv,
        "apparmor_restrict_unprivileged_userns": aa_restrict,
    });
    let mut found = if kernel {
        "yes".to_string()
    } else {
        "no".to_string()
    };
    if let Some(m) = max {
        found.push_str(&format!(", max {m}"));
    }
    if let Some(u) = unpriv {
        found.push_str(&format!(", unprivileged_userns_clone={u}"));
    }
    if !kernel || max == Some(0) {
        return check(
            "user namespaces",
            false,
            false,
            found,
            "a config with a user namespace (linux.uidMappings) fails",
            details,
        );
    }
    check(
        "user namespaces",
        true,
        false,
        found,
        "linux.uidMappings and gidMappings work, and rootless containers",
        details,
    )
}

fn seccomp() -> Check {
    let status = read("/proc/self/status").unwrap_or_default();
    let kernel = status.lines().any(|l| l.starts_with("Seccomp:"));
    let actions = read("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    let filter = !actions.is_empty();
    let lib = libseccomp::ScmpVersion::current()
        .ok()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro));
    let details = json!({
        "kernel": kernel,
        "actions_avail": actions.split_whitespace().collect::<Vec<_>>(),
        "libseccomp": lib,
        "listener": actions.split_whitespace().any(|a| a == "user_notif"),
    });
    let lib_s = lib.clone().unwrap_or_else(|| "unknown".into());
    if !filter {
        return check(
            "seccomp",
            false,
            false,
            format!("no (libseccomp {lib_s})"),
            "linux.seccomp fails: the kernel has no seccomp filters",
            details,
        );
    }
    let notify = if details["listener"] == json!(true) {
        "; listenerPath works"
    } else {
        "; no user_notif: listenerPath fails"
    };
    check("seccomp", true, false, format!("yes, libseccomp {lib_s}"), format!("linux.seccomp is compiled with libseccomp {lib_s} (linked in) and loaded in the init{notify}"), details)
}

/// AppArmor, by the kernel's own answer (the module parameter), which is
/// what decides whether the exec attr can be written; securityfs need not
/// be mounted.
pub fn apparmor_enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// SELinux: selinuxfs mounted where the kernel mounts it (as go-selinux
/// looks).
pub fn selinux_enabled() -> bool {
    const SELINUX_MAGIC: i64 = 0xf97c_ff8c;
    fs_magic("/sys/fs/selinux") == Some(SELINUX_MAGIC)
}

/// The filesystem type (statfs f_type) of a host directory, if it is there.
fn fs_magic(dir: &str) -> Option<i64> {
    use std::os::fd::AsFd;
    let fd =
        crate::sys::openat(crate::sys::cwd(), dir, OFlags::PATH | OFlags::DIRECTORY, 0).ok()?;
    let st = crate::sys::fstatfs(fd.as_fd()).ok()?;
    Some(st.f_type as i64)
}

fn apparmor() -> Check {
    let on = apparmor_enabled();
    let details = json!({ "enabled": on });
    if on {
        check(
            "AppArmor",
            true,
            false,
            "enabled",
            "process.apparmorProfile is applied at the process's execve",
            details,
        )
    } else {
        check(
            "AppArmor",
            false,
            false,
            "disabled",
            "process.apparmorProfile is refused, as runc fails on it",
            details,
        )
    }
}

fn selinux() -> Check {
    let on = selinux_enabled();
    let enforce = read("/sys/fs/selinux/enforce");
    let details = json!({ "enabled": on, "enforce": enforce });
    if on {
        let mode = if enforce.as_deref() == Some("1") {
            "enforcing"
        } else {
            "permissive"
        };
        check("SELinux", true, false, mode, "process.selinuxLabel is applied at the process's execve; linux.mountLabel is not supported yet", details)
    } else {
        check(
            "SELinux",
            false,
            false,
            "disabled",
            "process.selinuxLabel and linux.mountLabel are refused",
            details,
        )
    }
}

/// `criu` in PATH and the version it reports.
fn criu() -> Check {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    let bin = std::env::split_paths(&path)
        .map(|d| d.join("criu"))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
    let Some(bin) = bin else {
        return check(
            "CRIU",
            false,
            false,
            "no",
            "no criu in PATH: checkpoint and restore fail",
            json!({ "path": null }),
        );
    };
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .map(|v| v.trim().to_string());
    let details = json!({ "path": bin, "version": version });
    let parts: Vec<u64> = version
        .as_deref()
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let new_enough = parts.first().copied().unwrap_or(0) > 3
        || (parts.first() == Some(&3) && parts.get(1).copied().unwrap_or(0) >= 11);
    let v = version.unwrap_or_else(|| "unknown version".into());
    if new_enough {
        check(
            "CRIU",
            true,
            false,
            v,
            format!("checkpoint and restore use {}", bin.display()),
            details,
        )
    } else {
        check(
            "CRIU",
            false,
            false,
            v,
            format!(
                "{} is older than 3.11: checkpoint and restore fail",
                bin.display()
            ),
            details,
        )
    }
}

fn systemd() -> Check {
    use crate::cgroups::systemd::dbus::{PRIVATE_SOCKET, SYSTEM_BUS};
    let pid1 = read("/proc/1/comm").unwrap_or_default();
    let booted = Path::new("/run/systemd/system").is_dir();
    let private = Path::new(PRIVATE_SOCKET).exists();
    let dbus = Path::new(SYSTEM_BUS).exists();
    let details = json!({ "pid1": pid1, "booted": booted, "private_socket": private, "system_bus_socket": dbus });
    let found = if booted {
        format!("pid 1 {pid1}, booted with systemd")
    } else {
        format!("no (pid 1 is {pid1})")
    };
    let (ok, consequence) = match (booted, dbus || private) {
        (true, true) => (
            true,
            format!(
            "--systemd-cgroup makes each container a transient scope over {}; without it, cgroupfs",
            if dbus { SYSTEM_BUS } else { PRIVATE_SOCKET }
        ),
        ),
        (true, false) => (
            false,
            format!("no {SYSTEM_BUS} nor {PRIVATE_SOCKET}: --systemd-cgroup fails; cgroupfs works"),
        ),
        _ => (
            false,
            "--systemd-cgroup fails (no systemd to ask); cgroupfs, the default, works".to_string(),
        ),
    };
    check("systemd", ok, false, found, consequence, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(text: &str) -> Vec<Hierarchy> {
        parse_hierarchies(text)
    }

    #[test]
    fn cgroup_modes_from_mountinfo() {
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let v1 = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        let hybrid = "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup_mode(&hs(v2)), "v2");
        assert_eq!(cgroup_mode(&hs(v1)), "v1");
        assert_eq!(cgroup_mode(&hs(&format!("{v1}{hybrid}"))), "hybrid");
        assert_eq!(cgroup_mode(&hs("")), "none");
    }
}
