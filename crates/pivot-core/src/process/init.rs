//! The container's init, from clone3 to execve. Runs in the child on a copy
//! of the parent's memory: no re-exec. Every failure goes back to the
//! parent over the channel as one error chain.

use super::channel::{Channel, Msg};
use super::{attrs, caps, podproc, rlimits, sysctl, user};
use crate::cgroups::{CgroupDir, Hierarchy};
use crate::debug::step;
use crate::error::{Context, Error, Result};
use crate::hooks;
use crate::procfs::ProcFs;
use crate::rootfs;
use crate::spec::{MountKind, NsKind, Plan};
use crate::sys::{self, Forked};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// What the init needs besides the plan.
pub struct InitOptions {
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// O_PATH handle on `exec.fifo`, opened by the parent.
    pub fifo: OwnedFd,
    /// The host's cgroup hierarchies and the container's dirs in them, for
    /// a `cgroup` mount.
    pub hierarchies: Vec<Hierarchy>,
    pub cgroups: Vec<CgroupDir>,
    /// User namespace fds for idmapped mounts, by mount index.
    pub idmaps: Vec<(usize, OwnedFd)>,
    /// linux.seccomp, compiled by the parent (from its cache) before the
    /// init was cloned.
    pub seccomp: Option<crate::seccomp::Filter>,
    /// linux.seccomp is being compiled by the parent while the init sets
    /// up: the init asks for it (Msg::SeccompFilter) before its first use.
    pub seccomp_from_parent: bool,
    /// The connected console socket for a terminal.
    pub console: Option<OwnedFd>,
    /// With the systemd driver the parent puts the init into its unit
    /// before `Go` (the init joins nothing itself).
    pub systemd: Option<crate::cgroups::systemd::Scope>,
    /// Dumpable while waiting for `start`, so that an unprivileged `exec`
    /// may join its namespaces (rootless, selfexe.rs).
    pub dumpable_when_created: bool,
}

/// Run the init; returns an exit code only on failure (success execs).
pub fn run(plan: &Plan, opts: &InitOptions, ch: &Channel, v2_joined: bool) -> i32 {
    match setup(plan, opts, ch, v2_joined) {
        Ok((host_pid, proc, env)) => {
            // Only returns on failure, which `start` reads from the fifo.
            wait_and_exec(plan, opts, host_pid, proc.as_ref(), &env);
            255
        }
        Err(e) => {
            ch.send_error(&e);
            1
        }
    }
}

