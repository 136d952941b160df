//! The table catalog: built-in Sentinel schemas, and the sources bound to table names.
//!
//! `data/tables.json` holds the column names and types of 15 Sentinel tables (from
//! Microsoft's Azure-Sentinel repository, MIT; see `data/LICENSE.azure-sentinel`). A source
//! bound to one of them gets its documented column types; other tables get inferred types.

use crate::error::{err, EngineError, Result};
use crate::source::{RowSink, Source, SourceStats};
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
    /// Each table's columns once read, and whether every record was looked at.
    schemas: std::sync::Mutex<HashMap<String, (Vec<Column>, bool)>>,
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

    /// The sources bound to a table, or why there are none.
    fn sources_of(&self, name: &str) -> Result<&[Source]> {
        if let Some(sources) = self.sources.get(name) {
            return Ok(sources);
        }
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
        err(format!("unknown table `{name}`{hint}"))
    }

    /// A table's columns: its documented schema, then the columns its files add (CSV
    /// headers; the keys of the first 1,000 records of JSON-lines files, or of all of them
    /// once a later record turned out to hold another).
    pub fn columns(&self, name: &str) -> Result<Vec<Column>> {
        let sources = self.sources_of(name)?;
        if let Some((cols, _)) = self.schemas.lock().ok().and_then(|s| s.get(name).cloned()) {
            return Ok(cols);
        }
        self.discover(name, sources, false)
    }

    fn discover(&self, name: &str, sources: &[Source], whole: bool) -> Result<Vec<Column>> {
        let mut cols = schema_of(name).map(<[Column]>::to_vec).unwrap_or_default();
        let mut complete = true;
        for s in sources {
            complete &= s.discover(&mut cols, whole)?;
        }
        if let Ok(mut all) = self.schemas.lock() {
            all.insert(name.to_string(), (cols.clone(), complete));
        }
        Ok(cols)
    }

    /// Reads a table's sources as rows of `columns` (from [`Catalog::columns`]), in
    /// order, into `sink` until it returns false; columns `needed` leaves out stay null.
    /// When a record holds a column `columns` lacks, every record's columns are read and
    /// the error [`EngineError::NewColumn`] returned: the caller asks for the columns again
    /// and starts over.
    pub fn scan_rows(
        &self,
        name: &str,
        columns: &[Column],
        needed: Option<&[bool]>,
        prefilter: Option<&crate::Prefilter>,
        sink: &mut RowSink,
    ) -> Result<()> {
        let sources = self.sources_of(name)?;
        let before = self.stats.lock().map(|s| s.len()).unwrap_or(0);
        let open = std::cell::Cell::new(true);
        let mut each = |row: Row| -> Result<bool> {
            open.set(sink(row)?);
            Ok(open.get())
        };
        for s in sources {
            match s.read_rows(name, columns, needed, prefilter, &mut each) {
                Ok(stats) => {
                    if let Ok(mut all) = self.stats.lock() {
                        all.push(stats);
                    }
                }
                Err(e @ EngineError::NewColumn { .. }) => {
                    let complete = self
                        .schemas
                        .lock()
                        .ok()
                        .and_then(|s| s.get(name).map(|(_, c)| *c));
                    if complete == Some(true) {
                        // Every record's columns were read already: asking again would
                        // loop. The record readers and the schema reader disagree.
                        let EngineError::NewColumn { column, .. } = e else {
                            unreachable!()
                        };
                        return err(format!(
                            "table {name}: a record holds a column `{column}` that reading \
                             every record's columns did not find"
                        ));
                    }
                    if let Ok(mut all) = self.stats.lock() {
                        all.truncate(before);
                    }
                    self.discover(name, sources, true)?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            if !open.get() {
                break;
            }
        }
        Ok(())
    }

    /// Reads a table's sources, keeping the rows `keep` accepts.
    pub fn scan(
        &self,
        name: &str,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        prefilter: Option<&crate::Prefilter>,
    ) -> Result<Table> {
        loop {
            let columns = self.columns(name)?;
            let mut rows = Vec::new();
            let read = self.scan_rows(name, &columns, None, prefilter, &mut |row| {
                if keep(&columns, &row)? {
                    rows.push(row);
                }
                Ok(true)
            });
            match read {
                Err(EngineError::NewColumn { .. }) => continue,
                other => other?,
            }
            return Ok(Table { columns, rows });
        }
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
