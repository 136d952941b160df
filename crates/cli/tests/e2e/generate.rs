//! `iochunt generate`: the reference's hunts, Sentinel rules and report; limits on a real
//! feed; determinism; a snapshot of the whole output.

use super::{fixture, iochunt, oracle, shared, temp_dir};
use std::collections::BTreeMap;
use std::path::Path;

fn generate(args: &[&str], name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    let mut all = vec!["generate"];
    all.extend_from_slice(args);
    let out = dir.join("pack");
    all.extend_from_slice(&["-o", out.to_str().unwrap()]);
    let (code, _, err) = iochunt(&all);
    assert_eq!(code, 0, "{err}");
    out
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for sub in ["", "hunts", "rules"] {
        let d = dir.join(sub);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                files.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    files
}

fn fmt(text: &str) -> String {
    let q = kql::parse(text).unwrap_or_else(|e| panic!("{}", e[0].render(text, "q")));
    kql::format_query(&q)
}

/// The four hunts of ../shared/spec/netsupportmanager-hunt.txt, in order.
fn reference_hunts() -> Vec<String> {
    let spec = std::fs::read_to_string(shared("spec/netsupportmanager-hunt.txt")).unwrap();
    let mut hunts: Vec<String> = Vec::new();
    for line in spec.lines() {
        if line.starts_with("// Hunt") {
            hunts.push(String::new());
        } else if line.starts_with("| Sentinel Table") {
            break;
        }
        if let Some(h) = hunts.last_mut() {
            h.push_str(line);
            h.push('\n');
        }
    }
    assert_eq!(hunts.len(), 4);
    hunts
}

const REFERENCE_FILES: [&str; 4] = [
    "commonsecuritylog-ip",
    "devicenetworkevents-ip",
    "dnsevents-domain",
    "urlclickevents-url",
];

#[test]
fn writes_the_reference_hunts_from_its_table_and_from_threatfox_records() {
    let from_md = generate(
        &[&fixture("reference-iocs.md"), "--source", "ThreatFox"],
        "gen-md",
    );
    let from_tf = generate(&[&fixture("reference-threatfox.json")], "gen-tf");
    for dir in [&from_md, &from_tf] {
        for (file, want) in REFERENCE_FILES.iter().zip(reference_hunts()) {
            let got =
                std::fs::read_to_string(dir.join("hunts").join(format!("{file}.kql"))).unwrap();
            assert_eq!(fmt(&got), fmt(&want), "{file}");
            assert_eq!(
                got.trim_end(),
                want.trim_end(),
                "{file}: even before formatting"
            );
        }
    }
    let md = read_dir(&from_md);
    let tf = read_dir(&from_tf);
    assert_eq!(md.keys().collect::<Vec<_>>(), tf.keys().collect::<Vec<_>>());
}

#[test]
fn report_has_the_reference_content_in_order() {
    let dir = generate(
        &[&fixture("reference-iocs.md"), "--source", "ThreatFox"],
        "gen-report",
    );
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let (_, table, _) = iochunt(&[
        "iocs",
        &fixture("reference-iocs.md"),
        "--format",
        "md",
        "--defang",
    ]);
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("IOC Summary"));
    let rest: String = lines.map(|l| format!("{l}\n")).collect();
    let summary_at = report.find("## IOC Summary").unwrap();
    let table_at = report
        .find(&rest[rest.find('|').unwrap()..])
        .expect("the iocs table, verbatim");
    let line_at = report.find(rest.lines().next().unwrap()).unwrap();
    let hunts_at = report.find("## Hunting queries").unwrap();
    let tables_at = report.find("| Sentinel Table | Notes |").unwrap();
    assert!(
        summary_at < line_at && line_at < table_at && table_at < hunts_at && hunts_at < tables_at
    );
    let mut last = hunts_at;
    for want in reference_hunts() {
        let title = want.lines().next().unwrap().trim_start_matches("// ");
        let at = report.find(&format!("### {title}")).unwrap();
        assert!(at > last, "{title} in order");
        last = at;
    }
    assert_eq!(
        report.matches("```kql").count(),
        report.matches("### ").count()
    );
    for t in [
        "CommonSecurityLog",
        "DeviceNetworkEvents",
        "DnsEvents",
        "UrlClickEvents",
    ] {
        assert!(report.contains(&format!("| {t} | Needs the ")), "{t}");
    }
}

