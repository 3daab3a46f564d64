//! Many containers at once: no lock, state or cgroup clash between them.

use crate::harness::{catch, tests, Scratch, WAIT};
use crate::host::wait_for;

tests![
    twenty_containers_at_once,
    two_hundred_created_and_started_at_once
];

const COUNT: usize = 20;

fn twenty_containers_at_once(s: &Scratch) {
    let bundles: Vec<_> = (0..COUNT)
        .map(|_| s.bundle(&["/probe", "sleep", "30"]))
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = bundles
            .iter()
            .enumerate()
            .map(|(n, bundle)| {
                scope.spawn(move || {
                    catch(|| {
                        let id = s.id("par");
                        s.create_started(&bundle.dir, &id);
                        assert_eq!(s.status(&id), "running");
                        if n % 2 == 0 {
                            s.pivot(&["kill", &id, "KILL"]).ok();
                            s.wait_status(&id, "stopped");
                            s.pivot(&["delete", &id]).ok();
                        } else {
                            s.pivot(&["delete", "--force", &id]).ok();
                        }
                        s.pivot(&["state", &id]).fails();
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("caught").err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {COUNT} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_all_gone(s);
}

/// 200 containers of one bundle created and started at once (the scale
/// callers reach: a node's pods starting together) all run, `list` shows
/// every one running, and a parallel `delete --force` leaves nothing.
fn two_hundred_created_and_started_at_once(s: &Scratch) {
    const MANY: usize = 200;
    // Long enough to outlast the creates on a slow machine (an emulated
    // CPU takes over a minute for 200): the delete ends them.
    let bundle = s.bundle(&["/probe", "sleep", "3600"]);
    let ids: Vec<String> = (0..MANY).map(|_| s.id("many")).collect();
    let each = |f: &(dyn Fn(&str) + Sync)| -> Vec<String> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .iter()
                .map(|id| scope.spawn(move || catch(|| f(id)).map_err(|e| format!("{id}: {e}"))))
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().expect("caught").err())
                .collect()
        })
    };
    let failures = each(&|id| {
        s.create_started(&bundle.dir, id);
    });
    assert!(
        failures.is_empty(),
        "{} of {MANY} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let out = s.pivot(&["list", "--format", "json"]).ok();
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("list JSON");
    let running = listed
        .iter()
        .filter(|c| c["status"] == "running" && ids.iter().any(|id| c["id"] == id.as_str()))
        .count();
    assert_eq!(running, MANY, "{}", out.stdout);
    let failures = each(&|id| {
        s.pivot(&["delete", "--force", id]).ok();
    });
    assert!(failures.is_empty(), "delete: {}", failures.join("\n"));
    assert_all_gone(s);
}

/// Once every container is deleted: none listed, no process, no cgroup.
fn assert_all_gone(s: &Scratch) {
    s.reap();
    assert!(s.list_ids().is_empty(), "left in list: {:?}", s.list_ids());
    assert!(
        wait_for(WAIT, || s.find_processes().is_empty()),
        "processes left: {:?}",
        s.find_processes()
    );
    assert!(
        s.find_cgroups().is_empty(),
        "cgroups left: {:?}",
        s.find_cgroups()
    );
}
