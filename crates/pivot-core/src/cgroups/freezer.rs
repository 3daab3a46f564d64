//! `pause` / `resume`: the v1 freezer (freezer.state) or the cgroup2
//! freezer (cgroup.freeze, confirmed by cgroup.events). On a hybrid host
//! without a v1 freezer hierarchy the cgroup2 tree's freezer is used.

use super::resources::v1_dir;
use super::{write_file, CgroupDir};
use crate::error::{Context, Error, ErrorKind, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The container's freezer: (dir, is cgroup2).
pub fn freezer_dir(dirs: &[CgroupDir]) -> Option<(PathBuf, bool)> {
    if let Some(d) = v1_dir(dirs, "freezer") {
        return Some((d.path(), false));
    }
    dirs.iter()
        .find(|d| d.hierarchy.is_v2() && d.path() != d.hierarchy.mount)
        .map(|d| (d.path(), true))
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Whether the freezer reports the cgroup frozen.
pub fn frozen(dirs: &[CgroupDir]) -> bool {
    match freezer_dir(dirs) {
        Some((d, false)) => read(&d.join("freezer.state")).trim() == "FROZEN",
        Some((d, true)) => read(&d.join("cgroup.freeze")).trim() == "1",
        None => false,
    }
}

/// Freeze (or thaw) and wait until the kernel reports it done.
pub fn set(dirs: &[CgroupDir], freeze: bool) -> Result<()> {
    let Some((d, v2)) = freezer_dir(dirs) else {
        return Err(Error::unsupported(
            "the container has no freezer cgroup (no v1 freezer hierarchy or cgroup2 tree)",
        ));
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    if v2 {
        let file = d.join("cgroup.freeze");
        write_file(&file, if freeze { "1" } else { "0" })?;
        let want = if freeze { "frozen 1" } else { "frozen 0" };
        loop {
            let events = read(&d.join("cgroup.events"));
            // Kernels before 5.2 have no cgroup.freeze at all; the write
            // above failed then. An events file without "frozen" is a
            // kernel that does not report it: trust the write.
            if events.lines().any(|l| l.trim() == want) || !events.contains("frozen ") {
                return Ok(());
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    } else {
        let file = d.join("freezer.state");
        let want = if freeze { "FROZEN" } else { "THAWED" };
        loop {
            // Writing FROZEN again kicks a freeze stuck in FREEZING (a task
            // that was forking), as runc does.
            write_file(&file, want)?;
            if read(&file).trim() == want {
                return Ok(());
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    if freeze {
        // Leave nothing half frozen.
        let _ = set(dirs, false);
    }
    Err(Error::new(
        ErrorKind::Other,
        format!(
            "{} did not become {} within 5s",
            d.display(),
            if freeze { "frozen" } else { "thawed" }
        ),
    ))
    .ctx("freezer")
}
