//! Step 7: the root switch: pivot_root, or with --no-pivot MS_MOVE and
//! chroot, or chroot alone without a mount namespace.

use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Result};
use crate::mountinfo::{self, MountInfo};
use crate::sys::OFlags;
use crate::sys::{self, mountflags::*};
use std::os::fd::AsFd;

/// How the container's root becomes `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSwitch {
    PivotRoot,
    /// --no-pivot: the host's procfs and sysfs hidden, the rootfs moved
    /// onto `/` (MS_MOVE) and chroot into it.
    MoveAndChroot,
    /// No mount namespace: chroot alone, no mount is made.
    Chroot,
}

impl RootSwitch {
    pub fn of(plan: &crate::spec::Plan, no_pivot: bool) -> RootSwitch {
        if !plan.namespaces.has(crate::spec::NsKind::Mount) {
            RootSwitch::Chroot
        } else if no_pivot {
            RootSwitch::MoveAndChroot
        } else {
            RootSwitch::PivotRoot
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            RootSwitch::PivotRoot => {
                "pivot_root(\".\", \".\") into the rootfs, the old root made rslave and detached"
            }
            RootSwitch::MoveAndChroot => {
                "--no-pivot: the host's procfs and sysfs outside the rootfs detached, the rootfs moved onto / (MS_MOVE), chroot(\".\")"
            }
            RootSwitch::Chroot => "no mount namespace: chroot(root.path), no mount made",
        }
    }
}

pub fn switch_root(ctx: &Setup, root: Root) -> Result<()> {
    if RootSwitch::of(ctx.plan, ctx.no_pivot) == RootSwitch::MoveAndChroot {
        // The rootfs as the kernel names it (root.path may be a symlink).
        let real = sys::readlink_fd(root.fd())?;
        hide_host_proc_sys(&real).ctx("--no-pivot: hide the host's procfs and sysfs")?;
        move_root(root).ctx("--no-pivot: move the rootfs onto /")
    } else {
        pivot_root(root).ctx("pivot_root")
    }
}

/// pivot_root(".", ".") stacks the old root under the new one; make it
/// rslave so the detach cannot propagate to the host, then detach it.
fn pivot_root(root: Root) -> Result<()> {
    let old = sys::openat(sys::cwd(), "/", OFlags::DIRECTORY | OFlags::RDONLY, 0)?;
    sys::fchdir(root.fd())?;
    if let Err(e) = sys::pivot_root(".", ".") {
        if e.is_errno(sys::Errno::INVAL) {
            return Err(e.context(
                "the rootfs may be on a ramfs or initramfs, where pivot_root is not possible; use --no-pivot",
            ));
        }
        return Err(e);
    }
    sys::fchdir(old.as_fd())?;
    sys::mount(None, ".", None, MS_SLAVE | MS_REC, None)?;
    sys::umount_detach(".")?;
    sys::chdir("/")
}

/// Without pivot_root the old root stays in the container's mount
/// namespace, below the chroot. The kernel lets a process mount a new
/// procfs or sysfs only where a fully visible one already exists in its
/// mount namespace: the host's would make a nested `mount -t proc` (in a
/// new pid namespace inside the container) pass, and show what the
/// container's masked paths hide. So every whole procfs and sysfs outside
/// the rootfs is detached first (deepest first, after making it rslave so
/// the detach does not propagate), or covered by an empty tmpfs where it
/// cannot be (locked in a user namespace).
fn hide_host_proc_sys(rootfs: &str) -> Result<()> {
    let mut targets = host_proc_sys_mounts(&mountinfo::read()?, rootfs);
    targets.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    for (p, parent) in &targets {
        match sys::mount(None, p, None, MS_SLAVE | MS_REC, None) {
            Err(e) if e.is_errno(sys::Errno::NOENT) => continue,
            r => r?,
        }
        // An unmount propagates through the peers of the mount's parent:
        // with a shared rootfsPropagation that parent is still shared with
        // the host's, so it is made a slave first (it is outside the
        // rootfs, out of the container's sight after the move).
        if let Some(parent) = parent {
            sys::mount(None, parent, None, MS_SLAVE, None)?;
        }
        match sys::umount_detach(p) {
            Err(e) if e.is_errno(sys::Errno::INVAL) || e.is_errno(sys::Errno::PERM) => {
                sys::mount(Some("tmpfs"), p, Some("tmpfs"), MS_RDONLY, Some("size=0"))?
            }
            r => r?,
        }
    }
    Ok(())
}

/// The mount points of whole (root "/") procfs and sysfs mounts that are
/// not the rootfs or below it, with their parents' mount points.
pub(crate) fn host_proc_sys_mounts(
    mounts: &[MountInfo],
    rootfs: &str,
) -> Vec<(String, Option<String>)> {
    let inside =
        |mp: &str| mp == rootfs || mp.starts_with(&format!("{}/", rootfs.trim_end_matches('/')));
    mounts
        .iter()
        .filter(|m| {
            m.root == "/"
                && matches!(m.fs_type.as_str(), "proc" | "sysfs")
                && !inside(&m.mount_point)
        })
        .map(|m| {
            let parent = mounts
                .iter()
                .find(|p| p.id == m.parent)
                .map(|p| p.mount_point.clone());
            (m.mount_point.clone(), parent)
        })
        .collect()
}

fn move_root(root: Root) -> Result<()> {
    sys::fchdir(root.fd())?;
    sys::mount(Some("."), "/", None, MS_MOVE, None)?;
    sys::chroot(".")?;
    sys::chdir("/")
}

/// No mount namespace: the host's mounts stay as they are.
pub fn chroot_only(ctx: &Setup) -> Result<()> {
    let rootfs = ctx.rootfs();
    let root = Root::open(&rootfs)?;
    root.mkdir_all(&ctx.plan.process.cwd, 0o755)
        .ctx("process.cwd")?;
    sys::chroot(&rootfs).ctx("chroot")?;
    sys::chdir("/")
}

#[cfg(test)]
mod tests {
    use super::host_proc_sys_mounts;
    use crate::mountinfo;

    #[test]
    fn finds_whole_proc_and_sys_outside_the_rootfs() {
        let mi = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
23 22 0:5 / /proc rw - proc proc rw
24 22 0:6 / /sys rw - sysfs sysfs rw
25 22 0:5 /sys /mnt/procsys rw - proc proc rw
26 22 0:7 / /run/a\\040b rw - proc proc rw
27 22 8:1 /b /b/rootfs rw - ext4 /dev/sda1 rw
28 27 0:8 / /b/rootfs/proc rw - proc proc rw
29 22 0:9 / /b/rootfs2/sys rw - sysfs sysfs rw
";
        let found: Vec<(String, Option<String>)> =
            host_proc_sys_mounts(&mountinfo::parse(mi.as_bytes()), "/b/rootfs");
        let want = |mp: &str, parent: &str| (mp.to_string(), Some(parent.to_string()));
        assert_eq!(
            found,
            [
                want("/proc", "/"),
                want("/sys", "/"),
                want("/run/a b", "/"),
                want("/b/rootfs2/sys", "/")
            ]
        );
    }
}
