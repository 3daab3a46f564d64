//! The writes of linux.resources into the container's cgroup files, made
//! or, while `explain` records, noted: `explain` shows exactly what
//! `create` writes, from the same code.

use super::validate::F;
use crate::cgroups::write_file;
use crate::error::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What an apply writes: at create everything; at update all but devices.
#[derive(Debug, Clone, Copy)]
pub struct Apply {
    pub devices: bool,
    pub update: bool,
}

impl Apply {
    pub const CREATE: Apply = Apply {
        devices: true,
        update: false,
    };
    pub const UPDATE: Apply = Apply {
        devices: false,
        update: true,
    };
}

/// One write `apply` makes: the file, the value and the field it is for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Write {
    pub file: PathBuf,
    pub value: String,
    pub field: String,
}

thread_local! {
    /// While recording, the writes `apply` would make, kept instead of
    /// made.
    static RECORDING: std::cell::RefCell<Option<Vec<Write>>> =
        const { std::cell::RefCell::new(None) };
}

/// From now on this thread notes its writes instead of making them.
pub(super) fn start_recording() {
    RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
}

/// The writes noted since `start_recording`; writes are made again.
pub(super) fn stop_recording() -> Vec<Write> {
    RECORDING
        .with(|r| r.borrow_mut().take())
        .unwrap_or_default()
}

pub(super) fn recording() -> bool {
    RECORDING.with(|r| r.borrow().is_some())
}

/// Write `value` to `path`, or note it while recording.
pub(super) fn write_or_record(path: &Path, value: &str, field: &str) -> Result<()> {
    let noted = RECORDING.with(|r| match r.borrow_mut().as_mut() {
        Some(w) => {
            w.push(Write {
                file: path.to_path_buf(),
                value: value.to_string(),
                field: field.to_string(),
            });
            true
        }
        None => false,
    });
    if noted {
        return Ok(());
    }
    write_file(path, value)
}

/// Whether the cgroup `dir` has `file` (while recording: its nearest
/// existing ancestor).
pub(super) fn has(dir: &Path, file: &str) -> bool {
    if !recording() {
        return dir.join(file).exists();
    }
    dir.ancestors()
        .find(|d| d.is_dir())
        .is_some_and(|d| d.join(file).exists())
}

/// Write one file in the container's cgroup dir, naming the field.
pub(super) fn put(dir: &Path, file: &str, value: &str, f: &str) -> Result<()> {
    write_or_record(&dir.join(file), value, &format!("{F}.{f}")).with_ctx(|| format!("{F}.{f}"))
}

pub(super) fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    std::fs::read_to_string(dir.join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}
