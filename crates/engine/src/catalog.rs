//! The table catalog: built-in Sentinel schemas, and the sources bound to table names.
//!
//! `data/tables.json` holds the column names and types of 15 Sentinel tables (from
//! Microsoft's Azure-Sentinel repository, MIT; see `data/LICENSE.azure-sentinel`). A source
//! bound to one of them gets its documented column types; other tables get inferred types.

use crate::error::{err, Result};
use crate::source::{Source, SourceStats};
use crate::table::{Column, Row, Table};
use crate::value::Type;
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLES_JSON: &str = include_str!("../data/tables.json");
/// SecurityEvent and SigninLogs, from Microsoft's Azure Monitor Logs table reference.
const MORE_TABLES_JSON: &str = include_str!("../data/tables-azure-monitor.json");

fn schemas() -> &'static HashMap<String, Vec<Column>> {
    static S: OnceLock<HashMap<String, Vec<Column>>> = OnceLock::new();
    S.get_or_init(|| {
        let mut raw: HashMap<String, Vec<(String, String)>> =
            serde_json::from_str(TABLES_JSON).unwrap_or_default();
        let more: HashMap<String, Vec<(String, String)>> =
            serde_json::from_str(MORE_TABLES_JSON).unwrap_or_default();
        raw.extend(more);
        raw.into_iter()
            .map(|(t, cols)| {
                let cols = cols
                    .into_iter()
                    .map(|(name, ty)| Column {
                        name,
                        ty: Type::parse(&ty).unwrap_or(Type::String),
                    })
                    .collect();
                (t, cols)
            })
            .collect()
    })
}

/// The documented schema of a Sentinel table, if the catalog has it.
pub fn schema_of(table: &str) -> Option<&'static [Column]> {
    schemas().get(table).map(Vec::as_slice)
}

/// The sources bound to table names for one run.
#[derive(Default)]
pub struct Catalog {
    sources: HashMap<String, Vec<Source>>,
    order: Vec<String>,
    stats: std::sync::Mutex<Vec<SourceStats>>,
    /// Bytes of source files read so far, for a progress display.
    progress: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    pub fn bind(&mut self, table: &str, mut source: Source) {
        source.progress = Some(self.progress.clone());
        if !self.sources.contains_key(table) {
            self.order.push(table.to_string());
        }
        self.sources
            .entry(table.to_string())
            .or_default()
            .push(source);
    }

    /// True when a file is bound to the table.
    pub fn has_source(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.sources.contains_key(name) || schemas().contains_key(name)
    }

    pub fn table_names(&self) -> Vec<String> {
        self.order.clone()
    }

    /// A counter of the bytes read from sources so far, shared with a progress display.
    pub fn progress(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.progress.clone()
    }

    /// The size of all bound files.
    pub fn total_bytes(&self) -> u64 {
        self.sources
            .values()
            .flatten()
            .filter_map(|s| std::fs::metadata(&s.path).ok())
            .map(|m| m.len())
            .sum()
    }

    /// What each source read: bytes, rows, malformed rows.
    pub fn stats(&self) -> Vec<SourceStats> {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Reads a table's sources, keeping the rows `keep` accepts.
    pub fn scan(
        &self,
        name: &str,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        prefilter: Option<&crate::Prefilter>,
    ) -> Result<Table> {
        let Some(sources) = self.sources.get(name) else {
            if schema_of(name).is_some() {
                return err(format!(
                    "no data for table `{name}` (its schema is known: bind a file with --data or --table {name}=PATH)"
                ));
            }
            let mut known: Vec<&str> = self.order.iter().map(String::as_str).collect();
            known.sort();
            let hint = suggest(name, &known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return err(format!("unknown table `{name}`{hint}"));
        };
        let mut out = Table::default();
        for s in sources {
            let (t, stats) = s.read(name, keep, prefilter)?;

            if let Ok(mut all) = self.stats.lock() {
                all.push(stats);
            }
            if out.columns.is_empty() {
                out.columns = t.columns;
            } else {
                for c in t.columns {
                    if !out.columns.iter().any(|x| x.name == c.name) {
                        out.columns.push(c);
                    }
                }
            }
            out.rows.extend(t.rows);
        }
        let width = out.columns.len();
        for r in &mut out.rows {
            r.values.resize(width, crate::Value::Null);
        }
        Ok(out)
    }
}

/// The closest name by edit distance, when it is close enough to be a typo.
pub fn suggest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (levenshtein(&name.to_lowercase(), &n.to_lowercase()), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}
