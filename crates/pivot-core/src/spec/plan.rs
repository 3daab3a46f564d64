//! From a parsed config.json to a validated plan: every check that needs
//! no system call happens here, and every error names its field.

use super::mountopts::{self, MountOptions};
use super::types::{IdMapping, Mount, Process, Spec};
use crate::error::{Error, Problems, Result};
use std::path::{Path, PathBuf};

/// A namespace kind and how the kernel and procfs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NsKind {
    User,
    Mount,
    Pid,
    Net,
    Ipc,
    Uts,
    Cgroup,
    Time,
}

impl NsKind {
    pub const ALL: [NsKind; 8] = [
        NsKind::User,
        NsKind::Mount,
        NsKind::Pid,
        NsKind::Net,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The config.json name.
    pub fn spec_name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Mount => "mount",
            NsKind::Pid => "pid",
            NsKind::Net => "network",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The file under /proc/<pid>/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Mount => "mnt",
            NsKind::Pid => "pid",
            NsKind::Net => "net",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    pub fn clone_flag(self) -> u64 {
        (match self {
            NsKind::User => libc::CLONE_NEWUSER,
            NsKind::Mount => libc::CLONE_NEWNS,
            NsKind::Pid => libc::CLONE_NEWPID,
            NsKind::Net => libc::CLONE_NEWNET,
            NsKind::Ipc => libc::CLONE_NEWIPC,
            NsKind::Uts => libc::CLONE_NEWUTS,
            NsKind::Cgroup => libc::CLONE_NEWCGROUP,
            NsKind::Time => 0x80,
        }) as u64
    }

    pub fn from_spec_name(name: &str) -> Option<NsKind> {
        NsKind::ALL.into_iter().find(|k| k.spec_name() == name)
    }
}

/// Which namespaces the container gets: new ones, and existing ones to join.
#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    /// New namespaces, as a set of CLONE_NEW* flags.
    pub new: u64,
    /// Existing namespaces to join, in config order (user first; the init
    /// joins them in its own order).
    pub join: Vec<(NsKind, String)>,
    /// linux.timeOffsets as /proc/<pid>/timens_offsets takes them, for a
    /// new time namespace.
    pub time_offsets: Option<String>,
}

impl Namespaces {
    /// The path of the namespace of `kind` the container joins, if any.
    pub fn joined(&self, kind: NsKind) -> Option<&str> {
        self.join
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, p)| p.as_str())
    }
    pub fn has(&self, kind: NsKind) -> bool {
        self.new & kind.clone_flag() != 0 || self.join.iter().any(|(k, _)| *k == kind)
    }
    pub fn is_new(&self, kind: NsKind) -> bool {
        self.new & kind.clone_flag() != 0
    }

    /// Namespaces the init creates itself, after the clone: the cgroup
    /// namespace (once it sits in its cgroup, so that is its root), and
    /// with a new user namespace the IPC one (once it is root there, so
    /// the mqueue root belongs to the container's root, not the host's).
    pub fn made_by_init(&self) -> u64 {
        let mut late = NsKind::Cgroup.clone_flag();
        if self.is_new(NsKind::User) {
            late |= NsKind::Ipc.clone_flag();
        }
        self.new & late
    }

    /// Namespaces the one clone3 of the init makes: with nothing to join,
    /// every new one but those the init makes itself. A time namespace
    /// with offsets is not among them: clone3 would put the init in it at
    /// once, and the kernel takes offsets only while no task is in the
    /// namespace. The init unshares it, has the offsets written and forks;
    /// the pid namespace is made with it, so the forked process is its
    /// init.
    pub fn made_by_clone(&self) -> u64 {
        if !self.join.is_empty() {
            return 0;
        }
        let mut flags = self.new & !self.made_by_init();
        if self.time_offsets.is_some() {
            flags &= !(NsKind::Time.clone_flag() | NsKind::Pid.clone_flag());
        }
        flags
    }
}

