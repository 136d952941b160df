//! The `iochunt` binary: parses the command line and hands each subcommand to its module in
//! `commands/`. Errors print as one `iochunt: ...` chain on stderr and exit 2; a closed
//! pipe (`iochunt ... | head`) ends quietly.

mod args;
mod commands;
mod data;
mod feeds;
mod output;
mod progress;
mod sample;
mod scenarios;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("iochunt: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
