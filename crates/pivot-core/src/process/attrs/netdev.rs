//! linux.netDevices: host network interfaces moved into the container's
//! new network namespace, renamed (a `%d` template lets the kernel number
//! the name), brought up, with their permanent global addresses
//! (runtime-spec 1.3, as runc does).
//!
//! The parent does it, between clone3 and letting the init go: it is still
//! in the host's network namespace, where the names are looked up, and the
//! init's namespace exists (clone3 made it). As the runtime-spec says, the
//! devices are not moved back: when the container's namespace goes away
//! the kernel hands physical devices back to the initial namespace (under
//! their container name) and destroys virtual ones (a veth with its peer).
//! A namespace joined by path would outlive the container with the device
//! in it, so pivot requires a new one.

use crate::error::{Context, Error, Problems, Result};
use crate::spec::attrs::NetDevice;
use crate::spec::decode_some;
use crate::spec::{NsKind, Plan};
use crate::sys;
use crate::sys::OFlags;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd};

/// (host name, name in the container), in config order (sorted by key);
/// every problem of every entry kept.
fn devices(plan: &Plan, problems: &mut Problems) -> Vec<(String, String)> {
    const F: &str = "linux.netDevices";
    let v = plan
        .spec
        .linux
        .as_ref()
        .and_then(|l| l.other.get("netDevices"));
    let Some(Some(map)) = problems.take(decode_some::<BTreeMap<String, Value>>(F, v)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (host, dev) in &map {
        let field = format!("{F}[{host:?}]");
        let host_ok = problems.check(check_name(host, false, &field));
        // `{}` or null: keep the host's name.
        let Some(dev) = problems.take(decode_some::<NetDevice>(&field, Some(dev))) else {
            continue;
        };
        let name = match dev.and_then(|d| d.name).filter(|n| !n.is_empty()) {
            Some(n) if !problems.check(check_name(&n, true, &format!("{field}.name"))) => continue,
            Some(n) => n,
            None if !host_ok => continue,
            None => host.clone(),
        };
        if let Some((other, _)) = out.iter().find(|(_, n)| *n == name && !is_template(n)) {
            problems.push(Error::invalid(format!(
                "{field}: name {name:?} is also the name of {F}[{other:?}] in the container"
            )));
            continue;
        }
        out.push((host.clone(), name));
    }
    out
}

/// The kernel's rule for interface names (dev_valid_name); a name in the
/// container may be a template with one `%d` (the kernel numbers it).
fn check_name(name: &str, template: bool, field: &str) -> Result<()> {
    let why = if name.is_empty() {
        "an interface name must not be empty"
    } else if name.len() > 15 {
        "an interface name has at most 15 bytes"
    } else if name == "." || name == ".." {
        "not an interface name"
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
    {
        "an interface name has no '/', ':' or white space"
    } else if name.contains('%')
        && (!template || name.matches('%').count() > 1 || !name.contains("%d"))
    {
        if template {
            "a name template has one %d and no other %"
        } else {
            "a host interface name has no %"
        }
    } else {
        return Ok(());
    };
    Err(Error::invalid(format!("{field}: {name:?}: {why}")))
}

pub fn check(plan: &Plan, problems: &mut Problems) {
    let devs = devices(plan, problems);
    let given = plan
        .spec
        .linux
        .as_ref()
        .and_then(|l| l.other.get("netDevices"))
        .is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty()));
    if !given {
        return;
    }
    let ns = &plan.namespaces;
    if !ns.is_new(NsKind::Net) {
        problems.push(Error::invalid(if ns.has(NsKind::Net) {
            "linux.netDevices: needs a new network namespace; pivot does not move devices into one joined by path (it would outlive the container)"
        } else {
            "linux.netDevices: needs a network namespace (linux.namespaces has no \"network\"); the devices would stay on the host"
        }));
        return;
    }
    if let Some((kind, path)) = ns.join.first() {
        problems.push(Error::unsupported(format!(
            "linux.netDevices: not supported yet together with joining an existing namespace (linux.namespaces {} path {path:?})",
            kind.spec_name()
        )));
        return;
    }
    // The runtime-spec asks the runtime to check the move is possible; the
    // device has to be there now.
    for (host, _) in &devs {
        problems.check(sys::if_nametoindex(host).map(drop).with_ctx(|| {
            format!("linux.netDevices[{host:?}]: no such network interface on the host")
        }));
    }
}

