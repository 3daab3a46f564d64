//! `exec`: run a new process in a container.

use super::create::{check_preserved_fds, send_pidfd, write_pid_file};
use super::lifecycle::{forwarded_signals, wait_forwarding};
use super::Runtime;
use crate::error::{Context, Error, ErrorKind, Result};
use crate::hooks;
use crate::process::{self, rlimits};
use crate::spec;
use crate::state::{self, Saved, StateDir, Status};
use crate::sys;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

impl Runtime {
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
            Some(v) => Some(crate::seccomp::compile(v, Some(&self.root))?),
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
            init_cgroup: crate::cgroups::v2_dir_of(&saved.cgroups, saved.pid),
            sub_cgroups: &opts.cgroup,
            rootless_cgroups: self.rootless_cgroups,
            seccomp: seccomp.as_ref(),
            preserve_fds: opts.preserve_fds,
            state: hooks::saved_state(&saved, "running"),
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
    // As runc, and as `create` refuses process.user.additionalGids: an
    // unprivileged caller may set no supplementary group (setgroups is
    // denied in its user namespace).
    if sys::geteuid() != 0 && !p.user.additional_gids.is_empty() {
        let what = match &o.process_json {
            _ if !o.additional_gids.is_empty() => "--additional-gids".to_string(),
            Some(path) => format!("{}: user.additionalGids", path.display()),
            None => "process.user.additionalGids".to_string(),
        };
        return Err(Error::invalid(format!(
            "{what}: cannot set any additional groups in a rootless container"
        )));
    }
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
