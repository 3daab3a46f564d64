//! The container operations behind the CLI: create, start, state, kill,
//! delete, list and run.

use crate::cgroups::{self, CgroupDir};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::hooks;
use crate::process::{self, caps, rlimits, Init, InitOptions};
use crate::spec::{self, NsKind, Plan};
use crate::state::{self, Saved, StateDir, Status};
use crate::sys;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where container state lives (`--root`), and where warnings go (failed
/// poststart and poststop hooks do not fail the command).
pub struct Runtime {
    pub root: PathBuf,
    pub warn: fn(&str),
}

/// `exec`'s flags, as runc names them.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// -p: a process.json replacing everything below but the flags that
    /// only steer pivot.
    pub process_json: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    /// -u UID[:GID]
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub preserve_fds: u32,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub ignore_paused: bool,
    pub cgroup: Vec<String>,
    pub pidfd_socket: Option<PathBuf>,
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

pub(crate) fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(format!("absolute path of {}", p.display()), e))
}

/// Load and check everything that can be checked before touching the
/// system, so that bad input leaves nothing behind.
pub fn load_plan(id: &str, opts: &CreateOptions) -> Result<Plan> {
    spec::validate_id(id)?;
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
    let mut plan = spec::build_plan(id, &bundle, spec)?;
    plan.warnings.splice(0..0, folded);
    rlimits::validate(&plan.process.rlimits)?;
    if let Some(sysctl) = plan.spec.linux.as_ref().and_then(|l| l.sysctl.as_ref()) {
        process::sysctl::validate(sysctl, &plan.namespaces)?;
    }
    if let Some(h) = plan.spec.hooks.as_ref() {
        hooks::validate(h)?;
    }
    process::attrs::validate(&plan)?;
    if opts.console_socket.is_some() && !plan.process.terminal {
        return Err(Error::invalid(
            "--console-socket: the process has no terminal (process.terminal is false)",
        ));
    }
    if !plan.rootfs.is_dir() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "root.path: rootfs {:?} does not exist or is not a directory",
                plan.rootfs.display().to_string()
            ),
        ));
    }
    Ok(plan)
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime {
            root: root.into(),
            warn: |_| {},
        }
    }

    pub fn with_warn(mut self, warn: fn(&str)) -> Self {
        self.warn = warn;
        self
    }

    /// Create a container: on success its init waits for `start`; on
    /// failure nothing is left (no state dir, cgroup, mount or process).
    /// CVE-2019-5736 (selfexe.rs): where something that may ptrace pivot's
    /// processes can see the init before `start` (a shared pid namespace,
    /// or the container's own startContainer hooks and `exec`s when it may
    /// ptrace), run from the read-only view of the binary. A container
    /// that may ptrace, joining a pid namespace, must not meet an unsealed
    /// pivot init there, and the containers in that namespace learn that
    /// their `exec`s are exposed.
    fn guard_binary(&self, plan: &Plan) -> Result<()> {
        if !pid_ns_exposed(plan) {
            return Ok(());
        }
        crate::selfexe::run_read_only(&self.root)?;
        let Some(path) = joined_pid_ns(plan) else {
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

    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<Init> {
        self.create_with(id, opts, false).map(|(init, _)| init)
    }

    /// With `own_console` (`run` in the foreground) a terminal without
    /// --console-socket gets a socket pair: the init sends the pty master
    /// to the end returned here.
    fn create_with(
        &self,
        id: &str,
        opts: &CreateOptions,
        own_console: bool,
    ) -> Result<(Init, Option<OwnedFd>)> {
        let listen = listen_fds();
        check_preserved_fds(opts.preserve_fds.saturating_add(listen))?;
        let mut plan = load_plan(id, opts)?;
        self.guard_binary(&plan)?;
        let mut opts = opts.clone();
        if listen > 0 {
            plan.process.env.push(format!("LISTEN_FDS={listen}"));
            plan.process.env.push("LISTEN_PID=1".into());
            opts.preserve_fds += listen;
        }
        let opts = &opts;
        let notify = process::notify::host_socket().is_some();
        if notify {
            let state_dir = StateDir::new(&self.root, id).dir;
            let m = process::notify::container_mount(&state_dir);
            plan.mounts.push(spec::PlannedMount {
                index: plan.mounts.len(),
                destination: m.destination.clone(),
                written_destination: m.destination.clone(),
                kind: "bind".into(),
                source: m.source.clone().unwrap_or_default(),
                options: spec::mountopts::parse(&m.options),
                uid_mappings: Vec::new(),
                gid_mappings: Vec::new(),
            });
            plan.process
                .env
                .push(format!("NOTIFY_SOCKET={}", process::notify::IN_CONTAINER));
        }
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
        let (sd, _lock) = StateDir::reserve(&self.root, id)?;
        let mut dirs = Vec::new();
        match self.create_in(&sd, &plan, opts, &mut dirs, console) {
            Ok(init) => Ok((init, ours)),
            Err(e) => {
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
        console: Option<OwnedFd>,
    ) -> Result<Init> {
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
        let hierarchies = self.make_cgroups(plan, dirs)?;
        let idmaps = idmap_namespaces(plan)?;
        let seccomp = match plan.spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
            Some(v) => Some(crate::seccomp::compile(v)?),
            None => None,
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
            console,
        };
        let init = process::spawn(plan, &init_opts, dirs)?;
        let mut saved = saved_state(plan, init.pid, dirs);
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
        if let Err(e) = r {
            init.abort();
            if let Some(g) = &saved.intel_rdt {
                let _ = crate::intelrdt::remove(g);
            }
            return Err(e);
        }
        Ok(init)
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
        cgroups::create(dirs).ctx("linux.cgroupsPath")?;
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
        cgroups::resources::apply(&limits, dirs, cgroups::resources::Apply::CREATE)?;
        Ok(hierarchies)
    }

    /// Capabilities left out or that cannot be raised: warnings, as runc
    /// gives them, not errors.
    fn warn_capabilities(&self, p: &spec::types::Process) {
        for w in caps::warnings(p.capabilities.as_ref(), caps::last_cap()) {
            (self.warn)(&w);
        }
    }

    pub fn start(&self, id: &str) -> Result<()> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        match state::status(&sd, &saved) {
            Status::Created => {}
            Status::Stopped => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "cannot start a container that has stopped",
                ))
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "cannot start an already running container",
                ))
            }
        }
        // With sd_notify passthrough, start returns once the container
        // said READY=1 (and passed it on), as runc's does.
        let notify = match (saved.notify_socket, process::notify::host_socket()) {
            (true, Some(host)) => Some((process::notify::listen(&sd.dir)?, host)),
            _ => None,
        };
        crate::debug::log(|| format!("start: releasing the init (pid {})", saved.pid));
        release_init(&sd, &saved)?;
        if let Some((sock, host)) = notify {
            process::notify::forward_ready(&sock, &host, saved.pid, || state::init_alive(&saved))?;
        }
        if let Some(h) = saved.config.hooks.as_ref() {
            let state = saved_hook_state(&saved, "running");
            hooks::run_all_warn("poststart", &h.poststart, &state, self.warn);
        }
        Ok(())
    }

    /// The runtime-spec state JSON.
    pub fn state(&self, id: &str) -> Result<serde_json::Value> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        let status = state::status(&sd, &saved);
        Ok(state::oci_state(&saved, status))
    }

    pub fn kill(&self, id: &str, sig: i32, all: bool) -> Result<()> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        // As runc 1.2 and later: without a pid namespace of its own, the
        // init's death takes nothing else with it, so SIGKILL goes to every
        // process of the container's cgroup, also once the init has exited.
        if sig == libc::SIGKILL && !private_pid_ns(&saved) {
            return kill_cgroup(&saved);
        }
        if state::status(&sd, &saved) == Status::Stopped {
            if !all {
                return Err(Error::new(ErrorKind::InvalidState, "container not running"));
            }
            // As runc: `kill --all` of a stopped container signals what is
            // left in its cgroups (often nothing) and succeeds.
            for pid in cgroups::pids(&saved.cgroups).unwrap_or_default() {
                match sys::kill(pid, sig) {
                    Err(e) if e.errno() != Some(libc::ESRCH) => return Err(e),
                    _ => {}
                }
            }
            return Ok(());
        }
        if all {
            if !(sig == libc::SIGKILL && cgroups::kill_all(&saved.cgroups)?) {
                signal_all(&saved, sig)?;
            }
        } else {
            signal_init(&saved, sig)?;
        }
        // As runc: a frozen process does not die of SIGKILL until its cgroup
        // is thawed (v1 freezer), so SIGKILL also thaws a paused container.
        if sig == libc::SIGKILL && cgroups::is_frozen(&saved.cgroups) {
            cgroups::freezer::set(&saved.cgroups, false).ctx("thaw after SIGKILL")?;
        }
        Ok(())
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        spec::validate_id(id)?;
        let sd = StateDir::new(&self.root, id);
        if sd.dir.is_dir() && !sd.exists() {
            // A directory without state: a create that was aborted, or one
            // still running, which holds the lock until it has written the
            // state (or removed the directory). Only under the lock, and
            // only if there is still no state, is it an aborted one.
            if let Ok(lock) = sd.lock() {
                if lock.is_current(&sd) && !sd.exists() {
                    let _ = sd.destroy();
                }
            }
        }
        let (sd, _lock, saved) = match StateDir::open_locked(&self.root, id) {
            Err(e) if force && e.kind() == ErrorKind::NotFound => return Ok(()),
            r => r?,
        };
        let status = state::status(&sd, &saved);
        match status {
            Status::Stopped | Status::Created => {}
            _ if force => {}
            s => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    format!(
                        "cannot delete container {id:?} that is not stopped: {}",
                        s.as_str()
                    ),
                ))
            }
        }
        destroy(&sd, &saved)?;
        if let Some(h) = saved.config.hooks.as_ref() {
            let state = saved_hook_state(&saved, "stopped");
            hooks::run_all_warn("poststop", &h.poststop, &state, self.warn);
        }
        Ok(())
    }

    /// Every container under the root, with its status.
    pub fn list(&self) -> Result<Vec<(Saved, Status)>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("read {}", self.root.display()), e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if spec::validate_id(&name).is_err() {
                continue;
            }
            let sd = StateDir::new(&self.root, &name);
            if let Ok(saved) = sd.load() {
                let st = state::status(&sd, &saved);
                out.push((saved, st));
            }
        }
        out.sort_by(|a, b| a.0.created.cmp(&b.0.created).then(a.0.id.cmp(&b.0.id)));
        Ok(out)
    }

    /// `run`: create and start, then (unless detached) stay the
    /// container's parent, forward signals, and return its exit status.
    pub fn run(&self, id: &str, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32> {
        if detach {
            self.create(id, opts)?;
            self.start(id).map_err(|e| self.cleanup_after(id, e))?;
            return Ok(0);
        }
        sys::set_child_subreaper()?;
        // A terminal and no console socket: pivot is the console socket
        // and copies between the caller's terminal and the pty.
        let (init, ours) = self.create_with(id, opts, true)?;
        // Signals are taken from here on and passed to the container; the
        // init, already made, keeps its own mask.
        let old_mask = sys::sigprocmask_block(&forwarded_signals())?;
        let proxy = match ours {
            Some(sock) => Some(
                process::tty::receive_master(sock.as_fd())
                    .and_then(process::tty::Proxy::start)
                    .map_err(|e| self.cleanup_after(id, e))?,
            ),
            None => None,
        };
        let result = self
            .start(id)
            .and_then(|_| wait_forwarding(init.pid, proxy.as_ref()))
            .map_err(|e| self.cleanup_after(id, e));
        if let Some(p) = proxy {
            p.finish();
        }
        let _ = sys::sigprocmask_set(&old_mask);
        let code = result?;
        if !keep {
            self.delete(id, true)?;
        }
        Ok(code)
    }

    /// Run a new process in the container; with `detach` return once it
    /// runs, else wait and return its exit status (128+N for a signal).
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32> {
        // Before pivot opens anything of its own (the gate and the lock
        // below would take the lowest free numbers).
        check_preserved_fds(opts.preserve_fds)?;
        // Every exec holds the gate shared from before it reads the state
        // until its process runs; one that records the pid namespace as
        // exposed (below) then waits for the gate exclusively, so no exec
        // that read the state before that record is still in its pivot
        // stage when the new process, which may ptrace, starts.
        let gate = crate::spec::validate_id(id)
            .ok()
            .and_then(|_| StateDir::new(&self.root, id).exec_gate());
        let (sd, lock, saved) = StateDir::open_locked(&self.root, id)?;
        match state::status(&sd, &saved) {
            Status::Stopped => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "cannot exec in a stopped container",
                ))
            }
            Status::Paused if !opts.ignore_paused => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "cannot exec in a paused container (use --ignore-paused to override)",
                ))
            }
            _ => {}
        }
        let process = exec_process(&saved, opts)?;
        self.warn_capabilities(&process);
        // CVE-2019-5736 (selfexe.rs): an exec joins a pid namespace where
        // something may ptrace it, or may from now on.
        let may_ptrace =
            crate::selfexe::may_ptrace(&process, saved.namespaces.contains_key("user"));
        if may_ptrace {
            refuse_unsealed_created_init(&saved, state::status(&sd, &saved))?;
        }
        let mut exposes = false;
        if saved.pid_ns_exposed {
            crate::selfexe::run_read_only(&self.root)?;
        } else if may_ptrace {
            let mut s = saved.clone();
            s.pid_ns_exposed = true;
            sd.save(&s)?;
            exposes = true;
        }
        let seccomp = match saved.config.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
            Some(v) => Some(crate::seccomp::compile(v)?),
            None => None,
        };
        // A terminal: --console-socket, or pivot's own pair and proxy in
        // the foreground.
        let (console, ours) = match &opts.console_socket {
            Some(path) if process.terminal => (
                Some(sys::unix_connect(&path.to_string_lossy()).ctx("--console-socket")?),
                None,
            ),
            Some(_) => {
                return Err(Error::invalid(
                    "--console-socket: the process has no terminal (use -t)",
                ))
            }
            None if process.terminal && opts.detach => {
                return Err(Error::invalid(
                    "exec: a detached process with a terminal needs --console-socket",
                ))
            }
            None if process.terminal => {
                let (ours, theirs) = sys::tty::stream_pair()?;
                (Some(theirs), Some(ours))
            }
            None => (None, None),
        };
        // Pin the init, then check it is still the container's (the pid
        // could have been recycled since the state was read).
        let init = sys::pidfd_open(saved.pid)?;
        if !state::init_alive(&saved) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "cannot exec in a stopped container",
            ));
        }
        let root = match saved.namespaces.contains_key("mount") {
            true => None,
            false => Some(init_root(&saved)?),
        };
        let plan = process::exec::ExecPlan {
            root: root.as_ref().map(|r| r.as_fd()),
            console: console.as_ref().map(|c| c.as_fd()),
            own_console: ours.is_some(),
            process: &process,
            namespaces: &saved.namespaces,
            init: init.as_fd(),
            cgroups: &saved.cgroups,
            sub_cgroups: &opts.cgroup,
            seccomp: seccomp.as_ref(),
            preserve_fds: opts.preserve_fds,
            state: saved_hook_state(&saved, "running"),
            linux: saved.config.linux.as_ref(),
        };
        // As subreaper pivot gets the process once its first parent exits,
        // to wait for it or, if it fails to start, to reap it.
        sys::set_child_subreaper()?;
        // The lock guards the state read above; the process itself may
        // wait (in a paused container, until resume, which takes the lock).
        drop(lock);
        if may_ptrace {
            self.expose_pid_ns_sharers(&saved)?;
        }
        if let Some(g) = gate.as_ref().filter(|_| exposes) {
            g.make_exclusive()?;
        }
        let pid = process::exec::spawn(&plan)?;
        drop(gate);
        let handed = match &saved.intel_rdt {
            Some(g) => crate::intelrdt::join(g, pid),
            None => Ok(()),
        }
        .and_then(|_| match &opts.pid_file {
            Some(p) => write_pid_file(p, pid),
            None => Ok(()),
        })
        .and_then(|_| match &opts.pidfd_socket {
            Some(p) => send_pidfd(p, sys::pidfd_open(pid)?.as_fd()),
            None => Ok(()),
        });
        if let Err(e) = handed {
            // The caller never learns of the process: it must not run on
            // (nor stay a zombie under the container's init), as runc.
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, 0);
            return Err(e);
        }
        if opts.detach {
            return Ok(0);
        }
        let old_mask = sys::sigprocmask_block(&forwarded_signals())?;
        let proxy = match ours {
            Some(sock) => Some(
                process::tty::receive_master(sock.as_fd()).and_then(process::tty::Proxy::start)?,
            ),
            None => None,
        };
        let code = wait_forwarding(pid, proxy.as_ref());
        if let Some(p) = proxy {
            p.finish();
        }
        let _ = sys::sigprocmask_set(&old_mask);
        code
    }

    /// An exec whose process may ptrace joins a pid namespace other
    /// containers of this root may share (a pod): their later `exec`s must
    /// run from the view too, as when such a container is created into it
    /// (`guard_binary`). Their exec gates are not waited for here (two
    /// such execs into two members would wait on each other): an exec into
    /// another member that read its state before this record may still
    /// be pivot's image for a moment.
    fn expose_pid_ns_sharers(&self, saved: &Saved) -> Result<()> {
        let Some(ns) = saved.namespaces.get("pid") else {
            // The host's pid namespace: every exec there is exposed.
            return Ok(());
        };
        let Ok(target) = sys::fstatat(sys::cwd(), ns, 0) else {
            return Ok(());
        };
        for (other, _) in self.list()? {
            if other.id == saved.id || other.pid_ns_exposed {
                continue;
            }
            let Some(ns) = other.namespaces.get("pid") else {
                continue;
            };
            let Ok(st) = sys::fstatat(sys::cwd(), ns, 0) else {
                continue;
            };
            if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino) {
                continue;
            }
            if let Ok((sd, _lock, mut s)) = StateDir::open_locked(&self.root, &other.id) {
                s.pid_ns_exposed = true;
                sd.save(&s)?;
            }
        }
        Ok(())
    }

    fn cleanup_after(&self, id: &str, e: Error) -> Error {
        let _ = self.delete(id, true);
        e
    }
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

