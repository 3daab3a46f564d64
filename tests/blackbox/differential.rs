//! Differential tests: pivot and runc run the same config.json (byte for
//! byte, on twin bundles built the same way) and must give the container
//! the same mount table and the same /dev, as `probe` reports them from
//! inside.
//!
//! runc is `RUNC_BIN` or /usr/sbin/runc; the tests are skipped, with the
//! reason printed, when it is missing or when `PIVOT_BIN` is runc itself.
//! runc gets its own `--root` inside the scratch dir and ids from
//! `Scratch::id` (they contain "pivot-t", so the harness's cgroup and
//! process leak checks cover them too); every runc container is
//! `delete -f`'d even when the test fails.
//!
//! What is compared, per mount: mount point, fs type, per-mount options
//! (sorted), superblock options (sorted), propagation type, root and source
//! (with the bundle dir and the container id replaced by placeholders: the
//! two runs use twin bundles and different ids). Left out as volatile: the
//! mount id, the parent id, the device number and the peer group numbers.
//! Per /dev entry: name, type, mode, owner, device number, symlink target
//! and size (inode and st_dev are volatile).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::{chown_tree, Bundle};
use crate::harness::{pivot_bin, tests, Scratch};
use crate::runtime::Out;

tests![
    default_spec,
    readonly_root_with_many_mounts,
    user_namespace,
    tmpfs_dev_with_extra_devices,
];

/// What runs inside each container: the mount table, the /dev listing and
/// a stat of /dev, of every entry in it and of every entry in /dev/pts.
const SCRIPT: &str = "/probe mounts && /probe ls /dev && /probe stat /dev /dev/* && /probe ls /dev/pts && /probe stat /dev/pts/*";

/// How long one runc (or other command) invocation may take.
const RUNC_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `bin ARGS...` in the scratch dir with `stdin`, stdout and stderr
/// in files (a container inherits them and would hold a pipe open), and
/// kills it after RUNC_TIMEOUT. For binaries and stdio the harness's own
/// runner does not cover.
pub(crate) fn run_command(s: &Scratch, bin: &Path, args: &[&OsStr], stdin: Stdio) -> Out {
    let base = s.path("cmd-io-");
    let out_path = base.with_extension("out");
    let err_path = base.with_extension("err");
    let open = |p: &Path| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
    };
    let shown = std::iter::once(bin.as_os_str())
        .chain(args.iter().copied())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    // The runtime under test as the rootless mode's user, like every
    // other invocation of it; runc as a reference stays root's.
    let mut cmd = if crate::harness::pivot_bin().as_deref() == Some(bin) {
        crate::runtime::runtime_command(bin, &s.dir, args).0
    } else {
        let mut cmd = Command::new(bin);
        cmd.args(args).current_dir(&s.dir);
        cmd
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(open(&out_path))
        .stderr(open(&err_path))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    let deadline = Instant::now() + RUNC_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown}: still running after {RUNC_TIMEOUT:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    use std::os::unix::process::ExitStatusExt;
    Out {
        cmd: shown,
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// The runc binary to compare with, or why the comparison cannot run.
fn runc_bin() -> Result<PathBuf, String> {
    let runc = std::env::var_os("RUNC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/runc"));
    if !runc.is_file() {
        return Err(format!(
            "runc ({}) is missing; set RUNC_BIN",
            runc.display()
        ));
    }
    let pivot = pivot_bin().ok_or("PIVOT_BIN is not set")?;
    let same_file = match (pivot.canonicalize(), runc.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let says_runc = Command::new(&pivot)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("runc version"))
        .unwrap_or(false);
    if same_file || says_runc {
        return Err(format!(
            "PIVOT_BIN ({}) is runc itself: nothing to compare",
            pivot.display()
        ));
    }
    Ok(runc)
}

/// runc with its own state dir inside the scratch dir.
struct Runc<'a> {
    s: &'a Scratch,
    bin: PathBuf,
    root: PathBuf,
}

