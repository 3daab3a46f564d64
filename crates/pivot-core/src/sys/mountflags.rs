//! mount(2) flag values and their names, for building calls and error text.

pub const MS_RDONLY: u64 = libc::MS_RDONLY;
pub const MS_NOSUID: u64 = libc::MS_NOSUID;
pub const MS_NODEV: u64 = libc::MS_NODEV;
pub const MS_NOEXEC: u64 = libc::MS_NOEXEC;
pub const MS_SYNCHRONOUS: u64 = libc::MS_SYNCHRONOUS;
pub const MS_REMOUNT: u64 = libc::MS_REMOUNT;
pub const MS_MANDLOCK: u64 = libc::MS_MANDLOCK;
pub const MS_DIRSYNC: u64 = libc::MS_DIRSYNC;
pub const MS_NOSYMFOLLOW: u64 = 256;
pub const MS_NOATIME: u64 = libc::MS_NOATIME;
pub const MS_NODIRATIME: u64 = libc::MS_NODIRATIME;
pub const MS_BIND: u64 = libc::MS_BIND;
pub const MS_MOVE: u64 = libc::MS_MOVE;
pub const MS_REC: u64 = libc::MS_REC;
pub const MS_SILENT: u64 = libc::MS_SILENT;
pub const MS_UNBINDABLE: u64 = libc::MS_UNBINDABLE;
pub const MS_PRIVATE: u64 = libc::MS_PRIVATE;
pub const MS_SLAVE: u64 = libc::MS_SLAVE;
pub const MS_SHARED: u64 = libc::MS_SHARED;
pub const MS_RELATIME: u64 = libc::MS_RELATIME;
pub const MS_STRICTATIME: u64 = libc::MS_STRICTATIME;
pub const MS_LAZYTIME: u64 = 1 << 25;

/// Flags that only change propagation.
pub const PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

const NAMES: &[(u64, &str)] = &[
    (MS_RDONLY, "MS_RDONLY"),
    (MS_NOSUID, "MS_NOSUID"),
    (MS_NODEV, "MS_NODEV"),
    (MS_NOEXEC, "MS_NOEXEC"),
    (MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
    (MS_REMOUNT, "MS_REMOUNT"),
    (MS_MANDLOCK, "MS_MANDLOCK"),
    (MS_DIRSYNC, "MS_DIRSYNC"),
    (MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"),
    (MS_NOATIME, "MS_NOATIME"),
    (MS_NODIRATIME, "MS_NODIRATIME"),
    (MS_BIND, "MS_BIND"),
    (MS_MOVE, "MS_MOVE"),
    (MS_REC, "MS_REC"),
    (MS_SILENT, "MS_SILENT"),
    (MS_UNBINDABLE, "MS_UNBINDABLE"),
    (MS_PRIVATE, "MS_PRIVATE"),
    (MS_SLAVE, "MS_SLAVE"),
    (MS_SHARED, "MS_SHARED"),
    (MS_RELATIME, "MS_RELATIME"),
    (MS_STRICTATIME, "MS_STRICTATIME"),
    (MS_LAZYTIME, "MS_LAZYTIME"),
];

/// `MS_BIND|MS_REC`, or `0`.
pub fn flags_str(flags: u64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = flags;
    for (bit, name) in NAMES {
        if flags & bit != 0 {
            parts.push((*name).to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flags() {
        assert_eq!(flags_str(MS_BIND | MS_REC), "MS_BIND|MS_REC");
        assert_eq!(flags_str(0), "0");
    }
}
