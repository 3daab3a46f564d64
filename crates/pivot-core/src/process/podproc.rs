//! A procfs for a container that joins an existing pid namespace (a pod),
//! made without putting the process that builds the root into it.
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
//! has a name from there, not even in its mountinfo), and no fd but its
//! socket. It opens one procfs context per `proc` mount and sends them;
//! the init then configures and creates them itself (that needs
//! CAP_SYS_ADMIN over the pod's user namespace, which the helper lacks),
//! and checks what it mounted (mounts.rs).

use crate::error::{Context, Error, Result};
use crate::sys::{self, Forked, FsContext};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The helper's parent, started before the init changes any namespace,
/// and the socket the contexts come back on.
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
        crate::spec::mountopts::MOUNT_ATTR_RDONLY
            | crate::spec::mountopts::MOUNT_ATTR_NOSUID
            | crate::spec::mountopts::MOUNT_ATTR_NODEV
            | crate::spec::mountopts::MOUNT_ATTR_NOEXEC,
    )?;
    // A detached mount has no parent: `..` from it goes nowhere, so not
    // even a chroot of its own can lead the helper out of it.
    sys::fchdir(empty.as_fd())?;
    sys::chroot(".")?;
    drop(empty);
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
