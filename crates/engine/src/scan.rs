//! The grep-like scan of line-oriented sources (JSON lines, and CSV whose records each sit
//! on one line) under a prefilter: chunks of the file are searched for the literals as a
//! whole (not per line), on all cores, and only the lines holding a literal, or that the
//! prefilter cannot judge (a backslash escape, a non-ASCII byte), are handed on to be
//! parsed. Every line is still counted, numbered and checked for its shape (one JSON
//! object; the header's number of CSV fields). Results do not depend on the number of
//! threads: chunks are handed on in file order.

use crate::classify::{LineEnds, Text};
use crate::csvline::{csv_fields, CsvMasks};
use crate::jsonrow::LineFault;
use crate::prefilter::Prefilter;
use crate::value::Value;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{mpsc, Mutex};

/// What a line must look like besides the prefilter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// One JSON object: `{...}`.
    JsonObject,
    /// One CSV record of this many fields.
    Csv { fields: usize },
}

/// Why a line is malformed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flaw {
    NotObject,
    /// A CSV record with this many fields.
    Fields(usize),
}

/// What one chunk held: candidate lines (1-based within the chunk, byte range), lines of
/// the wrong shape, and how many lines and non-empty lines it had.
#[derive(Debug, Default)]
pub struct ChunkScan {
    pub candidates: Vec<(u64, usize, usize)>,
    pub misshapen: Vec<(u64, Flaw)>,
    pub lines: u64,
    pub rows: u64,
    /// CSV only: a line ended inside a quoted field or held a bare carriage return, so from
    /// this chunk on lines are not records and the file must be read record by record.
    pub multiline: bool,
    /// Where the chunk starts in the file (plain files only; 0 for streams).
    pub offset: u64,
    /// With a line parser: each candidate line's values, or why it gives none, in the
    /// order of `candidates` (parsed by the worker that scanned the chunk).
    pub parsed: Vec<std::result::Result<Vec<Value>, LineFault>>,
}

/// Makes a candidate line's values; the scan runs it on the workers, beside the search.
pub type LineParser<'a> = dyn Fn(&[u8]) -> std::result::Result<Vec<Value>, LineFault> + Sync + 'a;

/// Runs the parser, if any, over the chunk's candidate lines.
fn parse_candidates(scan: &mut ChunkScan, buf: &[u8], parse: Option<&LineParser>) {
    if let Some(parse) = parse {
        scan.parsed = scan
            .candidates
            .iter()
            .map(|&(_, a, b)| parse(&buf[a..b]))
            .collect();
    }
}

/// The callback that receives each chunk's scan and bytes, in file order; it returns
/// false to stop the scan.
pub type Each<'a> = dyn FnMut(&mut ChunkScan, &[u8]) -> crate::Result<bool> + 'a;

/// Bytes a chunk holds (small in unit tests, so that they cross many chunk boundaries).
const CHUNK: usize = if cfg!(test) { 64 << 10 } else { 8 << 20 };

/// Bytes a chunk of a plain file holds: small enough that a worker's chunk stays in its
/// core's cache from the read that copies it in to the scan that reads it (measured over
/// 600 MB on this project's machine: 56 ms to read and pass over it in 1 MB chunks, 75 ms
/// in 8 MB ones).
const FILE_CHUNK: usize = if cfg!(test) { CHUNK } else { 1 << 20 };

fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// Turns a read error into the engine's, naming the file.
pub(crate) fn io_error(file: &str) -> impl Fn(std::io::Error) -> crate::EngineError + '_ {
    move |source| crate::EngineError::Io {
        file: file.to_string(),
        source,
    }
}

/// Reads `reader` (a stream, such as a gzip'd file) in chunks cut at line ends and calls
/// `each` with every chunk's scan and bytes, in order. Each chunk is scanned on all cores.
/// `file` names the source in read errors; errors from `each` pass through unchanged.
pub fn scan_chunks(
    reader: &mut dyn Read,
    file: &str,
    shape: Shape,
    prefilter: &Prefilter,
    parse: Option<&LineParser>,
    each: &mut Each,
) -> crate::Result<()> {
    let io = io_error(file);
    // One buffer for the whole file: the unscanned tail of a chunk moves to its front.
    let mut buf: Vec<u8> = vec![0; 2 * CHUNK];
    let mut kept = 0;
    loop {
        if kept == buf.len() {
            // One line longer than the buffer: grow it until the line ends.
            buf.resize(buf.len() * 2, 0);
        }
        let mut filled = kept;
        while filled < buf.len() {
            let n = reader.read(&mut buf[filled..]).map_err(&io)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let eof = filled < buf.len();
        let cut = if eof {
            filled
        } else {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(i) => i + 1,
                None => {
                    kept = filled;
                    continue;
                }
            }
        };
        let mut scan = scan_parallel(&buf[..cut], shape, prefilter);
        parse_candidates(&mut scan, &buf[..cut], parse);
        if !each(&mut scan, &buf[..cut])? || eof {
            return Ok(());
        }
        buf.copy_within(cut..filled, 0);
        kept = filled - cut;
    }
}