/// The process `exec` runs: process.json as given, or the container's own
/// process with the flags applied, as runc builds it.
fn exec_process(saved: &Saved, o: &ExecOptions) -> Result<spec::types::Process> {
    let mut p = match &o.process_json {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
            spec::parse_json(&path.display().to_string(), &text)?
        }
        None => {
            let mut p = saved.config.process.clone().unwrap_or_default();
            if o.args.is_empty() {
                return Err(Error::invalid("exec: a command to run is required"));
            }
            p.args = o.args.clone();
            p.terminal = o.tty;
            p
        }
    };
    if let Some(cwd) = &o.cwd {
        p.cwd = cwd.clone();
    }
    if p.cwd.is_empty() {
        p.cwd = "/".into();
    }
    p.env.extend(o.env.iter().cloned());
    if let Some(u) = &o.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u.as_str(), None),
        };
        let num = |s: &str, what: &str| {
            s.parse::<u32>()
                .map_err(|_| Error::invalid(format!("--user {u:?}: {what} {s:?} is not a number")))
        };
        p.user.uid = num(uid, "uid")?;
        if let Some(g) = gid {
            p.user.gid = num(g, "gid")?;
        }
    }
    p.user
        .additional_gids
        .extend(o.additional_gids.iter().copied());
    if !o.caps.is_empty() {
        let c = p.capabilities.get_or_insert_with(Default::default);
        for cap in &o.caps {
            for set in [&mut c.bounding, &mut c.effective, &mut c.permitted] {
                set.get_or_insert_with(Vec::new).push(cap.clone());
            }
            // Ambient needs inheritable; runc adds it only where the spec
            // has inheritable capabilities.
            if c.inheritable.is_some() {
                c.ambient.get_or_insert_with(Vec::new).push(cap.clone());
            }
        }
    }
    if o.no_new_privs {
        p.no_new_privileges = true;
    }
    if let Some(a) = &o.apparmor {
        p.apparmor_profile = Some(a.clone());
    }
    if let Some(l) = &o.process_label {
        p.selinux_label = Some(l.clone());
    }
    if p.args.is_empty() {
        return Err(Error::invalid("process.args: must not be empty"));
    }
    spec::plan::check_process_values(&p)?;
    rlimits::validate(&p.rlimits)?;
    process::attrs::validate_exec(&p)?;
    Ok(p)
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
    }
}