fn setup(
    plan: &Plan,
    opts: &InitOptions,
    ch: &Channel,
    v2_joined: bool,
) -> Result<(i32, Option<ProcFs>, Vec<String>)> {
    let mut keep = vec![ch.raw_fd(), opts.fifo.as_raw_fd()];
    keep.extend(opts.idmaps.iter().map(|(_, fd)| fd.as_raw_fd()));
    keep.extend(opts.console.iter().map(|fd| fd.as_raw_fd()));
    step("close fds", || {
        sys::close_fds_from(3 + opts.preserve_fds, &keep)
    })?;
    // Die with the parent while it still supervises the setup.
    sys::set_pdeathsig(libc::SIGKILL)?;
    // Into the container's cgroups before anything else (and before the
    // cgroup namespace is made, so that is its root). With the systemd
    // driver the parent puts it into its unit before Go.
    if opts.systemd.is_none() {
        step("join cgroups", || {
            crate::cgroups::join_self(&opts.cgroups, v2_joined)
        })?;
    }
    // The parent writes a new user namespace's id maps before Go; an
    // unprivileged parent can open /proc/<pid>/uid_map only while the init
    // is dumpable (as runc's nsexec keeps it for SYNC_USERMAP_PLS). Until
    // Go the init is alone in namespaces of its own.
    let mut host_pid = step("wait for the parent", || ch.expect_go())?;
    // Until execve the init is pivot's own image: keep container processes
    // from opening /proc/<pid>/exe or ptracing it (CVE-2019-5736,
    // CVE-2016-9962). execve resets this for the user process.
    sys::set_dumpable(false)?;
    let pod = plan.namespaces.joined(NsKind::Pid);
    let mut pod_ns = match pod {
        Some(path) => Some(Pod::open(plan, path)?),
        None => None,
    };
    if step("namespaces", || join_namespaces(plan, ch, pod_ns.is_some()))? {
        host_pid = ch.expect_go()?;
    }
    if plan.namespaces.has(NsKind::User) {
        // Become root of the new user namespace before anything else.
        sys::setresgid(0).ctx("become root in the user namespace")?;
        sys::setresuid(0).ctx("become root in the user namespace")?;
    }
    let late = plan.namespaces.made_by_init();
    if late != 0 {
        sys::unshare(late)?;
    }
    // The init's own procfs, for what it re-opens after the root switch
    // (/dev/null, exec.fifo): the container may have no /proc at all, as
    // runc 1.5 allows, or one of its own making. Made now, in the final
    // pid namespace, while the init still has CAP_SYS_ADMIN and the host's
    // /proc is still in view (a new procfs in a user namespace needs a
    // fully visible one). Without it, the container's /proc is used.
    // Joining a pod, that is the pid namespace this process is in, the
    // host's: it serves until enter_pod, never after.
    let mut proc = step("procfs", || ProcFs::new_instance().ok());
    if let Some(sysctl) = plan.spec.linux.as_ref().and_then(|l| l.sysctl.as_ref()) {
        if !sysctl.is_empty() {
            step("sysctl", || sysctl::apply(sysctl, &ProcFs::open()?))?;
        }
    }
    let pod_procfs = match pod_ns.as_mut() {
        Some(p) => Some(p.procfs()?),
        None => None,
    };
    // The root is built outside the pod: its /proc will not show this
    // process, so its own entries are looked up in a procfs that does.
    let host_proc = match (pod, &proc) {
        (Some(_), None) => Some(ProcFs::open()?),
        _ => None,
    };
    if pod.is_some() {
        sys::set_self_proc(host_proc.as_ref().or(proc.as_ref()).map(|p| p.dir()));
    }
    let proc_context = || -> Result<Option<rootfs::ProcContext>> {
        pod_procfs.as_ref().map(|p| p.next_mount()).transpose()
    };
    let before_pivot = || create_hooks(plan, ch, host_pid);
    let host_source = |index| -> Result<Option<OwnedFd>> {
        ch.send(&Msg::OpenSource(index))?;
        match ch.recv_fd()? {
            (Some(Msg::Source), fd) => Ok(fd),
            (m, _) => Err(Error::other(format!(
                "init channel: expected Source, got {m:?}"
            ))),
        }
    };
    let host_idmap = |index| -> Result<OwnedFd> {
        ch.send(&Msg::IdmapTree(index))?;
        match ch.recv_fd()? {
            (Some(Msg::Source), Some(fd)) => Ok(fd),
            (
                Some(Msg::Failed {
                    errno,
                    invalid,
                    text,
                }),
                _,
            ) => Err(super::channel::wire_error(errno, invalid, text)),
            (m, _) => Err(Error::other(format!(
                "init channel: expected Source, got {m:?}"
            ))),
        }
    };
    let ctx = rootfs::Setup {
        plan,
        before_pivot: &before_pivot,
        no_pivot: opts.no_pivot,
        hierarchies: &opts.hierarchies,
        cgroups: &opts.cgroups,
        idmaps: &opts.idmaps,
        host_source: &host_source,
        host_idmap: &host_idmap,
        proc: proc.as_ref(),
        proc_context: &proc_context,
    };
    step("rootfs", || rootfs::prepare_rootfs(&ctx)).ctx("prepare rootfs")?;
    step("hostname", || set_names(plan))?;
    if let Some(sock) = &opts.console {
        super::tty::setup_console(
            sock.as_fd(),
            true,
            plan.process.console_size.as_ref(),
            plan.process.user.uid,
        )?;
    }
    if pod.is_none() {
        own_session(opts)?;
    }
    if !opts.no_new_keyring {
        match step("session keyring", || {
            sys::join_session_keyring(&format!("_ses.{}", plan.id))
        }) {
            // Kernels without keyrings: nothing to isolate.
            Err(e) if e.errno() == Some(libc::ENOSYS) => {}
            r => r.ctx("new session keyring")?,
        }
    }
    step("rlimits", || rlimits::apply(&plan.process.rlimits))?;
    step("process attributes", || {
        attrs::apply(plan, proc.as_ref().or(host_proc.as_ref()))
    })?;
    if let Some(p) = pod_ns.take() {
        // Only children enter it, and no child is made from here on but
        // the init (enter_pod); a profile may refuse setns once loaded.
        p.join()?;
    }
    let nnp = plan.process.no_new_privileges;
    if nnp {
        sys::set_no_new_privs()?;
    }
    // Without no_new_privs loading a filter needs CAP_SYS_ADMIN, so it goes
    // in before the capabilities are dropped; a notify fd must reach the
    // parent, which is gone after Ready. Otherwise it goes in last, just
    // before Ready (late_seccomp).
    let handed;
    let filter = if opts.seccomp_from_parent {
        handed = step("seccomp hand-over", || receive_filter(ch))?;
        Some(&handed)
    } else {
        opts.seccomp.as_ref()
    };
    if let Some(f) = filter.filter(|f| f.notify || !nnp) {
        if let Some(fd) = step("seccomp", || f.load())? {
            ch.send_fd(&Msg::SeccompFd, fd.as_fd())?;
            ch.expect(Msg::SeccompDone)?;
        }
    }
    // The cwd while still root with every capability (a directory only
    // the runtime may enter), and again as the user if that failed (one
    // only the user may enter), as runc does.
    let cwd = &plan.process.cwd;
    let env = step("user, capabilities and cwd", || -> Result<Vec<String>> {
        let cwd_done = sys::chdir(cwd).is_ok();
        let last = caps::last_cap();
        let capsets = caps::parse(plan.process.capabilities.as_ref(), last);
        caps::before_user_switch(&capsets, last)?;
        user::switch(&plan.process.user)?;
        caps::after_user_switch(&capsets, last)?;
        if !cwd_done {
            sys::chdir(cwd).with_ctx(|| format!("process.cwd {cwd:?}"))?;
        }
        // A cwd that escaped the root (CVE-2024-21626) has no name here.
        sys::getcwd().ctx("process.cwd: the working directory is outside the container")?;
        user::lookup_executable(&plan.process)?;
        // HOME from /etc/passwd now, before the filter, which need not
        // allow reading it.
        Ok(user::env_with_home(&plan.process))
    })?;
    // The parent exits after Ready; the init must outlive it (a child
    // forked into a pod starts without one anyway).
    sys::set_pdeathsig(0)?;
    // Set up, and under the container's final ids and capabilities (a
    // change of ids would reset it): rootless, an `exec` before `start`
    // needs the init dumpable (selfexe.rs). Before the filter, which need
    // not allow prctl.
    if opts.dumpable_when_created {
        sys::set_dumpable(true)?;
    }
    if let Some(p) = pod_procfs {
        sys::set_self_proc(None);
        drop(host_proc);
        // The init's own procfs from here on is the pod's.
        proc = p.own;
        // The filter goes in before the init enters the pod, as it does
        // without no_new_privs: from its first moment there, a sibling
        // that may ptrace it finds it under the container's profile.
        step("seccomp", || late_seccomp(plan, filter))?;
        host_pid = enter_pod(ch, opts, proc.as_ref())?;
        own_session(opts)?;
    } else {
        step("seccomp", || late_seccomp(plan, filter))?;
    }
    send_steps(ch)?;
    ch.send(&Msg::Ready)?;
    Ok((host_pid, proc, env))
}

