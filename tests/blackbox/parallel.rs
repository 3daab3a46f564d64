//! Many containers at once: no lock, state or cgroup clash between them.

use crate::harness::{catch, tests, Scratch, WAIT};
use crate::host::wait_for;

tests![twenty_containers_at_once];

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
