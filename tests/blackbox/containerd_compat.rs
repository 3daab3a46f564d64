//! What containerd's runc shim (containerd-shim-runc-v2) relies on, seen
//! from the command line. `ctr task delete --force` and `ctr task kill -s
//! SIGKILL` of a paused task make the shim run `kill [--all] ID KILL` and
//! then wait for the exit: SIGKILL must end a paused container (a process
//! frozen by the v1 freezer does not die until thawed), as with runc;
//! other signals leave it paused.
//! scripts/containerd/run.sh drives the same through containerd.

use std::time::Duration;

use crate::harness::{tests, Scratch};

tests![
    sigkill_all_ends_a_paused_container,
    sigkill_ends_a_paused_container,
    sigterm_leaves_a_paused_container_paused,
];

/// A running container with two processes, paused; its id. The init exits
/// on SIGTERM (as a pid namespace's init it ignores signals it has no
/// handler for).
fn paused_container(s: &Scratch, tag: &str) -> String {
    let bundle = s.bundle(&["/bin/sh", "-c", "trap 'exit 3' TERM; sleep 1000 & wait"]);
    let id = s.id(tag);
    s.create_started(&bundle.dir, &id);
    s.pivot(&["pause", &id]).ok();
    assert_eq!(s.status(&id), "paused");
    id
}

/// Runs `check`; whatever it did, thaws and removes the container after.
fn then_remove(s: &Scratch, id: &str, check: impl FnOnce()) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
    s.pivot(&["resume", id]);
    s.pivot(&["delete", "--force", id]);
    s.reap();
    r.unwrap_or_else(|e| std::panic::resume_unwind(e));
}

fn sigkill_all_ends_a_paused_container(s: &Scratch) {
    let id = paused_container(s, "pkillall");
    then_remove(s, &id, || {
        s.pivot(&["kill", "--all", &id, "KILL"]).ok();
        s.wait_status(&id, "stopped");
        s.delete(&id);
        assert!(!s.list_ids().contains(&id), "still listed after delete");
    });
}

fn sigkill_ends_a_paused_container(s: &Scratch) {
    let id = paused_container(s, "pkill");
    then_remove(s, &id, || {
        s.pivot(&["kill", &id, "KILL"]).ok();
        s.wait_status(&id, "stopped");
        s.delete(&id);
        assert!(!s.list_ids().contains(&id), "still listed after delete");
    });
}

fn sigterm_leaves_a_paused_container_paused(s: &Scratch) {
    let id = paused_container(s, "pterm");
    then_remove(s, &id, || {
        s.pivot(&["kill", &id, "TERM"]).ok();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            s.status(&id),
            "paused",
            "SIGTERM changed a paused container"
        );
        // Delivered once thawed: sh dies of it.
        s.pivot(&["resume", &id]).ok();
        s.wait_status(&id, "stopped");
        s.delete(&id);
    });
}
