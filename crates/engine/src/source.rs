//! Sources: files bound to a table. JSON lines, JSON arrays (Log Analytics export) and CSV
//! with a header (portal exports' ` [UTC]` header suffix removed), each optionally gzip'd.
//! Every row keeps its file and line. Malformed rows are counted, and the first few
//! reported, never silently skipped.

use crate::catalog::schema_of;
use crate::error::{EngineError, Result};
use crate::table::{Column, Provenance, Row, Table};
use crate::time::parse_datetime;
use crate::value::{Type, Value};
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// A file bound to a table; `display` is the path as the user gave it.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub display: String,
    pub strict: bool,
    /// Where to count the bytes read, for a progress display (set by the catalog).
    pub progress: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// `Some(true)` for day-first dates (`26/03/2026`), `Some(false)` for month-first, `None`
    /// to infer per column.
    pub day_first: Option<bool>,
}

/// What reading one source gave.
#[derive(Clone, Debug, Default)]
pub struct SourceStats {
    pub file: String,
    pub table: String,
    pub bytes: u64,
    pub rows: u64,
    pub malformed: u64,
    /// The first few malformed rows: `file:line: why`.
    pub problems: Vec<String>,
    /// Bytes already counted into the progress display while reading.
    pub progressed: u64,
    /// Things the user should know that are not errors (an ambiguous date order, ...).
    pub warnings: Vec<String>,
}

impl Source {
    pub fn new(path: PathBuf, display: String) -> Source {
        Source {
            path,
            display,
            strict: false,
            progress: None,
            day_first: None,
        }
    }

