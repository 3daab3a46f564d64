//! `create`: load and check the bundle, make the state directory and the
//! cgroups, spawn the init and record the container.

use super::{absolute, Runtime};
use crate::cgroups::{self, CgroupDir};
use crate::debug;
use crate::error::{Context, Error, ErrorKind, Problems, Result};
use crate::hooks;
use crate::process::{self, caps, rlimits, Init, InitOptions};
use crate::spec::{self, NsKind, Plan};
use crate::state::{self, Saved, StateDir};
use crate::sys;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where the caller set NOTIFY_SOCKET: the bind of the socket's
/// directory (after config.json's mounts) and the variable the container
/// gets.
pub(crate) fn add_notify_socket(plan: &mut Plan, state_dir: &Path) {
    if process::notify::host_socket().is_none() {
        return;
    }
    let m = process::notify::container_mount(state_dir);
    plan.mounts.push(spec::PlannedMount {
        index: plan.mounts.len(),
        destination: m.destination.clone(),
        written_destination: m.destination.clone(),
        kind: spec::MountKind::Bind,
        source: m.source.clone().unwrap_or_default(),
        options: spec::mountopts::parse(&m.options),
        uid_mappings: Vec::new(),
        gid_mappings: Vec::new(),
    });
    plan.process
        .env
        .push(format!("NOTIFY_SOCKET={}", process::notify::IN_CONTAINER));
}

