//! One file per command; each is a few lines around a pivot-core call.

mod check;
mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod explain;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod restore;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use crate::cli::{Cli, Command, CreateFlags};
use pivot_core::{CreateOptions, Result, Runtime};

/// Run the command; Ok(exit code).
pub fn dispatch(cli: &Cli) -> Result<i32> {
    let g = &cli.global;
    let rootless = pivot_core::rootless::parse_mode(&g.rootless)?;
    let root = match &g.root {
        Some(root) => root.clone(),
        None => {
            let (root, xdg) = pivot_core::rootless::default_root();
            if xdg {
                pivot_core::rootless::prepare_xdg_root(&root)?;
            }
            root
        }
    };
    let rt = Runtime::new(root)
        .with_warn(crate::log::warn)
        .with_rootless_cgroups(pivot_core::rootless::rootless_cgroups(rootless))
        .with_systemd_cgroup(g.systemd_cgroup);
    let (name, id, r) = match &cli.command {
        Command::Spec { bundle, rootless } => ("spec", None, spec::run(bundle, *rootless)),
        Command::Create { flags, id } => ("create", Some(id), create::run(&rt, flags, id)),
        Command::Start { id } => ("start", Some(id), start::run(&rt, id)),
        Command::Run {
            flags,
            detach,
            keep,
            id,
        } => ("run", Some(id), run::run(&rt, flags, *detach, *keep, id)),
        Command::Exec { flags, id, command } => {
            ("exec", Some(id), exec::run(&rt, flags, id, command))
        }
        Command::State { id } => ("state", Some(id), state::run(&rt, id)),
        Command::Kill { all, id, signal } => ("kill", Some(id), kill::run(&rt, id, signal, *all)),
        Command::Delete { force, id } => ("delete", Some(id), delete::run(&rt, id, *force)),
        Command::List { format, quiet } => ("list", None, list::run(&rt, *format, *quiet)),
        Command::Features => ("features", None, features::run()),
        Command::Check { format } => ("check", None, check::run(*format)),
        Command::Pause { id } => ("pause", Some(id), pause::run(&rt, id)),
        Command::Resume { id } => ("resume", Some(id), resume::run(&rt, id)),
        Command::Ps {
            format,
            id,
            ps_args,
        } => ("ps", Some(id), ps::run(&rt, *format, id, ps_args)),
        Command::Update { flags, id } => ("update", Some(id), update::run(&rt, flags, id)),
        Command::Checkpoint { flags, id } => {
            ("checkpoint", Some(id), checkpoint::run(&rt, flags, id))
        }
        Command::Restore { flags, id } => ("restore", Some(id), restore::run(&rt, flags, id)),
        Command::Explain {
            bundle,
            format,
            no_pivot,
            id,
        } => (
            "explain",
            None,
            explain::run(g, &rt, bundle, *format, *no_pivot, id),
        ),
        Command::Events {
            stats,
            interval,
            id,
        } => ("events", Some(id), events::run(&rt, *stats, interval, id)),
    };
    r.map_err(|e| match id {
        Some(id) => e.context(format!("{name} {id:?}")),
        None => e.context(name),
    })
}

pub fn create_options(f: &CreateFlags) -> CreateOptions {
    CreateOptions {
        bundle: f.bundle.clone(),
        pid_file: f.pid_file.clone(),
        console_socket: f.console_socket.clone(),
        no_pivot: f.no_pivot,
        no_new_keyring: f.no_new_keyring,
        preserve_fds: f.preserve_fds,
        pidfd_socket: f.pidfd_socket.clone(),
    }
}
