//! `checkpoint` and `restore`, through CRIU (criu/): what runc asks of
//! CRIU, asked the same way, so images move between the two.
//!
//! A checkpoint dumps the container's process tree with its namespaces,
//! mounts and cgroups into an image directory and, unless the container is
//! to keep running, removes the container. The mounts whose source is
//! outside the container (binds, the host's cgroup directories, /dev/null
//! over masked files) are dumped as external, named by their mountpoint;
//! a restore maps each name back to the host path config.json gives.
//!
//! A restore makes the container anew from its bundle (state directory,
//! cgroups), then lets CRIU rebuild the tree in it. CRIU needs the rootfs
//! at a mountpoint, with every mountpoint the restored mounts need: pivot
//! first moves itself into a mount namespace of its own (a slave copy of
//! the host's, so nothing it mounts is seen outside), binds the rootfs
//! there and makes the mountpoints through the binds, as runc does on the
//! host. The restored init is pivot's child (CRIU's sibling): `restore`
//! in the foreground waits for it as `run` does.

use super::absolute;
use super::create::{intel_rdt_group, load_plan, saved_state, write_pid_file};
use super::lifecycle::{destroy, forwarded_signals, wait_forwarding};
use crate::cgroups::{self, CgroupDir};
use crate::criu::{self, Notification};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::rootfs::resolve::Root;
use crate::spec::{self, MountKind, NsKind, Plan};
use crate::state::{self, Saved, StateDir, Status};
use crate::sys::{self, mountflags::*};
use crate::{hooks, process, CreateOptions, Runtime};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The stdio of the dumped init, for a restore to reconnect (runc's file).
const DESCRIPTORS: &str = "descriptors.json";
/// The CRIU configuration file used when config.json names none.
pub const DEFAULT_CRIU_CONFIG: &str = "/etc/pivot/criu.conf";
/// The annotation naming a container's own CRIU configuration file ("" for
/// none at all), as runc reads it.
const CRIU_CONFIG_ANNOTATION: &str = "org.criu.config";

/// `checkpoint`'s and `restore`'s flags, as runc names them.
#[derive(Debug, Clone, Default)]
pub struct CriuOptions {
    pub image_path: PathBuf,
    /// Where CRIU's log and work files go (default: the image directory).
    pub work_path: Option<PathBuf>,
    /// A pre-dump's images, relative to the image directory.
    pub parent_path: Option<String>,
    pub leave_running: bool,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub pre_dump: bool,
    pub lazy_pages: bool,
    /// An fd CRIU writes \0 to once its lazy page server is ready.
    pub status_fd: Option<i32>,
    /// ADDRESS:PORT of a page server.
    pub page_server: Option<String>,
    pub manage_cgroups_mode: Option<String>,
    /// Namespaces made empty on restore instead of restored ("network").
    pub empty_ns: Vec<String>,
    pub auto_dedup: bool,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
}

/// Where `path` lands inside `root` when symlinks are followed as if
/// `root` were "/" and `..` cannot leave it; components that do not exist
/// are kept as written. An absolute path inside the root.
pub fn resolve_in_root(root: &Path, path: &str) -> String {
    let mut done: Vec<String> = Vec::new();
    let mut todo: Vec<String> = path.split('/').rev().map(String::from).collect();
    let mut links = 0;
    while let Some(name) = todo.pop() {
        match name.as_str() {
            "" | "." => {}
            ".." => {
                done.pop();
            }
            _ => {
                let candidate = root.join(done.join("/")).join(&name);
                let link = std::fs::symlink_metadata(&candidate)
                    .ok()
                    .filter(|m| m.file_type().is_symlink())
                    .and_then(|_| std::fs::read_link(&candidate).ok());
                match link {
                    Some(target) if links < 255 => {
                        links += 1;
                        let target = target.to_string_lossy().into_owned();
                        if target.starts_with('/') {
                            done.clear();
                        }
                        todo.extend(target.split('/').rev().map(String::from));
                    }
                    _ => done.push(name),
                }
            }
        }
    }
    format!("/{}", done.join("/"))
}

/// A directory for images or work files, made (0700) if missing.
fn open_dir(path: &Path, flag: &str, create: bool) -> Result<OwnedFd> {
    if create {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| Error::io(format!("{flag}: mkdir {}", path.display()), e))?;
    }
    sys::openat(
        sys::cwd(),
        &path.to_string_lossy(),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .with_ctx(|| format!("{flag} {}", path.display()))
}

/// --parent-path: relative to the image directory, and there.
fn check_parent(images: &Path, parent: &str) -> Result<()> {
    if Path::new(parent).is_absolute() {
        return Err(Error::invalid(format!(
            "--parent-path {parent:?} must be relative (to --image-path)"
        )));
    }
    // Joined as words, as runc joins it: "../parent" of a missing image
    // directory is still its sibling.
    let real = PathBuf::from(spec::plan::clean_path(
        &images.join(parent).to_string_lossy(),
    ));
    match std::fs::metadata(&real) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "invalid --parent-path: {} is not a directory",
            real.display()
        ))),
        Err(e) => Err(Error::invalid(format!(
            "invalid --parent-path: {}: {e}",
            real.display()
        ))),
    }
}

