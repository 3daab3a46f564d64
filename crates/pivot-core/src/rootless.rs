//! Rootless mode, decided and prepared as runc 1.5 does: who counts as
//! rootless, where the state lives, and which id mappings an unprivileged
//! caller may ask for (its own ids, and the ranges /etc/subuid and
//! /etc/subgid give it, which newuidmap/newgidmap write).

use crate::error::{Error, Result};
use crate::spec::types::IdMapping;
use std::path::{Path, PathBuf};

/// `--rootless`: runc's parseBoolOrAuto (Go's strconv.ParseBool words);
/// `None` is "auto".
pub fn parse_mode(s: &str) -> Result<Option<bool>> {
    match s {
        "" | "auto" => Ok(None),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Some(true)),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Some(false)),
        _ => Err(Error::invalid(format!(
            "--rootless {s:?}: expected true, false or auto"
        ))),
    }
}

/// Whether this process is in a user namespace other than the initial
/// one: the initial namespace's uid_map is the identity over all ids.
pub fn running_in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| !is_initial_uid_map(&m))
}

fn is_initial_uid_map(map: &str) -> bool {
    let f: Vec<&str> = map.split_whitespace().collect();
    f == ["0", "0", "4294967295"]
}

/// Whether cgroups are handled as rootless (runc's
/// shouldUseRootlessCgroupManager with the cgroupfs driver): the flag when
/// given, else not root, or root of a user namespace (whose access to the
/// cgroup tree is unknown).
pub fn rootless_cgroups(mode: Option<bool>) -> bool {
    mode.unwrap_or_else(|| crate::sys::geteuid() != 0 || running_in_user_namespace())
}

/// runc's shouldHonorXDGRuntimeDir: not root, or root of a user namespace
/// whose $USER is not "root".
fn honor_xdg_runtime_dir(euid: u32, in_userns: bool, user: Option<&str>) -> bool {
    euid != 0 || (in_userns && user != Some("root"))
}

/// The default `--root`: `$XDG_RUNTIME_DIR/pivot` where runc would use
/// `$XDG_RUNTIME_DIR/runc`, else `/run/pivot`; true when it is the former.
pub fn default_root() -> (PathBuf, bool) {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    match xdg {
        Some(dir)
            if honor_xdg_runtime_dir(
                crate::sys::geteuid(),
                running_in_user_namespace(),
                std::env::var("USER").ok().as_deref(),
            ) =>
        {
            (Path::new(&dir).join("pivot"), true)
        }
        _ => (PathBuf::from("/run/pivot"), false),
    }
}

/// Make the state root under $XDG_RUNTIME_DIR 0700 with the sticky bit, as
/// runc does: the XDG spec lets a session manager prune files there that
/// lack it.
pub fn prepare_xdg_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| {
            Error::io(
                format!(
                    "mkdir {} (the path in $XDG_RUNTIME_DIR must be writable by the user)",
                    root.display()
                ),
                e,
            )
        })?;
    // On the handle: a symlink put in place of the dir is not followed.
    let dir = crate::sys::openat(
        crate::sys::cwd(),
        &root.to_string_lossy(),
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    )?;
    crate::sys::fchmod(std::os::fd::AsFd::as_fd(&dir), 0o1700)
}

/// The name of `uid` in /etc/passwd, if it has one.
pub fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

/// The ranges (first id, count) /etc/subuid or /etc/subgid text gives to
/// the user, named by name or by number as shadow's tools accept.
pub fn sub_ranges(text: &str, name: Option<&str>, id: u32) -> Vec<(u64, u64)> {
    let id = id.to_string();
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().splitn(3, ':');
            let (owner, start, count) = (f.next()?, f.next()?, f.next()?);
            (Some(owner) == name || owner == id)
                .then(|| Some((start.parse().ok()?, count.trim().parse().ok()?)))
                .flatten()
        })
        .collect()
}

/// The kind of id a mapping list holds, for error text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Uid,
    Gid,
}

impl IdKind {
    fn field(self) -> &'static str {
        match self {
            IdKind::Uid => "linux.uidMappings",
            IdKind::Gid => "linux.gidMappings",
        }
    }
    fn file(self) -> &'static str {
        match self {
            IdKind::Uid => "/etc/subuid",
            IdKind::Gid => "/etc/subgid",
        }
    }
    pub fn tool(self) -> &'static str {
        match self {
            IdKind::Uid => "newuidmap",
            IdKind::Gid => "newgidmap",
        }
    }
}

/// Whether the mappings are the caller's own id alone, which an
/// unprivileged process may write to its child's map itself (for gids,
/// once setgroups is denied).
pub fn own_id_only(maps: &[IdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.host_id == own && m.size == 1)
}

