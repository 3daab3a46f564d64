//! Every kernel call pivot makes, and the only module with `unsafe`.
//!
//! Each wrapper returns [`Error`] whose text is the call with its arguments
//! as strace would print them, followed by the errno name: the innermost
//! frame of every error chain.

#![allow(unsafe_code)]

pub mod mountflags;
pub mod sock;
pub mod tty;

use crate::error::{Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub use libc::{gid_t, mode_t, pid_t, uid_t};

/// `AT_FDCWD` as a borrowed fd, for calls that take a directory fd.
pub fn cwd() -> BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is a sentinel the kernel understands in every *at
    // call; it is never closed or read as a real descriptor.
    unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn c(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("path {s:?} contains a NUL byte")))
}

fn dirname(fd: BorrowedFd<'_>) -> String {
    if fd.as_raw_fd() == libc::AT_FDCWD {
        "AT_FDCWD".into()
    } else {
        fd.as_raw_fd().to_string()
    }
}

/// Check a libc return value: -1 means failure with errno.
fn check(ret: libc::c_long, call: impl FnOnce() -> String) -> Result<libc::c_long> {
    if ret == -1 {
        Err(Error::os(call(), errno()))
    } else {
        Ok(ret)
    }
}

/// Retry a call while it fails with EINTR.
fn retry<F: FnMut() -> libc::c_long>(mut f: F) -> libc::c_long {
    loop {
        let r = f();
        if r != -1 || errno() != libc::EINTR {
            return r;
        }
    }
}

fn owned(ret: libc::c_long) -> OwnedFd {
    // SAFETY: callers pass only a fresh descriptor a successful call
    // returned; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as RawFd) }
}

/// Names of open flags, for error text.
pub fn open_flags_str(flags: i32) -> String {
    let mut v = Vec::new();
    let acc = flags & libc::O_ACCMODE;
    if flags & libc::O_PATH != 0 {
        v.push("O_PATH");
    } else {
        v.push(match acc {
            libc::O_WRONLY => "O_WRONLY",
            libc::O_RDWR => "O_RDWR",
            _ => "O_RDONLY",
        });
    }
    for (bit, name) in [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_NOCTTY, "O_NOCTTY"),
    ] {
        if flags & bit != 0 {
            v.push(name);
        }
    }
    v.join("|")
}

pub fn openat(dir: BorrowedFd<'_>, path: &str, flags: i32, mode: mode_t) -> Result<OwnedFd> {
    let p = c(path)?;
    // SAFETY: p is a valid NUL-terminated string; dir is a live fd or AT_FDCWD.
    let r = retry(|| unsafe {
        libc::openat(dir.as_raw_fd(), p.as_ptr(), flags | libc::O_CLOEXEC, mode) as libc::c_long
    });
    check(r, || {
        format!(
            "openat({}, {path:?}, {})",
            dirname(dir),
            open_flags_str(flags | libc::O_CLOEXEC)
        )
    })
    .map(owned)
}

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Set by tests and by `PIVOT_NO_OPENAT2=1` to exercise the fallback
/// resolver exactly as on a kernel without openat2.
pub fn openat2_disabled() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0);
    match STATE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let off = std::env::var_os("PIVOT_NO_OPENAT2").is_some_and(|v| v == "1");
            STATE.store(if off { 2 } else { 1 }, Ordering::Relaxed);
            off
        }
    }
}

fn resolve_str(resolve: u64) -> String {
    let names = [
        (RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV"),
        (RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"),
        (RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS"),
        (RESOLVE_BENEATH, "RESOLVE_BENEATH"),
        (RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| resolve & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "0".into()
    } else {
        set.join("|")
    }
}

pub fn openat2(dir: BorrowedFd<'_>, path: &str, flags: i32, resolve: u64) -> Result<OwnedFd> {
    if openat2_disabled() {
        return Err(Error::os(
            "openat2 (disabled by PIVOT_NO_OPENAT2)",
            libc::ENOSYS,
        ));
    }
    let p = c(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: how is a properly laid out struct open_how whose size we pass;
    // p is NUL-terminated.
    let r = retry(|| unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            p.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    });
    check(r, || {
        format!(
            "openat2({}, {path:?}, {}, {})",
            dirname(dir),
            open_flags_str(flags | libc::O_CLOEXEC),
            resolve_str(resolve)
        )
    })
    .map(owned)
}

pub fn mkdirat(dir: BorrowedFd<'_>, path: &str, mode: mode_t) -> Result<()> {
    let p = c(path)?;
    // SAFETY: valid fd and NUL-terminated path.
    let r = unsafe { libc::mkdirat(dir.as_raw_fd(), p.as_ptr(), mode) } as libc::c_long;
    check(r, || {
        format!("mkdirat({}, {path:?}, 0{mode:o})", dirname(dir))
    })
    .map(drop)
}

pub fn mknodat(dir: BorrowedFd<'_>, path: &str, mode: mode_t, dev: libc::dev_t) -> Result<()> {
    let p = c(path)?;
    // SAFETY: valid fd and NUL-terminated path.
    let r = unsafe { libc::mknodat(dir.as_raw_fd(), p.as_ptr(), mode, dev) } as libc::c_long;
    check(r, || {
        format!(
            "mknodat({}, {path:?}, 0{mode:o}, makedev({}, {}))",
            dirname(dir),
            libc::major(dev),
            libc::minor(dev)
        )
    })
    .map(drop)
}

pub fn mkfifoat(dir: BorrowedFd<'_>, path: &str, mode: mode_t) -> Result<()> {
    let p = c(path)?;
    // SAFETY: valid fd and NUL-terminated path.
    let r = unsafe { libc::mkfifoat(dir.as_raw_fd(), p.as_ptr(), mode) } as libc::c_long;
    check(r, || {
        format!("mkfifoat({}, {path:?}, 0{mode:o})", dirname(dir))
    })
    .map(drop)
}

pub fn symlinkat(target: &str, dir: BorrowedFd<'_>, path: &str) -> Result<()> {
    let t = c(target)?;
    let p = c(path)?;
    // SAFETY: valid fd and NUL-terminated strings.
    let r = unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), p.as_ptr()) } as libc::c_long;
    check(r, || {
        format!("symlinkat({target:?}, {}, {path:?})", dirname(dir))
    })
    .map(drop)
}

pub fn unlinkat(dir: BorrowedFd<'_>, path: &str, flags: i32) -> Result<()> {
    let p = c(path)?;
    // SAFETY: valid fd and NUL-terminated path.
    let r = unsafe { libc::unlinkat(dir.as_raw_fd(), p.as_ptr(), flags) } as libc::c_long;
    check(r, || format!("unlinkat({}, {path:?})", dirname(dir))).map(drop)
}

pub fn readlinkat(dir: BorrowedFd<'_>, path: &str) -> Result<String> {
    let p = c(path)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is writable for its length; p is NUL-terminated.
    let r = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            p.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    } as libc::c_long;
    let n = check(r, || format!("readlinkat({}, {path:?})", dirname(dir)))? as usize;
    buf.truncate(n);
    String::from_utf8(buf).map_err(|_| Error::invalid(format!("symlink {path:?} is not UTF-8")))
}

