//! The state store: `<root>/<id>/` holds `state.json` (written atomically),
//! `exec.fifo` while the container is created but not started, and `lock`,
//! which serializes commands on one container.

use crate::cgroups::CgroupDir;
use crate::error::{Error, ErrorKind, Result};
use crate::sys;
use crate::sys::OFlags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";
pub const FIFO: &str = "exec.fifo";
const LOCK: &str = "lock";

/// What pivot remembers about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    /// The init's pid in pivot's pid namespace.
    pub pid: i32,
    /// The init's start time (clock ticks since boot, /proc/<pid>/stat
    /// field 22): a recycled pid has another.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub cgroups: Vec<CgroupDir>,
    /// /proc/<pid>/ns/* paths the container has (for exec and joins).
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
    /// The spec the container was created from (hooks, exec defaults).
    pub config: crate::spec::Spec,
    /// The container got pivot's sd_notify socket (NOTIFY_SOCKET at create).
    #[serde(default)]
    pub notify_socket: bool,
    /// A process that may ptrace pivot's (selfexe.rs) can be in the
    /// container's pid namespace: its `exec`s run from the read-only view.
    #[serde(default)]
    pub pid_ns_exposed: bool,
    /// The resctrl group of linux.intelRdt, if any.
    #[serde(default)]
    pub intel_rdt: Option<crate::intelrdt::Group>,
    /// The systemd unit holding the container's cgroup (--systemd-cgroup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<crate::cgroups::systemd::Unit>,
}

/// The container's status, as runc reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A container's state directory.
pub struct StateDir {
    pub dir: PathBuf,
}

/// An exclusive lock on one container, held until dropped.
pub struct Lock {
    _fd: OwnedFd,
}

impl Lock {
    /// Turn a shared lock into an exclusive one (not atomically: flock
    /// drops the shared lock first, so two converting holders cannot
    /// deadlock), waiting for every other holder to let go.
    pub fn make_exclusive(&self) -> Result<()> {
        sys::flock(self._fd.as_fd(), sys::Lock::Exclusive)
    }

    /// Whether the locked file is still `sd`'s lock file: a create that
    /// failed removes the directory, and another may then make it anew,
    /// with a new lock, while this one was waiting.
    pub fn is_current(&self, sd: &StateDir) -> bool {
        let (Ok(held), Ok(now)) = (
            sys::fstat(self._fd.as_fd()),
            sys::lstatat(sys::cwd(), &sd.dir.join(LOCK).to_string_lossy()),
        ) else {
            return false;
        };
        (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)
    }
}

impl StateDir {
    pub fn new(root: &Path, id: &str) -> Self {
        StateDir { dir: root.join(id) }
    }

    pub fn exists(&self) -> bool {
        self.dir.join(STATE_FILE).exists()
    }

    /// Reserve the directory for a new container: fails if it exists.
    pub fn reserve(root: &Path, id: &str) -> Result<(StateDir, Lock)> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| Error::io(format!("mkdir {}", root.display()), e))?;
        let sd = StateDir::new(root, id);
        match std::fs::DirBuilder::new().mode(0o711).create(&sd.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("container with id {id:?} already exists"),
                ))
            }
            Err(e) => return Err(Error::io(format!("mkdir {}", sd.dir.display()), e)),
        }
        let lock = sd.lock()?;
        Ok((sd, lock))
    }

    /// Open an existing container's directory and lock it.
    pub fn open_locked(root: &Path, id: &str) -> Result<(StateDir, Lock, Saved)> {
        crate::spec::validate_id(id)?;
        let sd = StateDir::new(root, id);
        let not_found = || {
            Error::new(
                ErrorKind::NotFound,
                format!("container {id:?} does not exist"),
            )
        };
        if !sd.dir.is_dir() {
            return Err(not_found());
        }
        let lock = sd.lock().map_err(|_| not_found())?;
        let saved = sd.load().map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                not_found()
            } else {
                e
            }
        })?;
        Ok((sd, lock, saved))
    }

    pub fn lock(&self) -> Result<Lock> {
        let path = self.dir.join(LOCK);
        let fd = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        let fd = OwnedFd::from(fd);
        sys::flock(fd.as_fd(), sys::Lock::Exclusive)?;
        Ok(Lock { _fd: fd })
    }

    /// A shared lock on the state directory itself, held by an exec from
    /// before it reads the state until its process runs (an exec that
    /// lets something ptrace in the container's pid namespace makes it
    /// exclusive: see Containers::exec). None when there is no such
    /// container (the state's own lock says so).
    pub fn exec_gate(&self) -> Option<Lock> {
        let fd = sys::openat(
            sys::cwd(),
            &self.dir.to_string_lossy(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
            0,
        )
        .ok()?;
        sys::flock(fd.as_fd(), sys::Lock::Shared).ok()?;
        Some(Lock { _fd: fd })
    }

    pub fn load(&self) -> Result<Saved> {
        let path = self.dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(ErrorKind::NotFound, format!("{} not found", path.display()))
            } else {
                Error::io(format!("read {}", path.display()), e)
            }
        })?;
        // pivot's own JSON, keys as it wrote them: none of config.json's
        // case folding (which, for `list`, cost more than the rest).
        serde_json::from_str(&text).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
    }

    /// Write state.json atomically: a temp file renamed over (no fsync: the
    /// state lives on a tmpfs like /run and dies with the machine, as runc's).
    pub fn save(&self, saved: &Saved) -> Result<()> {
        let data = serde_json::to_vec(saved).map_err(|e| Error::other(e.to_string()))?;
        write_atomic(&self.dir.join(STATE_FILE), &data, 0o600)
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(FIFO)
    }

    /// Remove the whole directory.
    pub fn destroy(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("remove {}", self.dir.display()), e)),
        }
    }
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// Write a file atomically (temp + rename), never following a symlink at
/// the temp name.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| Error::io(format!("create {}", tmp.display()), e))?;
    let r = f.write_all(data).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(format!("write {}", path.display()), e));
    }
    Ok(())
}

/// Start time and state letter of a process from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // after ") ": field 3 (state) is index 0; field 22 (starttime) is 19.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

/// Whether the saved init is still alive: same pid, same start time, and
/// neither dead nor a zombie.
pub fn init_alive(saved: &Saved) -> bool {
    if saved.pid <= 0 {
        return false;
    }
    match proc_stat(saved.pid) {
        Some((start, state)) => start == saved.pid_start && state != 'Z' && state != 'X',
        None => false,
    }
}

/// Derive the status as runc does.
pub fn status(sd: &StateDir, saved: &Saved) -> Status {
    if !init_alive(saved) {
        return Status::Stopped;
    }
    if crate::cgroups::is_frozen(&saved.cgroups) {
        return Status::Paused;
    }
    if sd.fifo_path().exists() {
        Status::Created
    } else {
        Status::Running
    }
}

/// The runtime-spec state, shaped as `runc state` prints it.
pub fn oci_state(saved: &Saved, status: Status) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ociVersion": crate::spec::default::OCI_VERSION,
        "id": saved.id,
        "pid": if status == Status::Stopped { 0 } else { saved.pid },
        "status": status.as_str(),
        "bundle": saved.bundle,
        "rootfs": saved.rootfs,
        "created": saved.created,
        "owner": saved.owner,
    });
    if !saved.annotations.is_empty() {
        v["annotations"] = serde_json::json!(saved.annotations);
    }
    v
}