/// The options both directions share.
fn base_opts(o: &CriuOptions, spec: &spec::Spec) -> Result<criu::Opts> {
    let mut empty_ns = 0;
    for ns in &o.empty_ns {
        match ns.as_str() {
            "network" | "net" => empty_ns |= libc::CLONE_NEWNET as u32,
            _ => {
                return Err(Error::invalid(format!(
                    "--empty-ns {ns:?}: only the network namespace can be left empty"
                )))
            }
        }
    }
    let config_file = match spec
        .annotations
        .as_ref()
        .and_then(|a| a.get(CRIU_CONFIG_ANNOTATION))
    {
        Some(f) if f.is_empty() => None,
        Some(f) => Some(f.clone()),
        None => Some(DEFAULT_CRIU_CONFIG.to_string()),
    };
    let page_server = match &o.page_server {
        Some(ps) => {
            let (addr, port) = ps.rsplit_once(':').ok_or_else(|| {
                Error::invalid(format!("--page-server {ps:?}: want ADDRESS:PORT"))
            })?;
            let port: i32 = port
                .parse()
                .map_err(|_| Error::invalid(format!("--page-server {ps:?}: bad port")))?;
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            Some((addr.to_string(), port))
        }
        None => None,
    };
    Ok(criu::Opts {
        log_level: 4,
        manage_cgroups: true,
        notify_scripts: true,
        orphan_pts_master: true,
        shell_job: o.shell_job,
        ext_unix_sk: o.ext_unix_sk,
        tcp_established: o.tcp_established,
        file_locks: o.file_locks,
        auto_dedup: o.auto_dedup,
        lazy_pages: o.lazy_pages,
        empty_ns,
        manage_cgroups_mode: o
            .manage_cgroups_mode
            .as_deref()
            .map(criu::cgroup_mode)
            .transpose()?,
        config_file,
        page_server,
        ..Default::default()
    })
}

/// The mounts whose source is outside the container, as (name, host
/// path): every bind, the host's cgroup directories bound without a cgroup
/// namespace, and the device nodes bound into a user namespace. The name
/// is the mountpoint, symlinks resolved in the rootfs as runc resolves it.
fn external_mounts(plan: &Plan, dirs: &[CgroupDir]) -> Vec<(String, String)> {
    let at = |dest: &str| resolve_in_root(&plan.rootfs, dest);
    let mut out = Vec::new();
    let cgroupns = plan.namespaces.has(NsKind::Cgroup);
    let unified = dirs.len() == 1 && dirs[0].hierarchy.is_v2();
    for m in &plan.mounts {
        if m.is_bind() {
            out.push((at(&m.destination), m.source.clone()));
        } else if m.kind == MountKind::Cgroup && !cgroupns {
            for d in dirs {
                let host = d.path().to_string_lossy().into_owned();
                if unified {
                    out.push((at(&m.destination), host));
                } else if !d.hierarchy.is_v2() {
                    let name = d
                        .hierarchy
                        .mount
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| d.hierarchy.controllers.clone());
                    out.push((at(&format!("{}/{name}", m.destination)), host));
                }
            }
        }
    }
    if plan.namespaces.has(NsKind::User) {
        for d in plan.spec_devices() {
            out.push((at(&d.path), d.path.clone()));
        }
    }
    out
}

/// `extRootNetNS`/`extRootPidNS`: a joined namespace stays outside the
/// images; CRIU names it by inode at dump and takes an fd at restore.
const EXTERNAL_NS: [(NsKind, &str, &str); 2] = [
    (NsKind::Net, "net", "extRootNetNS"),
    (NsKind::Pid, "pid", "extRootPidNS"),
];