pub type Stat = libc::stat;

pub fn fstatat(dir: BorrowedFd<'_>, path: &str, flags: i32) -> Result<Stat> {
    let p = c(path)?;
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: Stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable; p NUL-terminated.
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), p.as_ptr(), &mut st, flags) } as libc::c_long;
    check(r, || format!("fstatat({}, {path:?})", dirname(dir)))?;
    Ok(st)
}

pub fn fstat(fd: BorrowedFd<'_>) -> Result<Stat> {
    fstatat(fd, "", libc::AT_EMPTY_PATH)
}

/// The mount an fd is on: its mount id (the first field of mountinfo)
/// and whether the fd is that mount's root (statx, Linux 5.8).
pub fn mount_of(fd: BorrowedFd<'_>) -> Result<(u64, bool)> {
    let e = c("")?;
    // SAFETY: zeroed statx is a valid out-buffer.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable; e is the empty NUL-terminated string.
    let r = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut st,
        )
    } as libc::c_long;
    check(r, || format!("statx({}, STATX_MNT_ID)", fd.as_raw_fd()))?;
    let root = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if st.stx_mask & libc::STATX_MNT_ID == 0 || st.stx_attributes_mask & root == 0 {
        return Err(Error::other(
            "statx gives no mount id or mount root (Linux 5.8 or later is needed)",
        ));
    }
    Ok((st.stx_mnt_id, st.stx_attributes & root != 0))
}

/// Whether /sys/fs/cgroup is a cgroup2 mount (a unified host), as runc's
/// IsCgroup2UnifiedMode.
pub fn cgroup2_unified() -> bool {
    openat(
        cwd(),
        "/sys/fs/cgroup",
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .and_then(|fd| fstatfs(fd.as_fd()))
    .is_ok_and(|st| st.f_type == libc::CGROUP2_SUPER_MAGIC)
}

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

pub fn fstatfs(fd: BorrowedFd<'_>) -> Result<libc::statfs> {
    // SAFETY: zeroed statfs is a valid out-buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable, fd is live.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } as libc::c_long;
    check(r, || format!("fstatfs({})", fd.as_raw_fd()))?;
    Ok(st)
}

/// The mount flags (ST_*) of the mount `fd` is on.
pub fn mount_flags_of(fd: BorrowedFd<'_>) -> Result<u64> {
    // SAFETY: zeroed statvfs is a valid out-buffer.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable, fd is live.
    let r = unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } as libc::c_long;
    check(r, || format!("fstatvfs({})", fd.as_raw_fd()))?;
    Ok(st.f_flag as u64)
}

pub fn fchown(fd: BorrowedFd<'_>, uid: uid_t, gid: gid_t) -> Result<()> {
    let e = c("")?;
    // SAFETY: fchownat with AT_EMPTY_PATH on a live fd (works for O_PATH).
    let r = unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            e.as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    } as libc::c_long;
    check(r, || {
        format!(
            "fchownat({}, \"\", {uid}, {gid}, AT_EMPTY_PATH)",
            fd.as_raw_fd()
        )
    })
    .map(drop)
}

/// chmod through a handle, which may be O_PATH (via fchmodat2's
/// AT_EMPTY_PATH on new kernels).
pub fn fchmod(fd: BorrowedFd<'_>, mode: mode_t) -> Result<()> {
    // SAFETY: plain fchmod on a live fd.
    let r = unsafe { libc::fchmod(fd.as_raw_fd(), mode) } as libc::c_long;
    if r == -1 && errno() == libc::EBADF {
        let e = c("")?;
        // SAFETY: fchmodat2(fd, "", mode, AT_EMPTY_PATH); fd live, e NUL-terminated.
        let r2 = unsafe {
            libc::syscall(
                452, /* fchmodat2 */
                fd.as_raw_fd(),
                e.as_ptr(),
                mode,
                libc::AT_EMPTY_PATH,
            )
        };
        if r2 == -1 && errno() == libc::ENOSYS {
            // Before Linux 6.6 there is no fchmodat2: chmod the object the
            // handle names through its magic link (not a path walk).
            let (dir, path) = self_proc(&format!("fd/{}", fd.as_raw_fd()));
            let p = c(&path)?;
            // SAFETY: p is NUL-terminated; fchmodat follows the magic link
            // to exactly the object the fd refers to.
            let r3 =
                unsafe { libc::fchmodat(dir.as_raw_fd(), p.as_ptr(), mode, 0) } as libc::c_long;
            return check(r3, || {
                format!("fchmodat({}, {path:?}, 0{mode:o})", dir.as_raw_fd())
            })
            .map(drop);
        }
        return check(r2, || {
            format!(
                "fchmodat2({}, \"\", 0{mode:o}, AT_EMPTY_PATH)",
                fd.as_raw_fd()
            )
        })
        .map(drop);
    }
    check(r, || format!("fchmod({}, 0{mode:o})", fd.as_raw_fd())).map(drop)
}

/// A procfs of the host's that shows this process, named by a handle the
/// caller owns and checked, to use instead of /proc (-1: /proc). Set by
/// the init of a container that joins a pid namespace: it builds the root
/// outside that namespace, so the container's /proc does not show it.
static SELF_PROC: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Use `dir` (a procfs directory the caller keeps open until it calls
/// this again with None) for this process's own /proc entries.
pub fn set_self_proc(dir: Option<BorrowedFd<'_>>) {
    let fd = dir.map_or(-1, |d| d.as_raw_fd());
    SELF_PROC.store(fd, std::sync::atomic::Ordering::Relaxed);
}

/// The procfs directory showing this process: the one `set_self_proc`
/// named (a duplicate of it), else /proc opened O_PATH.
pub fn open_proc_dir() -> Result<OwnedFd> {
    let fd = SELF_PROC.load(std::sync::atomic::Ordering::Relaxed);
    if fd < 0 {
        return openat(
            cwd(),
            "/proc",
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        );
    }
    // SAFETY: no pointers; the fd stays open while it is registered.
    let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) } as libc::c_long;
    check(r, || format!("fcntl({fd}, F_DUPFD_CLOEXEC)")).map(owned)
}

