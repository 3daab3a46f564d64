//! A procfs for a container that joins an existing pid namespace (a pod),
//! made without putting the process that builds the root into it. Since
//! Linux 6.18 procfs takes the pid namespace as an option (`pidns`), and
//! nothing needs to enter the pod; before, a helper does.
//!
//! Only children enter a pid namespace (setns(CLONE_NEWPID)), and every
//! process in it is visible to the others there: a pod sibling that may
//! ptrace (CAP_SYS_PTRACE without a user namespace) reaches its root, cwd
//! and fds through /proc/<pid>, and can make it run any syscall. So the
//! init stays outside the pod until its root, credentials and capabilities
//! are final (init.rs), and the one thing it needs from inside, a procfs
//! of the pod's pid namespace (fsopen takes the caller's), comes from a
//! helper made harmless before it is forked into the pod: in a user
//! namespace of its own (no capability over anything of the host's), with
//! network and IPC namespaces of its own, an empty session keyring, a
//! detached empty tmpfs as its root and cwd (nothing of the host's tree
//! has a name from there, not even in its mountinfo), no fd but its
//! socket, and a seccomp filter that lets through little more than
//! fsopen and sendmsg. It opens one procfs context per `proc` mount (and
//! one for the init's own use) and sends them; the init then configures
//! and creates them itself (that needs CAP_SYS_ADMIN over the pod's user
//! namespace, which the helper lacks), and checks what it mounted
//! (procfs.rs, check_pid_ns).

use crate::error::{Context, Error, Result};
use crate::sys::{self, Forked, FsContext};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// A procfs context for the pid namespace `pid_ns` made here, without
/// entering it: the `pidns` option (Linux 6.18). None where the kernel
/// does not know it, or with PIVOT_NO_PROCFS_PIDNS=1 (to exercise the
/// helper).
pub fn direct_context(pid_ns: BorrowedFd<'_>) -> Result<Option<FsContext>> {
    if std::env::var_os("PIVOT_NO_PROCFS_PIDNS").is_some_and(|v| v == "1") {
        return Ok(None);
    }
    let fs = FsContext::open("proc")?;
    match fs.set_fd("pidns", pid_ns) {
        Ok(()) => Ok(Some(fs)),
        Err(e) if e.errno() == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The helper's parent, started before the init changes any namespace
/// (or, when it joins a user namespace, once it is in it and in its final
/// mount namespace: init.rs, `Pod`), and the socket the contexts come
/// back on.
pub struct Helper {
    pid: i32,
    sock: OwnedFd,
    n: usize,
}

impl Helper {
    /// Fork the helper's parent, which joins the pid namespace `pid_ns`
    /// (for its child), sheds everything of the host's and forks the
    /// helper into it to open `n` procfs contexts.
    pub fn start(pid_ns: BorrowedFd<'_>, n: usize) -> Result<Helper> {
        let (ours, theirs) = sys::socketpair()?;
        match sys::fork()? {
            Forked::Child => {
                drop(ours);
                if let Err(e) = isolate_and_open(pid_ns, theirs.as_fd(), n) {
                    let _ = sys::send_msg(theirs.as_fd(), e.to_string().as_bytes(), None);
                }
                sys::exit_now(0)
            }
            Forked::Parent { pid, .. } => Ok(Helper { pid, sock: ours, n }),
        }
    }

    /// The contexts, once the helper has sent them.
    pub fn contexts(self) -> Result<Vec<FsContext>> {
        let got = receive(self.sock.as_fd(), self.n);
        let _ = sys::waitpid(self.pid, 0);
        got.ctx("a procfs of the joined pid namespace")
    }
}

fn receive(sock: BorrowedFd<'_>, n: usize) -> Result<Vec<FsContext>> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match sys::recv_msg(sock)? {
            (_, Some(fd)) => got.push(FsContext::from_fd(fd, "proc")),
            (text, None) if text.is_empty() => {
                return Err(Error::other("the helper exited without a procfs context"))
            }
            (text, None) => return Err(Error::other(String::from_utf8_lossy(&text).into_owned())),
        }
    }
    Ok(got)
}

