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

pub use rustix::fs::OFlags;

/// Open flags as [`openat`] and [`openat2`] take them: typed [`OFlags`],
/// or a raw `O_*` number.
pub trait OpenFlags {
    fn raw(self) -> i32;
}

impl OpenFlags for i32 {
    fn raw(self) -> i32 {
        self
    }
}

impl OpenFlags for OFlags {
    fn raw(self) -> i32 {
        self.bits() as i32
    }
}

pub fn openat(
    dir: BorrowedFd<'_>,
    path: &str,
    flags: impl OpenFlags,
    mode: mode_t,
) -> Result<OwnedFd> {
    let flags = flags.raw();
    let p = c(path)?;
    let oflags = rustix::fs::OFlags::from_bits_retain((flags | libc::O_CLOEXEC) as u32);
    let mode = rustix::fs::Mode::from_bits_retain(mode);
    let r = rx_retry(|| rustix::fs::openat(dir, &p, oflags, mode));
    rx(r, || {
        format!(
            "openat({}, {path:?}, {})",
            dirname(dir),
            open_flags_str(flags | libc::O_CLOEXEC)
        )
    })
}

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

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

pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &str,
    flags: impl OpenFlags,
    resolve: u64,
) -> Result<OwnedFd> {
    let flags = flags.raw();
    if openat2_disabled() {
        return Err(Error::os(
            "openat2 (disabled by PIVOT_NO_OPENAT2)",
            libc::ENOSYS,
        ));
    }
    let p = c(path)?;
    let oflags = rustix::fs::OFlags::from_bits_retain((flags | libc::O_CLOEXEC) as u32);
    let how = rustix::fs::ResolveFlags::from_bits_retain(resolve);
    let mode = rustix::fs::Mode::empty();
    let r = rx_retry(|| rustix::fs::openat2(dir, &p, oflags, mode, how));
    rx(r, || {
        format!(
            "openat2({}, {path:?}, {}, {})",
            dirname(dir),
            open_flags_str(flags | libc::O_CLOEXEC),
            resolve_str(resolve)
        )
    })
}

pub fn mkdirat(dir: BorrowedFd<'_>, path: &str, mode: mode_t) -> Result<()> {
    let p = c(path)?;
    let r = rustix::fs::mkdirat(dir, &p, rustix::fs::Mode::from_bits_retain(mode));
    rx(r, || {
        format!("mkdirat({}, {path:?}, 0{mode:o})", dirname(dir))
    })
}

pub fn mknodat(dir: BorrowedFd<'_>, path: &str, mode: mode_t, dev: libc::dev_t) -> Result<()> {
    let p = c(path)?;
    let kind = rustix::fs::FileType::from_raw_mode(mode);
    let perm = rustix::fs::Mode::from_raw_mode(mode);
    let r = rustix::fs::mknodat(dir, &p, kind, perm, dev);
    rx(r, || {
        format!(
            "mknodat({}, {path:?}, 0{mode:o}, makedev({}, {}))",
            dirname(dir),
            libc::major(dev),
            libc::minor(dev)
        )
    })
}

pub fn mkfifoat(dir: BorrowedFd<'_>, path: &str, mode: mode_t) -> Result<()> {
    let p = c(path)?;
    let fifo = rustix::fs::FileType::Fifo;
    let r = rustix::fs::mknodat(dir, &p, fifo, rustix::fs::Mode::from_raw_mode(mode), 0);
    rx(r, || {
        format!("mkfifoat({}, {path:?}, 0{mode:o})", dirname(dir))
    })
}

pub fn symlinkat(target: &str, dir: BorrowedFd<'_>, path: &str) -> Result<()> {
    let t = c(target)?;
    let p = c(path)?;
    let r = rustix::fs::symlinkat(&t, dir, &p);
    rx(r, || {
        format!("symlinkat({target:?}, {}, {path:?})", dirname(dir))
    })
}

pub fn unlinkat(dir: BorrowedFd<'_>, path: &str, flags: i32) -> Result<()> {
    let p = c(path)?;
    let r = rustix::fs::unlinkat(dir, &p, rustix::fs::AtFlags::from_bits_retain(flags as u32));
    rx(r, || format!("unlinkat({}, {path:?})", dirname(dir)))
}

/// linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW): names an
/// O_TMPFILE file through its /proc/self/fd link.
pub fn link_follow(from: &str, to: &str) -> Result<()> {
    let (f, t) = (c(from)?, c(to)?);
    let follow = rustix::fs::AtFlags::SYMLINK_FOLLOW;
    let r = rustix::fs::linkat(cwd(), &f, cwd(), &t, follow);
    rx(r, || format!("linkat({from:?}, {to:?}, AT_SYMLINK_FOLLOW)"))
}

pub fn readlinkat(dir: BorrowedFd<'_>, path: &str) -> Result<String> {
    let p = c(path)?;
    let r = rustix::fs::readlinkat(dir, &p, Vec::new());
    let target = rx(r, || format!("readlinkat({}, {path:?})", dirname(dir)))?;
    String::from_utf8(target.into_bytes())
        .map_err(|_| Error::invalid(format!("symlink {path:?} is not UTF-8")))
}

pub type Stat = rustix::fs::Stat;

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

/// access(path, W_OK) with the effective ids (faccessat with
/// AT_EACCESS): whether this process may open `path` for writing.
pub fn may_write(path: &str) -> bool {
    c(path).is_ok_and(|p| {
        rustix::fs::accessat(
            rustix::fs::CWD,
            &p,
            rustix::fs::Access::WRITE_OK,
            rustix::fs::AtFlags::EACCESS,
        )
        .is_ok()
    })
}

