//! Sources: files bound to a table. JSON lines, JSON arrays (Log Analytics export) and CSV
//! with a header (portal exports' ` [UTC]` header suffix removed), each optionally gzip'd.
//! Every row keeps its file and line. Malformed rows are counted, and the first few
//! reported, never silently skipped.

use crate::catalog::schema_of;
use crate::csvline::{csv_fields, csv_unquote, Records};
use crate::error::{EngineError, Result};
use crate::jsonarray::Stop;
use crate::jsonrow::{JsonLayout, LineFault};
use crate::scan::{self, ChunkScan, Flaw, Shape};
use crate::table::{Column, Provenance, Row, Table};
use crate::time::parse_datetime;
use crate::value::{parse_long, Type, Value};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a source's rows go, one at a time in file order; returning false stops the reading.
pub type RowSink<'a> = dyn FnMut(Row) -> Result<bool> + 'a;

/// A CSV file's reader, record by record.
type CsvRecords = Records<Box<dyn BufRead>>;

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
        let f = std::fs::File::open(&self.path).map_err(self.io())?;
        Ok(match self.compression() {
            Some(Compression::Gzip) => Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(f),
            )),
            Some(Compression::Zstd) => {
                let frames = Zstd::new(BufReader::new(f)).map_err(self.io())?;
                Box::new(BufReader::with_capacity(1 << 20, frames))
            }
            None => Box::new(BufReader::with_capacity(1 << 20, f)),
        })
    }

    fn compression(&self) -> Option<Compression> {
        let name = self.path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".gz") {
            Some(Compression::Gzip)
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    fn compressed(&self) -> bool {
        self.compression().is_some()
    }

    /// Counts bytes read into the progress display.
    fn progressed(&self, stats: &mut SourceStats, bytes: usize) {
        if let Some(p) = &self.progress {
            p.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
            stats.progressed += bytes as u64;
        }
    }

    fn format(&self) -> &'static str {
        let name = self.path.to_string_lossy().to_ascii_lowercase();
        let name = [".gz", ".zst", ".zstd"]
            .iter()
            .find_map(|c| name.strip_suffix(c))
            .unwrap_or(&name);
        if name.ends_with(".csv") {
            "csv"
        } else if name.ends_with(".json") {
            "json"
        } else {
            "jsonl"
        }
    }

    /// Reads the file into a table of `table`'s schema and this file's own columns, keeping
    /// rows `keep` accepts. Lines the prefilter rules out are counted but not parsed.
    pub fn read(
        &self,
        table: &str,
        keep: &dyn Fn(&[Column], &Row) -> Result<bool>,
        prefilter: Option<&crate::Prefilter>,
    ) -> Result<(Table, SourceStats)> {
        let mut columns = schema_of(table).map(<[Column]>::to_vec).unwrap_or_default();
        self.discover(&mut columns, true)?;
        let mut rows = Vec::new();
        let stats = self.read_rows(table, &columns, None, prefilter, &mut |row| {
            if keep(&columns, &row)? {
                rows.push(row);
            }
            Ok(true)
        })?;
        Ok((Table { columns, rows }, stats))
    }

    /// Adds to `columns` the columns this file holds that it lacks, typed from their values
    /// (a CSV header's columns, typed from the first 1,000 records; the keys of JSON
    /// records). A JSON-lines file is sampled from its first 1,000 records unless `whole`;
    /// returns whether every record was looked at, so that no other key can turn up.
    pub fn discover(&self, columns: &mut Vec<Column>, whole: bool) -> Result<bool> {
        match self.format() {
            "csv" => {
                let Some((header, mut rdr)) = self.csv_header()? else {
                    return Ok(true);
                };
                let mut sample: Vec<Vec<Vec<u8>>> = Vec::new();
                while sample.len() < 1000 && rdr.next_record().map_err(self.io())?.is_some() {
                    sample.push(rdr.fields().map(|f| f.into_owned()).collect());
                }
                for (i, h) in header.iter().enumerate() {
                    if columns.iter().any(|c| &c.name == h) {
                        continue;
                    }
                    let values = sample
                        .iter()
                        .filter_map(|r| r.get(i))
                        .filter_map(|f| std::str::from_utf8(f).ok());
                    columns.push(Column {
                        name: h.clone(),
                        ty: infer_text_type(values),
                    });
                }
                Ok(true)
            }
            "json" => {
                // As for JSON lines: the first 1,000 records, unless `whole`. Text that is
                // not JSON ends the records (the reading reports it).
                let mut keys = KeyTypes::new(columns);
                let mut seen = 0;
                let read = self.json_records(&mut |_, record| {
                    if let Json::Object(obj) = record {
                        keys.add(&obj);
                        seen += 1;
                    }
                    Ok(whole || seen < 1000)
                });
                match read {
                    Err(e @ EngineError::Io { .. }) => Err(e),
                    _ => Ok(whole || seen < 1000),
                }
            }
            _ => {
                let mut keys = KeyTypes::new(columns);
                let mut reader = self.open()?;
                let mut line = String::new();
                let mut seen = 0;
                loop {
                    line.clear();
                    if reader.read_line(&mut line).map_err(self.io())? == 0 {
                        return Ok(true);
                    }
                    if let Ok(obj) = object_line(line.trim()) {
                        keys.add(&obj);
                        seen += 1;
                        if !whole && seen == 1000 {
                            return Ok(false);
                        }
                    }
                }
            }
        }
    }

    /// Turns a read error into the engine's, naming this file.
    fn io(&self) -> impl Fn(std::io::Error) -> EngineError + '_ {
        scan::io_error(&self.display)
    }

    /// Reads the file's rows as rows of `columns` (which hold every column of the file,
    /// from [`Source::discover`]) and hands them to `sink` in file order until it returns
    /// false. Columns `needed` leaves out are not filled in (null). Lines the prefilter
    /// rules out are counted but not parsed: no row on them can match.
    pub fn read_rows(
        &self,
        table: &str,
        columns: &[Column],
        needed: Option<&[bool]>,
        prefilter: Option<&crate::Prefilter>,
        sink: &mut RowSink,
    ) -> Result<SourceStats> {
        let mut stats = SourceStats {
            file: self.display.clone(),
            table: table.to_string(),
            ..Default::default()
        };
        stats.bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let file: Arc<str> = Arc::from(self.display.as_str());
        let new_column = |column: String| EngineError::NewColumn {
            table: table.to_string(),
            column,
        };
        match self.format() {
            "csv" => self.read_csv(columns, needed, &file, prefilter, &mut stats, sink),
            "json" => self.read_json_array(columns, needed, &file, &mut stats, sink),
            _ => self.read_jsonl(columns, needed, &file, prefilter, &mut stats, sink),
        }
        .map_err(|e| match e {
            EngineError::NewColumn { column, .. } => new_column(column),
            e => e,
        })?;
        if let Some(p) = &self.progress {
            p.fetch_add(
                stats.bytes.saturating_sub(stats.progressed),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        Ok(stats)
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

    /// The prefilter the line scan runs with: the query's, or every line when there is
    /// none or in strict mode (where every line is parsed, so that any malformed one stops
    /// the reading).
    fn scan_filter<'p>(
        &self,
        prefilter: Option<&'p crate::Prefilter>,
        all: &'p crate::Prefilter,
    ) -> &'p crate::Prefilter {
        match prefilter {
            Some(p) if !self.strict => p,
            _ => all,
        }
    }

    /// Hands on a candidate line's values (its row already counted by the scan) as a row
    /// of `line`, or reports why the line is malformed. Returns what the sink says: false
    /// stops the reading.
    fn hand_on(
        &self,
        stats: &mut SourceStats,
        parsed: std::result::Result<Vec<Value>, LineFault>,
        file: &Arc<str>,
        line: u64,
        sink: &mut RowSink,
    ) -> Result<bool> {
        match parsed {
            Ok(values) => sink(row_at(values, file, line)),
            Err(LineFault::Malformed(why)) => {
                stats.rows -= 1;
                self.malformed(stats, line, why).map(|()| true)
            }
            Err(LineFault::NewKey(column)) => Err(EngineError::NewColumn {
                table: String::new(),
                column,
            }),
        }
    }

    fn read_jsonl(
        &self,
        columns: &[Column],
        needed: Option<&[bool]>,
        file: &Arc<str>,
        prefilter: Option<&crate::Prefilter>,
        stats: &mut SourceStats,
        sink: &mut RowSink,
    ) -> Result<()> {
        let layout = JsonLayout::new(columns, needed);
        // Lines the prefilter rules out are only checked for the shape of one object.
        let all = crate::Prefilter::all();
        let p = self.scan_filter(prefilter, &all);
        // `from_utf8` checks eight bytes at a time where the lossy form goes byte by byte.
        let parse = |line: &[u8]| match std::str::from_utf8(line) {
            Ok(s) => layout.values_here(s.trim()),
            Err(_) => layout.values_here(String::from_utf8_lossy(line).trim()),
        };
        let mut base = 0u64;
        let mut each = |scan: &mut ChunkScan, buf: &[u8]| -> Result<bool> {
            stats.rows += scan.rows;
            for &(l, _) in &scan.misshapen {
                stats.rows -= 1;
                self.malformed(
                    stats,
                    base + l,
                    "not a JSON object (a line must hold one {...} object)".into(),
                )?;
            }
            let parsed = std::mem::take(&mut scan.parsed);
            for (&(l, _, _), parsed) in scan.candidates.iter().zip(parsed) {
                if !self.hand_on(stats, parsed, file, base + l, sink)? {
                    return Ok(false);
                }
            }
            base += scan.lines;
            self.progressed(stats, buf.len());
            Ok(true)
        };
        if self.compressed() {
            let mut reader = self.open()?;
            let shape = Shape::JsonObject;
            scan::scan_chunks(
                &mut reader,
                &self.display,
                shape,
                p,
                Some(&parse),
                &mut each,
            )
        } else {
            let shape = Shape::JsonObject;
            scan::scan_file(
                &self.path,
                &self.display,
                0,
                shape,
                p,
                Some(&parse),
                &mut each,
            )
        }
    }

    /// The items of a JSON array file (or of the `value`/`rows` array of an object).
    /// Hands every record of a JSON array export to `each` (see [`crate::jsonarray`]).
    fn json_records(&self, each: &mut dyn FnMut(u64, Json) -> Result<bool>) -> Result<()> {
        let syntax = |line, why| EngineError::Input {
            file: self.display.clone(),
            line,
            why,
        };
        crate::jsonarray::each_record(self.open()?, each).map_err(|stop| match stop {
            Stop::Failed(e) => e,
            Stop::Syntax { line, why } => syntax(line, why),
            Stop::Shape => syntax(1, "expected a JSON array of objects".into()),
        })
    }

    fn read_json_array(
        &self,
        columns: &[Column],
        needed: Option<&[bool]>,
        file: &Arc<str>,
        stats: &mut SourceStats,
        sink: &mut RowSink,
    ) -> Result<()> {
        let read = self.json_records(&mut |i, record| {
            let Json::Object(obj) = record else {
                self.malformed(stats, i, "expected a JSON object".into())?;
                return Ok(true);
            };
            stats.rows += 1;
            let mut values = vec![Value::Null; columns.len()];
            for (k, v) in &obj {
                let Some(ci) = columns.iter().position(|c| &c.name == k) else {
                    return Err(EngineError::NewColumn {
                        table: String::new(),
                        column: k.clone(),
                    });
                };
                if needed.is_none_or(|n| n[ci]) {
                    values[ci] = json_value(v, columns[ci].ty);
                }
            }
            empty_strings_for_nulls(&mut values, columns, needed);
            sink(row_at(values, file, i))
        });
        match read {
            // Text that is not JSON ends the file; the records before it stand.
            Err(EngineError::Input { line, why, .. }) if !self.strict => {
                self.malformed(stats, line, why)
            }
            other => other,
        }
    }

    /// The header of a CSV file (names cleaned of the portal's ` [UTC]` suffix and a byte
    /// order mark) and the reader positioned after it; `None` for an empty file.
    fn csv_header(&self) -> Result<Option<(Vec<String>, CsvRecords)>> {
        let mut rdr = Records::new(self.open()?, 0);
        if rdr.next_record().map_err(self.io())?.is_none() {
            return Ok(None);
        }
        let header = rdr
            .fields()
            .map(|h| {
                String::from_utf8_lossy(&h)
                    .trim()
                    .trim_end_matches(" [UTC]")
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        Ok(Some((header, rdr)))
    }

    fn read_csv(
        &self,
        columns: &[Column],
        needed: Option<&[bool]>,
        file: &Arc<str>,
        prefilter: Option<&crate::Prefilter>,
        stats: &mut SourceStats,
        sink: &mut RowSink,
    ) -> Result<()> {
        let io = self.io();
        let Some((header, mut rdr)) = self.csv_header()? else {
            // An empty export: no header, no rows.
            return Ok(());
        };
        // Where the records start.
        let header_bytes = rdr.consumed();
        let header_lines = rdr.line();
        let map: Vec<usize> = header
            .iter()
            .map(|h| {
                columns
                    .iter()
                    .position(|c| &c.name == h)
                    .ok_or_else(|| EngineError::NewColumn {
                        table: String::new(),
                        column: h.clone(),
                    })
            })
            .collect::<Result<_>>()?;
        // Read ahead a sample to settle each datetime column's day/month order.
        let mut sample: Vec<(u64, Vec<Vec<u8>>, Vec<u8>)> = Vec::new();
        let mut ended = false;
        while sample.len() < 1000 {
            match rdr.next_record().map_err(&io)? {
                Some(line) => sample.push((
                    line,
                    rdr.fields().map(|f| f.into_owned()).collect(),
                    rdr.text().to_vec(),
                )),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        let day_first: Vec<Option<bool>> = (0..header.len())
            .map(|i| {
                let col = &columns[map[i]];
                if col.ty != Type::DateTime {
                    return None;
                }
                let values = sample
                    .iter()
                    .filter_map(|(_, r, _)| r.get(i))
                    .filter_map(|f| std::str::from_utf8(f).ok());
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
        let layout = CsvLayout {
            map,
            day_first,
            columns,
            needed,
            file: file.clone(),
        };
        // Lines the prefilter rules out are only checked for their number of fields.
        let all = crate::Prefilter::all();
        let p = self.scan_filter(prefilter, &all);
        if !self.compressed() {
            // The grep-like scan, as long as every line is one record; the workers that
            // scan a chunk parse its candidate lines.
            let mut base = header_lines;
            let mut resume = None;
            let mut stopped = false;
            let parse = |line: &[u8]| {
                let mut ranges = Vec::new();
                csv_fields(line, &mut ranges);
                let fields = ranges.iter().map(|&(x, y)| csv_unquote(&line[x..y]));
                layout.values(fields).map_err(LineFault::Malformed)
            };
            let mut each = |scan: &mut ChunkScan, buf: &[u8]| -> Result<bool> {
                if scan.multiline {
                    resume = Some((scan.offset, base));
                    return Ok(false);
                }
                stats.rows += scan.rows;
                for &(l, flaw) in &scan.misshapen {
                    stats.rows -= 1;
                    let found = match flaw {
                        Flaw::Fields(n) => n,
                        Flaw::NotObject => 0,
                    };
                    let why = format!("expected {} fields, found {found}", header.len());
                    self.malformed(stats, base + l, why)?;
                }
                let parsed = std::mem::take(&mut scan.parsed);
                for (&(l, _, _), values) in scan.candidates.iter().zip(parsed) {
                    if !self.hand_on(stats, values, file, base + l, sink)? {
                        stopped = true;
                        return Ok(false);
                    }
                }
                base += scan.lines;
                self.progressed(stats, buf.len());
                Ok(true)
            };
            let shape = Shape::Csv {
                fields: header.len(),
            };
            let parse: &scan::LineParser = &parse;
            scan::scan_file(
                &self.path,
                &self.display,
                header_bytes,
                shape,
                p,
                Some(parse),
                &mut each,
            )?;
            let Some((offset, before)) = resume.filter(|_| !stopped) else {
                return Ok(());
            };
            // A record spans lines: read the rest record by record.
            let mut f = std::fs::File::open(&self.path).map_err(&io)?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset)).map_err(&io)?;
            let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 20, f));
            rdr = Records::new(reader, before);
            sample.clear();
            ended = false;
        }
        // One record: its field count checked, the prefilter asked, then its row handed
        // on. Returns what the sink says: false stops the reading.
        let mut each_record = |stats: &mut SourceStats,
                               line: u64,
                               fields: &mut dyn Iterator<Item = Cow<[u8]>>,
                               count: usize,
                               raw: &[u8]|
         -> Result<bool> {
            if count != header.len() {
                let why = format!("expected {} fields, found {count}", header.len());
                return self.malformed(stats, line, why).map(|()| true);
            }
            stats.rows += 1;
            if !self.strict
                && prefilter.is_some_and(|p| !p.may_match(raw, crate::classify::Text::Csv))
            {
                return Ok(true);
            }
            match layout.row(fields, line) {
                Ok(row) => sink(row),
                Err(why) => self.malformed(stats, line, why).map(|()| true),
            }
        };
        for (line, fields, raw) in &sample {
            let mut it = fields.iter().map(|f| Cow::Borrowed(f.as_slice()));
            if !each_record(stats, *line, &mut it, fields.len(), raw)? {
                return Ok(());
            }
        }
        if !ended {
            while let Some(line) = rdr.next_record().map_err(&io)? {
                let count = rdr.len();
                let mut fields = rdr.fields();
                if !each_record(stats, line, &mut fields, count, rdr.text())? {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// A row of `values` read from `line` of `file`.
fn row_at(values: Vec<Value>, file: &Arc<str>, line: u64) -> Row {
    Row {
        values,
        provenance: Some(Arc::new(Provenance {
            file: file.clone(),
            line,
        })),
    }
}

/// Strings are never null: a string column a record leaves out (or sets to null) is "".
/// Columns `needed` leaves out stay null: nothing reads them, and the shared "" is
/// not worth its reference count there (two cores counting one value slow the scan).
pub(crate) fn empty_strings_for_nulls(
    values: &mut [Value],
    columns: &[Column],
    needed: Option<&[bool]>,
) {
    for (i, (v, c)) in values.iter_mut().zip(columns).enumerate() {
        if c.ty == Type::String && v.is_null() && needed.is_none_or(|n| n[i]) {
            *v = Value::str("");
        }
    }
}

/// The columns JSON records add to a schema: a key not yet a column becomes one, typed
/// from its first non-null value (string while only nulls were seen).
struct KeyTypes<'a> {
    columns: &'a mut Vec<Column>,
    /// Columns added while only nulls were seen.
    untyped: Vec<usize>,
}

impl<'a> KeyTypes<'a> {
    fn new(columns: &'a mut Vec<Column>) -> KeyTypes<'a> {
        KeyTypes {
            columns,
            untyped: Vec::new(),
        }
    }

    fn add(&mut self, obj: &serde_json::Map<String, Json>) {
        for (k, v) in obj {
            match self.columns.iter().position(|c| &c.name == k) {
                Some(ci) => {
                    if !v.is_null() && self.untyped.contains(&ci) {
                        self.columns[ci].ty = json_type(v);
                        self.untyped.retain(|&u| u != ci);
                    }
                }
                None => {
                    if v.is_null() {
                        self.untyped.push(self.columns.len());
                    }
                    self.columns.push(Column {
                        name: k.clone(),
                        ty: json_type(v),
                    });
                }
            }
        }
    }
}

/// The compressions a source file may be in, told by its extension.
enum Compression {
    Gzip,
    Zstd,
}

/// A zstd stream of one or more frames (as concatenated files have), decoded as one.
struct Zstd<R: BufRead> {
    frame: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> Zstd<R> {
    fn new(source: R) -> std::io::Result<Zstd<R>> {
        let mut z = Zstd { frame: None };
        z.next_frame(source)?;
        Ok(z)
    }

    /// Starts the next frame, or ends the stream at the end of the input.
    fn next_frame(&mut self, mut source: R) -> std::io::Result<()> {
        if source.fill_buf()?.is_empty() {
            self.frame = None;
            return Ok(());
        }
        let frame = ruzstd::decoding::StreamingDecoder::new(source).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("zstd: {e}"))
        })?;
        self.frame = Some(frame);
        Ok(())
    }
}

impl<R: BufRead> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(frame) = &mut self.frame else {
                return Ok(0);
            };
            let n = frame.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(frame) = self.frame.take() else {
                return Ok(0);
            };
            self.next_frame(frame.into_inner())?;
        }
    }
}

/// How a CSV file's fields become a row: the column each field fills, and each datetime
/// field's day/month order.
struct CsvLayout<'a> {
    map: Vec<usize>,
    day_first: Vec<Option<bool>>,
    columns: &'a [Column],
    /// The columns the query reads; the others are left null.
    needed: Option<&'a [bool]>,
    file: Arc<str>,
}

impl CsvLayout<'_> {
    /// One record's fields (as many as the header has) as a row, or why not.
    fn row<F: AsRef<[u8]>>(
        &self,
        fields: impl Iterator<Item = F>,
        line: u64,
    ) -> std::result::Result<Row, String> {
        Ok(row_at(self.values(fields)?, &self.file, line))
    }

    /// One record's fields as values of the table's columns, or why not.
    fn values<F: AsRef<[u8]>>(
        &self,
        fields: impl Iterator<Item = F>,
    ) -> std::result::Result<Vec<Value>, String> {
        let mut values = vec![Value::Null; self.columns.len()];
        for (i, field) in fields.enumerate() {
            let Some(&ci) = self.map.get(i) else {
                return Err(format!("expected {} fields, found more", self.map.len()));
            };
            if self.needed.is_some_and(|n| !n[ci]) {
                continue;
            }
            let Ok(f) = std::str::from_utf8(field.as_ref()) else {
                return Err(format!("field {} is not UTF-8", i + 1));
            };
            values[ci] = text_value(f, self.columns[ci].ty, self.day_first[i]);
        }
        empty_strings_for_nulls(&mut values, self.columns, self.needed);
        Ok(values)
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

/// The type of a CSV column no schema declares, from a sample of its cells: long, real,
/// bool or datetime when every non-empty cell reads as one, else string. Later cells that
/// do not fit are null, as in a typed Kusto column.
pub fn infer_text_type<'a>(values: impl Iterator<Item = &'a str>) -> Type {
    let candidates = [Type::Long, Type::Real, Type::Bool, Type::DateTime];
    let mut alive = [true; 4];
    let mut seen = false;
    for v in values.map(str::trim).filter(|v| !v.is_empty()) {
        seen = true;
        // Decimal digits only: a column of hexadecimal text stays text.
        let is_long = !v.starts_with("0x") && !v.starts_with("0X") && parse_long(v).is_some();
        let checks = [
            is_long,
            v.parse::<f64>().is_ok()
                && !v
                    .bytes()
                    .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E'),
            v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            v.contains(['-', '/', ':'])
                && v.bytes().any(|b| b.is_ascii_digit())
                && parse_datetime(v, None).is_some(),
        ];
        for (a, ok) in alive.iter_mut().zip(checks) {
            *a &= ok;
        }
        if !alive.contains(&true) {
            return Type::String;
        }
    }
    if !seen {
        return Type::String;
    }
    alive
        .iter()
        .position(|&a| a)
        .map_or(Type::String, |k| candidates[k])
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

/// A new column's type from its first non-null value; a string in ISO 8601 form
/// (`2026-01-02T03:04...`) makes a datetime column, as exports write their times so.
pub(crate) fn json_type(v: &Json) -> Type {
    match v {
        Json::Bool(_) => Type::Bool,
        Json::Number(n) if n.is_i64() => Type::Long,
        Json::Number(_) => Type::Real,
        Json::String(s) if iso_datetime(s) => Type::DateTime,
        Json::String(_) | Json::Null => Type::String,
        _ => Type::Dynamic,
    }
}

/// Whether a text has the shape of an ISO 8601 date and time and reads as one.
fn iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b' '))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && parse_datetime(s, None).is_some()
}

