//! The systemd cgroup driver (`--systemd-cgroup`), as runc 1.5's: the
//! container's cgroup is a transient scope that systemd makes with the
//! init in it (StartTransientUnit, Delegate=yes), its resources go to the
//! unit as properties and then into the cgroup files as the cgroupfs
//! driver writes them; `delete` stops the unit.
//!
//! The cgroup's place is known before systemd makes it (the slice's path
//! and the unit's name), so every later command works on the recorded
//! cgroup dirs as with cgroupfs; only start, update and stop speak D-Bus.
//! They do so in a short-lived child process: zbus runs threads, and
//! pivot forks after them, so pivot itself never does.

pub mod annotations;
pub mod dbus;
pub mod path;
pub mod props;

pub use path::Unit;

use super::resources::{self, Limits};
use super::{CgroupDir, Hierarchy};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::sys::{self, Forked};
use props::Property;
use std::os::fd::AsFd;

/// What the parent needs to put the init into its unit.
#[derive(Debug, Clone)]
pub struct Scope {
    pub unit: Unit,
    pub container: String,
    /// The annotations' properties (checked at create).
    pub extra: Vec<Property>,
    pub limits: Limits,
}

/// Whether the commands of this process talk to systemd's user instance.
pub fn user_instance() -> bool {
    sys::geteuid() != 0
}

/// The unit of a new container and its cgroup dirs in every hierarchy;
/// every bad input (cgroupsPath, annotations) fails here, before
/// anything is made.
pub fn plan(
    hier: &[Hierarchy],
    cgroups_path: Option<&str>,
    id: &str,
    annotations: Option<&std::collections::BTreeMap<String, String>>,
    limits: &Limits,
) -> Result<(Scope, Vec<CgroupDir>)> {
    let user = user_instance();
    // A cgroupsPath error names the field before the bus is asked anything.
    path::parse(cgroups_path, id)?;
    let extra = annotations::properties(annotations)?;
    let manager_cgroup = if user {
        in_helper(|| dbus::Manager::connect(true)?.control_group())?
    } else {
        String::new()
    };
    let unit = path::unit(cgroups_path, id, user, &manager_cgroup)?;
    let dirs = dirs(hier, &unit);
    if matches!(resources::layout(&dirs), resources::Layout::V1(_)) && user {
        return Err(Error::unsupported(
            "--systemd-cgroup: the systemd user instance needs cgroup v2 (this host uses cgroup v1)",
        ));
    }
    if matches!(resources::layout(&dirs), resources::Layout::V1(_)) && !limits.unified.is_empty() {
        return Err(Error::unsupported(
            "linux.resources.unified: invalid configuration: unified resources need cgroup v2 (this host uses cgroup v1)",
        ));
    }
    let scope = Scope {
        unit,
        container: id.to_string(),
        extra,
        limits: limits.clone(),
    };
    Ok((scope, dirs))
}

/// The unit's cgroup in each hierarchy (runc's legacy manager: the same
/// path below every v1 mount; the unified tree's alone on cgroup v2).
pub fn dirs(hier: &[Hierarchy], unit: &Unit) -> Vec<CgroupDir> {
    hier.iter()
        .map(|h| {
            let root = h.root.trim_end_matches('/');
            CgroupDir {
                hierarchy: h.clone(),
                inner: format!("{root}{}", unit.cgroup),
                created: Vec::new(),
            }
        })
        .collect()
}

fn is_v2(dirs: &[CgroupDir]) -> bool {
    matches!(resources::layout(dirs), resources::Layout::V2(_))
}

