//! /proc/self/mountinfo, parsed one way for every reader: the parser is
//! `linux_text::mountinfo`, shared with probe and the tests.

use crate::error::{Error, Result};
pub use linux_text::mountinfo::{parse, MountInfo};

/// This process's mounts (every well-formed line).
pub fn read() -> Result<Vec<MountInfo>> {
    let data = std::fs::read("/proc/self/mountinfo")
        .map_err(|e| Error::io("read /proc/self/mountinfo", e))?;
    Ok(parse(&data))
}
