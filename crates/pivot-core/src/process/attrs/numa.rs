//! linux.memoryPolicy: the NUMA memory policy (set_mempolicy) of the init
//! and of each process `exec` starts, kept across fork and execve.

use super::fields::{lookup, parse_list, Obj};
use crate::error::{Context, Error, Result};
use crate::spec::types::Linux;
use crate::spec::Plan;
use crate::sys;

pub const MODES: &[(&str, i32)] = &[
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
];

/// Mode flags, OR'ed into the mode argument.
pub const FLAGS: &[(&str, i32)] = &[
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
];

/// Far above any kernel's MAX_NUMNODES (1 << 10); the kernel checks the
/// real limit.
const MAX_NODE: usize = 4095;

struct Policy {
    mode: i32,
    nodes: Vec<u64>,
    shown: String,
}

fn policy(linux: Option<&Linux>) -> Result<Option<Policy>> {
    let Some(v) = linux
        .and_then(|l| l.other.get("memoryPolicy"))
        .filter(|v| !v.is_null())
    else {
        return Ok(None);
    };
    let o = Obj::new("linux.memoryPolicy", v)?;
    let name = o
        .str("mode")?
        .ok_or_else(|| Error::invalid("linux.memoryPolicy.mode: missing"))?;
    let mut mode = lookup(MODES, name, &o.name("mode"), "mode")?;
    let mut shown = vec![name];
    for (i, f) in o.strs("flags")? {
        mode |= lookup(FLAGS, f, &format!("linux.memoryPolicy.flags[{i}]"), "flag")?;
        shown.push(f);
    }
    let both = FLAGS[1].1 | FLAGS[2].1;
    if mode & both == both {
        return Err(Error::invalid(
            "linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other",
        ));
    }
    let text = o.str("nodes")?.unwrap_or("");
    let nodes = parse_list(text, MAX_NODE, &o.name("nodes"))?;
    // What set_mempolicy(2) asks of the nodemask, said before the init
    // is made rather than as a bare EINVAL from it.
    match name {
        "MPOL_DEFAULT" | "MPOL_LOCAL" if !nodes.is_empty() => {
            return Err(Error::invalid(format!(
                "linux.memoryPolicy.nodes: {name} takes no nodes, not {text:?}"
            )))
        }
        "MPOL_BIND" | "MPOL_INTERLEAVE" | "MPOL_WEIGHTED_INTERLEAVE" | "MPOL_PREFERRED_MANY"
            if nodes.is_empty() =>
        {
            return Err(Error::invalid(format!(
                "linux.memoryPolicy.nodes: {name} needs at least one node"
            )))
        }
        _ => {}
    }
    Ok(Some(Policy {
        mode,
        nodes,
        shown: format!("{}, nodes [{text}]", shown.join("|")),
    }))
}

pub fn validate(plan: &Plan) -> Result<()> {
    policy(plan.spec.linux.as_ref()).map(drop)
}

/// For the init and, as runc 1.4 and later, for every process `exec`
/// starts in the container.
pub fn apply(linux: Option<&Linux>) -> Result<()> {
    match policy(linux)? {
        Some(p) => sys::set_mempolicy(p.mode, &p.nodes, &p.shown).ctx("linux.memoryPolicy"),
        None => Ok(()),
    }
}