impl Runtime {
    /// Guard against CVE-2019-5736 (selfexe.rs): where something that may
    /// ptrace pivot's processes can see the init before `start` (a shared
    /// pid namespace, or the container's own startContainer hooks and
    /// `exec`s when it may ptrace), run from the read-only view of the
    /// binary. A container that may ptrace, joining a pid namespace, must
    /// not meet an unsealed pivot init there, and the containers in that
    /// namespace learn that their `exec`s are exposed.
    fn guard_binary(&self, plan: &Plan) -> Result<()> {
        // Rootless, the created init is dumpable: the container's root
        // may open its /proc/<pid>/exe.
        if crate::selfexe::created_init_dumpable(&plan.namespaces)
            && crate::selfexe::writable_beyond_root()?
        {
            crate::selfexe::run_read_only(&self.root)?;
        }
        if !pid_ns_exposed(plan) {
            return Ok(());
        }
        crate::selfexe::run_read_only(&self.root)?;
        let Some(path) = plan.namespaces.joined(NsKind::Pid) else {
            return Ok(());
        };
        if !crate::selfexe::may_ptrace(&plan.process, plan.namespaces.has(NsKind::User)) {
            return Ok(());
        }
        let target = sys::fstatat(sys::cwd(), path, 0)
            .with_ctx(|| format!("linux.namespaces: pid namespace {path:?}"))?;
        // Whoever made it (this root, another, another runtime): its init.
        if let Some(init) = crate::selfexe::pid_ns_init(target.st_dev, target.st_ino) {
            if crate::selfexe::runs_pivot(init) {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    format!(
                        "linux.namespaces: the init of pid namespace {path:?} (pid {init}) belongs to a container created but not started: it is still pivot's own process, which a container that may ptrace (CAP_SYS_PTRACE without a user namespace) could take over; start that container first"
                    ),
                ));
            }
        }
        for (saved, _) in self.list()? {
            let Some(ns) = saved.namespaces.get("pid") else {
                continue;
            };
            let Ok(st) = sys::fstatat(sys::cwd(), ns, 0) else {
                continue;
            };
            if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino) {
                continue;
            }
            if !saved.pid_ns_exposed {
                // An exec that read the state before this record may still
                // be pivot's own image in that pid namespace: wait for every
                // such exec (each holds the gate shared until its process
                // has exec'd), and hold new ones back until it is written.
                let gate = StateDir::new(&self.root, &saved.id).exec_gate();
                if let Some(g) = &gate {
                    g.make_exclusive()?;
                }
                if let Ok((sd, _lock, mut s)) = StateDir::open_locked(&self.root, &saved.id) {
                    s.pid_ns_exposed = true;
                    sd.save(&s)?;
                }
                drop(gate);
            }
        }
        Ok(())
    }

    /// Create a container: on success its init waits for `start`; on
    /// failure nothing is left (no state dir, cgroup, mount or process).
    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<Init> {
        self.create_with(id, opts, false).map(|(init, _)| init)
    }

    /// With `own_console` (`run` in the foreground) a terminal without
    /// --console-socket gets a socket pair: the init sends the pty master
    /// to the end returned here.
    pub(super) fn create_with(
        &self,
        id: &str,
        opts: &CreateOptions,
        own_console: bool,
    ) -> Result<(Init, Option<OwnedFd>)> {
        debug::step("create", || self.create_steps(id, opts, own_console))
    }

    /// create_with's steps, each timed with --debug (debug.rs).
    fn create_steps(
        &self,
        id: &str,
        opts: &CreateOptions,
        own_console: bool,
    ) -> Result<(Init, Option<OwnedFd>)> {
        let listen = listen_fds();
        check_preserved_fds(opts.preserve_fds.saturating_add(listen))?;
        let mut plan = debug::step("create/parse", || load_plan(id, opts))?;
        debug::step("create/guard binary", || self.guard_binary(&plan))?;
        let mut opts = opts.clone();
        if listen > 0 {
            plan.process.env.push(format!("LISTEN_FDS={listen}"));
            plan.process.env.push("LISTEN_PID=1".into());
            opts.preserve_fds += listen;
        }
        let opts = &opts;
        add_notify_socket(&mut plan, &StateDir::new(&self.root, id).dir);
        for w in &plan.warnings {
            (self.warn)(w);
        }
        self.warn_capabilities(&plan.process);
        let (console, ours) = match &opts.console_socket {
            Some(path) => (
                Some(sys::unix_connect(&path.to_string_lossy()).ctx("--console-socket")?),
                None,
            ),
            None if plan.process.terminal && own_console => {
                let (ours, theirs) = sys::tty::stream_pair()?;
                (Some(theirs), Some(ours))
            }
            None if plan.process.terminal => {
                return Err(Error::invalid(
                    "process.terminal: cannot allocate a terminal without --console-socket (set \"terminal\": false to pass stdio through)",
                ))
            }
            None => (None, None),
        };
        if StateDir::new(&self.root, id).dir.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("container with id {id:?} already exists"),
            ));
        }
        let (sd, _lock) = debug::step("create/state dir", || StateDir::reserve(&self.root, id))?;
        let mut dirs = Vec::new();
        let mut unit = None;
        match self.create_in(&sd, &plan, opts, &mut dirs, &mut unit, console) {
            Ok(init) => Ok((init, ours)),
            Err(e) => {
                if let Some(u) = &unit {
                    let _ = cgroups::systemd::stop(u);
                }
                let _ = cgroups::remove(&dirs);
                let _ = sd.destroy();
                Err(e)
            }
        }
    }

    fn create_in(
        &self,
        sd: &StateDir,
        plan: &Plan,
        opts: &CreateOptions,
        dirs: &mut Vec<CgroupDir>,
        unit: &mut Option<cgroups::systemd::Unit>,
        console: Option<OwnedFd>,
    ) -> Result<Init> {
        let fifo = debug::step("create/exec fifo", || -> Result<OwnedFd> {
            let dirfd = sys::openat(
                sys::cwd(),
                &sd.dir.to_string_lossy(),
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )?;
            sys::mkfifoat(dirfd.as_fd(), state::FIFO, 0o622)?;
            if process::notify::host_socket().is_some() {
                sys::mkdirat(dirfd.as_fd(), process::notify::DIR, 0o755)?;
            }
            let fifo = sys::openat(dirfd.as_fd(), state::FIFO, libc::O_PATH, 0)?;
            // Writable by the init whatever user it has become (past umask).
            sys::fchmod(fifo.as_fd(), 0o622)?;
            Ok(fifo)
        })?;
        let (hierarchies, scope) = debug::step("create/cgroups", || -> Result<_> {
            if self.systemd_cgroup {
                let (h, scope) = self.systemd_cgroups(plan, dirs)?;
                *unit = Some(scope.unit.clone());
                Ok((h, Some(scope)))
            } else {
                Ok((self.make_cgroups(plan, dirs)?, None))
            }
        })?;
        let idmaps = idmap_namespaces(plan)?;
        // linux.seccomp checked now (its errors before the init exists);
        // a program not in the cache compiles while the init sets up
        // (process::spawn).
        let (seccomp, compile) = match plan.spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
            Some(v) => match debug::step("create/seccomp", || {
                crate::seccomp::prepare(v, Some(&self.root))
            })? {
                crate::seccomp::Prepared::Ready(f) => (Some(f), None),
                crate::seccomp::Prepared::Pending(p) => (None, Some(p)),
            },
            None => (None, None),
        };
        let init_opts = InitOptions {
            no_pivot: opts.no_pivot,
            no_new_keyring: opts.no_new_keyring,
            preserve_fds: opts.preserve_fds,
            fifo,
            hierarchies,
            cgroups: dirs.clone(),
            idmaps,
            seccomp,
            seccomp_from_parent: compile.is_some(),
            console,
            systemd: scope,
            dumpable_when_created: crate::selfexe::created_init_dumpable(&plan.namespaces),
        };
        let init = process::spawn(plan, &init_opts, dirs, compile)?;
        let (saved, r) = debug::step("create/save state", || {
            let mut saved = saved_state(plan, init.pid, dirs);
            saved.systemd = unit.clone();
            saved.notify_socket = process::notify::host_socket().is_some();
            let r = intel_rdt_group(plan, init.pid)
                .map(|g| saved.intel_rdt = g)
                .and_then(|_| sd.save(&saved))
                .and_then(|_| match &opts.pid_file {
                    Some(p) => write_pid_file(p, init.pid),
                    None => Ok(()),
                })
                .and_then(|_| match &opts.pidfd_socket {
                    Some(p) => send_pidfd(p, init.pidfd.as_fd()),
                    None => Ok(()),
                });
            (saved, r)
        });
        if let Err(e) = r {
            init.abort();
            if let Some(g) = &saved.intel_rdt {
                let _ = crate::intelrdt::remove(g);
            }
            return Err(e);
        }
        Ok(init)
    }

    /// The systemd driver's unit and cgroup dirs for the container, checked
    /// (cgroupsPath, annotations, resources) but not made yet: systemd
    /// makes them with the init in them (cgroups::systemd::place).
    fn systemd_cgroups(
        &self,
        plan: &Plan,
        dirs: &mut Vec<CgroupDir>,
    ) -> Result<(Vec<cgroups::Hierarchy>, cgroups::systemd::Scope)> {
        let hierarchies = cgroups::hierarchies()?;
        let linux = plan.spec.linux.as_ref();
        let limits = cgroups::resources::Limits::parse(linux.and_then(|l| l.resources.as_ref()))?;
        let (scope, planned) = cgroups::systemd::plan(
            &hierarchies,
            linux.and_then(|l| l.cgroups_path.as_deref()),
            &plan.id,
            plan.spec.annotations.as_ref(),
            &limits,
        )?;
        cgroups::resources::check_host(&limits, &planned)?;
        // The unit's cgroup made, and frozen, by someone else: systemd
        // would put the init there, where it (and pivot, waiting for it)
        // would hang; refuse it, as runc does.
        if cgroups::is_frozen(&planned) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "linux.cgroupsPath: container's cgroup unexpectedly frozen (thaw it first)",
            ));
        }
        // The unit's cgroup already holds processes: another container's
        // unit of that name (systemd would refuse to start it again, and
        // the failed create would stop that unit). Refused before anything
        // is made, as runc 1.2 and later do.
        let others = cgroups::preexisting_pids(&planned)?.len();
        if others > 0 {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("linux.cgroupsPath: container's cgroup is not empty: {others} process(es) found"),
            ));
        }
        *dirs = planned;
        Ok((hierarchies, scope))
    }

    /// The container's cgroups, made (recorded in `dirs` as they are, for
    /// cleanup) and limited as config.json says.
    pub(crate) fn make_cgroups(
        &self,
        plan: &Plan,
        dirs: &mut Vec<CgroupDir>,
    ) -> Result<Vec<cgroups::Hierarchy>> {
        let hierarchies = cgroups::hierarchies()?;
        let own = cgroups::own_cgroups()?;
        let cgroups_path = plan
            .spec
            .linux
            .as_ref()
            .and_then(|l| l.cgroups_path.as_deref());
        *dirs = cgroups::plan_dirs(&hierarchies, &own, cgroups_path, &plan.id)?;
        let limits = cgroups::resources::Limits::parse(
            plan.spec.linux.as_ref().and_then(|l| l.resources.as_ref()),
        )?;
        cgroups::resources::check_host(&limits, dirs)?;
        let rootless = self.rootless_cgroups && cgroups_path.is_none();
        if rootless {
            self.make_rootless_cgroups(plan, &limits, dirs)?;
        } else if self.rootless_cgroups {
            // A cgroupsPath the caller may not make is an error, in
            // runc's words.
            cgroups::create(dirs).map_err(|e| {
                let frame = if cgroups::is_permission_error(&e) {
                    "linux.cgroupsPath: unable to apply cgroup configuration (rootless, permission denied)"
                } else {
                    "linux.cgroupsPath"
                };
                e.context(frame)
            })?;
        } else {
            cgroups::create(dirs).ctx("linux.cgroupsPath")?;
        }
        // A cgroup made frozen by someone else would hold the init (and
        // pivot, waiting for it) forever: refuse it, as runc does.
        if cgroups::is_frozen(dirs) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "linux.cgroupsPath: container's cgroup unexpectedly frozen (thaw it first)",
            ));
        }
        // As runc 1.2 and later: a cgroup that already holds processes is
        // someone else's (another container, a pod's own), and its limits,
        // freezer and `delete` would act on them too.
        let others = cgroups::preexisting_pids(dirs)?.len();
        if others > 0 {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("linux.cgroupsPath: container's cgroup is not empty: {others} process(es) found"),
            ));
        }
        if rootless {
            // As runc's rootless manager: device rules are not expected
            // to work without root, their errors are ignored.
            let no_devices = cgroups::resources::Apply {
                devices: false,
                ..cgroups::resources::Apply::CREATE
            };
            cgroups::resources::apply(&limits, dirs, no_devices)?;
            let devices = cgroups::resources::Limits {
                devices: limits.devices.clone(),
                ..Default::default()
            };
            let _ = cgroups::resources::apply(&devices, dirs, cgroups::resources::Apply::CREATE);
        } else {
            cgroups::resources::apply(&limits, dirs, cgroups::resources::Apply::CREATE)?;
        }
        Ok(hierarchies)
    }

    /// The rootless cgroups: each hierarchy where the caller may not make
    /// the container's cgroup is done without, unless a limit needs it.
    fn make_rootless_cgroups(
        &self,
        plan: &Plan,
        limits: &cgroups::resources::Limits,
        dirs: &mut Vec<CgroupDir>,
    ) -> Result<()> {
        let v2_only = !dirs.is_empty() && dirs.iter().all(|d| d.hierarchy.is_v2());
        let dropped = cgroups::create_rootless(dirs).ctx("linux.cgroupsPath")?;
        cgroups::resources::check_rootless(limits, &dropped, v2_only)?;
        if !dropped.is_empty() {
            crate::debug::log(|| {
                format!(
                    "rootless: no cgroup in {} hierarchies (no permission)",
                    dropped.len()
                )
            });
            if !plan.namespaces.is_new(NsKind::Pid) {
                (self.warn)(
                    "Creating a rootless container with no cgroup and no private pid namespace. \
                     Such configuration is strongly discouraged (as it is impossible to properly \
                     kill all container's processes).",
                );
            }
        }
        Ok(())
    }

    /// Capabilities left out or that cannot be raised: warnings, as runc
    /// gives them, not errors.
    pub(super) fn warn_capabilities(&self, p: &spec::types::Process) {
        for w in caps::warnings(p.capabilities.as_ref(), caps::last_cap()) {
            (self.warn)(&w);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Where to send a pidfd of the init (runc 1.3's --pidfd-socket).
    pub pidfd_socket: Option<PathBuf>,
}

/// What an unprivileged caller cannot have, refused before anything is
/// made: id mappings it does not own, supplementary groups (as runc).
fn check_rootless(plan: &Plan) -> Result<()> {
    if sys::geteuid() == 0 {
        return Ok(());
    }
    if plan.namespaces.is_new(NsKind::User) {
        crate::rootless::check_mappings(&plan.uid_mappings, &plan.gid_mappings)?;
    }
    if !plan.process.user.additional_gids.is_empty() {
        return Err(Error::invalid(
            "process.user.additionalGids: cannot set any additional groups in a rootless container",
        ));
    }
    Ok(())
}

/// Load and check everything that can be checked before touching the
/// system, so that bad input leaves nothing behind.
pub fn load_plan(id: &str, opts: &CreateOptions) -> Result<Plan> {
    spec::validate_id(id)?;
    let mut problems = Problems::new();
    let plan = check_plan(id, opts, &mut problems)?;
    problems.into_result()?;
    plan.ok_or_else(|| Error::other("no plan and no problem"))
}

/// The same checks with every problem added to `problems` (what `explain`
/// reports); an error only where the bundle cannot be read at all.
pub fn check_plan(id: &str, opts: &CreateOptions, problems: &mut Problems) -> Result<Option<Plan>> {
    let bundle = absolute(&opts.bundle)?;
    if !bundle.is_dir() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "bundle {:?}: no such directory",
                bundle.display().to_string()
            ),
        ));
    }
    let (spec, folded) = spec::load_spec_noting(&bundle)?;
    let Some(mut plan) = spec::plan::build_plan_checked(id, &bundle, spec, problems) else {
        return Ok(None);
    };
    plan.warnings.splice(0..0, folded);
    rlimits::check(&plan.process.rlimits, problems);
    if let Some(sysctl) = plan.spec.linux.as_ref().and_then(|l| l.sysctl.as_ref()) {
        process::sysctl::check(sysctl, &plan.namespaces, problems);
    }
    if let Some(h) = plan.spec.hooks.as_ref() {
        hooks::check(h, problems);
    }
    process::attrs::check(&plan, problems);
    problems.check(check_rootless(&plan));
    if opts.console_socket.is_some() && !plan.process.terminal {
        problems.push(Error::invalid(
            "--console-socket: the process has no terminal (process.terminal is false)",
        ));
    }
    if !plan.rootfs.is_dir() {
        problems.push(Error::new(
            ErrorKind::NotFound,
            format!(
                "root.path: rootfs {:?} does not exist or is not a directory",
                plan.rootfs.display().to_string()
            ),
        ));
    }
    Ok(Some(plan))
}

