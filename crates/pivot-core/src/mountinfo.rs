//! /proc/self/mountinfo, parsed one way for every reader (proc(5)):
//!
//! `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
//!
//! The kernel writes a space, tab, newline or backslash in a path as a
//! three-digit octal escape (`\040`, `\011`, `\012`, `\134`); every one is
//! undone in the root, the mount point, the filesystem type and the
//! source. The super options are kept as written: undoing `\054` there
//! would make a separator comma.

use crate::error::{Error, Result};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub id: u64,
    pub parent: u64,
    /// The mount's root within its filesystem.
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (`rw,nosuid,relatime`).
    pub mount_options: String,
    /// `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
    pub optional_fields: Vec<String>,
    pub fs_type: String,
    pub source: String,
    /// Per-superblock options, as the kernel wrote them.
    pub super_options: String,
}

/// This process's mounts.
pub fn read() -> Result<Vec<MountInfo>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read /proc/self/mountinfo", e))?;
    Ok(parse(&text))
}

/// Every well-formed line of mountinfo text (others are skipped).
pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

/// One line, or None if it is not a mountinfo line.
pub fn parse_line(line: &str) -> Option<MountInfo> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let id = l.next()?.parse().ok()?;
    let parent = l.next()?.parse().ok()?;
    let _major_minor = l.next()?;
    let root = unescape(l.next()?);
    let mount_point = unescape(l.next()?);
    let mount_options = l.next()?.to_string();
    let optional_fields = l.filter(|f| !f.is_empty()).map(str::to_string).collect();
    let mut r = right.split(' ');
    let fs_type = unescape(r.next()?);
    let source = r.next().map(unescape).unwrap_or_default();
    let super_options = r.next().unwrap_or_default().to_string();
    Some(MountInfo {
        id,
        parent,
        root,
        mount_point,
        mount_options,
        optional_fields,
        fs_type,
        source,
        super_options,
    })
}

/// Undo mountinfo's octal escapes: a backslash and three octal digits
/// (at most `\377`) is that byte; anything else stays as it is.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4).filter(|d| {
            (b'0'..=b'3').contains(&d[0]) && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
        });
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field() {
        let m = parse_line(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(
            m,
            MountInfo {
                id: 36,
                parent: 35,
                root: "/mnt1".into(),
                mount_point: "/mnt2".into(),
                mount_options: "rw,noatime".into(),
                optional_fields: vec!["master:1".into(), "shared:2".into()],
                fs_type: "ext3".into(),
                source: "/dev/root".into(),
                super_options: "rw,errors=continue".into(),
            }
        );
        let m = parse_line("22 1 8:1 / / rw - ext4 /dev/sda1 rw").unwrap();
        assert!(m.optional_fields.is_empty());
        assert_eq!(parse_line("not mountinfo"), None);
        assert_eq!(parse_line("x 1 8:1 / / rw - ext4 /dev/sda1 rw"), None);
    }

    #[test]
    fn undoes_every_octal_escape() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/tab\011x"), "/tab\tx");
        assert_eq!(unescape(r"/nl\012x"), "/nl\nx");
        assert_eq!(unescape(r"/back\134slash"), "/back\\slash");
        assert_eq!(unescape(r"/hash\043"), "/hash#");
        // Not an escape: kept as written.
        assert_eq!(unescape(r"/a\09b"), r"/a\09b");
        assert_eq!(unescape(r"/a\777"), r"/a\777");
        assert_eq!(unescape(r"/end\04"), r"/end\04");
        assert_eq!(unescape("/ü\\040"), "/ü ");
        let m = parse_line(r"26 22 0:7 /r\011t /run/a\040b rw - fuse.x\040y my\134src rw,a\054b")
            .unwrap();
        assert_eq!(m.root, "/r\tt");
        assert_eq!(m.mount_point, "/run/a b");
        assert_eq!(m.fs_type, "fuse.x y");
        assert_eq!(m.source, r"my\src");
        assert_eq!(m.super_options, r"rw,a\054b");
    }
}
