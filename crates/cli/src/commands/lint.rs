//! `iochunt lint`: check false-positive scenarios. FILEs are scenario files and, optionally,
//! feeds (a file may be both, as the reference detection is): the feeds name the family,
//! whose profile says what the exclusions must never hide, and give the hunts. With
//! `--data`, each scenario is also run to count the findings it would suppress.

use crate::args::{LintArgs, LintFormat, Verbosity};
use hunt::lint::{self, Level};
use hunt::pack::{self, PackOptions};
use ioc::IndicatorSet;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(args: LintArgs, v: Verbosity) -> anyhow::Result<ExitCode> {
    let mut scenarios = Vec::new();
    let mut set = IndicatorSet::new();
    for f in &args.files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let as_scenarios = hunt::exclusion::read(&text, &name);
        let as_feed = ioc::read_feed_bytes(text.as_bytes(), &name, None)
            .ok()
            .filter(|r| !r.indicators.is_empty());
        match (as_scenarios, as_feed) {
            (Ok(s), feed) => {
                scenarios.extend(s);
                if let Some(r) = feed {
                    set.extend(r.indicators);
                }
            }
            (Err(_), Some(r)) => set.extend(r.indicators),
            (Err(e), None) => anyhow::bail!("{e} (and not an indicator feed either)"),
        }
    }
    let families = set.families();
    let profiles = hunt::profile::for_families(families.iter().map(String::as_str));
    if !v.quiet {
        let fams = if families.is_empty() {
            "no family (give a feed to check against one)".to_string()
        } else {
            families.join(", ")
        };
        eprintln!("iochunt: {} scenarios; family: {fams}", scenarios.len());
    }
    let base = pack::build(
        &set,
        &PackOptions {
            source: "the feed".into(),
            include_flagged: false,
        },
    );
    let tables: Vec<&str> = if base.hunts.is_empty() {
        vec![
            "CommonSecurityLog",
            "DeviceNetworkEvents",
            "DnsEvents",
            "UrlClickEvents",
        ]
    } else {
        let mut t: Vec<&str> = Vec::new();
        for h in &base.hunts {
            if !t.contains(&h.table) {
                t.push(h.table);
            }
        }
        t
    };
    let mut verdicts: Vec<lint::Verdict> = scenarios
        .iter()
        .map(|s| lint::lint(s, &profiles, &tables))
        .collect();
    if !args.data.data.is_empty() || !args.data.table.is_empty() {
        anyhow::ensure!(
            !set.is_empty(),
            "--data needs a feed among the FILEs to build the hunts"
        );
        for vd in &mut verdicts {
            if vd.condition.is_none() {
                continue;
            }
            let mut pack = base.clone();
            lint::apply(
                &mut pack,
                std::slice::from_ref(&vd.scenario),
                &profiles,
                true,
            );
            let catalog = Arc::new(crate::data::catalog(&args.data, false)?);
            let out = hunt::run::run(&pack, &set, catalog)?;
            let n = out
                .findings
                .iter()
                .filter(|f| f.suppressed_by.is_some())
                .count();
            vd.reasons.push(format!(
                "with the given data it would suppress {n} of {} findings",
                out.findings.len()
            ));
        }
    }
    match args.format {
        LintFormat::Json => {
            let all: Vec<serde_json::Value> = verdicts
                .iter()
                .map(|vd| json!({"scenario": vd.scenario.name, "level": vd.level.name(), "reasons": vd.reasons}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        LintFormat::Text => {
            for vd in &verdicts {
                println!(
                    "{:<7}  {}  ({})",
                    vd.level.name(),
                    vd.scenario.name,
                    vd.scenario.origin
                );
                for r in &vd.reasons {
                    println!("         - {r}");
                }
            }
        }
    }
    let errors = verdicts
        .iter()
        .filter(|vd| vd.level == Level::Error)
        .count();
    if !v.quiet {
        let warnings = verdicts
            .iter()
            .filter(|vd| vd.level == Level::Warning)
            .count();
        eprintln!(
            "iochunt: {errors} errors, {warnings} warnings, {} ok",
            verdicts.len() - errors - warnings
        );
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