pub(crate) fn json_value(v: &Json, ty: Type) -> Value {
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
    fn types_undeclared_csv_columns_from_their_cells() {
        use super::infer_text_type;
        use crate::value::Type;
        let t = |cells: &[&str]| infer_text_type(cells.iter().copied());
        assert_eq!(t(&["1", "-2", ""]), Type::Long);
        assert_eq!(t(&["1", "2.5"]), Type::Real);
        assert_eq!(t(&["True", "false"]), Type::Bool);
        assert_eq!(t(&["2026-01-02T03:04:05Z", "2026-01-03"]), Type::DateTime);
        assert_eq!(t(&["1", "x"]), Type::String);
        assert_eq!(t(&["10.0.0.1"]), Type::String);
        assert_eq!(t(&["inf"]), Type::String);
        assert_eq!(t(&[""]), Type::String);
        assert!(super::iso_datetime("2026-01-02T03:04:05.123Z"));
        assert!(super::iso_datetime("2026-01-02 03:04"));
        assert!(!super::iso_datetime("2026-01-02"));
        assert!(!super::iso_datetime("26/03/2026, 15:18:18"));
    }

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

#[cfg(test)]
mod scan_equivalence_tests {
    use super::*;
    use std::io::Write;

    /// Reads `name` holding `text` as CommonSecurityLog, plain (the chunked line scan) and
    /// gzip'd (record by record), and returns both results as comparable text.
    fn both(name: &str, text: &[u8], literal: &str) -> [(Vec<String>, u64, u64, Vec<String>); 2] {
        let dir = std::env::temp_dir().join(format!("iochunt-src-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join(format!("{name}.csv"));
        std::fs::write(&plain, text).unwrap();
        let gz = dir.join(format!("{name}.csv.gz"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let p = crate::Prefilter::new(&[literal.to_string()]).unwrap();
        let keep = |_: &[Column], _: &Row| Ok(true);
        let out = [plain, gz].map(|path| {
            let src = Source::new(path.clone(), "f.csv".into());
            let (t, stats) = src.read("CommonSecurityLog", &keep, Some(&p)).unwrap();
            let rows = t
                .rows
                .iter()
                .map(|r| {
                    let line = r.provenance.as_ref().unwrap().line;
                    let vals: Vec<String> = r.values.iter().map(|v| v.to_kusto_string()).collect();
                    format!("{line}: {}", vals.join("|"))
                })
                .collect();
            (rows, stats.rows, stats.malformed, stats.problems)
        });
        std::fs::remove_dir_all(&dir).unwrap();
        out
    }

    fn csv(rows: usize, multiline_at: Option<usize>) -> Vec<u8> {
        let mut t = b"TimeGenerated [UTC],SourceIP,DestinationIP,Activity\n".to_vec();
        for i in 0..rows {
            let ip = if i % 500 == 7 {
                "91.92.34.228"
            } else {
                "10.0.0.1"
            };
            let activity = match i {
                _ if Some(i) == multiline_at => "\"two\nlines 91.92.34.228\"".to_string(),
                _ if i % 777 == 3 => "\"quoted, \"\"with\"\" commas\"".to_string(),
                _ => "TRAFFIC".to_string(),
            };
            t.extend_from_slice(
                format!(
                    "\"18/06/2026, 00:00:{:02}.098\",10.20.1.{},{ip},{activity}\n",
                    i % 60,
                    i % 250
                )
                .as_bytes(),
            );
            if i % 1999 == 5 {
                t.extend_from_slice(b"short,row\n\n");
            }
        }
        t
    }

    /// A zstd file of two frames (two files concatenated) reads as its whole text.
    #[test]
    fn zstd_sources_read_every_frame() {
        let dir = std::env::temp_dir().join(format!("iochunt-zst-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("DnsEvents.jsonl.zst");
        let level = ruzstd::encoding::CompressionLevel::Fastest;
        let mut bytes = ruzstd::encoding::compress_to_vec(&b"{\"Name\":\"a.com\"}\n"[..], level);
        bytes.extend(ruzstd::encoding::compress_to_vec(
            &b"{\"Name\":\"evil.com\"}\n"[..],
            level,
        ));
        std::fs::write(&path, bytes).unwrap();
        let keep = |_: &[Column], _: &Row| Ok(true);
        let src = Source::new(path.clone(), "f".into());
        let p = crate::Prefilter::new(&["evil.com".to_string()]).unwrap();
        let (all, stats) = src.read("DnsEvents", &keep, None).unwrap();
        let (hit, _) = src.read("DnsEvents", &keep, Some(&p)).unwrap();
        std::fs::write(&path, b"not zstd").unwrap();
        let bad = src.read("DnsEvents", &keep, None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((all.rows.len(), stats.rows), (2, 2));
        assert_eq!(hit.rows.len(), 1);
        assert_eq!(hit.rows[0].provenance.as_ref().unwrap().line, 2);
        assert!(bad.unwrap_err().to_string().contains("zstd"));
    }

    #[test]
    fn csv_line_scan_equals_record_reading() {
        for (name, text) in [
            ("plain", csv(9_000, None)),
            ("multiline", csv(9_000, Some(6_000))),
            (
                "crlf",
                csv(3_000, None)
                    .iter()
                    .flat_map(|&b| {
                        if b == b'\n' {
                            vec![b'\r', b'\n']
                        } else {
                            vec![b]
                        }
                    })
                    .collect(),
            ),
        ] {
            let [fast, slow] = both(name, &text, "91.92.34.228");
            assert!(fast.0.len() >= 6, "{name}: {} rows", fast.0.len());
            assert_eq!(fast, slow, "{name}");
        }
    }
}