/// Put the (blocked) init into its unit: start the scope with it, join the
/// v1 hierarchies systemd does not manage, set the resources as unit
/// properties and then as files. From here on the unit's cgroup dirs are
/// recorded as pivot's to remove (after the unit is stopped).
pub fn place(s: &Scope, pid: i32, dirs: &mut [CgroupDir]) -> Result<()> {
    let v2 = is_v2(dirs);
    let mut start_props = props::unit(&s.unit, &s.container, Some(pid), v2);
    if v2 {
        start_props.extend(props::oom_policy(&s.limits)?);
    }
    start_props.extend(s.extra.iter().cloned());
    let limits = &s.limits;
    let user = s.unit.user;
    let name = s.unit.name.clone();
    let extra = s.extra.clone();
    let version = in_helper(move || {
        let m = dbus::Manager::connect(user)?;
        m.start(&name, &start_props)
            .map_err(|e| name_annotation(e, &extra))?;
        let version = m.version();
        let (res, _) = props::resources(limits, v2, version)?;
        m.set(&name, &res)
            .map_err(|e| name_field(&m, &name, &res, e))?;
        Ok(version)
    })
    .ctx("--systemd-cgroup")?;
    join_v1(dirs, pid)?;
    // Only the unit's own dir, as runc removes it: a slice directory made
    // in a v1 hierarchy may be shared by other containers.
    for d in dirs.iter_mut() {
        d.created = vec![d.path()];
    }
    let (_, files) = props::resources(limits, v2, version)?;
    if !s.unit.user {
        return resources::apply(&files, dirs, resources::Apply::CREATE);
    }
    // The user instance's containers are rootless: as runc's rootless
    // manager, device rules are not expected to work (an unprivileged
    // caller may not load the BPF program), and their errors are ignored.
    let no_devices = resources::Apply {
        devices: false,
        ..resources::Apply::CREATE
    };
    resources::apply(&files, dirs, no_devices)?;
    let devices = Limits {
        devices: files.devices.clone(),
        ..Default::default()
    };
    let _ = resources::apply(&devices, dirs, resources::Apply::CREATE);
    Ok(())
}

/// What `place` would send to systemd and then write, for `explain`:
/// the new unit's properties (without the init's pid, not there yet),
/// the resources' properties and the limits the cgroup files get.
/// Some properties depend on systemd's version: it is asked of the bus
/// where that answers (None: the newest's properties).
pub fn preview(s: &Scope, dirs: &[CgroupDir]) -> Result<Preview> {
    let v2 = is_v2(dirs);
    let mut start = props::unit(&s.unit, &s.container, None, v2);
    if v2 {
        start.extend(props::oom_policy(&s.limits)?);
    }
    start.extend(s.extra.iter().cloned());
    let user = s.unit.user;
    let version = in_helper(move || Ok(dbus::Manager::connect(user)?.version())).ok();
    let (resources, files) = props::resources(&s.limits, v2, version.unwrap_or(u32::MAX))?;
    Ok(Preview {
        start,
        resources,
        files,
        version,
    })
}

/// `preview`'s answer.
pub struct Preview {
    pub start: Vec<Property>,
    pub resources: Vec<Property>,
    pub files: Limits,
    pub version: Option<u32>,
}

/// A systemd error about a property that came from an annotation names
/// the annotation.
fn name_annotation(e: Error, extra: &[Property]) -> Error {
    let text = e.to_string();
    match extra.iter().find(|(n, _)| text.contains(n.as_str())) {
        Some((n, _)) => e.context(format!("annotations[\"{}{n}\"]", annotations::PREFIX)),
        None => e,
    }
}

/// A new unit's resources that systemd refused: the error names the
/// config.json field of the property it refuses (a cpus list beyond the
/// host's CPUs is ERANGE, naming nothing). Each property is tried alone to
/// find it: systemd checks a whole SetUnitProperties before it applies any
/// of it, and the unit is stopped as the create fails.
fn name_field(m: &dbus::Manager, unit: &str, res: &[Property], e: Error) -> Error {
    let refused = match res {
        [one] => Some(one),
        _ => res
            .iter()
            .find(|p| m.set(unit, std::slice::from_ref(*p)).is_err()),
    };
    match refused {
        Some((name, _)) => e.context(props::field_of(name)),
        None => e,
    }
}

/// runc's joinCgroups: the v1 hierarchies other than systemd's own get
/// the init through their cgroup.procs (the directories made as needed).
fn join_v1(dirs: &[CgroupDir], pid: i32) -> Result<()> {
    for d in dirs {
        if d.hierarchy.is_v2() || d.hierarchy.has("name=systemd") {
            continue;
        }
        super::create(&mut [d.clone()]).ctx("linux.cgroupsPath")?;
        super::write_file(&d.path().join("cgroup.procs"), &pid.to_string())
            .with_ctx(|| format!("cgroup {}", d.hierarchy.controllers))?;
    }
    Ok(())
}

/// `update`: the new resources as unit properties; returns the limits the
/// cgroup files then get.
pub fn update(unit: &Unit, limits: &Limits, dirs: &[CgroupDir]) -> Result<Limits> {
    let v2 = is_v2(dirs);
    let user = unit.user;
    let name = unit.name.clone();
    let version = in_helper(move || {
        let m = dbus::Manager::connect(user)?;
        let version = m.version();
        let (res, _) = props::resources(limits, v2, version)?;
        m.set(&name, &res)?;
        Ok(version)
    })
    .ctx("--systemd-cgroup")?;
    Ok(props::resources(limits, v2, version)?.1)
}