fn joined(plan: &Plan, kind: NsKind) -> Option<&str> {
    plan.namespaces
        .join
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| p.as_str())
}

/// A path under /proc/<pid>/root/ that is a directory, looked up inside
/// the container's root.
fn is_dir_in(pid: i32, path: &str) -> Option<bool> {
    let root = Root::open(&format!("/proc/{pid}/root")).ok()?;
    let fd = root.open_path(path, false).ok()?;
    let st = sys::fstat(fd.as_fd()).ok()?;
    Some(sys::file_type(&st) == sys::FileType::Dir)
}

fn masked_paths(spec: &spec::Spec) -> &[String] {
    spec.linux
        .as_ref()
        .map(|l| &l.masked_paths[..])
        .unwrap_or(&[])
}

impl Runtime {
    /// Dump a running container into `o.image_path`; it is removed after
    /// unless --leave-running or --pre-dump.
    pub fn checkpoint(&self, id: &str, o: &CriuOptions) -> Result<()> {
        let (sd, lock, saved) = StateDir::open_locked(&self.root, id)?;
        match state::status(&sd, &saved) {
            Status::Running | Status::Paused => {}
            s => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    format!("cannot checkpoint a container that is {}", s.as_str()),
                ))
            }
        }
        let images = absolute(&o.image_path)?;
        if let Some(p) = &o.parent_path {
            check_parent(&images, p)?;
        }
        let plan = spec::build_plan(&saved.id, &saved.bundle, saved.config.clone())?;
        let images_fd = open_dir(&images, "--image-path", true)?;
        let work = absolute(o.work_path.as_ref().unwrap_or(&images))?;
        let work_fd = open_dir(&work, "--work-path", true)?;
        let mut opts = base_opts(o, &saved.config)?;
        opts.images_dir_fd = images_fd.as_raw_fd();
        opts.work_dir_fd = Some(work_fd.as_raw_fd());
        opts.log_file = "dump.log".into();
        opts.root = saved.rootfs.to_string_lossy().into_owned();
        opts.pid = Some(saved.pid);
        opts.leave_running = o.leave_running;
        opts.freeze_cgroup = freezer_dir(&saved.cgroups);
        for (name, _) in external_mounts(&plan, &saved.cgroups) {
            opts.ext_mnt.push((name.clone(), name));
        }
        for p in masked_paths(&saved.config) {
            if is_dir_in(saved.pid, p) == Some(false) {
                opts.ext_mnt.push((p.clone(), "/dev/null".into()));
            }
        }
        for (kind, short, key) in EXTERNAL_NS {
            if let Some(path) = joined(&plan, kind) {
                let st = sys::fstatat(sys::cwd(), path, 0)
                    .with_ctx(|| format!("linux.namespaces: {short} namespace {path:?}"))?;
                opts.external.push(format!("{short}[{}]:{key}", st.st_ino));
            }
        }
        let kind = if o.pre_dump {
            opts.track_mem = true;
            criu::PRE_DUMP
        } else {
            if let Some(p) = &o.parent_path {
                opts.parent_img = Some(p.clone());
                opts.track_mem = true;
            }
            criu::DUMP
        };
        // What the init's stdio was, for a restore to reconnect its pipes.
        let fds: Vec<String> = (0..3)
            .map(|fd| std::fs::read_link(format!("/proc/{}/fd/{fd}", saved.pid)))
            .map(|l| {
                l.map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        state::write_atomic(
            &images.join(DESCRIPTORS),
            serde_json::to_string(&fds).unwrap_or_default().as_bytes(),
            0o600,
        )
        .ctx("--image-path")?;
        crate::debug::log(|| format!("checkpoint: criu request {kind} for pid {}", saved.pid));
        // A lazy dump lasts until its pages have been fetched, which may be
        // never: the container's other commands (a `delete -f` of a
        // migration given up) must not wait for it.
        let lock = if o.lazy_pages {
            drop(lock);
            None
        } else {
            Some(lock)
        };
        // As runc with CRIU 3.15 and later: CRIU says when its page server
        // is ready, and pivot writes the zero byte to --status-fd.
        let mut on_notify = |n: Notification| -> Result<()> {
            if let (Some(fd), "status-ready") = (o.status_fd, n.script.as_str()) {
                sys::write_fd_number(fd, &[0]).ctx("--status-fd")?;
            }
            Ok(())
        };
        criu::call(
            kind,
            &opts,
            &[images_fd.as_fd(), work_fd.as_fd()],
            criu::Stdio::Null,
            &work.join("dump.log"),
            &mut on_notify,
        )?;
        if !(o.leave_running || o.pre_dump) {
            let _lock = match lock {
                Some(l) => Some(l),
                None => sd.lock().ok(),
            };
            if !sd.exists() {
                // Deleted while a lazy dump ran: nothing left to remove.
                return Ok(());
            }
            destroy(&sd, &saved)?;
            if let Some(h) = saved.config.hooks.as_ref() {
                let state = hooks::saved_state(&saved, "stopped");
                hooks::run_all_warn("poststop", &h.poststop, &state, self.warn);
            }
        }
        Ok(())
    }

    /// Make container `id` from its bundle and the images in
    /// `o.image_path`. Detached: return once it runs. Else wait for it,
    /// forwarding signals, delete it and return its exit status.
    pub fn restore(
        &self,
        id: &str,
        create: &CreateOptions,
        o: &CriuOptions,
        detach: bool,
    ) -> Result<i32> {
        let plan = load_plan(id, create)?;
        if plan.process.terminal && create.console_socket.is_none() && detach {
            return Err(Error::invalid(
                "process.terminal: cannot restore a terminal without --console-socket when detached",
            ));
        }
        let images = absolute(&o.image_path)?;
        // Every fd criu gets must be opened in the mount namespace it runs
        // in (a directory of another namespace's mount cannot be mounted
        // on), so pivot moves to its own first.
        private_mount_namespace()?;
        let images_fd = open_dir(&images, "--image-path", false)?;
        let work = absolute(o.work_path.as_ref().unwrap_or(&images))?;
        if !detach {
            sys::set_child_subreaper()?;
        }
        if StateDir::new(&self.root, id).dir.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("container with id {id:?} already exists"),
            ));
        }
        let (sd, lock) = StateDir::reserve(&self.root, id)?;
        let mut dirs = Vec::new();
        let mut restored = Restored::default();
        let r = self.restore_in(
            &sd,
            &plan,
            create,
            o,
            (&images, images_fd, &work),
            &mut dirs,
            &mut restored,
        );
        if let Err(e) = r {
            if let Some(pid) = restored.pid {
                let _ = sys::kill(pid, libc::SIGKILL);
            }
            let saved = restored
                .saved
                .unwrap_or_else(|| saved_state(&plan, 0, &dirs));
            let _ = destroy(&sd, &saved);
            let _ = cgroups::remove(&dirs);
            let _ = sd.destroy();
            return Err(e);
        }
        drop(lock);
        if detach {
            return Ok(0);
        }
        let pid = restored.pid.unwrap_or(0);
        let old_mask = sys::sigprocmask_block(&forwarded_signals())?;
        let proxy = match restored.master.take() {
            Some(m) => Some(process::tty::Proxy::start(m)?),
            None => None,
        };
        let result = wait_forwarding(pid, proxy.as_ref());
        if let Some(p) = proxy {
            p.finish();
        }
        let _ = sys::sigprocmask_set(&old_mask);
        let code = result?;
        self.delete(id, true)?;
        Ok(code)
    }

    #[allow(clippy::too_many_arguments)]
    fn restore_in(
        &self,
        sd: &StateDir,
        plan: &Plan,
        create: &CreateOptions,
        o: &CriuOptions,
        (images, images_fd, work): (&Path, OwnedFd, &Path),
        dirs: &mut Vec<CgroupDir>,
        restored: &mut Restored,
    ) -> Result<()> {
        if self.systemd_cgroup {
            return Err(Error::unsupported(
                "--systemd-cgroup: restoring into a systemd unit is not supported yet",
            ));
        }
        self.make_cgroups(plan, dirs)?;
        let work_fd = open_dir(work, "--work-path", true)?;
        let mut opts = base_opts(o, &plan.spec)?;
        opts.images_dir_fd = images_fd.as_raw_fd();
        opts.work_dir_fd = Some(work_fd.as_raw_fd());
        opts.log_file = "restore.log".into();
        opts.evasive_devices = true;
        opts.rst_sibling = true;
        opts.lsm_profile = o.lsm_profile.clone();
        opts.lsm_mount_context = o.lsm_mount_context.clone();
        for d in dirs.iter() {
            let ctrl = (!d.hierarchy.is_v2()).then(|| d.hierarchy.controllers.clone());
            opts.cg_root.push((ctrl, d.inner.clone()));
        }
        // The dumped init's stdio pipes are the caller's stdio now.
        if let Ok(text) = std::fs::read_to_string(images.join(DESCRIPTORS)) {
            let fds: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
            for (i, f) in fds.iter().enumerate().take(3) {
                if f.contains("pipe:") {
                    opts.inherit_fd.push((f.clone(), i as i32));
                }
            }
        }
        let mut pass = vec![images_fd.as_fd(), work_fd.as_fd()];
        let mut ns_fds = Vec::new();
        for (kind, short, key) in EXTERNAL_NS {
            if let Some(path) = joined(plan, kind) {
                let fd = sys::openat(sys::cwd(), path, libc::O_RDONLY, 0)
                    .with_ctx(|| format!("linux.namespaces: {short} namespace {path:?}"))?;
                opts.inherit_fd.push((key.to_string(), fd.as_raw_fd()));
                ns_fds.push(fd);
            }
        }
        pass.extend(ns_fds.iter().map(|f| f.as_fd()));
        let criu_root = sd.dir.join("criu-root");
        opts.root = criu_root.to_string_lossy().into_owned();
        for (name, host) in external_mounts(plan, dirs) {
            opts.ext_mnt.push((name, host));
        }
        if !masked_paths(&plan.spec).is_empty() {
            opts.ext_mnt.push(("/dev/null".into(), "/dev/null".into()));
        }
        prepare_criu_root(plan, &criu_root)?;
        let console = create.console_socket.clone();
        let mut on_notify = |n: Notification| -> Result<()> {
            match n.script.as_str() {
                "setup-namespaces" => {
                    if let Some(h) = plan.spec.hooks.as_ref() {
                        let state = hooks::plan_state(plan, "creating", n.pid);
                        hooks::run_all("prestart", &h.prestart, &state)?;
                        hooks::run_all("createRuntime", &h.create_runtime, &state)?;
                    }
                }
                "post-restore" => {
                    restored.pid = Some(n.pid);
                    let mut saved = saved_state(plan, n.pid, dirs);
                    saved.intel_rdt = intel_rdt_group(plan, n.pid)?;
                    sd.save(&saved)?;
                    restored.saved = Some(saved);
                    if let Some(p) = &create.pid_file {
                        write_pid_file(p, n.pid)?;
                    }
                }
                "orphan-pts-master" => {
                    let master =
                        n.fd.ok_or_else(|| Error::other("criu sent no pty master"))?;
                    match &console {
                        Some(path) => {
                            let sock = sys::unix_connect(&path.to_string_lossy())
                                .ctx("--console-socket")?;
                            sys::send_msg(sock.as_fd(), b"/dev/ptmx", Some(master.as_fd()))
                                .ctx("--console-socket")?;
                        }
                        None => restored.master = Some(master),
                    }
                }
                _ => {}
            }
            Ok(())
        };
        let r = criu::call(
            criu::RESTORE,
            &opts,
            &pass,
            criu::Stdio::Inherit,
            &work.join("restore.log"),
            &mut on_notify,
        );
        let _ = sys::umount_detach(&criu_root.to_string_lossy());
        let _ = std::fs::remove_dir(&criu_root);
        let resp = r?;
        if restored.pid.is_none() {
            let pid = resp
                .restored_pid
                .ok_or_else(|| Error::other("criu restored no process"))?;
            restored.pid = Some(pid);
            let saved = saved_state(plan, pid, dirs);
            sd.save(&saved)?;
            restored.saved = Some(saved);
        }
        Ok(())
    }
}

