//! Processes: clone3 and fork, wait, exec and exit, namespaces,
//! credentials, prctl, capabilities, keyrings and the seccomp filter.

use super::*;

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, program); the listener fd when
/// flags has SECCOMP_FILTER_FLAG_NEW_LISTENER.
pub fn seccomp_set_filter(flags: u32, program: &[libc::sock_filter]) -> Result<Option<OwnedFd>> {
    let len = u16::try_from(program.len()).map_err(|_| {
        Error::invalid(format!(
            "a seccomp program of {} instructions",
            program.len()
        ))
    })?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `program`, which outlives the call; the kernel
    // copies the program.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1, /* SECCOMP_SET_MODE_FILTER */
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    let r = check(r, || {
        format!("seccomp(SECCOMP_SET_MODE_FILTER, {flags:#x})")
    })?;
    Ok((flags & 8 != 0).then(|| owned(r)))
}

pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> Result<()> {
    // setns(fd, nstype) with the CLONE_NEW* bits as given (0: any kind).
    let kinds = rustix::thread::ThreadNameSpaceType::from_bits_retain(nstype as u32);
    let r = rustix::thread::move_into_thread_name_spaces(fd, kinds);
    rx(r, || {
        format!(
            "setns({}, {})",
            fd.as_raw_fd(),
            clone_flags_str(nstype as u64)
        )
    })
}

pub fn unshare(flags: u64) -> Result<()> {
    // SAFETY: unshare has no pointer arguments.
    let r = unsafe { libc::unshare(flags as i32) } as libc::c_long;
    check(r, || format!("unshare({})", clone_flags_str(flags))).map(drop)
}

pub fn clone_flags_str(flags: u64) -> String {
    let names = [
        (libc::CLONE_NEWNS, "CLONE_NEWNS"),
        (libc::CLONE_NEWUTS, "CLONE_NEWUTS"),
        (libc::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (libc::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (libc::CLONE_NEWPID, "CLONE_NEWPID"),
        (libc::CLONE_NEWNET, "CLONE_NEWNET"),
        (libc::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
        (CLONE_NEWTIME as i32, "CLONE_NEWTIME"),
        (libc::CLONE_PIDFD, "CLONE_PIDFD"),
    ];
    let mut v: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| flags & (*bit as u64) != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        v.push("0");
    }
    v.join("|")
}

pub const CLONE_NEWTIME: u64 = 0x80;
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What `clone3` returned on each side.
pub enum Forked {
    Child,
    Parent { pid: pid_t, pidfd: OwnedFd },
}

/// `clone3` with fork semantics (no new stack): the child continues from
/// this call on a copy of the caller's memory. Always asks for a pidfd so
/// the parent can signal and wait without pid-reuse races.
///
/// Only call while the process is single-threaded: the child has one
/// thread and must not rely on locks another thread could have held.
pub fn clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(cg) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cg.as_raw_fd() as u64;
    }
    // SAFETY: args is a valid clone_args of the size we pass; with no stack
    // and no CLONE_VM the child runs on a private copy of this stack, like
    // fork(). pidfd outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let r = check(r, || format!("clone3({})", clone_flags_str(args.flags)))?;
    if r == 0 {
        Ok(Forked::Child)
    } else {
        Ok(Forked::Parent {
            pid: r as pid_t,
            pidfd: owned(pidfd as libc::c_long),
        })
    }
}

/// Plain fork, for the second process where one is unavoidable (a pid or
/// time namespace holds only for children). Under a seccomp profile that
/// answers clone3 with ENOSYS (Docker's, podman's), as the init of a
/// container joining a pid namespace is when it forks, plain fork(2).
pub fn fork() -> Result<Forked> {
    match clone3(0, None) {
        Err(e) if e.errno() == Some(libc::ENOSYS) => {}
        r => return r,
    }
    // SAFETY: the process is single-threaded here (fork safety).
    let r = unsafe { libc::fork() } as libc::c_long;
    match check(r, || "fork()".into())? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as pid_t,
            pidfd: pidfd_open(pid as pid_t)?,
        }),
    }
}