/// Check that every mapping is one an unprivileged caller `own` (named
/// `name`) may have written: its own id (size 1), or inside a range of
/// `ranges` (from `kind.file()`). Names the field and what is missing.
pub fn check_owned(
    kind: IdKind,
    maps: &[IdMapping],
    own: u32,
    name: Option<&str>,
    ranges: &[(u64, u64)],
) -> Result<()> {
    let who = match name {
        Some(n) => format!("user {n}"),
        None => format!("uid {own}"),
    };
    for (i, m) in maps.iter().enumerate() {
        let (first, size) = (u64::from(m.host_id), u64::from(m.size));
        if m.host_id == own && m.size == 1 {
            continue;
        }
        if ranges
            .iter()
            .any(|&(s, c)| first >= s && first + size <= s + c)
        {
            continue;
        }
        let what = if size == 1 {
            format!("host id {first}")
        } else {
            format!("host ids {first}-{}", first + size - 1)
        };
        return Err(Error::invalid(if ranges.is_empty() {
            format!(
                    "{}[{i}]: no {} range for {who}: a rootless container can map only the caller's own id ({what} asked)",
                    kind.field(),
                    kind.file()
                )
        } else {
            format!(
                "{}[{i}]: {what} are not in a {} range of {who}",
                kind.field(),
                kind.file()
            )
        }));
    }
    Ok(())
}

/// For an unprivileged caller (euid not 0), check before anything is made
/// that the config's user namespace mappings are ones it may have written.
pub fn check_mappings(uid: &[IdMapping], gid: &[IdMapping]) -> Result<()> {
    let (euid, egid) = (crate::sys::geteuid(), crate::sys::getegid());
    if euid == 0 {
        return Ok(());
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = user_name(&passwd, euid);
    let read = |kind: IdKind| {
        let text = std::fs::read_to_string(kind.file()).unwrap_or_default();
        sub_ranges(&text, name.as_deref(), euid)
    };
    if !own_id_only(uid, euid) {
        check_owned(IdKind::Uid, uid, euid, name.as_deref(), &read(IdKind::Uid))?;
    }
    if !own_id_only(gid, egid) {
        check_owned(IdKind::Gid, gid, egid, name.as_deref(), &read(IdKind::Gid))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: u32, h: u32, s: u32) -> IdMapping {
        IdMapping {
            container_id: c,
            host_id: h,
            size: s,
        }
    }

    #[test]
    fn modes_like_go_parse_bool() {
        assert_eq!(parse_mode("auto").unwrap(), None);
        assert_eq!(parse_mode("").unwrap(), None);
        assert_eq!(parse_mode("true").unwrap(), Some(true));
        assert_eq!(parse_mode("1").unwrap(), Some(true));
        assert_eq!(parse_mode("False").unwrap(), Some(false));
        let e = parse_mode("yes").unwrap_err().to_string();
        assert!(e.contains("--rootless \"yes\""), "{e}");
    }

    #[test]
    fn initial_namespace_map() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("         0       1000          1\n"));
    }

    #[test]
    fn xdg_like_runc() {
        assert!(honor_xdg_runtime_dir(1000, false, None));
        assert!(!honor_xdg_runtime_dir(0, false, Some("alice")));
        assert!(honor_xdg_runtime_dir(0, true, Some("alice")));
        assert!(honor_xdg_runtime_dir(0, true, None));
        assert!(!honor_xdg_runtime_dir(0, true, Some("root")));
    }

    #[test]
    fn subid_ranges_by_name_or_number() {
        let t = "alice:100000:65536\nbob:200000:10\n1001:300000:5\n";
        assert_eq!(sub_ranges(t, Some("alice"), 1000), [(100000, 65536)]);
        assert_eq!(sub_ranges(t, Some("carol"), 1001), [(300000, 5)]);
        assert!(sub_ranges(t, Some("dave"), 7).is_empty());
        let p = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/a:/bin/sh\n";
        assert_eq!(user_name(p, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name(p, 5), None);
    }

    #[test]
    fn mappings_must_be_owned() {
        let r = [(100000, 65536)];
        let ok = [m(0, 1000, 1), m(1, 100000, 65536)];
        check_owned(IdKind::Uid, &ok, 1000, Some("alice"), &r).unwrap();
        let e = check_owned(IdKind::Uid, &[m(1, 700000, 100)], 1000, Some("alice"), &r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.uidMappings[0]"), "{e}");
        assert!(e.contains("700000-700099"), "{e}");
        let e = check_owned(IdKind::Gid, &[m(0, 5, 1)], 1000, Some("alice"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("linux.gidMappings[0]: no /etc/subgid range for user alice"),
            "{e}"
        );
        assert!(own_id_only(&[m(0, 1000, 1)], 1000));
        assert!(!own_id_only(&[m(0, 1000, 2)], 1000));
    }
}