/// What a restore has made so far, for its cleanup and its foreground.
#[derive(Default)]
struct Restored {
    pid: Option<i32>,
    saved: Option<Saved>,
    /// A terminal's master when pivot itself is the console.
    master: Option<OwnedFd>,
}

/// The freezer CRIU freezes the tree with: the v1 freezer's directory or
/// the unified cgroup.
fn freezer_dir(dirs: &[CgroupDir]) -> Option<String> {
    let unified = dirs.len() == 1 && dirs[0].hierarchy.is_v2();
    dirs.iter()
        .find(|d| d.hierarchy.has("freezer") || unified)
        .map(|d| d.path().to_string_lossy().into_owned())
}

/// Move pivot into a mount namespace of its own, a slave of the host's:
/// what it mounts there is seen by nobody else and goes with it.
fn private_mount_namespace() -> Result<()> {
    sys::unshare(libc::CLONE_NEWNS as u64).ctx("restore: a private mount namespace")?;
    sys::mount(None, "/", None, MS_SLAVE | MS_REC, None).ctx("restore: a private mount namespace")
}

/// In pivot's own mount namespace: bind the rootfs at `criu_root` and
/// make the mountpoint of every mount not inside a tmpfs (CRIU brings a
/// tmpfs back with its contents), binding each bind mount on the way so
/// that mountpoints inside it are made where the container will see them.
fn prepare_criu_root(plan: &Plan, criu_root: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(criu_root)
        .map_err(|e| Error::io(format!("mkdir {}", criu_root.display()), e))?;
    let target = criu_root.to_string_lossy().into_owned();
    let rootfs = plan.rootfs.to_string_lossy().into_owned();
    sys::mount(Some(&rootfs), &target, None, MS_BIND | MS_REC, None).ctx("root.path")?;
    let root = Root::open(&target)?;
    let tmpfs: Vec<&str> = plan
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Tmpfs)
        .map(|m| m.destination.as_str())
        .collect();
    let under = |dest: &str, dir: &str| {
        let dir = dir.trim_end_matches('/');
        dest.starts_with(dir) && dest[dir.len()..].starts_with('/')
    };
    for m in &plan.mounts {
        if tmpfs.iter().any(|t| under(&m.destination, t)) {
            continue;
        }
        let file = m.is_bind() && std::fs::metadata(&m.source).is_ok_and(|st| !st.is_dir());
        let dest = if file {
            root.mkfile(&m.destination, 0o755)
        } else {
            root.mkdir_all(&m.destination, 0o755)
        }
        .with_ctx(|| format!("{}: destination {:?}", m.field(), m.destination))?;
        if m.is_bind() {
            let tree = sys::open_tree(sys::cwd(), &m.source, true)
                .with_ctx(|| format!("{}: source {:?}", m.field(), m.source))?;
            sys::move_mount(tree.as_fd(), dest.as_fd(), &m.destination).with_ctx(|| m.field())?;
        }
    }
    Ok(())
}

