//! `iochunt generate`: write a pack's hunts, Sentinel rules and report to a folder. The
//! output is deterministic: the same input gives byte-identical files.

use crate::args::{GenerateArgs, Verbosity};
use anyhow::Context;
use hunt::pack::{self, PackOptions};
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: GenerateArgs, v: Verbosity) -> anyhow::Result<ExitCode> {
    let loaded = crate::feeds::load(&args.feeds, &args.feed, args.since.as_deref(), v)?;
    let source = loaded.source_name(args.source.as_deref());
    let opts = PackOptions {
        source: source.clone(),
        include_flagged: args.include_flagged,
    };
    let mut pack = pack::build(&loaded.set, &opts);
    let families = loaded.set.families();
    let profiles = hunt::profile::for_families(families.iter().map(String::as_str));
    let scenarios = crate::scenarios::load(&args.exclusions.files)?;
    let apps = hunt::lint::apply(
        &mut pack,
        &scenarios,
        &profiles,
        args.exclusions.force_exclusions,
    );
    let dir = &args.output;
    let hunts_dir = dir.join("hunts");
    let rules_dir = dir.join("rules");
    for d in [&hunts_dir, &rules_dir] {
        std::fs::create_dir_all(d)
            .with_context(|| format!("{}: cannot create folder", d.display()))?;
    }
    for h in &pack.hunts {
        write(
            &hunts_dir.join(format!("{}.kql", h.name)),
            &format!("{}\n", h.text()),
        )?;
        let rule_path = rules_dir.join(format!("{}.yaml", h.name));
        let old = std::fs::read_to_string(&rule_path).ok();
        let version = hunt::rules::next_version(old.as_deref(), &h.text());
        write(
            &rule_path,
            &hunt::rules::rule_yaml(h, &pack, &source, &profiles, &version),
        )?;
    }
    let section = (!scenarios.is_empty()).then(|| crate::scenarios::markdown(&apps));
    write(
        &dir.join("report.md"),
        &hunt::report::pack_report(&pack, &loaded.set, &source, section.as_deref()),
    )?;
    if !scenarios.is_empty() {
        write(
            &dir.join("exclusions.yaml"),
            &hunt::exclusion::write_yaml(&scenarios),
        )?;
        write(
            &dir.join("exclusions.txt"),
            &hunt::exclusion::write_text(&scenarios),
        )?;
        if !v.quiet {
            crate::scenarios::report(&apps, &|_| None);
        }
    }
    if !v.quiet {
        eprintln!(
            "iochunt: wrote {} hunts and {} rules for {} to {}{}",
            pack.hunts.len(),
            pack.hunts.len(),
            pack.family,
            dir.display(),
            if pack.left_out.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} flagged indicators left out (see report.md)",
                    pack.left_out.len()
                )
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}
