//! The `cgroup` mount type, as runc builds it: on cgroup v1 a tmpfs with
//! one mount per hierarchy (cgroupfs in a cgroup namespace, else a bind of
//! the container's own cgroup) and symlinks for co-mounted controllers; on
//! unified v2 a cgroup2 mount or a bind of the container's cgroup.

use super::mount_api::{after_attach, mount_attrs, new_filesystem, open_destination};
use super::resolve::Root;
use super::Setup;
use crate::cgroups::Hierarchy;
use crate::error::{Context as _, Error, Result};
use crate::spec::mountopts::MountOptions;
use crate::spec::{NsKind, PlannedMount};
use crate::sys::mountflags::MOUNT_ATTR_RDONLY;
use crate::sys::OFlags;
use crate::sys::{self, mountflags::*, FsContext, MountSetattr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

pub fn mount_cgroup(ctx: &Setup, root: &Root, m: &PlannedMount) -> Result<()> {
    let unified = is_unified(ctx.hierarchies);
    let cgroupns = ctx.plan.namespaces.has(NsKind::Cgroup);
    let dest = open_destination(root, m, false)?;
    let mnt = if unified {
        let h = &ctx.hierarchies[0];
        let mnt = hierarchy_mount(ctx, h, cgroupns, "cgroup2", &m.options)?;
        sys::move_mount(mnt.as_fd(), dest.as_fd(), &m.destination)?;
        mnt
    } else {
        v1_tree(ctx, cgroupns, &m.options, dest.as_fd(), &m.destination)?
    };
    after_attach(mnt.as_fd(), &m.options)
}

/// One hierarchy: a fresh cgroupfs (in a cgroup namespace) or a bind of
/// the container's directory in it.
fn hierarchy_mount(
    ctx: &Setup,
    h: &Hierarchy,
    cgroupns: bool,
    fstype: &str,
    opts: &MountOptions,
) -> Result<OwnedFd> {
    let what = if h.is_v2() {
        "cgroup2".to_string()
    } else {
        format!("cgroup {}", h.controllers)
    };
    if cgroupns {
        let fs = FsContext::open(fstype)?;
        // The source runc gives these mounts ("systemd" for name=systemd).
        let source = h.controllers.strip_prefix("name=").unwrap_or("cgroup");
        fs.set_string("source", source)?;
        for c in h.controllers.split(',').filter(|c| !c.is_empty()) {
            match c.split_once('=') {
                Some((k, v)) => fs.set_string(k, v)?,
                None => fs.set_flag(c)?,
            }
        }
        return fs.mount(mount_attrs(opts.flags)).ctx(&what);
    }
    let dir = match ctx.cgroups.iter().find(|d| d.hierarchy == *h) {
        Some(d) => d.clone(),
        None => own_cgroup(h)
            .ok_or_else(|| Error::other(format!("{what}: the container has no cgroup there")))?,
    };
    let path = dir.path().to_string_lossy().into_owned();
    let tree = sys::open_tree(sys::cwd(), &path, true).ctx(&what)?;
    sys::mount_setattr(tree.as_fd(), &MountSetattr::set(mount_attrs(opts.flags))).ctx(&what)?;
    Ok(tree)
}

/// The init's own cgroup in a hierarchy where the container has none (a
/// rootless container, whose caller could not make one there): bound as
/// runc binds it, the cgroup the container's processes are in.
fn own_cgroup(h: &Hierarchy) -> Option<crate::cgroups::CgroupDir> {
    let own = crate::cgroups::own_cgroups().ok()?;
    let (_, path) = own.into_iter().find(|(c, _)| {
        if h.is_v2() {
            c.is_empty()
        } else {
            !c.is_empty() && {
                let mut a: Vec<&str> = c.split(',').collect();
                let mut b: Vec<&str> = h.controllers.split(',').collect();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            }
        }
    })?;
    Some(crate::cgroups::CgroupDir {
        hierarchy: h.clone(),
        inner: path,
        created: Vec::new(),
    })
}

/// The tmpfs is attached first: the hierarchies are then mounted into an
/// attached tree, which every kernel with the new mount API allows.
fn v1_tree(
    ctx: &Setup,
    cgroupns: bool,
    opts: &MountOptions,
    dest: BorrowedFd<'_>,
    dest_name: &str,
) -> Result<OwnedFd> {
    let tmpfs_opts = MountOptions {
        flags: MS_NOSUID | MS_NODEV | MS_NOEXEC,
        data: vec!["mode=755".into()],
        ..Default::default()
    };
    let tmpfs = new_filesystem("tmpfs", "tmpfs", &tmpfs_opts).ctx("cgroup: tmpfs")?;
    sys::move_mount(tmpfs.as_fd(), dest, dest_name)?;
    for h in ctx.hierarchies.iter().filter(|h| !h.is_v2()) {
        let name = v1_name(h);
        sys::mkdirat(tmpfs.as_fd(), &name, 0o755)?;
        let sub = sys::openat(
            tmpfs.as_fd(),
            &name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY,
            0,
        )?;
        let mnt = hierarchy_mount(ctx, h, cgroupns, "cgroup", opts)?;
        sys::move_mount(mnt.as_fd(), sub.as_fd(), &name)?;
        co_mount_links(tmpfs.as_fd(), &name)?;
    }
    if opts.flags & MS_RDONLY != 0 {
        sys::mount_setattr(tmpfs.as_fd(), &MountSetattr::set(MOUNT_ATTR_RDONLY))
            .ctx("cgroup: read-only tmpfs")?;
    }
    Ok(tmpfs)
}

/// The directory a v1 hierarchy gets in the tmpfs: its name on the host.
pub fn v1_name(h: &Hierarchy) -> String {
    h.mount
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| h.controllers.clone())
}

/// Whether the `cgroup` mount is one cgroup2 mount (unified v2) rather
/// than a tmpfs of v1 hierarchies.
pub fn is_unified(hierarchies: &[Hierarchy]) -> bool {
    hierarchies.len() == 1 && hierarchies[0].is_v2()
}

/// "cpu,cpuacct" gets "cpu" and "cpuacct" symlinks beside it.
fn co_mount_links(dir: BorrowedFd<'_>, name: &str) -> Result<()> {
    if !name.contains(',') {
        return Ok(());
    }
    for c in name.split(',') {
        match sys::symlinkat(name, dir, c) {
            Err(e) if !e.is_errno(sys::Errno::EXIST) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
