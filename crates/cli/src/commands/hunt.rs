//! `iochunt hunt`: build the pack (the same KQL `generate` writes), run it over exported
//! logs, and report the findings: what matched, where, and why it matters.

use crate::args::{HuntArgs, HuntFormat, Verbosity};
use crate::output::{csv_cell, text_table};
use anyhow::Context;
use engine::Value;
use hunt::pack::{self, PackOptions};
use hunt::run::{Finding, Outcome};
use ioc::defang;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

pub fn run(args: HuntArgs, v: Verbosity) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let sample = if args.feeds.is_empty() && args.data.data.is_empty() && args.data.table.is_empty()
    {
        if !v.quiet {
            eprintln!(
                "iochunt: no feed and no data given: hunting the bundled sample (the reference's \
                 NetSupportManager RAT indicators over sample exports of 4 tables)"
            );
        }
        Some(crate::sample::Sample::extract()?)
    } else {
        None
    };
    let feeds = match &sample {
        Some(s) => vec![s.feed()],
        None => args.feeds.clone(),
    };
    if feeds.is_empty() {
        anyhow::bail!("no feed given: name one or more indicator feeds (or give no input at all for the sample)");
    }
    let loaded = crate::feeds::load(&feeds, &args.feed, None, v)?;
    let source = match (&sample, args.source.as_deref()) {
        (Some(_), None) => "ThreatFox".to_string(),
        (_, given) => loaded.source_name(given),
    };
    let opts = PackOptions {
        source,
        include_flagged: args.include_flagged,
    };
    let mut pack = pack::build(&loaded.set, &opts);
    let families = loaded.set.families();
    let profiles = hunt::profile::for_families(families.iter().map(String::as_str));
    let mut scenarios = match &sample {
        Some(_) => hunt::exclusion::read(crate::scenarios::BUNDLED, "sample/scenarios.txt")
            .map_err(anyhow::Error::msg)?,
        None => Vec::new(),
    };
    scenarios.extend(crate::scenarios::load(&args.exclusions.files)?);
    let apps = hunt::lint::apply(
        &mut pack,
        &scenarios,
        &profiles,
        args.exclusions.force_exclusions,
    );
    let catalog = Arc::new(match &sample {
        Some(s) => s.catalog(),
        None => crate::data::catalog(&args.data, args.feed.strict)?,
    });
    let progress =
        crate::progress::Progress::start(catalog.progress(), catalog.total_bytes(), v.quiet);
    let mut outcome = hunt::run::run(&pack, &loaded.set, catalog)?;
    drop(progress);
    let since = parse_time(args.since.as_deref(), "--since")?;
    let until = parse_time(args.until.as_deref(), "--until")?;
    outcome.findings.retain(|f| match &f.time {
        Value::DateTime(t) => since.is_none_or(|s| *t >= s) && until.is_none_or(|u| *t < u),
        _ => since.is_none() && until.is_none(),
    });
    let text = render(&outcome.findings, args.format, args.show_suppressed);
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("{}: cannot write", path.display()))?,
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    if !v.quiet {
        summary(&outcome, started);
        let count = |name: &str| {
            Some(
                outcome
                    .findings
                    .iter()
                    .filter(|f| f.suppressed_by.as_deref() == Some(name))
                    .count(),
            )
        };
        crate::scenarios::report(&apps, &count);
    }
    let live = outcome
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_none())
        .count();
    Ok(if live > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_time(s: Option<&str>, flag: &str) -> anyhow::Result<Option<i64>> {
    match s {
        None => Ok(None),
        Some(s) => engine::parse_datetime(s)
            .map(Some)
            .with_context(|| format!("invalid {flag} time {s:?}")),
    }
}

fn render(findings: &[Finding], format: HuntFormat, show_suppressed: bool) -> String {
    match format {
        HuntFormat::Jsonl => findings
            .iter()
            .map(|f| format!("{}\n", finding_json(f)))
            .collect(),
        HuntFormat::Csv => {
            let mut out = String::from("time,hunt,table,host,account,indicator,kind,malware,column,file,line,before_first_seen,suppressed_by\n");
            for f in findings {
                let cells = cells(f, false);
                out.push_str(
                    &cells
                        .iter()
                        .map(|c| csv_cell(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        HuntFormat::Table => {
            let rows: Vec<Vec<String>> = findings
                .iter()
                .filter(|f| show_suppressed || f.suppressed_by.is_none())
                .map(|f| cells(f, true))
                .collect();
            let mut out = if rows.is_empty() {
                String::from("no findings\n")
            } else {
                text_table(
                    &[
                        "TIME",
                        "HUNT",
                        "TABLE",
                        "HOST",
                        "ACCOUNT",
                        "INDICATOR",
                        "KIND",
                        "MALWARE",
                        "COLUMN",
                        "FILE",
                        "LINE",
                        "RETRO",
                        "SUPPRESSED BY",
                    ],
                    &rows,
                )
            };
            out.push_str(&rollup(findings, false));
            out
        }
        HuntFormat::Md => {
            let mut out = String::from("## Findings\n\n| Time | Hunt | Host | Account | Indicator | Kind | Column | Source | Suppressed by |\n|---|---|---|---|---|---|---|---|---|\n");
            for f in findings
                .iter()
                .filter(|f| show_suppressed || f.suppressed_by.is_none())
            {
                let c = cells(f, true);
                let md = |s: &str| hunt::report::md_cell(s);
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {}:{} | {} |\n",
                    md(&c[0]),
                    md(&c[1]),
                    md(&c[3]),
                    md(&c[4]),
                    md(&c[5]),
                    md(&c[6]),
                    md(&c[8]),
                    md(&c[9]),
                    md(&c[10]),
                    md(&c[12])
                ));
            }
            out.push('\n');
            out.push_str(&rollup(findings, true));
            out
        }
    }
}

fn cells(f: &Finding, people: bool) -> Vec<String> {
    let value = if people {
        defang(&f.indicator.value, f.indicator.kind)
    } else {
        f.indicator.value.clone()
    };
    vec![
        f.time.to_kusto_string(),
        f.hunt.clone(),
        f.table.clone(),
        f.entities.host.clone().unwrap_or_default(),
        f.entities.account.clone().unwrap_or_default(),
        value,
        f.indicator.kind.to_string(),
        f.indicator.malware_names().join(", "),
        f.column.clone(),
        f.source
            .as_ref()
            .map(|p| p.file.to_string())
            .unwrap_or_default(),
        f.source
            .as_ref()
            .map(|p| p.line.to_string())
            .unwrap_or_default(),
        if f.before_first_seen {
            "yes".into()
        } else {
            String::new()
        },
        f.suppressed_by.clone().unwrap_or_default(),
    ]
}

/// The documented JSON line of a finding.
fn finding_json(f: &Finding) -> serde_json::Value {
    let row: serde_json::Map<String, serde_json::Value> = f
        .row
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    json!({
        "hunt": f.hunt,
        "table": f.table,
        "time": f.time.to_json(),
        "column": f.column,
        "indicator": {
            "value": f.indicator.value,
            "kind": f.indicator.kind.name(),
            "threat_type": f.indicator.threat_type.as_deref(),
            "malware": f.indicator.malware_names(),
            "confidence": f.indicator.confidence,
            "first_seen": f.indicator.first_seen.map(|t| t.iso()),
        },
        "row": row,
        "entities": {
            "host": f.entities.host,
            "account": f.entities.account,
            "ips": f.entities.ips,
            "url": f.entities.url,
        },
        "source": {
            "file": f.source.as_ref().map(|p| p.file.to_string()),
            "line": f.source.as_ref().map(|p| p.line),
        },
        "before_first_seen": f.before_first_seen,
        "suppressed_by": f.suppressed_by,
    })
}

/// Per host (and account) and indicator: first and last contact, count, actions.
fn rollup(findings: &[Finding], markdown: bool) -> String {
    struct Entry {
        first: String,
        last: String,
        count: usize,
        actions: Vec<String>,
    }
    let mut keys: Vec<(String, String, String)> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for f in findings.iter().filter(|f| f.suppressed_by.is_none()) {
        let key = (
            f.entities.host.clone().unwrap_or_else(|| "-".into()),
            f.entities.account.clone().unwrap_or_else(|| "-".into()),
            defang(&f.indicator.value, f.indicator.kind),
        );
        let t = f.time.to_kusto_string();
        let at = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                entries.push(Entry {
                    first: t.clone(),
                    last: t.clone(),
                    count: 0,
                    actions: Vec::new(),
                });
                keys.len() - 1
            }
        };
        let e = &mut entries[at];
        e.count += 1;
        if t < e.first {
            e.first = t.clone();
        }
        if t > e.last {
            e.last = t;
        }
        if let Some(a) = &f.action {
            if !e.actions.contains(a) {
                e.actions.push(a.clone());
            }
        }
    }
    if keys.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .zip(&entries)
        .map(|((h, a, i), e)| {
            vec![
                h.clone(),
                a.clone(),
                i.clone(),
                e.first.clone(),
                e.last.clone(),
                e.count.to_string(),
                e.actions.join(", "),
            ]
        })
        .collect();
    let header = [
        "HOST",
        "ACCOUNT",
        "INDICATOR",
        "FIRST CONTACT",
        "LAST CONTACT",
        "COUNT",
        "ACTIONS",
    ];
    if markdown {
        let mut out = String::from("## Roll-up per host and indicator\n\n| Host | Account | Indicator | First contact | Last contact | Count | Actions |\n|---|---|---|---|---|---|---|\n");
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| hunt::report::md_cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    } else {
        format!(
            "\nroll-up per host and indicator:\n{}",
            text_table(&header, &rows)
        )
    }
}

fn summary(o: &Outcome, started: Instant) {
    for h in &o.hunts {
        match &h.not_hunted {
            Some(why) => eprintln!("iochunt: hunt {}: not hunted: {why}", h.hunt),
            None => eprintln!(
                "iochunt: hunt {}: {} rows scanned, {} findings, {} suppressed",
                h.hunt, h.rows_scanned, h.findings, h.suppressed
            ),
        }
    }
    for s in &o.sources {
        for p in s.problems.iter().chain(&s.warnings) {
            eprintln!("iochunt: {p}");
        }
        eprintln!(
            "iochunt: source {}: {} bytes, {} rows, {} malformed",
            s.file, s.bytes, s.rows, s.malformed
        );
    }
    let live = o
        .findings
        .iter()
        .filter(|f| f.suppressed_by.is_none())
        .count();
    eprintln!(
        "iochunt: {} findings ({} suppressed) in {:.2} s",
        live,
        o.findings.len() - live,
        started.elapsed().as_secs_f64()
    );
}
