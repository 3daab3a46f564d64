//! cgroups for the cgroupfs driver: find the mounted hierarchies (v1, the
//! hybrid cgroup2 tree, or unified v2), place the container's cgroup in each
//! as runc does, and remove only what pivot created.

use crate::error::{Context, Error, ErrorKind, Result};
use crate::sys;
use crate::sys::OFlags;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub mod devices;
pub mod freezer;
pub mod resources;
pub mod stats;
pub mod systemd;

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hierarchy {
    /// Comma-separated controllers ("cpu,cpuacct", "name=systemd"); empty
    /// for the cgroup2 tree.
    pub controllers: String,
    /// Where it is mounted on the host.
    pub mount: PathBuf,
    /// The mount's root within the hierarchy (mountinfo field 4).
    pub root: String,
}

impl Hierarchy {
    pub fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

/// The container's directory in one hierarchy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CgroupDir {
    pub hierarchy: Hierarchy,
    /// Path inside the hierarchy, e.g. "/process_api/x/web".
    pub inner: String,
    /// The directories pivot made, deepest last; only these are removed.
    #[serde(default)]
    pub created: Vec<PathBuf>,
}

impl CgroupDir {
    pub fn path(&self) -> PathBuf {
        let rel = self
            .inner
            .strip_prefix(&self.hierarchy.root)
            .unwrap_or(&self.inner);
        self.hierarchy.mount.join(rel.trim_start_matches('/'))
    }
}

/// Parse mountinfo text for cgroup and cgroup2 mounts.
pub fn parse_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for m in crate::mountinfo::parse(mountinfo.as_bytes()) {
        let controllers = match m.fs_type.as_str() {
            "cgroup2" => String::new(),
            "cgroup" => m
                .super_options
                .split(',')
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro" | "relatime" | "noatime" | "nosuid" | "nodev" | "noexec"
                    ) && !o.starts_with("release_agent=")
                        && *o != "clone_children"
                        && *o != "noprefix"
                        && *o != "xattr"
                        && *o != "cpuset_v2_mode"
                        && *o != "favordynmods"
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        let h = Hierarchy {
            controllers,
            mount: PathBuf::from(m.mount_point),
            root: m.root,
        };
        // The first mount of a hierarchy wins (later ones are binds).
        if !out.iter().any(|o| o.controllers == h.controllers) {
            out.push(h);
        }
    }
    out
}

/// The host's hierarchies, from /proc/self/mountinfo.
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read /proc/self/mountinfo", e))?;
    Ok(parse_hierarchies(&text))
}

/// This process's cgroup in each hierarchy, from /proc/self/cgroup:
/// (controllers, path), with "" controllers for the v2 line.
pub fn own_cgroups() -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| Error::io("read /proc/self/cgroup", e))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctl = it.next()?;
            let path = it.next()?;
            Some((ctl.to_string(), path.to_string()))
        })
        .collect())
}

/// Clean a cgroupsPath and refuse `..`.
fn clean(path: &str) -> Result<String> {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(Error::invalid(format!(
                    "linux.cgroupsPath: {path:?} must not contain \"..\""
                )))
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// Where the container's cgroup lives in each hierarchy. `cgroups_path`
/// as runc's cgroupfs driver reads it: absolute from the hierarchy's root,
/// relative to this process's own cgroup, and `<id>` (relative) when empty.
pub fn plan_dirs(
    hier: &[Hierarchy],
    own: &[(String, String)],
    cgroups_path: Option<&str>,
    id: &str,
) -> Result<Vec<CgroupDir>> {
    let given = cgroups_path.unwrap_or("");
    let absolute = given.starts_with('/');
    let inner = if given.is_empty() {
        id.to_string()
    } else {
        clean(given)?
    };
    if inner.is_empty() {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: {given:?} names the root cgroup"
        )));
    }
    let mut out = Vec::new();
    for h in hier {
        let base = if absolute {
            String::new()
        } else {
            own.iter()
                .find(|(c, _)| {
                    if h.is_v2() {
                        c.is_empty()
                    } else {
                        !c.is_empty() && sorted(c) == sorted(&h.controllers)
                    }
                })
                .map(|(_, p)| {
                    let own = p.trim_end_matches('/');
                    // cgroup v2's "no internal processes" rule: our own
                    // cgroup holds us, so a child of it could get no
                    // controllers; runc puts the container beside it, under
                    // the parent.
                    if h.is_v2() {
                        own.rsplit_once('/')
                            .map_or("", |(parent, _)| parent)
                            .to_string()
                    } else {
                        own.to_string()
                    }
                })
                .unwrap_or_default()
        };
        out.push(CgroupDir {
            hierarchy: h.clone(),
            inner: format!("{base}/{inner}"),
            created: Vec::new(),
        });
    }
    Ok(out)
}

