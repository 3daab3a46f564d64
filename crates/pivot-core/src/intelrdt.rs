//! linux.intelRdt: the container's resctrl group (Intel RDT, AMD PQoS),
//! as runc makes it.
//!
//! - The group is `<resctrl>/<closID>`, or `<resctrl>/<container id>`
//!   without a closID. An existing group is joined and, if the config gave
//!   it by closID, left in place on delete (it is managed by someone
//!   else); a group pivot made is removed on delete.
//! - `l3CacheSchema`, `memBwSchema` and the `schemata` lines are written to
//!   the group's `schemata` file, in that order.
//! - `enableMonitoring` adds a monitoring group `mon_groups/<container id>`
//!   under it.
//! - The init joins after it is set up and before `start` (its pid is
//!   written to `tasks`, and to the monitoring group's); an `exec`'d
//!   process right after it starts (what it forks in its first moments
//!   stays in the group pivot itself runs in).
//!
//! Requests the host cannot honour are refused before anything is made:
//! no resctrl mounted, a schema for a resource the hardware lacks (no
//! `info/L3` for L3 CAT, no `info/MB` for MBA), or monitoring without
//! `info/L3_MON`.

use crate::error::{Context as _, Error, Result};
use crate::sys;
use crate::sys::OFlags;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

const RDTGROUP_SUPER_MAGIC: i64 = 0x0765_5821;

/// What linux.intelRdt asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IntelRdt {
    pub clos_id: Option<String>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    pub schemata: Vec<String>,
    pub enable_monitoring: bool,
    pub enable_cmt: bool,
    pub enable_mbm: bool,
}

/// A resctrl group the container is in (kept in its state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub path: PathBuf,
    /// pivot made it, so delete removes it.
    pub created: bool,
    /// The monitoring group, if `enableMonitoring`.
    #[serde(default)]
    pub monitor: Option<PathBuf>,
}

/// Parse linux.intelRdt (None when absent or null); errors name the field.
pub fn parse(v: Option<&Value>) -> Result<Option<IntelRdt>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let raw: crate::spec::attrs::IntelRdt = crate::spec::decode("linux.intelRdt", v)?;
    // An empty string is no value, as runc reads them.
    let string = |s: Option<String>| s.filter(|s| !s.is_empty());
    let rdt = IntelRdt {
        clos_id: string(raw.clos_id),
        l3_cache_schema: string(raw.l3_cache_schema),
        mem_bw_schema: string(raw.mem_bw_schema),
        schemata: raw.schemata.unwrap_or_default(),
        enable_monitoring: raw.enable_monitoring.unwrap_or(false),
        enable_cmt: raw.enable_cmt.unwrap_or(false),
        enable_mbm: raw.enable_mbm.unwrap_or(false),
    };
    if let Some(c) = &rdt.clos_id {
        if c == "." || c == ".." || c.contains('/') || c.contains('\n') {
            return Err(Error::invalid(format!(
                "linux.intelRdt.closID: {c:?} is not a valid resctrl group name"
            )));
        }
    }
    for (i, l) in rdt.schemata.iter().enumerate() {
        if l.contains('\n') {
            return Err(Error::invalid(format!(
                "linux.intelRdt.schemata[{i}]: one line each"
            )));
        }
    }
    for (k, v) in [
        ("l3CacheSchema", &rdt.l3_cache_schema),
        ("memBwSchema", &rdt.mem_bw_schema),
    ] {
        if v.as_deref().is_some_and(|s| s.contains('\n')) {
            return Err(Error::invalid(format!(
                "linux.intelRdt.{k}: one line (put more in linux.intelRdt.schemata)"
            )));
        }
    }
    Ok(Some(rdt))
}

/// Where resctrl is mounted on this host: /sys/fs/resctrl if it is there.
pub fn resctrl_root() -> Option<PathBuf> {
    let fd = sys::openat(
        sys::cwd(),
        "/sys/fs/resctrl",
        OFlags::PATH | OFlags::DIRECTORY,
        0,
    )
    .ok()?;
    let st = sys::fstatfs(fd.as_fd()).ok()?;
    (st.f_type as i64 == RDTGROUP_SUPER_MAGIC).then(|| PathBuf::from("/sys/fs/resctrl"))
}

