//! Mount tables as the tests read them from the host: one reader of
//! /proc/PID/mountinfo for the whole suite, undoing every octal escape
//! the kernel writes (`\040` space, `\011` tab, `\012` newline, `\134`
//! backslash) in the root and mount point.

use std::path::PathBuf;

/// One line of mountinfo.
#[derive(Debug, Clone)]
pub struct HostMount {
    pub major_minor: String,
    /// The mount's root within its filesystem (for a cgroup mount, within
    /// the hierarchy).
    pub root: String,
    pub mount_point: PathBuf,
    /// `shared:N`, `master:N`, `unbindable` ...
    pub optional_fields: Vec<String>,
    pub fs_type: String,
    /// Per-superblock options, split at the commas as written.
    pub super_options: Vec<String>,
}

/// The mounts of the test process's mount namespace.
pub fn host_mounts() -> Vec<HostMount> {
    mounts_of("self")
}

/// The mounts of `/proc/<pid>`'s mount namespace.
pub fn mounts_of(pid: &str) -> Vec<HostMount> {
    let path = format!("/proc/{pid}/mountinfo");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines().filter_map(parse_line).collect()
}

/// The host's cgroup and cgroup2 mounts.
pub fn host_cgroup_mounts() -> Vec<HostMount> {
    host_mounts()
        .into_iter()
        .filter(|m| matches!(m.fs_type.as_str(), "cgroup" | "cgroup2"))
        .collect()
}

fn parse_line(line: &str) -> Option<HostMount> {
    let (before, after) = line.split_once(" - ")?;
    let f: Vec<&str> = before.split(' ').collect();
    let a: Vec<&str> = after.split(' ').collect();
    // Mount id and parent id first: a line without them is not mountinfo.
    f.first()?.parse::<u64>().ok()?;
    f.get(1)?.parse::<u64>().ok()?;
    Some(HostMount {
        major_minor: f.get(2)?.to_string(),
        root: octal_unescaped(f.get(3)?),
        mount_point: PathBuf::from(octal_unescaped(f.get(4)?)),
        optional_fields: f.iter().skip(6).map(|s| s.to_string()).collect(),
        fs_type: a.first()?.to_string(),
        super_options: a.get(2)?.split(',').map(str::to_string).collect(),
    })
}

/// `\ooo` (three octal digits) back to its byte.
fn octal_unescaped(field: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = field.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let code = tail
            .get(..3)
            .filter(|_| first == b'\\')
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit() && c < b'8'))
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match code {
            Some(b) => {
                bytes.push(b);
                rest = &tail[3..];
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