/// A mount's type, as the root filesystem steps tell them apart: those
/// built their own way, and any other filesystem by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A bind mount (the "bind" type or a bind option, whatever the type).
    Bind,
    Proc,
    Sysfs,
    Tmpfs,
    /// runc's `cgroup` type: cgroupfs or binds of the container's cgroups.
    Cgroup,
    Devtmpfs,
    /// Any other filesystem type, handed to fsopen as named.
    Other(String),
}

impl MountKind {
    pub fn parse(kind: &str) -> Self {
        match kind {
            "bind" => MountKind::Bind,
            "proc" => MountKind::Proc,
            "sysfs" => MountKind::Sysfs,
            "tmpfs" => MountKind::Tmpfs,
            "cgroup" => MountKind::Cgroup,
            "devtmpfs" => MountKind::Devtmpfs,
            other => MountKind::Other(other.to_string()),
        }
    }

    /// The type as config.json names it (the filesystem type for fsopen).
    pub fn as_str(&self) -> &str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Proc => "proc",
            MountKind::Sysfs => "sysfs",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Cgroup => "cgroup",
            MountKind::Devtmpfs => "devtmpfs",
            MountKind::Other(s) => s,
        }
    }
}

impl std::fmt::Display for MountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One config.json mount with its options decoded.
#[derive(Debug, Clone)]
pub struct PlannedMount {
    /// Index in config.json's `mounts`, for error text.
    pub index: usize,
    /// Absolute and cleaned (`.`, `..` and repeated slashes folded).
    pub destination: String,
    /// The destination as config.json writes it, for messages.
    pub written_destination: String,
    pub kind: MountKind,
    /// For binds: an absolute host path (relative sources are taken
    /// relative to the bundle). For others: the source string as given.
    pub source: String,
    pub options: MountOptions,
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
}

impl Plan {
    /// linux.devices as given.
    pub fn spec_devices(&self) -> &[super::types::Device] {
        self.spec
            .linux
            .as_ref()
            .map(|l| &l.devices[..])
            .unwrap_or(&[])
    }
}

impl PlannedMount {
    pub fn is_bind(&self) -> bool {
        self.options.is_bind()
    }
    pub fn field(&self) -> String {
        format!("mounts[{}]", self.index)
    }
}

/// Everything `create` needs, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub readonly_root: bool,
    pub spec: Spec,
    pub process: Process,
    pub namespaces: Namespaces,
    pub mounts: Vec<PlannedMount>,
    pub rootfs_propagation: Option<u64>,
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
    /// What was taken but changed on the way, for the caller to be told
    /// (e.g. setuid bits stripped from a device's fileMode).
    pub warnings: Vec<String>,
}

/// A path with `.` and `..` folded as words, without looking at the
/// filesystem (Go's filepath.Clean, for an absolute path).
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `base/rel` cleaned, as runc's filepath.Join makes a relative bind
/// source: "." is the bundle itself (a path CRIU, for one, cannot take
/// with its "/." left in).
fn clean_join(base: &Path, rel: &str) -> String {
    clean_path(&format!("{}/{rel}", base.to_string_lossy()))
}

/// The characters runc allows in a container ID, and the length a state
/// directory name can have.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("container ID must not be empty"));
    }
    if id.len() > 250 {
        return Err(Error::invalid(format!(
            "container ID is {} bytes long; at most 250 are allowed",
            id.len()
        )));
    }
    if id == "." || id == ".." {
        return Err(Error::invalid(format!("invalid container ID {id:?}")));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        return Err(Error::invalid(format!(
            "invalid container ID {id:?}: character {c:?} is not allowed (only [A-Za-z0-9_+.-])"
        )));
    }
    Ok(())
}

fn check_version(v: &str) -> Result<()> {
    let major = v.split('.').next().unwrap_or("");
    if major != "1" {
        return Err(Error::invalid(format!(
            "ociVersion {v:?}: unsupported major version (pivot implements 1.x, spec {})",
            super::default::OCI_VERSION
        )));
    }
    Ok(())
}

