//! Files and directories: open (openat2 with RESOLVE_* and its fallback),
//! create, stat, chown/chmod, read a directory, the working directory.

use super::*;

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

/// linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW): names an
/// O_TMPFILE file through its /proc/self/fd link.
pub fn link_follow(from: &str, to: &str) -> Result<()> {
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: both paths are NUL-terminated.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    } as libc::c_long;
    check(r, || format!("linkat({from:?}, {to:?}, AT_SYMLINK_FOLLOW)")).map(drop)
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

/// The type of a file, from the S_IFMT bits of its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Dir,
    Regular,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
    Unknown,
}

impl FileType {
    pub fn of_mode(mode: mode_t) -> FileType {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileType::Dir,
            libc::S_IFREG => FileType::Regular,
            libc::S_IFLNK => FileType::Symlink,
            libc::S_IFCHR => FileType::Char,
            libc::S_IFBLK => FileType::Block,
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFSOCK => FileType::Socket,
            _ => FileType::Unknown,
        }
    }
}

/// The type of the file a stat describes.
pub fn file_type(st: &Stat) -> FileType {
    FileType::of_mode(st.st_mode)
}

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

pub fn fstatfs(fd: BorrowedFd<'_>) -> Result<libc::statfs> {
    // SAFETY: zeroed statfs is a valid out-buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable, fd is live.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } as libc::c_long;
    check(r, || format!("fstatfs({})", fd.as_raw_fd()))?;
    Ok(st)
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

pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
pub const SYSFS_MAGIC: i64 = 0x6265_6572;

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
