//! `pivot exec`: a new process in a running container. It joins the
//! container's namespaces (user first, mount last), its cgroups, and gets
//! the process's rlimits, no_new_privs, seccomp filter, user and
//! capabilities, as the init did; it stays non-dumpable until the exec.

use super::channel::{wire_error, Channel, Msg};
use super::{caps, rlimits, user};
use crate::cgroups::{self, CgroupDir};
use crate::error::{Context, Error, Result};
use crate::seccomp::Filter;
use crate::spec::types::Process;
use crate::sys::{self, Forked};
use std::collections::BTreeMap;
use std::os::fd::AsFd;

/// Everything the new process needs.
pub struct ExecPlan<'a> {
    pub process: &'a Process,
    /// The container's namespaces: spec name -> /proc/<init>/ns/<file>
    /// (which of them to join; they are joined through `init`).
    pub namespaces: &'a BTreeMap<String, String>,
    /// A pidfd of the container's init, checked to be it: the namespaces
    /// are entered through it, never by a /proc path, whose pid could
    /// have been recycled meanwhile.
    pub init: std::os::fd::BorrowedFd<'a>,
    pub cgroups: &'a [CgroupDir],
    /// The cgroup2 directory the container's init is in, joined instead of
    /// the container's when that one refuses processes (EBUSY: the init
    /// moved to a child cgroup and enabled controllers for it), as runc
    /// does.
    pub init_cgroup: Option<CgroupDir>,
    /// A sub-cgroup of the container's to put the process in (--cgroup).
    /// `--cgroup` values: [CONTROLLER[,CONTROLLER...]:]PATH.
    pub sub_cgroups: &'a [String],
    /// Rootless cgroups (runc's rootless cgroup manager: not root, or root
    /// of a user namespace): a cgroup the process may not join is left
    /// out, the process staying in the caller's, as runc ignores the
    /// error there (a user's systemd scope, whose common ancestor with
    /// the caller's cgroup the user may not write).
    pub rootless_cgroups: bool,
    pub seccomp: Option<&'a Filter>,
    pub preserve_fds: u32,
    /// The connected console socket, for a terminal.
    pub console: Option<std::os::fd::BorrowedFd<'a>>,
    /// The console socket is pivot's own (`exec -t` in the foreground).
    pub own_console: bool,
    /// The container's state JSON, for the seccomp agent (SCMP_ACT_NOTIFY).
    pub state: String,
    /// The container's `linux` (memoryPolicy and personality apply to an
    /// exec'd process too).
    pub linux: Option<&'a crate::spec::types::Linux>,
    /// The init's root, for a container without a mount namespace of its
    /// own: there is none to join (setns(CLONE_NEWNS) sets the root), so
    /// the process is chroot'ed into this one, or it would run in the
    /// host's root.
    pub root: Option<std::os::fd::BorrowedFd<'a>>,
}

