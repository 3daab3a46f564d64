//! Building the container's root filesystem, in runc's order.

mod cgroupfs;
mod console;
mod copyup;
mod dev_null;
mod dev_symlinks;
mod devices;
mod masked_paths;
mod mount_api;
mod mounts;
pub mod outline;
mod prepare_root;
mod ptmx;
mod readonly_paths;
mod readonly_root;
pub mod resolve;
pub mod switch_root;

pub use devices::planned_devices;

use crate::cgroups::{CgroupDir, Hierarchy};
use crate::debug::{self, step};
use crate::error::{Context as _, Result};
use crate::spec::{NsKind, Plan};
use resolve::Root;
use std::time::Instant;

/// A procfs context opened elsewhere, with the (device, inode) of the pid
/// namespace it must show.
pub type ProcContext = (crate::sys::FsContext, (u64, u64));

/// What the rootfs steps need to know: the plan and what the init
/// brings from outside (hooks, cgroups, handles opened by pivot).
pub struct Setup<'a> {
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
    pub proc: Option<&'a crate::procfs::ProcFs>,
    /// For a `proc` mount: a procfs context opened in the pid namespace
    /// the container joins, with that namespace's (device, inode), where
    /// the process building the root is not in it (None: fsopen here).
    pub proc_context: &'a dyn Fn() -> Result<Option<ProcContext>>,
}

impl Setup<'_> {
    pub fn in_userns(&self) -> bool {
        self.plan.namespaces.has(NsKind::User)
    }
    fn rootfs(&self) -> String {
        self.plan.rootfs.to_string_lossy().into_owned()
    }
}

/// The whole flow, runc's prepareRootfs and finalizeRootfs; each step is
/// a function named for what it does, in a file named for it.
pub fn prepare_rootfs(ctx: &Setup) -> Result<()> {
    if switch_root::RootSwitch::of(ctx.plan, ctx.no_pivot) == switch_root::RootSwitch::Chroot {
        // Without a mount namespace, touch nothing of the host's mounts.
        step("rootfs/hooks", || (ctx.before_pivot)())?;
        return step("rootfs/chroot", || switch_root::chroot_only(ctx));
    }
    crate::sys::umask(0);
    // 1. The rootfs bound onto itself, its mount tree cut off the host's.
    let root = step("rootfs/prepare_root", || prepare_root::prepare_root(ctx))?;
    // 2. config.json's mounts.
    let mut later_ro = Vec::new();
    for m in &ctx.plan.mounts {
        let name = || format!("rootfs/mounts[{}] {}", m.index, m.destination);
        let t = debug::enabled().then(Instant::now);
        mounts::mount_entry(ctx, &root, m, &mut later_ro).with_ctx(|| m.field())?;
        if let Some(t) = t {
            debug::record(&name(), t.elapsed());
        }
    }
    // 3. /dev, unless it is the host's.
    if devices::needs_setup(ctx.plan) && !devices::is_hosts_dev(&root)? {
        step("rootfs/dev", || -> Result<()> {
            devices::create_devices(ctx, &root)?;
            ptmx::setup_ptmx(&root)?;
            dev_symlinks::setup_dev_symlinks(&root)?;
            console::make_console_mountpoint(ctx, &root)
        })?;
    }
    // 4. Read-only tmpfs mounts turn read-only.
    step("rootfs/remount_readonly_tmpfs", || {
        mounts::remount_readonly_tmpfs(later_ro)
    })?;
    // 5. The working directory.
    step("rootfs/cwd", || {
        root.mkdir_all(&ctx.plan.process.cwd, 0o755)
    })
    .ctx("process.cwd")?;
    // 6. The prestart, createRuntime and createContainer hooks.
    step("rootfs/hooks", || (ctx.before_pivot)())?;
    // 7. pivot_root (or MS_MOVE and chroot).
    step("rootfs/switch_root", || switch_root::switch_root(ctx, root))?;
    // 8. linux.rootfsPropagation on the new `/`.
    step("rootfs/propagation", || {
        prepare_root::propagation_after_switch(ctx)
    })?;
    // 9. Stdio on the host's /dev/null moves to the container's.
    step("rootfs/reopen_dev_null", || {
        dev_null::reopen_dev_null(ctx.proc)
    })?;
    // 10. Read-only root, read-only paths, masked paths.
    let root = Root::open("/")?;
    step("rootfs/set_readonly_root", || {
        readonly_root::set_readonly_root(ctx, &root)
    })?;
    step("rootfs/readonly_paths", || {
        readonly_paths::readonly_paths(ctx, &root)
    })?;
    step("rootfs/mask_paths", || masked_paths::mask_paths(ctx, &root))?;
    crate::sys::umask(0o022);
    Ok(())
}
