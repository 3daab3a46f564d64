use super::*;

tests![
    tmpfs_on_proc_with_sysctl,
    bind_on_proc_with_sysctl,
    bind_over_proc_sys_with_sysctl,
    bind_over_sysctl_file,
    symlink_destination_into_proc_sys,
    bind_over_proc_self_attr,
    bind_over_oom_score_adj,
];

// A fake procfs, and mounts over the /proc files the runtime writes

/// The sysctl the procfs tests set: in the container's own network
/// namespace (new by default), never the host's.
pub(super) const SYSCTL_KEY: &str = "net.ipv4.ip_forward";

pub(super) fn set_sysctl(bundle: &Bundle) {
    bundle.edit(|c| c["linux"]["sysctl"] = json!({SYSCTL_KEY: "1"}));
}

/// IP forwarding in the network namespace of `pid`, read from the host
/// (/proc/<pid>/net/snmp, "Ip: Forwarding": 1 on, 2 off).
#[track_caller]
fn forwarding(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/snmp"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/net/snmp: {e}"));
    let ip: Vec<&str> = text.lines().filter(|l| l.starts_with("Ip:")).collect();
    assert!(ip.len() >= 2, "no Ip lines in /proc/{pid}/net/snmp: {text}");
    let names = ip[0].split_whitespace();
    let values = ip[1].split_whitespace();
    names
        .zip(values)
        .find(|(n, _)| *n == "Forwarding")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no Forwarding in /proc/{pid}/net/snmp: {text}"))
}

/// `create`s the bundle (linux.sysctl set): refused and nothing left, or
/// created with the sysctl in the container's network namespace (read
/// from the host, not through any path the config could cover). Returns
/// whether it was created. The container is deleted.
#[track_caller]
pub(super) fn create_and_check_sysctl(s: &Scratch, rt: &Rt, bundle: &Bundle) -> bool {
    let Some((id, value)) = create_and_read(s, rt, bundle, forwarding) else {
        return false;
    };
    assert_eq!(
        value, 1,
        "linux.sysctl {SYSCTL_KEY}=1 did not reach the container's network namespace \
         (written elsewhere?)"
    );
    eprintln!("pivot-tests: {id} created; the sysctl is in its network namespace");
    true
}

/// A canary directory shaped like /proc/sys (net/ipv4/ip_forward, a
/// file reading "canary"), for binds where procfs should be.
fn fake_proc_sys(s: &Scratch, tag: &str) -> PathBuf {
    let dir = canary_dir(s, tag);
    fill_proc_sys(&dir);
    dir
}

/// `dir`/net/ipv4/ip_forward, a file reading "canary".
fn fill_proc_sys(dir: &Path) {
    let ipv4 = dir.join("net/ipv4");
    std::fs::create_dir_all(&ipv4).expect("mkdir fake net/ipv4");
    std::fs::write(ipv4.join("ip_forward"), "canary\n").expect("write fake ip_forward");
}

/// The frame of a sysctl test: a container with linux.sysctl set and
/// `attack`'s change to its bundle, created and checked
/// (create_and_check_sysctl) with `canaries` watched.
fn sysctl_attack(s: &Scratch, canaries: &[&Path], attack: impl FnOnce(&Bundle)) {
    guarded(s, canaries, |rt| {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        attack(&bundle);
        create_and_check_sysctl(s, rt, &bundle);
    });
}

/// The same for process.oomScoreAdj `value`: refused, or the value is
/// on the container's init.
fn oom_attack(s: &Scratch, canaries: &[&Path], value: i32, attack: impl FnOnce(&Bundle)) {
    guarded(s, canaries, |rt| {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        bundle.edit(|c| c["process"]["oomScoreAdj"] = json!(value));
        attack(&bundle);
        if let Some((id, adj)) = create_and_read(s, rt, &bundle, |pid| {
            std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap_or_default()
        }) {
            assert_eq!(
                adj.trim(),
                value.to_string(),
                "process.oomScoreAdj did not reach the container's init (written elsewhere?)"
            );
            eprintln!("pivot-tests: {id} created; oom_score_adj is on its init");
        }
    });
}

