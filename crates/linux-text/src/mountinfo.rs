//! /proc/PID/mountinfo, parsed one way for every reader (proc(5)):
//!
//! `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
//!
//! The kernel writes a space, tab, newline or backslash in a path as a
//! three-digit octal escape (`\040`, `\011`, `\012`, `\134`); every one is
//! undone in the root, the mount point, the filesystem type and the
//! source. The super options are kept as written: undoing `\054` there
//! would make a separator comma.

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub id: u64,
    pub parent: u64,
    /// The device, `MAJOR:MINOR`.
    pub major_minor: String,
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

impl MountInfo {
    /// "shared", "slave", "unbindable" or "private".
    pub fn propagation(&self) -> &'static str {
        propagation(&self.optional_fields)
    }
}

/// Derives the propagation type from the optional fields. A mount that is
/// both shared and a slave (`shared:N master:M`) counts as shared.
pub fn propagation(optional_fields: &[String]) -> &'static str {
    let has_prefix = |prefix: &str| optional_fields.iter().any(|f| f.starts_with(prefix));
    if has_prefix("shared:") {
        "shared"
    } else if has_prefix("master:") {
        "slave"
    } else if optional_fields.iter().any(|f| f == "unbindable") {
        "unbindable"
    } else {
        "private"
    }
}

/// Every line of a mountinfo file, in order, each parsed or with what is
/// wrong with it; blank lines are skipped. The line numbers count from 1.
pub fn lines(data: &[u8]) -> impl Iterator<Item = (usize, Result<MountInfo, String>)> + '_ {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(index, line)| (index + 1, parse_line(line)))
}

/// Every well-formed line of a mountinfo file (others are skipped).
pub fn parse(data: &[u8]) -> Vec<MountInfo> {
    lines(data).filter_map(|(_, m)| m.ok()).collect()
}

/// Parses one mountinfo line.
pub fn parse_line(line: &[u8]) -> Result<MountInfo, String> {
    let mut fields = line.split(|&b| b == b' ');
    let id = number(take(&mut fields, "mount id")?, "mount id")?;
    let parent = number(take(&mut fields, "parent id")?, "parent id")?;
    let major_minor = text(take(&mut fields, "major:minor")?);
    let root = unescape(take(&mut fields, "root")?);
    let mount_point = unescape(take(&mut fields, "mount point")?);
    let mount_options = text(take(&mut fields, "mount options")?);
    let mut optional_fields = Vec::new();
    loop {
        let field = take(&mut fields, "separator \"-\"")?;
        if field == b"-" {
            break;
        }
        if !field.is_empty() {
            optional_fields.push(text(field));
        }
    }
    let fs_type = unescape(take(&mut fields, "filesystem type")?);
    let source = fields.next().map(unescape).unwrap_or_default();
    let super_options = fields.next().map(text).unwrap_or_default();
    Ok(MountInfo {
        id,
        parent,
        major_minor,
        root,
        mount_point,
        mount_options,
        optional_fields,
        fs_type,
        source,
        super_options,
    })
}

fn take<'a>(fields: &mut impl Iterator<Item = &'a [u8]>, what: &str) -> Result<&'a [u8], String> {
    fields.next().ok_or_else(|| format!("missing {what}"))
}