/// With --debug: the steps timed so far go to the parent, which logs them
/// (a few messages, so that no datagram grows large).
fn send_steps(ch: &Channel) -> Result<()> {
    if !crate::debug::enabled() {
        return Ok(());
    }
    let steps = crate::debug::take_held();
    for chunk in steps.chunks(100) {
        ch.send(&Msg::Steps(chunk.to_vec()))?;
    }
    Ok(())
}

/// As runc's init: a session of its own, terminal or not (CRIU refuses to
/// dump a tree whose session leader is outside it), with the pty (stdio,
/// made by setup_console) as its controlling terminal.
fn own_session(opts: &InitOptions) -> Result<()> {
    if opts.console.is_some() {
        sys::tty::make_controlling(sys::stdio(0))
    } else {
        sys::tty::new_session()
    }
}

/// The pid namespace of a pod the container joins: a handle on it until
/// the init joins it (`join`, as late as it can), and where the procfs
/// contexts for it come from (podproc.rs).
struct Pod {
    ns: OwnedFd,
    field: String,
    id: (u64, u64),
    procfs: PodProcSource,
    /// Joined early, before a new user namespace takes the right to.
    joined: bool,
}

/// `n` procfs contexts made here with the `pidns` option, or by the
/// helper, started before this process changes any namespace; or, when
/// the container joins a user namespace, either of them once it is in
/// it (`AfterUserNs`).
enum PodProcSource {
    Direct(usize),
    Helper(podproc::Helper),
    AfterUserNs(usize),
    Taken,
}