/// `create`s the bundle: refused and nothing left (None), or created and
/// `read` from its init's pid on the host before the container is
/// deleted (its id and what was read).
#[track_caller]
fn create_and_read<T>(
    s: &Scratch,
    rt: &Rt,
    bundle: &Bundle,
    read: impl FnOnce(i32) -> T,
) -> Option<(String, T)> {
    let before = mount_points();
    let id = s.id("procfs");
    let out = rt.create(s, bundle, &id);
    if out.code != 0 {
        assert_refused_cleanly(s, &out, &id, &before);
        return None;
    }
    let value = read(init_pid(s, &id));
    rt.cmd(s, &["delete", "--force", &id]).ok();
    s.reap();
    Some((id, value))
}

/// A tmpfs, not procfs, as the /proc mount, with linux.sysctl set: refused
/// (only procfs goes on /proc), or the sysctl still lands in the
/// container's network namespace.
fn tmpfs_on_proc_with_sysctl(s: &Scratch) {
    sysctl_attack(s, &[], |bundle| {
        bundle.edit(|c| {
            for m in c["mounts"].as_array_mut().expect("mounts") {
                if m["destination"] == "/proc" {
                    *m = json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs",
                                "options": ["size=64k"]});
                }
            }
        });
    });
}

/// A bind of a canary dir shaped like procfs (sys/net/ipv4/ip_forward) as
/// the /proc mount, read-write, with linux.sysctl set: refused (only
/// procfs goes on /proc), or the canary gets nothing (no sysctl written
/// into it, no mountpoint made in it) and the sysctl lands in the
/// container's network namespace.
fn bind_on_proc_with_sysctl(s: &Scratch) {
    let fake = canary_dir(s, "fakeproc");
    fill_proc_sys(&fake.join("sys"));
    sysctl_attack(s, &[&fake], |bundle| {
        remove_mount(bundle, "/proc");
        bind_at(bundle, &fake, "/proc", &["rbind", "rw"]);
    });
}

/// A bind of a canary dir shaped like /proc/sys over the container's
/// /proc/sys, with linux.sysctl set: refused (inside /proc), or the sysctl
/// lands in the container's network namespace and the canary is unchanged.
fn bind_over_proc_sys_with_sysctl(s: &Scratch) {
    let sys = fake_proc_sys(s, "fakesys");
    sysctl_attack(s, &[&sys], |bundle| {
        bind_at(bundle, &sys, "/proc/sys", &["rbind", "rw"]);
    });
}

/// A canary file bound over /proc/sys/net/ipv4/ip_forward, the file the
/// runtime writes for linux.sysctl (CVE-2025-52881 without the race).
fn bind_over_sysctl_file(s: &Scratch) {
    let canary = canary_file(s, "canary");
    sysctl_attack(s, &[&canary], |bundle| {
        bind_at(
            bundle,
            &canary,
            "/proc/sys/net/ipv4/ip_forward",
            &["bind", "rw"],
        );
    });
}

/// The same through a symlink in the image: /evil -> /proc/sys/net/ipv4
/// and the bind on /evil/ip_forward.
fn symlink_destination_into_proc_sys(s: &Scratch) {
    let canary = canary_file(s, "canary");
    sysctl_attack(s, &[&canary], |bundle| {
        symlink_in_rootfs(bundle, "evil", "/proc/sys/net/ipv4");
        bundle.add_mount(json!({
            "destination": "/evil/ip_forward",
            "type": "bind",
            "source": canary,
            "options": ["bind", "rw"],
        }));
    });
}

/// A canary dir bound over /proc/self/attr (the LSM attribute files a
/// runtime writes), with oomScoreAdj set: refused, or nothing written
/// into the canary and oom_score_adj set on the real process.
fn bind_over_proc_self_attr(s: &Scratch) {
    let attr = canary_dir(s, "fakeattr");
    std::fs::write(attr.join("exec"), "canary\n").expect("write fake attr/exec");
    oom_attack(s, &[&attr], 123, |bundle| {
        bind_at(bundle, &attr, "/proc/self/attr", &["rbind", "rw"]);
    });
}

/// A canary file bound over /proc/self/oom_score_adj with
/// process.oomScoreAdj set: refused, or the value is on the real process
/// and the canary is unchanged.
fn bind_over_oom_score_adj(s: &Scratch) {
    let canary = canary_file(s, "canary");
    oom_attack(s, &[&canary], 321, |bundle| {
        bind_at(bundle, &canary, "/proc/self/oom_score_adj", &["bind", "rw"]);
    });
}

// ---------------------------------------------------------------------
