//! Exclusions: lint verdicts, application, the generated files, and the agreement between
//! a generated hunt run as KQL and the findings `hunt` leaves unsuppressed.

use super::{fixture, gen, iochunt, shared, temp_dir};
use serde_json::Value;

#[test]
fn lint_rejects_the_inverted_reference_scenarios() {
    let (code, out, err) = iochunt(&[
        "lint",
        &shared("spec/netsupportmanager-hunt.txt"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    let levels: Vec<&str> = v.iter().map(|s| s["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["error", "warning", "warning", "error", "error"]);
    assert!(v[0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("inverted logic"));
    assert!(v[0]["reasons"][1]
        .as_str()
        .unwrap()
        .contains("client32.exe"));
    assert!(v[1]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("svchost.exe")));
    for s in &v {
        assert_eq!(
            s.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["scenario", "level", "reasons"]
        );
    }
}

#[test]
fn lint_passes_scenarios_two_and_three_and_counts_with_data() {
    let dir = temp_dir("lint-23");
    let all = std::fs::read_to_string(fixture("reference-scenarios.txt")).unwrap();
    let kept: Vec<&str> = all.lines().skip(3).take(6).collect();
    let f = dir.join("two-three.txt");
    std::fs::write(&f, kept.join("\n")).unwrap();
    let (code, out, _) = iochunt(&["lint", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("warning  Scheduled Maintenance Job"),
        "{out}"
    );
    let logs = dir.join("logs");
    gen(&["logs", logs.to_str().unwrap(), "2000"]);
    let (code, out, err) = iochunt(&[
        "lint",
        f.to_str().unwrap(),
        &fixture("reference-iocs.md"),
        "--data",
        logs.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("with the given data it would suppress 2 of"),
        "{out}"
    );
    assert_eq!(out.matches("would suppress 2 of").count(), 2, "{out}");
}

#[test]
fn scenarios_round_trip_through_generate_as_text_and_yaml() {
    let dir = temp_dir("excl-gen");
    let out = dir.join("pack");
    let (code, _, err) = iochunt(&[
        "generate",
        &fixture("reference-iocs.md"),
        "--source",
        "ThreatFox",
        "--exclusions",
        &shared("spec/netsupportmanager-hunt.txt"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let spec = std::fs::read_to_string(shared("spec/netsupportmanager-hunt.txt")).unwrap();
    let want: String = spec
        .lines()
        .skip_while(|l| !l.starts_with("Scenario:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        std::fs::read_to_string(out.join("exclusions.txt")).unwrap(),
        want
    );
    let yaml = out.join("exclusions.yaml");
    let (code, lint_yaml, _) = iochunt(&["lint", yaml.to_str().unwrap(), "--format", "json"]);
    let (_, lint_spec, _) = iochunt(&[
        "lint",
        &shared("spec/netsupportmanager-hunt.txt"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let names = |s: &str| -> Vec<String> {
        serde_json::from_str::<Vec<Value>>(s)
            .unwrap()
            .iter()
            .map(|v| v["scenario"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&lint_yaml), names(&lint_spec));
    let dne = std::fs::read_to_string(out.join("hunts/devicenetworkevents-ip.kql")).unwrap();
    assert!(dne.contains("// Exclusion: Scheduled Maintenance Job Using NetSupportManager\n| where not(InitiatingProcessFileName =~ \"NetSupportManager.exe\""), "{dne}");
    assert_eq!(
        dne.matches("| where not(").count(),
        2,
        "scenarios 1, 4 and 5 are not rendered"
    );
    assert!(dne.find("| where not(").unwrap() < dne.find("| project").unwrap());
    let dns = std::fs::read_to_string(out.join("hunts/dnsevents-domain.kql")).unwrap();
    assert!(
        !dns.contains("where not("),
        "process fields do not exist in DnsEvents"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## False-positive scenarios"));
    assert!(report.contains("Lint: **error**") && report.contains("Not applied:"));
}

/// The deployed text and the offline run agree: running a generated hunt (exclusions
/// rendered) in the engine returns exactly the findings `hunt` leaves unsuppressed.
#[test]
fn generated_hunt_text_returns_exactly_the_unsuppressed_findings() {
    let dir = temp_dir("excl-agree");
    let logs = dir.join("logs");
    gen(&["logs", logs.to_str().unwrap(), "2000"]);
    let pack = dir.join("pack");
    let common = ["--source", "ThreatFox", "--exclusions"];
    let scen = fixture("reference-scenarios.txt");
    let (code, _, err) = iochunt(
        &[
            &["generate", &fixture("reference-iocs.md")][..],
            &common,
            &[scen.as_str(), "-o", pack.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let (_, jsonl, _) = iochunt(
        &[
            &["hunt", &fixture("reference-iocs.md")][..],
            &common,
            &[
                scen.as_str(),
                "--data",
                logs.to_str().unwrap(),
                "--format",
                "jsonl",
            ],
        ]
        .concat(),
    );
    let findings: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(pack.join("hunts")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let (code, out, err) = iochunt(&[
            "query",
            &format!("@{}", path.display()),
            "--data",
            logs.to_str().unwrap(),
            "--format",
            "jsonl",
        ]);
        if err.contains("no data for table") {
            continue;
        }
        assert_eq!(code, 0, "{name}: {err}");
        let mut from_query: Vec<String> = out.lines().map(str::to_string).collect();
        let mut from_hunt: Vec<String> = findings
            .iter()
            .filter(|f| f["hunt"] == name.as_str() && f["suppressed_by"].is_null())
            .map(|f| f["row"].to_string())
            .collect();
        from_query.sort();
        from_hunt.sort();
        assert_eq!(from_query, from_hunt, "{name}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} hunts compared");
    assert!(
        findings.iter().any(|f| !f["suppressed_by"].is_null()),
        "the test covers suppression"
    );
}