/// One user namespace per idmapped mount, with the mount's mappings or,
/// where it has none, the container's: those in linux, else the user
/// namespace joined by path itself (the mapping it implies, as runc 1.5).
fn idmap_namespaces(plan: &Plan) -> Result<Vec<(usize, std::os::fd::OwnedFd)>> {
    let mut out = Vec::new();
    let joined = plan
        .namespaces
        .join
        .iter()
        .find(|(k, _)| *k == NsKind::User);
    for m in plan.mounts.iter().filter(|m| m.options.idmap.is_some()) {
        if let (true, true, Some((_, path))) = (
            m.uid_mappings.is_empty(),
            plan.uid_mappings.is_empty(),
            joined,
        ) {
            let fd = sys::openat(sys::cwd(), path, libc::O_RDONLY, 0)
                .with_ctx(|| format!("{}: joined user namespace", m.field()))?;
            out.push((m.index, fd));
            continue;
        }
        let uid = if m.uid_mappings.is_empty() {
            &plan.uid_mappings
        } else {
            &m.uid_mappings
        };
        let gid = if m.gid_mappings.is_empty() {
            &plan.gid_mappings
        } else {
            &m.gid_mappings
        };
        let fd = process::idmap::userns_fd(uid, gid).with_ctx(|| m.field())?;
        out.push((m.index, fd));
    }
    Ok(out)
}

