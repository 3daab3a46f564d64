//! Bundles for the tests: a busybox-static root filesystem with `/probe`,
//! and a config.json from `$PIVOT_BIN spec`, edited as JSON per test.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::harness::{busybox_bin, probe_bin, Scratch, MARKER, SPAWN_LOCK};

/// Busybox applets linked into /bin, enough for shell snippets in tests.
const APPLETS: &[&str] = &[
    "sh", "true", "false", "sleep", "cat", "ls", "echo", "mount", "id", "hostname", "env", "pwd",
    "kill", "ps", "touch", "mkdir", "test", "wc", "grep", "readlink", "stat", "unshare",
];

/// A bundle directory: `config.json` and `rootfs/`.
pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// The current config.json.
    pub fn config(&self) -> Value {
        let text = std::fs::read_to_string(self.config_path()).expect("read config.json");
        serde_json::from_str(&text).expect("config.json is JSON")
    }

    /// Applies `f` to config.json and writes it back.
    pub fn edit(&self, f: impl FnOnce(&mut Value)) {
        let mut config = self.config();
        f(&mut config);
        let text = serde_json::to_string_pretty(&config).expect("serialize config");
        std::fs::write(self.config_path(), text).expect("write config.json");
    }

    /// Appends a mount to config.json.
    pub fn add_mount(&self, mount: Value) {
        self.edit(|c| c["mounts"].as_array_mut().expect("mounts").push(mount));
    }

    /// Bind-mounts `host` read-write at `dest` (created in the rootfs).
    pub fn bind(&self, host: &Path, dest: &str) {
        let inside = self.rootfs().join(dest.trim_start_matches('/'));
        std::fs::create_dir_all(&inside).expect("mkdir bind destination");
        self.add_mount(json!({
            "destination": dest,
            "type": "bind",
            "source": host,
            "options": ["rbind", "rw"],
        }));
    }

    /// Removes the namespace of `kind` from linux.namespaces.
    pub fn remove_namespace(&self, kind: &str) {
        self.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .expect("linux.namespaces")
                .retain(|ns| ns["type"] != kind);
        });
    }

    /// Sets linux.namespaces[type=kind].path (adding the entry if needed).
    pub fn join_namespace(&self, kind: &str, path: &str) {
        self.edit(|c| {
            let list = c["linux"]["namespaces"]
                .as_array_mut()
                .expect("linux.namespaces");
            list.retain(|ns| ns["type"] != kind);
            list.push(json!({"type": kind, "path": path}));
        });
    }
}

impl Bundle {
    /// The bundle `dir`, whose config.json `spec` just wrote, made the
    /// test's: the process runs `args`, with terminal false and the
    /// scratch dir's marker in its environment.
    pub fn of_spec(s: &Scratch, dir: PathBuf, args: &[&str]) -> Bundle {
        let bundle = Bundle { dir };
        let marker = format!("{MARKER}={}", s.dir.display());
        bundle.edit(|c| {
            c["process"]["terminal"] = json!(false);
            c["process"]["args"] = json!(args);
            c["process"]["env"]
                .as_array_mut()
                .expect("process.env")
                .push(json!(marker));
        });
        bundle
    }
}

impl Scratch {
    /// A new bundle whose process runs `args` with terminal false.
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let dir = self.mkdir("bundle");
        make_rootfs(&dir.join("rootfs"));
        // In the rootless mode: the user's (root's inside) from the start,
        // before a test takes its snapshots.
        shift_to_user(&dir.join("rootfs"));
        self.runtime(
            &self.dir,
            &["spec".as_ref(), "--bundle".as_ref(), dir.as_os_str()],
        )
        .ok();
        Bundle::of_spec(self, dir, args)
    }

    /// A bundle plus a host directory bind-mounted at /result, where the
    /// container leaves files for the test to read.
    pub fn bundle_with_result(&self, args: &[&str]) -> (Bundle, PathBuf) {
        let bundle = self.bundle(args);
        let result = self.mkdir("result");
        bundle.bind(&result, "/result");
        (bundle, result)
    }
}

