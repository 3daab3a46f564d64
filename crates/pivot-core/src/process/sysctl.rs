//! linux.sysctl: each key checked against the namespaces the container
//! has (as runc does), then written through the runtime's own checked
//! procfs handle, never through the container's /proc (SECURITY.md rule 5).

use crate::error::{Context, Error, Result};
use crate::procfs::ProcFs;
use crate::spec::{Namespaces, NsKind};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The namespace a sysctl belongs to, or None if it is host-global.
fn namespace_of(key: &str) -> Option<NsKind> {
    if IPC_KEYS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(NsKind::Ipc)
    } else if key.starts_with("net.") {
        Some(NsKind::Net)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(NsKind::Uts)
    } else {
        None
    }
}

pub fn validate(sysctl: &BTreeMap<String, String>, ns: &Namespaces) -> Result<()> {
    let mut problems = crate::error::Problems::new();
    check(sysctl, ns, &mut problems);
    problems.into_result()
}

/// Every problem of every key.
pub fn check(
    sysctl: &BTreeMap<String, String>,
    ns: &Namespaces,
    problems: &mut crate::error::Problems,
) {
    for key in sysctl.keys() {
        problems.check(check_key(key, ns));
    }
}

fn check_key(key: &str, ns: &Namespaces) -> Result<()> {
    let field = format!("linux.sysctl[{key:?}]");
    if key.contains("..") || key.starts_with('/') || key.starts_with('.') {
        return Err(Error::invalid(format!("{field}: invalid key")));
    }
    match namespace_of(&key.replace('/', ".")) {
        Some(kind) if ns.has(kind) => {
            if is_callers(ns, kind)? {
                return Err(Error::invalid(format!(
                    "{field}: not allowed in host {} namespace (linux.namespaces joins pivot's own)",
                    kind.spec_name()
                )));
            }
        }
        Some(kind) => {
            return Err(Error::invalid(format!(
                "{field}: needs a {} namespace, which the container does not have",
                kind.spec_name()
            )))
        }
        None => {
            return Err(Error::invalid(format!(
                "{field}: not in a namespace the container can have its own of; it would change the host"
            )))
        }
    }
    Ok(())
}

/// Whether the container's namespace of `kind` is pivot's own (the
/// host's, as runc says): joined through a path that names it, however
/// the path is spelt (/proc/self/ns/net, another process's, a bind of
/// it). Decided by identity: a sysctl written there would change the
/// host, whatever the config calls the namespace.
fn is_callers(ns: &Namespaces, kind: NsKind) -> Result<bool> {
    if ns.is_new(kind) {
        return Ok(false);
    }
    let Some((_, path)) = ns.join.iter().find(|(k, _)| *k == kind) else {
        return Ok(true);
    };
    let id = |p: &str| {
        std::fs::metadata(p)
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| Error::io(format!("stat {p}"), e))
    };
    let joined =
        id(path).with_ctx(|| format!("linux.namespaces: {} {path:?}", kind.spec_name()))?;
    Ok(joined == id(&format!("/proc/self/ns/{}", kind.proc_name()))?)
}

/// Write the values; runs in the init, inside the container's namespaces,
/// while the host's procfs is still reachable.
pub fn apply(sysctl: &BTreeMap<String, String>, proc: &ProcFs) -> Result<()> {
    for (key, value) in sysctl {
        let rel = format!("sys/{}", key.replace('.', "/"));
        proc.write(&rel, value)
            .with_ctx(|| format!("linux.sysctl[{key:?}] = {value:?}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_need_their_namespace() {
        let mut ns = Namespaces::default();
        let one = |k: &str| BTreeMap::from([(k.to_string(), "1".to_string())]);
        assert!(validate(&one("net.ipv4.ip_forward"), &ns).is_err());
        ns.new |= NsKind::Net.clone_flag();
        validate(&one("net.ipv4.ip_forward"), &ns).unwrap();
        assert!(validate(&one("kernel.shmmax"), &ns).is_err());
        ns.new |= NsKind::Ipc.clone_flag();
        validate(&one("kernel.shmmax"), &ns).unwrap();
        validate(&one("fs.mqueue.msg_max"), &ns).unwrap();
        let e = validate(&one("kernel.core_pattern"), &ns)
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.sysctl[\"kernel.core_pattern\"]"), "{e}");
        assert!(validate(&one("net/../../x"), &ns).is_err());
    }

    #[test]
    fn keys_refused_in_the_callers_namespaces() {
        let one = |k: &str| BTreeMap::from([(k.to_string(), "1".to_string())]);
        for (kind, key) in [
            (NsKind::Net, "net.ipv4.ip_forward"),
            (NsKind::Uts, "kernel.domainname"),
            (NsKind::Ipc, "kernel.shmmax"),
        ] {
            let mut ns = Namespaces::default();
            ns.join
                .push((kind, format!("/proc/self/ns/{}", kind.proc_name())));
            let e = validate(&one(key), &ns).unwrap_err().to_string();
            assert!(e.contains(&format!("linux.sysctl[{key:?}]")), "{e}");
            assert!(e.contains("not allowed in host"), "{e}");
        }
    }
}