/// Refuse what the host cannot do, before anything is made.
pub fn validate(rdt: &IntelRdt, root: Option<&Path>) -> Result<()> {
    let Some(root) = root else {
        return Err(Error::unsupported(
            "linux.intelRdt: Intel RDT is not available: resctrl is not mounted at /sys/fs/resctrl",
        ));
    };
    let has = |p: &str| root.join(p).exists();
    if rdt.l3_cache_schema.is_some() && !(has("info/L3") || has("info/L3CODE")) {
        return Err(Error::unsupported(
            "linux.intelRdt.l3CacheSchema: L3 cache allocation (CAT) is not enabled on this host (no info/L3 in resctrl)",
        ));
    }
    if rdt.mem_bw_schema.is_some() && !has("info/MB") {
        return Err(Error::unsupported(
            "linux.intelRdt.memBwSchema: memory bandwidth allocation (MBA) is not enabled on this host (no info/MB in resctrl)",
        ));
    }
    let mon_features = std::fs::read_to_string(root.join("info/L3_MON/mon_features"));
    let mon = mon_features.as_deref().unwrap_or("");
    if rdt.enable_monitoring && mon_features.is_err() {
        return Err(Error::unsupported(
            "linux.intelRdt.enableMonitoring: resource monitoring is not enabled on this host (no info/L3_MON in resctrl)",
        ));
    }
    if rdt.enable_cmt && !mon.lines().any(|l| l == "llc_occupancy") {
        return Err(Error::unsupported(
            "linux.intelRdt.enableCMT: cache monitoring (llc_occupancy) is not enabled on this host",
        ));
    }
    if rdt.enable_mbm && !mon.lines().any(|l| l == "mbm_total_bytes") {
        return Err(Error::unsupported(
            "linux.intelRdt.enableMBM: memory bandwidth monitoring (mbm_total_bytes) is not enabled on this host",
        ));
    }
    Ok(())
}

/// The `schemata` file's content: every line the config gives, in order.
pub fn schemata(rdt: &IntelRdt) -> Option<String> {
    let lines: Vec<&str> = rdt
        .l3_cache_schema
        .iter()
        .chain(rdt.mem_bw_schema.iter())
        .chain(rdt.schemata.iter())
        .map(String::as_str)
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n") + "\n")
}

/// Make (or find) the container's group, write its schemata and put `pid`
/// in it. On error, what was made here is removed again.
pub fn setup(rdt: &IntelRdt, root: &Path, id: &str, pid: i32) -> Result<Group> {
    let path = root.join(rdt.clos_id.as_deref().unwrap_or(id));
    let created = match std::fs::create_dir(&path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            return Err(Error::io(format!("mkdir {}", path.display()), e)).ctx("linux.intelRdt")
        }
    };
    let mut group = Group {
        path,
        created,
        monitor: None,
    };
    match fill(rdt, &mut group, id, pid) {
        Ok(()) => Ok(group),
        Err(e) => {
            let _ = remove(&group);
            Err(e)
        }
    }
}

/// Write the group's schemata (`update`).
pub fn set_schemata(group: &Group, rdt: &IntelRdt) -> Result<()> {
    match schemata(rdt) {
        Some(text) => write(&group.path.join("schemata"), &text).ctx("linux.intelRdt: schemata"),
        None => Ok(()),
    }
}

fn fill(rdt: &IntelRdt, group: &mut Group, id: &str, pid: i32) -> Result<()> {
    set_schemata(group, rdt)?;
    write(&group.path.join("tasks"), &pid.to_string()).ctx("linux.intelRdt")?;
    if rdt.enable_monitoring {
        let mon = group.path.join("mon_groups").join(id);
        match std::fs::create_dir(&mon) {
            Ok(()) => group.monitor = Some(mon.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::io(format!("mkdir {}", mon.display()), e))
                    .ctx("linux.intelRdt.enableMonitoring")
            }
        }
        write(&mon.join("tasks"), &pid.to_string()).ctx("linux.intelRdt.enableMonitoring")?;
    }
    Ok(())
}

/// Put another process (an `exec`) in the container's group.
pub fn join(group: &Group, pid: i32) -> Result<()> {
    write(&group.path.join("tasks"), &pid.to_string()).ctx("linux.intelRdt")?;
    if let Some(mon) = &group.monitor {
        write(&mon.join("tasks"), &pid.to_string()).ctx("linux.intelRdt.enableMonitoring")?;
    }
    Ok(())
}

/// Remove the monitoring group and, if pivot made it, the group.
pub fn remove(group: &Group) -> Result<()> {
    let rmdir = |p: &Path| match std::fs::remove_dir(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(format!("rmdir {}", p.display()), e))
        }
        _ => Ok(()),
    };
    if let Some(mon) = &group.monitor {
        rmdir(mon)?;
    }
    if group.created {
        rmdir(&group.path)?;
    }
    Ok(())
}