#[test]
fn every_query_parses_runs_and_each_rule_is_its_hunt() {
    let dir = generate(
        &[&fixture("reference-iocs.md"), "--source", "ThreatFox"],
        "gen-run",
    );
    let files = read_dir(&dir);
    let mut queries = Vec::new();
    let expected_rows = [
        ("commonsecuritylog-ip", 2),
        ("devicenetworkevents-ip", 2),
        ("dnsevents-domain", 3),
        ("urlclickevents-url", 2),
        ("devicenetworkevents-domain", 2),
        ("devicenetworkevents-url", 1),
        ("commonsecuritylog-domain", 3),
        ("commonsecuritylog-url", 1),
        ("dnsevents-ip", 2),
        ("devicenetworkevents-ipport", 1),
        ("commonsecuritylog-ipport", 0),
        ("asimdnsactivitylogs-domain", 2),
        ("asimnetworksessionlogs-ip", 1),
        ("asimwebsessionlogs-url", 2),
    ];
    assert_eq!(
        files.keys().filter(|k| k.starts_with("hunts/")).count(),
        expected_rows.len()
    );
    for (name, rows) in expected_rows {
        let hunt = &files[&format!("hunts/{name}.kql")];
        let rule = &files[&format!("rules/{name}.yaml")];
        kql::parse(hunt).unwrap_or_else(|e| panic!("{name}: {}", e[0].render(hunt, name)));
        let rule_query: String = rule
            .lines()
            .skip_while(|l| *l != "query: |")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        assert_eq!(&rule_query, hunt, "{name}: the rule's query is the hunt's");
        assert!(
            rule.contains("entityMappings:\n  - entityType: "),
            "{name}: entity mappings"
        );
        assert!(rule.contains("relevantTechniques:\n  - T1219\n"), "{name}");
        let path = dir.join("hunts").join(format!("{name}.kql"));
        let (code, out, err) = iochunt(&[
            "query",
            &format!("@{}", path.display()),
            "--data",
            &fixture("logs"),
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rows"].as_array().unwrap().len(), rows, "{name}: {out}");
        queries.push(hunt.clone());
    }
    if let Some(results) = oracle::kusto_syntax(&queries) {
        for (q, r) in queries.iter().zip(results) {
            assert!(r.is_ok(), "Kusto rejects a generated query: {r:?}\n{q}");
        }
    }
}

#[test]
fn the_threatfox_export_gives_packs_within_sentinel_limits() {
    let feed = shared("data/threatfox/export-recent-2026-07-24.json");
    for extra in [vec![], vec!["--malware", "NetSupportManager RAT"]] {
        let mut args = vec![feed.as_str()];
        args.extend(extra.iter().copied());
        let dir = generate(&args, &format!("gen-tf-{}", extra.len()));
        let files = read_dir(&dir);
        let rules: Vec<&String> = files
            .iter()
            .filter(|(k, _)| k.starts_with("rules/"))
            .map(|(_, v)| v)
            .collect();
        assert!(!rules.is_empty());
        for (name, text) in files.iter().filter(|(k, _)| k.starts_with("hunts/")) {
            assert!(text.len() <= 10_000, "{name}: {} characters", text.len());
            for line in text.lines().filter(|l| l.starts_with("let ")) {
                assert!(line.matches("\", \"").count() < 10_000, "{name}");
            }
        }
        let queries: Vec<String> = files
            .iter()
            .filter(|(k, _)| k.starts_with("hunts/"))
            .map(|(_, v)| v.clone())
            .collect();
        if extra.is_empty() {
            assert!(
                files.contains_key("hunts/commonsecuritylog-ip-2.kql"),
                "large lists are split"
            );
            assert!(files["report.md"].contains("Malware Family: "));
        } else {
            assert!(files["hunts/commonsecuritylog-ip.kql"]
                .contains("// Source: ThreatFox - NetSupportManager RAT"));
            assert!(
                !files.contains_key("hunts/dnsevents-domain.kql"),
                "no domain indicators, no domain hunt"
            );
        }
        if let Some(results) = oracle::kusto_syntax(&queries) {
            assert!(
                results.iter().all(Result::is_ok),
                "{:?}",
                results.iter().find(|r| r.is_err())
            );
        }
    }
}

#[test]
fn output_is_deterministic_and_rule_versions_follow_content() {
    let dir = temp_dir("gen-det");
    let out = dir.join("pack");
    let run = |feed: &str| {
        let (code, _, err) = iochunt(&[
            "generate",
            feed,
            "--source",
            "ThreatFox",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        read_dir(&out)
    };
    let first = run(&fixture("reference-iocs.md"));
    let second = run(&fixture("reference-iocs.md"));
    assert_eq!(
        first, second,
        "same input, same bytes; unchanged rules keep version 1.0.0"
    );
    assert!(first["rules/dnsevents-domain.yaml"].contains("version: 1.0.0"));
    let smaller = dir.join("smaller.md");
    let text = std::fs::read_to_string(fixture("reference-iocs.md")).unwrap();
    std::fs::write(
        &smaller,
        text.replace(
            "| domain | zbxcgtqt.com | botnet_cc | 2026-06-19 | 100% |\n",
            "",
        ),
    )
    .unwrap();
    let third = run(smaller.to_str().unwrap());
    let rule = &third["rules/dnsevents-domain.yaml"];
    assert!(rule.contains("version: 1.0.1"), "{rule}");
    assert_eq!(
        rule.lines().next(),
        first["rules/dnsevents-domain.yaml"].lines().next(),
        "the same id, so Sentinel updates the rule"
    );
    assert!(third["rules/commonsecuritylog-ip.yaml"].contains("version: 1.0.0"));
}

/// The whole output for the reference's indicators, pinned. Set UPDATE_SNAPSHOTS=1 to
/// rewrite the snapshot after an intended change, and review the diff.
#[test]
fn snapshot_of_the_reference_pack() {
    let dir = generate(
        &[&fixture("reference-iocs.md"), "--source", "ThreatFox"],
        "gen-snap",
    );
    let got = read_dir(&dir);
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/generate-reference");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let _ = std::fs::remove_dir_all(&snap);
        for (rel, text) in &got {
            let p = snap.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }
    let want = read_dir(&snap);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (rel, text) in &want {
        assert_eq!(
            &got[rel], text,
            "{rel} differs from the snapshot (UPDATE_SNAPSHOTS=1 to accept)"
        );
    }
}
