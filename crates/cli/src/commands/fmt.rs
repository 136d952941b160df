//! `iochunt fmt`: check a query's syntax and print it in the canonical layout. Names of
//! tables, columns and functions are not resolved: this is a syntax check.

use crate::args::FmtArgs;
use anyhow::Context;
use std::io::{Read, Write};
use std::process::ExitCode;

pub fn run(args: FmtArgs) -> anyhow::Result<ExitCode> {
    let (name, text) = read_query(&args.file)?;
    match kql::parse(&text) {
        Ok(q) => {
            let mut out = std::io::stdout().lock();
            out.write_all(kql::format_query(&q).as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            for e in &errs {
                eprint!("{}", e.render(&text, &name));
            }
            eprintln!(
                "iochunt: {name}: {} syntax error{}",
                errs.len(),
                if errs.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(2))
        }
    }
}

/// Reads a query from a file or, for `-`, standard input; returns its display name too.
pub fn read_query(file: &str) -> anyhow::Result<(String, String)> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the query from stdin")?;
        return Ok(("<stdin>".into(), s));
    }
    let s = std::fs::read_to_string(file).with_context(|| format!("{file}: cannot read"))?;
    Ok((file.to_string(), s))
}
