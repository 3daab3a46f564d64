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
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&e);
            1
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
