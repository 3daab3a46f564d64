//! User namespaces for idmapped mounts: a short-lived child gets a new
//! user namespace with the mount's mappings; its namespace fd is what
//! mount_setattr(MOUNT_ATTR_IDMAP) takes. Made by the parent, where the
//! host's /proc names the child by the pid clone3 returned.

use super::channel::Channel;
use crate::error::{Context, Result};
use crate::procfs::ProcFs;
use crate::spec::types::IdMapping;
use crate::sys::{self, Forked};
use std::os::fd::OwnedFd;

fn map_text(maps: &[IdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

pub fn userns_fd(uid: &[IdMapping], gid: &[IdMapping]) -> Result<OwnedFd> {
    let (keep, child_end) = Channel::pair()?;
    match sys::clone3(libc::CLONE_NEWUSER as u64, None)? {
        Forked::Child => {
            drop(keep);
            // Wait for the parent to take the namespace, then go.
            let _ = child_end.recv();
            sys::exit_now(0)
        }
        Forked::Parent { pid, .. } => {
            drop(child_end);
            let r = (|| {
                let proc = ProcFs::open()?;
                proc.write(&format!("{pid}/uid_map"), &map_text(uid))
                    .ctx("uidMappings")?;
                proc.write(&format!("{pid}/gid_map"), &map_text(gid))
                    .ctx("gidMappings")?;
                sys::openat(
                    sys::cwd(),
                    &format!("/proc/{pid}/ns/user"),
                    libc::O_RDONLY,
                    0,
                )
            })();
            drop(keep);
            let _ = sys::waitpid(pid, 0);
            r
        }
    }
}
