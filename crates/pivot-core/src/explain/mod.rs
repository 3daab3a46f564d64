//! `pivot explain`: what `create` would do for a bundle, without doing
//! any of it and without privileges, and every problem its checks would
//! find. Built from the plan `create` executes and the functions its
//! steps decide with (container::check_plan, rootfs::outline,
//! cgroups::plan_dirs, cgroups::resources::record, seccomp::gather,
//! caps::parse), so it cannot tell another story than `create` acts.

mod text;

use crate::cgroups::resources::Limits;
use crate::cgroups::systemd::{self, props::Variant};
use crate::cgroups::{self, resources, CgroupDir, Hierarchy};
use crate::container::create::{add_notify_socket, check_plan};
use crate::container::CreateOptions;
use crate::error::{Problems, Result};
use crate::process::caps;
use crate::rootfs::outline::{self, Step};
use crate::rootfs::switch_root::RootSwitch;
use crate::spec::types::{Hook, IdMapping, Rlimit};
use crate::spec::{NsKind, Plan};
use crate::state::StateDir;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The flags of `create` that change what it does.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    pub id: String,
    pub bundle: PathBuf,
    /// --root: where the state dir would be (the notify socket's bind).
    pub state_root: PathBuf,
    pub no_pivot: bool,
    pub systemd_cgroup: bool,
    /// Whether create would use the rootless cgroup manager.
    pub rootless_cgroups: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// new, join, or host (not listed: the caller's is kept).
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub major: i64,
    pub minor: i64,
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    /// mknod, or bind (of the host's node, in a user namespace).
    pub how: &'static str,
    pub field: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookStage {
    pub stage: &'static str,
    pub hooks: Vec<Hook>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Seccomp {
    pub default_action: String,
    /// Entries of linux.seccomp.syscalls.
    pub rules: usize,
    /// Syscall names over all rules.
    pub syscalls: usize,
    pub architectures: Vec<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cgroup {
    /// cgroupfs or systemd.
    pub driver: &'static str,
    /// v1, v1 (hybrid: a cgroup2 tree beside), v2, or none.
    pub version: &'static str,
    /// The systemd unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The container's directory in each hierarchy.
    pub paths: Vec<PathBuf>,
    /// systemd: the unit's properties, at its start and then set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<UnitProperty>,
    /// Every write of linux.resources, in order.
    pub writes: Vec<resources::Write>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitProperty {
    /// start (StartTransientUnit) or set (SetUnitProperties).
    pub stage: &'static str,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub namespaces: Vec<Namespace>,
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
    /// The root's construction, in prepare_rootfs's order.
    pub steps: Vec<Step>,
    pub devices: Vec<Device>,
    pub root_switch: String,
    pub rootfs_propagation: String,
    pub readonly_root: bool,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    pub rlimits: Vec<Rlimit>,
    /// Each set by name, as the kernel will get it (names it lacks left
    /// out, as the warnings say).
    pub capabilities: BTreeMap<&'static str, Vec<&'static str>>,
    pub no_new_privileges: bool,
    pub seccomp: Option<Seccomp>,
    /// By stage, in the order they run.
    pub hooks: Vec<HookStage>,
    pub cgroup: Option<Cgroup>,
    pub warnings: Vec<String>,
    /// Every problem create's checks would report; create stops at the
    /// first.
    pub problems: Vec<String>,
}

/// Explain what `create` would do. An error only where the bundle
/// cannot be read at all (no directory, no config.json, not JSON).
pub fn explain(opts: &ExplainOptions) -> Result<Explanation> {
    let create = CreateOptions {
        bundle: opts.bundle.clone(),
        no_pivot: opts.no_pivot,
        ..Default::default()
    };
    let mut problems = Problems::new();
    let plan = check_plan(&opts.id, &create, &mut problems)?;
    let bundle = crate::container::absolute(&opts.bundle)?;
    let Some(mut plan) = plan else {
        return Ok(Explanation::only_problems(bundle, &problems));
    };
    add_notify_socket(&mut plan, &StateDir::new(&opts.state_root, &opts.id).dir);
    let limits = Limits::gather(
        plan.spec.linux.as_ref().and_then(|l| l.resources.as_ref()),
        &mut problems,
    );
    let parsed = limits.clone().unwrap_or_default();
    let placed = problems.take(cgroup_dirs(&plan, opts, &parsed));
    let cgroup = placed.as_ref().map(|p| {
        cgroup(
            &plan,
            opts,
            p,
            limits.is_some().then_some(&parsed),
            &mut problems,
        )
    });
    let seccomp = seccomp(&plan, &mut problems);
    let (hierarchies, dirs, _) = placed.unwrap_or_default();
    let host = outline::Host {
        no_pivot: opts.no_pivot,
        hierarchies: &hierarchies,
        cgroups: &dirs,
    };
    let steps = outline::outline(&plan, &host);
    let mut warnings = plan.warnings.clone();
    warnings.extend(caps::warnings(
        plan.process.capabilities.as_ref(),
        caps::last_cap(),
    ));
    let linux = plan.spec.linux.clone().unwrap_or_default();
    Ok(Explanation {
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        namespaces: namespaces(&plan),
        uid_mappings: plan.uid_mappings.clone(),
        gid_mappings: plan.gid_mappings.clone(),
        devices: devices(&steps, &plan),
        steps,
        root_switch: RootSwitch::of(&plan, opts.no_pivot).describe().into(),
        rootfs_propagation: rootfs_propagation(&plan),
        readonly_root: plan.readonly_root,
        masked_paths: linux.masked_paths.clone(),
        readonly_paths: linux.readonly_paths.clone(),
        sysctls: linux.sysctl.clone().unwrap_or_default(),
        rlimits: plan.process.rlimits.clone(),
        capabilities: capabilities(&plan),
        no_new_privileges: plan.process.no_new_privileges,
        seccomp,
        hooks: hooks(&plan),
        cgroup,
        warnings,
        problems: problems.errors().iter().map(|e| e.to_string()).collect(),
    })
}

impl Explanation {
    fn only_problems(bundle: PathBuf, problems: &Problems) -> Explanation {
        Explanation {
            bundle,
            rootfs: PathBuf::new(),
            namespaces: Vec::new(),
            uid_mappings: Vec::new(),
            gid_mappings: Vec::new(),
            steps: Vec::new(),
            devices: Vec::new(),
            root_switch: String::new(),
            rootfs_propagation: String::new(),
            readonly_root: false,
            masked_paths: Vec::new(),
            readonly_paths: Vec::new(),
            sysctls: BTreeMap::new(),
            rlimits: Vec::new(),
            capabilities: BTreeMap::new(),
            no_new_privileges: false,
            seccomp: None,
            hooks: Vec::new(),
            cgroup: None,
            warnings: Vec::new(),
            problems: problems.errors().iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The mount points of the container's mount table, in the order
    /// they are made.
    pub fn mount_points(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.mounted)
            .map(|s| s.path.as_str())
            .collect()
    }

    /// The same, as text for a person.
    pub fn to_text(&self) -> String {
        text::render(self)
    }
}

fn namespaces(plan: &Plan) -> Vec<Namespace> {
    let ns = &plan.namespaces;
    NsKind::ALL
        .into_iter()
        .map(|k| {
            let joined = ns.join.iter().find(|(j, _)| *j == k);
            let (action, path, detail) = if let Some((_, p)) = joined {
                ("join", Some(p.clone()), "setns by path".to_string())
            } else if ns.is_new(k) {
                let when = if ns.made_by_clone() & k.clone_flag() != 0 {
                    "made by the init's clone3"
                } else if ns.made_by_init() & k.clone_flag() != 0 {
                    "unshared by the init once it is in place (cgroup: in its cgroup; ipc: as root of its user namespace)"
                } else {
                    "unshared by the init (after joining the namespaces given by path, or to write linux.timeOffsets)"
                };
                ("new", None, when.to_string())
            } else {
                ("host", None, "not listed: the caller's is kept".to_string())
            };
            Namespace {
                kind: k.spec_name(),
                action,
                path,
                detail,
            }
        })
        .collect()
}

fn devices(steps: &[Step], plan: &Plan) -> Vec<Device> {
    let made: Vec<&str> = steps
        .iter()
        .filter(|s| s.action == "device")
        .map(|s| s.path.as_str())
        .collect();
    let bind = plan.namespaces.has(NsKind::User);
    crate::rootfs::planned_devices(plan)
        .into_iter()
        .filter(|(d, _)| made.contains(&d.path.as_str()))
        .map(|(d, what)| Device {
            mode: format!("{:#o}", d.file_mode.unwrap_or(0o666) & 0o7777),
            uid: d.uid.unwrap_or(0),
            gid: d.gid.unwrap_or(0),
            how: if bind { "bind" } else { "mknod" },
            field: what
                .starts_with("linux.devices")
                .then(|| what.split(' ').next().unwrap_or_default().to_string()),
            path: d.path,
            kind: d.kind,
            major: d.major,
            minor: d.minor,
        })
        .collect()
}

fn rootfs_propagation(plan: &Plan) -> String {
    use crate::sys::mountflags::{flags_str, MS_REC, MS_SLAVE};
    if !plan.namespaces.has(NsKind::Mount) {
        return "none (no mount namespace: the host's mounts are left as they are)".into();
    }
    match plan.rootfs_propagation {
        Some(f) => format!("{} (linux.rootfsPropagation)", flags_str(f)),
        None => format!("{} (the default)", flags_str(MS_SLAVE | MS_REC)),
    }
}

fn capabilities(plan: &Plan) -> BTreeMap<&'static str, Vec<&'static str>> {
    let c = caps::parse(plan.process.capabilities.as_ref(), caps::last_cap());
    BTreeMap::from([
        ("bounding", caps::names(c.bounding)),
        ("effective", caps::names(c.effective)),
        ("inheritable", caps::names(c.inheritable)),
        ("permitted", caps::names(c.permitted)),
        ("ambient", caps::names(c.ambient)),
    ])
}

fn hooks(plan: &Plan) -> Vec<HookStage> {
    let Some(h) = plan.spec.hooks.as_ref() else {
        return Vec::new();
    };
    [
        ("prestart", &h.prestart),
        ("createRuntime", &h.create_runtime),
        ("createContainer", &h.create_container),
        ("startContainer", &h.start_container),
        ("poststart", &h.poststart),
        ("poststop", &h.poststop),
    ]
    .into_iter()
    .filter(|(_, l)| !l.is_empty())
    .map(|(stage, l)| HookStage {
        stage,
        hooks: l.clone(),
    })
    .collect()
}

fn seccomp(plan: &Plan, problems: &mut Problems) -> Option<Seccomp> {
    let v = plan.spec.linux.as_ref()?.seccomp.as_ref()?;
    crate::seccomp::gather(v, problems);
    let strings = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rules = v.get("syscalls").and_then(|s| s.as_array());
    Some(Seccomp {
        default_action: v
            .get("defaultAction")
            .and_then(|a| a.as_str())
            .unwrap_or_default()
            .to_string(),
        rules: rules.map_or(0, |r| r.len()),
        syscalls: rules.map_or(0, |r| {
            r.iter()
                .filter_map(|s| s.get("names").and_then(|n| n.as_array()))
                .map(|n| n.len())
                .sum()
        }),
        architectures: strings("architectures"),
        flags: strings("flags"),
    })
}

/// Where the container's cgroup goes: the host's hierarchies and its
/// directory in each, as `make_cgroups` places it (cgroupfs) or as
/// `systemd_cgroups` plans the unit (systemd, with the unit).
fn cgroup_dirs(plan: &Plan, opts: &ExplainOptions, limits: &Limits) -> Result<Placement> {
    let hierarchies = cgroups::hierarchies()?;
    let linux = plan.spec.linux.as_ref();
    let path = linux.and_then(|l| l.cgroups_path.as_deref());
    if opts.systemd_cgroup {
        let annotations = plan.spec.annotations.as_ref();
        let (scope, dirs) = systemd::plan(&hierarchies, path, &plan.id, annotations, limits)?;
        return Ok((hierarchies, dirs, Some(scope)));
    }
    let own = cgroups::own_cgroups()?;
    let dirs = cgroups::plan_dirs(&hierarchies, &own, path, &plan.id)?;
    Ok((hierarchies, dirs, None))
}

type Placement = (Vec<Hierarchy>, Vec<CgroupDir>, Option<systemd::Scope>);

/// The cgroup create makes, and what it writes there (for systemd: the
/// unit's properties, then the files); its checks add their problems.
fn cgroup(
    plan: &Plan,
    opts: &ExplainOptions,
    (hierarchies, dirs, scope): &Placement,
    limits: Option<&Limits>,
    problems: &mut Problems,
) -> Cgroup {
    let mut writes = Vec::new();
    let mut properties = Vec::new();
    let found = problems.errors().len();
    if let Some(parsed) = limits.filter(|l| {
        resources::gather_host(l, dirs, problems);
        problems.errors().len() == found
    }) {
        let files = match scope {
            Some(s) => match problems.take(systemd::preview(s, dirs)) {
                Some(p) => {
                    let stage = |st: &'static str| {
                        move |(name, v): systemd::props::Property| UnitProperty {
                            stage: st,
                            name,
                            value: variant_text(&v),
                        }
                    };
                    properties.extend(p.start.into_iter().map(stage("start")));
                    properties.extend(p.resources.into_iter().map(stage("set")));
                    p.files
                }
                None => parsed.clone(),
            },
            None => parsed.clone(),
        };
        let (w, r) = resources::record(&files, dirs);
        problems.check(r);
        writes = w;
    }
    let v2 = hierarchies.iter().filter(|h| h.is_v2()).count();
    let version = match (hierarchies.len(), v2) {
        (0, _) => "none",
        (1, 1) => "v2",
        (_, 1) => "v1 (hybrid: a cgroup2 tree beside)",
        _ => "v1",
    };
    Cgroup {
        driver: if scope.is_some() {
            "systemd"
        } else {
            "cgroupfs"
        },
        version,
        unit: scope.as_ref().map(|s| s.unit.name.clone()),
        paths: dirs.iter().map(|d| d.path()).collect(),
        properties,
        writes,
        note: cgroup_note(plan, opts),
    }
}

/// A D-Bus value as systemctl show prints it, roughly.
fn variant_text(v: &Variant) -> String {
    match v {
        Variant::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Variant::Byte(n) => n.to_string(),
        Variant::I16(n) => n.to_string(),
        Variant::U16(n) => n.to_string(),
        Variant::I32(n) => n.to_string(),
        Variant::U32(n) => n.to_string(),
        Variant::I64(n) => n.to_string(),
        Variant::U64(u64::MAX) => "infinity".into(),
        Variant::U64(n) => n.to_string(),
        Variant::Double(n) => n.to_string(),
        Variant::Str(s) | Variant::ObjectPath(s) | Variant::Signature(s) => s.clone(),
        Variant::Array(_, items) => format!(
            "[{}]",
            items
                .iter()
                .map(variant_text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Variant::Struct(fields) => format!(
            "({})",
            fields
                .iter()
                .map(variant_text)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn cgroup_note(plan: &Plan, opts: &ExplainOptions) -> Option<String> {
    let given = plan
        .spec
        .linux
        .as_ref()
        .is_some_and(|l| l.cgroups_path.is_some());
    if opts.systemd_cgroup {
        Some("systemd makes the unit with the init in it (StartTransientUnit), sets the resources as properties, then pivot writes the files".into())
    } else if opts.rootless_cgroups && !given {
        Some("rootless: the container's cgroup is made only in the hierarchies where the caller may make it (a limit that needs another is an error); device rules are tried and their errors ignored".into())
    } else {
        None
    }
}
