//! The cache of compiled filters: `<root>/pivot@seccomp/<key>.bpf` ('@' is
//! not in any container ID, so `list` never sees it), where the key is the
//! SHA-256 of everything that shapes the program: the profile as pivot
//! received it (serialized back, so its layout does not matter but every
//! value does), the machine's architecture, libseccomp's version and API
//! level, the kernel's release, and pivot's version and the source of
//! this module. Two profiles that differ in anything share no entry; a
//! container's input only ever selects the entry of its own profile.
//!
//! The directory has the state's protections: made 0700, used only while
//! it is a real directory (not a symlink) owned by pivot's user with no
//! group or other access. An entry is written to an unnamed O_TMPFILE (or
//! an exclusive temp name), linked and renamed over atomically, and read
//! with O_NOFOLLOW|O_NONBLOCK only if it is a regular file of pivot's
//! user, mode 0600, one link, no bigger than the largest program. Its
//! contents carry their own key and a SHA-256 of the rest: a corrupt,
//! truncated, swapped or foreign entry is ignored and replaced, and the
//! program is checked (length, jump targets, a return at the end) before
//! it is used. The cache holds at most `MAX_ENTRIES` entries: past that a
//! store empties it first.

use super::sha256::{self, Sha256};
use sha2::Digest;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The directory under --root.
pub const DIR: &str = "pivot@seccomp";
const MAGIC: &[u8; 8] = b"PVSCBPF1";
const MAX_ENTRIES: usize = 64;
/// magic, key, flags, notify, count, program, checksum.
const HEADER: usize = 8 + 32 + 4 + 4 + 4;
const MAX_SIZE: usize = HEADER + super::MAX_INSNS * 8 + 32;