/// linux.intelRdt (checked before create): the init's resctrl group.
pub(crate) fn intel_rdt_group(plan: &Plan, pid: i32) -> Result<Option<crate::intelrdt::Group>> {
    let v = plan
        .spec
        .linux
        .as_ref()
        .and_then(|l| l.other.get("intelRdt"));
    let Some(rdt) = crate::intelrdt::parse(v)? else {
        return Ok(None);
    };
    let root = crate::intelrdt::resctrl_root().ok_or_else(|| {
        Error::unsupported("linux.intelRdt: resctrl is no longer mounted at /sys/fs/resctrl")
    })?;
    crate::intelrdt::setup(&rdt, &root, &plan.id, pid).map(Some)
}

pub(crate) fn saved_state(plan: &Plan, pid: i32, dirs: &[CgroupDir]) -> Saved {
    let namespaces: BTreeMap<String, String> = NsKind::ALL
        .iter()
        .filter(|k| plan.namespaces.has(**k))
        .map(|k| {
            (
                k.spec_name().to_string(),
                format!("/proc/{pid}/ns/{}", k.proc_name()),
            )
        })
        .collect();
    Saved {
        id: plan.id.clone(),
        pid,
        pid_start: state::proc_stat(pid).map(|s| s.0).unwrap_or(0),
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: crate::time::now_rfc3339(true),
        owner: String::new(),
        annotations: plan.spec.annotations.clone().unwrap_or_default(),
        cgroups: dirs.to_vec(),
        namespaces,
        config: plan.spec.clone(),
        notify_socket: false,
        pid_ns_exposed: pid_ns_exposed(plan),
        intel_rdt: None,
        systemd: None,
    }
}