/// In the parent, once clone3 has made the init's network namespace and
/// before the init goes on: move each device in, with its permanent
/// global addresses (the kernel drops addresses on a move; the
/// runtime-spec asks for them to be kept, as runc does).
pub fn move_into(plan: &Plan, pid: i32) -> Result<()> {
    let devs = Problems::first(|pr| devices(plan, pr))?;
    if devs.is_empty() {
        return Ok(());
    }
    // The handle the init's network namespace is reached through
    // (SECURITY.md rule 5).
    let proc = crate::procfs::ProcFs::open()?;
    let netns = sys::openat(proc.dir(), &format!("{pid}/ns/net"), OFlags::RDONLY, 0)
        .ctx("linux.netDevices: the container's network namespace")?;
    let own = sys::openat(proc.dir(), "thread-self/ns/net", OFlags::RDONLY, 0)?;
    let (a, b) = (sys::fstat(netns.as_fd())?, sys::fstat(own.as_fd())?);
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) {
        // Never rename a host interface in place.
        return Err(Error::other(
            "linux.netDevices: the init is still in pivot's network namespace",
        ));
    }
    let host = sys::Rtnl::open()?;
    let inside = rtnl_in(netns.as_fd(), own.as_fd())?;
    // The kernel renames after the move: a name already taken in there
    // would fail with the device moved. Check first, so that a refusal
    // leaves every device on the host. (A `%d` template cannot clash.)
    let taken = inside.links()?;
    for (host_name, name) in &devs {
        if !is_template(name) && taken.iter().any(|(_, n)| n == name) {
            return Err(Error::invalid(format!(
                "linux.netDevices[{host_name:?}]: the name {name:?} is taken in the container's network namespace"
            )));
        }
    }
    for (host_name, name) in &devs {
        let field = || format!("linux.netDevices[{host_name:?}]");
        let index = sys::if_nametoindex(host_name).with_ctx(field)?;
        let addrs = host.addresses(index).with_ctx(field)?;
        let before = inside.links().with_ctx(field)?;
        host.move_link(index, name, netns.as_fd()).with_ctx(field)?;
        // Its index in there: the one link that was not there before (the
        // init waits, nothing else runs in the namespace).
        let moved = inside
            .links()
            .with_ctx(field)?
            .into_iter()
            .find(|(i, _)| !before.iter().any(|(j, _)| i == j))
            .ok_or_else(|| {
                Error::other(format!(
                    "{}: moved, but not found in the container",
                    field()
                ))
            })?;
        for addr in &addrs {
            inside
                .add_address(moved.0, addr)
                .with_ctx(|| format!("{}: keep address {addr}", field()))?;
        }
    }
    Ok(())
}

/// A netlink socket in the container's network namespace: made there, then
/// straight back (the parent is single-threaded; the rest of create runs
/// in the host's namespace).
fn rtnl_in(netns: BorrowedFd<'_>, own: BorrowedFd<'_>) -> Result<sys::Rtnl> {
    sys::setns(netns, libc::CLONE_NEWNET).ctx("linux.netDevices")?;
    let sock = sys::Rtnl::open();
    sys::setns(own, libc::CLONE_NEWNET)
        .ctx("linux.netDevices: back to pivot's network namespace")?;
    sock
}

fn is_template(name: &str) -> bool {
    name.contains('%')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernel() {
        for good in ["eth0", "pivot-t1a", "a.b", &"x".repeat(15)] {
            check_name(good, false, "f").unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", &"x".repeat(16), "e%d"] {
            assert!(check_name(bad, false, "f").is_err(), "{bad:?} accepted");
        }
        check_name("eth%d", true, "f").unwrap();
        for bad in ["eth%", "e%d%d", "e%s"] {
            assert!(check_name(bad, true, "f").is_err(), "{bad:?} accepted");
        }
    }
}
