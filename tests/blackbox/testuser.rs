//! A throwaway user for running the runtime unprivileged: made with
//! `useradd` (with the /etc/subuid and /etc/subgid range useradd gives a
//! non-system user, or one added with `usermod`), and removed again with
//! its containers, processes and subordinate-id lines. `rootless::` makes
//! one per test; `PIVOT_TEST_ROOTLESS=1` makes one for the whole run
//! (harness::rootless_user), which every runtime invocation runs as.

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::harness::{pivot_bin, Scratch, WAIT};
use crate::host::wait_for;
use crate::runtime::Out;

static USER_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A user of the test's own, with a subordinate id range; `userdel` takes
/// it (and its /etc/subuid and /etc/subgid lines) away on drop, after its
/// containers and processes are gone.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// $XDG_RUNTIME_DIR for the user, inside the scratch dir.
    pub xdg: PathBuf,
    /// Made by useradd (else a bare uid).
    pub made: bool,
    /// A cgroup (v2) the runtime is put in, as root, before it becomes
    /// the user: a delegated subtree's.
    pub leader: Option<PathBuf>,
    /// The runtime binary to run, if not `PIVOT_BIN`.
    pub bin: Option<PathBuf>,
    /// More environment for what runs as the user.
    pub env: Vec<(String, String)>,
    /// Set once [`TestUser::remove`] has run.
    removed: AtomicBool,
}

pub fn run_root(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

impl TestUser {
    /// A user of test `s`'s own, its $XDG_RUNTIME_DIR in the scratch dir.
    pub fn new(s: &Scratch) -> TestUser {
        TestUser::make(None, s.path("xdg"))
    }

    /// A user named `name` (default `pvrl<pid>x<n>`, unique on the
    /// machine), with `xdg` (made here, 0700, the user's) as its
    /// $XDG_RUNTIME_DIR.
    pub fn make(name: Option<String>, xdg: PathBuf) -> TestUser {
        let name = name.unwrap_or_else(|| {
            format!(
                "pvrl{}x{}",
                std::process::id(),
                USER_SEQ.fetch_add(1, Ordering::SeqCst)
            )
        });
        let args = [
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--user-group",
            name.as_str(),
        ];
        // Without useradd (the cgroup v2 VM's initramfs) the user is a bare
        // uid with no passwd entry and no subordinate ids.
        if !Path::new("/usr/sbin/useradd").exists() {
            let uid = 200_000 + USER_SEQ.fetch_add(1, Ordering::SeqCst) as u32;
            let user = TestUser {
                name: uid.to_string(),
                uid,
                gid: uid,
                xdg,
                made: false,
                leader: None,
                bin: None,
                env: Vec::new(),
                removed: AtomicBool::new(false),
            };
            user.make_xdg();
            return user;
        }
        // useradd fails while another holds the passwd lock: retry.
        let mut last = None;
        let made = wait_for(WAIT, || {
            let out = run_root("useradd", &args);
            let ok = out.status.success();
            last = Some(out);
            ok
        });
        let last = last.expect("useradd ran");
        assert!(
            made,
            "useradd {name}: {}",
            String::from_utf8_lossy(&last.stderr)
        );
        let id = |flag: &str| -> u32 {
            let out = run_root("id", &[flag, &name]);
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("id")
        };
        let user = TestUser {
            uid: id("-u"),
            gid: id("-g"),
            name,
            xdg,
            made: true,
            leader: None,
            bin: None,
            env: Vec::new(),
            removed: AtomicBool::new(false),
        };
        // useradd gives a non-system user a free range of 65536 ids in
        // /etc/subuid and /etc/subgid (SUB_UID_COUNT); add one where it
        // did not.
        if user.sub_range("/etc/subuid").is_none() || user.sub_range("/etc/subgid").is_none() {
            let base = 300_000_000 + u64::from(user.uid) * 65536;
            let range = format!("{base}-{}", base + 65535);
            let out = run_root(
                "usermod",
                &["--add-subuids", &range, "--add-subgids", &range, &user.name],
            );
            assert!(out.status.success(), "usermod: {out:?}");
        }
        user.make_xdg();
        user
    }

    pub fn make_xdg(&self) {
        std::fs::create_dir(&self.xdg).expect("mkdir xdg");
        std::os::unix::fs::chown(&self.xdg, Some(self.uid), Some(self.gid)).expect("chown xdg");
        std::fs::set_permissions(&self.xdg, std::fs::Permissions::from_mode(0o700))
            .expect("chmod xdg");
    }

    /// The user's first range in /etc/subuid or /etc/subgid.
    pub fn sub_range(&self, file: &str) -> Option<(u32, u32)> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 3 || f[0] != self.name {
                return None;
            }
            Some((f[1].parse().ok()?, f[2].trim().parse().ok()?))
        })
    }

    /// The runtime as this user, with no supplementary groups and a clean
    /// environment with $XDG_RUNTIME_DIR; first put, still as root, into
    /// `leader` where there is one.
    pub fn command(&self, cwd: &Path, args: &[&OsStr]) -> (Command, String) {
        let bin = self
            .bin
            .clone()
            .unwrap_or_else(|| pivot_bin().expect("PIVOT_BIN"));
        self.command_of(&bin, cwd, args)
    }

    /// `bin` as the user, as `command` runs the runtime.
    pub fn command_of(&self, bin: &Path, cwd: &Path, args: &[&OsStr]) -> (Command, String) {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("USER", &self.name)
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let procs = self.leader.as_ref().map(|l| {
            std::ffi::CString::new(l.join("cgroup.procs").as_os_str().as_bytes()).unwrap()
        });
        let uid = rustix::process::Uid::from_raw(self.uid);
        let gid = rustix::process::Gid::from_raw(self.gid);
        // Between fork and exec: plain system calls (rustix's, no libc
        // wrapper, no allocation) on a string made before the fork. The
        // child has one thread, so the per-thread setgroups, setresgid
        // and setresuid are the process's.
        let step = move || -> std::io::Result<()> {
            use rustix::fs::{Mode, OFlags};
            use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
            if let Some(p) = &procs {
                let fd = rustix::fs::open(
                    p.as_c_str(),
                    OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                if rustix::io::write(&fd, b"0")? != 1 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
            }
            set_thread_groups(&[])?;
            set_thread_res_gid(gid, gid, gid)?;
            set_thread_res_uid(uid, uid, uid)?;
            Ok(())
        };
        // SAFETY: the closure only makes async-signal-safe calls (raw
        // system calls, see above).
        unsafe { cmd.pre_exec(step) };
        let shown = format!(
            "(as {}) {} {}",
            self.name,
            bin.display(),
            args.iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        (cmd, shown)
    }

    pub fn pivot<S: AsRef<OsStr>>(&self, s: &Scratch, args: &[S]) -> Out {
        let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
        let (cmd, shown) = self.command(&s.dir, &args);
        s.run_command(cmd, shown)
    }

    /// The runtime's state root: the one directory it made in
    /// $XDG_RUNTIME_DIR.
    pub fn state_root(&self) -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&self.xdg)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        assert!(
            dirs.len() <= 1,
            "more than one dir in XDG_RUNTIME_DIR: {dirs:?}"
        );
        dirs.pop()
    }

    /// The containers the runtime still has state for.
    pub fn left(&self) -> Vec<String> {
        let Some(root) = self.state_root() else {
            return Vec::new();
        };
        std::fs::read_dir(root)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') && !n.contains('@'))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Processes running as the user (found by pid in /proc).
    pub fn processes(&self) -> Vec<i32> {
        std::fs::read_dir("/proc")
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
                        let md = std::fs::metadata(e.path()).ok()?;
                        // A zombie is dead already (the harness, their
                        // subreaper, reaps it).
                        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                        let zombie = stat
                            .rsplit_once(") ")
                            .is_some_and(|(_, r)| r.starts_with('Z'));
                        (md.uid() == self.uid && !zombie).then_some(pid)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        for problem in self.remove() {
            eprintln!("pivot-tests: left behind {problem}");
        }
    }
}