pub fn fstatat(dir: BorrowedFd<'_>, path: &str, flags: i32) -> Result<Stat> {
    let p = c(path)?;
    let r = rustix::fs::statat(dir, &p, rustix::fs::AtFlags::from_bits_retain(flags as u32));
    rx(r, || format!("fstatat({}, {path:?})", dirname(dir)))
}

/// fstatat with AT_SYMLINK_NOFOLLOW: the entry itself, not what it links to.
pub fn lstatat(dir: BorrowedFd<'_>, path: &str) -> Result<Stat> {
    fstatat(dir, path, libc::AT_SYMLINK_NOFOLLOW)
}

pub fn fstat(fd: BorrowedFd<'_>) -> Result<Stat> {
    fstatat(fd, "", libc::AT_EMPTY_PATH)
}

pub fn fstatfs(fd: BorrowedFd<'_>) -> Result<rustix::fs::StatFs> {
    rx(rustix::fs::fstatfs(fd), || {
        format!("fstatfs({})", fd.as_raw_fd())
    })
}

pub fn fchown(fd: BorrowedFd<'_>, uid: uid_t, gid: gid_t) -> Result<()> {
    use rustix::fs::AtFlags;
    // fchownat with AT_EMPTY_PATH works for O_PATH handles too.
    let (owner, group) = (
        rustix::fs::Uid::from_raw(uid),
        rustix::fs::Gid::from_raw(gid),
    );
    let flags = AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW;
    let r = rustix::fs::chownat(fd, c"", Some(owner), Some(group), flags);
    rx(r, || {
        format!(
            "fchownat({}, \"\", {uid}, {gid}, AT_EMPTY_PATH)",
            fd.as_raw_fd()
        )
    })
}

/// chmod through a handle, which may be O_PATH (via fchmodat2's
/// AT_EMPTY_PATH on new kernels).
pub fn fchmod(fd: BorrowedFd<'_>, mode: mode_t) -> Result<()> {
    let perm = rustix::fs::Mode::from_bits_retain(mode);
    let r = rustix::fs::fchmod(fd, perm);
    if r == Err(rustix::io::Errno::BADF) {
        // rustix has no fchmodat2 (chmodat refuses AT_EMPTY_PATH).
        // SAFETY: fchmodat2(fd, "", mode, AT_EMPTY_PATH); fd live, the path
        // the empty NUL-terminated string.
        let r2 = unsafe {
            libc::syscall(
                452, /* fchmodat2 */
                fd.as_raw_fd(),
                c"".as_ptr(),
                mode,
                libc::AT_EMPTY_PATH,
            )
        };
        if r2 == -1 && errno() == libc::ENOSYS {
            // Before Linux 6.6 there is no fchmodat2: chmod the object the
            // handle names through its magic link (not a path walk).
            let (dir, path) = self_proc(&format!("fd/{}", fd.as_raw_fd()));
            let p = c(&path)?;
            // fchmodat follows the magic link to exactly the object the fd
            // refers to.
            let r3 = rustix::fs::chmodat(dir, &p, perm, rustix::fs::AtFlags::empty());
            return rx(r3, || {
                format!("fchmodat({}, {path:?}, 0{mode:o})", dir.as_raw_fd())
            });
        }
        return check(r2, || {
            format!(
                "fchmodat2({}, \"\", 0{mode:o}, AT_EMPTY_PATH)",
                fd.as_raw_fd()
            )
        })
        .map(drop);
    }
    rx(r, || format!("fchmod({}, 0{mode:o})", fd.as_raw_fd()))
}

pub fn fchdir(fd: BorrowedFd<'_>) -> Result<()> {
    rx(rustix::process::fchdir(fd), || {
        format!("fchdir({})", fd.as_raw_fd())
    })
}

pub fn chdir(path: &str) -> Result<()> {
    let p = c(path)?;
    rx(rustix::process::chdir(&p), || format!("chdir({path:?})"))
}

pub fn chroot(path: &str) -> Result<()> {
    let p = c(path)?;
    rx(rustix::process::chroot(&p), || format!("chroot({path:?})"))
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
    let raw = fd.as_raw_fd();
    let d = rx(rustix::fs::Dir::new(fd), || format!("fdopendir({raw})"))?;
    let mut names = Vec::new();
    for ent in d {
        let ent = rx(ent, || format!("getdents64({raw})"))?;
        let name = cstr_to_string(ent.file_name());
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_open_flags_are_the_raw_ones() {
        for (typed, raw) in [
            (OFlags::RDONLY, libc::O_RDONLY),
            (OFlags::WRONLY, libc::O_WRONLY),
            (OFlags::RDWR, libc::O_RDWR),
            (OFlags::PATH, libc::O_PATH),
            (OFlags::DIRECTORY, libc::O_DIRECTORY),
            (OFlags::NOFOLLOW, libc::O_NOFOLLOW),
            (OFlags::CREATE, libc::O_CREAT),
            (OFlags::EXCL, libc::O_EXCL),
            (OFlags::NONBLOCK, libc::O_NONBLOCK),
            (OFlags::CLOEXEC, libc::O_CLOEXEC),
        ] {
            assert_eq!(typed.raw(), raw);
        }
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        assert_eq!(
            open_flags_str(flags.raw()),
            "O_PATH|O_NOFOLLOW|O_DIRECTORY|O_CLOEXEC"
        );
    }

    #[test]
    fn errno_predicate() {
        let e = Error::os("openat(AT_FDCWD, \"x\", O_RDONLY)", libc::ENOENT);
        assert!(e.is_errno(Errno::NOENT));
        assert!(!e.is_errno(Errno::EXIST));
        assert!(!Error::invalid("x").is_errno(Errno::NOENT));
    }
}
