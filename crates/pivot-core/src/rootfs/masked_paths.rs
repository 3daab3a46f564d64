//! Step 10c, runc's maskPath for each of linux.maskedPaths, after the
//! root switch.

use super::dev_null::verified_dev_null;
use super::resolve::Root;
use super::Setup;
use crate::error::{Context as _, Result};
use crate::spec::mountopts::MountOptions;
use crate::sys;
use std::os::fd::{AsFd, OwnedFd};

/// linux.maskedPaths: /dev/null over files, an empty read-only tmpfs
/// over directories.
pub fn mask_paths(ctx: &Setup, root: &Root) -> Result<()> {
    let linux = ctx.plan.spec.linux.as_ref();
    let masked = linux.map(|l| &l.masked_paths[..]).unwrap_or(&[]);
    if !masked.is_empty() {
        let null = verified_dev_null(root).ctx("linux.maskedPaths")?;
        let mut masks = Masks {
            null,
            tmpfs: None,
            done: Vec::new(),
        };
        for (i, p) in masked.iter().enumerate() {
            masks
                .mask(root, p)
                .with_ctx(|| format!("linux.maskedPaths[{i}] {p:?}"))?;
        }
    }
    Ok(())
}

/// What masks the paths, as runc 1.3 and later: files get the verified
/// /dev/null bound over them, directories a clone of one empty read-only
/// tmpfs (4 KiB, one inode: nothing can be made in it) shared by all; a
/// path listed twice is masked once.
struct Masks {
    null: OwnedFd,
    /// The shared tmpfs, once it is mounted (a handle on that mount).
    tmpfs: Option<OwnedFd>,
    /// The paths masked so far, cleaned.
    done: Vec<String>,
}

impl Masks {
    fn mask(&mut self, root: &Root, path: &str) -> Result<()> {
        let clean = crate::spec::plan::clean_path(path);
        if self.done.contains(&clean) {
            return Ok(());
        }
        self.done.push(clean);
        let Some(target) = root.open_existing(path)? else {
            return Ok(());
        };
        let st = sys::fstat(target.as_fd())?;
        if sys::file_type(&st) != sys::FileType::Dir {
            let mnt = sys::open_tree(self.null.as_fd(), "", false)?;
            return sys::move_mount(mnt.as_fd(), target.as_fd(), path);
        }
        match &self.tmpfs {
            // A clone of the mounted one: the same (empty, read-only)
            // filesystem, as runc binds its first mask onto the others.
            Some(t) => {
                let mnt = sys::open_tree(t.as_fd(), "", false)?;
                sys::move_mount(mnt.as_fd(), target.as_fd(), path)
            }
            None => {
                let mnt = masking_tmpfs()?;
                sys::move_mount(mnt.as_fd(), target.as_fd(), path)?;
                // The fd now names the attached mount, which open_tree
                // may clone (a detached one it may not, on older kernels).
                self.tmpfs = Some(mnt);
                Ok(())
            }
        }
    }
}

fn masking_tmpfs() -> Result<OwnedFd> {
    let opts = MountOptions {
        flags: sys::mountflags::MS_RDONLY,
        data: vec!["size=4k".into(), "nr_inodes=1".into()],
        ..Default::default()
    };
    super::mount_api::new_filesystem("tmpfs", "tmpfs", &opts)
}