fn plan_namespaces(spec: &Spec, problems: &mut Problems) -> Namespaces {
    let mut ns = Namespaces::default();
    let mut seen = Vec::new();
    let list = spec
        .linux
        .as_ref()
        .map(|l| &l.namespaces[..])
        .unwrap_or(&[]);
    for (i, n) in list.iter().enumerate() {
        let field = format!("linux.namespaces[{i}]");
        let Some(kind) = NsKind::from_spec_name(&n.kind) else {
            problems.push(Error::invalid(format!(
                "{field}.type: unknown namespace type {:?}",
                n.kind
            )));
            continue;
        };
        if seen.contains(&kind) {
            problems.push(Error::invalid(format!(
                "{field}.type: namespace {:?} is listed twice",
                n.kind
            )));
            continue;
        }
        seen.push(kind);
        match n.path.as_deref() {
            Some(p) if !p.is_empty() => {
                if !p.starts_with('/') {
                    problems.push(Error::invalid(format!(
                        "{field}.path: {p:?} is not an absolute path"
                    )));
                    continue;
                }
                ns.join.push((kind, p.to_string()));
            }
            _ => ns.new |= kind.clone_flag(),
        }
    }
    // setns into a user namespace must come before the others, whose
    // permission checks depend on it.
    ns.join.sort_by_key(|(k, _)| *k != NsKind::User);
    ns.time_offsets = problems.take(plan_time_offsets(spec, &ns)).flatten();
    ns
}

/// linux.timeOffsets, checked, as the lines /proc/<pid>/timens_offsets
/// takes. Offsets need a new time namespace: a joined one's are fixed,
/// and without one they would apply to nothing (runc refuses both).
fn plan_time_offsets(spec: &Spec, ns: &Namespaces) -> Result<Option<String>> {
    let Some(v) = spec.linux.as_ref().and_then(|l| l.other.get("timeOffsets")) else {
        return Ok(None);
    };
    let field = "linux.timeOffsets";
    let map = match v {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Object(m) => m,
        _ => return Err(Error::invalid(format!("{field}: not an object"))),
    };
    if map.is_empty() {
        return Ok(None);
    }
    if !ns.is_new(NsKind::Time) {
        let why = if ns.has(NsKind::Time) {
            "the offsets of a joined time namespace are fixed (linux.namespaces \"time\" has a path)"
        } else {
            "they need a new time namespace (linux.namespaces has no \"time\")"
        };
        return Err(Error::invalid(format!("{field}: {why}")));
    }
    let mut text = String::new();
    for (clock, offset) in map {
        if clock != "monotonic" && clock != "boottime" {
            return Err(Error::invalid(format!(
                "{field}.{clock}: unknown clock (monotonic or boottime)"
            )));
        }
        let num = |key: &str| -> Result<i64> {
            match offset.get(key) {
                None | Some(serde_json::Value::Null) => Ok(0),
                Some(n) => n.as_i64().ok_or_else(|| {
                    Error::invalid(format!("{field}.{clock}.{key}: not an integer"))
                }),
            }
        };
        let secs = num("secs")?;
        let nanos = num("nanosecs")?;
        if !(0..1_000_000_000).contains(&nanos) {
            return Err(Error::invalid(format!(
                "{field}.{clock}.nanosecs: {nanos} is not in 0..999999999"
            )));
        }
        text.push_str(&format!("{clock} {secs} {nanos}\n"));
    }
    Ok(Some(text))
}

