//! What `prepare_rootfs` will do for a plan, step by step, without doing
//! it (for `pivot explain`). Every decision is the one the steps take,
//! from the same functions: `RootSwitch::of`, `mounts::method`,
//! `mounts::remounts`, `cgroupfs::v1_name`, `devices::needs_setup`,
//! `devices::planned_devices`, `dev_symlinks::dev_symlinks`, and the
//! masks' de-duplication;
//! the order is `prepare_rootfs`'s.

use super::resolve::Root;
use super::switch_root::RootSwitch;
use super::{cgroupfs, dev_symlinks, devices, mounts};
use crate::cgroups::{CgroupDir, Hierarchy};
use crate::spec::mountopts::MountOptions;
use crate::spec::{MountKind, NsKind, Plan, PlannedMount};
use crate::sys::mountflags::*;
use serde::Serialize;
use std::path::Path;

/// One step of building the root.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    /// propagation, mount, device, symlink, file, read-only, mkdir,
    /// hooks, detach, root switch, mask, skip.
    pub action: &'static str,
    /// The path in the container ("/" is the container's root).
    pub path: String,
    /// For a mount: what is handed to the kernel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount: Option<MountDesc>,
    /// How, in words.
    pub detail: String,
    /// The config.json field it comes from; none for what pivot adds.
    pub field: Option<String>,
    /// Whether it adds an entry to the container's mount table.
    pub mounted: bool,
}

/// A mount as it is made.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MountDesc {
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    /// mount(2) flags by name (MS_NOSUID|MS_NODEV, 0 for none).
    pub flags: String,
    /// The filesystem's data string.
    pub data: String,
    /// Propagation changes after the mount, in order.
    pub propagation: Vec<String>,
}

/// What the steps depend on besides the plan.
pub struct Host<'a> {
    pub no_pivot: bool,
    /// The host's cgroup hierarchies and the container's cgroup in each.
    pub hierarchies: &'a [Hierarchy],
    pub cgroups: &'a [CgroupDir],
}

fn step(action: &'static str, path: &str, detail: impl Into<String>) -> Step {
    Step {
        action,
        path: path.to_string(),
        mount: None,
        detail: detail.into(),
        field: None,
        mounted: false,
    }
}

impl Step {
    fn field(mut self, f: impl Into<String>) -> Step {
        self.field = Some(f.into());
        self
    }
    fn mounts(mut self, kind: &str, source: &str, opts: &MountOptions) -> Step {
        self.mount = Some(MountDesc {
            kind: kind.to_string(),
            source: source.to_string(),
            flags: flags_str(opts.flags),
            data: opts.data_string(),
            propagation: opts.propagation.iter().map(|p| flags_str(*p)).collect(),
        });
        self.mounted = true;
        self
    }
}

fn flags(flags: u64) -> MountOptions {
    MountOptions {
        flags,
        ..Default::default()
    }
}

/// Every step of `prepare_rootfs`, then the /dev/console bind the init
/// makes after it for a terminal.
pub fn outline(plan: &Plan, host: &Host) -> Vec<Step> {
    let mut out = Vec::new();
    let switch = RootSwitch::of(plan, host.no_pivot);
    let cwd = &plan.process.cwd;
    if switch == RootSwitch::Chroot {
        out.push(step("mkdir", cwd, "the working directory, if missing").field("process.cwd"));
        out.extend(create_container_hooks(plan));
        out.push(step("root switch", "/", switch.describe()));
        return out;
    }
    propagation(plan, &mut out);
    let root_how = if switch == RootSwitch::MoveAndChroot {
        "root.path bound onto itself (open_tree AT_RECURSIVE, move_mount): the mount moved onto / (MS_MOVE) and chrooted into"
    } else {
        "root.path bound onto itself (open_tree AT_RECURSIVE, move_mount): the mount pivot_root takes"
    };
    out.push(step("mount", "/", root_how).field("root.path").mounts(
        "bind",
        &plan.rootfs.to_string_lossy(),
        &flags(MS_BIND | MS_REC),
    ));
    let mut later_ro = Vec::new();
    for m in &plan.mounts {
        mount_steps(plan, host, m, &mut out);
        if m.kind == MountKind::Tmpfs && m.options.flags & MS_RDONLY != 0 {
            later_ro.push(m);
        }
    }
    if devices::needs_setup(plan) {
        dev_steps(plan, &mut out);
    } else {
        out.push(step(
            "skip",
            "/dev",
            "/dev is a bind or devtmpfs (the host's): no device nodes, /dev/ptmx or /dev links are made",
        ));
    }
    for m in later_ro {
        out.push(
            step(
                "read-only",
                &m.destination,
                "the read-only tmpfs made read-only now that what is under it exists",
            )
            .field(m.field()),
        );
    }
    out.push(step("mkdir", cwd, "the working directory, if missing").field("process.cwd"));
    out.extend(create_container_hooks(plan));
    if switch == RootSwitch::MoveAndChroot {
        out.extend(detach_steps(plan));
    }
    out.push(step("root switch", "/", switch.describe()));
    if let Some(flag) = plan.rootfs_propagation.filter(|f| f & MS_PRIVATE == 0) {
        out.push(
            step(
                "propagation",
                "/",
                format!("{} on the container's /", flags_str(flag)),
            )
            .field("linux.rootfsPropagation"),
        );
    }
    finalize_steps(plan, &mut out);
    if plan.process.terminal {
        out.push(
            step(
                "mount",
                "/dev/console",
                "the terminal's pty peer bound over /dev/console (with --console-socket)",
            )
            .field("process.terminal")
            .mounts("bind", "/dev/pts/N", &flags(MS_BIND)),
        );
    }
    out
}

