//! pivot's own image, seen from a container (CVE-2019-5736).
//!
//! The processes pivot puts into a container (the init until `start`, and
//! every `exec` until its execve) are pivot's own image, so a process in
//! the container that may ptrace them (CAP_SYS_PTRACE without a user
//! namespace, in the container or in a sibling sharing its pid namespace)
//! can open `/proc/<pid>/exe`. If that names the host's binary on a
//! writable mount, the attacker overwrites it once pivot has exited.
//!
//! Who can do that: a process in the same pid namespace with
//! CAP_SYS_PTRACE in the host's user namespace (the user namespace of the
//! mm of pivot's processes). That is a process of a container without a
//! user namespace of its own whose bounding set holds CAP_SYS_PTRACE (root
//! there gets it at its next execve). Without it, non-dumpability already
//! keeps /proc/<pid>/exe closed (EACCES).
//!
//! Such a process is also what a startContainer hook (a program of the
//! image, run by the init with the container's capabilities) or an
//! `exec`'d process can be, and both meet a created, not started init.
//!
//! So where such a process can meet one of pivot's, pivot first moves
//! itself onto a read-only view of its binary: a private, detached
//! overlayfs mount of the binary's directory (no upper layer, so it can
//! never be made writable; nothing is copied, and no mount table changes),
//! or, where overlayfs is not available, a sealed in-memory copy. The view
//! is entered with one execveat of the same arguments and environment,
//! before anything is made. A binary already on a read-only mount needs
//! none of it. Where no such process can be there (the common case: a new
//! pid namespace, no CAP_SYS_PTRACE), pivot runs as it is, with no re-exec:
//!
//! | command | sealed when                                                  |
//! |---------|--------------------------------------------------------------|
//! | create, run | the container joins an existing pid namespace or uses the host's (its init, until `start`, is visible to what is there), or its own processes may ptrace (its startContainer hooks, and its `exec`s before `start`, see the init) |
//! | exec    | the container's pid namespace is shared (joined, the host's, or joined by a container, or entered by an exec, that may ptrace: recorded in its state), or the container or an earlier exec may ptrace |
//!
//! And what cannot be moved any more is refused: a container that may
//! ptrace is not created into a pid namespace whose init is still pivot
//! (a created, not started container, whatever root made it), and an
//! `exec` that may ptrace (`--cap CAP_SYS_PTRACE`) does not go into a pid
//! namespace whose init is a created init running the binary as it is.
//! The created init has loaded its seccomp filter and dropped to the
//! container's capabilities before it waits for `start`, so a tracer
//! gets no more than the container's own privileges from it; it still
//! holds the state fifo, and for a sibling container those privileges
//! are another container's.
//!
//! Rootless, the created init is dumpable while it waits for `start`
//! (`created_init_dumpable`): an unprivileged `exec` lacks CAP_SYS_PTRACE
//! in the user namespace of the init's mm, and the kernel refuses it the
//! init's namespaces (setns through its pidfd, /proc/<pid>/ns) unless it
//! is. That is only so where nothing but the container's own processes and
//! the user can see the init: a user and a pid namespace of its own, and
//! no namespace joined (runc's init is dumpable exactly when it joins
//! none). Root of the container's user namespace is then the init's own
//! uid, so its processes may open the init's /proc/<pid>/exe without any
//! capability: pivot runs from the read-only view first unless only
//! host root may write the binary (`writable_beyond_root`).
//!
//! Without an upper layer overlayfs needs two lower ones that do not
//! overlap: the second is an empty directory made for the moment in the
//! state root (under a name no container ID can have) and removed as soon
//! as the overlay holds it.

use crate::error::{Context as _, Error, Result};
use crate::spec::types::Process;
use crate::spec::{Namespaces, NsKind};
use crate::sys;
use crate::sys::mountflags::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

const SELF_EXE: &str = "/proc/self/exe";