impl Pod {
    fn open(plan: &Plan, path: &str) -> Result<Pod> {
        let field = format!("linux.namespaces pid path {path:?}");
        let ns = sys::openat(sys::cwd(), path, libc::O_RDONLY, 0).ctx(&field)?;
        let st = sys::fstat(ns.as_fd()).ctx(&field)?;
        let n = if plan.namespaces.has(NsKind::Mount) {
            plan.mounts
                .iter()
                .filter(|m| m.kind == MountKind::Proc)
                .count()
        } else {
            0
        };
        // Joining a user namespace (the pod's, as runc's nsexec joins it
        // first), the caller may have no right to make a procfs, or to
        // join the pod's pid namespace for the helper's sake (an
        // unprivileged one has neither): both wait until the init is in
        // that user namespace and its final mount namespace, which grant
        // them (procfs).
        let procfs = if plan.namespaces.joined(NsKind::User).is_some() {
            PodProcSource::AfterUserNs(n + 1)
        } else {
            match podproc::direct_context(ns.as_fd()).ctx(&field)? {
                Some(_) => PodProcSource::Direct(n + 1),
                None => {
                    PodProcSource::Helper(podproc::Helper::start(ns.as_fd(), n + 1).ctx(&field)?)
                }
            }
        };
        let mut pod = Pod {
            ns,
            field,
            id: (st.st_dev, st.st_ino),
            procfs,
            joined: false,
        };
        if plan.namespaces.is_new(NsKind::User) {
            // A user namespace of its own takes away the right to join a
            // pid namespace of the host's user namespace: join it first.
            // Every child from then on is in the pod, so no hook may run
            // in it with the host's root still in place.
            let hooks = plan.spec.hooks.as_ref();
            if hooks.is_some_and(|h| !h.create_container.is_empty()) {
                return Err(Error::invalid(
                    "hooks.createContainer: not with a new user namespace that joins an existing pid namespace: the hook would run inside that pid namespace with the host's root",
                ));
            }
            pod.join()?;
            pod.joined = true;
        }
        Ok(pod)
    }

    fn join(&self) -> Result<()> {
        if self.joined {
            return Ok(());
        }
        sys::setns(self.ns.as_fd(), libc::CLONE_NEWPID).ctx(&self.field)
    }

    fn procfs(&mut self) -> Result<PodProcFs> {
        let mut mounts = match std::mem::replace(&mut self.procfs, PodProcSource::Taken) {
            PodProcSource::Direct(n) => self.direct_contexts(n)?,
            PodProcSource::Helper(helper) => helper.contexts()?,
            PodProcSource::AfterUserNs(n) => self.contexts_here(n)?,
            PodProcSource::Taken => {
                return Err(Error::other("the pod's procfs was asked for twice"))
            }
        };
        let last = mounts
            .pop()
            .ok_or_else(|| Error::other("no procfs context for the init's own use"))?;
        // Without it (a pid namespace of a user namespace this one has no
        // rights in) the init re-opens exec.fifo through the container's
        // /proc, as it does where it cannot make a procfs at all.
        let own = ProcFs::new_instance_from(last, self.id).ok();
        Ok(PodProcFs {
            mounts: std::cell::RefCell::new(mounts),
            pid_ns: self.id,
            own,
        })
    }
}