/// Scans a plain file from byte `start` (a line start) to its end: workers on every core
/// each read and scan whole chunks, and `each` receives them in file order, with the
/// chunk's offset in the file. At most a few chunks are in memory at once.
pub fn scan_file(
    path: &Path,
    file: &str,
    start: u64,
    shape: Shape,
    prefilter: &Prefilter,
    parse: Option<&LineParser>,
    each: &mut Each,
) -> crate::Result<()> {
    let io = io_error(file);
    let len = std::fs::metadata(path).map_err(&io)?.len();
    if len > start && threads() > 1 {
        let f = std::fs::File::open(path).map_err(&io)?;
        // SAFETY: the map is only read. A file truncated by another program while it is
        // mapped would fault on access; exported logs are not written while hunted.
        if let Ok(map) = unsafe { memmap2::Mmap::map(&f) } {
            return scan_mapped(&map, start as usize, shape, prefilter, parse, each);
        }
    }
    let count = len.saturating_sub(start).div_ceil(FILE_CHUNK as u64);
    let job = |k: u64, f: &mut std::fs::File, buf: &mut Vec<u8>| {
        read_chunk(f, start, len, k, buf).map(|range| {
            let mut scan = scan_part(&buf[range.clone()], shape, prefilter);
            parse_candidates(&mut scan, &buf[range.clone()], parse);
            scan.offset = start + k * FILE_CHUNK as u64 + range.start as u64;
            if k > 0 {
                scan.offset -= 1;
            }
            (scan, range)
        })
    };
    let workers = threads();
    if workers == 1 || count <= 1 {
        let mut f = std::fs::File::open(path).map_err(&io)?;
        let mut buf = Vec::new();
        for k in 0..count {
            let (mut scan, range) = job(k, &mut f, &mut buf).map_err(&io)?;
            if !each(&mut scan, &buf[range])? {
                break;
            }
        }
        return Ok(());
    }
    // A chunk's scan and the range of the buffer it covers, with the buffer.
    type Scanned = (
        std::io::Result<(ChunkScan, std::ops::Range<usize>)>,
        Vec<u8>,
    );
    let (work_tx, work_rx) = mpsc::channel::<(u64, Vec<u8>)>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, Scanned)>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (work_rx, done_tx, job) = (&work_rx, done_tx.clone(), &job);
            s.spawn(move || {
                let mut f = std::fs::File::open(path);
                loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((k, mut buf))) = next else { return };
                    let r = match &mut f {
                        Ok(f) => job(k, f, &mut buf),
                        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                    };
                    if done_tx.send((k, (r, buf))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // A window of chunks in flight bounds memory; a consumed chunk's buffer is reused.
        let window = (2 * workers) as u64;
        let mut sent = 0;
        while sent < count.min(window) {
            let _ = work_tx.send((sent, Vec::new()));
            sent += 1;
        }
        let mut pending: BTreeMap<u64, Scanned> = BTreeMap::new();
        let mut next = 0;
        let result = loop {
            if next == count {
                break Ok(());
            }
            let Some((r, buf)) = pending.remove(&next) else {
                match done_rx.recv() {
                    Ok((k, scanned)) => {
                        pending.insert(k, scanned);
                        continue;
                    }
                    Err(_) => break Err(io(std::io::Error::other("a scan worker stopped"))),
                }
            };
            let (mut scan, range) = match r {
                Ok(x) => x,
                Err(e) => break Err(io(e)),
            };
            match each(&mut scan, &buf[range]) {
                Ok(true) => {}
                other => break other.map(|_| ()),
            }
            if sent < count {
                let _ = work_tx.send((sent, buf));
                sent += 1;
            }
            next += 1;
        };
        drop(work_tx);
        result
    })
}