    fn open(&self) -> Result<Box<dyn BufRead>> {
        let f = std::fs::File::open(&self.path).map_err(|source| EngineError::Io {
            file: self.display.clone(),
            source,
        })?;
        let name = self.path.to_string_lossy().to_ascii_lowercase();
        Ok(if name.ends_with(".gz") {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(f),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, f))
        })
    }

    fn format(&self) -> &'static str {
        let name = self.path.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".csv") {
            "csv"
        } else if name.ends_with(".json") {
            "json"
        } else {
            "jsonl"
        }
    }

    /// Reads the file into a table of `table`'s schema, keeping rows `keep` accepts.
    /// Lines the prefilter rules out are counted but not parsed: no row on them can match.
    pub fn read(
        &self,
        table: &str,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        prefilter: Option<&crate::Prefilter>,
    ) -> Result<(Table, SourceStats)> {
        let mut stats = SourceStats {
            file: self.display.clone(),
            table: table.to_string(),
            ..Default::default()
        };
        stats.bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let file: Arc<str> = Arc::from(self.display.as_str());
        let mut t = match self.format() {
            "csv" => self.read_csv(table, &file, keep, prefilter, &mut stats)?,
            "json" => self.read_json_array(table, &file, keep, &mut stats)?,
            _ => self.read_jsonl(table, &file, keep, prefilter, &mut stats)?,
        };
        t.columns.shrink_to_fit();
        if let Some(p) = &self.progress {
            p.fetch_add(
                stats.bytes.saturating_sub(stats.progressed),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        Ok((t, stats))
    }

    fn malformed(&self, stats: &mut SourceStats, line: u64, why: String) -> Result<()> {
        if self.strict {
            return Err(EngineError::Input {
                file: self.display.clone(),
                line,
                why,
            });
        }
        stats.malformed += 1;
        if stats.problems.len() < 5 {
            stats
                .problems
                .push(format!("{}:{line}: {why}", self.display));
        }
        Ok(())
    }

    fn read_jsonl(
        &self,
        table: &str,
        file: &Arc<str>,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        prefilter: Option<&crate::Prefilter>,
        stats: &mut SourceStats,
    ) -> Result<Table> {
        let mut columns: Vec<Column> = schema_of(table).map(<[Column]>::to_vec).unwrap_or_default();
        let mut rows = Vec::new();
        let mut reader = self.open()?;
        if let (Some(p), false) = (prefilter, self.strict) {
            let mut base = 0u64;
            let mut each = |scan: &crate::scan::ChunkScan, buf: &[u8]| -> Result<()> {
                stats.rows += scan.rows;
                for &l in &scan.misshapen {
                    stats.rows -= 1;
                    self.malformed(
                        stats,
                        base + l,
                        "not a JSON object (a line must hold one {...} object)".into(),
                    )?;
                }
                for &(l, a, b) in &scan.candidates {
                    let n = base + l;
                    let text = String::from_utf8_lossy(&buf[a..b]);
                    match object_line(text.trim()) {
                        Ok(obj) => {
                            let row = object_row(&obj, &mut columns, file, n);
                            if keep(&columns, &row)? {
                                rows.push(row);
                            }
                        }
                        Err(why) => {
                            stats.rows -= 1;
                            self.malformed(stats, n, why)?
                        }
                    }
                }
                base += scan.lines;
                if let Some(p) = &self.progress {
                    p.fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    stats.progressed += buf.len() as u64;
                }
                Ok(())
            };
            crate::scan::scan_chunks(&mut reader, &self.display, p, &mut each)?;
            return Ok(Table { columns, rows });
        }
        let mut line = String::new();
        let mut n = 0u64;
        loop {
            line.clear();
            let read = reader
                .read_line(&mut line)
                .map_err(|source| EngineError::Io {
                    file: self.display.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            n += 1;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            // A line the prefilter rules out is not parsed, but still checked for the shape
            // of one JSON object, so cut-off and stray lines are reported all the same.
            if !self.strict && prefilter.is_some_and(|p| !p.may_match(text.as_bytes())) {
                stats.rows += 1;
                if !(text.starts_with('{') && text.ends_with('}')) {
                    stats.rows -= 1;
                    self.malformed(
                        stats,
                        n,
                        "not a JSON object (a line must hold one {...} object)".into(),
                    )?;
                }
                continue;
            }
            match object_line(text) {
                Ok(obj) => {
                    stats.rows += 1;
                    let row = object_row(&obj, &mut columns, file, n);
                    if keep(&columns, &row)? {
                        rows.push(row);
                    }
                }
                Err(why) => self.malformed(stats, n, why)?,
            }
        }
        Ok(Table { columns, rows })
    }

    fn read_json_array(
        &self,
        table: &str,
        file: &Arc<str>,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        stats: &mut SourceStats,
    ) -> Result<Table> {
        let mut text = String::new();
        self.open()?
            .read_to_string(&mut text)
            .map_err(|source| EngineError::Io {
                file: self.display.clone(),
                source,
            })?;
        let json: Json = serde_json::from_str(&text).map_err(|e| EngineError::Input {
            file: self.display.clone(),
            line: e.line() as u64,
            why: format!("invalid JSON: {e}"),
        })?;
        let items = match json {
            Json::Array(a) => a,
            Json::Object(mut o) => match o.remove("value").or_else(|| o.remove("rows")) {
                Some(Json::Array(a)) => a,
                _ => vec![Json::Object(o)],
            },
            _ => {
                return Err(EngineError::Input {
                    file: self.display.clone(),
                    line: 1,
                    why: "expected a JSON array of objects".into(),
                })
            }
        };
        let mut columns: Vec<Column> = schema_of(table).map(<[Column]>::to_vec).unwrap_or_default();
        let mut rows = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Json::Object(obj) => {
                    stats.rows += 1;
                    let row = object_row(&obj, &mut columns, file, i as u64);
                    if keep(&columns, &row)? {
                        rows.push(row);
                    }
                }
                _ => self.malformed(stats, i as u64, "expected a JSON object".into())?,
            }
        }
        Ok(Table { columns, rows })
    }

    fn read_csv(
        &self,
        table: &str,
        file: &Arc<str>,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        prefilter: Option<&crate::Prefilter>,
        stats: &mut SourceStats,
    ) -> Result<Table> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(self.open()?);
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| EngineError::Input {
                file: self.display.clone(),
                line: 1,
                why: format!("invalid CSV header: {e}"),
            })?
            .iter()
            .map(|h| {
                h.trim()
                    .trim_end_matches(" [UTC]")
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let mut columns: Vec<Column> = schema_of(table).map(<[Column]>::to_vec).unwrap_or_default();
        let map: Vec<usize> = header
            .iter()
            .map(|h| match columns.iter().position(|c| &c.name == h) {
                Some(i) => i,
                None => {
                    columns.push(Column {
                        name: h.clone(),
                        ty: Type::String,
                    });
                    columns.len() - 1
                }
            })
            .collect();
        let width = columns.len();
        let mut rows = Vec::new();
        // Read ahead a sample to settle each datetime column's day/month order.
        let mut sample: Vec<csv::ByteRecord> = Vec::new();
        let mut record = csv::ByteRecord::new();
        let mut ended = false;
        while sample.len() < 1000 {
            match rdr.read_byte_record(&mut record) {
                Ok(true) => sample.push(record.clone()),
                Ok(false) => {
                    ended = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let day_first: Vec<Option<bool>> = (0..header.len())
            .map(|i| {
                let col = &columns[map[i]];
                if col.ty != Type::DateTime {
                    return None;
                }
                let values = sample.iter().filter_map(|r| r.get(i)).filter_map(|f| std::str::from_utf8(f).ok());
                let (order, ambiguous) = infer_day_first(values, self.day_first);
                if ambiguous {
                    stats.warnings.push(format!(
                        "{}: column {} has dates like 01/02/2026 that read either way; assuming {} (--date-order dmy|mdy settles it)",
                        self.display,
                        col.name,
                        if order == Some(false) { "month first" } else { "day first" }
                    ));
                }
                order
            })
            .collect();
        let mut pending = sample.into_iter();
        loop {
            let next = match pending.next() {
                Some(r) => {
                    record = r;
                    Ok(true)
                }
                None if ended => Ok(false),
                None => rdr.read_byte_record(&mut record),
            };
            match next {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    self.malformed(stats, line, format!("invalid CSV: {e}"))?;
                    continue;
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != header.len() {
                self.malformed(
                    stats,
                    line,
                    format!("expected {} fields, found {}", header.len(), record.len()),
                )?;
                continue;
            }
            stats.rows += 1;
            if !self.strict && prefilter.is_some_and(|p| !p.may_match(record.as_slice())) {
                continue;
            }
            let mut values = vec![Value::Null; width];
            let mut bad = None;
            for (i, field) in record.iter().enumerate() {
                let ci = map[i];
                match std::str::from_utf8(field) {
                    Ok(f) => values[ci] = text_value(f, columns[ci].ty, day_first[i]),
                    Err(_) => bad = Some(i),
                }
            }
            if let Some(i) = bad {
                self.malformed(stats, line, format!("field {} is not UTF-8", i + 1))?;
                continue;
            }
            for (ci, c) in columns.iter().enumerate() {
                if c.ty == Type::String && values[ci].is_null() {
                    values[ci] = Value::str("");
                }
            }
            let row = Row {
                values,
                provenance: Some(Arc::new(Provenance {
                    file: file.clone(),
                    line,
                })),
            };
            if keep(&columns, &row)? {
                rows.push(row);
            }
        }
        Ok(Table { columns, rows })
    }
}

/// A CSV cell as a value of its column's type; empty cells are null (strings: `""`).
fn text_value(s: &str, ty: Type, day_first: Option<bool>) -> Value {
    if s.is_empty() {
        return Value::null_of(ty);
    }
    match ty {
        Type::String => Value::str(s),
        Type::DateTime => parse_datetime(s, day_first).map_or(Value::Null, Value::DateTime),
        Type::Dynamic => serde_json::from_str::<Json>(s).map_or_else(
            |_| Value::from_json(&Json::String(s.into())),
            |j| Value::from_json(&j),
        ),
        other => Value::str(s).convert(other),
    }
}

/// The day/month order of a column of `dd/mm/yyyy` or `mm/dd/yyyy` dates: a first number
/// past 12 means day first, a second past 12 means month first. Returns the order and
/// whether the values left it open (then `given`, or day first, is assumed).
pub fn infer_day_first<'a>(
    values: impl Iterator<Item = &'a str>,
    given: Option<bool>,
) -> (Option<bool>, bool) {
    let (mut day_first, mut month_first, mut slashed) = (false, false, false);
    for v in values {
        let mut parts = v.trim().split('/');
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) else {
            continue;
        };
        slashed = true;
        day_first |= a > 12;
        month_first |= b > 12;
    }
    if given.is_some() {
        return (given, false);
    }
    match (slashed, day_first, month_first) {
        (false, _, _) => (None, false),
        (true, true, false) => (Some(true), false),
        (true, false, true) => (Some(false), false),
        _ => (Some(true), true),
    }
}

/// One line of a JSON-lines file as an object, or why it is not one.
fn object_line(text: &str) -> std::result::Result<serde_json::Map<String, Json>, String> {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(obj)) => Ok(obj),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(format!(
            "invalid JSON: {}",
            e.to_string().split(" at line").next().unwrap_or("")
        )),
    }
}

/// A JSON object as a row of `columns`, adding columns the schema does not have.
fn object_row(
    obj: &serde_json::Map<String, Json>,
    columns: &mut Vec<Column>,
    file: &Arc<str>,
    line: u64,
) -> Row {
    let mut values = vec![Value::Null; columns.len()];
    for (k, v) in obj {
        let ci = match columns.iter().position(|c| &c.name == k) {
            Some(i) => i,
            None => {
                columns.push(Column {
                    name: k.clone(),
                    ty: json_type(v),
                });
                values.push(Value::Null);
                columns.len() - 1
            }
        };
        values[ci] = json_value(v, columns[ci].ty);
    }
    for (ci, c) in columns.iter().enumerate() {
        if c.ty == Type::String && values[ci].is_null() {
            values[ci] = Value::str("");
        }
    }
    Row {
        values,
        provenance: Some(Arc::new(Provenance {
            file: file.clone(),
            line,
        })),
    }
}

fn json_type(v: &Json) -> Type {
    match v {
        Json::Bool(_) => Type::Bool,
        Json::Number(n) if n.is_i64() => Type::Long,
        Json::Number(_) => Type::Real,
        Json::String(_) | Json::Null => Type::String,
        _ => Type::Dynamic,
    }
}

fn json_value(v: &Json, ty: Type) -> Value {
    match (v, ty) {
        (Json::Null, t) => Value::null_of(t),
        (_, Type::Dynamic) => match v {
            Json::String(s) => serde_json::from_str::<Json>(s)
                .map_or_else(|_| Value::from_json(v), |j| Value::from_json(&j)),
            _ => Value::from_json(v),
        },
        (Json::String(s), Type::String) => Value::str(s),
        (Json::String(s), Type::DateTime) => {
            parse_datetime(s, None).map_or(Value::Null, Value::DateTime)
        }
        (Json::String(s), t) => Value::str(s).convert(t),
        (other, t) => Value::from_json(other).scalar().convert(t),
    }
}

#[cfg(test)]
mod date_order_tests {
    use super::infer_day_first;

    #[test]
    fn infers_the_order_per_column_and_flags_ambiguity() {
        assert_eq!(
            infer_day_first(
                ["26/03/2026, 15:18:18.790", "01/04/2026, 10:00"].into_iter(),
                None
            ),
            (Some(true), false)
        );
        assert_eq!(
            infer_day_first(["3/26/2026, 3:18:18 PM"].into_iter(), None),
            (Some(false), false)
        );
        assert_eq!(
            infer_day_first(["01/02/2026, 10:00"].into_iter(), None),
            (Some(true), true)
        );
        assert_eq!(
            infer_day_first(["01/02/2026, 10:00"].into_iter(), Some(false)),
            (Some(false), false)
        );
        assert_eq!(
            infer_day_first(["2026-03-26T10:00:00Z"].into_iter(), None),
            (None, false)
        );
    }
}
