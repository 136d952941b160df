//! `iochunt query`: the reference's four hunts over JSON-lines and CSV exports, with the
//! planted near-misses that must not match; output formats; errors.

use super::{fixture, iochunt, temp_dir};
use serde_json::Value;

const CSL: &str = r#"let malicious_ips = dynamic(["91.92.34.228"]);
CommonSecurityLog
| where DestinationIP in (malicious_ips) or SourceIP in (malicious_ips)
| project TimeGenerated, SourceIP, DestinationIP, DestinationPort, DeviceAction, Activity
| order by TimeGenerated desc"#;

const DNE: &str = r#"let malicious_ips = dynamic(["91.92.34.228"]);
DeviceNetworkEvents
| where RemoteIP in (malicious_ips)
| project Timestamp, DeviceName, RemoteIP, RemotePort, InitiatingProcessFileName, ActionType
| order by Timestamp desc"#;

const DNS: &str = r#"let malicious_domains = dynamic(["golviewcheckus.com", "tiqwtkmma.com", "zbxcgtqt.com", "beroniw.com"]);
DnsEvents
| where Name has_any (malicious_domains)
| project TimeGenerated, Computer, Name, IPAddresses, QueryType
| order by TimeGenerated desc"#;

const URL: &str = r#"let malicious_urls = dynamic(["https://beroniw.com/hwkOP5", "http://91.92.34.228/test22.txt"]);
UrlClickEvents
| where Url has_any (malicious_urls)
| project Timestamp, AccountUpn, Url, ActionType, IsClickedThrough
| order by Timestamp desc"#;

fn run(q: &str) -> (Value, String) {
    let (code, out, err) = iochunt(&["query", q, "--data", &fixture("logs"), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    (serde_json::from_str(&out).unwrap(), err)
}

fn column(v: &Value, name: &str) -> Vec<Value> {
    let i = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == name)
        .unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[i].clone())
        .collect()
}

#[test]
fn dns_hunt_matches_terms_not_substrings() {
    let (v, err) = run(DNS);
    assert_eq!(
        column(&v, "Name"),
        vec!["tiqwtkmma.com", "BERONIW.COM", "cdn.beroniw.com"]
    );
    assert_eq!(v["columns"][0]["type"], "datetime");
    assert!(err.contains("DnsEvents.jsonl:6: "), "{err}");
    assert!(err.contains("1 malformed rows skipped"), "{err}");
}

#[test]
fn url_hunt_matches_the_literal_url() {
    let (v, _) = run(URL);
    assert_eq!(
        column(&v, "Url"),
        vec![
            "http://91.92.34.228/test22.txt",
            "https://beroniw.com/hwkOP5?x=1"
        ]
    );
    assert_eq!(
        column(&v, "IsClickedThrough"),
        vec![Value::Bool(false), Value::Bool(true)]
    );
}

#[test]
fn ip_hunts_are_exact_over_csv_and_jsonl() {
    let (v, _) = run(CSL);
    assert_eq!(
        column(&v, "Activity"),
        vec!["inbound from C2", "TLS to \"C2\""]
    );
    assert_eq!(
        column(&v, "TimeGenerated")[0],
        "2026-06-20T09:12:00.0000000Z"
    );
    assert_eq!(column(&v, "DestinationPort")[1], 443);
    let (v, _) = run(DNE);
    assert_eq!(
        column(&v, "InitiatingProcessFileName"),
        vec!["client32.exe", "client32.exe"]
    );
    assert_eq!(column(&v, "RemotePort"), vec![443, 80]);
}

#[test]
fn queries_without_data_run_and_report_kusto_types() {
    let (code, out, _) = iochunt(&[
        "query",
        "print s = tostring(1d), b = true, n = 1 / 2, r = 1.0 / 4",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["rows"][0],
        serde_json::json!(["1.00:00:00", true, 0, 0.25])
    );
    assert_eq!(v["columns"][2]["type"], "long");
}

#[test]
fn unknown_table_and_unsupported_function_are_clear_errors() {
    let (code, _, err) = iochunt(&["query", "DnsEvent | take 1", "--data", &fixture("logs")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown table `DnsEvent`; did you mean `DnsEvents`?"),
        "{err}"
    );
    let (code, _, err) = iochunt(&["query", "print series_fft(1)"]);
    assert_eq!(code, 2);
    assert!(err.contains("unsupported: function series_fft()"), "{err}");
}

#[test]
fn strict_makes_a_malformed_row_fatal() {
    let (code, _, err) = iochunt(&["query", DNS, "--data", &fixture("logs"), "--strict"]);
    assert_eq!(code, 2);
    assert!(err.contains("DnsEvents.jsonl:6:"), "{err}");
}

#[test]
fn table_binding_and_csv_output() {
    let dir = temp_dir("qcsv");
    let f = dir.join("dns.jsonl");
    std::fs::write(&f, "{\"Name\":\"=cmd|' /C calc'!A0\"}\n").unwrap();
    let spec = format!("DnsEvents={}", f.display());
    let (code, out, _) = iochunt(&[
        "query",
        "DnsEvents | project Name",
        "--table",
        &spec,
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, "Name\n'=cmd|' /C calc'!A0\n");
}

#[test]
fn csv_date_order_is_inferred_warned_and_settled() {
    let dir = temp_dir("qdates");
    let csv = dir.join("CommonSecurityLog.csv");
    std::fs::write(
        &csv,
        "TimeGenerated [UTC],DestinationIP\n\"01/02/2026, 10:00:00.000\",1.2.3.4\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let q = "CommonSecurityLog | project TimeGenerated";
    let (_, out, err) = iochunt(&["query", q, "--data", d, "--format", "csv"]);
    assert!(out.contains("2026-02-01T10:00:00"), "{out}");
    assert!(err.contains("column TimeGenerated has dates like 01/02/2026 that read either way; assuming day first"), "{err}");
    let (_, out, err) = iochunt(&[
        "query",
        q,
        "--data",
        d,
        "--format",
        "csv",
        "--date-order",
        "mdy",
    ]);
    assert!(out.contains("2026-01-02T10:00:00"), "{out}");
    assert!(!err.contains("either way"), "{err}");
    std::fs::write(&csv, "TimeGenerated [UTC],DestinationIP\n\"3/26/2026, 3:18:18 PM\",1.2.3.4\n\"01/02/2026, 10:00:00.000\",1.2.3.4\n").unwrap();
    let (_, out, err) = iochunt(&["query", q, "--data", d, "--format", "csv"]);
    assert!(
        out.contains("2026-03-26T15:18:18") && out.contains("2026-01-02T10:00:00"),
        "month first, from the 26: {out}"
    );
    assert!(!err.contains("either way"), "{err}");
}
