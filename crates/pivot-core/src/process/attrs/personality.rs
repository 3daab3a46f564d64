//! linux.personality: the execution domain (personality(2)), kept across
//! execve. The runtime-spec defines no flags; runc warns and drops any
//! given, pivot refuses them by name rather than run without them.

use super::fields::{lookup, Obj};
use crate::error::{Context, Error, Result};
use crate::spec::types::Linux;
use crate::spec::Plan;
use crate::sys;

const DOMAINS: &[(&str, u64)] = &[("LINUX", 0x0000), ("LINUX32", 0x0008)];

/// The persona and its name, if linux.personality is set.
fn persona(linux: Option<&Linux>) -> Result<Option<(u64, &str)>> {
    let Some(v) = linux
        .and_then(|l| l.other.get("personality"))
        .filter(|v| !v.is_null())
    else {
        return Ok(None);
    };
    let o = Obj::new("linux.personality", v)?;
    let name = o
        .str("domain")?
        .ok_or_else(|| Error::invalid("linux.personality.domain: missing"))?;
    let domain = lookup(DOMAINS, name, &o.name("domain"), "domain")?;
    if let Some((i, flag)) = o.strs("flags")?.first() {
        return Err(Error::unsupported(format!(
            "linux.personality.flags[{i}]: {flag:?} is not supported (pivot supports no personality flags; the runtime-spec defines none)"
        )));
    }
    Ok(Some((domain, name)))
}

pub fn validate(plan: &Plan) -> Result<()> {
    persona(plan.spec.linux.as_ref()).map(drop)
}

/// For the init and, as runc 1.4 and later, for every process `exec`
/// starts in the container.
pub fn apply(linux: Option<&Linux>) -> Result<()> {
    match persona(linux)? {
        Some((domain, name)) => {
            sys::personality(domain, &format!("PER_{name}")).ctx("linux.personality")
        }
        None => Ok(()),
    }
}