/// Bytes a chunk of a mapped file holds.
const MAP_CHUNK: usize = if cfg!(test) { CHUNK } else { 1 << 20 };

/// The start of the first line that starts at or after `at`.
fn line_start_from(map: &[u8], at: usize, start: usize) -> usize {
    if at <= start {
        return start;
    }
    memchr::memchr(b'\n', &map[at - 1..]).map_or(map.len(), |i| at + i)
}

/// [`scan_file`] over a memory map of the file: no copy from the page cache. Workers take
/// chunks in turn and scan the lines that start in them; `each` receives them in order.
fn scan_mapped(
    mapping: &memmap2::Mmap,
    start: usize,
    shape: Shape,
    prefilter: &Prefilter,
    parse: Option<&LineParser>,
    each: &mut Each,
) -> crate::Result<()> {
    let map: &[u8] = mapping;
    let count = (map.len() - start).div_ceil(MAP_CHUNK);
    // Pages handed on are unmapped again (they stay in the page cache), so that resident
    // memory holds the chunks in flight, not the whole file. They go 16 MB at a time:
    // each release interrupts the other cores to flush their TLBs, and releasing every
    // 1 MB chunk cost about 5% of a scan's time.
    let mut released = 0;
    let range = |k: usize| {
        let s = start + k * MAP_CHUNK;
        let e = (s + MAP_CHUNK).min(map.len());
        let first = line_start_from(map, s, start);
        first..line_start_from(map, e, start).max(first)
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (done_tx, done_rx) = mpsc::channel::<(usize, ChunkScan, std::ops::Range<usize>)>();
    // A worker takes a token before a chunk and the consumer gives one back for each chunk
    // it has handed on: at most `window` chunks are mapped in at once, however far the
    // workers could run ahead.
    let window = 4 * threads();
    let (token_tx, token_rx) = mpsc::sync_channel::<()>(window);
    for _ in 0..window {
        let _ = token_tx.send(());
    }
    let token_rx = Mutex::new(token_rx);
    std::thread::scope(|s| {
        for _ in 0..threads() {
            let (next, stop, done_tx, range) = (&next, &stop, done_tx.clone(), &range);
            let token_rx = &token_rx;
            s.spawn(move || loop {
                use std::sync::atomic::Ordering::Relaxed;
                if !matches!(token_rx.lock().map(|rx| rx.recv()), Ok(Ok(()))) {
                    return;
                }
                let k = next.fetch_add(1, Relaxed);
                if k >= count || stop.load(Relaxed) {
                    return;
                }
                let r = range(k);
                let mut scan = scan_part(&map[r.clone()], shape, prefilter);
                parse_candidates(&mut scan, &map[r.clone()], parse);
                scan.offset = r.start as u64;
                if done_tx.send((k, scan, r)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<usize, (ChunkScan, std::ops::Range<usize>)> = BTreeMap::new();
        let mut want = 0;
        while want < count {
            let Some((mut scan, r)) = pending.remove(&want) else {
                match done_rx.recv() {
                    Ok((k, scan, r)) => {
                        pending.insert(k, (scan, r));
                        continue;
                    }
                    Err(_) => break,
                }
            };
            match each(&mut scan, &map[r.clone()]) {
                Ok(true) => {
                    let _ = token_tx.try_send(());
                    let upto = r.end / 4096 * 4096;
                    if upto >= released + (16 << 20) {
                        // SAFETY: the range is in the map, and dropping the pages of a
                        // read-only file mapping only makes a later read fault them in
                        // again from the file: no reader sees other bytes.
                        let _ = unsafe {
                            mapping.unchecked_advise_range(
                                memmap2::UncheckedAdvice::DontNeed,
                                released,
                                upto - released,
                            )
                        };
                        released = upto;
                    }
                }
                other => {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    drop(token_tx);
                    return other.map(|_| ());
                }
            }
            want += 1;
        }
        drop(token_tx);
        Ok(())
    })
}

/// Reads chunk `k` of the file into `buf` and returns the range of the lines it owns:
/// those that start within the chunk, the last one read on to its end.
fn read_chunk(
    f: &mut std::fs::File,
    start: u64,
    len: u64,
    k: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<std::ops::Range<usize>> {
    let s = start + k * FILE_CHUNK as u64;
    let e = (s + FILE_CHUNK as u64).min(len);
    // One byte before the chunk tells whether a line starts at its first byte.
    let from = if k > 0 { s - 1 } else { s };
    f.seek(SeekFrom::Start(from))?;
    buf.clear();
    // Room for the chunk and the end of its last line, so that reading on rarely grows it.
    buf.reserve(FILE_CHUNK + (16 << 10) + 1);
    f.by_ref().take(e - from).read_to_end(buf)?;
    let first = if k > 0 {
        match memchr::memchr(b'\n', buf) {
            Some(i) => i + 1,
            None => return Ok(0..0),
        }
    } else {
        0
    };
    if from + first as u64 >= e {
        // The chunk lies inside a line that started before it.
        return Ok(0..0);
    }
    // Read on to the end of the chunk's last line.
    let mut at = from + buf.len() as u64;
    while buf.last() != Some(&b'\n') && at < len {
        let old = buf.len();
        f.by_ref().take((16 << 10).min(len - at)).read_to_end(buf)?;
        if buf.len() == old {
            break;
        }
        at += (buf.len() - old) as u64;
        if let Some(i) = memchr::memchr(b'\n', &buf[old..]) {
            buf.truncate(old + i + 1);
            break;
        }
    }
    Ok(first..buf.len())
}

/// Splits the buffer at line ends into one part per core and scans the parts at once.
fn scan_parallel(buf: &[u8], shape: Shape, p: &Prefilter) -> ChunkScan {
    let threads = threads();
    if threads == 1 || buf.len() < (1 << 20) {
        return scan_part(buf, shape, p);
    }
    let mut bounds = vec![0];
    for k in 1..threads {
        let at = buf.len() * k / threads;
        let at = memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i + 1);
        if at > *bounds.last().unwrap_or(&0) && at < buf.len() {
            bounds.push(at);
        }
    }
    bounds.push(buf.len());
    let parts: Vec<ChunkScan> = std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| s.spawn(move || (w[0], scan_part(&buf[w[0]..w[1]], shape, p))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map(|(off, mut c)| {
                        for cand in &mut c.candidates {
                            cand.1 += off;
                            cand.2 += off;
                        }
                        c
                    })
                    .unwrap_or_default()
            })
            .collect()
    });
    let mut out = ChunkScan::default();
    for part in parts {
        let base = out.lines;
        out.candidates.extend(
            part.candidates
                .into_iter()
                .map(|(l, a, b)| (l + base, a, b)),
        );
        out.misshapen
            .extend(part.misshapen.into_iter().map(|(l, f)| (l + base, f)));
        out.lines += part.lines;
        out.rows += part.rows;
        out.multiline |= part.multiline;
    }
    out
}

/// Scans one part that starts at a line start.
pub fn scan_part(buf: &[u8], shape: Shape, p: &Prefilter) -> ChunkScan {
    // Positions that make their line a candidate (a match, an escape, a non-ASCII
    // byte), in order, and where lines end.
    let mut marks = Vec::new();
    let mut masks = Vec::with_capacity(buf.len() / 64 + 1);
    let text = match shape {
        Shape::JsonObject => Text::Json,
        Shape::Csv { .. } => Text::Csv,
    };
    p.scan(buf, text, &mut marks, &mut masks);
    marks.sort_unstable();
    let mut out = ChunkScan::default();
    let mut fields = Vec::new();
    let counts = matches!(shape, Shape::Csv { .. })
        .then(|| CsvMasks::new(buf).line_fields(&masks, buf.len()))
        .unwrap_or_default();
    let mut m = 0;
    let mut start = 0;
    let mut line = 0u64;
    let mut ends = LineEnds::new(&masks, buf.len());
    while start < buf.len() {
        let end = ends.next().unwrap_or(buf.len());
        line += 1;
        let raw = &buf[start..end];
        let mut candidate = p.every_line();
        while m < marks.len() && marks[m] < end {
            if marks[m] >= start {
                candidate = true;
            }
            m += 1;
        }
        match shape {
            Shape::JsonObject => {
                let text = trim(raw);
                if !text.is_empty() {
                    out.rows += 1;
                    if candidate {
                        out.candidates.push((line, start, end));
                    } else if !(text.first() == Some(&b'{') && text.last() == Some(&b'}')) {
                        out.misshapen.push((line, Flaw::NotObject));
                    }
                }
            }
            Shape::Csv { fields: width } => {
                let record = raw.strip_suffix(b"\r").unwrap_or(raw);
                if !record.is_empty() {
                    let count = match counts.get(line as usize - 1).copied().flatten() {
                        Some(n) => n,
                        None => {
                            if !csv_fields(record, &mut fields) {
                                out.multiline = true;
                            }
                            fields.len()
                        }
                    };
                    out.rows += 1;
                    if count != width {
                        out.misshapen.push((line, Flaw::Fields(count)));
                    } else if candidate {
                        out.candidates.push((line, start, start + record.len()));
                    }
                }
            }
        }
        start = end + 1;
    }
    out.lines = line;
    out
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    &b[s..e]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Prefilter {
        Prefilter::new(&["evil.com".to_string()]).unwrap()
    }

    #[test]
    fn finds_candidate_lines_and_numbers_every_line() {
        let buf = b"{\"a\":\"x\"}\n\n{\"a\":\"EVIL.COM\"}\nnot json\n{\"a\":\"\\u0065vil.com\"}\n{\"a\":\"\xc3\xa9\"}\n";
        let s = scan_part(buf, Shape::JsonObject, &p());
        assert_eq!(s.lines, 6);
        assert_eq!(s.rows, 5);
        let lines: Vec<u64> = s.candidates.iter().map(|c| c.0).collect();
        assert_eq!(lines, vec![3, 5, 6], "a match, an escape, a non-ASCII byte");
        assert_eq!(s.misshapen, vec![(4, Flaw::NotObject)]);
    }

    fn jsonl(n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        for i in 0..n {
            if i % 997 == 0 {
                buf.extend_from_slice(b"{\"Name\":\"cdn.evil.com\"}\n");
            } else {
                buf.extend_from_slice(b"{\"Name\":\"www.example.org\"}\n");
            }
        }
        buf
    }

    #[test]
    fn parallel_scan_equals_one_part() {
        let buf = jsonl(60_000);
        let one = scan_part(&buf, Shape::JsonObject, &p());
        let many = scan_parallel(&buf, Shape::JsonObject, &p());
        assert_eq!(one.candidates, many.candidates);
        assert_eq!((one.lines, one.rows), (many.lines, many.rows));
        let mut seen = Vec::new();
        let mut r: &[u8] = &buf;
        scan_chunks(
            &mut r,
            "test",
            Shape::JsonObject,
            &p(),
            None,
            &mut |s, _| {
                seen.extend(s.candidates.iter().map(|c| c.0));
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 61);
    }

    /// The chunked file scan sees every line once, numbered as one pass over the file
    /// would, whatever the chunk boundaries cut (long lines, a missing final newline).
    #[test]
    fn file_scan_numbers_lines_across_chunks() {
        let mut buf = jsonl(20_000);
        // A line longer than a chunk, a cut-off line and no final newline.
        buf.extend_from_slice(b"{\"Name\":\"");
        buf.extend(std::iter::repeat_n(b'x', CHUNK + 100));
        buf.extend_from_slice(b" evil.com\"}\n{\"Name\":\n{\"Name\":\"evil.com\"}");
        let path = std::env::temp_dir().join(format!("iochunt-scan-{}.jsonl", std::process::id()));
        std::fs::write(&path, &buf).unwrap();
        let whole = scan_part(&buf, Shape::JsonObject, &p());
        let (mut base, mut lines, mut cands, mut bad) = (0u64, 0u64, Vec::new(), Vec::new());
        scan_file(
            &path,
            "test",
            0,
            Shape::JsonObject,
            &p(),
            None,
            &mut |s, b| {
                for &(l, a, e) in &s.candidates {
                    cands.push((base + l, b[a..e].len()));
                }
                bad.extend(s.misshapen.iter().map(|(l, _)| base + l));
                base += s.lines;
                lines += s.lines;
                Ok(true)
            },
        )
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(lines, whole.lines);
        let want: Vec<(u64, usize)> = whole
            .candidates
            .iter()
            .map(|&(l, a, e)| (l, e - a))
            .collect();
        assert_eq!(cands, want);
        assert_eq!(bad, vec![20_002]);
        assert_eq!(cands.len(), 23);
    }

    #[test]
    fn csv_lines_are_checked_for_their_width() {
        let buf = b"x,evil.com,1\r\n\r\ny,z\n\"a\nb\",c,d\n";
        let s = scan_part(buf, Shape::Csv { fields: 3 }, &p());
        assert_eq!(s.lines, 5);
        assert_eq!(s.candidates, vec![(1, 0, 12)]);
        assert_eq!(s.misshapen[0], (3, Flaw::Fields(2)));
        assert!(s.multiline);
    }
}
