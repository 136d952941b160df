//! `iochunt iocs`: feeds in every supported shape, accounting and the reference's table.

use super::{fixture, iochunt, shared, temp_dir};
use serde_json::Value;

fn json_out(args: &[&str]) -> Vec<Value> {
    let (code, out, err) = iochunt(args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("json output")
}

#[test]
fn reference_table_round_trips_through_md_defang() {
    let path = fixture("reference-iocs.md");
    let (code, out, _) = iochunt(&["iocs", &path, "--format", "md", "--defang"]);
    assert_eq!(code, 0);
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(out, want);
    let all = json_out(&["iocs", &path, "--format", "json"]);
    assert_eq!(all.len(), 7);
    assert_eq!(all[1]["value"], "http://91.92.34.228/test22.txt");
    assert_eq!(all[6]["kind"], "ip:port");
    assert_eq!(all[6]["malware"][0], "NetSupportManager RAT");
    assert_eq!(all[6]["confidence"], 100);
    assert_eq!(all[6]["sources"][0]["line"], 11);
}

#[test]
fn threatfox_export_accounts_for_every_record() {
    let path = shared("data/threatfox/export-recent-2026-07-24.json");
    let (code, out, err) = iochunt(&["iocs", &path, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let summary = err.lines().last().unwrap();
    assert!(
        summary.contains("4488 entries from 1 feed: 4488 accepted, 0 rejected"),
        "{summary}"
    );
    let merged: usize = out.lines().count();
    assert!(
        summary.contains(&format!("{merged} indicators after merging")),
        "{summary}"
    );
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["value"], "https://sup.merahsm188.top/");
    assert_eq!(first["malware"][0], "Vidar");
    assert_eq!(first["first_seen"], "2026-07-24T13:50:06Z");
    assert_eq!(first["sources"][0]["line"], 4);
}

/// Writes the export's records as a ThreatFox CSV export (the dump's own layout: commented
/// header, `", "` separators, `None` for null, `""` for an empty last_seen).
fn export_as_csv(json: &Value) -> String {
    let mut out = String::from("################\n# ThreatFox IOCs: CSV export\n# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"is_compromised\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n#\n");
    for (id, records) in json.as_object().unwrap() {
        for r in records.as_array().unwrap() {
            let f = |k: &str| match &r[k] {
                Value::Null => "None".to_string(),
                Value::String(s) => s.replace('"', "\"\""),
                v => v.to_string(),
            };
            let last = if r["last_seen_utc"].is_null() {
                String::new()
            } else {
                f("last_seen_utc")
            };
            let cells = [
                f("first_seen_utc"),
                id.clone(),
                f("ioc_value"),
                f("ioc_type"),
                f("threat_type"),
                f("malware"),
                f("malware_alias"),
                f("malware_printable"),
                last,
                f("confidence_level"),
                f("is_compromised"),
                f("reference"),
                f("tags"),
                f("anonymous"),
                f("reporter"),
            ];
            let quoted: Vec<String> = cells.iter().map(|c| format!("\"{c}\"")).collect();
            out.push_str(&quoted.join(", "));
            out.push('\n');
        }
    }
    out.push_str("# Number of entries: end\n");
    out
}

#[test]
fn threatfox_csv_export_gives_the_same_set_as_json() {
    let path = shared("data/threatfox/export-recent-2026-07-24.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let dir = temp_dir("tfcsv");
    let csv = dir.join("export.csv");
    std::fs::write(&csv, export_as_csv(&json)).unwrap();
    let strip = |mut v: Vec<Value>| {
        for i in &mut v {
            i.as_object_mut().unwrap().remove("sources");
        }
        v
    };
    let from_json = strip(json_out(&["iocs", &path, "--format", "json"]));
    let from_csv = strip(json_out(&[
        "iocs",
        csv.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(from_json.len(), from_csv.len());
    assert_eq!(from_json, from_csv);
}

#[test]
fn threatfox_api_response_with_rejections_and_flags() {
    let (code, out, err) = iochunt(&["iocs", &fixture("threatfox-api.json"), "--format", "json"]);
    assert_eq!(code, 0);
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1]["value"], "zbxcgtqt.com");
    assert_eq!(all[1]["last_seen"], "2026-06-20T11:00:00Z");
    assert_eq!(all[0]["tags"], serde_json::json!(["NetSupport", "RAT"]));
    assert_eq!(all[2]["flags"][0], "private address");
    assert!(err.contains("threatfox-api.json:"), "{err}");
    assert!(err.contains("rejected \"not a domain\""), "{err}");
    assert!(
        err.contains("4 accepted") || err.contains("3 accepted, 1 rejected"),
        "{err}"
    );
}

#[test]
fn strict_makes_a_rejection_fatal() {
    let (code, _, err) = iochunt(&["iocs", &fixture("threatfox-api.json"), "--strict"]);
    assert_eq!(code, 2);
    assert!(err.contains("1 entries rejected (--strict)"), "{err}");
}

#[test]
fn drop_flagged_removes_and_counts() {
    let (code, out, err) = iochunt(&[
        "iocs",
        &fixture("threatfox-api.json"),
        "--drop-flagged",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2);
    assert!(err.contains("1 flagged dropped"), "{err}");
}

#[test]
fn stix_bundle_yields_kinds_and_families() {
    let all = json_out(&["iocs", &fixture("stix-bundle.json"), "--format", "json"]);
    let vals: Vec<(&str, &str)> = all
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        vals,
        vec![
            ("domain", "beroniw.com"),
            ("url", "https://beroniw.com/hwkOP5"),
            ("ip:port", "91.92.34.228:80"),
            (
                "sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            ("ipv6", "2001:db8::1"),
        ]
    );
    assert_eq!(all[0]["malware"][0], "NetSupportManager RAT");
    assert_eq!(all[0]["confidence"], 90);
    assert_eq!(all[4]["flags"][0], "documentation address");
}

#[test]
fn misp_event_reads_attributes_and_objects() {
    let (code, out, err) = iochunt(&["iocs", &fixture("misp-event.json"), "--format", "json"]);
    assert_eq!(code, 0);
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = all.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["ip:port", "domain", "url", "sha256", "md5"]);
    assert_eq!(all[0]["value"], "91.92.34.228:443");
    assert_eq!(all[4]["value"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(all[0]["malware"][0], "NetSupportManager RAT");
    assert!(err.contains("MISP type \"comment\""), "{err}");
}

#[test]
fn plain_text_and_merge_across_feeds() {
    let all = json_out(&[
        "iocs",
        &fixture("indicators.txt"),
        &fixture("reference-iocs.md"),
        "--format",
        "json",
    ]);
    assert_eq!(all[0]["value"], "http://91.92.34.228/test22.txt");
    assert_eq!(all[1]["value"], "golviewcheckus.com");
    assert_eq!(
        all.len(),
        7,
        "the text feed's three indicators merge into the reference's seven"
    );
    assert_eq!(all[0]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(all[0]["malware"][0], "NetSupportManager RAT");
}

#[test]
fn selection_flags_filter_the_set() {
    let path = shared("data/threatfox/export-recent-2026-07-24.json");
    let nsm = json_out(&[
        "iocs",
        &path,
        "--malware",
        "NetSupportManager RAT",
        "--format",
        "json",
    ]);
    assert_eq!(nsm.len(), 30);
    let by_id = json_out(&[
        "iocs",
        &path,
        "--malware",
        "win.netsupportmanager_rat",
        "--format",
        "json",
    ]);
    assert_eq!(by_id.len(), 30);
    let domains = json_out(&["iocs", &path, "--kind", "domain", "--format", "json"]);
    assert!(domains.iter().all(|i| i["kind"] == "domain"));
    assert!(domains.len() > 1000);
}

#[test]
fn a_file_that_is_not_a_feed_gets_one_error() {
    let dir = temp_dir("notafeed");
    let p = dir.join("notes.txt");
    std::fs::write(&p, "Hello,\nthis is a meeting note.\nNothing to see.\n").unwrap();
    let (code, _, err) = iochunt(&["iocs", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not an indicator feed"), "{err}");
    let j = dir.join("x.json");
    std::fs::write(&j, "{\"a\": [1, 2,]}").unwrap();
    let (code, _, err) = iochunt(&["iocs", j.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("x.json:1:"), "{err}");
}