/// Lays out a minimal root filesystem at `rootfs`.
pub fn make_rootfs(rootfs: &Path) {
    for dir in ["", "bin", "etc", "tmp", "proc", "sys", "dev", "root"] {
        std::fs::create_dir_all(rootfs.join(dir)).expect("mkdir rootfs dir");
    }
    set_mode(&rootfs.join("tmp"), 0o1777);
    copy_exec(&busybox_bin(), &rootfs.join("bin/busybox"));
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
            .expect("symlink applet");
    }
    copy_exec(&probe_bin().expect("PROBE_BIN"), &rootfs.join("probe"));
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .expect("write /etc/passwd");
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnobody:x:65534:\n")
        .expect("write /etc/group");
}

/// Copies (never links: a container must not reach the host's file) an
/// executable into the rootfs.
fn copy_exec(from: &Path, to: &Path) {
    let writing = SPAWN_LOCK.write().unwrap_or_else(|e| e.into_inner());
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    drop(writing);
    set_mode(to, 0o755);
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// In the rootless mode, gives the files under `rootfs` (symlinks
/// themselves, never crossing into another file system) the owners the
/// mode's user namespace shows as the ones they have: root's become the
/// user's, ids 1 to 65536 the subordinate ones (harness::rootless_mappings).
/// Owners already in the user's ranges stay (the user's own id is taken
/// for a shifted root's).
pub fn shift_to_user(rootfs: &Path) {
    let Some(u) = crate::harness::rootless_user() else {
        return;
    };
    let (Some((su, sn)), Some((sg, gn))) = (u.sub_range("/etc/subuid"), u.sub_range("/etc/subgid"))
    else {
        return;
    };
    let shift = |id: u32, own: u32, start: u32, count: u32| -> Option<u32> {
        match id {
            0 => Some(own),
            _ if id == own => None,
            _ if id <= count.min(65536) => Some(start + id - 1),
            _ => None,
        }
    };
    // By descriptor, never following a symlink: a test may swap paths in
    // the image while this runs.
    use rustix::fs::{AtFlags, Mode, OFlags};
    fn walk(
        dir: &std::os::fd::OwnedFd,
        dev: u64,
        f: &dyn Fn(&std::os::fd::OwnedFd, &std::ffi::CStr, &rustix::fs::Stat),
    ) {
        let Ok(entries) = rustix::fs::Dir::read_from(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            if st.st_dev != dev {
                continue;
            }
            f(dir, name, &st);
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                if let Ok(sub) = rustix::fs::openat(dir, name, flags, Mode::empty()) {
                    walk(&sub, dev, f);
                }
            }
        }
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Ok(top) = rustix::fs::open(rootfs, flags, Mode::empty()) else {
        return;
    };
    let Ok(top_st) = rustix::fs::fstat(&top) else {
        return;
    };
    let change = |dir: &std::os::fd::OwnedFd, name: &std::ffi::CStr, st: &rustix::fs::Stat| {
        let uid = shift(st.st_uid, u.uid, su, sn);
        let gid = shift(st.st_gid, u.gid, sg, gn);
        if uid.is_none() && gid.is_none() {
            return;
        }
        let _ = rustix::fs::chownat(
            dir,
            name,
            Some(rustix::fs::Uid::from_raw(uid.unwrap_or(st.st_uid))),
            Some(rustix::fs::Gid::from_raw(gid.unwrap_or(st.st_gid))),
            AtFlags::SYMLINK_NOFOLLOW,
        );
        // chown clears setuid and setgid bits: put them back.
        let symlink =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink;
        if !symlink && st.st_mode & 0o6000 != 0 {
            let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
            let _ = rustix::fs::chmodat(dir, name, mode, AtFlags::empty());
        }
    };
    let _ = rustix::fs::fchown(
        &top,
        shift(top_st.st_uid, u.uid, su, sn).map(rustix::fs::Uid::from_raw),
        shift(top_st.st_gid, u.gid, sg, gn).map(rustix::fs::Gid::from_raw),
    );
    walk(&top, top_st.st_dev, &change);
}

/// Changes the owner of everything under `path` (symlinks themselves).
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("lchown");
    let meta = std::fs::symlink_metadata(path).expect("lstat");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir") {
            chown_tree(&entry.expect("dir entry").path(), uid, gid);
        }
    }
}
