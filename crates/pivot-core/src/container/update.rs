//! `update`: change a container's limits (cgroups, Intel RDT).

use super::Runtime;
use crate::cgroups;
use crate::error::{Error, ErrorKind, Result};
use crate::state::{self, StateDir, Status};

impl Runtime {
    /// `update`: merge `patch` (LinuxResources JSON: memory, cpu, pids,
    /// blockIO, ...; each object merged key by key) into the saved
    /// config's linux.resources, check the result, apply it and save it.
    /// Device rules are not updated (as runc). Nothing is written when
    /// the check fails; when the kernel refuses a value midway, the
    /// previous limits are written back.
    pub fn update(&self, id: &str, patch: &serde_json::Value) -> Result<()> {
        use cgroups::resources::{self as res, Apply, Limits};
        let (sd, _lock, mut saved) = StateDir::open_locked(&self.root, id)?;
        if state::status(&sd, &saved) == Status::Stopped {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "cannot update a stopped container",
            ));
        }
        let serde_json::Value::Object(patch) = patch else {
            return Err(Error::invalid(
                "linux.resources: the update must be a JSON object",
            ));
        };
        let mut config = saved.config.clone();
        let linux = config.linux.get_or_insert_with(Default::default);
        let resources = linux.resources.get_or_insert_with(Default::default);
        let old = resources.clone();
        for (k, v) in patch {
            if k == "devices" || v.is_null() {
                continue;
            }
            match (resources.other.get_mut(k), v) {
                (Some(serde_json::Value::Object(cur)), serde_json::Value::Object(new)) => {
                    for (nk, nv) in new {
                        cur.insert(nk.clone(), nv.clone());
                    }
                }
                _ => {
                    resources.other.insert(k.clone(), v.clone());
                }
            }
        }
        // As runc's update: `--memory -1` without a swap value lifts the
        // swap limit too (memory_v1 makes an unset swap -1 then).
        let lifts_memory = patch.get("memory").is_some_and(|m| {
            m.get("limit") == Some(&serde_json::json!(-1)) && m.get("swap").is_none()
        });
        if lifts_memory {
            if let Some(serde_json::Value::Object(m)) = resources.other.get_mut("memory") {
                m.remove("swap");
            }
        }
        let mut limits = Limits::parse(Some(resources))?;
        res::check_host(&limits, &saved.cgroups)?;
        if let Some(u) = &saved.systemd {
            limits = crate::cgroups::systemd::update(u, &limits, &saved.cgroups)?;
        }
        if let Err(e) = res::apply(&limits, &saved.cgroups, Apply::UPDATE) {
            if let Ok(prev) = Limits::parse(Some(&old)) {
                let _ = res::apply(&prev, &saved.cgroups, Apply::UPDATE);
            }
            return Err(e);
        }
        saved.config = config;
        sd.save(&saved)
    }

    /// `update --l3-cache-schema/--mem-bw-schema`: new schemata for the
    /// container's resctrl group; a container created without
    /// linux.intelRdt gets a group of its own first, as runc does.
    pub fn update_intel_rdt(&self, id: &str, l3: Option<&str>, mem_bw: Option<&str>) -> Result<()> {
        use crate::intelrdt;
        let (sd, _lock, mut saved) = StateDir::open_locked(&self.root, id)?;
        if state::status(&sd, &saved) == Status::Stopped {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "cannot update a stopped container",
            ));
        }
        let mut config = saved.config.clone();
        let linux = config.linux.get_or_insert_with(Default::default);
        let cur = linux.other.get("intelRdt").cloned();
        let mut v = match cur {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        if let Some(s) = l3 {
            v.insert("l3CacheSchema".into(), s.into());
        }
        if let Some(s) = mem_bw {
            v.insert("memBwSchema".into(), s.into());
        }
        let v = serde_json::Value::Object(v);
        let rdt = intelrdt::parse(Some(&v))?.unwrap_or_default();
        let root = intelrdt::resctrl_root();
        intelrdt::validate(&rdt, root.as_deref())?;
        let root = root.unwrap_or_default();
        let group = match &saved.intel_rdt {
            Some(g) => {
                intelrdt::set_schemata(g, &rdt)?;
                g.clone()
            }
            None => intelrdt::setup(&rdt, &root, id, saved.pid)?,
        };
        linux.other.insert("intelRdt".into(), v);
        saved.intel_rdt = Some(group);
        saved.config = config;
        sd.save(&saved)
    }
}