fn plan_mount(
    bundle: &Path,
    index: usize,
    m: &Mount,
    has_userns_maps: bool,
) -> Result<PlannedMount> {
    let field = format!("mounts[{index}]");
    if !m.destination.starts_with('/') {
        return Err(Error::invalid(format!(
            "{field}.destination: {:?} is not an absolute path",
            m.destination
        )));
    }
    let mut options = mountopts::parse(&m.options);
    if (!m.uid_mappings.is_empty() || !m.gid_mappings.is_empty()) && options.idmap.is_none() {
        // Mappings alone mean idmap (not recursive), as in runc 1.2 and later.
        options.idmap = Some(false);
    }
    let written_kind = m.kind.clone().unwrap_or_default();
    // mount(2) with MS_BIND ignores the type: a bind option makes a bind
    // whatever "type" says, as with runc.
    let kind = if options.is_bind() {
        MountKind::Bind
    } else {
        MountKind::parse(&written_kind)
    };
    if kind == MountKind::Bind && !options.is_bind() {
        // A "bind" type without the option still means a bind, as in runc.
        return plan_mount(
            bundle,
            index,
            &Mount {
                options: [&m.options[..], &["bind".to_string()]].concat(),
                ..m.clone()
            },
            has_userns_maps,
        );
    }
    if written_kind.is_empty() && kind != MountKind::Bind {
        return Err(Error::invalid(format!(
            "{field}.type: missing for mount on {:?}",
            m.destination
        )));
    }
    let mut source = m.source.clone().unwrap_or_default();
    if kind == MountKind::Bind {
        if source.is_empty() {
            return Err(Error::invalid(format!(
                "{field}.source: a bind mount on {:?} needs a source",
                m.destination
            )));
        }
        if !source.starts_with('/') {
            source = clean_join(bundle, &source);
        }
    }
    if options.idmap.is_some() && m.uid_mappings.is_empty() && !has_userns_maps {
        return Err(Error::invalid(format!(
            "{field}: idmap needs uidMappings and gidMappings (on the mount, in linux or a joined user namespace)"
        )));
    }
    if options.idmap.is_some() && kind != MountKind::Bind {
        return Err(Error::invalid(format!(
            "{field}: idmap is only supported on bind mounts"
        )));
    }
    Ok(PlannedMount {
        index,
        // Cleaned once, here: every later decision ("is this /dev?",
        // "/proc?") and the mount itself use the same spelling, so
        // `/dev/.`, `//dev` or `/x/../dev` is /dev for all of them.
        destination: clean_path(&m.destination),
        written_destination: m.destination.clone(),
        kind,
        source,
        options,
        uid_mappings: m.uid_mappings.clone(),
        gid_mappings: m.gid_mappings.clone(),
    })
}

fn check_process(p: &Process, problems: &mut Problems) {
    if p.args.is_empty() && p.command_line.is_none() {
        problems.push(Error::invalid("process.args: must not be empty"));
    }
    if !p.cwd.starts_with('/') {
        problems.push(Error::invalid(format!(
            "process.cwd: {:?} is not an absolute path",
            p.cwd
        )));
    }
    for (i, e) in p.env.iter().enumerate() {
        if !e.contains('=') {
            problems.push(Error::invalid(format!(
                "process.env[{i}]: {e:?} is not of the form KEY=VALUE"
            )));
        }
    }
    process_values(p, problems)
}

/// The kernel's "no change" id: setresuid(-1) and setresgid(-1) leave the
/// ids as they are, so a process asked to run as 4294967295 would run as
/// root (runc 1.1 refuses ids above 2^31-1, runc 1.5 this one).
const NO_ID: u32 = u32::MAX;

/// A string the kernel takes as a C string: a NUL would cut it short
/// (sethostname keeps "ab" of "ab\0cd") or fail at execve, after the
/// container is made.
fn check_no_nul(field: &str, s: &str) -> Result<()> {
    match s.find('\0') {
        Some(at) => Err(Error::invalid(format!(
            "{field}: {s:?} contains a NUL byte (at {at})"
        ))),
        None => Ok(()),
    }
}

/// The values of process fields that the kernel would take wrongly
/// (also for a process `pivot exec` starts): ids and C strings.
pub fn check_process_values(p: &Process) -> Result<()> {
    let mut problems = Problems::new();
    process_values(p, &mut problems);
    problems.into_result()
}

