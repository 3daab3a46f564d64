//! The ptrace(2) requests the hunters make (hunt.rs), as safe functions:
//! each returns the errno of a failed request as a number. Waiting for a
//! tracee is rustix's waitpid.

use std::time::{Duration, Instant};

use rustix::process::{waitpid, Pid, WaitOptions};

/// A request that passes integers only: the kernel reads or writes no
/// memory of this process for it.
#[derive(Clone, Copy)]
pub enum Plain {
    Seize,
    Interrupt,
    Detach,
    SingleStep,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `ptrace(request, pid, 0, 0)`.
pub fn plain(request: Plain, pid: i32) -> Result<(), i32> {
    let request = match request {
        Plain::Seize => libc::PTRACE_SEIZE,
        Plain::Interrupt => libc::PTRACE_INTERRUPT,
        Plain::Detach => libc::PTRACE_DETACH,
        Plain::SingleStep => libc::PTRACE_SINGLESTEP,
    };
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: these requests take no pointer to this process's memory
    // (addr and data are 0).
    match unsafe { libc::ptrace(request, pid, null, null) } {
        0 => Ok(()),
        _ => Err(errno()),
    }
}

/// PTRACE_POKETEXT: writes `word` at `addr` in the stopped tracee (its
/// memory, not ours).
pub fn poke(pid: i32, addr: u64, word: u64) -> Result<(), i32> {
    // SAFETY: addr and data are integers naming the tracee's memory; the
    // kernel touches none of this process's.
    match unsafe { libc::ptrace(libc::PTRACE_POKETEXT, pid, addr as usize, word as usize) } {
        0 => Ok(()),
        _ => Err(errno()),
    }
}

/// PTRACE_PEEKTEXT: the word at `addr` in the stopped tracee.
pub fn peek(pid: i32, addr: u64) -> Result<u64, i32> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: errno is this thread's to clear (a word of -1 is told from a
    // failure by errno only); addr names the tracee's memory, and libc's
    // wrapper returns the word read.
    unsafe {
        *libc::__errno_location() = 0;
        let word = libc::ptrace(libc::PTRACE_PEEKTEXT, pid, addr as usize, null);
        match *libc::__errno_location() {
            0 => Ok(word as u64),
            e => Err(e),
        }
    }
}

/// PTRACE_GETREGS of the stopped tracee.
#[cfg(target_arch = "x86_64")]
pub fn get_regs(pid: i32) -> Result<libc::user_regs_struct, i32> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: user_regs_struct is plain integers (all zero is valid), and
    // the kernel fills it, valid and writable for the call.
    let (rc, regs) = unsafe {
        let mut regs: libc::user_regs_struct = std::mem::zeroed();
        let rc = libc::ptrace(libc::PTRACE_GETREGS, pid, null, &mut regs);
        (rc, regs)
    };
    match rc {
        0 => Ok(regs),
        _ => Err(errno()),
    }
}

/// PTRACE_SETREGS of the stopped tracee.
#[cfg(target_arch = "x86_64")]
pub fn set_regs(pid: i32, regs: &libc::user_regs_struct) -> Result<(), i32> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: the kernel only reads `regs`, valid for the call.
    match unsafe { libc::ptrace(libc::PTRACE_SETREGS, pid, null, regs) } {
        0 => Ok(()),
        _ => Err(errno()),
    }
}

/// Waits (bounded by `limit`) for the traced `pid` to change state:
/// its raw wait status, or None when it did not in time or waitpid
/// failed.
pub fn wait_stop(pid: i32, limit: Duration) -> Option<i32> {
    let pid = Pid::from_raw(pid.max(0))?;
    // __WALL: a tracee that is a thread of another process is waited for
    // too.
    let options = WaitOptions::NOHANG | WaitOptions::from_bits_retain(libc::__WALL as u32);
    let end = Instant::now() + limit;
    while Instant::now() < end {
        match waitpid(Some(pid), options) {
            Ok(Some((_, status))) => return Some(status.as_raw()),
            Ok(None) => std::thread::sleep(Duration::from_micros(200)),
            Err(_) => return None,
        }
    }
    None
}

/// PTRACE_SEIZE `pid`, then stop it (PTRACE_INTERRUPT) and wait (bounded
/// by `limit`) for the stop: whether it stopped. Err: the errno of the
/// seize.
pub fn seize_and_stop(pid: i32, limit: Duration) -> Result<bool, i32> {
    plain(Plain::Seize, pid)?;
    if plain(Plain::Interrupt, pid).is_err() {
        return Ok(false);
    }
    Ok(wait_stop(pid, limit).is_some_and(|st| libc::WIFSTOPPED(st)))
}