// The tests build scratch trees on the host, where host paths are meant.
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn resolve_follows_symlinks_inside_the_root() {
        let dir =
            Scratch(std::env::temp_dir().join(format!("pivot-resolve-{}", std::process::id())));
        let r = &dir.0;
        std::fs::create_dir_all(r.join("real/conf")).unwrap();
        std::os::unix::fs::symlink("/real/conf", r.join("conf")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", r.join("real/up")).unwrap();
        std::os::unix::fs::symlink("conf", r.join("real/rel")).unwrap();
        assert_eq!(resolve_in_root(r, "/conf"), "/real/conf");
        assert_eq!(resolve_in_root(r, "/conf/x/y"), "/real/conf/x/y");
        assert_eq!(resolve_in_root(r, "/real/up"), "/etc");
        assert_eq!(resolve_in_root(r, "/real/rel/z"), "/real/conf/z");
        assert_eq!(resolve_in_root(r, "/a/../../b/./c"), "/b/c");
        assert_eq!(resolve_in_root(r, "/"), "/");
    }

    #[test]
    fn parent_path_must_be_relative_and_exist() {
        let dir =
            Scratch(std::env::temp_dir().join(format!("pivot-parent-{}", std::process::id())));
        std::fs::create_dir_all(dir.0.join("images")).unwrap();
        std::fs::create_dir_all(dir.0.join("parent")).unwrap();
        let images = dir.0.join("images");
        assert!(check_parent(&images, "../parent").is_ok());
        // The image directory need not exist yet.
        assert!(check_parent(&dir.0.join("not-yet"), "../parent").is_ok());
        let abs = dir.0.join("parent").to_string_lossy().into_owned();
        assert!(check_parent(&images, &abs)
            .unwrap_err()
            .to_string()
            .contains("--parent-path"));
        assert!(check_parent(&images, "../missing")
            .unwrap_err()
            .to_string()
            .contains("--parent-path"));
    }
}
