//! `iochunt hunt`: the bundled sample, exports with a known answer, output formats,
//! hostile values, time windows and exit codes.

use super::{expected, fixture, gen, iochunt, temp_dir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// (file name, line) -> suppressed_by, over the findings of a jsonl run.
fn found(jsonl: &str) -> BTreeMap<(String, u64), Option<String>> {
    let mut out = BTreeMap::new();
    for l in jsonl.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let file = v["source"]["file"].as_str().unwrap();
        let name = Path::new(file)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let sup = v["suppressed_by"].as_str().map(str::to_string);
        out.insert((name, v["source"]["line"].as_u64().unwrap()), sup);
    }
    out
}

#[test]
fn the_default_run_hunts_the_bundled_sample() {
    let (code, out, err) = iochunt(&["hunt", "--format", "jsonl"]);
    assert_eq!(code, 1, "findings exit 1: {err}");
    assert!(err.contains("hunting the bundled sample"), "{err}");
    let want = expected(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sample"));
    assert_eq!(
        found(&out),
        want,
        "every planted event found, no near-miss, suppression as planted"
    );
    assert!(
        err.contains(
            "scenario \"Legitimate NetSupportManager Remote Support Tool Usage\" NOT applied"
        ),
        "{err}"
    );
    assert!(err.contains("scenario \"Scheduled Maintenance Job Using NetSupportManager\": applied to 4 hunts, suppressed 2 findings"), "{err}");
    assert!(
        err.contains("not hunted: no ASimDnsActivityLogs data"),
        "{err}"
    );
    let (_, table, _) = iochunt(&["hunt"]);
    assert!(
        table.contains("client32.exe") || table.contains("ws-fin-014"),
        "{table}"
    );
    assert!(table.contains("roll-up per host and indicator"));
    assert!(
        !table.contains("Maintenance_User"),
        "suppressed findings are hidden by default"
    );
    let (_, all, _) = iochunt(&["hunt", "--show-suppressed"]);
    assert!(all.contains("Maintenance_User"));
}

#[test]
fn findings_equal_the_known_answer_row_for_row() {
    let dir = temp_dir("hunt-known");
    gen(&["logs", dir.to_str().unwrap(), "3000"]);
    let (code, out, err) = iochunt(&[
        "hunt",
        &fixture("reference-iocs.md"),
        "--source",
        "ThreatFox",
        "--data",
        dir.to_str().unwrap(),
        "--exclusions",
        &fixture("reference-scenarios.txt"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(found(&out), expected(&dir));
    for l in out.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "hunt",
                "table",
                "time",
                "column",
                "indicator",
                "row",
                "entities",
                "source",
                "before_first_seen",
                "suppressed_by"
            ]
        );
        let ind: Vec<&str> = v["indicator"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            ind,
            [
                "value",
                "kind",
                "threat_type",
                "malware",
                "confidence",
                "first_seen"
            ]
        );
        assert!(v["source"]["file"]
            .as_str()
            .unwrap()
            .starts_with(dir.to_str().unwrap()));
    }
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["indicator"]["malware"][0], "NetSupportManager RAT");
    assert_eq!(
        first["before_first_seen"], true,
        "a 18 June event predates the 19 June first sighting"
    );
}

#[test]
fn time_window_no_data_and_clean_runs() {
    let dir = temp_dir("hunt-window");
    gen(&["logs", dir.to_str().unwrap(), "600"]);
    let d = dir.to_str().unwrap();
    let (_, all, _) = iochunt(&[
        "hunt",
        &fixture("reference-iocs.md"),
        "--data",
        d,
        "--format",
        "jsonl",
    ]);
    let (_, some, _) = iochunt(&[
        "hunt",
        &fixture("reference-iocs.md"),
        "--data",
        d,
        "--format",
        "jsonl",
        "--since",
        "2026-06-19",
        "--until",
        "2026-06-20",
    ]);
    assert!(some.lines().count() < all.lines().count());
    for l in some.lines() {
        let t = serde_json::from_str::<Value>(l).unwrap()["time"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.starts_with("2026-06-19"), "{t}");
    }
    let empty = temp_dir("hunt-empty");
    std::fs::write(
        empty.join("DnsEvents.jsonl"),
        "{\"TimeGenerated\":\"2026-06-20T00:00:00Z\",\"Name\":\"example.org\"}\n",
    )
    .unwrap();
    let (code, out, err) = iochunt(&[
        "hunt",
        &fixture("reference-iocs.md"),
        "--data",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "nothing found exits 0: {err}");
    assert!(out.starts_with("no findings"));
    assert!(
        err.contains("hunt dnsevents-domain: 1 rows scanned, 0 findings"),
        "{err}"
    );
    assert!(
        err.contains(
            "not hunted: no CommonSecurityLog data: this hunt needs the Common Event Format"
        ),
        "{err}"
    );
}

#[test]
fn hostile_values_are_neutralised_in_every_format() {
    let dir = temp_dir("hunt-hostile");
    std::fs::write(
        dir.join("UrlClickEvents.jsonl"),
        "{\"Timestamp\":\"2026-06-20T09:30:00Z\",\"AccountUpn\":\"=HYPERLINK(\\\"http://x\\\")|\\u001b[31m`x`\",\"Url\":\"https://beroniw.com/hwkOP5\",\"ActionType\":\"ClickAllowed\",\"IsClickedThrough\":true}\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let run = |fmt: &str| {
        iochunt(&[
            "hunt",
            &fixture("reference-iocs.md"),
            "--data",
            d,
            "--format",
            fmt,
        ])
        .1
    };
    let csv = run("csv");
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    let table = run("table");
    assert!(!table.contains('\u{1b}'), "no terminal escapes");
    assert!(
        table.contains("hxxps://beroniw.com/hwkOP5"),
        "URLs are defanged for people"
    );
    let md = run("md");
    assert!(md.contains("\\|") && md.contains("\\`x\\`"), "{md}");
    let jsonl = run("jsonl");
    assert!(
        jsonl.contains("\"value\":\"https://beroniw.com/hwkOP5\""),
        "JSON lines keep raw values"
    );
}
