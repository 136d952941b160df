//! Test helper shared by the test binaries (included with `#[path]`): asks Kusto's own parser
//! (tools/kusto-oracle/check.js, npm @kusto/language-service-next) whether queries are valid
//! syntax. Returns `None`, after printing a visible notice, where Node.js or the package is
//! missing, so a machine without them skips the check instead of failing.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// For each query: `Ok(())` when Kusto's parser accepts it, `Err(first error)` otherwise.
pub fn kusto_syntax(queries: &[String]) -> Option<Vec<Result<(), String>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/kusto-oracle");
    if !dir
        .join("node_modules/@kusto/language-service-next")
        .exists()
    {
        eprintln!("NOTICE: Kusto parser check skipped: run `npm install` in tools/kusto-oracle");
        return None;
    }
    let mut child = match Command::new("node")
        .arg(dir.join("check.js"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => {
            eprintln!("NOTICE: Kusto parser check skipped: Node.js is not installed");
            return None;
        }
    };
    let input: String = queries
        .iter()
        .map(|q| serde_json::to_string(q).unwrap() + "\n")
        .collect();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("node runs");
    writer
        .join()
        .expect("writer thread")
        .expect("write queries");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let results: Vec<Result<(), String>> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("oracle JSON");
            if v["ok"].as_bool() == Some(true) {
                Ok(())
            } else {
                Err(v["diag"].as_str().unwrap_or("").to_string())
            }
        })
        .collect();
    assert_eq!(
        results.len(),
        queries.len(),
        "the oracle answered every query"
    );
    Some(results)
}