/// A write to an existing resctrl file (never created: in resctrl the
/// kernel makes them with the group).
fn write(path: &Path, text: &str) -> Result<()> {
    let fd = sys::openat(
        sys::cwd(),
        &path.to_string_lossy(),
        OFlags::WRONLY | OFlags::NOFOLLOW,
        0,
    )?;
    let n = sys::write(fd.as_fd(), text.as_bytes())?;
    if n != text.len() {
        return Err(Error::other(format!(
            "short write to {}: {n} of {} bytes",
            path.display(),
            text.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
// Host paths are meant here: a scratch dir standing in for resctrl.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A scratch directory, removed when dropped (also when a test fails).
    struct Scratch(PathBuf);

    impl std::ops::Deref for Scratch {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("pivot-rdt-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    /// A directory laid out like resctrl with the given info entries.
    fn fake_resctrl(name: &str, info: &[&str], mon: &str) -> Scratch {
        let d = scratch(name);
        for i in info {
            std::fs::create_dir_all(d.join("info").join(i)).unwrap();
        }
        if !mon.is_empty() {
            std::fs::write(d.join("info/L3_MON/mon_features"), mon).unwrap();
        }
        d
    }

    fn rdt(v: Value) -> IntelRdt {
        parse(Some(&v)).unwrap().unwrap()
    }

    #[test]
    fn parses_fields_and_refuses_bad_ones() {
        assert_eq!(parse(None).unwrap(), None);
        assert_eq!(parse(Some(&Value::Null)).unwrap(), None);
        let r = rdt(
            json!({"closID": "g1", "l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=50",
                           "schemata": ["L2:0=3"], "enableMonitoring": true}),
        );
        assert_eq!(r.clos_id.as_deref(), Some("g1"));
        assert_eq!(schemata(&r).unwrap(), "L3:0=f\nMB:0=50\nL2:0=3\n");
        assert!(r.enable_monitoring && !r.enable_cmt);
        for (bad, field) in [
            (json!({"closID": "../x"}), "linux.intelRdt.closID"),
            (json!({"closID": ".."}), "linux.intelRdt.closID"),
            (json!({"closID": 3}), "linux.intelRdt.closID"),
            (json!({"schemata": "L3:0=f"}), "linux.intelRdt.schemata"),
            (json!({"schemata": ["a\nb"]}), "linux.intelRdt.schemata[0]"),
            (json!({"enableCMT": "yes"}), "linux.intelRdt.enableCMT"),
            (json!("x"), "linux.intelRdt"),
        ] {
            let e = parse(Some(&bad)).unwrap_err().to_string();
            assert!(e.contains(field), "{bad}: {e}");
        }
        assert_eq!(schemata(&rdt(json!({}))), None);
    }

    #[test]
    fn validate_follows_what_the_host_has() {
        let r = rdt(json!({"l3CacheSchema": "L3:0=f"}));
        let e = validate(&r, None).unwrap_err().to_string();
        assert!(e.contains("resctrl is not mounted"), "{e}");
        let none = fake_resctrl("none", &[], "");
        let e = validate(&r, Some(&none)).unwrap_err().to_string();
        assert!(e.contains("linux.intelRdt.l3CacheSchema"), "{e}");
        let cat = fake_resctrl("cat", &["L3"], "");
        validate(&r, Some(&cat)).unwrap();
        let mb = rdt(json!({"memBwSchema": "MB:0=20"}));
        assert!(validate(&mb, Some(&cat))
            .unwrap_err()
            .to_string()
            .contains("linux.intelRdt.memBwSchema"));
        let mon = rdt(json!({"enableMonitoring": true, "enableCMT": true, "enableMBM": true}));
        assert!(validate(&mon, Some(&cat))
            .unwrap_err()
            .to_string()
            .contains("enableMonitoring"));
        let all = fake_resctrl("all", &["L3", "MB", "L3_MON"], "llc_occupancy\n");
        let e = validate(&mon, Some(&all)).unwrap_err().to_string();
        assert!(e.contains("linux.intelRdt.enableMBM"), "{e}");
        let full = fake_resctrl(
            "full",
            &["L3", "MB", "L3_MON"],
            "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n",
        );
        validate(&mon, Some(&full)).unwrap();
        validate(&mb, Some(&full)).unwrap();
    }

    #[test]
    fn existing_clos_group_is_joined_and_kept() {
        let root = fake_resctrl("join", &["L3"], "");
        let g = root.join("shared");
        std::fs::create_dir(&g).unwrap();
        std::fs::write(g.join("schemata"), "").unwrap();
        std::fs::write(g.join("tasks"), "").unwrap();
        let r = rdt(json!({"closID": "shared", "l3CacheSchema": "L3:0=3"}));
        let group = setup(&r, &root, "ctr", 4242).unwrap();
        assert_eq!(
            group,
            Group {
                path: g.clone(),
                created: false,
                monitor: None
            }
        );
        assert_eq!(
            std::fs::read_to_string(g.join("schemata")).unwrap(),
            "L3:0=3\n"
        );
        assert_eq!(std::fs::read_to_string(g.join("tasks")).unwrap(), "4242");
        // (A plain file keeps what was there; resctrl's tasks file does not.)
        std::fs::write(g.join("tasks"), "").unwrap();
        join(&group, 77).unwrap();
        assert_eq!(std::fs::read_to_string(g.join("tasks")).unwrap(), "77");
        remove(&group).unwrap();
        assert!(
            g.exists(),
            "a group named by closID is not pivot's to remove"
        );
    }

    #[test]
    fn failed_setup_removes_the_group_it_made() {
        // A plain directory has no kernel-made `tasks` in a new group: the
        // write fails, and the group pivot made must be gone again.
        let root = fake_resctrl("fail", &["L3"], "");
        let r = rdt(json!({}));
        let e = setup(&r, &root, "ctr", 1).unwrap_err().to_string();
        assert!(e.contains("linux.intelRdt"), "{e}");
        assert!(!root.join("ctr").exists());
    }
}
