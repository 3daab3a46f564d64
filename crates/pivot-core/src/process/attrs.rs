//! The rest of the spec's process and linux fields: checked by the parent
//! before anything is made, applied by the init to itself (or, for network
//! devices, by the parent to the init's namespace).
//!
//! | field                   | where                | how                             |
//! |-------------------------|----------------------|---------------------------------|
//! | (CPU affinity)          | init; exec without   | reset to all, as runc does      |
//! |                         | execCPUAffinity      |                                 |
//! | process.scheduler       | init                 | sched_setattr                   |
//! | process.ioPriority      | init                 | ioprio_set                      |
//! | process.execCPUAffinity | checked; exec only   | sched_setaffinity (spec: not    |
//! |                         |                      | for the init)                   |
//! | linux.memoryPolicy      | init, exec           | set_mempolicy                   |
//! | linux.personality       | init, exec           | personality; flags refused      |
//! | process.apparmorProfile | init, if enabled     | attr/apparmor/exec              |
//! | process.selinuxLabel    | init, if enabled     | attr/exec                       |
//! | linux.mountLabel        | refused (not yet)    |                                 |
//! | linux.intelRdt          | checked; parent      | resctrl group (intelrdt.rs)     |
//! | linux.netDevices        | parent, after clone3 | RTM_SETLINK, RTM_NEWADDR        |
//!
//! `validate_exec`, `exec_cpu_affinity` and `apply_exec` are the same for a
//! process `pivot exec` starts.

mod fields;
mod lsm;
mod netdev;
mod numa;
mod personality;
mod sched;

use crate::error::Result;
use crate::spec::types::{Linux, Process};
use crate::spec::Plan;

/// Check these fields while nothing has been made yet (parent, before
/// create reserves anything); errors name the field.
pub fn validate(plan: &Plan) -> Result<()> {
    let mut problems = crate::error::Problems::new();
    check(plan, &mut problems);
    problems.into_result()
}

/// The same, every field's problem kept.
pub fn check(plan: &Plan, problems: &mut crate::error::Problems) {
    sched::check(&plan.process, problems);
    problems.check(lsm::validate(plan));
    numa::check(plan, problems);
    personality::check(plan, problems);
    problems.check(intel_rdt(plan));
    netdev::check(plan, problems);
}

/// Apply them in the init, in the container's namespaces, after the root
/// switch and rlimits, before no_new_privs, seccomp, the user switch and
/// the capabilities (sched_setattr, ioprio_set and the LSM attrs may need
/// privileges the process gives up there).
pub fn apply(plan: &Plan, proc: Option<&crate::procfs::ProcFs>) -> Result<()> {
    sched::apply_init(&plan.process)?;
    let linux = plan.spec.linux.as_ref();
    numa::apply(linux)?;
    personality::apply(linux)?;
    lsm::apply(&plan.process, proc)
}

/// The process fields of a process `pivot exec` starts (process.json or
/// the container's), checked before it is started.
pub fn validate_exec(p: &Process) -> Result<()> {
    sched::validate(p)?;
    lsm::validate_process(p)
}

/// For a process `pivot exec` starts (runc does the same for `exec`):
/// process.execCPUAffinity's `initial` before it joins the container's
/// cgroups (`final_` false) and `final` after (`final_` true).
pub fn exec_cpu_affinity(p: &Process, final_: bool) -> Result<()> {
    sched::set_exec_affinity(p, final_)
}

/// For a process `pivot exec` starts, inside the container before its
/// user switch: its scheduler, I/O priority and LSM labels, and the
/// container's memory policy and personality (`linux`), as runc 1.4 and
/// later give them to exec'd processes too.
pub fn apply_exec(p: &Process, linux: Option<&Linux>) -> Result<()> {
    sched::apply(p)?;
    numa::apply(linux)?;
    personality::apply(linux)?;
    lsm::apply(p, None)
}

/// In the parent, between clone3 and letting the init go on.
pub fn move_net_devices(plan: &Plan, pid: i32) -> Result<()> {
    netdev::move_into(plan, pid)
}

