//! A container's life after `create`: start, run, kill, delete, pause and
//! resume, and the helpers they share (signalling, destroying, waiting).

use super::{CreateOptions, Runtime};
use crate::cgroups;
use crate::error::{Context, Error, ErrorKind, Result};
use crate::hooks;
use crate::process;
use crate::spec;
use crate::state::{self, Saved, StateDir, Status};
use crate::sys;
use crate::sys::OFlags;
use std::os::fd::AsFd;

impl Runtime {
    pub fn start(&self, id: &str) -> Result<()> {
        crate::debug::step("start", || self.start_steps(id))
    }

    /// start's steps, each timed with --debug (debug.rs).
    fn start_steps(&self, id: &str) -> Result<()> {
        let (sd, _lock, saved, status) = crate::debug::step("start/state", || {
            StateDir::open_locked(&self.root, id).map(|(sd, lock, saved)| {
                let status = state::status(&sd, &saved);
                (sd, lock, saved, status)
            })
        })?;
        match status {
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
            let state = hooks::saved_state(&saved, "running");
            crate::debug::step("start/hooks poststart", || {
                hooks::run_all_warn("poststart", &h.poststart, &state, self.warn)
            });
        }
        Ok(())
    }

    pub fn kill(&self, id: &str, sig: i32, all: bool) -> Result<()> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        // As runc 1.2 and later: without a pid namespace of its own, the
        // init's death takes nothing else with it, so SIGKILL goes to every
        // process of the container's cgroup, also once the init has exited.
        if sig == sys::SIGKILL && !private_pid_ns(&saved) {
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
                    Err(e) if !e.is_errno(sys::Errno::SRCH) => return Err(e),
                    _ => {}
                }
            }
            return Ok(());
        }
        if all {
            if !(sig == sys::SIGKILL && cgroups::kill_all(&saved.cgroups)?) {
                signal_all(&saved, sig)?;
            }
        } else {
            signal_init(&saved, sig)?;
        }
        // As runc: a frozen process does not die of SIGKILL until its cgroup
        // is thawed (v1 freezer), so SIGKILL also thaws a paused container.
        if sig == sys::SIGKILL && cgroups::is_frozen(&saved.cgroups) {
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
            let state = hooks::saved_state(&saved, "stopped");
            hooks::run_all_warn("poststop", &h.poststop, &state, self.warn);
        }
        Ok(())
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

    fn cleanup_after(&self, id: &str, e: Error) -> Error {
        let _ = self.delete(id, true);
        e
    }

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
}

/// Open exec.fifo for reading: the init, blocked opening it for writing,
/// writes one byte, runs the startContainer hooks and execs; the fifo
/// (close-on-exec) then reads end-of-file, or the error text if the hooks
/// or the exec failed.
fn release_init(sd: &StateDir, saved: &Saved) -> Result<()> {
    // With --debug: "start/release" until the init answers, "start/exec"
    // until its end of the fifo closes (startContainer hooks, execve).
    let t = crate::debug::enabled().then(std::time::Instant::now);
    let path = sd.fifo_path();
    let fifo = sys::openat(
        sys::cwd(),
        &path.to_string_lossy(),
        OFlags::RDONLY | OFlags::NONBLOCK,
        0,
    )?;
    let mut buf = [0u8; 1];
    loop {
        let ev = sys::poll_in(fifo.as_fd(), 100)?;
        if ev.readable() {
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
    let t = t.map(|t| {
        crate::debug::record("start/release", t.elapsed());
        std::time::Instant::now()
    });
    let _ = std::fs::remove_file(&path);
    let mut report = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        // POLLHUP once the init's write end is closed by exec or exit.
        let ev = sys::poll_in(fifo.as_fd(), -1)?;
        match sys::read(fifo.as_fd(), &mut chunk) {
            Ok(0) => break,
            Ok(n) => report.extend_from_slice(&chunk[..n]),
            Err(e) if e.is_errno(sys::Errno::AGAIN) && !ev.hung_up() => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(t) = t {
        crate::debug::record("start/exec", t.elapsed());
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
            Err(e) if !e.is_errno(sys::Errno::SRCH) => return Err(e),
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
                .try_for_each(|pid| match sys::kill(pid, sys::SIGKILL) {
                    Err(e) if !e.is_errno(sys::Errno::SRCH) => Err(e),
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
            signal_init(saved, sys::SIGKILL)
        } else {
            signal_all(saved, sys::SIGKILL)
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
            let _ = sys::kill(pid, sys::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // As runc: systemd removes the unit's cgroup once the unit is stopped
    // (and reset, if it failed); what is left below it goes next.
    if let Some(u) = &saved.systemd {
        cgroups::systemd::stop(u).ctx("stop the systemd unit")?;
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
        match sys::poll_in(pidfd.as_fd(), 100) {
            Ok(ev) if ev.ready() => return,
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
                sys::SIGKILL,
                sys::SIGSTOP,
                sys::SIGSEGV,
                sys::SIGBUS,
                sys::SIGFPE,
                sys::SIGILL,
                sys::SIGTRAP,
                sys::SIGSYS,
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
            match sys::waitpid(-1, sys::WNOHANG) {
                Ok((0, _)) => break,
                Ok((pid, status)) if pid == init_pid => return Ok(sys::wait_status_code(status)),
                Ok(_) => continue,
                Err(e) if e.is_errno(sys::Errno::CHILD) => {
                    return Err(Error::other("container init is not pivot's child"))
                }
                Err(e) => return Err(e),
            }
        }
        let sig = sys::sigwait(&sigs)?;
        if sig == sys::SIGWINCH {
            if let Some(p) = proxy {
                p.resize();
            }
        } else if sig != sys::SIGCHLD && sig != sys::SIGURG {
            let _ = sys::kill(init_pid, sig);
        }
    }
}
