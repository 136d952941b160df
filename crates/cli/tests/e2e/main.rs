//! End-to-end tests: every test runs the `iochunt` binary as a user would. One test binary
//! for the whole suite keeps the build small.

mod exclusions;
mod fmt;
mod generate;
mod hunt;
mod intake;
mod query;

use std::path::{Path, PathBuf};

#[path = "../../../../tools/kusto-oracle/oracle.rs"]
pub mod oracle;
use std::process::{Command, Output};

/// Runs iochunt with `args`; returns (exit code, stdout, stderr).
pub fn iochunt(args: &[&str]) -> (i32, String, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_iochunt"))
        .args(args)
        .output()
        .expect("the iochunt binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A file under `../shared` (laid beside the project's checkout).
pub fn shared(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
        .display()
        .to_string()
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iochunt-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs iochunt-gen (the test-data generator) with `args`.
pub fn gen(args: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_iochunt-gen"))
        .args(args)
        .status()
        .expect("iochunt-gen runs");
    assert!(status.success());
}

/// The planted rows of a generated export: (file, line) -> suppressed_by.
pub fn expected(dir: &Path) -> std::collections::BTreeMap<(String, u64), Option<String>> {
    std::fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let key = (
                v["file"].as_str().unwrap().to_string(),
                v["line"].as_u64().unwrap(),
            );
            (key, v["suppressed_by"].as_str().map(str::to_string))
        })
        .collect()
}
