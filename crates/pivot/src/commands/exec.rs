use crate::cli::ExecFlags;
use pivot_core::{ExecOptions, Result, Runtime};

/// Exits with the process's status, or 0 once started with --detach.
pub fn run(rt: &Runtime, f: &ExecFlags, id: &str, command: &[String]) -> Result<i32> {
    let opts = ExecOptions {
        process_json: f.process.clone(),
        args: command.to_vec(),
        tty: f.tty,
        console_socket: f.console_socket.clone(),
        cwd: f.cwd.clone(),
        env: f.env.clone(),
        user: f.user.clone(),
        additional_gids: f.additional_gids.clone(),
        caps: f.cap.clone(),
        no_new_privs: f.no_new_privs,
        apparmor: f.apparmor.clone(),
        process_label: f.process_label.clone(),
        preserve_fds: f.preserve_fds,
        pid_file: f.pid_file.clone(),
        detach: f.detach,
        ignore_paused: f.ignore_paused,
        cgroup: f.cgroup.clone(),
        pidfd_socket: f.pidfd_socket.clone(),
    };
    rt.exec(id, &opts)
}
