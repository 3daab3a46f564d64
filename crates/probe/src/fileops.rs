//! `cat`, `ls` and `write`: plain file access for tests.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Context, Result};

/// The `cat` subcommand: {"path","content"}, content decoded lossily.
pub fn cat(path: &OsStr) -> Result<Value> {
    let shown = Path::new(path).display();
    let data = std::fs::read(path).context(format!("read {shown}"))?;
    Ok(json!({"path": shown.to_string(), "content": String::from_utf8_lossy(&data)}))
}

/// The `ls` subcommand: the sorted entry names of a directory.
pub fn ls(dir: &OsStr) -> Result<Value> {
    let shown = Path::new(dir).display();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).context(format!("read {shown}"))? {
        let entry = entry.context(format!("read {shown}"))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(json!(names))
}

/// The `write` subcommand: appends TEXT to PATH, creating it with mode 0644.
pub fn write(path: &OsStr, text: &OsStr) -> Result<Value> {
    let shown = Path::new(path).display();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(path)
        .context(format!("open {shown}"))?;
    file.write_all(text.as_bytes())
        .context(format!("write {shown}"))?;
    Ok(json!({"path": shown.to_string(), "ok": true}))
}

/// The `notify` subcommand: send TEXT as one datagram to $NOTIFY_SOCKET,
/// as sd_notify(3) does; {"socket","ok"}.
pub fn notify(text: &OsStr) -> Result<Value> {
    let path = std::env::var("NOTIFY_SOCKET")
        .map_err(|_| crate::error::ProbeError::new("NOTIFY_SOCKET is not set".to_string()))?;
    let sock = std::os::unix::net::UnixDatagram::unbound().context("socket".to_string())?;
    sock.send_to(text.as_bytes(), &path)
        .context(format!("send to {path}"))?;
    Ok(json!({"socket": path, "ok": true}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_appends_then_cat_and_ls_see_it() {
        let dir = std::env::temp_dir().join(format!("probe-fileops-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("out.txt");
        write(file.as_os_str(), OsStr::new("a")).unwrap();
        write(file.as_os_str(), OsStr::new("b\n")).unwrap();
        assert_eq!(cat(file.as_os_str()).unwrap()["content"], "ab\n");
        assert_eq!(ls(dir.as_os_str()).unwrap(), json!(["out.txt"]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cat_missing_names_errno() {
        let err = cat(OsStr::new("/no/such/file")).unwrap_err();
        assert_eq!(err.to_string(), "read /no/such/file: ENOENT");
    }
}