/// Exit status of a child as the shell reports it: the code, or 128+signal.
pub fn wait_status_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// [`waitpid`]'s flag: return at once (pid 0) when no child is ready.
pub const WNOHANG: i32 = libc::WNOHANG;

/// waitpid for `pid`, or any child with -1; returns (pid, raw status),
/// pid 0 with WNOHANG and nothing ready.
pub fn waitpid(pid: pid_t, flags: i32) -> Result<(pid_t, i32)> {
    use rustix::process::{Pid, WaitOptions};
    let opts = WaitOptions::from_bits_retain(flags as u32);
    // rustix's waitpid(None) is pid 0 (the caller's process group);
    // wait() is -1, any child.
    let r = match (pid, Pid::from_raw(pid)) {
        (-1, _) => rx_retry(|| rustix::process::wait(opts)),
        (_, Some(p)) => rx_retry(|| rustix::process::waitpid(Some(p), opts)),
        _ => Err(rustix::io::Errno::INVAL),
    };
    Ok(match rx(r, || format!("waitpid({pid})"))? {
        Some((p, status)) => (p.as_raw_nonzero().get(), status.as_raw()),
        None => (0, 0),
    })
}

pub fn getpid() -> pid_t {
    rustix::process::getpid().as_raw_nonzero().get()
}

pub fn sethostname(name: &str) -> Result<()> {
    let r = rustix::system::sethostname(name.as_bytes());
    rx(r, || format!("sethostname({name:?})"))
}

pub fn setdomainname(name: &str) -> Result<()> {
    let r = rustix::system::setdomainname(name.as_bytes());
    rx(r, || format!("setdomainname({name:?})"))
}

pub fn setgroups(groups: &[gid_t]) -> Result<()> {
    // Raw, as rustix's set_thread_groups would need a copy of the list as
    // Gids (an allocation in the init, between clone3 and exec).
    // SAFETY: pointer and length describe the slice.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    check(r, || format!("setgroups({groups:?})")).map(drop)
}

/// setresgid/setresuid as raw syscalls (rustix's thread calls): glibc's
/// wrappers would try to broadcast to other threads, and this process has
/// only one.
pub fn setresgid(gid: gid_t) -> Result<()> {
    let g = rustix::process::Gid::from_raw(gid);
    let r = rustix::thread::set_thread_res_gid(g, g, g);
    rx(r, || format!("setresgid({gid}, {gid}, {gid})"))
}

pub fn setresuid(uid: uid_t) -> Result<()> {
    let u = rustix::process::Uid::from_raw(uid);
    let r = rustix::thread::set_thread_res_uid(u, u, u);
    rx(r, || format!("setresuid({uid}, {uid}, {uid})"))
}

pub fn umask(mask: mode_t) -> mode_t {
    rustix::process::umask(rustix::fs::Mode::from_bits_retain(mask)).bits()
}

pub fn set_child_subreaper() -> Result<()> {
    let r = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    rx(r, || "prctl(PR_SET_CHILD_SUBREAPER, 1)".into())
}

pub fn set_pdeathsig(sig: i32) -> Result<()> {
    // 0 clears it.
    let r = match (sig, rustix::process::Signal::from_named_raw(sig)) {
        (0, _) => rustix::process::set_parent_process_death_signal(None),
        (_, Some(s)) => rustix::process::set_parent_process_death_signal(Some(s)),
        _ => Err(rustix::io::Errno::INVAL),
    };
    rx(r, || format!("prctl(PR_SET_PDEATHSIG, {sig})"))
}

pub fn set_dumpable(on: bool) -> Result<()> {
    use rustix::process::DumpableBehavior;
    let how = if on {
        DumpableBehavior::Dumpable
    } else {
        DumpableBehavior::NotDumpable
    };
    let r = rustix::process::set_dumpable_behavior(how);
    rx(r, || format!("prctl(PR_SET_DUMPABLE, {})", on as u8))
}

pub fn set_no_new_privs() -> Result<()> {
    let r = rustix::thread::set_no_new_privs(true);
    rx(r, || "prctl(PR_SET_NO_NEW_PRIVS, 1)".into())
}

