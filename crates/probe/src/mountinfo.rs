//! `mounts`: /proc/self/mountinfo parsed into objects.
//!
//! Line format (proc(5)):
//! `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`

use serde_json::{json, Value};

use crate::error::{Context, ProbeError, Result};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of mountinfo.
#[derive(Debug, PartialEq, Eq)]
pub struct MountInfo {
    pub id: u64,
    pub parent: u64,
    pub major_minor: String,
    pub root: String,
    pub mount_point: String,
    pub mount_options: String,
    pub optional_fields: Vec<String>,
    pub fs_type: String,
    pub source: String,
    /// Kept as the kernel wrote it: unescaping could turn `\054` into a
    /// separator comma.
    pub super_options: String,
}

impl MountInfo {
    /// "shared", "slave", "unbindable" or "private".
    pub fn propagation(&self) -> &'static str {
        propagation(&self.optional_fields)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "parent": self.parent,
            "major_minor": self.major_minor,
            "root": self.root,
            "mount_point": self.mount_point,
            "mount_options": self.mount_options,
            "optional_fields": self.optional_fields,
            "propagation": self.propagation(),
            "fs_type": self.fs_type,
            "source": self.source,
            "super_options": self.super_options,
        })
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

/// The `mounts` subcommand.
pub fn mounts() -> Result<Value> {
    let data = std::fs::read(MOUNTINFO).context(format!("read {MOUNTINFO}"))?;
    let entries = parse(&data)?;
    Ok(Value::Array(
        entries.iter().map(MountInfo::to_json).collect(),
    ))
}

/// Parses a whole mountinfo file; blank lines are skipped.
pub fn parse(data: &[u8]) -> Result<Vec<MountInfo>> {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(index, line)| {
            parse_line(line).map_err(|why| {
                ProbeError::new(format!(
                    "{MOUNTINFO} line {}: {why}: {:?}",
                    index + 1,
                    String::from_utf8_lossy(line)
                ))
            })
        })
        .collect()
}

/// Parses one mountinfo line.
pub fn parse_line(line: &[u8]) -> std::result::Result<MountInfo, String> {
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

fn take<'a>(
    fields: &mut impl Iterator<Item = &'a [u8]>,
    what: &str,
) -> std::result::Result<&'a [u8], String> {
    fields.next().ok_or_else(|| format!("missing {what}"))
}

fn number(field: &[u8], what: &str) -> std::result::Result<u64, String> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad {what} {:?}", String::from_utf8_lossy(field)))
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// Undoes the kernel's `\NNN` octal escaping (space, tab, newline, backslash).
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
    fn unescapes_paths_and_source() {
        let m = parse_line(
            b"100 29 0:50 /a\\134b /tmp/with\\040space\\011tab rw shared:5 - tmpfs my\\040src rw,size=1k",
        )
        .unwrap();
        assert_eq!(m.root, "/a\\b");
        assert_eq!(m.mount_point, "/tmp/with space\ttab");
        assert_eq!(m.source, "my src");
        assert_eq!(m.optional_fields, strings(&["shared:5"]));
    }

    #[test]
    fn leaves_malformed_escapes_alone() {
        assert_eq!(unescape(b"a\\9zz"), "a\\9zz");
        assert_eq!(unescape(b"end\\04"), "end\\04");
        assert_eq!(unescape(b"\\777"), "\\777");
        assert_eq!(unescape(b"\\012"), "\n");
    }

    #[test]
    fn tolerates_empty_source() {
        let m = parse_line(b"50 1 0:60 / /x rw - tmpfs  rw").unwrap();
        assert_eq!(m.source, "");
        assert_eq!(m.super_options, "rw");
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse_line(b"x 1 0:1 / / rw - tmpfs t rw").is_err());
        assert!(parse_line(b"1 1 0:1 / / rw shared:1").is_err());
        assert!(parse_line(b"1 1").is_err());
        let err = parse(b"1 1 0:1 / / rw - tmpfs t rw\n2 2\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
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
    fn parses_whole_file_skipping_blank_lines() {
        let data =
            b"1 0 0:1 / / rw shared:1 - rootfs rootfs rw\n\n2 1 0:2 / /proc rw - proc proc rw\n";
        let all = parse(data).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].mount_point, "/proc");
        assert_eq!(all[0].to_json()["propagation"], "shared");
    }
}
