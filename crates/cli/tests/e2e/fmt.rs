//! `iochunt fmt`: canonical layout, idempotence and diagnostics.

use super::{iochunt, temp_dir};

#[test]
fn formats_the_reference_hunt_canonically() {
    let dir = temp_dir("fmt");
    let q = dir.join("q.kql");
    std::fs::write(
        &q,
        "// Hunt for network connections to known malicious IPs\nlet malicious_ips = dynamic([\"91.92.34.228\"]);\nCommonSecurityLog | where DestinationIP in (malicious_ips) or SourceIP in (malicious_ips) | project TimeGenerated, SourceIP\n| order by TimeGenerated desc",
    )
    .unwrap();
    let (code, out, err) = iochunt(&["fmt", q.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "// Hunt for network connections to known malicious IPs\nlet malicious_ips = dynamic([\"91.92.34.228\"]);\nCommonSecurityLog\n| where DestinationIP in (malicious_ips) or SourceIP in (malicious_ips)\n| project TimeGenerated, SourceIP\n| order by TimeGenerated desc\n"
    );
    std::fs::write(&q, &out).unwrap();
    let (_, again, _) = iochunt(&["fmt", q.to_str().unwrap()]);
    assert_eq!(again, out, "formatting is idempotent");
}

#[test]
fn invalid_query_exits_2_with_located_diagnostics() {
    let dir = temp_dir("fmtbad");
    let q = dir.join("bad.kql");
    std::fs::write(&q, "DnsEvents\n| where Name has_any (\"a\"\n| project Name").unwrap();
    let (code, out, err) = iochunt(&["fmt", q.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("bad.kql:3:1"), "{err}");
    assert!(err.contains("^"), "{err}");
}