/// Whether a process that may ptrace pivot's can be in the container's pid
/// namespace from the start: it joins one, uses the host's, or its own
/// processes may ptrace (selfexe.rs).
fn pid_ns_exposed(plan: &Plan) -> bool {
    let own_user_ns = plan.namespaces.has(NsKind::User);
    plan.namespaces.joined(NsKind::Pid).is_some()
        || !plan.namespaces.has(NsKind::Pid)
        || crate::selfexe::may_ptrace(&plan.process, own_user_ns)
}

/// Send a pidfd over a unix socket (SCM_RIGHTS), as runc's --pidfd-socket.
pub(super) fn send_pidfd(path: &Path, pidfd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    let sock = sys::unix_connect(&path.to_string_lossy()).ctx("--pidfd-socket")?;
    sys::send_msg(sock.as_fd(), b"pidfd", Some(pidfd)).ctx("--pidfd-socket")
}

/// Socket activation: fds the caller got from systemd (LISTEN_FDS, with
/// LISTEN_PID naming pivot) go on to the container as fds 3.., with
/// LISTEN_FDS=N and LISTEN_PID=1 in its environment, as runc does.
fn listen_fds() -> u32 {
    let n: u32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .is_some_and(|p| p == sys::getpid());
    if for_us {
        n
    } else {
        0
    }
}

/// The fds `--preserve-fds` (and socket activation) hand on, 3..3+N-1,
/// must all be open in the caller: pivot's own fds (the state lock and
/// directory, exec.fifo, procfs) would otherwise take the free numbers,
/// and the container would keep them, the lock with them, on which every
/// later command on the container then waits. runc refuses them as well
/// ("unable to stat preserved-fd"). Checked before pivot opens anything.
pub(super) fn check_preserved_fds(n: u32) -> Result<()> {
    for fd in 3..3 + u64::from(n) {
        let fd = i32::try_from(fd)
            .map_err(|_| Error::invalid(format!("--preserve-fds {n}: too many")))?;
        sys::fd_flags(fd).with_ctx(|| format!("--preserve-fds {n}: fd {fd} is not open"))?;
    }
    Ok(())
}

pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = absolute(path)?;
    state::write_atomic(&path, pid.to_string().as_bytes(), 0o644).ctx("--pid-file")
}