/// In the first child, outside the pod: join it for the children, shed
/// everything of the host's, then fork the helper into the pod.
fn isolate_and_open(pid_ns: BorrowedFd<'_>, sock: BorrowedFd<'_>, n: usize) -> Result<()> {
    sys::setns(pid_ns, libc::CLONE_NEWPID)?;
    sys::close_fds_from(0, &[sock.as_raw_fd()])?;
    sys::unshare(
        (libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC) as u64,
    )?;
    sys::join_anonymous_session_keyring()?;
    let empty = FsContext::open("tmpfs")?.mount(
        crate::sys::mountflags::MOUNT_ATTR_RDONLY
            | crate::sys::mountflags::MOUNT_ATTR_NOSUID
            | crate::sys::mountflags::MOUNT_ATTR_NODEV
            | crate::sys::mountflags::MOUNT_ATTR_NOEXEC,
    )?;
    // A detached mount has no parent: `..` from it goes nowhere, so not
    // even a chroot of its own can lead the helper out of it.
    sys::fchdir(empty.as_fd())?;
    sys::chroot(".")?;
    drop(empty);
    // Taken over in the pod, the helper can still make any syscall its
    // filter lets through, with every capability of its own user
    // namespace: only what it needs, and no fsconfig to preset options on
    // the contexts it sends.
    sys::set_no_new_privs()?;
    sys::seccomp_set_filter(0, &only_what_it_needs())?;
    match sys::fork()? {
        Forked::Child => {
            let sent = open_and_send(sock, n);
            if let Err(e) = sent {
                let _ = sys::send_msg(sock, e.to_string().as_bytes(), None);
            }
            sys::exit_now(0)
        }
        Forked::Parent { pid, .. } => {
            sys::waitpid(pid, 0)?;
            Ok(())
        }
    }
}

/// In the helper, inside the pod's pid namespace.
fn open_and_send(sock: BorrowedFd<'_>, n: usize) -> Result<()> {
    for _ in 0..n {
        let fs = FsContext::open("proc")?;
        sys::send_msg(sock, b"proc", Some(fs.as_fd()))?;
    }
    Ok(())
}

/// AUDIT_ARCH_* of the build, for the filter's architecture check.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// The syscalls of the helper's parent from here on (fork, wait, exit) and
/// of the helper (fsopen, sendmsg, close, exit) with what Rust's allocator
/// and libc's fork may make; anything else fails with EPERM, any other
/// architecture or ABI (x32) is killed.
fn only_what_it_needs() -> Vec<libc::sock_filter> {
    const ALLOWED: &[libc::c_long] = &[
        libc::SYS_fsopen,
        libc::SYS_sendmsg,
        libc::SYS_close,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_wait4,
        libc::SYS_waitid,
        libc::SYS_pidfd_open,
        libc::SYS_brk,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_madvise,
        libc::SYS_futex,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_getpid,
        libc::SYS_gettid,
    ];
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let n = ALLOWED.len() as u8;
    let mut prog = vec![
        // seccomp_data.arch
        op(LD_W_ABS, 0, 0, 4),
        op(JEQ, 1, 0, AUDIT_ARCH),
        op(RET, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        // seccomp_data.nr; the x32 ABI's numbers have bit 30 set
        op(LD_W_ABS, 0, 0, 0),
        op(JGE, n, 0, 0x4000_0000),
    ];
    for (i, nr) in ALLOWED.iter().enumerate() {
        // To the ALLOW after the list, past the rest of it and the EPERM
        // (which the x32 check above jumps to).
        prog.push(op(JEQ, n - i as u8, 0, *nr as u32));
    }
    prog.push(op(RET, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32));
    prog.push(op(RET, 0, 0, libc::SECCOMP_RET_ALLOW));
    prog
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the filter returns for a syscall `nr` of architecture `arch`
    /// (a tiny interpreter for the few instructions it uses).
    fn run(prog: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let ins = prog[pc];
            let class = ins.code & 0x07;
            if class == libc::BPF_LD as u16 {
                acc = if ins.k == 4 { arch } else { nr };
                pc += 1;
            } else if class == libc::BPF_RET as u16 {
                return ins.k;
            } else {
                let hit = if ins.code & 0xf0 == libc::BPF_JGE as u16 {
                    acc >= ins.k
                } else {
                    acc == ins.k
                };
                pc += 1 + if hit { ins.jt } else { ins.jf } as usize;
            }
        }
    }

    #[test]
    fn filter_allows_only_the_list() {
        let prog = only_what_it_needs();
        let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let nr = |n: libc::c_long| n as u32;
        assert_eq!(
            run(&prog, AUDIT_ARCH, nr(libc::SYS_fsopen)),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(
            run(&prog, AUDIT_ARCH, nr(libc::SYS_getpid)),
            libc::SECCOMP_RET_ALLOW
        );
        for denied in [
            libc::SYS_fsconfig,
            libc::SYS_openat,
            libc::SYS_unshare,
            libc::SYS_ptrace,
        ] {
            assert_eq!(
                run(&prog, AUDIT_ARCH, nr(denied)),
                eperm,
                "syscall {denied}"
            );
        }
        let x32 = nr(libc::SYS_fsopen) | 0x4000_0000;
        assert_eq!(run(&prog, AUDIT_ARCH, x32), eperm);
        assert_eq!(
            run(&prog, 0x4000_0003, nr(libc::SYS_fsopen)),
            libc::SECCOMP_RET_KILL_PROCESS
        );
    }
}