/// Returns Ok(()) when this process already runs from a read-only view;
/// otherwise re-executes itself from one and returns only on failure.
/// `state_root` is pivot's --root (made if missing, as `create` would).
pub fn run_read_only(state_root: &Path) -> Result<()> {
    if read_only()? {
        return Ok(());
    }
    let view = match overlay_view(state_root) {
        Ok(fd) => fd,
        Err(overlay) => sealed_copy().map_err(|copy| {
            Error::invalid(format!(
                "no read-only view of the pivot binary: overlayfs: {overlay}; sealed copy: {copy}"
            ))
        })?,
    };
    let args: Vec<OsString> = std::env::args_os().collect();
    let env: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    Err(sys::execveat_fd(view.as_fd(), &args, &env).context("run pivot from its read-only view"))
}

/// Whether a process with these capabilities, in a container with or
/// without a user namespace of its own, may hold CAP_SYS_PTRACE in the
/// host's user namespace.
pub fn may_ptrace(process: &Process, own_user_ns: bool) -> bool {
    !own_user_ns
        && process
            .capabilities
            .as_ref()
            .and_then(|c| c.bounding.as_ref())
            .is_some_and(|b| b.iter().any(|c| c == "CAP_SYS_PTRACE" || c == "SYS_PTRACE"))
}

/// Whether the created init of a container with these namespaces is left
/// dumpable while it waits for `start`: pivot lacks CAP_SYS_PTRACE in its
/// own user namespace (so a non-dumpable init would be closed to its
/// `exec`), and the container has a user and a pid namespace of its own
/// and joins none.
pub fn created_init_dumpable(ns: &Namespaces) -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    ns.is_new(NsKind::User)
        && ns.is_new(NsKind::Pid)
        && ns.join.is_empty()
        && sys::effective_caps().is_ok_and(|c| c & (1 << CAP_SYS_PTRACE) == 0)
}

/// Whether anyone but host root may write pivot's binary: it is not
/// root's, its mode lets the group or others write it, or this process
/// may (an ACL, a group).
pub fn writable_beyond_root() -> Result<bool> {
    let st = sys::fstatat(sys::cwd(), SELF_EXE, 0)?;
    Ok(st.st_uid != 0 || st.st_mode & 0o022 != 0 || sys::may_write(SELF_EXE))
}

/// Whether a pid runs this pivot's own binary (the same file, through a
/// read-only view or not): a pivot process, such as a created init.
pub fn runs_pivot(pid: i32) -> bool {
    let exe = format!("/proc/{pid}/exe");
    let (Ok(theirs), Ok(ours)) = (
        sys::fstatat(sys::cwd(), &exe, 0),
        sys::fstatat(sys::cwd(), SELF_EXE, 0),
    ) else {
        return false;
    };
    // The inode number only: a read-only view of the binary reports the
    // file's own on a device of its own.
    theirs.st_ino == ours.st_ino
}

/// The host pid of the init (pid 1) of the pid namespace whose nsfs file
/// has this device and inode, if it runs: a scan of /proc.
pub fn pid_ns_init(dev: u64, ino: u64) -> Option<i32> {
    let proc = sys::openat(sys::cwd(), "/proc", libc::O_PATH | libc::O_DIRECTORY, 0).ok()?;
    let pids = sys::list_dir(proc.as_fd()).ok()?;
    pids.iter()
        .filter_map(|name| name.parse::<i32>().ok())
        .find(|pid| {
            sys::fstatat(sys::cwd(), &format!("/proc/{pid}/ns/pid"), 0)
                .is_ok_and(|st| (st.st_dev, st.st_ino) == (dev, ino))
                && std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("NSpid:"))
                        .and_then(|v| v.split_whitespace().last())
                        == Some("1")
                })
        })
}

/// Whether /proc/self/exe is on a read-only mount or a sealed memfd.
pub fn read_only() -> Result<bool> {
    exe_read_only(SELF_EXE)
}

/// Whether the executable of a pid (a created container's init) is on a
/// read-only mount or a sealed memfd: whether it runs from the view.
pub fn runs_read_only(pid: i32) -> Result<bool> {
    exe_read_only(&format!("/proc/{pid}/exe"))
}