/// (directory, path) naming this process's `/proc/self/<rel>`.
fn self_proc(rel: &str) -> (BorrowedFd<'static>, String) {
    let fd = SELF_PROC.load(std::sync::atomic::Ordering::Relaxed);
    if fd < 0 {
        return (cwd(), format!("/proc/self/{rel}"));
    }
    // SAFETY: the fd stays open while it is registered (set_self_proc).
    (unsafe { BorrowedFd::borrow_raw(fd) }, format!("self/{rel}"))
}

/// Where an fd's magic link points (the kernel's name for what it is).
pub fn readlink_fd(fd: BorrowedFd<'_>) -> Result<String> {
    let (dir, path) = self_proc(&format!("fd/{}", fd.as_raw_fd()));
    readlinkat(dir, &path)
}

pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> Result<()> {
    let s = source.map(c).transpose()?;
    let t = c(target)?;
    let f = fstype.map(c).transpose()?;
    let d = data.map(c).transpose()?;
    let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string alive for the call.
    let r = unsafe {
        libc::mount(
            ptr(&s),
            t.as_ptr(),
            ptr(&f),
            flags as libc::c_ulong,
            ptr(&d).cast(),
        )
    } as libc::c_long;
    check(r, || {
        format!(
            "mount({:?}, {target:?}, {:?}, {}, {:?})",
            source.unwrap_or(""),
            fstype.unwrap_or(""),
            mountflags::flags_str(flags),
            data.unwrap_or("")
        )
    })
    .map(drop)
}

pub fn umount2(target: &str, flags: i32) -> Result<()> {
    let t = c(target)?;
    // SAFETY: NUL-terminated path.
    let r = unsafe { libc::umount2(t.as_ptr(), flags) } as libc::c_long;
    check(r, || format!("umount2({target:?}, {flags:#x})")).map(drop)
}

pub fn pivot_root(new_root: &str, put_old: &str) -> Result<()> {
    let n = c(new_root)?;
    let o = c(put_old)?;
    // SAFETY: NUL-terminated paths.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) };
    check(r, || format!("pivot_root({new_root:?}, {put_old:?})")).map(drop)
}

pub fn fchdir(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: live fd.
    let r = unsafe { libc::fchdir(fd.as_raw_fd()) } as libc::c_long;
    check(r, || format!("fchdir({})", fd.as_raw_fd())).map(drop)
}

pub fn chdir(path: &str) -> Result<()> {
    let p = c(path)?;
    // SAFETY: NUL-terminated path.
    let r = unsafe { libc::chdir(p.as_ptr()) } as libc::c_long;
    check(r, || format!("chdir({path:?})")).map(drop)
}

pub fn chroot(path: &str) -> Result<()> {
    let p = c(path)?;
    // SAFETY: NUL-terminated path.
    let r = unsafe { libc::chroot(p.as_ptr()) } as libc::c_long;
    check(r, || format!("chroot({path:?})")).map(drop)
}

pub fn getcwd() -> Result<String> {
    std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| Error::io("getcwd()", e))
}

pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> Result<()> {
    // SAFETY: live fd.
    let r = unsafe { libc::setns(fd.as_raw_fd(), nstype) } as libc::c_long;
    check(r, || {
        format!(
            "setns({}, {})",
            fd.as_raw_fd(),
            clone_flags_str(nstype as u64)
        )
    })
    .map(drop)
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

/// waitpid; returns (pid, raw status), pid 0 with WNOHANG and nothing ready.
pub fn waitpid(pid: pid_t, flags: i32) -> Result<(pid_t, i32)> {
    let mut status = 0;
    // SAFETY: status is a valid out pointer.
    let r = retry(|| unsafe { libc::waitpid(pid, &mut status, flags) } as libc::c_long);
    let r = check(r, || format!("waitpid({pid})"))?;
    Ok((r as pid_t, status))
}

pub fn kill(pid: pid_t, sig: i32) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe { libc::kill(pid, sig) } as libc::c_long;
    check(r, || format!("kill({pid}, {sig})")).map(drop)
}

pub fn pidfd_open(pid: pid_t) -> Result<OwnedFd> {
    // SAFETY: no pointers.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    check(r, || format!("pidfd_open({pid})")).map(owned)
}

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

pub fn getpid() -> pid_t {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

pub fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a writable array of two ints.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } as libc::c_long;
    check(r, || {
        "socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC)".into()
    })?;
    Ok((owned(fds[0] as libc::c_long), owned(fds[1] as libc::c_long)))
}

/// Send one datagram, optionally carrying one fd (SCM_RIGHTS).
pub fn send_msg(sock: BorrowedFd<'_>, data: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cbuf = [0u64; 4];
    // SAFETY: zeroed msghdr is valid; we fill the fields we use.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        // SAFETY: CMSG_SPACE is a pure computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points at cbuf, big enough for one fd's cmsg.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd.as_raw_fd());
        }
    }
    // SAFETY: msg refers to live buffers for the duration of the call.
    let r = retry(
        || unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) } as libc::c_long,
    );
    check(r, || format!("sendmsg({})", sock.as_raw_fd())).map(drop)
}

/// Receive one datagram (up to 64 KiB) and at most one passed fd.
/// An empty result means the peer closed the socket.
pub fn recv_msg(sock: BorrowedFd<'_>) -> Result<(Vec<u8>, Option<OwnedFd>)> {
    let mut buf = vec![0u8; 65536];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 4];
    // SAFETY: zeroed msghdr is valid; we fill the fields we use.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: msg refers to live, writable buffers.
    let r = retry(
        || unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) }
            as libc::c_long,
    );
    let n = check(r, || format!("recvmsg({})", sock.as_raw_fd()))? as usize;
    buf.truncate(n);
    let mut fd = None;
    // SAFETY: walking the control buffer the kernel filled, within controllen.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
        {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
    }
    Ok((buf, fd))
}

pub fn sethostname(name: &str) -> Result<()> {
    // SAFETY: pointer and length describe name's bytes.
    let r = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } as libc::c_long;
    check(r, || format!("sethostname({name:?})")).map(drop)
}

pub fn setdomainname(name: &str) -> Result<()> {
    // SAFETY: pointer and length describe name's bytes.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } as libc::c_long;
    check(r, || format!("setdomainname({name:?})")).map(drop)
}

pub fn setgroups(groups: &[gid_t]) -> Result<()> {
    // SAFETY: pointer and length describe the slice.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    check(r, || format!("setgroups({groups:?})")).map(drop)
}

/// setresgid/setresuid as raw syscalls: glibc's wrappers would try to
/// broadcast to other threads, and this process has only one.
pub fn setresgid(gid: gid_t) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    check(r, || format!("setresgid({gid}, {gid}, {gid})")).map(drop)
}

pub fn setresuid(uid: uid_t) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    check(r, || format!("setresuid({uid}, {uid}, {uid})")).map(drop)
}

