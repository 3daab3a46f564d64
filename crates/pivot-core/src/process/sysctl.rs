//! linux.sysctl: each key checked against the namespaces the container
//! has (as runc does), then written through the runtime's own checked
//! procfs handle, never through the container's /proc (SECURITY.md rule 5).

use super::procfs::ProcFs;
use crate::error::{Context, Error, Result};
use crate::spec::{Namespaces, NsKind};
use std::collections::BTreeMap;

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
    for key in sysctl.keys() {
        let field = format!("linux.sysctl[{key:?}]");
        if key.contains("..") || key.starts_with('/') || key.starts_with('.') {
            return Err(Error::invalid(format!("{field}: invalid key")));
        }
        match namespace_of(&key.replace('/', ".")) {
            Some(kind) if ns.has(kind) => {}
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
    }
    Ok(())
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
}