impl Pod {
    /// `n` procfs contexts of the pod's pid namespace, from this process's
    /// namespaces as they are now: with the `pidns` option, or from a
    /// helper forked now.
    fn contexts_here(&self, n: usize) -> Result<Vec<sys::FsContext>> {
        match podproc::direct_context(self.ns.as_fd()).ctx(&self.field)? {
            Some(_) => self.direct_contexts(n),
            None => podproc::Helper::start(self.ns.as_fd(), n)
                .ctx(&self.field)?
                .contexts(),
        }
    }

    /// `n` procfs contexts made here with the `pidns` option.
    fn direct_contexts(&self, n: usize) -> Result<Vec<sys::FsContext>> {
        (0..n)
            .map(|_| {
                podproc::direct_context(self.ns.as_fd())?
                    .ok_or_else(|| Error::other("procfs lost its pidns option"))
            })
            .collect::<Result<Vec<_>>>()
            .ctx(&self.field)
    }
}

/// Procfs of the pod's pid namespace, made from inside it: one context
/// per `proc` mount, and an instance for the init's own use once it is in
/// the pod.
struct PodProcFs {
    mounts: std::cell::RefCell<Vec<sys::FsContext>>,
    pid_ns: (u64, u64),
    own: Option<ProcFs>,
}

impl PodProcFs {
    fn next_mount(&self) -> Result<rootfs::ProcContext> {
        match self.mounts.borrow_mut().pop() {
            Some(fs) => Ok((fs, self.pid_ns)),
            None => Err(Error::other("no procfs context left for this proc mount")),
        }
    }
}

/// Joining a pid namespace that others are in (a pod): only now, with the
/// root switched and the old one detached, the credentials, capabilities
/// and (without no_new_privs) the seccomp filter final, and no fd left
/// but the channel, the exec.fifo handle, the init's procfs of the pod
/// and the preserved ones, fork the
/// process that becomes the container's init in the pod (setns of a pid
/// namespace holds only for children). Until now no process of the pod
/// could see this one; the parent follows the new one (Msg::Pid). `own`
/// is the init's own procfs (the pod's).
fn enter_pod(ch: &Channel, opts: &InitOptions, own: Option<&ProcFs>) -> Result<i32> {
    let mut keep = vec![ch.raw_fd(), opts.fifo.as_raw_fd()];
    keep.extend(own.map(|p| p.dir().as_raw_fd()));
    sys::close_fds_from(3 + opts.preserve_fds, &keep)?;
    match sys::fork()? {
        Forked::Child => ch.expect_go(),
        Forked::Parent { pid, .. } => {
            // No parent-death signal for the new init: its parent exits now.
            ch.send(&Msg::Pid(pid))?;
            sys::exit_now(0)
        }
    }
}

