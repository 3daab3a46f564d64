//! Signals: kill and pidfds, the signal mask, dispositions.

use super::*;
use rustix::process::Signal;

/// The signal numbers pivot itself names, from one place (as numbers:
/// [`kill`] and [`sigwait`] also take any number a user names).
pub const SIGKILL: i32 = Signal::KILL.as_raw();
pub const SIGSTOP: i32 = Signal::STOP.as_raw();
pub const SIGSEGV: i32 = Signal::SEGV.as_raw();
pub const SIGBUS: i32 = Signal::BUS.as_raw();
pub const SIGFPE: i32 = Signal::FPE.as_raw();
pub const SIGILL: i32 = Signal::ILL.as_raw();
pub const SIGTRAP: i32 = Signal::TRAP.as_raw();
pub const SIGSYS: i32 = Signal::SYS.as_raw();
pub const SIGWINCH: i32 = Signal::WINCH.as_raw();
pub const SIGCHLD: i32 = Signal::CHILD.as_raw();
pub const SIGURG: i32 = Signal::URG.as_raw();

/// kill(2). Raw, as the signal pivot passes on may be any number the user
/// named (a real-time one too), which rustix's Signal does not take.
pub fn kill(pid: pid_t, sig: i32) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe { libc::kill(pid, sig) } as libc::c_long;
    check(r, || format!("kill({pid}, {sig})")).map(drop)
}

pub fn pidfd_open(pid: pid_t) -> Result<OwnedFd> {
    let r = match rustix::process::Pid::from_raw(pid) {
        Some(p) => rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()),
        None => Err(rustix::io::Errno::INVAL),
    };
    rx(r, || format!("pidfd_open({pid})"))
}

/// pidfd_send_signal(2); raw for the same reason as kill.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> Result<()> {
    // SAFETY: NULL siginfo is allowed; pidfd is live.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    };
    check(r, || {
        format!("pidfd_send_signal({}, {sig})", pidfd.as_raw_fd())
    })
    .map(drop)
}

/// Block the given signals (and return the previous mask).
pub fn sigprocmask_block(sigs: &[i32]) -> Result<libc::sigset_t> {
    // SAFETY: sigset_t values are plain data initialised by sigemptyset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        let r = libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) as libc::c_long;
        check(r, || "sigprocmask(SIG_BLOCK)".into())?;
        Ok(old)
    }
}

pub fn sigprocmask_set(set: &libc::sigset_t) -> Result<()> {
    // SAFETY: set is a valid sigset.
    let r =
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, set, std::ptr::null_mut()) } as libc::c_long;
    check(r, || "sigprocmask(SIG_SETMASK)".into()).map(drop)
}

/// Wait for one of the given (blocked) signals.
pub fn sigwait(sigs: &[i32]) -> Result<i32> {
    // SAFETY: sigset_t built with sigemptyset/sigaddset; info is writable.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = retry(|| libc::sigwaitinfo(&set, &mut info) as libc::c_long);
        check(r, || "sigwaitinfo()".into()).map(|s| s as i32)
    }
}

/// Reset every signal's disposition to default and unblock all, before exec.
pub fn reset_signals() {
    // SAFETY: restoring defaults for each catchable signal; the empty mask
    // is built with sigemptyset.
    unsafe {
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

pub fn ignore_signal(sig: i32) {
    // SAFETY: setting SIG_IGN for a valid signal number.
    unsafe {
        libc::signal(sig, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_signals_are_the_raw_ones() {
        for (named, raw) in [
            (SIGKILL, libc::SIGKILL),
            (SIGSTOP, libc::SIGSTOP),
            (SIGSEGV, libc::SIGSEGV),
            (SIGBUS, libc::SIGBUS),
            (SIGFPE, libc::SIGFPE),
            (SIGILL, libc::SIGILL),
            (SIGTRAP, libc::SIGTRAP),
            (SIGSYS, libc::SIGSYS),
            (SIGWINCH, libc::SIGWINCH),
            (SIGCHLD, libc::SIGCHLD),
            (SIGURG, libc::SIGURG),
        ] {
            assert_eq!(named, raw);
        }
    }
}