fn sorted(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.split(',').collect();
    v.sort_unstable();
    v
}

fn write_file(path: &Path, data: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
    f.write_all(data.as_bytes())
        .map_err(|e| Error::io(format!("write {:?} to {}", data, path.display()), e))
}

/// The sub-cgroups of the container's that `exec --cgroup` names, as runc
/// takes them: each value is `PATH` (every hierarchy) or
/// `CONTROLLER[,CONTROLLER...]:PATH` (those controllers' hierarchies); a
/// value naming a hierarchy's controller wins over a plain one, and
/// hierarchies named by neither stay in the container's cgroup. On a
/// cgroup v2 only host, as with runc 1.5.1, only a plain value counts: one
/// that names controllers (any names) is accepted and left out.
pub fn sub_dirs(dirs: &[CgroupDir], values: &[String]) -> Result<Vec<CgroupDir>> {
    let unified = dirs.iter().all(|d| d.hierarchy.is_v2());
    let mut plain: Option<String> = None;
    let mut named: Vec<(Vec<&str>, String)> = Vec::new();
    for v in values {
        let (ctrls, path) = match v.split_once(':') {
            Some((c, p)) => (Some(c), p),
            None => (None, v.as_str()),
        };
        let path = clean(path).map_err(|_| {
            Error::invalid(format!("--cgroup {v:?}: {path} is not a sub cgroup path"))
        })?;
        match ctrls {
            None => plain = Some(path),
            Some(c) => {
                let list: Vec<&str> = c.split(',').filter(|c| !c.is_empty()).collect();
                if unified {
                    continue;
                }
                if let Some(bad) = list
                    .iter()
                    .find(|c| !dirs.iter().any(|d| d.hierarchy.has(c)))
                {
                    return Err(Error::invalid(format!(
                        "--cgroup {v:?}: unknown controller {bad:?}"
                    )));
                }
                named.push((list, path));
            }
        }
    }
    Ok(dirs
        .iter()
        .map(|d| {
            let sub = named
                .iter()
                .rev()
                .find(|(list, _)| list.iter().any(|c| d.hierarchy.has(c)))
                .map(|(_, p)| p.as_str())
                .or(plain.as_deref())
                .unwrap_or("");
            CgroupDir {
                hierarchy: d.hierarchy.clone(),
                inner: if sub.is_empty() {
                    d.inner.clone()
                } else {
                    format!("{}/{sub}", d.inner.trim_end_matches('/'))
                },
                created: Vec::new(),
            }
        })
        .collect())
}

/// Create the directories that do not exist yet, recording them.
pub fn create(dirs: &mut [CgroupDir]) -> Result<()> {
    dirs.iter_mut().try_for_each(create_one)
}

/// runc's rootless cgroup manager (cgroupfs driver, no linux.cgroupsPath):
/// a hierarchy where the caller may not make or fill the container's
/// cgroup (EPERM, EACCES, EROFS) is done without; it is taken out of
/// `dirs` (anything made in it removed) and returned.
pub fn create_rootless(dirs: &mut Vec<CgroupDir>) -> Result<Vec<Hierarchy>> {
    let mut dropped = Vec::new();
    let mut kept = Vec::new();
    for mut d in std::mem::take(dirs) {
        match create_one(&mut d) {
            Ok(()) => kept.push(d),
            Err(e) if is_permission_error(&e) => {
                let _ = remove(std::slice::from_ref(&d));
                dropped.push(d.hierarchy);
            }
            Err(e) => {
                kept.push(d);
                *dirs = kept;
                return Err(e);
            }
        }
    }
    *dirs = kept;
    Ok(dropped)
}

/// runc's isIgnorableError: what an unprivileged caller gets from a
/// cgroup tree it does not own.
pub fn is_permission_error(e: &Error) -> bool {
    [sys::Errno::PERM, sys::Errno::ACCESS, sys::Errno::ROFS]
        .into_iter()
        .any(|errno| e.is_errno(errno))
}

fn create_one(d: &mut CgroupDir) -> Result<()> {
    let full = d.path();
    let mut missing = Vec::new();
    let mut p = full.as_path();
    while !p.exists() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) if parent.starts_with(&d.hierarchy.mount) => p = parent,
            _ => break,
        }
    }
    for m in missing.into_iter().rev() {
        match std::fs::create_dir(&m) {
            Ok(()) => d.created.push(m.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("mkdir {}", m.display()), e)),
        }
        if d.hierarchy.has("cpuset") {
            inherit_cpuset(&m)?;
        }
    }
    Ok(())
}