/// Stop the unit (and reset it if failed): systemd removes its cgroup.
pub fn stop(unit: &Unit) -> Result<()> {
    let user = unit.user;
    let name = unit.name.clone();
    in_helper(move || dbus::Manager::connect(user)?.stop(&name)).ctx("--systemd-cgroup")
}

/// How long a helper may take: a job's 30 s and some.
const HELPER_TIMEOUT_MS: i32 = 45_000;

/// Run `f` in a child process and return its result; the child is killed
/// when it takes too long.
fn in_helper<T, F>(f: F) -> Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnOnce() -> Result<T>,
{
    let (ours, theirs) = sys::socketpair()?;
    match sys::fork()? {
        Forked::Child => {
            drop(ours);
            let msg = match f() {
                Ok(v) => serde_json::json!({"ok": v}),
                Err(e) => serde_json::json!({"err": e.to_string(), "kind": kind_code(e.kind())}),
            };
            let _ = sys::send_msg(theirs.as_fd(), msg.to_string().as_bytes(), None);
            sys::exit_now(0)
        }
        Forked::Parent { pid, .. } => {
            drop(theirs);
            let ready = sys::poll_in(ours.as_fd(), HELPER_TIMEOUT_MS);
            if !matches!(ready, Ok(r) if r.ready()) {
                let _ = sys::kill(pid, libc::SIGKILL);
                let _ = sys::waitpid(pid, 0);
                return Err(Error::other("systemd did not answer in time"));
            }
            let got = sys::recv_msg(ours.as_fd());
            let _ = sys::waitpid(pid, 0);
            let (text, _) = got?;
            let v: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|_| Error::other("the systemd helper exited without an answer"))?;
            if let Some(ok) = v.get("ok") {
                return serde_json::from_value(ok.clone())
                    .map_err(|e| Error::other(format!("systemd helper: {e}")));
            }
            let msg = v["err"].as_str().unwrap_or("unknown error").to_string();
            Err(Error::from_wire(
                kind_from_code(v["kind"].as_i64().unwrap_or(0)),
                msg,
            ))
        }
    }
}

fn kind_code(k: ErrorKind) -> i64 {
    match k {
        ErrorKind::InvalidInput => -1,
        ErrorKind::Unsupported => -2,
        ErrorKind::NotFound => -3,
        ErrorKind::Os(e) => e as i64,
        _ => 0,
    }
}

fn kind_from_code(c: i64) -> ErrorKind {
    match c {
        -1 => ErrorKind::InvalidInput,
        -2 => ErrorKind::Unsupported,
        -3 => ErrorKind::NotFound,
        e if e > 0 => ErrorKind::Os(e as i32),
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn h(controllers: &str, mount: &str) -> Hierarchy {
        Hierarchy {
            controllers: controllers.into(),
            mount: PathBuf::from(mount),
            root: "/".into(),
        }
    }

    #[test]
    fn unit_dirs_in_every_hierarchy() {
        let u = path::unit(Some("a-b.slice:p:n"), "id", false, "").unwrap();
        let hier = [
            h("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"),
            h("name=systemd", "/sys/fs/cgroup/systemd"),
            h("", "/sys/fs/cgroup/unified"),
        ];
        let d = dirs(&hier, &u);
        assert_eq!(
            d[0].path(),
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/a.slice/a-b.slice/p-n.scope")
        );
        assert_eq!(
            d[2].path(),
            PathBuf::from("/sys/fs/cgroup/unified/a.slice/a-b.slice/p-n.scope")
        );
        let d = dirs(&[h("", "/sys/fs/cgroup")], &u);
        assert_eq!(
            d[0].path(),
            PathBuf::from("/sys/fs/cgroup/a.slice/a-b.slice/p-n.scope")
        );
        assert!(is_v2(&d));
    }

    /// The helper carries results and errors (with their kind) back.
    #[test]
    fn helper_round_trip() {
        assert_eq!(in_helper(|| Ok(7u32)).unwrap(), 7);
        let e = in_helper::<u32, _>(|| Err(Error::invalid("bad thing"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "bad thing");
        let e = in_helper::<u32, _>(|| Err(Error::os("connect(x)", libc::ENOENT))).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT));
    }

    #[test]
    fn bad_input_fails_before_the_bus() {
        let e = plan(&[], Some("nope"), "id", None, &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.cgroupsPath: expected"), "{e}");
        let mut a = std::collections::BTreeMap::new();
        a.insert("org.systemd.property.X_Y".to_string(), "1".to_string());
        let e = plan(&[], None, "id", Some(&a), &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("annotations[\"org.systemd.property.X_Y\"]"),
            "{e}"
        );
    }
}
