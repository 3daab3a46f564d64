use super::races::{race_loop, RACE_BUDGET, RACE_CONTAINERS, SWAP_BOUND};
use super::*;
use crate::sys::{poll_read, recv_fd};

tests![
    console_symlink_to_host_canary,
    console_symlink_climbing_to_host_canary,
    console_symlink_into_proc,
    race_console_symlink_exchange,
];

// /dev/console (CVE-2025-52565)

/// A --console-socket receiver: accepts one connection, takes the pty
/// master and reads it until the container side hangs up, so the
/// container never blocks on its terminal. Stops when told or after a
/// bound.
struct ConsoleReceiver {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<bool>>,
}

impl ConsoleReceiver {
    fn start(s: &Scratch) -> ConsoleReceiver {
        let path = s.path("esc-console.sock");
        let listener = crate::harness::runtime_socket(&path, UnixListener::bind);
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let conn = loop {
                if flag.load(Ordering::Relaxed) || Instant::now() > deadline {
                    return false;
                }
                match listener.accept() {
                    Ok((c, _)) => break c,
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            };
            conn.set_nonblocking(false).expect("blocking connection");
            let Some((_, master)) = recv_fd(&conn) else {
                return false;
            };
            let mut buf = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                match poll_read(&master, &mut buf, Duration::from_millis(50)) {
                    None => continue,
                    Some(0) => break,
                    Some(_) => {}
                }
            }
            true
        });
        ConsoleReceiver {
            path,
            stop,
            thread: Some(thread),
        }
    }

    /// Whether a pty master was received.
    fn finish(mut self) -> bool {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .is_some_and(|t| t.join().unwrap_or(false))
    }
}

