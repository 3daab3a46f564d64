use super::checkpoint::criu_options;
use super::create_options;
use crate::cli::RestoreFlags;
use pivot_core::{CriuOptions, Error, Result, Runtime};

/// Exits with the container's status in the foreground, 0 once restored
/// with --detach.
pub fn run(rt: &Runtime, f: &RestoreFlags, id: &str) -> Result<i32> {
    if f.create.preserve_fds > 0 || f.create.pidfd_socket.is_some() {
        return Err(Error::unsupported(
            "--preserve-fds and --pidfd-socket do not apply to a restore (its files come from the images)",
        ));
    }
    let o = CriuOptions {
        lsm_profile: f.lsm_profile.clone(),
        lsm_mount_context: f.lsm_mount_context.clone(),
        ..criu_options(&f.criu)
    };
    rt.restore(id, &create_options(&f.create), &o, f.detach)
}