/// The namespaces an exec joins (the kernel orders them: the user
/// namespace first, it grants the rights for the others).
const JOIN_ORDER: &[(&str, i32)] = &[
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("network", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", 0x80),
    ("mount", libc::CLONE_NEWNS),
];

/// Start the process; returns its pid once it has exec'd (or the error
/// that kept it from doing so).
pub fn spawn(plan: &ExecPlan) -> Result<i32> {
    crate::debug::log(|| {
        format!(
            "nsexec container setup: exec {:?}, joining {} namespaces",
            plan.process.args,
            plan.namespaces.len()
        )
    });
    let (parent_ch, child_ch) = Channel::pair()?;
    // Into the cgroup2 tree at clone3 time (a self-move through
    // cgroup.procs would wait for an RCU grace period); v1 by the child.
    let dirs = target_cgroups(plan)?;
    let v2 = cgroups::v2_dir_fd(&dirs);
    let forked = match v2.as_ref().map(|fd| sys::clone3(0, Some(fd.as_fd()))) {
        Some(Ok(f)) => Ok((f, true)),
        _ => sys::clone3(0, None).map(|f| (f, false)),
    };
    let (forked, v2_joined) = forked?;
    match forked {
        Forked::Child => {
            drop(parent_ch);
            drop(v2);
            // execCPUAffinity: `initial` before the cgroups, `final` after.
            let joined = super::attrs::exec_cpu_affinity(plan.process, false)
                .and_then(|_| match join_cgroups(plan, &dirs, v2_joined) {
                    Err(e) if plan.rootless_cgroups && e.errno().is_some() => Ok(()),
                    r => r,
                })
                .and_then(|_| super::attrs::exec_cpu_affinity(plan.process, true));
            if let Err(e) = joined
                .and_then(|_| join(plan, &child_ch))
                .and_then(|_| setup_and_exec(plan, &child_ch))
            {
                child_ch.send_error(&e);
            }
            sys::exit_now(255)
        }
        Forked::Parent { pid, .. } => {
            drop(child_ch);
            let mut target = None;
            let mut failed = None;
            loop {
                let (msg, fd) = parent_ch.recv_fd()?;
                match msg {
                    Some(Msg::SeccompFd) => {
                        let fd = fd.ok_or_else(|| Error::other("exec: no seccomp fd was sent"))?;
                        let p = target.unwrap_or(pid);
                        let sent = super::spawn::send_to_listener_with(
                            &plan.state,
                            plan.seccomp,
                            p,
                            fd.as_fd(),
                        );
                        drop(fd);
                        if let Err(e) = sent {
                            // The process waits for SeccompDone; it must not
                            // run on without its agent.
                            let _ = sys::kill(p, libc::SIGKILL);
                            let _ = sys::waitpid(p, 0);
                            return Err(e);
                        }
                        parent_ch.send(&Msg::SeccompDone)?;
                    }
                    Some(Msg::Pid(p)) => {
                        let _ = sys::waitpid(pid, 0);
                        crate::debug::log(|| format!("child process in init(): pid {p}"));
                        target = Some(p);
                    }
                    // End of file: the process exec'd (the channel is
                    // close-on-exec) or, after a failure, every process
                    // that had the channel has exited.
                    None => {
                        if target.is_none() {
                            let _ = sys::waitpid(pid, 0);
                        }
                        if let Some(e) = failed {
                            // Reap the process that failed (ours as
                            // subreaper): a zombie left in the container's
                            // pid namespace would keep its init from ever
                            // finishing its exit.
                            if let Some(t) = target {
                                let _ = sys::waitpid(t, 0);
                            }
                            return Err(e);
                        }
                        crate::debug::log(|| {
                            format!(
                                "setns_init: about to exec {:?}: done, the process runs",
                                plan.process.args
                            )
                        });
                        return target
                            .ok_or_else(|| Error::other("exec: the process did not start"));
                    }
                    // The new process can fail before its parent has sent
                    // its pid: read on to the end, so it is known and reaped.
                    Some(Msg::Failed {
                        errno,
                        invalid,
                        text,
                    }) => failed = Some(wire_error(errno, invalid, text)),
                    Some(m) => return Err(Error::other(format!("exec: unexpected {m:?}"))),
                }
            }
        }
    }
}

/// In the first child: join the cgroups and namespaces, then fork so the
/// pid namespace applies; the grandchild goes on, the child reports its
/// pid and exits.
fn join(plan: &ExecPlan, ch: &Channel) -> Result<()> {
    use std::os::fd::AsRawFd;
    let mut keep = vec![ch.raw_fd(), plan.init.as_raw_fd()];
    keep.extend(plan.console.map(|c| c.as_raw_fd()));
    let with_root: Vec<_> = keep
        .iter()
        .copied()
        .chain(plan.root.map(|r| r.as_raw_fd()))
        .collect();
    sys::close_fds_from(3 + plan.preserve_fds, &with_root)?;
    sys::set_dumpable(false)?;
    // All of them at once through the init's pidfd (Linux 5.8): the
    // kernel enters the user namespace first and the rest with its
    // rights, atomically, and the namespaces are the init's own, not
    // whatever a /proc/<pid> path names by now.
    let flags = JOIN_ORDER
        .iter()
        .filter(|(name, _)| plan.namespaces.contains_key(*name))
        .fold(0, |all, (_, flag)| all | flag);
    if flags != 0 {
        let names: Vec<&str> = JOIN_ORDER
            .iter()
            .filter(|(name, _)| plan.namespaces.contains_key(*name))
            .map(|(name, _)| *name)
            .collect();
        sys::setns(plan.init, flags).with_ctx(|| {
            format!(
                "join the container's namespaces ({}) through its init's pidfd",
                names.join(", ")
            )
        })?;
    }
    if let Some(root) = plan.root {
        sys::fchdir(root)
            .and_then(|_| sys::chroot("."))
            .ctx("enter the container's root (it has no mount namespace)")?;
        // Its last handle here: the process holds none into the container.
        sys::close_fds_from(3 + plan.preserve_fds, &keep)?;
    }
    match sys::fork()? {
        Forked::Child => Ok(()),
        Forked::Parent { pid, .. } => {
            ch.send(&Msg::Pid(pid))?;
            sys::exit_now(0)
        }
    }
}

/// In the first child: into the cgroups `dirs` (the cgroup2 one already,
/// when `v2_done`). Without a --cgroup path, a cgroup2 that takes no
/// process (EBUSY: the init moved to a child cgroup and enabled a domain
/// controller for it) gives way to the init's cgroup, as runc does. A
/// --cgroup path (`/` too) is where the process goes or fails, the error
/// in runc's words (`adding pid N to cgroups: .../cgroup.procs: device or
/// resource busy`), which callers match on; values that name controllers
/// alone are left out on cgroup v2, as runc 1.5.1, and keep the fallback.
fn join_cgroups(plan: &ExecPlan, dirs: &[CgroupDir], v2_done: bool) -> Result<()> {
    let path_given = plan.sub_cgroups.iter().any(|v| !v.contains(':'));
    if !path_given {
        return cgroups::join_self(dirs, v2_done)
            .or_else(|e| match (&plan.init_cgroup, e.errno()) {
                (Some(d), Some(libc::EBUSY)) => cgroups::join_self(std::slice::from_ref(d), false),
                _ => Err(e),
            })
            .ctx("join the container's cgroups");
    }
    for d in dirs {
        cgroups::join_self(std::slice::from_ref(d), v2_done).map_err(|e| match e.errno() {
            Some(errno) => {
                let file = if d.hierarchy.is_v2() {
                    "cgroup.procs"
                } else {
                    "tasks"
                };
                Error::new(
                    crate::error::ErrorKind::Os(errno),
                    format!(
                        "--cgroup: adding pid {} to cgroups: write \"0\" to {}: {}",
                        sys::getpid(),
                        d.path().join(file).display(),
                        go_errno_text(errno)
                    ),
                )
            }
            None => e,
        })?;
    }
    Ok(())
}

/// An errno's text as Go (and so runc) prints it: all lower case, e.g.
/// `device or resource busy`, then its name, e.g. ` (EBUSY)`.
fn go_errno_text(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let text = text.split(" (os error").next().unwrap_or("").to_lowercase();
    match linux_text::errno::name(errno) {
        Some(name) => format!("{text} ({name})"),
        None => text,
    }
}

/// The container's cgroups, or the existing sub-cgroups --cgroup names
/// (which, as with runc, must exist already).
fn target_cgroups(plan: &ExecPlan) -> Result<Vec<CgroupDir>> {
    if plan.sub_cgroups.is_empty() {
        return Ok(plan.cgroups.to_vec());
    }
    let dirs = cgroups::sub_dirs(plan.cgroups, plan.sub_cgroups)?;
    if let Some(missing) = dirs.iter().find(|d| !d.path().is_dir()) {
        // runc's words, which callers match on.
        return Err(Error::new(
            crate::error::ErrorKind::NotFound,
            format!(
                "--cgroup: adding pid to cgroups: {}: no such file or directory",
                missing.path().join("cgroup.procs").display()
            ),
        ));
    }
    Ok(dirs)
}

/// In the grandchild, inside the container: the process's own settings,
/// in the init's order, then exec.
fn setup_and_exec(plan: &ExecPlan, ch: &Channel) -> Result<()> {
    let p = plan.process;
    // With SCMP_ACT_NOTIFY the listener fd goes to pivot, which hands it to
    // linux.seccomp.listenerPath (a host path, not reachable from here).
    let load = |f: &Filter| -> Result<()> {
        if let Some(fd) = f.load()? {
            ch.send_fd(&Msg::SeccompFd, fd.as_fd())?;
            ch.expect(Msg::SeccompDone)?;
        }
        Ok(())
    };
    if let Some(sock) = plan.console {
        super::tty::setup_console(sock, false, p.console_size.as_ref(), p.user.uid)?;
        sys::tty::make_controlling(sys::stdio(0))?;
        if plan.own_console {
            // pivot proxies this pty: "\n" goes out unmapped, as runc's.
            // Here, before the process can write, not in the proxy (which
            // may start after the process has printed).
            sys::tty::clear_onlcr(sys::stdio(0)).ctx("process.terminal: clear ONLCR")?;
        }
    }
    rlimits::apply(&p.rlimits)?;
    super::attrs::apply_exec(p, plan.linux)?;
    if p.no_new_privileges {
        sys::set_no_new_privs()?;
    }
    if let Some(f) = plan.seccomp.filter(|_| !p.no_new_privileges) {
        load(f)?;
    }
    // The cwd before the user switch, and again after it if that failed
    // (as the init does).
    let cwd_done = sys::chdir(&p.cwd).is_ok();
    let last = caps::last_cap();
    let capsets = caps::parse(p.capabilities.as_ref(), last);
    caps::before_user_switch(&capsets, last)?;
    user::switch(&p.user)?;
    caps::after_user_switch(&capsets, last)?;
    if !cwd_done {
        sys::chdir(&p.cwd).with_ctx(|| format!("cwd {:?}", p.cwd))?;
    }
    sys::getcwd().ctx("cwd: the working directory is outside the container")?;
    let path = user::lookup_executable(p)?;
    // Before the filter, which need not allow reading /etc/passwd.
    let env = user::env_with_home(p);
    sys::cloexec_from(3 + plan.preserve_fds)?;
    sys::reset_signals();
    // With no_new_privs the filter goes in last, after the fd clean-up, so
    // a profile need not allow pivot's own calls.
    if let Some(f) = plan.seccomp.filter(|_| p.no_new_privileges) {
        load(f)?;
    }
    Err(sys::execve(&path, &p.args, &env))
}
