//! `linux.cgroupsPath` as the systemd driver reads it: `slice:prefix:name`,
//! and the cgroup path of the unit it names (runc's specconv and
//! ExpandSlice).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The scope prefix for an empty cgroupsPath: runc uses its own name there.
pub const DEFAULT_PREFIX: &str = "pivot";

/// The transient unit a container gets, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// `pivot-web.scope`, or a slice when the name ends in `.slice`.
    pub name: String,
    /// The parent slice (`system.slice` unless the path names another).
    pub slice: String,
    /// The unit's cgroup path from the hierarchy's root,
    /// `/system.slice/pivot-web.scope`.
    pub cgroup: String,
    /// Managed by the user's systemd instance (over the session bus).
    #[serde(default)]
    pub user: bool,
}

impl Unit {
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }
}

/// The three parts of a cgroupsPath, as runc splits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The parent slice; empty for the default.
    pub parent: String,
    pub prefix: String,
    pub name: String,
}

/// Split `cgroups_path`: empty means the default unit `pivot-<id>.scope`
/// in the default slice.
pub fn parse(cgroups_path: Option<&str>, id: &str) -> Result<Target> {
    let path = cgroups_path.unwrap_or("");
    if path.is_empty() {
        return Ok(Target {
            parent: String::new(),
            prefix: DEFAULT_PREFIX.into(),
            name: id.into(),
        });
    }
    let parts: Vec<&str> = path.split(':').collect();
    let [parent, prefix, name] = parts[..] else {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups, got {path:?}"
        )));
    };
    Ok(Target {
        parent: parent.into(),
        prefix: prefix.into(),
        name: name.into(),
    })
}

/// runc's getUnitName: a scope unless the name itself names a slice.
pub fn unit_name(t: &Target) -> String {
    if t.name.ends_with(".slice") {
        t.name.clone()
    } else {
        format!("{}-{}.scope", t.prefix, t.name)
    }
}

/// systemd's unit_name_is_valid for the names pivot makes: a non-empty
/// stem of [A-Za-z0-9:_.\-] (and `\` escapes), a known suffix, at most
/// 255 bytes.
fn valid_unit_name(name: &str) -> bool {
    let Some((stem, suffix)) = name.rsplit_once('.') else {
        return false;
    };
    name.len() <= 255
        && !stem.is_empty()
        && matches!(suffix, "scope" | "slice")
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'-' | b'\\'))
}

/// systemd names a slice's place by its dashes: `a-b.slice` lives in
/// `a.slice`, so its path is `/a.slice/a-b.slice`; `-.slice` is the root.
pub fn expand_slice(slice: &str) -> Result<String> {
    let bad = || Error::invalid(format!("invalid slice name {slice:?}"));
    let stem = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if slice.contains('/') {
        return Err(bad());
    }
    if stem == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(bad());
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Ok(path)
}

/// The unit for `cgroups_path`: its name, slice and cgroup path. `user`
/// for the user instance, whose slices live under `manager_cgroup` (the
/// manager's own ControlGroup, `/user.slice/user-1000.slice/user@1000.service`).
pub fn unit(
    cgroups_path: Option<&str>,
    id: &str,
    user: bool,
    manager_cgroup: &str,
) -> Result<Unit> {
    let t = parse(cgroups_path, id)?;
    let name = unit_name(&t);
    if !valid_unit_name(&name) {
        let from = match cgroups_path.unwrap_or("") {
            "" => " (from the container ID; linux.cgroupsPath is empty)".to_string(),
            p => format!(" (from linux.cgroupsPath {p:?})"),
        };
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: {name:?} is not a valid systemd unit name{from}"
        )));
    }
    let slice = match t.parent.as_str() {
        "" if user => "user.slice".to_string(),
        "" => "system.slice".to_string(),
        p => p.to_string(),
    };
    let expanded = expand_slice(&slice).map_err(|e| e.context("linux.cgroupsPath"))?;
    let mut cgroup = String::new();
    if user {
        cgroup.push_str(manager_cgroup.trim_end_matches('/'));
    }
    cgroup.push_str(expanded.trim_end_matches('/'));
    cgroup.push('/');
    cgroup.push_str(&name);
    Ok(Unit {
        name,
        slice,
        cgroup,
        user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_runc() {
        let t = parse(Some("system.slice:cri-containerd:abc"), "id").unwrap();
        assert_eq!(t.parent, "system.slice");
        assert_eq!(unit_name(&t), "cri-containerd-abc.scope");
        let t = parse(None, "web").unwrap();
        assert_eq!(unit_name(&t), "pivot-web.scope");
        assert_eq!(t.parent, "");
        let t = parse(Some("a.slice:x:a-b.slice"), "id").unwrap();
        assert_eq!(unit_name(&t), "a-b.slice");
        for bad in ["/a/b", "a:b", "a:b:c:d", "web"] {
            let e = parse(Some(bad), "id").unwrap_err().to_string();
            assert!(e.starts_with("linux.cgroupsPath: expected"), "{e}");
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn expands_slices() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("test-a-b.slice").unwrap(),
            "/test.slice/test-a.slice/test-a-b.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in [
            "",
            ".slice",
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            "a/b.slice",
            "a.scope",
        ] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_paths() {
        let u = unit(Some("a-b.slice:pfx:c1"), "id", false, "").unwrap();
        assert_eq!(u.name, "pfx-c1.scope");
        assert_eq!(u.slice, "a-b.slice");
        assert_eq!(u.cgroup, "/a.slice/a-b.slice/pfx-c1.scope");
        let u = unit(None, "web", false, "").unwrap();
        assert_eq!(u.cgroup, "/system.slice/pivot-web.scope");
        let u = unit(Some("-.slice:p:n"), "id", false, "").unwrap();
        assert_eq!(u.cgroup, "/p-n.scope");
        let u = unit(
            None,
            "web",
            true,
            "/user.slice/user-1000.slice/user@1000.service",
        )
        .unwrap();
        assert_eq!(
            u.cgroup,
            "/user.slice/user-1000.slice/user@1000.service/user.slice/pivot-web.scope"
        );
        let e = unit(Some("a--b.slice:p:n"), "id", false, "")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.cgroupsPath: "), "{e}");
        let e = unit(Some("system.slice:p:a/b"), "id", false, "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid systemd unit name"), "{e}");
        let e = unit(None, "a+b", false, "").unwrap_err().to_string();
        assert!(e.contains("from the container ID"), "{e}");
    }
}