/// --no-pivot: the whole procfs and sysfs mounts outside the rootfs
/// that the root switch detaches first, deepest first, as this process
/// sees them (the container's mount namespace starts as a copy of its
/// caller's). Host paths: they end up below the container's root, out
/// of its mount table either way.
fn detach_steps(plan: &Plan) -> Vec<Step> {
    // The rootfs as the kernel names it, as the switch takes it.
    let rootfs = plan.rootfs.to_string_lossy();
    let real = Root::open(&rootfs)
        .and_then(|r| crate::sys::readlink_fd(r.fd()))
        .unwrap_or_else(|_| rootfs.into_owned());
    let Ok(table) = crate::mountinfo::read() else {
        return Vec::new();
    };
    let mut found = super::switch_root::host_proc_sys_mounts(&table, &real);
    found.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    found
        .into_iter()
        .map(|(p, _)| {
            step(
                "detach",
                &p,
                "the host's procfs or sysfs (a host path) made rslave and detached (MNT_DETACH), or covered by an empty read-only tmpfs where it is locked: a fully visible one would let the container mount a new procfs or sysfs",
            )
        })
        .collect()
}

fn propagation(plan: &Plan, out: &mut Vec<Step>) {
    let flag = plan.rootfs_propagation.unwrap_or(MS_SLAVE | MS_REC);
    let mut s = step(
        "propagation",
        "/",
        format!(
            "{} on every mount of the container's mount namespace, before any mount",
            flags_str(flag)
        ),
    );
    if plan.rootfs_propagation.is_some() {
        s = s.field("linux.rootfsPropagation");
    }
    out.push(s);
    if flag != MS_SLAVE | MS_REC && flag != MS_PRIVATE | MS_REC {
        out.push(
            step(
                "propagation",
                "/",
                "MS_PRIVATE on the mount holding root.path, so the rootfs bind does not propagate to the host",
            )
            .field("root.path"),
        );
    }
}

fn create_container_hooks(plan: &Plan) -> Option<Step> {
    let n = plan
        .spec
        .hooks
        .as_ref()
        .map_or(0, |h| h.create_container.len());
    (n > 0).then(|| {
        step(
            "hooks",
            "/",
            format!("{n} createContainer hook(s), in the container's mount namespace"),
        )
        .field("hooks.createContainer")
    })
}

