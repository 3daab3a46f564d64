//! The few system calls std has no safe API for: wait4 with its rusage,
//! pidfds, poll, the child-subreaper flag and setns. rustix wraps all but
//! wait4's rusage and the setns between fork and exec; each `unsafe` block
//! is here, with the reason it is sound.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// Make this process the reaper of its orphaned descendants.
pub fn set_child_subreaper() -> io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    Ok(())
}

/// A reaped child: its pid, its wait status and its resource usage.
pub struct Reaped {
    pub pid: i32,
    pub status: i32,
    pub rusage: libc::rusage,
}

/// wait4(pid, ..., options), retried on EINTR. `Ok(None)`: WNOHANG and
/// nothing has exited yet.
pub fn wait4(pid: i32, nohang: bool) -> io::Result<Option<Reaped>> {
    let options = if nohang { libc::WNOHANG } else { 0 };
    let mut status = 0;
    // SAFETY: rusage is plain integers, for which all-zero is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: status and rusage are live, writable locals of the right
        // types for the whole call.
        let r = unsafe { libc::wait4(pid, &mut status, options, &mut rusage) };
        if r > 0 {
            return Ok(Some(Reaped {
                pid: r,
                status,
                rusage,
            }));
        }
        if r == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A pidfd on `pid`, or None when the process is gone (or the kernel has
/// no pidfd_open).
pub fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

/// Wait until `fd` is readable (a pidfd: its process exited). Ok(false):
/// the timeout passed first.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        match rustix::event::poll(&mut p, Some(&timeout)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Run the command in the mount namespace `ns` (an open /proc/PID/ns/mnt):
/// the child joins it between fork and exec, so the command costs no
/// extra process (nsenter would be one more exec, timed with it).
pub fn in_mount_namespace(cmd: &mut Command, ns: &File) {
    let fd = ns.as_fd().as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only
    // makes one system call (setns), which is async-signal-safe and
    // allocates nothing; `fd` stays open in the parent for the whole spawn.
    unsafe {
        cmd.pre_exec(move || {
            // SAFETY: setns reads an fd and a flag, no pointers.
            if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