pub fn umask(mask: mode_t) -> mode_t {
    // SAFETY: no pointers.
    unsafe { libc::umask(mask) }
}

pub fn prctl(option: i32, arg: u64, what: &str) -> Result<()> {
    // SAFETY: the options used take integer arguments only.
    let r = unsafe { libc::prctl(option, arg, 0, 0, 0) } as libc::c_long;
    check(r, || format!("prctl({what}, {arg})")).map(drop)
}

pub fn set_child_subreaper() -> Result<()> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, 1, "PR_SET_CHILD_SUBREAPER")
}

pub fn set_pdeathsig(sig: i32) -> Result<()> {
    prctl(libc::PR_SET_PDEATHSIG, sig as u64, "PR_SET_PDEATHSIG")
}

pub fn set_dumpable(on: bool) -> Result<()> {
    prctl(libc::PR_SET_DUMPABLE, on as u64, "PR_SET_DUMPABLE")
}

pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long;
    check(r, || "prctl(PR_SET_NO_NEW_PRIVS, 1)".into()).map(drop)
}

/// Mark every fd from `first` up close-on-exec.
pub fn cloexec_from(first: u32) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let r = check(r, || {
        format!("close_range({first}, ~0, CLOSE_RANGE_CLOEXEC)")
    });
    match r {
        Ok(_) => Ok(()),
        // A seccomp filter already loaded (no_new_privs off: it goes in
        // before the capabilities are dropped) may refuse close_range; mark
        // the open fds one by one instead, as runc closes them.
        Err(e) => cloexec_each_from(first).map_err(|_| e),
    }
}

fn cloexec_each_from(first: u32) -> Result<()> {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Error::io("read /proc/self/fd", e))?
        .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &RawFd| fd >= 0 && fd as u32 >= first)
        .collect();
    for fd in fds {
        // SAFETY: no pointers; an fd closed meanwhile (the directory's own)
        // fails with EBADF, which is fine.
        let r = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } as libc::c_long;
        match check(r, || format!("fcntl({fd}, F_SETFD, FD_CLOEXEC)")) {
            Err(e) if e.errno() != Some(libc::EBADF) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Write to an fd known only by its number (one the caller passed down,
/// such as --status-fd); EBADF if it is not open.
pub fn write_fd_number(fd: RawFd, data: &[u8]) -> Result<usize> {
    // SAFETY: data is readable for its length; a bad fd number only makes
    // write(2) fail.
    let r = retry(|| unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) } as libc::c_long);
    check(r, || format!("write({fd})")).map(|n| n as usize)
}

/// FD_CLOEXEC and the other fd flags of an fd known only by its number;
/// EBADF if nothing is open there.
pub fn fd_flags(fd: RawFd) -> Result<i32> {
    // SAFETY: no pointers; a bad fd number only makes fcntl fail.
    let r = unsafe { libc::fcntl(fd, libc::F_GETFD) } as libc::c_long;
    check(r, || format!("fcntl({fd}, F_GETFD)")).map(|v| v as i32)
}

/// Set or clear FD_CLOEXEC on one fd.
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<()> {
    let flag = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: no pointers.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flag) } as libc::c_long;
    check(r, || format!("fcntl({}, F_SETFD, {flag})", fd.as_raw_fd())).map(drop)
}

pub fn dup2(old: RawFd, new: RawFd) -> Result<()> {
    // SAFETY: no pointers.
    let r = unsafe { libc::dup2(old, new) } as libc::c_long;
    check(r, || format!("dup2({old}, {new})")).map(drop)
}

pub fn flock(fd: BorrowedFd<'_>, op: i32) -> Result<()> {
    // SAFETY: live fd.
    let r = retry(|| unsafe { libc::flock(fd.as_raw_fd(), op) } as libc::c_long);
    check(r, || format!("flock({}, {op})", fd.as_raw_fd())).map(drop)
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

pub fn getuid() -> uid_t {
    // SAFETY: no arguments.
    unsafe { libc::getuid() }
}

pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: no pointers.
    unsafe { libc::isatty(fd) == 1 }
}

/// Read the whole of a small file through an fd.
pub fn read_fd_to_string(fd: &OwnedFd) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::from(fd.try_clone().map_err(|e| Error::io("dup", e))?);
    let mut s = String::new();
    f.read_to_string(&mut s)
        .map_err(|e| Error::io(format!("read({})", fd.as_raw_fd()), e))?;
    Ok(s)
}

pub fn cstr_to_string(p: &CStr) -> String {
    p.to_string_lossy().into_owned()
}

pub fn makedev(major: u64, minor: u64) -> libc::dev_t {
    libc::makedev(major as u32, minor as u32)
}

pub fn major(dev: libc::dev_t) -> u64 {
    libc::major(dev) as u64
}

pub fn minor(dev: libc::dev_t) -> u64 {
    libc::minor(dev) as u64
}

/// poll one fd for `events`; returns the revents, 0 on timeout.
pub fn poll_one(fd: BorrowedFd<'_>, events: i16, timeout_ms: i32) -> Result<i16> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = retry(|| unsafe { libc::poll(&mut p, 1, timeout_ms) } as libc::c_long);
    check(r, || format!("poll({})", fd.as_raw_fd()))?;
    Ok(p.revents)
}

pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: buf is writable for its length.
    let r = retry(
        || unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }
            as libc::c_long,
    );
    check(r, || format!("read({})", fd.as_raw_fd())).map(|n| n as usize)
}

pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize> {
    // SAFETY: buf is readable for its length.
    let r = retry(
        || unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) } as libc::c_long,
    );
    check(r, || format!("write({})", fd.as_raw_fd())).map(|n| n as usize)
}

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is a valid rlimit; pid 0 means this process.
    let r = unsafe { libc::prlimit(0, resource as _, &lim, std::ptr::null_mut()) } as libc::c_long;
    check(r, || format!("prlimit(0, {resource}, {{{soft}, {hard}}})")).map(drop)
}

pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
pub const SYSFS_MAGIC: i64 = 0x6265_6572;

// The new mount API: mounts are built on fds and attached to handles, so
// no path inside the rootfs is walked twice (SECURITY.md rule 2).

pub const AT_RECURSIVE: u32 = 0x8000;
pub const OPEN_TREE_CLONE: u32 = 1;
const FSOPEN_CLOEXEC: u32 = 1;
const FSMOUNT_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Read what the filesystem said about a failed fsconfig, if anything.
fn fs_log(fs: BorrowedFd<'_>) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: buf is writable for its length.
        let r = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if r <= 0 {
            break;
        }
        let msg = String::from_utf8_lossy(&buf[..r as usize]);
        // Each message starts with "e ", "w " or "i ".
        out.push(msg.get(2..).unwrap_or("").trim().to_string());
    }
    out.join("; ")
}

