//! process.user (groups, gid, uid, umask) and finding the executable.

use crate::error::{Context, Error, ErrorKind, Result};
use crate::spec::types::{Process, User};
use crate::sys;
use std::os::fd::AsFd;

pub fn switch(u: &User) -> Result<()> {
    match sys::setgroups(&u.additional_gids) {
        // A user namespace whose setgroups is denied (a rootless one
        // mapping the caller's gid alone) keeps the groups it has, as
        // runc leaves them; asking for groups there is refused earlier.
        Err(e) if e.errno() == Some(libc::EPERM) && u.additional_gids.is_empty() => {}
        r => r.ctx("process.user.additionalGids")?,
    }
    sys::setresgid(u.gid).ctx("process.user.gid")?;
    sys::setresuid(u.uid).ctx("process.user.uid")?;
    sys::umask(u.umask.unwrap_or(0o022));
    Ok(())
}

/// The process's env for execve, with `HOME` filled in as runc does when
/// it is missing or empty: the home of the process's uid in the
/// container's /etc/passwd, or "/" without one. Called inside the
/// container, after the root switch.
pub fn env_with_home(p: &Process) -> Vec<String> {
    let mut env = p.env.clone();
    let at = env.iter().position(|e| e.starts_with("HOME="));
    if at.is_some_and(|i| env[i].len() > "HOME=".len()) {
        return env;
    }
    let home = format!(
        "HOME={}",
        passwd_home(p.user.uid).unwrap_or_else(|| "/".into())
    );
    match at {
        Some(i) => env[i] = home,
        None => env.push(home),
    }
    env
}

/// The home directory of `uid` in the container's /etc/passwd. The file is
/// the image's: only a regular file is read (a FIFO would block, a device
/// could be anything), and at most 4 MiB of it.
fn passwd_home(uid: u32) -> Option<String> {
    let fd = sys::openat(
        sys::cwd(),
        "/etc/passwd",
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY,
        0,
    )
    .ok()?;
    if sys::file_type(&sys::fstat(fd.as_fd()).ok()?) != sys::FileType::Regular {
        return None;
    }
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    while text.len() < 4 << 20 {
        match sys::read(fd.as_fd(), &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    // name:password:uid:gid:gecos:home:shell, the first entry for the uid.
    String::from_utf8_lossy(&text).lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid) && !f[5].is_empty()).then(|| f[5].to_string())
    })
}

fn env_path(p: &Process) -> Option<&str> {
    p.env.iter().find_map(|e| e.strip_prefix("PATH="))
}

fn is_executable(path: &str) -> bool {
    match sys::fstatat(sys::cwd(), path, 0) {
        Ok(st) => sys::file_type(&st) == sys::FileType::Regular && st.st_mode & 0o111 != 0,
        Err(_) => false,
    }
}

/// Resolve args[0] in the container's PATH, as runc does (Go's LookPath).
pub fn lookup_executable(p: &Process) -> Result<String> {
    let name = &p.args[0];
    // Go's exec.LookPath wording: podman and docker match "no such file or
    // directory" (exit 127) and "permission denied" (exit 126) in it.
    if name.contains('/') {
        return match sys::fstatat(sys::cwd(), name, 0) {
            Ok(_) if is_executable(name) => Ok(name.clone()),
            Ok(_) => Err(Error::new(
                ErrorKind::Os(libc::EACCES),
                format!("exec: {name:?}: permission denied"),
            )),
            Err(e) => {
                let errno = e.errno().unwrap_or(libc::ENOENT);
                let why = std::io::Error::from_raw_os_error(errno).to_string();
                let why = why.split(" (os error").next().unwrap_or("").to_lowercase();
                Err(Error::new(
                    if errno == libc::ENOENT {
                        ErrorKind::NotFound
                    } else {
                        ErrorKind::Os(errno)
                    },
                    format!("exec: {name:?}: stat {name}: {why}"),
                ))
            }
        };
    }
    for dir in env_path(p).unwrap_or("").split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = format!("{dir}/{name}");
        if is_executable(&cand) {
            return Ok(cand);
        }
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!("exec: {name:?}: executable file not found in $PATH"),
    ))
}