impl<'a> Runc<'a> {
    fn new(s: &'a Scratch, bin: PathBuf) -> Runc<'a> {
        Runc {
            s,
            bin,
            root: s.dir.join("runc-state"),
        }
    }

    /// `runc --root <root> ARGS...` (stdin /dev/null).
    fn cmd(&self, args: &[&OsStr]) -> Out {
        let mut all: Vec<&OsStr> = vec![OsStr::new("--root"), self.root.as_os_str()];
        all.extend_from_slice(args);
        run_command(self.s, &self.bin, &all, Stdio::null())
    }

    /// `runc run` in the foreground; the container is deleted (forced) and
    /// its processes reaped afterwards, whatever happened.
    fn run(&self, bundle: &Path, id: &str) -> Out {
        let guard = RuncContainer { runc: self, id };
        let out = self.cmd(&[
            OsStr::new("run"),
            OsStr::new("--bundle"),
            bundle.as_os_str(),
            OsStr::new(id),
        ]);
        drop(guard);
        out
    }
}

/// Deletes a runc container when dropped (also while unwinding).
struct RuncContainer<'a, 'b> {
    runc: &'b Runc<'a>,
    id: &'b str,
}

impl Drop for RuncContainer<'_, '_> {
    fn drop(&mut self) {
        let state = self.runc.cmd(&[OsStr::new("state"), OsStr::new(self.id)]);
        if let Ok(state) = serde_json::from_str::<Value>(&state.stdout) {
            if let Some(pid) = state["pid"].as_i64().filter(|p| *p > 0) {
                self.runc.s.remember_pid(pid as i32);
            }
        }
        // A container `run` already removed makes this fail: that is fine.
        let _ = self
            .runc
            .cmd(&[OsStr::new("delete"), OsStr::new("-f"), OsStr::new(self.id)]);
        self.runc.s.reap();
    }
}

/// What one runtime showed from inside.
struct Seen {
    mounts: Vec<String>,
    dev: Vec<String>,
    dev_stat: Vec<String>,
    pts: Vec<String>,
    pts_stat: Vec<String>,
    /// The raw mount table, for assertions on one runtime's own output.
    raw_mounts: Vec<Value>,
}

/// Replaces what differs between the twin runs (bundle dirs and ids).
struct Placeholders(Vec<(String, &'static str)>);

impl Placeholders {
    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (from, to) in &self.0 {
            out = out.replace(from.as_str(), to);
        }
        out
    }
}

fn sorted_list(options: &str) -> String {
    let mut parts: Vec<&str> = options.split(',').filter(|o| !o.is_empty()).collect();
    parts.sort_unstable();
    parts.join(",")
}

/// One mount as a comparable line.
fn mount_line(m: &Value, ph: &Placeholders, cgroup_ro: bool) -> String {
    let text = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    let mount_point = text("mount_point");
    let fs_type = text("fs_type");
    let mut mount_options = sorted_list(&text("mount_options"));
    if cgroup_ro && mount_point == "/sys/fs/cgroup" && fs_type == "tmpfs" {
        // Intended difference: with a cgroup mount that has "ro", pivot
        // makes the /sys/fs/cgroup tmpfs (cgroup v1) read-only too, where
        // runc 1.1.5 leaves the tmpfs read-write (only the hierarchies
        // under it are read-only). Only this entry's ro/rw bit is left out
        // of the comparison; `compare` asserts that pivot's is "ro".
        mount_options = mount_options
            .split(',')
            .filter(|o| *o != "ro" && *o != "rw")
            .collect::<Vec<_>>()
            .join(",");
        mount_options.push_str(",<ro/rw not compared>");
    }
    let mut super_options = sorted_list(&text("super_options"));
    let masking = ["nr_inodes=1", "ro", "size=4k"];
    if fs_type == "tmpfs"
        && masking
            .iter()
            .all(|o| super_options.split(',').any(|s| s == *o))
    {
        // Intended difference: a masked directory gets the 4 KiB, one-inode
        // read-only tmpfs of runc 1.3 and later; runc 1.1.5's is a plain
        // read-only tmpfs. Only these two size options are left out.
        super_options = super_options
            .split(',')
            .filter(|o| *o != "size=4k" && *o != "nr_inodes=1")
            .collect::<Vec<_>>()
            .join(",");
    }
    format!(
        "{mount_point} type={fs_type} opts=[{mount_options}] super=[{super_options}] propagation={} root={} source={}",
        text("propagation"),
        ph.apply(&text("root")),
        ph.apply(&text("source")),
    )
}

/// One stat entry as a comparable line (no inode, no st_dev).
fn stat_line(e: &Value) -> String {
    format!(
        "{} exists={} type={} mode={} owner={}:{} rdev={}:{} link={} size={}",
        e["path"].as_str().unwrap_or_default(),
        e["exists"],
        e["type"].as_str().unwrap_or("-"),
        e["mode"].as_str().unwrap_or("-"),
        e["uid"],
        e["gid"],
        e["major"],
        e["minor"],
        e["link"],
        e["size"],
    )
}

/// Parses the script's five JSON documents.
fn parse_seen(out: &Out, ph: &Placeholders, cgroup_ro: bool) -> Seen {
    let docs: Vec<Value> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out}")))
        .collect();
    assert_eq!(docs.len(), 5, "expected 5 probe answers:\n{out}");
    let array = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let names = |v: &Value| {
        array(v)
            .iter()
            .map(|n| n.as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let raw_mounts = array(&docs[0]);
    Seen {
        mounts: raw_mounts
            .iter()
            .map(|m| mount_line(m, ph, cgroup_ro))
            .collect(),
        dev: names(&docs[1]),
        dev_stat: array(&docs[2])
            .iter()
            .map(stat_line)
            .map(|l| mqueue_owner_artifact(&l))
            .collect(),
        pts: names(&docs[3]),
        pts_stat: array(&docs[4]).iter().map(stat_line).collect(),
        raw_mounts,
    }
}

/// Intended difference: in a new user namespace runc creates the IPC
/// namespace (whose mqueue root takes the creator's ids) after setuid(0)
/// but before setgid(0), so its /dev/mqueue belongs to 0:65534 (an unmapped
/// group). pivot creates it once it is fully root there: 0:0. The entry is
/// compared with the group set aside; everything else about it must match.
fn mqueue_owner_artifact(line: &str) -> String {
    if line.starts_with("/dev/mqueue ") {
        line.replace("owner=0:65534", "owner=0:0")
    } else {
        line.to_string()
    }
}

/// A readable difference between two lists, or None when equal.
fn diff(what: &str, pivot: &[String], runc: &[String]) -> Option<String> {
    if pivot == runc {
        return None;
    }
    let count = |list: &[String]| {
        let mut m: BTreeMap<String, i32> = BTreeMap::new();
        for x in list {
            *m.entry(x.clone()).or_default() += 1;
        }
        m
    };
    let (p, r) = (count(pivot), count(runc));
    let only = |a: &BTreeMap<String, i32>, b: &BTreeMap<String, i32>| {
        a.iter()
            .filter(|(k, n)| b.get(*k).copied().unwrap_or(0) < **n)
            .map(|(k, _)| format!("    {k}"))
            .collect::<Vec<_>>()
    };
    let only_pivot = only(&p, &r);
    let only_runc = only(&r, &p);
    let mut text = format!("{what} differ:\n");
    if only_pivot.is_empty() && only_runc.is_empty() {
        text.push_str("  same entries, different order\n");
    } else {
        text.push_str(&format!("  only pivot:\n{}\n", only_pivot.join("\n")));
        text.push_str(&format!("  only runc:\n{}\n", only_runc.join("\n")));
    }
    text.push_str(&format!(
        "  pivot, in order:\n    {}\n  runc, in order:\n    {}\n",
        pivot.join("\n    "),
        runc.join("\n    ")
    ));
    Some(text)
}

/// Builds twin bundles (same rootfs layout via `prepare`, the same
/// config.json file), runs one with pivot and one with runc, and asserts
/// that both containers saw the same mounts and /dev.
fn compare(s: &Scratch, edit: impl FnOnce(&mut Value), prepare: impl Fn(&Bundle)) {
    let runc_bin = match runc_bin() {
        Ok(bin) => bin,
        Err(reason) => {
            eprintln!("pivot-tests: differential test skipped: {reason}");
            return;
        }
    };
    let runc = Runc::new(s, runc_bin);
    let args = ["/bin/sh", "-c", SCRIPT];
    let for_pivot = s.bundle(&args);
    for_pivot.edit(edit);
    prepare(&for_pivot);
    let for_runc = s.bundle(&args);
    prepare(&for_runc);
    // The very same config.json, byte for byte.
    std::fs::copy(for_pivot.config_path(), for_runc.config_path()).expect("copy config.json");
    let config = for_pivot.config();
    let cgroup_ro = config["mounts"].as_array().into_iter().flatten().any(|m| {
        m["type"] == "cgroup"
            && m["options"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o == "ro"))
    });

    let pivot_id = s.id("diffp");
    let runc_id = s.id("diffr");
    let pivot_out = s.run(&for_pivot.dir, &pivot_id).ok();
    let runc_out = runc.run(&for_runc.dir, &runc_id);
    let leftover: Vec<_> = std::fs::read_dir(&runc.root)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftover.is_empty(),
        "runc left state: {leftover:?}\n{runc_out}"
    );
    let runc_out = runc_out.ok();

    let ph = |bundle: &Bundle, id: &str| {
        Placeholders(vec![
            (bundle.dir.to_string_lossy().into_owned(), "<bundle>"),
            (id.to_string(), "<id>"),
        ])
    };
    let pivot = parse_seen(&pivot_out, &ph(&for_pivot, &pivot_id), cgroup_ro);
    let runc = parse_seen(&runc_out, &ph(&for_runc, &runc_id), cgroup_ro);

    if cgroup_ro {
        // The intended difference is asserted, not just ignored.
        for m in pivot
            .raw_mounts
            .iter()
            .filter(|m| m["mount_point"] == "/sys/fs/cgroup" && m["fs_type"] == "tmpfs")
        {
            let opts = m["mount_options"].as_str().unwrap_or_default();
            assert!(
                opts.split(',').any(|o| o == "ro"),
                "pivot's /sys/fs/cgroup tmpfs is not read-only: {m}"
            );
        }
    }

    let problems: Vec<String> = [
        diff("mounts", &pivot.mounts, &runc.mounts),
        diff("ls /dev", &pivot.dev, &runc.dev),
        diff("stat /dev/*", &pivot.dev_stat, &runc.dev_stat),
        diff("ls /dev/pts", &pivot.pts, &runc.pts),
        diff("stat /dev/pts/*", &pivot.pts_stat, &runc.pts_stat),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "pivot and runc differ on the same config.json:\n{}",
        problems.join("\n")
    );
}

/// (1) The default spec, as `pivot spec` writes it.
fn default_spec(s: &Scratch) {
    compare(s, |_| {}, |_| {});
}

/// A host file or directory in the scratch dir, made once and shared by
/// both twin bundles' configs.
fn host_dir(s: &Scratch, tag: &str) -> String {
    let dir = s.mkdir(tag);
    std::fs::write(dir.join("file"), tag).expect("write host dir file");
    dir.to_string_lossy().into_owned()
}

/// (2) A read-only root with binds (ro, rw, recursive or not, nested, with
/// propagation and flags), tmpfs with mode and size, and a bind of a file.
fn readonly_root_with_many_mounts(s: &Scratch) {
    let ro = host_dir(s, "ro");
    let rw = host_dir(s, "rw");
    let nested = host_dir(s, "nested");
    let flags = host_dir(s, "flags");
    let file = s.path("file");
    std::fs::write(&file, "bound file\n").expect("write bound file");
    let file = file.to_string_lossy().into_owned();
    compare(
        s,
        |c| {
            c["root"]["readonly"] = json!(true);
            let extra = json!([
                {"destination": "/data/ro", "type": "bind", "source": ro,
                 "options": ["bind", "ro"]},
                {"destination": "/data/rw", "type": "bind", "source": rw,
                 "options": ["rbind", "rw"]},
                {"destination": "/data/rw/nested", "type": "bind", "source": nested,
                 "options": ["rbind", "ro", "rprivate"]},
                {"destination": "/data/flags", "type": "bind", "source": flags,
                 "options": ["rbind", "nosuid", "nodev", "noexec", "noatime", "rslave"]},
                {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "nodev", "mode=0700", "size=1m"]},
                {"destination": "/scratch/sticky", "type": "tmpfs", "source": "tmpfs",
                 "options": ["mode=1777", "size=64k", "nr_inodes=100", "ro"]},
                {"destination": "/etc/bound-file", "type": "bind", "source": file,
                 "options": ["bind", "ro"]},
            ]);
            c["mounts"]
                .as_array_mut()
                .expect("mounts")
                .extend(extra.as_array().expect("array").iter().cloned());
        },
        |_| {},
    );
}