/// A filesystem context between fsopen and fsmount.
pub struct FsContext {
    fd: OwnedFd,
    fstype: String,
}

impl FsContext {
    pub fn open(fstype: &str) -> Result<FsContext> {
        let t = c(fstype)?;
        // SAFETY: t is NUL-terminated.
        let r = unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) };
        let fd = check(r, || format!("fsopen({fstype:?})"))?;
        Ok(FsContext {
            fd: owned(fd),
            fstype: fstype.to_string(),
        })
    }

    fn config(&self, cmd: u32, key: Option<&str>, value: Option<&str>) -> Result<()> {
        let k = key.map(c).transpose()?;
        let v = value.map(c).transpose()?;
        let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: key/value are NULL or NUL-terminated strings alive for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                cmd,
                ptr(&k),
                ptr(&v),
                0,
            )
        };
        if r == -1 {
            let e = errno();
            let log = fs_log(self.fd.as_fd());
            let what = match (key, value) {
                (Some(k), Some(v)) => format!("fsconfig({}, {k:?}, {v:?})", self.fstype),
                (Some(k), None) => format!("fsconfig({}, {k:?})", self.fstype),
                _ => format!("fsconfig({}, FSCONFIG_CMD_CREATE)", self.fstype),
            };
            let what = if log.is_empty() {
                what
            } else {
                format!("{what} [{log}]")
            };
            return Err(Error::os(what, e));
        }
        Ok(())
    }

    /// fsconfig(FSCONFIG_SET_FD): `key` names an open file (procfs's
    /// `pidns`).
    pub fn set_fd(&self, key: &str, fd: BorrowedFd<'_>) -> Result<()> {
        let k = c(key)?;
        // SAFETY: key is NUL-terminated, value NULL, aux a live fd.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                5, /* FSCONFIG_SET_FD */
                k.as_ptr(),
                std::ptr::null::<libc::c_char>(),
                fd.as_raw_fd(),
            )
        };
        check(r, || {
            format!("fsconfig({}, {key:?}, fd {})", self.fstype, fd.as_raw_fd())
        })
        .map(drop)
    }

    /// A context made by another process (fsopen), with its own name for
    /// errors.
    pub fn from_fd(fd: OwnedFd, fstype: &str) -> FsContext {
        FsContext {
            fd,
            fstype: fstype.to_string(),
        }
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn set_flag(&self, key: &str) -> Result<()> {
        self.config(FSCONFIG_SET_FLAG, Some(key), None)
    }

    pub fn set_string(&self, key: &str, value: &str) -> Result<()> {
        self.config(FSCONFIG_SET_STRING, Some(key), Some(value))
    }

    /// Create the superblock and a detached mount of it with `attrs`
    /// (MOUNT_ATTR_* bits).
    pub fn mount(self, attrs: u64) -> Result<OwnedFd> {
        self.config(FSCONFIG_CMD_CREATE, None, None)?;
        // SAFETY: plain integer arguments on a live fd.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                self.fd.as_raw_fd(),
                FSMOUNT_CLOEXEC,
                attrs,
            )
        };
        check(r, || format!("fsmount({}, attrs {attrs:#x})", self.fstype)).map(owned)
    }
}

/// Clone a mount (tree with `recursive`) into a detached mount fd.
pub fn open_tree(dir: BorrowedFd<'_>, path: &str, recursive: bool) -> Result<OwnedFd> {
    let p = c(path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if path.is_empty() {
        flags |= libc::AT_EMPTY_PATH as u32;
    }
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: p is NUL-terminated; dir is live or AT_FDCWD.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, dir.as_raw_fd(), p.as_ptr(), flags) };
    check(r, || {
        format!(
            "open_tree({}, {path:?}, OPEN_TREE_CLONE{})",
            dirname(dir),
            if recursive { "|AT_RECURSIVE" } else { "" }
        )
    })
    .map(owned)
}

/// Attach a detached mount onto the object a handle refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>, to_name: &str) -> Result<()> {
    let e = c("")?;
    // SAFETY: both paths are the empty NUL-terminated string; fds are live.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            e.as_ptr(),
            to.as_raw_fd(),
            e.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(r, || {
        format!(
            "move_mount({}, \"\", {} ({to_name:?}), \"\")",
            from.as_raw_fd(),
            to.as_raw_fd()
        )
    })
    .map(drop)
}

/// Change mount attributes and propagation on the mount an fd refers to.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
    propagation: u64,
    userns: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation,
        userns_fd: userns.map_or(0, |f| f.as_raw_fd() as u64),
    };
    let e = c("")?;
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: attr is a valid mount_attr of the size passed; e is "".
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            e.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r, || {
        format!(
            "mount_setattr({}, {}set {set:#x}, clr {clr:#x}, propagation {})",
            fd.as_raw_fd(),
            if recursive { "AT_RECURSIVE, " } else { "" },
            mountflags::flags_str(propagation)
        )
    })
    .map(drop)
}

pub fn getgid() -> gid_t {
    // SAFETY: no arguments.
    unsafe { libc::getgid() }
}

/// A standard stream (0, 1 or 2) as a borrowed fd.
pub fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    assert!((0..3).contains(&fd), "stdio fd {fd}");
    // SAFETY: fds 0-2 stay open for the life of the process (a closed one
    // only makes the calls on it fail with EBADF).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Close every fd from `first` up except those in `keep`: the init must
/// hold nothing of the caller's or pivot's own (lock files, the state
/// directory) once it enters the container.
pub fn close_fds_from(first: u32, keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&f| f >= 0 && f as u32 >= first)
        .map(|&f| f as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut start = first;
    for k in keep {
        if k > start {
            close_range(start, k - 1)?;
        }
        start = k + 1;
    }
    close_range(start, u32::MAX)
}

fn close_range(first: u32, last: u32) -> Result<()> {
    // SAFETY: no pointers; closing fds this process owns and no longer uses.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    check(r, || format!("close_range({first}, {last}, 0)")).map(drop)
}

/// prctl with up to three integer arguments.
pub fn prctl3(option: i32, a: u64, b: u64, what: &str) -> Result<i32> {
    // SAFETY: the options used take integer arguments only.
    let r = unsafe { libc::prctl(option, a, b, 0, 0) } as libc::c_long;
    check(r, || format!("prctl({what}, {a}, {b})")).map(|v| v as i32)
}

