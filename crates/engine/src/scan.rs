//! The grep-like scan of JSON-lines sources under a prefilter: chunks of the file are
//! searched for the literals as a whole (aho-corasick over the buffer, not per line), on
//! all cores, and only the lines holding a literal, or that the prefilter cannot judge (a
//! backslash escape, a non-ASCII byte), are handed on to be parsed. Every line is still
//! counted, numbered and checked for the shape of one JSON object. Results do not depend
//! on the number of threads: candidates come back in file order.

use crate::prefilter::Prefilter;
use std::io::Read;

/// What one chunk held: candidate lines (1-based within the chunk, byte range), lines of
/// the wrong shape, and how many lines and non-empty lines it had.
#[derive(Default)]
pub struct ChunkScan {
    pub candidates: Vec<(u64, usize, usize)>,
    pub misshapen: Vec<u64>,
    pub lines: u64,
    pub rows: u64,
}

const CHUNK: usize = 16 << 20;

/// Reads `reader` in chunks cut at line ends and calls `each` with every chunk's scan and
/// bytes, in order.
/// `file` names the source in read errors; errors from `each` pass through unchanged.
pub fn scan_chunks(
    reader: &mut dyn Read,
    file: &str,
    prefilter: &Prefilter,
    each: &mut dyn FnMut(&ChunkScan, &[u8]) -> crate::Result<()>,
) -> crate::Result<()> {
    let io = |source| crate::EngineError::Io {
        file: file.to_string(),
        source,
    };
    // One buffer for the whole file: the unscanned tail of a chunk moves to its front.
    let mut buf: Vec<u8> = vec![0; CHUNK];
    let mut kept = 0;
    loop {
        if kept == buf.len() {
            // One line longer than the buffer: grow it until the line ends.
            buf.resize(buf.len() * 2, 0);
        }
        let mut filled = kept;
        while filled < buf.len() {
            let n = reader.read(&mut buf[filled..]).map_err(io)?;
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
        let scan = scan_parallel(&buf[..cut], prefilter);
        each(&scan, &buf[..cut])?;
        if eof {
            return Ok(());
        }
        buf.copy_within(cut..filled, 0);
        kept = filled - cut;
    }
}

/// Splits the buffer at line ends into one part per core and scans the parts at once.
fn scan_parallel(buf: &[u8], p: &Prefilter) -> ChunkScan {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads == 1 || buf.len() < (1 << 20) {
        return scan_part(buf, p);
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
            .map(|w| s.spawn(move || (w[0], scan_part(&buf[w[0]..w[1]], p))))
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
            .extend(part.misshapen.into_iter().map(|l| l + base));
        out.lines += part.lines;
        out.rows += part.rows;
    }
    out
}

/// Scans one part that starts at a line start.
pub fn scan_part(buf: &[u8], p: &Prefilter) -> ChunkScan {
    // Positions that make their line a candidate, in order.
    let mut marks: Vec<usize> = p.matches(buf);
    if memchr::memchr(b'\\', buf).is_some() {
        marks.extend(memchr::memchr_iter(b'\\', buf));
    }
    if !buf.is_ascii() {
        marks.extend(
            buf.iter()
                .enumerate()
                .filter(|(_, b)| **b >= 0x80)
                .map(|(i, _)| i),
        );
    }
    marks.sort_unstable();
    let mut out = ChunkScan::default();
    let mut m = 0;
    let mut start = 0;
    let mut line = 0u64;
    let mut ends = memchr::memchr_iter(b'\n', buf).chain(std::iter::once(buf.len()));
    while start < buf.len() {
        let end = ends.next().unwrap_or(buf.len());
        line += 1;
        let text = trim(&buf[start..end]);
        if !text.is_empty() {
            out.rows += 1;
            let mut candidate = false;
            while m < marks.len() && marks[m] < end {
                if marks[m] >= start {
                    candidate = true;
                }
                m += 1;
            }
            if candidate {
                out.candidates.push((line, start, end));
            } else if !(text.first() == Some(&b'{') && text.last() == Some(&b'}')) {
                out.misshapen.push(line);
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
        let s = scan_part(buf, &p());
        assert_eq!(s.lines, 6);
        assert_eq!(s.rows, 5);
        let lines: Vec<u64> = s.candidates.iter().map(|c| c.0).collect();
        assert_eq!(lines, vec![3, 5, 6], "a match, an escape, a non-ASCII byte");
        assert_eq!(s.misshapen, vec![4]);
    }

    #[test]
    fn parallel_scan_equals_one_part() {
        let mut buf = Vec::new();
        for i in 0..60_000 {
            if i % 997 == 0 {
                buf.extend_from_slice(b"{\"Name\":\"cdn.evil.com\"}\n");
            } else {
                buf.extend_from_slice(b"{\"Name\":\"www.example.org\"}\n");
            }
        }
        let one = scan_part(&buf, &p());
        let many = scan_parallel(&buf, &p());
        assert_eq!(one.candidates, many.candidates);
        assert_eq!((one.lines, one.rows), (many.lines, many.rows));
        let mut seen = Vec::new();
        let mut r: &[u8] = &buf;
        scan_chunks(&mut r, "test", &p(), &mut |s, _| {
            seen.extend(s.candidates.iter().map(|c| c.0));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 61);
    }
}
