//! The parser and formatter against real queries: the 595 published Sentinel hunting
//! queries and the Kusto conformance cases (../shared/data). Every query Kusto accepts must
//! parse, and format -> parse must give the same tree and be a fixed point.

use std::path::Path;

#[path = "../../../tools/kusto-oracle/oracle.rs"]
mod oracle;

fn corpus(rel: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn check_round_trip(q: &str, id: &str) -> Result<(), String> {
    let ast = kql::parse(q).map_err(|e| format!("{id}: parse: {}", e[0].render(q, id)))?;
    let printed = kql::format_query(&ast);
    let again = kql::parse(&printed).map_err(|e| {
        format!(
            "{id}: formatted text does not parse:\n{printed}\n{}",
            e[0].render(&printed, id)
        )
    })?;
    if again != ast {
        return Err(format!("{id}: tree changed after formatting:\n{printed}"));
    }
    let twice = kql::format_query(&again);
    if twice != printed {
        return Err(format!(
            "{id}: formatting is not idempotent:\n{printed}\n---\n{twice}"
        ));
    }
    Ok(())
}

#[test]
fn sentinel_queries_parse_and_round_trip() {
    let mut failures = Vec::new();
    let mut valid = 0;
    for case in corpus("kql-parse/sentinel-queries.jsonl") {
        let q = case["kql"].as_str().unwrap();
        let id = case["id"].as_str().unwrap();
        if case["valid"].as_bool().unwrap() {
            valid += 1;
            if let Err(e) = check_round_trip(q, id) {
                failures.push(e);
            }
        } else if kql::parse(q).is_ok() {
            failures.push(format!(
                "{id}: Kusto rejects this query; iochunt accepted it"
            ));
        }
    }
    assert_eq!(valid, 594);
    assert!(
        failures.is_empty(),
        "{} failures; first:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n\n")
    );
}

#[test]
fn conformance_queries_kusto_accepts_parse_and_round_trip() {
    let mut failures = Vec::new();
    for case in corpus("kql-conformance/cases.jsonl") {
        if case["error"].as_bool().unwrap() {
            continue;
        }
        let q = case["kql"].as_str().unwrap();
        if let Err(e) = check_round_trip(q, case["id"].as_str().unwrap()) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures; first:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n\n")
    );
}

#[test]
fn kusto_accepts_the_formatted_text_of_both_corpora() {
    let mut printed = Vec::new();
    for case in corpus("kql-parse/sentinel-queries.jsonl") {
        if case["valid"].as_bool().unwrap() {
            printed.push(kql::format_query(
                &kql::parse(case["kql"].as_str().unwrap()).unwrap(),
            ));
        }
    }
    for case in corpus("kql-conformance/cases.jsonl") {
        if !case["error"].as_bool().unwrap() {
            printed.push(kql::format_query(
                &kql::parse(case["kql"].as_str().unwrap()).unwrap(),
            ));
        }
    }
    let Some(results) = oracle::kusto_syntax(&printed) else {
        return;
    };
    let bad: Vec<String> = printed
        .iter()
        .zip(&results)
        .filter_map(|(q, r)| r.as_ref().err().map(|e| format!("{e}\n{q}")))
        .collect();
    assert!(
        bad.is_empty(),
        "{} formatted queries rejected by Kusto; first:\n{}",
        bad.len(),
        bad[0]
    );
}