/// capset for this thread: effective, permitted, inheritable as 64-bit sets.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let lo = |v: u64| v as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let data = [
        Data {
            effective: lo(effective),
            permitted: lo(permitted),
            inheritable: lo(inheritable),
        },
        Data {
            effective: hi(effective),
            permitted: hi(permitted),
            inheritable: hi(inheritable),
        },
    ];
    // SAFETY: header and two data structs, laid out as the v3 ABI wants.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const Header, data.as_ptr()) };
    check(r, || {
        format!("capset(effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x})")
    })
    .map(drop)
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

/// Names in a directory (without "." and ".."), read through a dup of `dir`.
pub fn list_dir(dir: BorrowedFd<'_>) -> Result<Vec<String>> {
    let fd = openat(dir, ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let raw = std::os::fd::IntoRawFd::into_raw_fd(fd);
    // SAFETY: fdopendir takes ownership of raw, a directory fd we own.
    let d = unsafe { libc::fdopendir(raw) };
    if d.is_null() {
        let e = errno();
        // SAFETY: fdopendir failed, so raw is still ours to close.
        unsafe { libc::close(raw) };
        return Err(Error::os(format!("fdopendir({raw})"), e));
    }
    let mut names = Vec::new();
    loop {
        // SAFETY: d is a valid DIR*; readdir's result is valid until the
        // next call on d.
        let ent = unsafe { libc::readdir(d) };
        if ent.is_null() {
            break;
        }
        // SAFETY: d_name is a NUL-terminated array inside *ent.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
        let name = cstr_to_string(name);
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    // SAFETY: d is valid and closed once.
    unsafe { libc::closedir(d) };
    Ok(names)
}

/// Copy the contents of one open file to another.
pub fn copy_fd(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = read(from, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut off = 0;
        while off < n {
            off += write(to, &buf[off..n])?;
        }
    }
}

/// An anonymous in-memory file (for capturing a hook's output).
pub fn memfd(name: &str) -> Result<OwnedFd> {
    let n = c(name)?;
    // SAFETY: n is NUL-terminated.
    let r = unsafe { libc::memfd_create(n.as_ptr(), libc::MFD_CLOEXEC) } as libc::c_long;
    check(r, || format!("memfd_create({name:?})")).map(owned)
}

/// Take ownership of a raw fd a library handed over.
pub fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes an fd that was just returned to it and
    // that nothing else will close.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Connect a unix stream socket to `path`.
pub fn unix_connect(path: &str) -> Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let r = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) }
        as libc::c_long;
    let sock = owned(check(r, || "socket(AF_UNIX, SOCK_STREAM)".into())?);
    // SAFETY: zeroed sockaddr_un is valid; we fill family and path.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(Error::invalid(format!("socket path {path:?} is too long")));
    }
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    // SAFETY: addr is a valid sockaddr_un of length len.
    let r = retry(|| unsafe {
        libc::connect(
            sock.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            len,
        )
    } as libc::c_long);
    check(r, || format!("connect({path:?})"))?;
    Ok(sock)
}

// Process attributes the init applies to itself (process/attrs.rs and the
// modules it calls): scheduling, I/O priority, CPU affinity, personality,
// NUMA memory policy; and the parent's move of network devices.

/// `struct sched_attr` as of SCHED_ATTR_SIZE_VER1 (with the utilization
/// clamps, which SCHED_FLAG_UTIL_CLAMP_* read).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
    pub sched_util_min: u32,
    pub sched_util_max: u32,
}

/// sched_setattr for the calling thread. `shown` is the attribute as the
/// error should name it (`SCHED_FIFO, priority 10, ...`).
pub fn sched_setattr(attr: &SchedAttr, shown: &str) -> Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: a is a sched_attr laid out as the kernel's, of the size it
    // declares, alive for the call; pid 0 is the calling thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    check(r, || format!("sched_setattr(0, {{{shown}}}, 0)")).map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(class, level)).
pub fn ioprio_set(class: u32, level: u32, class_name: &str) -> Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_SHIFT: u32 = 13;
    let prio = (class << IOPRIO_CLASS_SHIFT) | level;
    // SAFETY: integer arguments only; who 0 is the calling process.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    check(r, || {
        format!("ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE({class_name}, {level}))")
    })
    .map(drop)
}

/// sched_setaffinity for the calling thread; `mask` is the CPU bitmap
/// (bit n of word n/64 is CPU n), `shown` the CPU list for the error.
pub fn sched_setaffinity(mask: &[u64], shown: &str) -> Result<()> {
    let len = std::mem::size_of_val(mask);
    // SAFETY: mask is readable for len bytes for the call; pid 0 is the
    // calling thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_setaffinity, 0, len, mask.as_ptr()) };
    check(r, || format!("sched_setaffinity(0, {len}, [{shown}])")).map(drop)
}

/// personality(2); `shown` names the persona (`PER_LINUX32`).
pub fn personality(persona: u64, shown: &str) -> Result<()> {
    // SAFETY: integer argument only; it returns the previous persona.
    let r = unsafe { libc::personality(persona as libc::c_ulong) } as libc::c_long;
    check(r, || format!("personality({shown})")).map(drop)
}

/// set_mempolicy for the calling thread: `mode` with its MPOL_F_* flags,
/// `nodes` the node bitmap (empty: no nodemask), `shown` the call as the
/// error should name it.
pub fn set_mempolicy(mode: i32, nodes: &[u64], shown: &str) -> Result<()> {
    // The kernel reads maxnode - 1 bits (a historical off-by-one that
    // libnuma and crun also pass for).
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (nodes.as_ptr(), nodes.len() * 64 + 1)
    };
    // SAFETY: ptr is NULL or readable for the (maxnode - 1) bits the
    // kernel reads; mode is an integer.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    check(r, || format!("set_mempolicy({shown})")).map(drop)
}

/// The index of a network interface in the caller's network namespace.
pub fn if_nametoindex(name: &str) -> Result<u32> {
    let n = c(name)?;
    // SAFETY: n is NUL-terminated; the call reads nothing else of ours.
    let index = unsafe { libc::if_nametoindex(n.as_ptr()) };
    if index == 0 {
        return Err(Error::os(format!("if_nametoindex({name:?})"), errno()));
    }
    Ok(index)
}

/// A NETLINK_ROUTE socket. It belongs to the network namespace the caller
/// was in when it opened it, and stays there when the caller moves on.
pub struct Rtnl {
    fd: OwnedFd,
}

/// A permanent, global address of an interface, as RTM_GETADDR gave it:
/// enough to add it again elsewhere (address, local, broadcast; flags the
/// user can set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    family: u8,
    prefixlen: u8,
    scope: u8,
    flags: u32,
    attrs: Vec<(u16, Vec<u8>)>,
}

