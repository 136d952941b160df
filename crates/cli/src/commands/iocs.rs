//! `iochunt iocs`: print the merged indicator set in the chosen format.

use crate::args::{IocFormat, IocsArgs, Verbosity};
use crate::output::{csv_cell, text_table};
use ioc::{defang, Indicator};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: IocsArgs, v: Verbosity) -> anyhow::Result<ExitCode> {
    let loaded = crate::feeds::load(&args.feeds, &args.feed, args.since.as_deref(), v)?;
    let set = &loaded.set;
    let shown = |i: &Indicator| {
        if args.defang {
            defang(&i.value, i.kind)
        } else {
            i.value.clone()
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        IocFormat::Json => {
            let all: Vec<IndicatorJson> = set.iter().map(to_json).collect();
            serde_json::to_writer_pretty(&mut out, &all)?;
            writeln!(out)?;
        }
        IocFormat::Jsonl => {
            for i in set {
                serde_json::to_writer(&mut out, &to_json(i))?;
                writeln!(out)?;
            }
        }
        IocFormat::Md => write!(out, "{}", hunt::report::ioc_summary(set, args.defang))?,
        IocFormat::Csv => {
            writeln!(
                out,
                "value,kind,threat_type,malware,confidence,first_seen,last_seen,tags,sources,flags"
            )?;
            for i in set {
                let cells = [
                    shown(i),
                    i.kind.to_string(),
                    i.threat_type.as_deref().unwrap_or_default().to_string(),
                    i.malware_names().join(";"),
                    i.confidence.map(|c| c.to_string()).unwrap_or_default(),
                    i.first_seen.map(|t| t.iso()).unwrap_or_default(),
                    i.last_seen.map(|t| t.iso()).unwrap_or_default(),
                    i.tags.join(";"),
                    i.sources
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(";"),
                    i.flags.join(";"),
                ];
                let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                writeln!(out, "{}", row.join(","))?;
            }
        }
        IocFormat::Table => {
            let rows: Vec<Vec<String>> = set
                .iter()
                .map(|i| {
                    vec![
                        i.kind.to_string(),
                        shown(i),
                        i.threat_type.as_deref().unwrap_or_default().to_string(),
                        i.malware_names().join(", "),
                        i.confidence.map(|c| format!("{c}%")).unwrap_or_default(),
                        i.first_seen.map(|t| t.date()).unwrap_or_default(),
                        i.flags.join("; "),
                    ]
                })
                .collect();
            let header = [
                "KIND",
                "VALUE",
                "THREAT",
                "MALWARE",
                "CONF",
                "FIRST SEEN",
                "FLAGS",
            ];
            write!(out, "{}", text_table(&header, &rows))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The documented JSON shape of one indicator.
#[derive(serde::Serialize)]
struct IndicatorJson<'a> {
    value: &'a str,
    kind: &'static str,
    threat_type: Option<&'a str>,
    malware: Vec<&'a str>,
    confidence: Option<u8>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    tags: Vec<&'a str>,
    sources: Vec<SourceJson<'a>>,
    flags: &'a [String],
}

#[derive(serde::Serialize)]
struct SourceJson<'a> {
    file: &'a str,
    line: usize,
}

fn to_json(i: &Indicator) -> IndicatorJson<'_> {
    IndicatorJson {
        value: &i.value,
        kind: i.kind.name(),
        threat_type: i.threat_type.as_deref(),
        malware: i.malware_names(),
        confidence: i.confidence,
        first_seen: i.first_seen.map(|t| t.iso()),
        last_seen: i.last_seen.map(|t| t.iso()),
        tags: i.tag_names(),
        sources: i
            .sources
            .iter()
            .map(|s| SourceJson {
                file: &s.file,
                line: s.line,
            })
            .collect(),
        flags: &i.flags,
    }
}
