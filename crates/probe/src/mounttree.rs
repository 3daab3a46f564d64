//! `root-chain`: the mounts below the process's root, which mountinfo
//! cannot show (it lists only what the root reaches). From the root
//! mount (statx STATX_MNT_ID_UNIQUE on "/") statmount(2) walks up the
//! parents to the mount namespace's root (its own parent), and
//! listmount(2) lists every mount below those ancestors that is not
//! the root mount or under it. Needs Linux 6.8 and CAP_SYS_ADMIN for
//! mounts the root does not reach.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::error::{Context, ProbeError, Result};

const SYS_STATMOUNT: libc::c_long = 457;
const SYS_LISTMOUNT: libc::c_long = 458;
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;
const STATMOUNT_SB_BASIC: u64 = 0x1;
const STATMOUNT_MNT_BASIC: u64 = 0x2;
const STATMOUNT_MNT_ROOT: u64 = 0x8;
const STATMOUNT_MNT_POINT: u64 = 0x10;
const STATMOUNT_FS_TYPE: u64 = 0x20;
/// struct mnt_id_req's first version: size, spare, mnt_id, param.
const MNT_ID_REQ_SIZE_VER0: u32 = 24;

#[repr(C)]
struct MntIdReq {
    size: u32,
    spare: u32,
    mnt_id: u64,
    param: u64,
}

/// The fixed head of struct statmount (linux/mount.h), as far as it is
/// read here; the strings follow at `str` (offset 512 in every version).
/// Every field is there for the layout; a few are read.
#[allow(dead_code)]
#[repr(C)]
struct StatmountHead {
    size: u32,
    mnt_opts: u32,
    mask: u64,
    sb_dev_major: u32,
    sb_dev_minor: u32,
    sb_magic: u64,
    sb_flags: u32,
    fs_type: u32,
    mnt_id: u64,
    mnt_parent_id: u64,
    mnt_id_old: u32,
    mnt_parent_id_old: u32,
    mnt_attr: u64,
    mnt_propagation: u64,
    mnt_peer_group: u64,
    mnt_master: u64,
    propagate_from: u64,
    mnt_root: u32,
    mnt_point: u32,
}

/// Where struct statmount's strings start.
const STR_OFFSET: usize = 512;

/// One mount as statmount tells it.
struct Mount {
    id: u64,
    parent: u64,
    id_old: u32,
    fs_type: String,
    root: String,
    /// None where the process's root does not reach it.
    mount_point: Option<String>,
}

impl Mount {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "parent": self.parent,
            "mountinfo_id": self.id_old,
            "fs_type": self.fs_type,
            "root": self.root,
            "mount_point": self.mount_point,
        })
    }
}

fn root_mount_id() -> Result<u64> {
    // SAFETY: statx is plain data, valid all zero.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a writable statx for the call.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c"/".as_ptr(),
            0,
            STATX_MNT_ID_UNIQUE,
            &mut st,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("statx /");
    }
    if st.stx_mask & STATX_MNT_ID_UNIQUE == 0 {
        return Err(ProbeError::new(
            "statx /: no STATX_MNT_ID_UNIQUE (Linux 6.8 or later is needed)",
        ));
    }
    Ok(st.stx_mnt_id)
}

fn statmount(id: u64) -> Result<Mount> {
    let req = MntIdReq {
        size: MNT_ID_REQ_SIZE_VER0,
        spare: 0,
        mnt_id: id,
        param: STATMOUNT_SB_BASIC
            | STATMOUNT_MNT_BASIC
            | STATMOUNT_MNT_ROOT
            | STATMOUNT_MNT_POINT
            | STATMOUNT_FS_TYPE,
    };
    // u64s keep the buffer aligned for the head.
    let mut buf = vec![0u64; 8192];
    let len = buf.len() * 8;
    // SAFETY: req is a valid mnt_id_req; buf is writable for len bytes.
    let rc = unsafe {
        libc::syscall(
            SYS_STATMOUNT,
            &req as *const MntIdReq,
            buf.as_mut_ptr(),
            len,
            0,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context(format!("statmount {id}"));
    }
    // SAFETY: the kernel filled at least the head; the buffer is aligned.
    let head = unsafe { &*(buf.as_ptr() as *const StatmountHead) };
    // SAFETY: the buffer is len bytes of initialised memory.
    let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr() as *const u8, len) };
    let text = |off: u32| -> String {
        let s = &bytes[(STR_OFFSET + off as usize).min(len)..];
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        String::from_utf8_lossy(&s[..end]).into_owned()
    };
    Ok(Mount {
        id: head.mnt_id,
        parent: head.mnt_parent_id,
        id_old: head.mnt_id_old,
        fs_type: text(head.fs_type),
        root: text(head.mnt_root),
        // Unreachable: not in the mask (newer kernels) or empty (6.12).
        mount_point: Some(text(head.mnt_point))
            .filter(|p| head.mask & STATMOUNT_MNT_POINT != 0 && !p.is_empty()),
    })
}

/// The mounts listmount gives below `id` (its children, or on newer
/// kernels its whole subtree).
fn listmount(id: u64) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let mut last = 0;
    loop {
        let req = MntIdReq {
            size: MNT_ID_REQ_SIZE_VER0,
            spare: 0,
            mnt_id: id,
            param: last,
        };
        let mut ids = [0u64; 256];
        // SAFETY: req is valid; ids is writable for its length.
        let n = unsafe {
            libc::syscall(
                SYS_LISTMOUNT,
                &req as *const MntIdReq,
                ids.as_mut_ptr(),
                ids.len(),
                0,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context(format!("listmount {id}"));
        }
        let got = &ids[..n as usize];
        out.extend_from_slice(got);
        match got.last() {
            Some(l) if got.len() == ids.len() => last = *l,
            _ => return Ok(out),
        }
    }
}

/// The `root-chain` subcommand: {"chain": [root mount, its parent, ...,
/// the namespace's root], "below": [every mount under the chain's
/// ancestors that is not the root mount or under it]}.
pub fn root_chain() -> Result<Value> {
    let root = statmount(root_mount_id()?)?;
    let mut chain = vec![root];
    while let Some(last) = chain.last().filter(|m| m.parent != m.id) {
        if chain.len() > 64 {
            return Err(ProbeError::new("root-chain: more than 64 parents"));
        }
        let parent = statmount(last.parent)?;
        chain.push(parent);
    }
    let root_id = chain[0].id;
    let mut seen: BTreeMap<u64, Mount> = BTreeMap::new();
    let mut todo: Vec<u64> = chain[1..].iter().map(|m| m.id).collect();
    let chain_ids: BTreeSet<u64> = chain.iter().map(|m| m.id).collect();
    while let Some(id) = todo.pop() {
        for child in listmount(id)? {
            if child == root_id || chain_ids.contains(&child) || seen.contains_key(&child) {
                continue;
            }
            let m = statmount(child)?;
            seen.insert(child, m);
            todo.push(child);
        }
    }
    // Leave out the root mount's subtree: what mountinfo shows already.
    let under_root = |m: &Mount| {
        let mut p = m.parent;
        for _ in 0..256 {
            if p == root_id {
                return true;
            }
            match seen.get(&p) {
                Some(pm) if pm.parent != p => p = pm.parent,
                _ => return false,
            }
        }
        false
    };
    let below: Vec<Value> = seen
        .values()
        .filter(|m| !under_root(m))
        .map(Mount::to_json)
        .collect();
    Ok(json!({
        "chain": chain.iter().map(Mount::to_json).collect::<Vec<_>>(),
        "below": below,
    }))
}