impl std::fmt::Display for IfAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let find = |k| self.attrs.iter().find(|(kind, _)| *kind == k);
        let ip = find(IFA_LOCAL)
            .or_else(|| find(IFA_ADDRESS))
            .map(|(_, b)| b);
        match ip.map(|b| b.as_slice()) {
            Some(&[a, b, c, d]) => write!(f, "{}", std::net::Ipv4Addr::new(a, b, c, d))?,
            Some(b) if b.len() == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(b);
                write!(f, "{}", std::net::Ipv6Addr::from(o))?
            }
            _ => write!(f, "family {} address", self.family)?,
        }
        write!(f, "/{}", self.prefixlen)
    }
}

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
/// NODAD, HOMEADDRESS, MANAGETEMPADDR, NOPREFIXROUTE, MCAUTOJOIN: what an
/// address was added with, as opposed to its state (tentative, ...).
const IFA_F_SETTABLE: u32 = 0x02 | 0x10 | 0x100 | 0x200 | 0x400;
const RT_SCOPE_UNIVERSE: u8 = 0;

/// Append one netlink attribute (struct nlattr, padded to 4 bytes).
fn push_nlattr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// The attributes of a message payload after its `skip`-byte header.
fn nlattrs(body: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = skip;
    while at + 4 <= body.len() {
        let len = u16::from_ne_bytes([body[at], body[at + 1]]) as usize;
        // Without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        let kind = u16::from_ne_bytes([body[at + 2], body[at + 3]]) & 0x3fff;
        if len < 4 || at + len > body.len() {
            break;
        }
        out.push((kind, &body[at + 4..at + len]));
        at += len.next_multiple_of(4);
    }
    out
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

impl Rtnl {
    /// A socket in the caller's current network namespace.
    pub fn open() -> Result<Rtnl> {
        // SAFETY: plain socket(2).
        let r = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        } as libc::c_long;
        let fd = owned(check(r, || {
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)".into()
        })?);
        Ok(Rtnl { fd })
    }

    /// Send one request and collect the answers (type, payload) up to its
    /// acknowledgement or, for a dump, NLMSG_DONE. A negative error in
    /// either is the request's errno, with `shown` as the call.
    fn request(
        &self,
        kind: u16,
        flags: i32,
        body: &[u8],
        shown: &str,
    ) -> Result<Vec<(u16, Vec<u8>)>> {
        let flags = (flags | libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
        msg.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel assigns it
        msg.extend_from_slice(body);
        // SAFETY: a zeroed sockaddr_nl is valid; nl_pid 0 is the kernel.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: msg is readable for its length; kernel is a sockaddr_nl
        // of the size passed.
        let r = retry(|| unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                &kernel as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        } as libc::c_long);
        check(r, || format!("sendto(NETLINK_ROUTE, {shown})"))?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: buf is writable for its length.
            let n = retry(|| unsafe {
                libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
            } as libc::c_long);
            let n = check(n, || format!("recv(NETLINK_ROUTE) for {shown}"))? as usize;
            let mut at = 0;
            while at + 16 <= n {
                let len = ne_u32(&buf[at..]) as usize;
                let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                if len < 16 || at + len > n {
                    return Err(Error::other(format!("{shown}: malformed netlink answer")));
                }
                let payload = &buf[at + 16..at + len];
                if kind == NLMSG_ERROR || kind == NLMSG_DONE {
                    let code = if payload.len() >= 4 {
                        ne_u32(payload) as i32
                    } else {
                        0
                    };
                    if code < 0 {
                        return Err(Error::os(shown, -code));
                    }
                    return Ok(out);
                }
                out.push((kind, payload.to_vec()));
                at += len.next_multiple_of(4);
            }
        }
    }

    /// Every interface of the socket's namespace: (index, name).
    pub fn links(&self) -> Result<Vec<(u32, String)>> {
        let ifinfomsg = [0u8; 16];
        let answers = self.request(
            RTM_GETLINK,
            libc::NLM_F_DUMP,
            &ifinfomsg,
            "RTM_GETLINK(dump)",
        )?;
        Ok(answers
            .iter()
            .filter(|(kind, p)| *kind == RTM_NEWLINK && p.len() >= 16)
            .map(|(_, p)| {
                let name = nlattrs(p, 16)
                    .into_iter()
                    .find(|(k, _)| *k == IFLA_IFNAME)
                    .map(|(_, v)| {
                        String::from_utf8_lossy(v)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                    .unwrap_or_default();
                (ne_u32(&p[4..]), name)
            })
            .collect())
    }

    /// The permanent addresses of global scope of interface `index` (what
    /// the runtime-spec asks to keep when a device changes namespace).
    pub fn addresses(&self, index: u32) -> Result<Vec<IfAddr>> {
        let ifaddrmsg = [0u8; 8];
        let answers = self.request(
            RTM_GETADDR,
            libc::NLM_F_DUMP,
            &ifaddrmsg,
            "RTM_GETADDR(dump)",
        )?;
        let mut out = Vec::new();
        for (kind, p) in &answers {
            if *kind != RTM_NEWADDR || p.len() < 8 || ne_u32(&p[4..]) != index {
                continue;
            }
            let attrs = nlattrs(p, 8);
            let flags = attrs
                .iter()
                .find(|(k, v)| *k == IFA_FLAGS && v.len() == 4)
                .map_or(u32::from(p[2]), |(_, v)| ne_u32(v));
            if flags & IFA_F_PERMANENT == 0 || p[3] != RT_SCOPE_UNIVERSE {
                continue;
            }
            out.push(IfAddr {
                family: p[0],
                prefixlen: p[1],
                scope: p[3],
                flags: flags & IFA_F_SETTABLE,
                attrs: attrs
                    .into_iter()
                    .filter(|(k, _)| matches!(*k, IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST))
                    .map(|(k, v)| (k, v.to_vec()))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Move interface `index` into the network namespace `netns`, renamed
    /// `new_name` (a `%d` template lets the kernel pick the number), and
    /// bring it up there: one RTM_SETLINK, so there is no moment with a
    /// clashing name on either side.
    pub fn move_link(&self, index: u32, new_name: &str, netns: BorrowedFd<'_>) -> Result<()> {
        let name = c(new_name)?;
        let mut ifinfomsg = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
        ifinfomsg.extend_from_slice(&(index as i32).to_ne_bytes());
        let up = libc::IFF_UP as u32;
        ifinfomsg.extend_from_slice(&up.to_ne_bytes()); // ifi_flags
        ifinfomsg.extend_from_slice(&up.to_ne_bytes()); // ifi_change
        push_nlattr(&mut ifinfomsg, IFLA_IFNAME, name.as_bytes_with_nul());
        let fd = netns.as_raw_fd();
        push_nlattr(&mut ifinfomsg, IFLA_NET_NS_FD, &(fd as u32).to_ne_bytes());
        let shown = format!(
            "RTM_SETLINK(ifindex {index}, IFLA_IFNAME {new_name:?}, IFLA_NET_NS_FD {fd}, IFF_UP)"
        );
        self.request(RTM_SETLINK, 0, &ifinfomsg, &shown).map(drop)
    }

    /// Add `addr` to interface `index` of the socket's namespace.
    pub fn add_address(&self, index: u32, addr: &IfAddr) -> Result<()> {
        let mut ifaddrmsg = vec![addr.family, addr.prefixlen, 0, addr.scope];
        ifaddrmsg.extend_from_slice(&index.to_ne_bytes());
        for (kind, value) in &addr.attrs {
            push_nlattr(&mut ifaddrmsg, *kind, value);
        }
        if addr.flags != 0 {
            push_nlattr(&mut ifaddrmsg, IFA_FLAGS, &addr.flags.to_ne_bytes());
        }
        let shown = format!("RTM_NEWADDR(ifindex {index}, {addr})");
        let flags = libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        self.request(RTM_NEWADDR, flags, &ifaddrmsg, &shown)
            .map(drop)
    }
}

/// `bpf(BPF_PROG_LOAD)` of a BPF_PROG_TYPE_CGROUP_DEVICE program given as
/// raw 8-byte instructions; returns the program fd.
pub fn bpf_load_cgroup_device(insns: &[u64]) -> Result<OwnedFd> {
    #[repr(C)]
    #[derive(Default)]
    struct LoadAttr {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
    }
    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    let license = c"Apache";
    let attr = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: attr points to a properly sized, initialised bpf_attr prefix
    // whose pointers (insns, license) outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const LoadAttr,
            std::mem::size_of::<LoadAttr>() as u32,
        )
    };
    check(r, || {
        format!(
            "bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, {} insns)",
            insns.len()
        )
    })
    .map(owned)
}

/// `bpf(BPF_PROG_ATTACH)` of a device program to a cgroup2 directory, with
/// BPF_F_ALLOW_MULTI (as runc attaches it).
pub fn bpf_attach_cgroup_device(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    #[repr(C)]
    struct AttachAttr {
        target_fd: u32,
        attach_bpf_fd: u32,
        attach_type: u32,
        attach_flags: u32,
        replace_bpf_fd: u32,
    }
    const BPF_PROG_ATTACH: libc::c_long = 8;
    const BPF_CGROUP_DEVICE: u32 = 6;
    const BPF_F_ALLOW_MULTI: u32 = 2;
    let attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is a fully initialised bpf_attr prefix for PROG_ATTACH;
    // both fds are live for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const AttachAttr,
            std::mem::size_of::<AttachAttr>() as u32,
        )
    };
    check(r, || {
        format!(
            "bpf(BPF_PROG_ATTACH, {}, {}, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)",
            cgroup.as_raw_fd(),
            prog.as_raw_fd()
        )
    })
    .map(drop)
}

// ---------------------------------------------------------------------
// Running pivot's own image from a read-only view (selfexe.rs)

/// statvfs(3) of a path (following a magic link such as /proc/self/exe).
pub fn statvfs(path: &str) -> Result<libc::statvfs> {
    let p = c(path)?;
    // SAFETY: a zeroed statvfs is valid plain data; statvfs fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: p is NUL-terminated, st is writable.
    let r = unsafe { libc::statvfs(p.as_ptr(), &mut st) } as libc::c_long;
    check(r, || format!("statvfs({path:?})"))?;
    Ok(st)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): run the file `fd` names
/// (an O_PATH fd is enough) with these arguments and environment
/// (`KEY=VALUE` strings); returns only on failure.
pub fn execveat_fd(
    fd: BorrowedFd<'_>,
    args: &[std::ffi::OsString],
    env: &[std::ffi::OsString],
) -> Error {
    use std::os::unix::ffi::OsStrExt;
    let to_c = |v: &[std::ffi::OsString]| -> Result<Vec<CString>> {
        v.iter()
            .map(|s| {
                CString::new(s.as_bytes())
                    .map_err(|_| Error::invalid(format!("{s:?} contains a NUL byte")))
            })
            .collect()
    };
    let (a, e) = match (to_c(args), to_c(env)) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(x), _) | (_, Err(x)) => return x,
    };
    let mut ap: Vec<*const libc::c_char> = a.iter().map(|s| s.as_ptr()).collect();
    ap.push(std::ptr::null());
    let mut ep: Vec<*const libc::c_char> = e.iter().map(|s| s.as_ptr()).collect();
    ep.push(std::ptr::null());
    let empty = c"";
    // SAFETY: a live fd, an empty NUL-terminated path and NULL-terminated
    // arrays of NUL-terminated strings, all alive for the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            empty.as_ptr(),
            ap.as_ptr(),
            ep.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Error::os(
        format!("execveat({}, AT_EMPTY_PATH)", fd.as_raw_fd()),
        errno(),
    )
}

