//! Binding exported log files to table names: `--data DIR` (files and folders named after
//! tables) and `--table NAME=PATH`.

use crate::args::DataArgs;
use anyhow::{bail, Context};
use engine::{Catalog, Source};
use std::path::{Path, PathBuf};

/// The table a file name stands for: `DnsEvents.jsonl.gz` -> `DnsEvents`
/// (`.zst` likewise).
fn table_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split('.').next()?;
    (!stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| stem.to_string())
}

fn is_data_file(p: &Path) -> bool {
    let n = p.to_string_lossy().to_ascii_lowercase();
    let n = [".gz", ".zst", ".zstd"]
        .iter()
        .find_map(|c| n.strip_suffix(c))
        .unwrap_or(&n);
    n.ends_with(".json") || n.ends_with(".jsonl") || n.ends_with(".ndjson") || n.ends_with(".csv")
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read folder", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_data_file(p))
        .collect();
    out.sort();
    Ok(out)
}

pub fn catalog(args: &DataArgs, strict: bool) -> anyhow::Result<Catalog> {
    let mut cat = Catalog::new();
    let mut bind = |table: &str, path: PathBuf| {
        let mut s = Source::new(path.clone(), path.display().to_string());
        s.strict = strict;
        s.day_first = args.date_order.map(|o| o == crate::args::DateOrder::Dmy);
        cat.bind(table, s);
    };
    for dir in &args.data {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read the --data folder", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let Some(table) = table_name(&p) else {
                continue;
            };
            if p.is_dir() {
                for f in files_under(&p)? {
                    bind(&table, f);
                }
            } else if is_data_file(&p) {
                bind(&table, p);
            }
        }
    }
    for spec in &args.table {
        let Some((name, path)) = spec.split_once('=') else {
            bail!("--table takes NAME=PATH, not {spec:?}")
        };
        let path = PathBuf::from(path);
        if path.is_dir() {
            for f in files_under(&path)? {
                bind(name, f);
            }
        } else if path.is_file() {
            bind(name, path);
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    Ok(cat)
}
