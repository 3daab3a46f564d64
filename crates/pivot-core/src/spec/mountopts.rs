//! runc's mount-option table: each config.json option becomes a mount(2)
//! flag to set or clear, a propagation change, a recursive attribute for
//! mount_setattr, a pivot extension, or part of the data string.

use crate::sys::mountflags::*;

/// What a list of options means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// mount(2) flags to pass.
    pub flags: u64,
    /// Flags an option explicitly cleared (`rw`, `suid`, ...): a remount
    /// must not keep them from the existing mount.
    pub cleared: u64,
    /// Propagation changes, applied in order after the mount.
    pub propagation: Vec<u64>,
    /// Recursive attributes (mount_setattr with AT_RECURSIVE).
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Whether an atime mode was named among the recursive attributes.
    pub attr_atime: bool,
    /// `idmap` / `ridmap`.
    pub idmap: Option<bool>,
    /// `tmpcopyup`.
    pub tmpcopyup: bool,
    /// Everything else, joined with commas.
    pub data: Vec<String>,
}

impl MountOptions {
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
    pub fn is_bind(&self) -> bool {
        self.flags & MS_BIND != 0
    }
    pub fn is_recursive_bind(&self) -> bool {
        self.flags & (MS_BIND | MS_REC) == MS_BIND | MS_REC
    }
}

/// (option, clears?, flag)
const FLAGS: &[(&str, bool, u64)] = &[
    ("async", true, MS_SYNCHRONOUS),
    ("atime", true, MS_NOATIME),
    ("bind", false, MS_BIND),
    ("defaults", false, 0),
    ("dev", true, MS_NODEV),
    ("diratime", true, MS_NODIRATIME),
    ("dirsync", false, MS_DIRSYNC),
    ("exec", true, MS_NOEXEC),
    ("iversion", false, 1 << 23),
    ("lazytime", false, MS_LAZYTIME),
    ("loud", true, MS_SILENT),
    ("mand", false, MS_MANDLOCK),
    ("noatime", false, MS_NOATIME),
    ("nodev", false, MS_NODEV),
    ("nodiratime", false, MS_NODIRATIME),
    ("noexec", false, MS_NOEXEC),
    ("noiversion", true, 1 << 23),
    ("nolazytime", true, MS_LAZYTIME),
    ("nomand", true, MS_MANDLOCK),
    ("norelatime", true, MS_RELATIME),
    ("nostrictatime", true, MS_STRICTATIME),
    ("nosuid", false, MS_NOSUID),
    ("nosymfollow", false, MS_NOSYMFOLLOW),
    ("rbind", false, MS_BIND | MS_REC),
    ("relatime", false, MS_RELATIME),
    ("remount", false, MS_REMOUNT),
    ("ro", false, MS_RDONLY),
    ("rw", true, MS_RDONLY),
    ("silent", false, MS_SILENT),
    ("strictatime", false, MS_STRICTATIME),
    ("suid", true, MS_NOSUID),
    ("sync", false, MS_SYNCHRONOUS),
];

/// Propagation option names and their flags; also used for
/// linux.rootfsPropagation.
pub const PROPAGATIONS: &[(&str, u64)] = &[
    ("private", MS_PRIVATE),
    ("rprivate", MS_PRIVATE | MS_REC),
    ("shared", MS_SHARED),
    ("rshared", MS_SHARED | MS_REC),
    ("slave", MS_SLAVE),
    ("rslave", MS_SLAVE | MS_REC),
    ("unbindable", MS_UNBINDABLE),
    ("runbindable", MS_UNBINDABLE | MS_REC),
];

/// (option, clears?, attribute)
const REC_ATTRS: &[(&str, bool, u64)] = &[
    ("rro", false, MOUNT_ATTR_RDONLY),
    ("rrw", true, MOUNT_ATTR_RDONLY),
    ("rnosuid", false, MOUNT_ATTR_NOSUID),
    ("rsuid", true, MOUNT_ATTR_NOSUID),
    ("rnodev", false, MOUNT_ATTR_NODEV),
    ("rdev", true, MOUNT_ATTR_NODEV),
    ("rnoexec", false, MOUNT_ATTR_NOEXEC),
    ("rexec", true, MOUNT_ATTR_NOEXEC),
    ("rnodiratime", false, MOUNT_ATTR_NODIRATIME),
    ("rdiratime", true, MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW),
    ("rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW),
];

/// Recursive atime modes: setting one replaces the whole atime field.
const REC_ATIME: &[(&str, Option<u64>)] = &[
    ("rrelatime", Some(MOUNT_ATTR_RELATIME)),
    ("rnorelatime", None),
    ("rnoatime", Some(MOUNT_ATTR_NOATIME)),
    ("ratime", None),
    ("rstrictatime", Some(MOUNT_ATTR_STRICTATIME)),
    ("rnostrictatime", None),
];

pub fn propagation_flag(name: &str) -> Option<u64> {
    PROPAGATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Parse a mount's option list as runc does.
pub fn parse(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    for opt in options {
        let opt = opt.as_str();
        if let Some((_, clear, flag)) = FLAGS.iter().find(|(n, _, _)| *n == opt) {
            if *clear {
                o.flags &= !flag;
                o.cleared |= flag;
            } else {
                o.flags |= flag;
                o.cleared &= !flag;
            }
        } else if let Some(p) = propagation_flag(opt) {
            o.propagation.push(p);
        } else if let Some((_, clear, attr)) = REC_ATTRS.iter().find(|(n, _, _)| *n == opt) {
            if *clear {
                o.attr_clr |= attr;
                o.attr_set &= !attr;
            } else {
                o.attr_set |= attr;
                o.attr_clr &= !attr;
            }
        } else if let Some((_, mode)) = REC_ATIME.iter().find(|(n, _)| *n == opt) {
            o.attr_atime = true;
            o.attr_clr |= MOUNT_ATTR__ATIME;
            o.attr_set &= !MOUNT_ATTR__ATIME;
            o.attr_set |= mode.unwrap_or(MOUNT_ATTR_RELATIME);
        } else if opt == "tmpcopyup" {
            o.tmpcopyup = true;
        } else if opt == "idmap" {
            o.idmap = Some(false);
        } else if opt == "ridmap" {
            o.idmap = Some(true);
        } else {
            o.data.push(opt.to_string());
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_set_and_clear_in_order() {
        let o = p(&["nosuid", "ro", "rw", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MS_NOSUID);
        assert_eq!(o.cleared, MS_RDONLY);
        assert_eq!(o.data_string(), "mode=755,size=65536k");
    }

    #[test]
    fn rbind_and_propagation() {
        let o = p(&["rbind", "rslave", "private"]);
        assert!(o.is_recursive_bind());
        assert_eq!(o.propagation, vec![MS_SLAVE | MS_REC, MS_PRIVATE]);
    }

    #[test]
    fn recursive_attributes() {
        let o = p(&["rro", "rnosuid", "rnoatime", "rexec"]);
        assert_eq!(
            o.attr_set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.attr_clr, MOUNT_ATTR__ATIME | MOUNT_ATTR_NOEXEC);
        assert!(o.attr_atime);
    }

    #[test]
    fn extensions() {
        let o = p(&["tmpcopyup", "ridmap"]);
        assert!(o.tmpcopyup);
        assert_eq!(o.idmap, Some(true));
        assert!(o.data.is_empty());
    }
}