/// Whether a process that may ptrace pivot's can be in the container's pid
/// namespace from the start: it joins one, uses the host's, or its own
/// processes may ptrace (selfexe.rs).
fn pid_ns_exposed(plan: &Plan) -> bool {
    let own_user_ns = plan.namespaces.has(NsKind::User);
    joined_pid_ns(plan).is_some()
        || !plan.namespaces.has(NsKind::Pid)
        || crate::selfexe::may_ptrace(&plan.process, own_user_ns)
}

/// An `exec` whose process may ptrace sees the init of the container's
/// pid namespace: refused while that is a created, not started init still
/// running pivot's binary as it is (it cannot be moved onto the view any
/// more). It is the container's own init, or the init of the pid
/// namespace it joined (whoever made it, as `create` checks).
fn refuse_unsealed_created_init(saved: &Saved, status: Status) -> Result<()> {
    let Some(ns) = saved.namespaces.get("pid") else {
        // The host's pid namespace: every init created there runs from the
        // view.
        return Ok(());
    };
    let Ok(st) = sys::fstatat(sys::cwd(), ns, 0) else {
        return Ok(());
    };
    let Some(init) = crate::selfexe::pid_ns_init(st.st_dev, st.st_ino) else {
        return Ok(());
    };
    // The container's own init is pivot's until `start`, whichever build
    // of pivot made it.
    let created = if init == saved.pid {
        status == Status::Created
    } else {
        crate::selfexe::runs_pivot(init)
    };
    // (Gone meanwhile, started and exited or killed: nothing to reach.)
    if !created || crate::selfexe::runs_read_only(init).unwrap_or(true) {
        return Ok(());
    }
    let whose = if init == saved.pid {
        format!("the container is created but not started: its init (pid {init})")
    } else {
        format!("the init of the pid namespace it joined (pid {init}) belongs to a container created but not started: it")
    };
    Err(Error::new(
        ErrorKind::InvalidState,
        format!(
            "{whose} is still pivot's own process, which a process that may ptrace (CAP_SYS_PTRACE without a user namespace) could reach; start that container first"
        ),
    ))
}

