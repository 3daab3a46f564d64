//! `writable PATH...`: can this process write there? Nothing existing is
//! ever truncated or written to.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::error::io_error_name;

/// The `writable` subcommand: one {"path","writable","errno"} per path.
pub fn writable(paths: &[OsString]) -> Value {
    Value::Array(
        paths
            .iter()
            .map(|p| {
                let path = Path::new(p);
                let (ok, errno) = match check(path) {
                    Ok(()) => (true, None),
                    Err(err) => (false, Some(io_error_name(&err))),
                };
                json!({"path": path.to_string_lossy(), "writable": ok, "errno": errno})
            })
            .collect(),
    )
}

fn check(path: &Path) -> std::io::Result<()> {
    if std::fs::metadata(path)?.is_dir() {
        check_dir(path)
    } else {
        check_file(path)
    }
}

/// Opens for writing without truncating; O_NONBLOCK keeps FIFOs and
/// devices from blocking, O_NOCTTY keeps ttys from becoming ours.
fn check_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map(drop)
}

/// Creates a uniquely named file with O_CREAT|O_EXCL inside and removes it.
fn check_dir(dir: &Path) -> std::io::Result<()> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut attempt = 0u32;
    loop {
        let name = format!(".probe-writable-{}-{nanos}-{attempt}", std::process::id());
        let candidate = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&candidate)
        {
            Ok(file) => {
                drop(file);
                // Creation proved writability; a failed cleanup does not
                // change the answer.
                let _ = std::fs::remove_file(&candidate);
                return Ok(());
            }
            Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_and_writable() {
        let dir = std::env::temp_dir();
        let out = writable(&[dir.clone().into_os_string(), "/no/such/path".into()]);
        assert_eq!(out[0]["writable"], true);
        assert_eq!(out[0]["errno"], Value::Null);
        assert_eq!(out[1]["writable"], false);
        assert_eq!(out[1]["errno"], "ENOENT");
        // The probe file was removed again.
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!(".probe-writable-{}-", std::process::id()))
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn dev_null_is_writable() {
        let out = writable(&["/dev/null".into()]);
        assert_eq!(out[0]["writable"], true);
    }
}