impl Drop for ConsoleReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A bundle with a terminal, no tmpfs on /dev (the image's /dev is used),
/// and a process that reports the container's mounts and /dev/console to
/// /result.
fn console_bundle(s: &Scratch) -> (Bundle, PathBuf) {
    let (bundle, result) = s.bundle_with_result(&[
        "/bin/sh",
        "-c",
        "/probe mounts > /result/mounts; /probe stat /dev/console > /result/console",
    ]);
    bundle.edit(|c| c["process"]["terminal"] = json!(true));
    remove_mount(&bundle, "/dev");
    (bundle, result)
}

/// What one console container did.
enum ConsoleRun {
    Refused,
    /// The container's mounts and `stat /dev/console`.
    Ran(Value, Value),
}

/// `create --console-socket` and `start` the bundle, then read what it
/// reported. A refusal must leave nothing behind.
#[track_caller]
fn console_run(s: &Scratch, rt: &Rt, bundle: &Bundle, result: &Path) -> ConsoleRun {
    for f in ["mounts", "console"] {
        let _ = std::fs::remove_file(result.join(f));
    }
    let receiver = ConsoleReceiver::start(s);
    let before = mount_points();
    let id = s.id("console");
    let out = rt.cmd(
        s,
        &[
            os("create"),
            os("--console-socket"),
            receiver.path.as_os_str(),
            os("--bundle"),
            bundle.dir.as_os_str(),
            os(&id),
        ],
    );
    if out.code != 0 {
        receiver.finish();
        assert_refused_cleanly(s, &out, &id, &before);
        return ConsoleRun::Refused;
    }
    init_pid(s, &id);
    rt.cmd(s, &["start", &id]).ok();
    s.wait_status(&id, "stopped");
    let got_master = receiver.finish();
    rt.cmd(s, &["delete", &id]).ok();
    s.reap();
    assert!(got_master, "no pty master came to the console socket");
    let read = |name: &str| {
        let text = std::fs::read_to_string(result.join(name))
            .unwrap_or_else(|e| panic!("result/{name}: {e}"));
        json_of(&text, name)
    };
    ConsoleRun::Ran(read("mounts"), read("console"))
}

/// The container's mounts whose mount point is under /proc and whose
/// filesystem is devpts (a pty mounted over a procfs file).
fn ptys_under_proc(mounts: &Value) -> Vec<&Value> {
    mounts
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| {
                    m["fs_type"] == "devpts"
                        && m["mount_point"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("/proc/"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the pty was mounted in the container (for the log).
fn pty_mounts(mounts: &Value) -> Vec<String> {
    mounts
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["fs_type"] == "devpts" && m["mount_point"] != "/dev/pts")
                .map(|m| m["mount_point"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// rootfs/dev/console is a symlink (made by `target`) to a host canary
/// file: refused, or the host canary keeps content, mode and owner, gets
/// no mount, and nothing is made outside the rootfs.
fn console_symlink(s: &Scratch, target: impl FnOnce(&Path, &Path) -> String) {
    let canary = canary_file(s, "canary");
    guarded(s, &[&canary], |rt| {
        let (bundle, result) = console_bundle(s);
        let link = in_rootfs(&bundle, "/dev/console");
        symlink_in_rootfs(&bundle, "/dev/console", &target(&link, &canary));
        if let ConsoleRun::Ran(mounts, console) = console_run(s, rt, &bundle, &result) {
            eprintln!(
                "pivot-tests: /dev/console {}; pty mounted at {:?}",
                console[0],
                pty_mounts(&mounts)
            );
            assert!(ptys_under_proc(&mounts).is_empty(), "{mounts}");
        }
    });
}

fn console_symlink_to_host_canary(s: &Scratch) {
    console_symlink(s, |_, canary| host_str(canary));
}

fn console_symlink_climbing_to_host_canary(s: &Scratch) {
    console_symlink(s, climbing);
}

/// rootfs/dev/console -> /proc/sys/kernel/hostname (the container's own,
/// UTS-namespaced): refused, or the pty is not mounted over a procfs
/// file (SECURITY.md rule 4: nothing but lxcfs's files is mounted over
/// files under /proc).
fn console_symlink_into_proc(s: &Scratch) {
    guarded(s, &[], |rt| {
        let (bundle, result) = console_bundle(s);
        symlink_in_rootfs(&bundle, "/dev/console", "/proc/sys/kernel/hostname");
        if let ConsoleRun::Ran(mounts, console) = console_run(s, rt, &bundle, &result) {
            let over_proc = ptys_under_proc(&mounts);
            assert!(
                over_proc.is_empty(),
                "the console pty was mounted over a procfs file through the image's \
                 /dev/console symlink ({}): {over_proc:?}",
                console[0]
            );
        }
    });
}

/// rootfs/dev/console (a regular file) is swapped by a thread with a
/// symlink to a host canary file while containers with a terminal start:
/// each is refused or runs, and the canary never changes or gets a mount.
fn race_console_symlink_exchange(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let (bundle, result) = console_bundle(s);
        let console = in_rootfs(&bundle, "/dev/console");
        remove_any(&console);
        std::fs::write(&console, "").expect("write rootfs/dev/console");
        let link = in_rootfs(&bundle, "/dev/esc-console-link");
        std::os::unix::fs::symlink(&canary, &link).expect("symlink rootfs/dev/esc-console-link");
        let canary_path = host_str(&canary);
        let swapper = Swapper::start(&console, &link, SWAP_BOUND);
        let (ran, refused) = race_loop(&guard, RACE_CONTAINERS, RACE_BUDGET, || {
            let run = console_run(s, &rt, &bundle, &result);
            assert!(
                !mount_points().contains(&canary_path),
                "a mount on the host canary {canary_path}"
            );
            match run {
                ConsoleRun::Refused => false,
                ConsoleRun::Ran(mounts, _) => {
                    assert!(ptys_under_proc(&mounts).is_empty(), "{mounts}");
                    true
                }
            }
        });
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {ran} ran, {refused} refused, {swaps} swaps");
    });
}

// ---------------------------------------------------------------------