/// An in-memory file that can be sealed.
pub fn memfd_sealable(name: &str) -> Result<OwnedFd> {
    let n = c(name)?;
    // SAFETY: n is NUL-terminated.
    let r = unsafe { libc::memfd_create(n.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) }
        as libc::c_long;
    check(r, || format!("memfd_create({name:?}, MFD_ALLOW_SEALING)")).map(owned)
}

/// The seals of a memfd (F_GET_SEALS); EINVAL for a file that is not one.
pub fn get_seals(fd: BorrowedFd<'_>) -> Result<i32> {
    // SAFETY: plain fcntl on a live fd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) } as libc::c_long;
    check(r, || format!("fcntl({}, F_GET_SEALS)", fd.as_raw_fd())).map(|v| v as i32)
}

/// Seal a memfd against every change (F_ADD_SEALS).
pub fn seal_all(fd: BorrowedFd<'_>) -> Result<()> {
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: plain fcntl on a live fd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } as libc::c_long;
    check(r, || format!("fcntl({}, F_ADD_SEALS)", fd.as_raw_fd())).map(drop)
}

/// Copy `len` bytes from `from` (at its offset 0) to `to` with sendfile.
pub fn sendfile_all(to: BorrowedFd<'_>, from: BorrowedFd<'_>, len: u64) -> Result<()> {
    let mut off: libc::off_t = 0;
    while (off as u64) < len {
        let want = (len - off as u64).min(1 << 30) as usize;
        // SAFETY: live fds and a writable offset.
        let r = retry(|| unsafe {
            libc::sendfile(to.as_raw_fd(), from.as_raw_fd(), &mut off, want) as libc::c_long
        });
        let n = check(r, || "sendfile".into())?;
        if n == 0 {
            return Err(Error::invalid(format!(
                "sendfile: the source ended after {off} of {len} bytes"
            )));
        }
    }
    Ok(())
}
