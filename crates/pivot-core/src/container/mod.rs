//! The container operations behind the CLI: create, start, state, kill,
//! delete, list and run.
//!
//! `create` makes a container (create.rs), `exec` runs a process in one
//! (exec.rs), start, run, kill, delete, pause and resume move it through
//! its life (lifecycle.rs), `update` changes its limits (update.rs), and
//! checkpoint.rs dumps and restores it through CRIU. What only reads a
//! container (state, list, ps, events) is here.

pub mod checkpoint;
pub(crate) mod create;
mod exec;
mod lifecycle;
mod update;

pub use create::CreateOptions;
pub use exec::ExecOptions;

use crate::cgroups;
use crate::error::{Error, ErrorKind, Result};
use crate::spec;
use crate::state::{self, Saved, StateDir, Status};
use std::path::{Path, PathBuf};

/// Where container state lives (`--root`), and where warnings go (failed
/// poststart and poststop hooks do not fail the command).
pub struct Runtime {
    pub root: PathBuf,
    pub warn: fn(&str),
    /// runc's rootless cgroup manager: a cgroup that cannot be made or
    /// joined for want of permission is done without, unless
    /// linux.cgroupsPath names it or a limit needs it.
    pub rootless_cgroups: bool,
    /// `--systemd-cgroup`: new containers get their cgroup from systemd.
    pub systemd_cgroup: bool,
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime {
            root: root.into(),
            warn: |_| {},
            rootless_cgroups: false,
            systemd_cgroup: false,
        }
    }

    pub fn with_rootless_cgroups(mut self, rootless: bool) -> Self {
        self.rootless_cgroups = rootless;
        self
    }

    pub fn with_warn(mut self, warn: fn(&str)) -> Self {
        self.warn = warn;
        self
    }

    pub fn with_systemd_cgroup(mut self, on: bool) -> Self {
        self.systemd_cgroup = on;
        self
    }

    /// The runtime-spec state JSON.
    pub fn state(&self, id: &str) -> Result<serde_json::Value> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        let status = state::status(&sd, &saved);
        Ok(state::oci_state(&saved, status))
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

    /// The host pids of the container's processes (`ps`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let (sd, _lock, saved) = StateDir::open_locked(&self.root, id)?;
        // A rootless container whose caller could make no cgroup has none
        // to list its processes from: an error, as runc's.
        if saved.cgroups.is_empty() && state::status(&sd, &saved) != Status::Stopped {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the container has no cgroup to list its processes from (rootless, without cgroup permission)",
            ));
        }
        // A stopped container has no processes, or only those that outlived
        // an init without a pid namespace; as runc, not an error.
        match cgroups::pids(&saved.cgroups) {
            Err(_) if state::status(&sd, &saved) == Status::Stopped => Ok(Vec::new()),
            r => r,
        }
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

pub(crate) fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(format!("absolute path of {}", p.display()), e))
}
