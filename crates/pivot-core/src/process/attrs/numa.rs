//! linux.memoryPolicy: the NUMA memory policy (set_mempolicy) of the init
//! and of each process `exec` starts, kept across fork and execve.

use super::fields::{lookup, parse_list};
use crate::error::{Context, Error, Problems, Result};
use crate::spec::types::Linux;
use crate::spec::Plan;
use crate::spec::{attrs as spec, decode_some};
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

/// linux.memoryPolicy (None when absent), every problem of it kept.
fn policy(linux: Option<&Linux>, problems: &mut Problems) -> Option<Policy> {
    const F: &str = "linux.memoryPolicy";
    let v = linux.and_then(|l| l.other.get("memoryPolicy"));
    let p: spec::MemoryPolicy = problems.take(decode_some(F, v))??;
    let before = problems.errors().len();
    let name = p.mode.as_deref().unwrap_or_default();
    let mut mode = match p.mode.as_deref() {
        None => problems.take(Err(Error::invalid(format!("{F}.mode: missing")))),
        Some(n) => problems.take(lookup(MODES, n, &format!("{F}.mode"), "mode")),
    };
    let flags = p.flags.unwrap_or_default();
    let mut shown = vec![name];
    let mut bits = 0;
    for (i, f) in flags.iter().enumerate() {
        let field = format!("{F}.flags[{i}]");
        bits |= problems.take(lookup(FLAGS, f, &field, "flag")).unwrap_or(0);
        shown.push(f);
    }
    let both = FLAGS[1].1 | FLAGS[2].1;
    if bits & both == both {
        problems.push(Error::invalid(format!(
            "{F}.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other"
        )));
    }
    let text = p.nodes.as_deref().unwrap_or("");
    let nodes = problems.take(parse_list(text, MAX_NODE, &format!("{F}.nodes")));
    // What set_mempolicy(2) asks of the nodemask, said before the init
    // is made rather than as a bare EINVAL from it.
    let empty = nodes.as_ref().is_some_and(|n| n.is_empty());
    match name {
        "MPOL_DEFAULT" | "MPOL_LOCAL" if nodes.is_some() && !empty => problems.push(
            Error::invalid(format!("{F}.nodes: {name} takes no nodes, not {text:?}")),
        ),
        "MPOL_BIND" | "MPOL_INTERLEAVE" | "MPOL_WEIGHTED_INTERLEAVE" | "MPOL_PREFERRED_MANY"
            if empty =>
        {
            problems.push(Error::invalid(format!(
                "{F}.nodes: {name} needs at least one node"
            )))
        }
        _ => {}
    }
    if problems.since(before) {
        return None;
    }
    mode = mode.map(|m| m | bits);
    Some(Policy {
        mode: mode?,
        nodes: nodes?,
        shown: format!("{}, nodes [{text}]", shown.join("|")),
    })
}

pub fn check(plan: &Plan, problems: &mut Problems) {
    policy(plan.spec.linux.as_ref(), problems);
}

/// For the init and, as runc 1.4 and later, for every process `exec`
/// starts in the container.
pub fn apply(linux: Option<&Linux>) -> Result<()> {
    match Problems::first(|pr| policy(linux, pr))? {
        Some(p) => sys::set_mempolicy(p.mode, &p.nodes, &p.shown).ctx("linux.memoryPolicy"),
        None => Ok(()),
    }
}