fn joined_pid_ns(plan: &Plan) -> Option<&str> {
    plan.namespaces
        .join
        .iter()
        .find(|(k, _)| *k == NsKind::Pid)
        .map(|(_, p)| p.as_str())
}

/// Send a pidfd over a unix socket (SCM_RIGHTS), as runc's --pidfd-socket.
fn send_pidfd(path: &Path, pidfd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
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

/// The root directory of the container's init (`/proc/<pid>/root`), for
/// an exec into a container without a mount namespace: exactly what the
/// init was chroot'ed into. Checked after the open to be the init, not a
/// process that got its pid since.
fn init_root(saved: &Saved) -> Result<OwnedFd> {
    let path = format!("/proc/{}/root", saved.pid);
    let fd = sys::openat(sys::cwd(), &path, libc::O_PATH | libc::O_DIRECTORY, 0)
        .ctx("the container's root")?;
    if !state::init_alive(saved) {
        return Err(Error::new(ErrorKind::InvalidState, "container not running"));
    }
    Ok(fd)
}

/// The fds `--preserve-fds` (and socket activation) hand on, 3..3+N-1,
/// must all be open in the caller: pivot's own fds (the state lock and
/// directory, exec.fifo, procfs) would otherwise take the free numbers,
/// and the container would keep them, the lock with them, on which every
/// later command on the container then waits. runc refuses them as well
/// ("unable to stat preserved-fd"). Checked before pivot opens anything.
fn check_preserved_fds(n: u32) -> Result<()> {
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

pub(crate) fn saved_hook_state(saved: &Saved, status: &str) -> String {
    hooks::state_json(
        &saved.id,
        status,
        saved.pid,
        &saved.bundle,
        &saved.annotations,
    )
}

/// Open exec.fifo for reading: the init, blocked opening it for writing,
/// writes one byte, runs the startContainer hooks and execs; the fifo
/// (close-on-exec) then reads end-of-file, or the error text if the hooks
/// or the exec failed.
fn release_init(sd: &StateDir, saved: &Saved) -> Result<()> {
    let path = sd.fifo_path();
    let fifo = sys::openat(
        sys::cwd(),
        &path.to_string_lossy(),
        libc::O_RDONLY | libc::O_NONBLOCK,
        0,
    )?;
    let mut buf = [0u8; 1];
    loop {
        let ev = sys::poll_one(fifo.as_fd(), libc::POLLIN, 100)?;
        if ev & libc::POLLIN != 0 {
            if let Ok(1) = sys::read(fifo.as_fd(), &mut buf) {
                break;
            }
        }
        if !state::init_alive(saved) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "container process is already dead",
            ));
        }
    }
    let _ = std::fs::remove_file(&path);
    let mut report = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        // POLLHUP once the init's write end is closed by exec or exit.
        let ev = sys::poll_one(fifo.as_fd(), libc::POLLIN, -1)?;
        match sys::read(fifo.as_fd(), &mut chunk) {
            Ok(0) => break,
            Ok(n) => report.extend_from_slice(&chunk[..n]),
            Err(e) if e.errno() == Some(libc::EAGAIN) && ev & libc::POLLHUP == 0 => {}
            Err(e) => return Err(e),
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(Error::other(String::from_utf8_lossy(&report).into_owned()))
    }
}

