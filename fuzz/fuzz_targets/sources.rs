//! Fuzzes the source readers and the prefilter: the input, read as a JSON-lines, CSV or
//! JSON array file (by its first byte), is queried for a literal with the prefilter (`T | where ...`)
//! and without it (through `let`, which reads the whole table). No input may panic, and the
//! two must agree: the same error, or the same rows from the same lines.
#![no_main]
use engine::{run_query, Catalog, Source};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

/// Literals with the bytes that escapes and case folding touch: `/`, `u`, `k` (the Kelvin
/// sign folds to it), digits and dots.
const LITERALS: [&str; 5] = ["a/b", "u1", "k", "91.92.34.228", "x.io"];
const OPERATORS: [&str; 4] = ["has", "contains", "==", "=~"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("iochunt-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kind = usize::from(pick) % 3;
    let path = dir.join(["T.jsonl", "T.csv", "T.json"][kind]);
    let mut text = if kind == 1 { b"a,b\n".to_vec() } else { Vec::new() };
    text.extend_from_slice(body);
    std::fs::write(&path, &text).unwrap();
    let literal = LITERALS[usize::from(pick) / 3 % LITERALS.len()];
    let op = OPERATORS[usize::from(pick) / 15 % OPERATORS.len()];
    let run = |q: String| {
        let mut catalog = Catalog::new();
        catalog.bind("T", Source::new(path.clone(), "T".into()));
        let query = kql::parse(&q).expect("the query parses");
        run_query(&query, Arc::new(catalog)).map(|t| {
            t.rows
                .iter()
                .map(|r| {
                    let line = r.provenance.as_ref().map(|p| p.line);
                    let values: Vec<String> = r.values.iter().map(|v| v.to_kusto_string()).collect();
                    format!("{line:?} {}", values.join("|"))
                })
                .collect::<Vec<_>>()
        })
        .map_err(|e| e.to_string())
    };
    let pred = format!("a {op} '{literal}'");
    let direct = run(format!("T | where {pred}"));
    let whole = run(format!("let x = T; x | where {pred}"));
    assert_eq!(direct, whole, "{pred}");
});
