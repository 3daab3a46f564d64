//! linux.personality: the execution domain (personality(2)), kept across
//! execve. The runtime-spec defines no flags; runc warns and drops any
//! given, pivot refuses them by name rather than run without them.

use super::fields::lookup;
use crate::error::{Context, Error, Problems, Result};
use crate::spec::types::Linux;
use crate::spec::Plan;
use crate::spec::{attrs as spec, decode_some};
use crate::sys;

const DOMAINS: &[(&str, u64)] = &[("LINUX", 0x0000), ("LINUX32", 0x0008)];

/// The persona and its name, if linux.personality is set; every problem
/// of it kept.
fn persona(linux: Option<&Linux>, problems: &mut Problems) -> Option<(u64, String)> {
    const F: &str = "linux.personality";
    let v = linux.and_then(|l| l.other.get("personality"));
    let p: spec::Personality = problems.take(decode_some(F, v))??;
    let domain = match p.domain.as_deref() {
        None => problems.take(Err(Error::invalid(format!("{F}.domain: missing")))),
        Some(n) => problems.take(lookup(DOMAINS, n, &format!("{F}.domain"), "domain")),
    };
    let flags = p.flags.unwrap_or_default();
    for (i, flag) in flags.iter().enumerate() {
        problems.push(Error::unsupported(format!(
            "{F}.flags[{i}]: {flag:?} is not supported (pivot supports no personality flags; the runtime-spec defines none)"
        )));
    }
    if !flags.is_empty() {
        return None;
    }
    Some((domain?, p.domain?))
}

pub fn check(plan: &Plan, problems: &mut Problems) {
    persona(plan.spec.linux.as_ref(), problems);
}

/// For the init and, as runc 1.4 and later, for every process `exec`
/// starts in the container.
pub fn apply(linux: Option<&Linux>) -> Result<()> {
    match Problems::first(|pr| persona(linux, pr))? {
        Some((domain, name)) => {
            sys::personality(domain, &format!("PER_{name}")).ctx("linux.personality")
        }
        None => Ok(()),
    }
}