fn process_values(p: &Process, problems: &mut Problems) {
    let u = &p.user;
    let ids = [
        ("process.user.uid".to_string(), u.uid),
        ("process.user.gid".to_string(), u.gid),
    ];
    let extra = u
        .additional_gids
        .iter()
        .enumerate()
        .map(|(i, g)| (format!("process.user.additionalGids[{i}]"), *g));
    for (field, id) in ids.into_iter().chain(extra) {
        if id == NO_ID {
            problems.push(Error::invalid(format!(
                "{field}: {id} is not a valid id (it is the kernel's \"no change\", which would leave the process root)"
            )));
        }
    }
    for (i, a) in p.args.iter().enumerate() {
        problems.check(check_no_nul(&format!("process.args[{i}]"), a));
    }
    for (i, e) in p.env.iter().enumerate() {
        problems.check(check_no_nul(&format!("process.env[{i}]"), e));
    }
    problems.check(check_no_nul("process.cwd", &p.cwd));
}

/// Device nodes get the permission bits of fileMode only. runc passes
/// setuid, setgid and sticky to mknod, where chown then happens to drop
/// setuid and keep setgid; no device needs them, and a setgid or setuid
/// node in a container is at best a surprise: pivot strips them and says
/// so, rather than refuse configs runc runs.
fn strip_device_special_bits(spec: &mut Spec) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some(linux) = spec.linux.as_mut() else {
        return warnings;
    };
    for (i, d) in linux.devices.iter_mut().enumerate() {
        let Some(mode) = d.file_mode else { continue };
        if mode & 0o7000 != 0 {
            let kept = mode & 0o777;
            warnings.push(format!(
                "linux.devices[{i}].fileMode: {mode:#o} has setuid, setgid or sticky bits, which device nodes do not get: {:?} is made with mode {kept:#o}",
                d.path
            ));
            d.file_mode = Some(mode & !0o7000);
        }
    }
    warnings
}

fn check_mappings(ns: &Namespaces, uid: &[IdMapping], gid: &[IdMapping]) -> Result<()> {
    if ns.is_new(NsKind::User) {
        if uid.is_empty() {
            return Err(Error::invalid(
                "linux.uidMappings: a new user namespace needs uid mappings",
            ));
        }
        if gid.is_empty() {
            return Err(Error::invalid(
                "linux.gidMappings: a new user namespace needs gid mappings",
            ));
        }
    } else if !ns.has(NsKind::User) && (!uid.is_empty() || !gid.is_empty()) {
        return Err(Error::invalid(
            "linux.uidMappings: mappings are given but there is no user namespace",
        ));
    }
    Ok(())
}

/// hostname and domainname: C strings, and only with a UTS namespace.
fn check_names(spec: &Spec, ns: &Namespaces, problems: &mut Problems) {
    if let Some(h) = spec.hostname.as_deref() {
        problems.check(check_no_nul("hostname", h));
    }
    if let Some(d) = spec.domainname.as_deref() {
        problems.check(check_no_nul("domainname", d));
    }
    if !ns.has(NsKind::Uts) {
        if spec.hostname.as_deref().is_some_and(|h| !h.is_empty()) {
            problems.push(Error::invalid(
                "hostname: setting it needs a new UTS namespace (linux.namespaces has no \"uts\")",
            ));
        }
        if spec.domainname.as_deref().is_some_and(|h| !h.is_empty()) {
            problems.push(Error::invalid(
                "domainname: setting it needs a new UTS namespace (linux.namespaces has no \"uts\")",
            ));
        }
    }
}

/// Without a mount namespace everything that mounts would change the
/// host's own mount table.
fn check_without_mount_ns(
    spec: &Spec,
    linux: &super::types::Linux,
    readonly_root: bool,
    problems: &mut Problems,
) {
    let why = "needs a mount namespace (linux.namespaces has no \"mount\")";
    let set = [
        ("mounts", !spec.mounts.is_empty()),
        ("linux.maskedPaths", !linux.masked_paths.is_empty()),
        ("linux.readonlyPaths", !linux.readonly_paths.is_empty()),
        ("root.readonly", readonly_root),
        (
            "linux.rootfsPropagation",
            linux
                .rootfs_propagation
                .as_deref()
                .is_some_and(|p| !p.is_empty()),
        ),
    ];
    for (field, _) in set.iter().filter(|(_, on)| *on) {
        problems.push(Error::invalid(format!("{field}: {why}")));
    }
}