/// Join the `path` namespaces (the user namespace between two rounds,
/// see below), then create the new ones that
/// clone3 did not. A new pid namespace (or a time namespace, without a pid
/// namespace to join) holds only for children: fork at once (then true:
/// the new init has a new pid), as the first process of a new pid
/// namespace is its init and nothing else is in it to see it. A pid
/// namespace to join (`pod`) is left to `Pod`.
fn join_namespaces(plan: &Plan, ch: &Channel, pod: bool) -> Result<bool> {
    let ns = &plan.namespaces;
    let rest = ns.new & !(ns.made_by_clone() | ns.made_by_init());
    if ns.join.is_empty() && rest == 0 {
        return Ok(false);
    }
    // Every path is opened before any is joined: in another mount
    // namespace, /proc/<pid>/ns/... would name what its /proc shows.
    let mut fds = Vec::new();
    for (kind, path) in &ns.join {
        if pod && *kind == NsKind::Pid {
            continue;
        }
        let field = format!("linux.namespaces {} path {path:?}", kind.spec_name());
        let fd = sys::openat(sys::cwd(), path, libc::O_RDONLY, 0).ctx(&field)?;
        fds.push((*kind, field, fd));
    }
    // Two rounds around the user namespace, as runc 1.2 and later: first,
    // still in the caller's user namespace, each one that can be joined
    // from there (one the host's user namespace owns, such as a network
    // namespace made on the host, could not be joined from inside the
    // container's: EPERM); then the user namespace; then those refused
    // before (the joined user namespace's, which need its rights).
    fds.sort_by_key(|(k, ..)| (*k == NsKind::User, *k == NsKind::Mount));
    let host_root = sys::fstatat(sys::cwd(), "/", 0)?;
    let join = |kind: NsKind, fd: &OwnedFd| -> Result<()> {
        sys::setns(fd.as_fd(), kind.clone_flag() as i32)?;
        if kind == NsKind::Mount {
            same_root(&host_root)?;
        }
        Ok(())
    };
    let user_joined = fds.iter().any(|(k, ..)| *k == NsKind::User);
    let mut later = Vec::new();
    for (kind, field, fd) in &fds {
        match join(*kind, fd) {
            Err(e) if user_joined && *kind != NsKind::User && e.errno() == Some(libc::EPERM) => {
                later.push((*kind, field, fd));
            }
            r => r.ctx(field)?,
        }
    }
    for (kind, field, fd) in later {
        join(kind, fd).ctx(field)?;
    }
    if rest & NsKind::User.clone_flag() != 0 {
        sys::unshare(NsKind::User.clone_flag())?;
        // Dumpable only while the parent writes the maps, as runc does.
        sys::set_dumpable(true)?;
        ch.send(&Msg::MapIds)?;
        ch.expect(Msg::MapsDone)?;
        sys::set_dumpable(false)?;
    }
    let rest = rest & !NsKind::User.clone_flag();
    if rest != 0 {
        sys::unshare(rest)?;
    }
    if let Some(offsets) = ns.time_offsets.as_deref() {
        // Before any task is in the new time namespace (the fork below,
        // or enter_pod's): the kernel takes offsets only until then. The
        // write goes through pivot's checked handle on the host's procfs
        // (the mount namespace is still the host's copy).
        ProcFs::open()?
            .write("self/timens_offsets", offsets)
            .ctx("linux.timeOffsets: write /proc/self/timens_offsets")?;
    }
    let pid_changed = plan.namespaces.joined(NsKind::Pid).is_none()
        && (ns.has(NsKind::Pid) || ns.has(NsKind::Time));
    if pid_changed {
        // No parent-death signal for the new init: its parent exits now.
        match sys::fork()? {
            Forked::Child => {}
            Forked::Parent { pid, .. } => {
                ch.send(&Msg::Pid(pid))?;
                sys::exit_now(0);
            }
        }
    }
    Ok(pid_changed)
}

/// A joined mount namespace must have the host's root: pivot builds the
/// root filesystem, runs the createContainer hooks and writes sysctls in
/// it, as root with every capability. A namespace whose root is
/// elsewhere is another container's (after its pivot_root), where
/// everything the container could mount would be in pivot's way.
/// runc, which does the same work there, fails on most such namespaces
/// only because root.path is missing in them.
fn same_root(host_root: &sys::Stat) -> Result<()> {
    let now = sys::fstatat(sys::cwd(), "/", 0)?;
    if (now.st_dev, now.st_ino) != (host_root.st_dev, host_root.st_ino) {
        return Err(Error::invalid(
            "the mount namespace's root is not the host's (another container's mount namespace?): pivot would build the root filesystem, run hooks and write sysctls inside it",
        ));
    }
    Ok(())
}

/// The hook point before the root switch: the parent runs prestart and
/// createRuntime, then createContainer runs here, in the container's
/// namespaces, where host paths still resolve.
fn create_hooks(plan: &Plan, ch: &Channel, host_pid: i32) -> Result<()> {
    let Some(hooks) = plan.spec.hooks.as_ref() else {
        return Ok(());
    };
    if !hooks.prestart.is_empty() || !hooks.create_runtime.is_empty() {
        ch.send(&Msg::Hooks)?;
        ch.expect(Msg::HooksDone)?;
    }
    let state = hooks::plan_state(plan, "creating", host_pid);
    // runc runs them from the container's rootfs (its mounts made, the
    // root not yet switched).
    hooks::run_all_in(
        "createContainer",
        &hooks.create_container,
        &state,
        Some(&plan.rootfs),
    )
}