impl TestUser {
    /// Deletes the user's containers (as the user), kills what still runs
    /// as its uid, removes the user, its /etc/subuid and /etc/subgid
    /// lines and its $XDG_RUNTIME_DIR. Once; also run on drop. Returns
    /// what could not be removed.
    pub fn remove(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.removed.swap(true, Ordering::SeqCst) {
            return left;
        }
        // The user's own delete first, as after any real use.
        if let Some(root) = self.state_root() {
            let root = root.into_os_string();
            for id in self.left() {
                let args = [
                    OsStr::new("--root"),
                    &root,
                    OsStr::new("delete"),
                    OsStr::new("--force"),
                    OsStr::new(&id),
                ];
                let (mut cmd, _) = self.command(Path::new("/"), &args);
                let _ = cmd.output();
            }
        }
        // Whatever still runs as the user was started by this test.
        for pid in self.processes() {
            let _ = crate::sys::kill(pid, crate::sys::Signal::KILL);
        }
        if !wait_for(WAIT, || self.processes().is_empty()) {
            left.push(format!(
                "processes of {}: {:?}",
                self.name,
                self.processes()
            ));
        }
        if self.made {
            // userdel fails while another holds the passwd lock: retry.
            let gone = wait_for(WAIT, || {
                let _ = run_root("userdel", &[&self.name]);
                !run_root("id", &[&self.name]).status.success()
            });
            if !gone {
                left.push(format!("user {}", self.name));
            }
        }
        // userdel removes the user's subordinate ids; make sure.
        for file in ["/etc/subuid", "/etc/subgid"] {
            if let Ok(text) = std::fs::read_to_string(file) {
                let prefix = format!("{}:", self.name);
                if text.lines().any(|l| l.starts_with(&prefix)) {
                    let kept: String = text
                        .lines()
                        .filter(|l| !l.starts_with(&prefix))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    if std::fs::write(file, kept).is_err() {
                        left.push(format!("{file} line of {}", self.name));
                    }
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.xdg) {
            if e.kind() != std::io::ErrorKind::NotFound {
                left.push(format!("{}: {e}", self.xdg.display()));
            }
        }
        left
    }
}