/// A new v1 cpuset cgroup starts with empty cpus and mems and refuses
/// tasks; copy the parent's, as runc does. The kernel keeps a child's
/// within its parent's, so an empty ancestor (one made by hand for a pod,
/// say) is filled first, top-down from the nearest ancestor that has
/// them, as runc does too. An empty cpuset cgroup can hold no process, so
/// filling it changes nothing for anything that runs.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let read = |d: &Path| {
            std::fs::read_to_string(d.join(file))
                .map(|v| v.trim().to_string())
                .map_err(|e| Error::io(format!("read {}", d.join(file).display()), e))
        };
        if !read(dir)?.is_empty() {
            continue;
        }
        // The empty ancestors, nearest first, up to one that has a value.
        let mut empty = vec![dir.to_path_buf()];
        let mut cur = dir;
        let value = loop {
            let Some(parent) = cur.parent().filter(|p| p.join(file).exists()) else {
                return Err(Error::invalid(format!(
                    "{}: no ancestor has a {file} to copy",
                    dir.display()
                )));
            };
            let v = read(parent)?;
            if !v.is_empty() {
                break v;
            }
            empty.push(parent.to_path_buf());
            cur = parent;
        };
        for d in empty.iter().rev() {
            write_file(&d.join(file), &value)?;
        }
    }
    Ok(())
}

/// Move the calling (single-threaded) process into the container's cgroup
/// in every hierarchy. On cgroup v1 a thread that moves itself through
/// `tasks` skips the RCU grace period that moving a whole process through
/// `cgroup.procs` waits for (about 12 ms a write here); the cgroup2 tree
/// is joined at clone3 time (CLONE_INTO_CGROUP) when `v2_done`.
pub fn join_self(dirs: &[CgroupDir], v2_done: bool) -> Result<()> {
    for d in dirs {
        let r = if d.hierarchy.is_v2() {
            if v2_done {
                continue;
            }
            write_file(&d.path().join("cgroup.procs"), "0")
        } else {
            write_file(&d.path().join("tasks"), "0")
        };
        r.context_cg(&d.hierarchy)?;
    }
    Ok(())
}

/// The cgroup2 directory process `pid` is in (the `0::` line of
/// /proc/PID/cgroup), in the cgroup2 hierarchy of `dirs`; None on a host
/// without one or when the process is gone.
pub fn v2_dir_of(dirs: &[CgroupDir], pid: i32) -> Option<CgroupDir> {
    let d = dirs.iter().find(|d| d.hierarchy.is_v2())?;
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let inner = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(CgroupDir {
        hierarchy: d.hierarchy.clone(),
        inner: inner.to_string(),
        created: Vec::new(),
    })
}

/// An fd on the container's cgroup2 directory, for CLONE_INTO_CGROUP.
pub fn v2_dir_fd(dirs: &[CgroupDir]) -> Option<std::os::fd::OwnedFd> {
    let d = dirs.iter().find(|d| d.hierarchy.is_v2())?;
    crate::sys::openat(
        crate::sys::cwd(),
        &d.path().to_string_lossy(),
        OFlags::RDONLY | OFlags::DIRECTORY,
        0,
    )
    .ok()
}

trait CgContext<T> {
    fn context_cg(self, h: &Hierarchy) -> Result<T>;
}

impl<T> CgContext<T> for Result<T> {
    fn context_cg(self, h: &Hierarchy) -> Result<T> {
        self.with_ctx(|| {
            if h.is_v2() {
                "cgroup2".to_string()
            } else {
                format!("cgroup {}", h.controllers)
            }
        })
    }
}

/// The pids in the container's cgroup (from the first hierarchy that has
/// them; all hierarchies hold the same processes).
pub fn pids(dirs: &[CgroupDir]) -> Result<Vec<i32>> {
    let pick = dirs
        .iter()
        .find(|d| d.hierarchy.has("pids") || d.hierarchy.has("freezer"))
        .or_else(|| dirs.first());
    let Some(d) = pick else {
        return Ok(Vec::new());
    };
    let file = d.path().join("cgroup.procs");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("read {}", file.display()), e)),
    };
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Processes already in the container's cgroups where pivot did not make
/// them (a pre-existing linux.cgroupsPath), in every hierarchy: a cgroup
/// pivot has just made holds nothing, so the usual create reads nothing.
pub fn preexisting_pids(dirs: &[CgroupDir]) -> Result<Vec<i32>> {
    let mut all = Vec::new();
    for d in dirs {
        let own = d.path();
        if d.created.contains(&own) {
            continue;
        }
        let file = own.join("cgroup.procs");
        match std::fs::read_to_string(&file) {
            Ok(t) => all.extend(t.lines().filter_map(|l| l.trim().parse::<i32>().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("read {}", file.display()), e)),
        }
    }
    all.sort_unstable();
    all.dedup();
    Ok(all)
}