fn exe_read_only(exe: &str) -> Result<bool> {
    if sys::mount_flags_at(exe)? & sys::mountflags::ST_RDONLY != 0 {
        return Ok(true);
    }
    let fd = sys::openat(sys::cwd(), exe, libc::O_RDONLY, 0)?;
    Ok(sys::get_seals(fd.as_fd()).is_ok_and(|s| s & libc::F_SEAL_WRITE != 0))
}

/// The binary through a detached overlayfs mount of its directory, with
/// an empty directory as the second lower layer: read-only for good.
fn overlay_view(state_root: &Path) -> Result<OwnedFd> {
    let exe = sys::readlinkat(sys::cwd(), SELF_EXE)?;
    let (dir, name) = match exe.rsplit_once('/') {
        Some((d, n)) if exe.starts_with('/') && !n.is_empty() && !exe.ends_with(" (deleted)") => {
            (if d.is_empty() { "/" } else { d }, n)
        }
        _ => return Err(Error::invalid(format!("{SELF_EXE} is {exe:?}"))),
    };
    let empty = EmptyDir::make(state_root)?;
    let fs = sys::FsContext::open("overlay")?;
    // `lowerdir+` (Linux 6.8) takes a path as it is; before it, one
    // string with ':' separating the layers and '\' escaping.
    if fs.set_string("lowerdir+", dir).is_ok() {
        fs.set_string("lowerdir+", &empty.0)?;
    } else {
        fs.set_string(
            "lowerdir",
            &format!("{}:{}", escape_layer(dir), escape_layer(&empty.0)),
        )?;
    }
    let mnt = fs.mount(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)?;
    drop(empty);
    let fd = sys::openat(mnt.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    // The same file: a rename between readlink and open would run another.
    let (a, b) = (
        sys::fstat(fd.as_fd())?,
        sys::fstatat(sys::cwd(), SELF_EXE, 0)?,
    );
    if a.st_ino != b.st_ino {
        return Err(Error::invalid(format!(
            "{exe} changed while its read-only view was made"
        )));
    }
    Ok(fd)
}

/// `<state root>/pivot@seal.<pid>`, removed when dropped ('@' is not
/// allowed in a container ID, so it meets no container's state dir).
struct EmptyDir(String);

impl EmptyDir {
    fn make(state_root: &Path) -> Result<EmptyDir> {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true)
            .mode(0o700)
            .create(state_root)
            .map_err(|e| Error::io(format!("mkdir {}", state_root.display()), e))?;
        let path = state_root.join(format!("pivot@seal.{}", std::process::id()));
        let path = path.to_string_lossy().into_owned();
        // Left by a process of the same pid that was killed: reuse it.
        let _ = std::fs::remove_dir(&path);
        std::fs::DirBuilder::new()
            .mode(0o500)
            .create(&path)
            .map_err(|e| Error::io(format!("mkdir {path}"), e))?;
        Ok(EmptyDir(path))
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn escape_layer(dir: &str) -> String {
    let mut s = String::with_capacity(dir.len());
    for ch in dir.chars() {
        if matches!(ch, ':' | ',' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s
}

/// The binary copied into a sealed memfd (no write, grow, shrink or
/// further seal change).
fn sealed_copy() -> Result<OwnedFd> {
    let src = sys::openat(sys::cwd(), SELF_EXE, libc::O_RDONLY, 0)?;
    let len = sys::fstat(src.as_fd())?.st_size as u64;
    let mem = sys::memfd_sealable("pivot")?;
    sys::sendfile_all(mem.as_fd(), src.as_fd(), len).ctx("copy the pivot binary")?;
    sys::seal_all(mem.as_fd())?;
    Ok(mem)
}

#[cfg(test)]
mod tests {
    use super::escape_layer;

    #[test]
    fn layer_escapes() {
        assert_eq!(escape_layer("/a:b,c\\d"), "/a\\:b\\,c\\\\d");
        assert_eq!(escape_layer("/usr/bin"), "/usr/bin");
    }
}