/// execve; returns only on failure.
pub fn execve(path: &str, args: &[String], env: &[String]) -> Error {
    let to_c = |v: &[String]| -> Result<Vec<CString>> { v.iter().map(|s| c(s)).collect() };
    let (p, a, e) = match (c(path), to_c(args), to_c(env)) {
        (Ok(p), Ok(a), Ok(e)) => (p, a, e),
        (Err(x), _, _) | (_, Err(x), _) | (_, _, Err(x)) => return x,
    };
    let mut ap: Vec<*const libc::c_char> = a.iter().map(|s| s.as_ptr()).collect();
    ap.push(std::ptr::null());
    let mut ep: Vec<*const libc::c_char> = e.iter().map(|s| s.as_ptr()).collect();
    ep.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of NUL-terminated strings, alive for the call.
    unsafe { libc::execve(p.as_ptr(), ap.as_ptr(), ep.as_ptr()) };
    // runc's words first (`exec /run.sh: no such file or directory`,
    // which callers match), then the call and the errno's name.
    let e = errno();
    let why = std::io::Error::from_raw_os_error(e).to_string();
    let why = why.split(" (os error").next().unwrap_or("").to_lowercase();
    let name = crate::error::errno_name(e);
    let name = name.split(' ').next().unwrap_or("");
    Error::new(
        crate::error::ErrorKind::Os(e),
        format!("exec {path}: {why} (execve: {name})"),
    )
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and runs no atexit handlers, which belong
    // to the parent in a forked child.
    unsafe { libc::_exit(code) }
}

pub fn getuid() -> uid_t {
    rustix::process::getuid().as_raw()
}

pub fn geteuid() -> uid_t {
    rustix::process::geteuid().as_raw()
}

pub fn getgid() -> gid_t {
    rustix::process::getgid().as_raw()
}

/// prctl with up to three integer arguments. Raw: rustix's capability
/// calls take only the capabilities it knows, and the kernel may have
/// newer ones (the bounding set is dropped up to cap_last_cap).
pub fn prctl3(option: i32, a: u64, b: u64, what: &str) -> Result<i32> {
    // SAFETY: the options used (PR_CAPBSET_*, PR_CAP_AMBIENT,
    // PR_SET_KEEPCAPS) take integer arguments only.
    let r = unsafe { libc::prctl(option, a, b, 0, 0) } as libc::c_long;
    check(r, || format!("prctl({what}, {a}, {b})")).map(|v| v as i32)
}

/// This thread's effective capabilities (capget), as a 64-bit set.
pub fn effective_caps() -> Result<u64> {
    let r = rustix::thread::capabilities(None).map(|c| c.effective.bits());
    rx(r, || "capget(self)".into())
}

/// capset for this thread: effective, permitted, inheritable as 64-bit sets.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    let sets = CapabilitySets {
        effective: CapabilitySet::from_bits_retain(effective),
        permitted: CapabilitySet::from_bits_retain(permitted),
        inheritable: CapabilitySet::from_bits_retain(inheritable),
    };
    let r = rustix::thread::set_capabilities(None, sets);
    rx(r, || {
        format!("capset(effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x})")
    })
}

/// Join a new session keyring with no name (nothing can join it by name).
pub fn join_anonymous_session_keyring() -> Result<()> {
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING takes NULL for an anonymous one.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            1, /* KEYCTL_JOIN_SESSION_KEYRING */
            std::ptr::null::<libc::c_char>(),
        )
    };
    check(r, || "keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)".into()).map(drop)
}

/// Join a new anonymous session keyring, so the container does not share
/// the caller's.
pub fn join_session_keyring(name: &str) -> Result<()> {
    let n = c(name)?;
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING takes a NUL-terminated name.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            1, /* KEYCTL_JOIN_SESSION_KEYRING */
            n.as_ptr(),
        )
    };
    check(r, || {
        format!("keyctl(KEYCTL_JOIN_SESSION_KEYRING, {name:?})")
    })
    .map(drop)
}