/// The memory policy modes and flags pivot knows, for `pivot features`.
pub fn memory_policy_names() -> (Vec<&'static str>, Vec<&'static str>) {
    let names = |t: &[(&'static str, i32)]| t.iter().map(|(n, _)| *n).collect();
    (names(numa::MODES), names(numa::FLAGS))
}

/// linux.intelRdt: never ignored; refused before anything is made when
/// the host cannot honour it (intelrdt.rs). The group itself is made by
/// the parent once the init exists.
fn intel_rdt(plan: &Plan) -> Result<()> {
    let v = plan
        .spec
        .linux
        .as_ref()
        .and_then(|l| l.other.get("intelRdt"));
    match crate::intelrdt::parse(v)? {
        Some(rdt) => crate::intelrdt::validate(&rdt, crate::intelrdt::resctrl_root().as_deref()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::default::default_spec;
    use serde_json::{json, Value};
    use std::path::Path;

    fn plan_with(key: &str, v: Value) -> Plan {
        let mut s = default_spec();
        s.linux.as_mut().unwrap().other.insert(key.into(), v);
        crate::spec::build_plan("c1", Path::new("/b"), s).unwrap()
    }

    fn err(key: &str, v: Value) -> String {
        validate(&plan_with(key, v)).unwrap_err().to_string()
    }

    #[test]
    fn memory_policy() {
        validate(&plan_with(
            "memoryPolicy",
            json!({"mode": "MPOL_BIND", "nodes": "0"}),
        ))
        .unwrap();
        validate(&plan_with("memoryPolicy", json!({"mode": "MPOL_LOCAL"}))).unwrap();
        let cases = [
            (
                json!({"mode": "MPOL_NOPE", "nodes": "0"}),
                "linux.memoryPolicy.mode",
            ),
            (json!({"nodes": "0"}), "linux.memoryPolicy.mode: missing"),
            (json!({"mode": "MPOL_BIND"}), "linux.memoryPolicy.nodes"),
            (
                json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                json!({"mode": "MPOL_BIND", "nodes": "0-"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_X"]}),
                "linux.memoryPolicy.flags[0]",
            ),
            (
                json!({"mode": "MPOL_BIND", "nodes": "0",
                       "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
                "linux.memoryPolicy.flags",
            ),
        ];
        for (v, want) in cases {
            let e = err("memoryPolicy", v.clone());
            assert!(e.starts_with(want), "{v}: {e}");
        }
    }

    #[test]
    fn personality() {
        validate(&plan_with("personality", json!({"domain": "LINUX32"}))).unwrap();
        let e = err("personality", json!({"domain": "LINUX64"}));
        assert!(e.starts_with("linux.personality.domain"), "{e}");
        let e = err(
            "personality",
            json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
        );
        assert!(e.starts_with("linux.personality.flags[0]"), "{e}");
        assert!(e.contains("ADDR_NO_RANDOMIZE"), "{e}");
    }

    #[test]
    fn net_devices_need_a_new_network_namespace() {
        let e = err("netDevices", json!({"pivot-nope0": {"name": "a/b"}}));
        assert!(
            e.starts_with("linux.netDevices[\"pivot-nope0\"].name"),
            "{e}"
        );
        let e = err("netDevices", json!({"pivot-nope0": {}}));
        assert!(e.contains("no such network interface"), "{e}");
        let e = err(
            "netDevices",
            json!({"pivot-nope0": {"name": "x"}, "pivot-nope1": {"name": "x"}}),
        );
        assert!(e.starts_with("linux.netDevices[\"pivot-nope1\"]"), "{e}");
        let mut s = default_spec();
        let l = s.linux.as_mut().unwrap();
        l.namespaces.retain(|n| n.kind != "network");
        l.other
            .insert("netDevices".into(), json!({"pivot-nope0": {}}));
        let p = crate::spec::build_plan("c1", Path::new("/b"), s).unwrap();
        let e = validate(&p).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.netDevices: needs a network namespace"),
            "{e}"
        );
    }
}
