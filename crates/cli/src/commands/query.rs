//! `iochunt query`: run any KQL over local exports and print the result.

use crate::args::{QueryArgs, QueryFormat, Verbosity};
use crate::output::{csv_cell, text_table};
use engine::{Table, Type};
use serde_json::{json, Value as Json};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(args: QueryArgs, v: Verbosity) -> anyhow::Result<ExitCode> {
    let (name, text) = match args.query.strip_prefix('@') {
        Some(file) => super::fmt::read_query(file)?,
        None => ("<query>".to_string(), args.query.clone()),
    };
    let query = match kql::parse(&text) {
        Ok(q) => q,
        Err(errs) => {
            for e in &errs {
                eprint!("{}", e.render(&text, &name));
            }
            return Ok(ExitCode::from(2));
        }
    };
    let catalog = Arc::new(crate::data::catalog(&args.data, args.strict)?);
    let table = engine::run_query(&query, catalog.clone())?;
    if !v.quiet {
        for s in catalog.stats() {
            for p in s.problems.iter().chain(&s.warnings) {
                eprintln!("iochunt: {p}");
            }
            if s.malformed > 0 {
                eprintln!(
                    "iochunt: {}: {} malformed rows skipped",
                    s.file, s.malformed
                );
            }
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        QueryFormat::Json => writeln!(out, "{}", to_json(&table))?,
        QueryFormat::Jsonl => {
            for r in &table.rows {
                let obj: serde_json::Map<String, Json> = table
                    .columns
                    .iter()
                    .zip(&r.values)
                    .map(|(c, v)| (c.name.clone(), v.to_json()))
                    .collect();
                writeln!(out, "{}", Json::Object(obj))?;
            }
        }
        QueryFormat::Csv => {
            let header: Vec<String> = table.columns.iter().map(|c| csv_cell(&c.name)).collect();
            writeln!(out, "{}", header.join(","))?;
            for r in &table.rows {
                let cells: Vec<String> = r
                    .values
                    .iter()
                    .map(|v| csv_cell(&v.to_kusto_string()))
                    .collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
        QueryFormat::Table => {
            let header: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            let rows: Vec<Vec<String>> = table
                .rows
                .iter()
                .map(|r| r.values.iter().map(|v| v.to_kusto_string()).collect())
                .collect();
            write!(out, "{}", text_table(&header, &rows))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `{"columns": [{"name", "type"}], "rows": [[...]]}`.
pub fn to_json(t: &Table) -> Json {
    let columns: Vec<Json> = t
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": type_name(c.ty)}))
        .collect();
    let rows: Vec<Json> = t
        .rows
        .iter()
        .map(|r| Json::Array(r.values.iter().map(|v| v.to_json()).collect()))
        .collect();
    json!({"columns": columns, "rows": rows})
}

/// Type names as the conformance encoding writes them: int for int and long alike (the
/// value range says which), real for real and decimal.
fn type_name(t: Type) -> &'static str {
    match t {
        Type::Decimal => "real",
        t => t.name(),
    }
}