const fn fnv(b: &[u8], mut h: u64) -> u64 {
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// The code that turns a profile into a program: a change to it is a new
/// key even under the same version number.
const SOURCE: u64 = fnv(
    include_bytes!("direct.rs"),
    fnv(
        include_bytes!("enosys.rs"),
        fnv(
            include_bytes!("cache.rs"),
            fnv(include_bytes!("mod.rs"), 0xcbf2_9ce4_8422_2325),
        ),
    ),
);

/// A cache directory checked, and the key of one profile.
pub struct Store {
    dir: PathBuf,
    key: [u8; 32],
}

/// A program found in the cache.
pub struct Hit {
    pub program: Vec<libc::sock_filter>,
    pub flags: u32,
    pub notify: bool,
}

fn key(profile: &serde_json::Value) -> Option<[u8; 32]> {
    let lib = libseccomp::ScmpVersion::current().ok()?;
    let mut h = Sha256::default();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(b"pivot seccomp cache 1");
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(&SOURCE.to_le_bytes());
    field(std::env::consts::ARCH.as_bytes());
    field(format!("{}.{}.{}", lib.major, lib.minor, lib.micro).as_bytes());
    field(&libseccomp::get_api().to_le_bytes());
    field(
        std::fs::read("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .as_slice(),
    );
    field(&serde_json::to_vec(profile).ok()?);
    Some(sha256::finish(h))
}

/// Whether `m` is ours alone: owned by pivot's user, no group or other
/// permission bits.
fn private(m: &std::fs::Metadata) -> bool {
    m.uid() == crate::sys::geteuid() && m.mode() & 0o077 == 0
}

/// A real directory (not a symlink), ours alone.
fn usable(m: &std::fs::Metadata) -> bool {
    m.file_type().is_dir() && private(m)
}

impl Store {
    /// The cache under `root` for `profile`; None (no caching) if its
    /// directory is there but not pivot's own, or anything fails. The
    /// directory is made by the first `save`, so a profile that does not
    /// compile leaves nothing behind.
    pub fn open(root: &Path, profile: &serde_json::Value) -> Option<Store> {
        let dir = root.join(DIR);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if !usable(&m) => {
                crate::debug::log(|| {
                    format!(
                        "seccomp: not using {}: not a directory of pivot's user with mode 0700",
                        dir.display()
                    )
                });
                return None;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return None,
        }
        Some(Store {
            dir,
            key: key(profile)?,
        })
    }

    /// Make the directory if missing, and check it is pivot's own.
    fn ensure_dir(&self) -> std::io::Result<()> {
        if let Some(root) = self.dir.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        if !usable(&std::fs::symlink_metadata(&self.dir)?) {
            return Err(std::io::Error::other(
                "not a directory of pivot's user with mode 0700",
            ));
        }
        Ok(())
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.bpf", sha256::hex(&self.key)))
    }

    /// The program stored for this key, if there is one and it is sound.
    pub fn load(&self) -> Option<Hit> {
        let path = self.path();
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .ok()?;
        let m = f.metadata().ok()?;
        if !m.file_type().is_file() || !private(&m) || m.nlink() != 1 || m.len() > MAX_SIZE as u64 {
            crate::debug::log(|| {
                format!("seccomp: ignoring {}: not a private file", path.display())
            });
            return None;
        }
        let mut data = Vec::with_capacity(m.len() as usize);
        Read::by_ref(&mut f)
            .take(MAX_SIZE as u64 + 1)
            .read_to_end(&mut data)
            .ok()?;
        let hit = decode(&data, &self.key);
        if hit.is_none() {
            crate::debug::log(|| format!("seccomp: ignoring {}: corrupt", path.display()));
        }
        hit
    }

    /// Store a program compiled now (best effort: a failure only costs the
    /// next container a compile).
    pub fn save(&self, program: &[libc::sock_filter], flags: u32, notify: bool) {
        if let Err(e) = self.try_save(program, flags, notify) {
            crate::debug::log(|| format!("seccomp: cache not written: {e}"));
        }
    }

    fn try_save(
        &self,
        program: &[libc::sock_filter],
        flags: u32,
        notify: bool,
    ) -> std::io::Result<()> {
        self.ensure_dir()?;
        self.bound()?;
        let data = encode(&self.key, program, flags, notify);
        let path = self.path();
        // An unnamed file, named only once complete; a file system without
        // O_TMPFILE gets an exclusive temp name instead.
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            sha256::hex(&self.key),
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
            .open(&self.dir)
        {
            Ok(mut f) => {
                f.write_all(&data)?;
                let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f));
                crate::sys::link_follow(&proc_path, &tmp.to_string_lossy())
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
            }
            Err(_) => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                    .open(&tmp)?;
                if let Err(e) = f.write_all(&data) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
        }
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// At most MAX_ENTRIES entries: past that, start afresh.
    fn bound(&self) -> std::io::Result<()> {
        let entries: Vec<_> = std::fs::read_dir(&self.dir)?.flatten().collect();
        if entries.len() < MAX_ENTRIES {
            return Ok(());
        }
        for e in entries {
            let _ = std::fs::remove_file(e.path());
        }
        Ok(())
    }
}

fn encode(key: &[u8; 32], program: &[libc::sock_filter], flags: u32, notify: bool) -> Vec<u8> {
    let mut d = Vec::with_capacity(HEADER + program.len() * 8 + 32);
    d.extend_from_slice(MAGIC);
    d.extend_from_slice(key);
    d.extend_from_slice(&flags.to_le_bytes());
    d.extend_from_slice(&u32::from(notify).to_le_bytes());
    d.extend_from_slice(&(program.len() as u32).to_le_bytes());
    for i in program {
        d.extend_from_slice(&i.code.to_le_bytes());
        d.push(i.jt);
        d.push(i.jf);
        d.extend_from_slice(&i.k.to_le_bytes());
    }
    let sum = sha256::digest(&d);
    d.extend_from_slice(&sum);
    d
}

fn decode(d: &[u8], key: &[u8; 32]) -> Option<Hit> {
    if d.len() < HEADER + 32 || d.len() > MAX_SIZE {
        return None;
    }
    let (body, sum) = d.split_at(d.len() - 32);
    if sha256::digest(body) != sum || &body[..8] != MAGIC || &body[8..40] != key {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
    let flags = u32_at(40);
    let notify = match u32_at(44) {
        0 => false,
        1 => true,
        _ => return None,
    };
    let count = u32_at(48) as usize;
    if body.len() != HEADER + count * 8 {
        return None;
    }
    let program: Vec<_> = body[HEADER..]
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    sound(&program).then_some(Hit {
        program,
        flags,
        notify,
    })
}

/// A program the kernel could take: 1 to 4096 instructions, every jump
/// inside it, a return at the end.
fn sound(p: &[libc::sock_filter]) -> bool {
    if p.is_empty() || p.len() > super::MAX_INSNS {
        return false;
    }
    let n = p.len();
    let jumps_inside = p.iter().enumerate().all(|(i, x)| {
        if x.code & 0x07 != 0x05 {
            return true;
        }
        if x.code == super::BPF_JA {
            (x.k as usize) < n - i - 1
        } else {
            (x.jt as usize) < n - i - 1 && (x.jf as usize) < n - i - 1
        }
    });
    jumps_inside && p[n - 1].code & 0x07 == 0x06
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
        libc::sock_filter { code, jt, jf, k }
    }

    #[test]
    fn entries_round_trip_and_reject_damage() {
        let key = [7u8; 32];
        let prog = vec![
            ins(0x20, 0, 0, 4),
            ins(0x15, 0, 1, 0xc000_003e),
            ins(0x06, 0, 0, 0x7fff_0000),
            ins(0x06, 0, 0, 0),
        ];
        let d = encode(&key, &prog, 3, true);
        let hit = decode(&d, &key).unwrap();
        assert_eq!((hit.flags, hit.notify, hit.program.len()), (3, true, 4));
        assert_eq!(hit.program[1].k, 0xc000_003e);
        // Another key's entry, any flipped bit, a truncation: refused.
        assert!(decode(&d, &[8u8; 32]).is_none());
        for i in 0..d.len() {
            let mut bad = d.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad, &key).is_none(), "byte {i}");
        }
        assert!(decode(&d[..d.len() - 1], &key).is_none());
        // A jump out of the program, or no return at the end, even with a
        // good checksum.
        let out = vec![ins(0x15, 5, 0, 1), ins(0x06, 0, 0, 0)];
        assert!(decode(&encode(&key, &out, 0, false), &key).is_none());
        let noret = vec![ins(0x20, 0, 0, 4)];
        assert!(decode(&encode(&key, &noret, 0, false), &key).is_none());
    }

    #[test]
    fn keys_differ_with_the_profile() {
        let a = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"});
        let b = serde_json::json!({"defaultAction": "SCMP_ACT_LOG"});
        assert_eq!(key(&a), key(&a.clone()));
        assert_ne!(key(&a), key(&b));
    }
}
