use super::procfs::{create_and_check_sysctl, set_sysctl};
use super::*;
use crate::attack::CANARY_UID;

tests![
    race_bind_source_exchange,
    race_mkdir_in_shared_volume,
    race_destination_exchange_into_proc,
];

// Races on host paths and shared volumes

/// How many containers are started while a swapper races, and for how
/// long at most.
pub(super) const RACE_CONTAINERS: usize = 20;
pub(super) const RACE_BUDGET: Duration = Duration::from_secs(12);
/// A swapper stops on its own after this long, in case a test panics
/// before it is stopped.
pub(super) const SWAP_BOUND: Duration = Duration::from_secs(72);

/// Runs up to `rounds` containers with `one` (bounded by `budget`),
/// checking the canaries after each; `one` returns whether the container
/// ran (else it was refused).
#[track_caller]
pub(super) fn race_loop(
    guard: &Guard,
    rounds: usize,
    budget: Duration,
    mut one: impl FnMut() -> bool,
) -> (usize, usize) {
    let started = Instant::now();
    let (mut ran, mut refused) = (0, 0);
    for _ in 0..rounds {
        if started.elapsed() > budget {
            break;
        }
        if one() {
            ran += 1;
        } else {
            refused += 1;
        }
        guard.assert_canaries();
    }
    (ran, refused)
}

/// A bind source on the host (`shared/src`, a directory) that a thread
/// swaps with a symlink to a canary dir while containers are started.
/// Binding a host path is the caller's choice, so a container may see
/// either directory; the runtime must never create, chown or mount
/// anything outside: the canary gets no mount and no entry, and every
/// container either fails cleanly or sees one of the two (told apart by
/// their owners).
fn race_bind_source_exchange(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_dir(s, "canary-dir");
    let shared = s.mkdir("esc-shared");
    let src = shared.join("src");
    std::fs::create_dir(&src).expect("mkdir shared/src");
    std::fs::write(src.join("from-src"), "src\n").expect("write shared/src/from-src");
    let alt = shared.join("alt");
    std::os::unix::fs::symlink(&canary, &alt).expect("symlink shared/alt");
    // In the rootless mode both owners are unmapped (nobody inside): the
    // two directories are told apart by inode number there.
    let ino = |p: &Path| std::fs::metadata(p).expect("stat").ino();
    let (src_ino, canary_ino) = (ino(&src), ino(&canary));
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "stat", "/vol/deeper/dir"]);
        bundle.add_mount(json!({
            "destination": "/vol/deeper/dir",
            "type": "bind",
            "source": src,
            "options": ["rbind", "rw"],
        }));
        let canary_path = host_str(&canary);
        let swapper = Swapper::start(&src, &alt, SWAP_BOUND);
        let mut saw_canary = 0;
        let (ran, refused) = race_loop(&guard, RACE_CONTAINERS, RACE_BUDGET, || {
            let before = mount_points();
            let id = s.id("race");
            let out = rt.run(s, &bundle, &id);
            assert!(
                !mount_points().contains(&canary_path),
                "a mount on the host canary {canary_path}"
            );
            if out.code != 0 {
                assert_refused_cleanly(s, &out, &id, &before);
                return false;
            }
            // The source dir is root's, the canary is CANARY_UID's.
            let seen = out.json();
            let uid = &seen[0]["uid"];
            let (is_src, is_canary) = if crate::harness::rootless() {
                (seen[0]["ino"] == src_ino, seen[0]["ino"] == canary_ino)
            } else {
                (uid == 0, uid == CANARY_UID)
            };
            assert!(
                seen[0]["type"] == "dir" && (is_src || is_canary),
                "the container saw neither directory at /vol/deeper/dir: {seen}\n{out}"
            );
            if is_canary {
                saw_canary += 1;
            }
            true
        });
        let swaps = swapper.finish();
        eprintln!(
            "pivot-tests: race: {ran} ran ({saw_canary} saw the symlink's target), \
             {refused} refused, {swaps} swaps"
        );
    });
}

/// A shared volume (/vol, bound from the scratch dir) holds `dir`, which
/// a thread swaps with a symlink to a host canary dir, while containers
/// whose config mounts a tmpfs on /vol/dir/esc-new/sub (missing: the
/// runtime makes it) are started: each fails cleanly or runs, and the
/// runtime never makes `esc-new` (or anything) in the canary
/// (CVE-2024-45310); resolved inside the root, the link names a path in
/// the rootfs.
fn race_mkdir_in_shared_volume(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_dir(s, "canary-dir");
    let shared = s.mkdir("esc-shared");
    let dir = shared.join("dir");
    std::fs::create_dir(&dir).expect("mkdir shared/dir");
    let link = shared.join("link");
    std::os::unix::fs::symlink(&canary, &link).expect("symlink shared/link");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/bin/true"]);
        bind_at(&bundle, &shared, "/vol", &["rbind", "rw"]);
        bundle.add_mount(json!({
            "destination": "/vol/dir/esc-new/sub",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["size=64k"],
        }));
        let swapper = Swapper::start(&dir, &link, SWAP_BOUND);
        let (ran, refused) = race_loop(&guard, RACE_CONTAINERS, RACE_BUDGET, || {
            let before = mount_points();
            let id = s.id("race");
            let out = rt.run(s, &bundle, &id);
            if out.code != 0 {
                assert_refused_cleanly(s, &out, &id, &before);
                return false;
            }
            true
        });
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {ran} ran, {refused} refused, {swaps} swaps");
    });
}

/// A destination in a shared volume (/vol, bound from the scratch dir)
/// whose directory `dir` a thread swaps with a symlink to
/// /proc/sys/net/ipv4 while containers with linux.sysctl ip_forward=1 and
/// a bind of a canary file on /vol/dir/ip_forward are created: each is
/// refused, or the sysctl lands in its network namespace, and the canary
/// never changes (CVE-2025-52881).
fn race_destination_exchange_into_proc(s: &Scratch) {
    let rt = Rt::new(s);
    let canary = canary_file(s, "canary");
    let shared = s.mkdir("esc-shared");
    let dir = shared.join("dir");
    std::fs::create_dir(&dir).expect("mkdir shared/dir");
    std::fs::write(dir.join("ip_forward"), "volume\n").expect("write shared/dir/ip_forward");
    let link = shared.join("link");
    std::os::unix::fs::symlink("/proc/sys/net/ipv4", &link).expect("symlink shared/link");
    let guard = Guard::new(&rt, &[&canary]);
    checked(s, &guard, || {
        let bundle = s.bundle(&["/probe", "sleep", "30"]);
        set_sysctl(&bundle);
        bind_at(&bundle, &shared, "/vol", &["rbind", "rw"]);
        bundle.add_mount(json!({
            "destination": "/vol/dir/ip_forward",
            "type": "bind",
            "source": canary,
            "options": ["bind", "rw"],
        }));
        let swapper = Swapper::start(&dir, &link, SWAP_BOUND);
        // More rounds: a runtime that writes sysctls through the
        // container's /proc loses this race only now and then.
        let (ran, refused) = race_loop(&guard, 5 * RACE_CONTAINERS, 5 * RACE_BUDGET / 2, || {
            create_and_check_sysctl(s, &rt, &bundle)
        });
        let swaps = swapper.finish();
        eprintln!("pivot-tests: race: {ran} created, {refused} refused, {swaps} swaps");
    });
}

// ---------------------------------------------------------------------
