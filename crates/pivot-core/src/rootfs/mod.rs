//! Building the container's root filesystem, in runc's order.

mod cgroupfs;
mod copyup;
mod dev;
mod devices;
mod finalize;
mod mounts;
mod pivot;
pub mod resolve;
mod root;

use crate::cgroups::{CgroupDir, Hierarchy};
use crate::error::{Context as _, Result};
use crate::spec::mountopts::MOUNT_ATTR_RDONLY;
use crate::spec::{NsKind, Plan};
use std::os::fd::AsFd;

/// A procfs context opened elsewhere, with the (device, inode) of the pid
/// namespace it must show.
pub type ProcContext = (crate::sys::FsContext, (u64, u64));

/// What the rootfs steps need to know.
pub struct Context<'a> {
    pub plan: &'a Plan,
    /// The createContainer hook point, before the root switch.
    pub before_pivot: &'a dyn Fn() -> Result<()>,
    pub no_pivot: bool,
    pub hierarchies: &'a [Hierarchy],
    pub cgroups: &'a [CgroupDir],
    /// User namespace fds for idmapped mounts, by mount index.
    pub idmaps: &'a [(usize, std::os::fd::OwnedFd)],
    /// In a user namespace: a handle on the source of mounts[index] that
    /// the container's root may not reach, opened by pivot from the host's
    /// user namespace in this mount namespace (None if it could not be).
    pub host_source: &'a dyn Fn(usize) -> Result<Option<std::os::fd::OwnedFd>>,
    /// In a user namespace: mounts[index]'s source cloned and idmapped by
    /// pivot from the host's user namespace, detached, to attach here.
    pub host_idmap: &'a dyn Fn(usize) -> Result<std::os::fd::OwnedFd>,
    /// The init's own procfs, if it could make one: /dev/null is re-opened
    /// through it after the root switch (the container may have no /proc).
    pub proc: Option<&'a crate::process::procfs::ProcFs>,
    /// For a `proc` mount: a procfs context opened in the pid namespace
    /// the container joins, with that namespace's (device, inode), where
    /// the process building the root is not in it (None: fsopen here).
    pub proc_context: &'a dyn Fn() -> Result<Option<ProcContext>>,
}

impl Context<'_> {
    pub fn in_userns(&self) -> bool {
        self.plan.namespaces.has(NsKind::User)
    }
    fn rootfs(&self) -> String {
        self.plan.rootfs.to_string_lossy().into_owned()
    }
}

/// The whole flow; each step is a function named for what it does.
pub fn prepare_rootfs(ctx: &Context) -> Result<()> {
    if !ctx.plan.namespaces.has(NsKind::Mount) {
        // Without a mount namespace, touch nothing of the host's mounts.
        (ctx.before_pivot)()?;
        return pivot::chroot_only(ctx);
    }
    crate::sys::umask(0);
    let rootfs = root::open_rootfs(ctx)?;
    root::set_propagation(ctx, rootfs.as_fd())?;
    let root = root::bind_rootfs(ctx, rootfs.as_fd())?;
    drop(rootfs);
    let mut later_ro = Vec::new();
    for m in &ctx.plan.mounts {
        mounts::mount_entry(ctx, &root, m, &mut later_ro).with_ctx(|| m.field())?;
    }
    if dev::needs_setup(ctx.plan) && !dev::is_hosts_dev(&root)? {
        devices::create_devices(ctx, &root)?;
        dev::setup_ptmx(&root)?;
        dev::setup_symlinks(&root)?;
        if ctx.plan.process.terminal {
            // The pty's mount point, made before a read-only /dev turns
            // read-only below (runc also remounts it read-only last).
            root.mkfile("/dev/console", 0o666).ctx("/dev/console")?;
        }
    }
    for mnt in later_ro {
        crate::sys::mount_setattr(mnt.as_fd(), false, MOUNT_ATTR_RDONLY, 0, 0, None)
            .ctx("make a read-only tmpfs read-only")?;
    }
    root.mkdir_all(&ctx.plan.process.cwd, 0o755)
        .ctx("process.cwd")?;
    (ctx.before_pivot)()?;
    pivot::switch_root(ctx, root)?;
    root::propagation_after_switch(ctx)?;
    dev::reopen_dev_null(ctx.proc)?;
    finalize::finalize(ctx)?;
    crate::sys::umask(0o022);
    Ok(())
}