fn check_devices(linux: &super::types::Linux, problems: &mut Problems) {
    for (i, d) in linux.devices.iter().enumerate() {
        if !d.path.starts_with('/') {
            problems.push(Error::invalid(format!(
                "linux.devices[{i}].path: {:?} is not an absolute path",
                d.path
            )));
        }
        if !matches!(d.kind.as_str(), "c" | "u" | "b" | "p") {
            problems.push(Error::invalid(format!(
                "linux.devices[{i}].type: unknown device type {:?} (c, u, b or p)",
                d.kind
            )));
        }
    }
}

/// Build and validate the plan for container `id` from bundle `bundle`
/// (absolute) and its parsed spec; the first problem is the error.
pub fn build_plan(id: &str, bundle: &Path, spec: Spec) -> Result<Plan> {
    let mut problems = Problems::new();
    let plan = build_plan_checked(id, bundle, spec, &mut problems);
    problems.into_result()?;
    plan.ok_or_else(|| Error::other("no plan and no problem"))
}

/// The plan with every problem of the spec added to `problems`, in the
/// order `build_plan` meets them: a field with a problem is left out of
/// the plan (a bad mount is not planned), and the plan is None only where
/// there is no process or root to plan.
pub fn build_plan_checked(
    id: &str,
    bundle: &Path,
    mut spec: Spec,
    problems: &mut Problems,
) -> Option<Plan> {
    problems.check(validate_id(id));
    problems.check(check_version(&spec.oci_version));
    let process = spec.process.clone();
    match &process {
        Some(p) => check_process(p, problems),
        None => problems.push(Error::invalid(
            "process: missing (a container needs a process)",
        )),
    }
    let root = spec.root.clone();
    match &root {
        None => problems.push(Error::invalid("root: missing")),
        Some(r) if r.path.is_empty() => {
            problems.push(Error::invalid("root.path: must not be empty"))
        }
        Some(_) => {}
    }
    let namespaces = plan_namespaces(&spec, problems);
    let linux = spec.linux.clone().unwrap_or_default();
    problems.check(check_mappings(
        &namespaces,
        &linux.uid_mappings,
        &linux.gid_mappings,
    ));
    check_names(&spec, &namespaces, problems);
    let readonly_root = root.as_ref().is_some_and(|r| r.readonly);
    if !namespaces.has(NsKind::Mount) {
        check_without_mount_ns(&spec, &linux, readonly_root, problems);
    }
    let rootfs_propagation = match linux.rootfs_propagation.as_deref() {
        None | Some("") => None,
        Some(p) => {
            let flag = mountopts::propagation_flag(p);
            if flag.is_none() {
                problems.push(Error::invalid(format!(
                    "linux.rootfsPropagation: unknown propagation {p:?}"
                )));
            }
            flag
        }
    };
    // A user namespace joined by path implies its own mapping.
    let has_userns_maps =
        !linux.uid_mappings.is_empty() || namespaces.join.iter().any(|(k, _)| *k == NsKind::User);
    let mounts = spec
        .mounts
        .iter()
        .enumerate()
        .filter_map(|(i, m)| problems.take(plan_mount(bundle, i, m, has_userns_maps)))
        .collect();
    check_devices(&linux, problems);
    let warnings = strip_device_special_bits(&mut spec);
    let (process, root) = (process?, root?);
    let rootfs = if root.path.starts_with('/') {
        PathBuf::from(&root.path)
    } else {
        bundle.join(&root.path)
    };
    Some(Plan {
        id: id.to_string(),
        bundle: bundle.to_path_buf(),
        rootfs,
        readonly_root,
        process,
        namespaces,
        mounts,
        rootfs_propagation,
        uid_mappings: linux.uid_mappings.clone(),
        gid_mappings: linux.gid_mappings.clone(),
        warnings,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::default::default_spec;

    fn plan(spec: Spec) -> Result<Plan> {
        build_plan("c1", Path::new("/b"), spec)
    }

    #[test]
    fn relative_bind_sources_are_joined_as_words() {
        let b = Path::new("/b/bundle");
        assert_eq!(clean_join(b, "."), "/b/bundle");
        assert_eq!(clean_join(b, "./tmp.X"), "/b/bundle/tmp.X");
        assert_eq!(clean_join(b, "data//x/"), "/b/bundle/data/x");
        assert_eq!(clean_join(b, "../other"), "/b/other");
        assert_eq!(clean_join(b, "../../../.."), "/");
    }

    #[test]
    fn default_spec_plans() {
        let p = plan(default_spec()).unwrap();
        assert_eq!(p.rootfs, PathBuf::from("/b/rootfs"));
        assert!(p.namespaces.is_new(NsKind::Pid));
        assert!(!p.namespaces.has(NsKind::User));
        assert_eq!(p.mounts.len(), 7);
    }

    #[test]
    fn ids() {
        for bad in ["", "../x", "a/b", ".", "..", "a b", &"x".repeat(251)] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["a", "web-1", "A_b+c.d", "0"] {
            validate_id(good).unwrap();
        }
    }

    #[test]
    fn errors_name_fields() {
        let mut s = default_spec();
        s.mounts[2].destination = "dev/pts".into();
        assert!(plan(s)
            .unwrap_err()
            .to_string()
            .starts_with("mounts[2].destination"));

        let mut s = default_spec();
        s.linux.as_mut().unwrap().namespaces[1].kind = "bogus".into();
        assert!(plan(s)
            .unwrap_err()
            .to_string()
            .starts_with("linux.namespaces[1].type"));

        let mut s = default_spec();
        s.oci_version = "2.0.0".into();
        assert!(plan(s).unwrap_err().to_string().starts_with("ociVersion"));

        let mut s = default_spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .retain(|n| n.kind != "uts");
        assert!(plan(s).unwrap_err().to_string().starts_with("hostname"));

        let mut s = default_spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .push(crate::spec::types::Namespace {
                kind: "user".into(),
                path: None,
            });
        assert!(plan(s)
            .unwrap_err()
            .to_string()
            .starts_with("linux.uidMappings"));
    }

    #[test]
    fn every_problem_is_collected_in_order() {
        let mut s = default_spec();
        s.oci_version = "2.0.0".into();
        s.process.as_mut().unwrap().cwd = "rel".into();
        s.mounts[2].destination = "dev/pts".into();
        s.mounts[4].destination = "nowhere".into();
        let l = s.linux.as_mut().unwrap();
        l.namespaces[1].kind = "bogus".into();
        l.rootfs_propagation = Some("sideways".into());
        let mut problems = Problems::new();
        let p = build_plan_checked("c1", Path::new("/b"), s, &mut problems).unwrap();
        let fields: Vec<String> = problems
            .errors()
            .iter()
            .map(|e| e.to_string().split(':').next().unwrap().to_string())
            .collect();
        assert_eq!(
            fields,
            [
                "ociVersion \"2.0.0\"",
                "process.cwd",
                "linux.namespaces[1].type",
                "linux.rootfsPropagation",
                "mounts[2].destination",
                "mounts[4].destination",
            ]
        );
        // The bad mounts are left out of the plan, the others kept.
        assert_eq!(p.mounts.len(), 5);
        // create stops at the first, with the same text.
        let mut s = default_spec();
        s.oci_version = "2.0.0".into();
        s.mounts[2].destination = "dev/pts".into();
        assert!(plan(s).unwrap_err().to_string().starts_with("ociVersion"));
    }

    #[test]
    fn no_change_ids_are_refused() {
        for (set, field) in [
            (0usize, "process.user.uid: 4294967295 is not a valid id"),
            (1, "process.user.gid: 4294967295 is not a valid id"),
            (2, "process.user.additionalGids[1]: 4294967295"),
        ] {
            let mut s = default_spec();
            let u = &mut s.process.as_mut().unwrap().user;
            match set {
                0 => u.uid = u32::MAX,
                1 => u.gid = u32::MAX,
                _ => u.additional_gids = vec![5, u32::MAX],
            }
            let e = plan(s).unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
        // The largest real id is fine.
        let mut s = default_spec();
        s.process.as_mut().unwrap().user.uid = u32::MAX - 1;
        plan(s).unwrap();
    }

    #[test]
    fn nul_bytes_are_refused() {
        type Edit = fn(&mut Spec);
        let cases: [(Edit, &str); 5] = [
            (|s| s.hostname = Some("ab\0cd".into()), "hostname: "),
            (|s| s.domainname = Some("x\0".into()), "domainname: "),
            (
                |s| s.process.as_mut().unwrap().args.push("a\0b".into()),
                "process.args[1]: ",
            ),
            (
                |s| s.process.as_mut().unwrap().env.push("K=v\0w".into()),
                "process.env[2]: ",
            ),
            (
                |s| s.process.as_mut().unwrap().cwd = "/tmp\0x".into(),
                "process.cwd: ",
            ),
        ];
        for (edit, field) in cases {
            let mut s = default_spec();
            edit(&mut s);
            let e = plan(s).unwrap_err().to_string();
            assert!(e.starts_with(field) && e.contains("NUL"), "{e}");
        }
    }

    #[test]
    fn device_special_bits_are_stripped_with_a_warning() {
        let dev = |mode| crate::spec::types::Device {
            kind: "c".into(),
            path: "/dev/x".into(),
            major: 1,
            minor: 3,
            file_mode: mode,
            uid: None,
            gid: None,
        };
        let mut s = default_spec();
        s.linux.as_mut().unwrap().devices = vec![dev(Some(0o666)), dev(Some(0o7666)), dev(None)];
        let p = plan(s).unwrap();
        let modes: Vec<_> = p.spec_devices().iter().map(|d| d.file_mode).collect();
        assert_eq!(modes, [Some(0o666), Some(0o666), None]);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(
            p.warnings[0].starts_with("linux.devices[1].fileMode: 0o7666"),
            "{:?}",
            p.warnings
        );
        assert!(plan(default_spec()).unwrap().warnings.is_empty());
    }

    #[test]
    fn no_mount_namespace_means_no_mounts() {
        let mut s = default_spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .retain(|n| n.kind != "mount");
        assert!(plan(s.clone())
            .unwrap_err()
            .to_string()
            .starts_with("mounts:"));
        s.mounts.clear();
        assert!(plan(s.clone())
            .unwrap_err()
            .to_string()
            .starts_with("linux.maskedPaths:"));
        let l = s.linux.as_mut().unwrap();
        l.masked_paths.clear();
        l.readonly_paths.clear();
        assert!(plan(s.clone())
            .unwrap_err()
            .to_string()
            .starts_with("root.readonly:"));
        s.root.as_mut().unwrap().readonly = false;
        plan(s).unwrap();
    }

    #[test]
    fn destinations_are_cleaned() {
        for dest in [
            "/dev/.",
            "//dev",
            "/x/../dev",
            "/dev/",
            "/../dev",
            "/dev//./",
        ] {
            let mut s = default_spec();
            s.mounts.retain(|m| !m.destination.starts_with("/dev"));
            s.mounts.push(Mount {
                destination: dest.into(),
                source: Some("/dev".into()),
                options: vec!["rbind".into()],
                ..Default::default()
            });
            let p = plan(s).unwrap();
            assert_eq!(p.mounts.last().unwrap().destination, "/dev", "{dest:?}");
        }
    }

    #[test]
    fn bind_source_is_relative_to_bundle() {
        let mut s = default_spec();
        s.mounts.push(Mount {
            destination: "/data".into(),
            source: Some("vol".into()),
            options: vec!["rbind".into(), "ro".into()],
            ..Default::default()
        });
        let p = plan(s).unwrap();
        let m = p.mounts.last().unwrap();
        assert_eq!(m.kind, MountKind::Bind);
        assert_eq!(m.source, "/b/vol");
    }
}