fn set_names(plan: &Plan) -> Result<()> {
    if let Some(h) = plan.spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        sys::sethostname(h).ctx("hostname")?;
    }
    if let Some(d) = plan.spec.domainname.as_deref().filter(|d| !d.is_empty()) {
        sys::setdomainname(d).ctx("domainname")?;
    }
    Ok(())
}

/// Block until `start` opens the fifo, run the startContainer hooks and
/// exec the process. The fifo stays open across a successful exec (it is
/// close-on-exec): `start` then reads end-of-file; on a failure it reads
/// the error text instead. Returns only on failure.
fn wait_and_exec(
    plan: &Plan,
    opts: &InitOptions,
    host_pid: i32,
    proc: Option<&ProcFs>,
    env: &[String],
) -> Error {
    let fifo = match ProcFs::reopen_through(proc, opts.fifo.as_fd(), libc::O_WRONLY) {
        Ok(f) => f,
        Err(e) => {
            // Nobody is listening on the fifo: the container's stderr is
            // all that is left to tell.
            let e = e.context("open exec.fifo");
            eprintln!("pivot: container init: {e}");
            return e;
        }
    };
    let e = match sys::write(fifo.as_fd(), b"0") {
        Err(e) => e,
        Ok(_) => exec(plan, opts, host_pid, env)
            .err()
            .unwrap_or_else(|| Error::other("exec returned")),
    };
    let _ = sys::write(fifo.as_fd(), e.to_string().as_bytes());
    e
}

/// With no_new_privs the filter loads as late as it can, but before the
/// init waits for `start`, as runc's: a created init holds no more than
/// the container's final privileges, so a process that may ptrace it (an
/// `exec` with CAP_SYS_PTRACE) cannot make it run a call the profile
/// forbids. Only the Ready message, the fifo, the startContainer hooks and
/// execve come after it; a failure still reaches the parent.
fn late_seccomp(plan: &Plan, filter: Option<&crate::seccomp::Filter>) -> Result<()> {
    match filter {
        Some(f) if plan.process.no_new_privileges && !f.notify => f.load().map(drop),
        _ => Ok(()),
    }
}

/// The filter the parent compiled while the init set up.
fn receive_filter(ch: &Channel) -> Result<crate::seccomp::Filter> {
    ch.send(&Msg::SeccompFilter)?;
    match ch.recv_fd()? {
        (Some(Msg::SeccompProgram { flags, notify }), Some(fd)) => {
            crate::seccomp::Filter::from_memfd(fd, flags, notify)
        }
        (Some(m), _) => Err(Error::other(format!(
            "init channel: expected the seccomp program, got {m:?}"
        ))),
        (None, _) => Err(Error::other(
            "init channel: closed while waiting for the seccomp program",
        )),
    }
}

/// startContainer hooks run in the container, just before the exec; one
/// without `env` gets the process's (`env`), as runc's.
fn start_hooks(plan: &Plan, host_pid: i32, env: &[String]) -> Result<()> {
    match plan.spec.hooks.as_ref() {
        Some(h) if !h.start_container.is_empty() => {
            let state = hooks::plan_state(plan, "created", host_pid);
            hooks::run_all_with_env("startContainer", &h.start_container, &state, env)
        }
        _ => Ok(()),
    }
}

/// The last steps, in runc's order: the fds cleaned up, then the
/// startContainer hooks, which run under the filter (loaded before the
/// wait for `start`), then execve.
fn exec(plan: &Plan, opts: &InitOptions, host_pid: i32, env: &[String]) -> Result<()> {
    let p = &plan.process;
    let path = user::lookup_executable(p)?;
    sys::cloexec_from(3 + opts.preserve_fds)?;
    start_hooks(plan, host_pid, env)?;
    // After the hooks: writing their stdin must not raise SIGPIPE.
    sys::reset_signals();
    Err(sys::execve(&path, &p.args, env))
}
