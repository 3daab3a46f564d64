//! `stat PATH...`: lstat-style facts about paths, without following symlinks.

use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::{json, Value};

use crate::error::io_error_name;

/// The `stat` subcommand: one object per path.
pub fn stat(paths: &[OsString]) -> Value {
    Value::Array(paths.iter().map(|p| stat_one(Path::new(p))).collect())
}

fn stat_one(path: &Path) -> Value {
    let shown = path.to_string_lossy();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            // A missing path is an answer, not a failure; the errno says
            // why it could not be seen (ENOENT, ENOTDIR, EACCES, ...).
            return json!({"path": shown, "exists": false, "errno": io_error_name(&err)});
        }
    };
    let file_type = meta.file_type();
    let (major, minor) = if file_type.is_char_device() || file_type.is_block_device() {
        split_dev(meta.rdev())
    } else {
        (0, 0)
    };
    let link = if file_type.is_symlink() {
        std::fs::read_link(path)
            .ok()
            .map(|t| t.to_string_lossy().into_owned())
    } else {
        None
    };
    let (dev_major, dev_minor) = split_dev(meta.dev());
    json!({
        "path": shown,
        "exists": true,
        "type": type_name(file_type),
        "mode": mode_string(&meta),
        "uid": meta.uid(),
        "gid": meta.gid(),
        "major": major,
        "minor": minor,
        "link": link,
        "ino": meta.ino(),
        "dev_major": dev_major,
        "dev_minor": dev_minor,
        "size": meta.size(),
    })
}

/// The kind of file, as every subcommand names it.
pub fn type_name(t: FileType) -> &'static str {
    if t.is_symlink() {
        "symlink"
    } else if t.is_dir() {
        "dir"
    } else if t.is_file() {
        "file"
    } else if t.is_char_device() {
        "char"
    } else if t.is_block_device() {
        "block"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else {
        "unknown"
    }
}

/// Permission bits, including setuid/setgid/sticky, as "0755".
fn mode_string(meta: &Metadata) -> String {
    format!("{:04o}", meta.mode() & 0o7777)
}

/// Splits a Linux dev_t into (major, minor), as glibc's gnu_dev_major/minor.
pub fn split_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff);
    (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dev_numbers() {
        assert_eq!(split_dev(0x0103), (1, 3)); // /dev/null
        assert_eq!(split_dev(0x0503), (5, 3));
        // Large numbers use the extended encoding: 259:65536 and 4096:0.
        assert_eq!(split_dev(0x1001_0300), (259, 65536));
        assert_eq!(split_dev(0x1000_0000_0000), (4096, 0));
    }

    #[test]
    fn stats_dev_null_and_missing() {
        let out = stat(&["/dev/null".into(), "/definitely/not/here".into()]);
        assert_eq!(out[0]["type"], "char");
        assert_eq!(out[0]["major"], 1);
        assert_eq!(out[0]["minor"], 3);
        assert_eq!(out[0]["link"], Value::Null);
        assert_eq!(out[1]["exists"], false);
        assert_eq!(out[1]["errno"], "ENOENT");
    }
}
