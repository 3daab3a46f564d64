//! `mounts`: /proc/self/mountinfo parsed into objects, by the parser
//! pivot itself uses (`linux_text::mountinfo`).

use linux_text::mountinfo::{self, MountInfo};
use serde_json::{json, Value};

use crate::error::{Context, ProbeError, Result};

const MOUNTINFO: &str = "/proc/self/mountinfo";

fn to_json(m: &MountInfo) -> Value {
    json!({
        "id": m.id,
        "parent": m.parent,
        "major_minor": m.major_minor,
        "root": m.root,
        "mount_point": m.mount_point,
        "mount_options": m.mount_options,
        "optional_fields": m.optional_fields,
        "propagation": m.propagation(),
        "fs_type": m.fs_type,
        "source": m.source,
        "super_options": m.super_options,
    })
}

/// The `mounts` subcommand.
pub fn mounts() -> Result<Value> {
    let data = std::fs::read(MOUNTINFO).context(format!("read {MOUNTINFO}"))?;
    Ok(Value::Array(parse(&data)?.iter().map(to_json).collect()))
}

/// Parses a whole mountinfo file; blank lines are skipped, a malformed
/// one is an error naming it.
pub fn parse(data: &[u8]) -> Result<Vec<MountInfo>> {
    mountinfo::lines(data)
        .map(|(number, m)| {
            m.map_err(|why| {
                let line = data.split(|&b| b == b'\n').nth(number - 1).unwrap_or(&[]);
                ProbeError::new(format!(
                    "{MOUNTINFO} line {number}: {why}: {:?}",
                    String::from_utf8_lossy(line)
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_malformed_line() {
        let err = parse(b"1 1 0:1 / / rw - tmpfs t rw\n2 2\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.to_string().contains("\"2 2\""), "{err}");
    }

    #[test]
    fn reports_every_field_and_the_propagation() {
        let data =
            b"1 0 0:1 / / rw shared:1 - rootfs rootfs rw\n\n2 1 0:2 / /proc rw - proc proc rw\n";
        let all = parse(data).unwrap();
        assert_eq!(all.len(), 2);
        let first = to_json(&all[0]);
        assert_eq!(first["propagation"], "shared");
        assert_eq!(first["major_minor"], "0:1");
        assert_eq!(to_json(&all[1])["mount_point"], "/proc");
    }
}
