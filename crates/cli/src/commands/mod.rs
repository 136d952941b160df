//! One module per subcommand; `run` dispatches to them.

mod fmt;
mod generate;
mod hunt;
mod iocs;
mod lint;
mod query;

use crate::args::{Cli, Command};
use std::process::ExitCode;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let v = cli.verbosity;
    match cli.command {
        Command::Iocs(a) => iocs::run(a, v),
        Command::Fmt(a) => fmt::run(a),
        Command::Generate(a) => generate::run(a, v),
        Command::Hunt(a) => hunt::run(a, v),
        Command::Lint(a) => lint::run(a, v),
        Command::Query(a) => query::run(a, v),
    }
}
