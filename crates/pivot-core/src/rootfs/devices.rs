//! Step 3, runc's createDevices: the device nodes (the default set plus
//! linux.devices: mknod, or in a user namespace, where mknod is refused,
//! a bind of the host's node onto an empty file), when pivot populates
//! /dev at all.

use super::resolve::{split_last, Root};
use super::Setup;
use crate::error::{Context as _, Error, ErrorKind, Result};
use crate::spec::types::Device;
use crate::spec::{MountKind, Plan};
use crate::sys;
use crate::sys::OFlags;
use std::os::fd::AsFd;

/// Whether pivot sets /dev up (device nodes, /dev/ptmx, the stdio
/// links). runc does unless /dev is a bind mount (a bind of the host's
/// /dev is the host's: nothing is added, re-owned or replaced there).
/// A devtmpfs on /dev is left alone too: the kernel has one devtmpfs, so
/// it is the host's /dev as well. Destinations are clean in the plan, so
/// `/dev/.` or `//dev` is /dev here.
pub fn needs_setup(plan: &Plan) -> bool {
    !plan
        .mounts
        .iter()
        .any(|m| m.destination == "/dev" && (m.is_bind() || m.kind == MountKind::Devtmpfs))
}

/// Whether the container's /dev, resolved in the root once every mount
/// is made, is the host's own /dev directory, however it came there (a
/// bind of a tree holding it, a symlink into such a bind): then it is not
/// set up either.
pub fn is_hosts_dev(root: &Root) -> Result<bool> {
    let stat = |r: Result<sys::Stat>| match r {
        Ok(st) => Ok(Some(st)),
        Err(e) if e.is_errno(sys::Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    };
    // Still the host's root: this runs before the root switch.
    let Some(host) = stat(sys::fstatat(sys::cwd(), "/dev", 0))? else {
        return Ok(false);
    };
    let ours = stat(
        root.open_path("/dev", false)
            .and_then(|fd| sys::fstat(fd.as_fd())),
    )?;
    Ok(ours.is_some_and(|st| (st.st_dev, st.st_ino) == (host.st_dev, host.st_ino)))
}

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

/// runc's createDevices: the default nodes, then linux.devices. Bound
/// from the host when the container has a user namespace of its own or
/// pivot already runs in one (rootless podman's: its spec has none).
pub fn create_devices(ctx: &Setup, root: &Root) -> Result<()> {
    let bind = ctx.in_userns() || crate::rootless::running_in_user_namespace();
    for (d, what) in planned_devices(ctx.plan) {
        // /dev/ptmx is the devpts link setup_ptmx makes, as in runc (a
        // bound node there could not be replaced: EBUSY).
        if d.path == "/dev/ptmx" {
            continue;
        }
        create_device(root, &d, bind).ctx(&what)?;
    }
    Ok(())
}

/// The nodes made, in order, each with what names it in errors: the
/// defaults a config entry for the same path does not replace, then
/// linux.devices.
pub fn planned_devices(plan: &Plan) -> Vec<(Device, String)> {
    let spec = plan.spec_devices();
    let defaults = default_devices()
        .into_iter()
        .filter(|d| !spec.iter().any(|s| s.path == d.path))
        .map(|d| {
            let what = format!("device {}", d.path);
            (d, what)
        });
    let given = spec
        .iter()
        .enumerate()
        .map(|(i, d)| (d.clone(), format!("linux.devices[{i}] {}", d.path)));
    defaults.chain(given).collect()
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
    let dir_rw = sys::openat(dir.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY, 0)?;
    let mode = type_bits(&d.kind) | d.file_mode.unwrap_or(0o666) & 0o7777;
    let rdev = sys::makedev(d.major as u64, d.minor as u64);
    let made = match sys::mknodat(dir_rw.as_fd(), name, mode, rdev) {
        Ok(()) => true,
        Err(e) if e.is_errno(sys::Errno::EXIST) => false,
        // Refused (no CAP_MKNOD in the initial user namespace): a bind of
        // the host's node, as runc falls back to.
        Err(e) if e.is_errno(sys::Errno::PERM) => return create_device(root, d, true),
        Err(e) => return Err(e),
    };
    // Check what is there now (ours, or one the image had).
    let node = sys::openat(dir.as_fd(), name, OFlags::PATH | OFlags::NOFOLLOW, 0)?;
    let st = sys::fstat(node.as_fd())?;
    let same_kind = sys::file_type(&st) == sys::FileType::of_mode(type_bits(&d.kind));
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

/// The container's /dev (made if missing), opened for the links in it.
pub(super) fn dev_dir(root: &Root) -> Result<std::os::fd::OwnedFd> {
    let d = root.mkdir_all("/dev", 0o755)?;
    sys::openat(d.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY, 0)
}

#[cfg(test)]
mod tests {
    use super::needs_setup;
    use crate::spec::default::default_spec;
    use crate::spec::plan::build_plan;
    use crate::spec::types::Mount;
    use std::path::Path;

    fn with_dev_mount(dest: &str, kind: &str, options: &[&str]) -> bool {
        let mut s = default_spec();
        s.mounts.retain(|m| !m.destination.starts_with("/dev"));
        s.mounts.push(Mount {
            destination: dest.into(),
            kind: Some(kind.into()),
            source: Some(if kind == "bind" { "/dev" } else { kind }.into()),
            options: options.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        });
        needs_setup(&build_plan("c1", Path::new("/b"), s).unwrap())
    }

    #[test]
    fn a_host_dev_however_spelled_is_not_set_up() {
        for dest in ["/dev", "/dev/", "/dev/.", "//dev", "/x/../dev", "/./dev"] {
            assert!(
                !with_dev_mount(dest, "bind", &["rbind"]),
                "bind at {dest:?}"
            );
            assert!(
                !with_dev_mount(dest, "none", &["bind"]),
                "bind option at {dest:?}"
            );
            assert!(
                !with_dev_mount(dest, "devtmpfs", &[]),
                "devtmpfs at {dest:?}"
            );
        }
        assert!(with_dev_mount("/dev", "tmpfs", &["mode=755"]));
        assert!(with_dev_mount("/dev/x/..", "tmpfs", &[]));
        assert!(with_dev_mount("/devx", "bind", &["rbind"]));
        assert!(needs_setup(
            &build_plan("c1", Path::new("/b"), default_spec()).unwrap()
        ));
    }
}