/// (3) A user namespace: 0 -> 100000, 65536 ids, rootfs owned by 100000.
fn user_namespace(s: &Scratch) {
    compare(
        s,
        |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .expect("namespaces")
                .push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 100_000, "size": 65_536}]);
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        },
        |b| chown_tree(&b.rootfs(), 100_000, 100_000),
    );
}

/// (4) The default tmpfs /dev plus linux.devices: char, block and fifo
/// nodes, one in a new subdirectory, one with its own mode and owner, one
/// replacing a default device.
fn tmpfs_dev_with_extra_devices(s: &Scratch) {
    compare(
        s,
        |c| {
            c["linux"]["devices"] = json!([
                {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                 "fileMode": 0o666, "uid": 0, "gid": 0},
                {"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
                 "fileMode": 0o620, "uid": 0, "gid": 5},
                {"path": "/dev/loop7", "type": "b", "major": 7, "minor": 7,
                 "fileMode": 0o660, "uid": 0, "gid": 6},
                {"path": "/dev/owned", "type": "c", "major": 1, "minor": 7,
                 "fileMode": 0o600, "uid": 1000, "gid": 1001},
                {"path": "/dev/fifo", "type": "p",
                 "fileMode": 0o640, "uid": 0, "gid": 0},
                {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5,
                 "fileMode": 0o600, "uid": 0, "gid": 0},
            ]);
        },
        |_| {},
    );
}