fn mount_steps(plan: &Plan, host: &Host, m: &PlannedMount, out: &mut Vec<Step>) {
    let dest = &m.destination;
    let s = match mounts::method(plan, m) {
        mounts::Method::Bind | mounts::Method::IdmapFromHost => {
            let mut how = if m.options.is_recursive_bind() {
                "recursive bind (open_tree AT_RECURSIVE)".to_string()
            } else {
                "bind (open_tree)".to_string()
            };
            if let Some(recursive) = m.options.idmap {
                how.push_str(if recursive {
                    ", idmapped recursively"
                } else {
                    ", idmapped"
                });
                if mounts::method(plan, m) == mounts::Method::IdmapFromHost {
                    how.push_str(" (cloned from the host's user namespace)");
                }
            }
            if mounts::remounts(&m.options) {
                how.push_str(&format!(
                    ", remounted with {}{}",
                    flags_str(m.options.flags & !(MS_BIND | MS_REC)),
                    if m.options.cleared != 0 {
                        format!(" clearing {}", flags_str(m.options.cleared))
                    } else {
                        String::new()
                    }
                ));
            }
            step("mount", dest, how).mounts("bind", &m.source, &m.options)
        }
        mounts::Method::HostSysfs => step(
            "mount",
            dest,
            "sysfs in a user namespace without its own network namespace: the host's /sys bound recursively",
        )
        .mounts(
            "bind",
            "/sys",
            &MountOptions {
                flags: m.options.flags | MS_BIND | MS_REC,
                ..m.options.clone()
            },
        ),
        mounts::Method::Cgroup => return cgroup_steps(plan, host, m, out),
        mounts::Method::Filesystem => {
            let mut how = "new filesystem (fsopen, fsmount, move_mount)".to_string();
            if m.kind == MountKind::Tmpfs && m.options.flags & MS_RDONLY != 0 {
                how.push_str(", made read-write and read-only once /dev is set up");
            }
            if m.options.tmpcopyup {
                how.push_str(", the covered directory's contents copied up");
            }
            if m.kind == MountKind::Proc && plan.namespaces.join.iter().any(|(k, _)| *k == NsKind::Pid) {
                how.push_str(", of the joined pid namespace");
            }
            step("mount", dest, how).mounts(m.kind.as_str(), &m.source, &m.options)
        }
    };
    out.push(s.field(m.field()));
}

/// runc's cgroup mount: one cgroup2 mount on unified v2, else a tmpfs
/// with one mount per v1 hierarchy (cgroupfs in a cgroup namespace, a
/// bind of the container's cgroup without).
fn cgroup_steps(plan: &Plan, host: &Host, m: &PlannedMount, out: &mut Vec<Step>) {
    let cgroupns = plan.namespaces.has(NsKind::Cgroup);
    let field = m.field();
    let hier = |h: &Hierarchy, dest: &str| {
        let fstype = if h.is_v2() { "cgroup2" } else { "cgroup" };
        if cgroupns {
            let mut o = flags(m.options.flags);
            o.data = h
                .controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
            let source = h.controllers.strip_prefix("name=").unwrap_or("cgroup");
            step("mount", dest, format!("new {fstype} filesystem"))
                .mounts(fstype, source, &o)
                .field(field.clone())
        } else {
            let src = host
                .cgroups
                .iter()
                .find(|d| d.hierarchy == *h)
                .map(|d| d.path().to_string_lossy().into_owned())
                .unwrap_or_default();
            step(
                "mount",
                dest,
                "recursive bind of the container's cgroup (no cgroup namespace)",
            )
            .mounts("bind", &src, &flags(MS_BIND | MS_REC | m.options.flags))
            .field(field.clone())
        }
    };
    if cgroupfs::is_unified(host.hierarchies) {
        out.push(hier(&host.hierarchies[0], &m.destination));
        return;
    }
    let tmpfs = MountOptions {
        flags: MS_NOSUID | MS_NODEV | MS_NOEXEC,
        data: vec!["mode=755".into()],
        ..Default::default()
    };
    out.push(
        step("mount", &m.destination, "tmpfs holding the v1 hierarchies")
            .mounts("tmpfs", "tmpfs", &tmpfs)
            .field(field.clone()),
    );
    for h in host.hierarchies.iter().filter(|h| !h.is_v2()) {
        let name = cgroupfs::v1_name(h);
        let dest = format!("{}/{name}", m.destination.trim_end_matches('/'));
        out.push(hier(h, &dest));
        if name.contains(',') {
            for c in name.split(',') {
                let link = format!("{}/{c}", m.destination.trim_end_matches('/'));
                out.push(step("symlink", &link, format!("-> {name}")).field(field.clone()));
            }
        }
    }
    if m.options.flags & MS_RDONLY != 0 {
        out.push(step("read-only", &m.destination, "the tmpfs made read-only").field(field));
    }
}

