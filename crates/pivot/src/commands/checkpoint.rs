use crate::cli::{CheckpointFlags, CriuFlags};
use pivot_core::{CriuOptions, Result, Runtime};
use std::path::PathBuf;

/// The flags both directions share; the image path defaults to
/// ./checkpoint, as runc's does.
pub fn criu_options(f: &CriuFlags) -> CriuOptions {
    CriuOptions {
        image_path: f
            .image_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("checkpoint")),
        work_path: f.work_path.clone(),
        tcp_established: f.tcp_established,
        ext_unix_sk: f.ext_unix_sk,
        shell_job: f.shell_job,
        file_locks: f.file_locks,
        manage_cgroups_mode: f.manage_cgroups_mode.clone(),
        empty_ns: f.empty_ns.clone(),
        auto_dedup: f.auto_dedup,
        lazy_pages: f.lazy_pages,
        ..Default::default()
    }
}

pub fn run(rt: &Runtime, f: &CheckpointFlags, id: &str) -> Result<i32> {
    let o = CriuOptions {
        parent_path: f.parent_path.clone(),
        leave_running: f.leave_running,
        pre_dump: f.pre_dump,
        status_fd: f.status_fd,
        page_server: f.page_server.clone(),
        ..criu_options(&f.criu)
    };
    rt.checkpoint(id, &o)?;
    Ok(0)
}
