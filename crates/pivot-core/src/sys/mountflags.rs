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

// mount_setattr(2) and fsmount(2) attributes.
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_IDMAP: u64 = 0x10_0000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x20_0000;

// statvfs(3)'s f_flag bits (sys::mount_flags_of).
pub const ST_RDONLY: u64 = libc::ST_RDONLY;
pub const ST_NOSUID: u64 = libc::ST_NOSUID;
pub const ST_NODEV: u64 = libc::ST_NODEV;
pub const ST_NOEXEC: u64 = libc::ST_NOEXEC;

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

const ATTR_NAMES: &[(u64, &str)] = &[
    (MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"),
    (MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"),
    (MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"),
    (MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"),
    (MOUNT_ATTR_NOATIME, "MOUNT_ATTR_NOATIME"),
    (MOUNT_ATTR_STRICTATIME, "MOUNT_ATTR_STRICTATIME"),
    (MOUNT_ATTR__ATIME, "MOUNT_ATTR__ATIME"),
    (MOUNT_ATTR_NODIRATIME, "MOUNT_ATTR_NODIRATIME"),
    (MOUNT_ATTR_IDMAP, "MOUNT_ATTR_IDMAP"),
    (MOUNT_ATTR_NOSYMFOLLOW, "MOUNT_ATTR_NOSYMFOLLOW"),
];

/// `MS_BIND|MS_REC`, or `0`.
pub fn flags_str(flags: u64) -> String {
    names_str(NAMES, flags)
}

/// `MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID`, or `0`. The atime mode is one
/// value in a 3-bit field: MOUNT_ATTR__ATIME alone is the whole field (as
/// a mask to clear), else the mode that is set is named.
pub fn attrs_str(attrs: u64) -> String {
    let atime = attrs & MOUNT_ATTR__ATIME;
    let names: Vec<(u64, &str)> = ATTR_NAMES
        .iter()
        .copied()
        .filter(|&(bit, _)| match bit {
            MOUNT_ATTR__ATIME => atime == MOUNT_ATTR__ATIME,
            MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME => atime == bit,
            _ => true,
        })
        .collect();
    names_str(&names, attrs)
}

fn names_str(names: &[(u64, &str)], flags: u64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = flags;
    for (bit, name) in names {
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

    #[test]
    fn names_attrs() {
        assert_eq!(
            attrs_str(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID),
            "MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID"
        );
        assert_eq!(attrs_str(MOUNT_ATTR__ATIME), "MOUNT_ATTR__ATIME");
        assert_eq!(
            attrs_str(MOUNT_ATTR_NOEXEC | MOUNT_ATTR_STRICTATIME),
            "MOUNT_ATTR_NOEXEC|MOUNT_ATTR_STRICTATIME"
        );
        assert_eq!(
            attrs_str(MOUNT_ATTR_IDMAP | 0x4000),
            "MOUNT_ATTR_IDMAP|0x4000"
        );
        assert_eq!(attrs_str(0), "0");
    }
}