fn number(field: &[u8], what: &str) -> Result<u64, String> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad {what} {:?}", String::from_utf8_lossy(field)))
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// Undoes mountinfo's octal escapes: a backslash and three octal digits
/// (at most `\377`) is that byte; anything else stays as it is.
pub fn unescape(field: &[u8]) -> String {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' {
            if let Some(byte) = field.get(i + 1..i + 4).and_then(octal_byte) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(field[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn octal_byte(digits: &[u8]) -> Option<u8> {
    digits
        .iter()
        .try_fold(0u16, |acc, &d| match d {
            b'0'..=b'7' => Some(acc * 8 + u16::from(d - b'0')),
            _ => None,
        })
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_proc5_example() {
        let m = parse_line(
            b"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(
            m,
            MountInfo {
                id: 36,
                parent: 35,
                major_minor: "98:0".into(),
                root: "/mnt1".into(),
                mount_point: "/mnt2".into(),
                mount_options: "rw,noatime".into(),
                optional_fields: strings(&["master:1"]),
                fs_type: "ext3".into(),
                source: "/dev/root".into(),
                super_options: "rw,errors=continue".into(),
            }
        );
        assert_eq!(m.propagation(), "slave");
    }

    #[test]
    fn parses_without_optional_fields() {
        let m = parse_line(b"22 1 0:21 / /proc rw,nosuid - proc proc rw").unwrap();
        assert!(m.optional_fields.is_empty());
        assert_eq!(m.propagation(), "private");
        assert_eq!(m.fs_type, "proc");
        assert_eq!(m.super_options, "rw");
    }

    #[test]
    fn parses_several_optional_fields() {
        let m = parse_line(
            b"40 22 0:5 / /dev rw shared:7 master:2 propagate_from:1 - devtmpfs udev rw",
        )
        .unwrap();
        assert_eq!(
            m.optional_fields,
            strings(&["shared:7", "master:2", "propagate_from:1"])
        );
        assert_eq!(m.propagation(), "shared");
    }

    #[test]
    fn undoes_every_octal_escape() {
        assert_eq!(unescape(br"/a\040b"), "/a b");
        assert_eq!(unescape(br"/tab\011x"), "/tab\tx");
        assert_eq!(unescape(br"/nl\012x"), "/nl\nx");
        assert_eq!(unescape(br"/back\134slash"), "/back\\slash");
        assert_eq!(unescape(br"/hash\043"), "/hash#");
        assert_eq!(unescape("/ü\\040".as_bytes()), "/ü ");
        let m = parse_line(br"26 22 0:7 /r\011t /run/a\040b rw - fuse.x\040y my\134src rw,a\054b")
            .unwrap();
        assert_eq!(m.root, "/r\tt");
        assert_eq!(m.mount_point, "/run/a b");
        assert_eq!(m.fs_type, "fuse.x y");
        assert_eq!(m.source, r"my\src");
        assert_eq!(m.super_options, r"rw,a\054b");
    }

    #[test]
    fn leaves_malformed_escapes_alone() {
        assert_eq!(unescape(br"a\9zz"), r"a\9zz");
        assert_eq!(unescape(br"/a\09b"), r"/a\09b");
        assert_eq!(unescape(br"end\04"), r"end\04");
        assert_eq!(unescape(br"\777"), r"\777");
    }

    #[test]
    fn tolerates_empty_source() {
        let m = parse_line(b"50 1 0:60 / /x rw - tmpfs  rw").unwrap();
        assert_eq!(m.source, "");
        assert_eq!(m.super_options, "rw");
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse_line(b"not mountinfo").is_err());
        assert!(parse_line(b"x 1 0:1 / / rw - tmpfs t rw").is_err());
        assert!(parse_line(b"1 1 0:1 / / rw shared:1").is_err());
        assert!(parse_line(b"1 1").is_err());
        let all: Vec<_> = lines(b"1 1 0:1 / / rw - tmpfs t rw\n2 2\n").collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].0, 2);
        assert!(all[1].1.is_err());
    }

    #[test]
    fn derives_propagation() {
        assert_eq!(propagation(&strings(&["shared:1"])), "shared");
        assert_eq!(propagation(&strings(&["master:3"])), "slave");
        assert_eq!(propagation(&strings(&["master:3", "shared:4"])), "shared");
        assert_eq!(propagation(&strings(&["unbindable"])), "unbindable");
        assert_eq!(propagation(&[]), "private");
    }

    #[test]
    fn parses_whole_file_skipping_blank_and_bad_lines() {
        let data =
            b"1 0 0:1 / / rw shared:1 - rootfs rootfs rw\n\nbad\n2 1 0:2 / /proc rw - proc proc rw\n";
        let all = parse(data);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].mount_point, "/proc");
        assert_eq!(all[0].propagation(), "shared");
    }
}