fn dev_steps(plan: &Plan, out: &mut Vec<Step>) {
    let bind = plan.namespaces.has(NsKind::User);
    for (d, what) in devices::planned_devices(plan) {
        let field = what
            .starts_with("linux.devices")
            .then(|| what.split(' ').next().unwrap_or_default().to_string());
        let mode = d.file_mode.unwrap_or(0o666) & 0o7777;
        let mut s = if bind {
            step(
                "device",
                &d.path,
                "the host's node bound onto an empty file (mknod is refused in a user namespace)",
            )
            .mounts("bind", &d.path, &flags(MS_BIND))
        } else {
            step(
                "device",
                &d.path,
                format!(
                    "mknod {} {}:{} mode {mode:#o} owner {}:{}",
                    d.kind,
                    d.major,
                    d.minor,
                    d.uid.unwrap_or(0),
                    d.gid.unwrap_or(0)
                ),
            )
        };
        s.field = field;
        out.push(s);
    }
    out.push(step(
        "symlink",
        "/dev/ptmx",
        "-> pts/ptmx (the container's devpts instance)",
    ));
    for (target, name) in dev_symlinks::dev_symlinks() {
        out.push(step(
            "symlink",
            &format!("/dev/{name}"),
            format!("-> {target}"),
        ));
    }
    if plan.process.terminal {
        out.push(
            step(
                "file",
                "/dev/console",
                "the pty's mount point, an empty file",
            )
            .field("process.terminal"),
        );
    }
}

fn finalize_steps(plan: &Plan, out: &mut Vec<Step>) {
    if plan.readonly_root {
        out.push(
            step(
                "read-only",
                "/",
                "the root mount made read-only (mount_setattr)",
            )
            .field("root.readonly"),
        );
    }
    let linux = plan.spec.linux.as_ref();
    let rootfs = Root::open(&plan.rootfs.to_string_lossy()).ok();
    let kind = |p: &str| existing_kind(plan, rootfs.as_ref(), p);
    for (i, p) in linux
        .map(|l| &l.readonly_paths[..])
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let field = format!("linux.readonlyPaths[{i}]");
        out.push(match kind(p) {
            Some(_) => step("read-only", p, "a read-only recursive bind of itself")
                .mounts("bind", p, &flags(MS_BIND | MS_REC | MS_RDONLY))
                .field(field),
            None => step("skip", p, "not there: nothing to make read-only").field(field),
        });
    }
    let mut done: Vec<String> = Vec::new();
    let mut tmpfs_made = false;
    for (i, p) in linux
        .map(|l| &l.masked_paths[..])
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let field = format!("linux.maskedPaths[{i}]");
        let clean = crate::spec::plan::clean_path(p);
        if done.contains(&clean) {
            out.push(step("skip", p, "masked already (listed twice)").field(field));
            continue;
        }
        done.push(clean);
        out.push(match kind(p) {
            None => step("skip", p, "not there: nothing to mask").field(field),
            Some(false) => step("mask", p, "the container's verified /dev/null bound over it")
                .mounts("bind", "/dev/null", &flags(MS_BIND))
                .field(field),
            Some(true) => {
                let how = if tmpfs_made {
                    "a clone of the masking tmpfs"
                } else {
                    "an empty read-only tmpfs (size=4k, nr_inodes=1), cloned for the other directories"
                };
                tmpfs_made = true;
                let o = MountOptions {
                    flags: MS_RDONLY,
                    data: vec!["size=4k".into(), "nr_inodes=1".into()],
                    ..Default::default()
                };
                step("mask", p, how).mounts("tmpfs", "tmpfs", &o).field(field)
            }
        });
    }
}

/// Whether `path` will exist in the container once its mounts are made,
/// and is a directory: under a procfs or sysfs mount as on this host
/// (the same kernel), under a bind as in its source, in the rootfs
/// otherwise; unknown (taken as there, a directory) under another
/// filesystem.
fn existing_kind(plan: &Plan, rootfs: Option<&Root>, path: &str) -> Option<bool> {
    let path = crate::spec::plan::clean_path(path);
    let under = |dest: &str| {
        path == dest || dest == "/" || path.starts_with(&format!("{}/", dest.trim_end_matches('/')))
    };
    let host_kind = |p: &Path| std::fs::symlink_metadata(p).ok().map(|m| m.is_dir());
    match plan.mounts.iter().rev().find(|m| under(&m.destination)) {
        Some(m) => {
            let rest = path[m.destination.len()..].trim_start_matches('/');
            let base = match m.kind {
                MountKind::Proc => "/proc",
                MountKind::Sysfs => "/sys",
                MountKind::Bind => m.source.as_str(),
                _ => return Some(true),
            };
            host_kind(&Path::new(base).join(rest))
        }
        None => {
            let fd = rootfs?.open_path(&path, false).ok()?;
            let st = crate::sys::fstat(std::os::fd::AsFd::as_fd(&fd)).ok()?;
            Some(crate::sys::file_type(&st) == crate::sys::FileType::Dir)
        }
    }
}