/// Remove the directories pivot created, deepest first, waiting briefly
/// for a cgroup whose last task is still exiting (EBUSY).
pub fn remove(dirs: &[CgroupDir]) -> Result<()> {
    let mut first_err = None;
    for d in dirs {
        // Sub-cgroups the container made in its own cgroup (through a
        // writable cgroup mount) go first, as runc removes them; only
        // below a cgroup pivot created.
        let own = d.path();
        if d.created.contains(&own) {
            if let Err(e) = remove_children(&own) {
                first_err.get_or_insert(e);
            }
        }
        for dir in d.created.iter().rev() {
            if let Err(e) = rmdir_retry(dir) {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// rmdir every cgroup below `dir`, deepest first.
fn remove_children(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("read {}", dir.display()), e)),
    };
    for entry in entries.flatten() {
        // file_type does not follow symlinks; cgroupfs has none anyway.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let sub = entry.path();
            remove_children(&sub)?;
            rmdir_retry(&sub)?;
        }
    }
    Ok(())
}

fn rmdir_retry(dir: &Path) -> Result<()> {
    let mut delay = std::time::Duration::from_millis(1);
    for _ in 0..12 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if sys::Errno::from_io_error(&e) == Some(sys::Errno::BUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(200));
            }
            Err(e) => return Err(Error::io(format!("rmdir {}", dir.display()), e)),
        }
    }
    Err(Error::new(
        ErrorKind::Os(sys::Errno::BUSY.raw_os_error()),
        format!("rmdir {}: still busy", dir.display()),
    ))
}

/// SIGKILL every process of the container through cgroup2's cgroup.kill
/// (Linux 5.14+), which also catches processes forking meanwhile; false
/// where there is none (v1 only, older kernels).
pub fn kill_all(dirs: &[CgroupDir]) -> Result<bool> {
    let Some(d) = dirs
        .iter()
        .find(|d| d.hierarchy.is_v2() && d.path() != d.hierarchy.mount)
    else {
        return Ok(false);
    };
    let file = d.path().join("cgroup.kill");
    if !file.exists() {
        return Ok(false);
    }
    write_file(&file, "1").context_cg(&d.hierarchy)?;
    Ok(true)
}

/// Whether the container's cgroup is frozen (v1 freezer.state, or the
/// cgroup2 tree's cgroup.freeze).
pub fn is_frozen(dirs: &[CgroupDir]) -> bool {
    freezer::frozen(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: &str = "\
30 25 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
";

    #[test]
    fn finds_hierarchies() {
        let h = parse_hierarchies(MI);
        let names: Vec<&str> = h.iter().map(|h| h.controllers.as_str()).collect();
        assert_eq!(names, ["cpu", "memory", "name=systemd", "", "cpu,cpuacct"]);
        assert!(h[3].is_v2());
    }

    #[test]
    fn paths_like_runc() {
        let h = parse_hierarchies(MI);
        let own = vec![
            ("memory".to_string(), "/sup/x".to_string()),
            ("cpu".to_string(), "/".to_string()),
            ("".to_string(), "/".to_string()),
        ];
        let d = plan_dirs(&h, &own, None, "web").unwrap();
        assert_eq!(
            d[1].path(),
            PathBuf::from("/sys/fs/cgroup/memory/sup/x/web")
        );
        assert_eq!(d[0].path(), PathBuf::from("/sys/fs/cgroup/cpu/web"));
        let d = plan_dirs(&h, &own, Some("/a/b"), "web").unwrap();
        assert_eq!(d[1].path(), PathBuf::from("/sys/fs/cgroup/memory/a/b"));
        assert!(plan_dirs(&h, &own, Some("/a/../b"), "web").is_err());
        // cgroup v2: beside our own cgroup, which holds processes.
        let own2 = vec![("".to_string(), "/system.slice/x.service".to_string())];
        let d = plan_dirs(&h, &own2, None, "web").unwrap();
        assert_eq!(
            d[3].path(),
            PathBuf::from("/sys/fs/cgroup/unified/system.slice/web")
        );
    }
}
