//! Loading false-positive scenarios for any command, and saying what applying them did.

use anyhow::Context;
use hunt::exclusion::{self, Scenario};
use hunt::lint::{Application, Level};
use std::path::Path;

/// The reference's five scenarios, bundled with the sample.
pub const BUNDLED: &str = include_str!("../sample/scenarios.txt");

pub fn load(files: &[impl AsRef<Path>]) -> anyhow::Result<Vec<Scenario>> {
    let mut out = Vec::new();
    for f in files {
        let f = f.as_ref();
        let text =
            std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        out.extend(exclusion::read(&text, &f.display().to_string()).map_err(anyhow::Error::msg)?);
    }
    Ok(out)
}

/// One line per scenario on stderr: applied where, refused why, not applicable where.
pub fn report(apps: &[Application], suppressed: &dyn Fn(&str) -> Option<usize>) {
    for a in apps {
        let s = &a.verdict.scenario;
        if let Some(why) = &a.refused {
            eprintln!("iochunt: scenario \"{}\" NOT applied: lint finds an error: {why} (--force-exclusions applies it anyway)", s.name);
            continue;
        }
        let hunts: Vec<&str> = a.applied.iter().map(|(h, _)| h.as_str()).collect();
        let count = suppressed(&s.name)
            .map(|n| format!(", suppressed {n} findings"))
            .unwrap_or_default();
        let forced = if a.verdict.level == Level::Error {
            " (forced despite a lint error)"
        } else {
            ""
        };
        eprintln!(
            "iochunt: scenario \"{}\": applied to {} hunts{count}{forced}",
            s.name,
            hunts.len()
        );
        // One line per set of missing fields, however many tables lack them.
        let mut groups: Vec<(&Vec<String>, Vec<&str>)> = Vec::new();
        for (table, missing) in &a.not_applicable {
            match groups.iter_mut().find(|(m, _)| *m == missing) {
                Some((_, tables)) => tables.push(table),
                None => groups.push((missing, vec![table])),
            }
        }
        for (missing, tables) in groups {
            eprintln!(
                "iochunt: scenario \"{}\": does not apply to {} (they have no {})",
                s.name,
                tables.join(", "),
                missing.join(", ")
            );
        }
    }
}

/// The report's "False-positive scenarios" section.
pub fn markdown(apps: &[Application]) -> String {
    let md = |s: &str| hunt::report::md_cell(s);
    let mut out = String::new();
    for a in apps {
        let s = &a.verdict.scenario;
        out.push_str(&format!(
            "### {}\n\n{}\n\n",
            md(&s.name),
            md(&s.description)
        ));
        out.push_str(&format!(
            "Filter/Exclusion: `{}`\n\n",
            s.exclude.replace('`', "'")
        ));
        out.push_str(&format!("Lint: **{}**", a.verdict.level.name()));
        if a.verdict.reasons.is_empty() {
            out.push_str("\n\n");
        } else {
            out.push_str("\n\n");
            for r in &a.verdict.reasons {
                out.push_str(&format!("- {}\n", md(r)));
            }
            out.push('\n');
        }
        if a.refused.is_some() {
            out.push_str("Not applied: an exclusion with a lint error would hide the activity these hunts exist to find (`--force-exclusions` applies it).\n\n");
            continue;
        }
        if !a.applied.is_empty() {
            let hunts: Vec<String> = a.applied.iter().map(|(h, _)| format!("`{h}`")).collect();
            out.push_str(&format!(
                "Applied to {} as `| where not({})`.\n\n",
                hunts.join(", "),
                a.applied[0].1.replace('`', "'")
            ));
        }
        for (table, missing) in &a.not_applicable {
            out.push_str(&format!(
                "Does not apply to {table} (it has no {}).\n\n",
                missing.join(", ")
            ));
        }
    }
    out
}
