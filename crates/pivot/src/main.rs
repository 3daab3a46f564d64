//! The `pivot` command line: runc's commands, flags and exit codes, each a
//! short call into pivot-core.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod log;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let logger = log::Logger::new(&cli.global);
    log::install(&logger);
    if cli.global.debug {
        let l = logger.clone();
        pivot_core::debug::set_sink(move |m, fields| l.debug(m, fields));
        pivot_core::debug::log(|| {
            let args: Vec<String> = std::env::args().skip(1).collect();
            format!(
                "pivot version {}: {}",
                env!("CARGO_PKG_VERSION"),
                args.join(" ")
            )
        });
    }
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&e);
            // runc's exec exits 255 when it could not run the process, so
            // callers can tell that from the process's own exit status.
            if matches!(cli.command, cli::Command::Exec { .. }) {
                255
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

/// Print a line on stdout; a reader that went away (`pivot list | head`)
/// is not an error.
pub fn out(line: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
}
