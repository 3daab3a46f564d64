//! The parent's side of starting a container's init: one clone3 with the
//! namespace flags, placement in the cgroups, id maps, then wait for the
//! init to report Ready or an error.

use super::channel::{wire_error, Channel, Msg};
use super::init::{self, InitOptions};
use crate::cgroups::{self, CgroupDir};
use crate::error::{Context, Error, Result};
use crate::procfs::ProcFs;
use crate::spec::types::IdMapping;
use crate::spec::{NsKind, Plan};
use crate::sys::{self, Forked};
use std::os::fd::{AsFd, OwnedFd};

/// The container's init, from the parent's side.
pub struct Init {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

impl Init {
    /// Kill and reap a half-made init (on a failed create).
    pub fn abort(&self) {
        let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
        let _ = sys::waitpid(self.pid, 0);
    }
}

fn map_text(maps: &[IdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

/// The new user namespace's maps, as runc's nsexec writes them: an
/// unprivileged caller denies setgroups first when it maps its own gid
/// alone (the kernel takes a gid_map from it only then); a map the kernel
/// refuses to take directly (EPERM: ranges beyond the caller's own id)
/// goes through newuidmap/newgidmap, which check /etc/subuid and
/// /etc/subgid.
fn write_id_maps(plan: &Plan, pid: i32) -> Result<()> {
    use crate::rootless::{own_id_only, IdKind};
    let proc = ProcFs::open()?;
    if sys::geteuid() != 0 && own_id_only(&plan.gid_mappings, sys::getegid()) {
        proc.write(&format!("{pid}/setgroups"), "deny")
            .ctx("linux.gidMappings: deny setgroups")?;
    }
    let maps = [
        (
            IdKind::Uid,
            "uid_map",
            "linux.uidMappings",
            &plan.uid_mappings,
        ),
        (
            IdKind::Gid,
            "gid_map",
            "linux.gidMappings",
            &plan.gid_mappings,
        ),
    ];
    for (kind, file, field, list) in maps {
        match proc.write(&format!("{pid}/{file}"), &map_text(list)) {
            Err(e) if e.errno() == Some(libc::EPERM) && !list.is_empty() => {
                map_with_tool(kind, pid, list).ctx(field)?
            }
            r => r.ctx(field)?,
        }
    }
    Ok(())
}

/// Write `pid`'s map with newuidmap or newgidmap (setuid helpers of the
/// uidmap package).
fn map_with_tool(kind: crate::rootless::IdKind, pid: i32, list: &[IdMapping]) -> Result<()> {
    let tool = kind.tool();
    let mut args = vec![pid.to_string()];
    for m in list {
        args.extend([m.container_id, m.host_id, m.size].map(|v| v.to_string()));
    }
    let line = format!("{tool} {}", args.join(" "));
    crate::debug::log(|| format!("mapping ids: {line}"));
    let out = std::process::Command::new(tool)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::io(
                format!("{line}: several id ranges need {tool} (Debian package uidmap)"),
                e,
            )
        })?;
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.trim().replace('\n', "; ");
    Err(Error::new(
        crate::error::ErrorKind::Os(libc::EPERM),
        format!("{line}: {}: {why}", out.status),
    ))
}

/// prestart (deprecated, still run) and createRuntime, in the runtime's
/// namespaces once the container's exist and its mounts are made.
fn run_create_hooks(plan: &Plan, pid: i32) -> Result<()> {
    let Some(hooks) = plan.spec.hooks.as_ref() else {
        return Ok(());
    };
    let state = crate::hooks::plan_state(plan, "creating", pid);
    crate::hooks::run_all("prestart", &hooks.prestart, &state)?;
    crate::hooks::run_all("createRuntime", &hooks.create_runtime, &state)
}

/// Hand the seccomp notify fd to linux.seccomp.listenerPath with the
/// container process state, shaped as runc sends it.
fn send_to_listener(
    plan: &Plan,
    filter: Option<&crate::seccomp::Filter>,
    pid: i32,
    fd: std::os::fd::BorrowedFd<'_>,
) -> Result<()> {
    send_to_listener_with(
        &crate::hooks::plan_state(plan, "creating", pid),
        filter,
        pid,
        fd,
    )
}

/// The same, with the state JSON given (an exec'd process's: the
/// container's state, its own pid).
pub fn send_to_listener_with(
    state: &str,
    filter: Option<&crate::seccomp::Filter>,
    pid: i32,
    fd: std::os::fd::BorrowedFd<'_>,
) -> Result<()> {
    let filter = filter.ok_or_else(|| Error::other("seccomp fd without a filter"))?;
    let path = filter.listener_path.as_deref().unwrap_or("");
    let state: serde_json::Value =
        serde_json::from_str(state).map_err(|e| Error::other(e.to_string()))?;
    let msg = serde_json::json!({
        "ociVersion": crate::spec::default::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": filter.listener_metadata,
        "state": state,
    });
    let sock = sys::unix_connect(path)
        .ctx("linux.seccomp.listenerPath: failed to connect with seccomp agent")?;
    sys::send_msg(sock.as_fd(), msg.to_string().as_bytes(), Some(fd))
        .ctx("linux.seccomp.listenerPath")
}

/// The source of bind mount `index`, opened (O_PATH) in the init's mount
/// namespace by a child that entered it from the host's user namespace,
/// as runc does for sources the container's root cannot reach (a 0700
/// directory of the host's root). The init clones the mount from that
/// handle itself, inside its user namespace, so the kernel's locks on
/// the source's flags and child mounts still hold.
fn open_source(plan: &Plan, pid: i32, index: usize) -> Result<OwnedFd> {
    let m = bind_mount(plan, index)?;
    in_mount_ns(pid, || sys::openat(sys::cwd(), &m.source, libc::O_PATH, 0))
}

fn bind_mount(plan: &Plan, index: usize) -> Result<&crate::spec::PlannedMount> {
    plan.mounts
        .iter()
        .find(|m| m.index == index && m.is_bind())
        .ok_or_else(|| Error::other(format!("mounts[{index}] is not a bind mount")))
}

/// The idmapped clone of mounts[index]'s source, for an init in a user
/// namespace: the kernel refuses MOUNT_ATTR_IDMAP from there, so, as runc
/// 1.2 and later, it is made from the host's user namespace, in the init's
/// mount namespace (the source resolves as the init would see it, and the
/// clone keeps the flags that namespace locked); the init only attaches it.
fn idmap_tree(plan: &Plan, userns: &[(usize, OwnedFd)], pid: i32, index: usize) -> Result<OwnedFd> {
    let m = bind_mount(plan, index)?;
    let (recursive, userns) = match (m.options.idmap, userns.iter().find(|(i, _)| *i == index)) {
        (Some(r), Some((_, fd))) => (r, fd),
        _ => return Err(Error::other(format!("mounts[{index}] is not idmapped"))),
    };
    in_mount_ns(pid, || {
        let source = sys::openat(sys::cwd(), &m.source, libc::O_PATH, 0)?;
        let tree = sys::open_tree(source.as_fd(), "", m.options.is_recursive_bind())?;
        let how = sys::MountSetattr {
            recursive,
            set: sys::mountflags::MOUNT_ATTR_IDMAP,
            userns: Some(userns.as_fd()),
            ..Default::default()
        };
        sys::mount_setattr(tree.as_fd(), &how)?;
        Ok(tree)
    })
}

/// Run `f` in a short-lived child that joined the mount namespace of
/// `pid` (still in the host's user namespace) and take the fd it made.
fn in_mount_ns(pid: i32, f: impl FnOnce() -> Result<OwnedFd>) -> Result<OwnedFd> {
    let ns = sys::openat(
        ProcFs::open()?.dir(),
        &format!("{pid}/ns/mnt"),
        libc::O_RDONLY,
        0,
    )?;
    let (ours, theirs) = sys::socketpair()?;
    match sys::fork()? {
        Forked::Child => {
            drop(ours);
            let sent = sys::setns(ns.as_fd(), libc::CLONE_NEWNS)
                .and_then(|_| f())
                .and_then(|fd| sys::send_msg(theirs.as_fd(), b"fd", Some(fd.as_fd())));
            if let Err(e) = sent {
                let _ = sys::send_msg(theirs.as_fd(), e.to_string().as_bytes(), None);
            }
            sys::exit_now(0)
        }
        Forked::Parent { pid: helper, .. } => {
            drop(theirs);
            let got = sys::recv_msg(ours.as_fd());
            let _ = sys::waitpid(helper, 0);
            match got? {
                (_, Some(fd)) => Ok(fd),
                (text, None) => Err(Error::other(String::from_utf8_lossy(&text).into_owned())),
            }
        }
    }
}

/// linux.seccomp from the parent's side: the filter compiled before the
/// clone (from the cache), or compiled on threads while the init sets up
/// (`opts.seccomp_from_parent`) and handed to it when it asks.
enum Seccomp<'a> {
    Ready(Option<&'a crate::seccomp::Filter>),
    Pending(crate::seccomp::Pending),
    Compiling(crate::seccomp::Compiling),
    Compiled(crate::seccomp::Compiled),
}

impl<'a> Seccomp<'a> {
    /// Start the compile (after the clone: no thread may run while the
    /// parent forks the init).
    fn start(&mut self) {
        if let Seccomp::Pending(_) = self {
            let Seccomp::Pending(p) = std::mem::replace(self, Seccomp::Ready(None)) else {
                return;
            };
            *self = Seccomp::Compiling(p.start());
        }
    }

