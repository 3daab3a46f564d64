//! pivot-gen: pivot's man pages and shell completions, generated from the
//! clap definition `pivot --help` prints (crates/pivot/src/cli.rs, compiled
//! in here as it is), so they cannot drift from it.
//!
//! usage: pivot-gen man DIR           DIR/pivot.8, DIR/pivot-create.8, ...
//!        pivot-gen completions DIR   DIR/pivot.bash, DIR/_pivot, DIR/pivot.fish

// pivot-gen writes files into the directory it is given (and its tests
// into scratch dirs); clippy.toml's host-path lint is for rootfs code.
#![allow(clippy::disallowed_methods)]

// The fields are read by pivot's commands, not here.
#[allow(dead_code)]
#[path = "../../pivot/src/cli.rs"]
mod cli;
mod completions;
mod man;

use clap::CommandFactory;
use std::path::Path;

/// pivot's command line with globals propagated and bin names set, as
/// `pivot SUBCOMMAND --help` sees it.
pub fn command() -> clap::Command {
    let mut cmd = cli::Cli::command();
    cmd.build();
    cmd
}

fn write_all(dir: &Path, files: Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, data) in files {
        std::fs::write(dir.join(&name), data).map_err(|e| {
            std::io::Error::new(e.kind(), format!("{}: {e}", dir.join(name).display()))
        })?;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["man", dir] => write_all(Path::new(dir), man::pages()),
        ["completions", dir] => write_all(Path::new(dir), completions::scripts()),
        _ => {
            eprintln!("usage: pivot-gen man DIR | pivot-gen completions DIR");
            std::process::exit(2);
        }
    };
    if let Err(e) = r {
        eprintln!("pivot-gen: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests;
