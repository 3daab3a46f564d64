//! Step 3: device nodes, the default set plus linux.devices: mknod, or in
//! a user namespace (where mknod is refused) a bind of the host's node onto
//! an empty file.

use super::resolve::{split_last, Root};
use super::Context;
use crate::error::{Context as _, Error, ErrorKind, Result};
use crate::spec::types::Device;
use crate::sys;
use std::os::fd::AsFd;

/// The nodes every container gets, as in runc.
pub fn default_devices() -> Vec<Device> {
    // runc's order (it shows in the mount table of a user namespace,
    // where these are binds).
    [
        ("/dev/null", 1, 3),
        ("/dev/random", 1, 8),
        ("/dev/full", 1, 7),
        ("/dev/tty", 5, 0),
        ("/dev/zero", 1, 5),
        ("/dev/urandom", 1, 9),
    ]
    .into_iter()
    .map(|(path, major, minor)| Device {
        kind: "c".into(),
        path: path.into(),
        major,
        minor,
        file_mode: Some(0o666),
        uid: Some(0),
        gid: Some(0),
    })
    .collect()
}

pub fn create_devices(ctx: &Context, root: &Root) -> Result<()> {
    let bind = ctx.in_userns();
    for d in default_devices() {
        // A config entry for the same path replaces the default.
        if !ctx.plan.spec_devices().iter().any(|s| s.path == d.path) {
            create_device(root, &d, bind).with_ctx(|| format!("device {}", d.path))?;
        }
    }
    for (i, d) in ctx.plan.spec_devices().iter().enumerate() {
        create_device(root, d, bind).with_ctx(|| format!("linux.devices[{i}] {}", d.path))?;
    }
    Ok(())
}

fn type_bits(kind: &str) -> u32 {
    match kind {
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    }
}

fn create_device(root: &Root, d: &Device, bind: bool) -> Result<()> {
    if bind {
        let target = root.mkfile(&d.path, 0o644)?;
        let tree = sys::open_tree(sys::cwd(), &d.path, false)?;
        return sys::move_mount(tree.as_fd(), target.as_fd(), &d.path);
    }
    let (parent, name) = split_last(&d.path)?;
    let dir = root.mkdir_all(parent, 0o755)?;
    let dir_rw = sys::openat(dir.as_fd(), ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mode = type_bits(&d.kind) | d.file_mode.unwrap_or(0o666) & 0o7777;
    let rdev = sys::makedev(d.major as u64, d.minor as u64);
    let made = match sys::mknodat(dir_rw.as_fd(), name, mode, rdev) {
        Ok(()) => true,
        Err(e) if e.errno() == Some(libc::EEXIST) => false,
        Err(e) => return Err(e),
    };
    // Check what is there now (ours, or one the image had).
    let node = sys::openat(dir.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    let st = sys::fstat(node.as_fd())?;
    let same_kind = st.st_mode & libc::S_IFMT == type_bits(&d.kind);
    let same_dev = d.kind == "p" || st.st_rdev == rdev;
    if !same_kind || !same_dev {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{:?} exists in the rootfs but is not device {} {}:{}",
                d.path, d.kind, d.major, d.minor
            ),
        ));
    }
    if !made {
        // A node pivot did not make keeps its owner and mode, as in
        // runc: it may be the host's (a /dev from the host), and an
        // image's own node is the image's business.
        return Ok(());
    }
    sys::fchown(node.as_fd(), d.uid.unwrap_or(0), d.gid.unwrap_or(0))?;
    sys::fchmod(node.as_fd(), mode & 0o7777)
}
