//! process.user (groups, gid, uid, umask) and finding the executable.

use crate::error::{Context, Error, ErrorKind, Result};
use crate::spec::types::{Process, User};
use crate::sys;

pub fn switch(u: &User) -> Result<()> {
    sys::setgroups(&u.additional_gids).ctx("process.user.additionalGids")?;
    sys::setresgid(u.gid).ctx("process.user.gid")?;
    sys::setresuid(u.uid).ctx("process.user.uid")?;
    sys::umask(u.umask.unwrap_or(0o022));
    Ok(())
}

fn env_path(p: &Process) -> Option<&str> {
    p.env.iter().find_map(|e| e.strip_prefix("PATH="))
}

fn is_executable(path: &str) -> bool {
    match sys::fstatat(sys::cwd(), path, 0) {
        Ok(st) => st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_mode & 0o111 != 0,
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