fn signal_init(saved: &Saved, sig: i32) -> Result<()> {
    let pidfd = sys::pidfd_open(saved.pid)?;
    // The pidfd pins the process: check it is still our init, not a
    // recycled pid, before signalling through it.
    if !state::init_alive(saved) {
        return Err(Error::new(ErrorKind::InvalidState, "container not running"));
    }
    sys::pidfd_send_signal(pidfd.as_fd(), sig)
}

fn signal_all(saved: &Saved, sig: i32) -> Result<()> {
    let pids = cgroups::pids(&saved.cgroups)?;
    if pids.is_empty() {
        return signal_init(saved, sig);
    }
    for pid in pids {
        match sys::kill(pid, sig) {
            Err(e) if e.errno() != Some(libc::ESRCH) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Whether the container has a pid namespace of its own (new, not joined):
/// then its init's death kills every other process in it, and whatever
/// else sits in its cgroup is not the container's (runc's IsPrivate).
fn private_pid_ns(saved: &Saved) -> bool {
    saved.config.linux.as_ref().is_some_and(|l| {
        l.namespaces
            .iter()
            .any(|n| n.kind == "pid" && n.path.as_deref().unwrap_or("").is_empty())
    })
}

/// SIGKILL every process of the container's cgroup: cgroup2's
/// cgroup.kill, or one by one with the cgroup frozen meanwhile (so that
/// none forks past the list), as runc does; a paused container is left
/// thawed, since a frozen process does not die of SIGKILL.
fn kill_cgroup(saved: &Saved) -> Result<()> {
    if !cgroups::kill_all(&saved.cgroups)? {
        let froze = cgroups::freezer::set(&saved.cgroups, true).is_ok();
        let killed = cgroups::pids(&saved.cgroups).and_then(|pids| {
            pids.into_iter()
                .try_for_each(|pid| match sys::kill(pid, libc::SIGKILL) {
                    Err(e) if e.errno() != Some(libc::ESRCH) => Err(e),
                    _ => Ok(()),
                })
        });
        if froze || cgroups::is_frozen(&saved.cgroups) {
            cgroups::freezer::set(&saved.cgroups, false).ctx("thaw after SIGKILL")?;
        }
        return killed;
    }
    if cgroups::is_frozen(&saved.cgroups) {
        cgroups::freezer::set(&saved.cgroups, false).ctx("thaw after SIGKILL")?;
    }
    Ok(())
}

/// Kill whatever still runs, wait for it, remove cgroups and state. With
/// a pid namespace of its own only the init is killed: the kernel ends
/// the rest of the namespace with it, and anything else in the cgroup
/// was put there by someone else and is left alone (the cgroup then
/// cannot be removed, and `delete` says so).
pub(crate) fn destroy(sd: &StateDir, saved: &Saved) -> Result<()> {
    let private = private_pid_ns(saved);
    if state::init_alive(saved) {
        let _ = if private {
            signal_init(saved, libc::SIGKILL)
        } else {
            signal_all(saved, libc::SIGKILL)
        };
        // A frozen process does not die of SIGKILL until it is thawed
        // (delete --force of a paused container).
        if cgroups::freezer::frozen(&saved.cgroups) {
            let _ = cgroups::freezer::set(&saved.cgroups, false);
        }
        wait_dead(saved);
    }
    if private {
        // What is left in the cgroup once the namespace is gone was put
        // there by someone else: say so now rather than wait on rmdir.
        let mut left = Vec::new();
        for _ in 0..50 {
            left = cgroups::pids(&saved.cgroups).unwrap_or_default();
            if left.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if !left.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!(
                    "the container's cgroup holds {} process(es) that are not the container's ({left:?}): left running; the cgroup cannot be removed until they leave it",
                    left.len()
                ),
            ));
        }
    }
    // Processes that outlived an init without a pid namespace.
    for _ in 0..if private { 0 } else { 100 } {
        let pids = cgroups::pids(&saved.cgroups).unwrap_or_default();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    cgroups::remove(&saved.cgroups).ctx("remove cgroups")?;
    if let Some(g) = &saved.intel_rdt {
        crate::intelrdt::remove(g).ctx("remove the resctrl group")?;
    }
    sd.destroy()
}

fn wait_dead(saved: &Saved) {
    let Ok(pidfd) = sys::pidfd_open(saved.pid) else {
        return;
    };
    // A pidfd becomes readable when the process exits, child or not.
    for _ in 0..100 {
        match sys::poll_one(pidfd.as_fd(), libc::POLLIN, 100) {
            Ok(ev) if ev != 0 => return,
            Err(_) => return,
            _ => {}
        }
        if !state::init_alive(saved) {
            return;
        }
    }
}

/// Signals `run` passes on to the container's init.
pub(crate) fn forwarded_signals() -> Vec<i32> {
    (1..32)
        .filter(|s| {
            ![
                libc::SIGKILL,
                libc::SIGSTOP,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGFPE,
                libc::SIGILL,
                libc::SIGTRAP,
                libc::SIGSYS,
            ]
            .contains(s)
        })
        .collect()
}

/// Wait for the init to exit, forwarding signals and reaping orphans
/// (pivot is their subreaper). Returns the shell-style exit status.
pub(crate) fn wait_forwarding(init_pid: i32, proxy: Option<&process::tty::Proxy>) -> Result<i32> {
    let sigs = forwarded_signals();
    loop {
        // Reap first: the init may have exited before we started waiting.
        loop {
            match sys::waitpid(-1, libc::WNOHANG) {
                Ok((0, _)) => break,
                Ok((pid, status)) if pid == init_pid => return Ok(sys::wait_status_code(status)),
                Ok(_) => continue,
                Err(e) if e.errno() == Some(libc::ECHILD) => {
                    return Err(Error::other("container init is not pivot's child"))
                }
                Err(e) => return Err(e),
            }
        }
        let sig = sys::sigwait(&sigs)?;
        if sig == libc::SIGWINCH {
            if let Some(p) = proxy {
                p.resize();
            }
        } else if sig != libc::SIGCHLD && sig != libc::SIGURG {
            let _ = sys::kill(init_pid, sig);
        }
    }
}

/// The cgroup operations: pause, resume, ps, update, events.
impl Runtime {
    /// Freeze every process of a running container (`pause`).
    pub fn pause(&self, id: &str) -> Result<()> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        match state::status(&sd, &saved) {
            Status::Running | Status::Created => {}
            Status::Paused => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "container is already paused",
                ))
            }
            Status::Stopped => {
                return Err(Error::new(ErrorKind::InvalidState, "container not running"))
            }
        }
        cgroups::freezer::set(&saved.cgroups, true)
    }

    /// Thaw a paused container (`resume`).
    pub fn resume(&self, id: &str) -> Result<()> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        if state::status(&sd, &saved) != Status::Paused {
            return Err(Error::new(ErrorKind::InvalidState, "container not paused"));
        }
        cgroups::freezer::set(&saved.cgroups, false)
    }

    /// The host pids of the container's processes (`ps`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        // A stopped container has no processes, or only those that outlived
        // an init without a pid namespace; as runc, not an error.
        match cgroups::pids(&saved.cgroups) {
            Err(_) if state::status(&sd, &saved) == Status::Stopped => Ok(Vec::new()),
            r => r,
        }
    }

    /// `update`: merge `patch` (LinuxResources JSON: memory, cpu, pids,
    /// blockIO, ...; each object merged key by key) into the saved
    /// config's linux.resources, check the result, apply it and save it.
    /// Device rules are not updated (as runc). Nothing is written when
    /// the check fails; when the kernel refuses a value midway, the
    /// previous limits are written back.
    pub fn update(&self, id: &str, patch: &serde_json::Value) -> Result<()> {
        use cgroups::resources::{self as res, Apply, Limits};
        let (sd, _lock, mut saved) = StateDir::open_locked(&self.root, id)?;
        if state::status(&sd, &saved) == Status::Stopped {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "cannot update a stopped container",
            ));
        }
        let serde_json::Value::Object(patch) = patch else {
            return Err(Error::invalid(
                "linux.resources: the update must be a JSON object",
            ));
        };
        let mut config = saved.config.clone();
        let linux = config.linux.get_or_insert_with(Default::default);
        let resources = linux.resources.get_or_insert_with(Default::default);
        let old = resources.clone();
        for (k, v) in patch {
            if k == "devices" || v.is_null() {
                continue;
            }
            match (resources.other.get_mut(k), v) {
                (Some(serde_json::Value::Object(cur)), serde_json::Value::Object(new)) => {
                    for (nk, nv) in new {
                        cur.insert(nk.clone(), nv.clone());
                    }
                }
                _ => {
                    resources.other.insert(k.clone(), v.clone());
                }
            }
        }
        // As runc's update: `--memory -1` without a swap value lifts the
        // swap limit too (memory_v1 makes an unset swap -1 then).
        let lifts_memory = patch.get("memory").is_some_and(|m| {
            m.get("limit") == Some(&serde_json::json!(-1)) && m.get("swap").is_none()
        });
        if lifts_memory {
            if let Some(serde_json::Value::Object(m)) = resources.other.get_mut("memory") {
                m.remove("swap");
            }
        }
        let limits = Limits::parse(Some(resources))?;
        res::check_host(&limits, &saved.cgroups)?;
        if let Err(e) = res::apply(&limits, &saved.cgroups, Apply::UPDATE) {
            if let Ok(prev) = Limits::parse(Some(&old)) {
                let _ = res::apply(&prev, &saved.cgroups, Apply::UPDATE);
            }
            return Err(e);
        }
        saved.config = config;
        sd.save(&saved)
    }

    /// `update --l3-cache-schema/--mem-bw-schema`: new schemata for the
    /// container's resctrl group; a container created without
    /// linux.intelRdt gets a group of its own first, as runc does.
    pub fn update_intel_rdt(&self, id: &str, l3: Option<&str>, mem_bw: Option<&str>) -> Result<()> {
        use crate::intelrdt;
        let (sd, _lock, mut saved) = StateDir::open_locked(&self.root, id)?;
        if state::status(&sd, &saved) == Status::Stopped {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "cannot update a stopped container",
            ));
        }
        let mut config = saved.config.clone();
        let linux = config.linux.get_or_insert_with(Default::default);
        let cur = linux.other.get("intelRdt").cloned();
        let mut v = match cur {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        if let Some(s) = l3 {
            v.insert("l3CacheSchema".into(), s.into());
        }
        if let Some(s) = mem_bw {
            v.insert("memBwSchema".into(), s.into());
        }
        let v = serde_json::Value::Object(v);
        let rdt = intelrdt::parse(Some(&v))?.unwrap_or_default();
        let root = intelrdt::resctrl_root();
        intelrdt::validate(&rdt, root.as_deref())?;
        let root = root.unwrap_or_default();
        let group = match &saved.intel_rdt {
            Some(g) => {
                intelrdt::set_schemata(g, &rdt)?;
                g.clone()
            }
            None => intelrdt::setup(&rdt, &root, id, saved.pid)?,
        };
        linux.other.insert("intelRdt".into(), v);
        saved.intel_rdt = Some(group);
        saved.config = config;
        sd.save(&saved)
    }

    /// `events`: with `stats_only` one stats event; else a stats event
    /// every `interval` and an oom event whenever the OOM-kill counter
    /// rises, until the container stops.
    pub fn events(
        &self,
        id: &str,
        interval: std::time::Duration,
        stats_only: bool,
        emit: &mut dyn FnMut(&serde_json::Value),
    ) -> Result<()> {
        use serde_json::json;
        let saved = {
            let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
            if state::status(&sd, &saved) == Status::Stopped {
                return Err(Error::new(ErrorKind::InvalidState, "container not running"));
            }
            saved
        };
        let stats = |saved: &Saved| json!({"type": "stats", "id": id, "data": cgroups::stats::stats(&saved.cgroups)});
        if stats_only {
            emit(&stats(&saved));
            return Ok(());
        }
        let tick = std::time::Duration::from_millis(100).min(interval);
        let mut ooms = cgroups::stats::oom_kills(&saved.cgroups);
        let mut next = std::time::Instant::now();
        loop {
            let now = cgroups::stats::oom_kills(&saved.cgroups);
            if now > ooms {
                ooms = now;
                emit(&json!({"type": "oom", "id": id}));
            }
            if !state::init_alive(&saved) {
                return Ok(());
            }
            if std::time::Instant::now() >= next {
                emit(&stats(&saved));
                next += interval;
            }
            std::thread::sleep(tick);
        }
    }
}