    /// The compile's threads joined: before anything that may fork (the
    /// hooks, a helper in the init's mount namespace, newuidmap) and
    /// before the filter is handed over.
    fn join(&mut self) -> Result<()> {
        self.start();
        if let Seccomp::Compiling(_) = self {
            let Seccomp::Compiling(c) = std::mem::replace(self, Seccomp::Ready(None)) else {
                return Ok(());
            };
            *self = Seccomp::Compiled(c.finish()?);
        }
        Ok(())
    }

    fn filter(&mut self) -> Result<Option<&crate::seccomp::Filter>> {
        self.join()?;
        Ok(match self {
            Seccomp::Ready(f) => *f,
            Seccomp::Compiled(c) => Some(&c.filter),
            _ => None,
        })
    }

    /// Hand the compiled program to the init, then cache it.
    fn hand_over(&mut self, ch: &Channel) -> Result<()> {
        self.join()?;
        let Seccomp::Compiled(c) = self else {
            return Err(Error::other("the init asked for a seccomp filter it has"));
        };
        let fd = c.filter.to_memfd()?;
        ch.send_fd(
            &Msg::SeccompProgram {
                flags: c.filter.flags(),
                notify: c.filter.notify,
            },
            fd.as_fd(),
        )?;
        c.save();
        Ok(())
    }
}

/// Start the init. On success it is blocked waiting for `start`. With
/// `compile`, linux.seccomp is compiled while the init sets up.
pub fn spawn(
    plan: &Plan,
    opts: &InitOptions,
    cgroups: &mut [CgroupDir],
    compile: Option<crate::seccomp::Pending>,
) -> Result<Init> {
    let seccomp = match compile {
        Some(p) if opts.seccomp_from_parent => Seccomp::Pending(p),
        Some(_) => return Err(Error::other("linux.seccomp: two filters for one init")),
        None if opts.seccomp_from_parent => {
            return Err(Error::other("linux.seccomp: no filter to hand over"))
        }
        None => Seccomp::Ready(opts.seccomp.as_ref()),
    };
    let (parent_ch, child_ch) = Channel::pair()?;
    let ns = &plan.namespaces;
    // With nothing to join, every namespace comes from the one clone3.
    // Joining an existing namespace must precede creating the others (they
    // belong to the joined user namespace), so the init unshares them
    // itself. The cgroup namespace is always unshared by the init once it
    // sits in its cgroup, so that the namespace's root is that cgroup.
    let fast = ns.join.is_empty();
    let flags = ns.made_by_clone();
    crate::debug::log(|| {
        format!(
            "nsexec container setup: clone3 of the init of {:?} (namespace flags {flags:#x}, {} to join)",
            plan.id,
            ns.join.len()
        )
    });
    // The cgroup2 tree is joined by clone3 itself where it can be; the
    // init joins the v1 hierarchies (and, failing that, v2) on its own.
    let v2 = match opts.systemd {
        Some(_) => None,
        None => cgroups::v2_dir_fd(cgroups),
    };
    let t_clone = crate::debug::enabled().then(std::time::Instant::now);
    let forked = match v2.as_ref().map(|fd| sys::clone3(flags, Some(fd.as_fd()))) {
        Some(Ok(f)) => Ok((f, true)),
        _ => sys::clone3(flags, None).map(|f| (f, false)),
    };
    let (forked, v2_joined) = forked?;
    match forked {
        Forked::Child => {
            // Its steps reach the log through the parent (Msg::Steps).
            crate::debug::hold_steps();
            if let Some(t) = t_clone {
                crate::debug::record("clone3 until the init runs", t.elapsed());
            }
            drop(parent_ch);
            drop(v2);
            std::mem::forget(seccomp);
            let code = init::run(plan, opts, &child_ch, v2_joined);
            sys::exit_now(code)
        }
        Forked::Parent { pid, pidfd } => {
            if let Some(t) = t_clone {
                crate::debug::record("create/clone", t.elapsed());
            }
            drop(child_ch);
            crate::debug::log(|| format!("child process in init(): pid {pid}, setting up"));
            let mut child = Init { pid, pidfd };
            let driven = crate::debug::step("create/init", || {
                drive(plan, opts, &parent_ch, &mut child, fast, cgroups, seccomp)
            });
            match driven {
                Ok(()) => Ok(child),
                Err(e) => {
                    child.abort();
                    Err(e)
                }
            }
        }
    }
}

fn drive(
    plan: &Plan,
    opts: &InitOptions,
    ch: &Channel,
    child: &mut Init,
    fast: bool,
    cgroups: &mut [CgroupDir],
    mut seccomp: Seccomp<'_>,
) -> Result<()> {
    if let Some(adj) = plan.process.oom_score_adj {
        ProcFs::open()?
            .write(&format!("{}/oom_score_adj", child.pid), &adj.to_string())
            .ctx("process.oomScoreAdj")?;
    }
    if fast && plan.namespaces.is_new(NsKind::User) {
        write_id_maps(plan, child.pid)?;
    }
    // linux.netDevices: the parent, still in the host's network namespace,
    // moves the devices into the one clone3 made for the init (attrs.rs).
    super::attrs::move_net_devices(plan, child.pid)?;
    if let Some(scope) = &opts.systemd {
        crate::debug::log(|| {
            format!(
                "systemd: starting unit {} with pid {}",
                scope.unit.name, child.pid
            )
        });
        cgroups::systemd::place(scope, child.pid, cgroups)?;
    }
    ch.send(&Msg::Go(child.pid))?;
    // From here on the parent forks nothing until the init asks for
    // something: the filter compiles while the init sets up.
    seccomp.start();
    loop {
        let (msg, fd) = ch.recv_fd()?;
        match msg {
            Some(Msg::Steps(_)) | Some(Msg::SeccompFilter) => {}
            // Whatever the init asks next may fork: the threads first.
            Some(_) | None => seccomp.join()?,
        }
        match msg {
            Some(Msg::SeccompFilter) => seccomp.hand_over(ch)?,
            Some(Msg::SeccompFd) => {
                let fd = fd.ok_or_else(|| Error::other("init sent no seccomp fd"))?;
                crate::debug::log(|| "sending the seccomp notify fd to the agent".into());
                send_to_listener(plan, seccomp.filter()?, child.pid, fd.as_fd())?;
                ch.send(&Msg::SeccompDone)?;
            }
            Some(Msg::MapIds) => {
                write_id_maps(plan, child.pid)?;
                ch.send(&Msg::MapsDone)?;
            }
            Some(Msg::Pid(grandchild)) => {
                // The process that joined the pid namespace forked the real
                // init and exits; reap it and follow the init instead.
                let _ = sys::waitpid(child.pid, 0);
                child.pidfd = sys::pidfd_open(grandchild)?;
                child.pid = grandchild;
                ch.send(&Msg::Go(grandchild))?;
            }
            Some(Msg::OpenSource(index)) => match open_source(plan, child.pid, index) {
                Ok(fd) => ch.send_fd(&Msg::Source, fd.as_fd())?,
                Err(e) => {
                    crate::debug::log(|| format!("mounts[{index}]: source: {e}"));
                    ch.send(&Msg::Source)?;
                }
            },
            Some(Msg::IdmapTree(index)) => match idmap_tree(plan, &opts.idmaps, child.pid, index) {
                Ok(fd) => ch.send_fd(&Msg::Source, fd.as_fd())?,
                Err(e) => {
                    ch.send(&Msg::Failed {
                        errno: e.errno().unwrap_or(0),
                        invalid: false,
                        text: e.to_string(),
                    })?;
                }
            },
            Some(Msg::Steps(steps)) => crate::debug::report_held("create/init", &steps),
            Some(Msg::Hooks) => {
                crate::debug::log(|| "running the prestart and createRuntime hooks".into());
                run_create_hooks(plan, child.pid)?;
                ch.send(&Msg::HooksDone)?;
            }
            Some(Msg::Ready) => {
                crate::debug::log(|| {
                    format!(
                        "init: closing the pipe to signal completion (pid {}, waiting for start)",
                        child.pid
                    )
                });
                return Ok(());
            }
            Some(Msg::Failed {
                errno,
                invalid,
                text,
            }) => return Err(wire_error(errno, invalid, text)),
            Some(m) => return Err(Error::other(format!("init sent {m:?} out of turn"))),
            None => {
                let (_, status) = sys::waitpid(child.pid, 0)?;
                return Err(Error::other(format!(
                    "container init exited during setup (status {})",
                    sys::wait_status_code(status)
                )));
            }
        }
    }
}
