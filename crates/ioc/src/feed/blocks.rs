//! A ThreatFox JSON export read from its file in blocks, on all cores.
//!
//! The export is one object, `{"<id>": [record, ...], ...}`. A splitter follows the JSON
//! structure (strings and escapes included) to find the commas between the object's
//! members, cuts the file there into parts of a few megabytes, and workers read each part
//! as an object of its own. The whole file is never held in memory, and the parts are
//! read in parallel; their entries are handed on in file order, with their true lines, as
//! soon as they are read, so that merging goes on while later parts are parsed.
//!
//! Whenever the file is not what the splitter expects (truncated, not JSON, not UTF-8, a
//! syntax error in a part), the caller reads the file whole instead, which reports the
//! problem exactly; nothing here ever decides an error.

use super::{threatfox, FeedRead};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// How much of the file is read at a time; a part is about half of this or more.
pub(crate) const BLOCK: usize = 8 << 20;

/// Tracks where in the JSON structure the bytes seen so far end.
#[derive(Default)]
struct Splitter {
    /// Nesting depth: 1 inside the top-level object.
    depth: u32,
    in_string: bool,
    escaped: bool,
    started: bool,
    /// The offset (in the last scanned slice) of the `}` that closed the object.
    ended: Option<usize>,
}

impl Splitter {
    /// Follows `bytes`; returns the offset of the last comma between top-level members in
    /// them, or `Err` when the bytes cannot be an export object.
    fn scan(&mut self, bytes: &[u8]) -> Result<Option<usize>, ()> {
        let mut cut = None;
        let mut i = 0;
        while i < bytes.len() {
            if self.ended.is_some() {
                // Only whitespace may follow the object.
                if !bytes[i..].iter().all(u8::is_ascii_whitespace) {
                    return Err(());
                }
                break;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                    Some(off) => {
                        i += off;
                        if bytes[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                        }
                        i += 1;
                    }
                    None => i = bytes.len(),
                }
                continue;
            }
            let b = bytes[i];
            if !self.started {
                match b {
                    b'{' => {
                        self.started = true;
                        self.depth = 1;
                    }
                    _ if b.is_ascii_whitespace() => {}
                    _ => return Err(()),
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.checked_sub(1).ok_or(())?;
                    if self.depth == 0 {
                        if b != b'}' {
                            return Err(());
                        }
                        self.ended = Some(i);
                    }
                }
                b',' if self.depth == 1 => cut = Some(i),
                _ => {}
            }
            i += 1;
        }
        Ok(cut)
    }
}

/// One part of the object: its members, the line it starts on, and its place in the file.
struct Part {
    seq: usize,
    first_line: usize,
    /// `text[from..]` is `{` + members + `}`.
    text: Vec<u8>,
    from: usize,
}

/// Reads an export from `file`, of which `head` (the first bytes, already read) is the
/// beginning, handing each part's reading to `sink` in file order as soon as it and the
/// parts before it are read. `None` means the file should be read whole instead; `sink`
/// may have seen some parts by then, so what it built must be thrown away.
pub(crate) fn read_export(
    mut file: impl Read,
    head: Vec<u8>,
    path: &str,
    workers: usize,
    block: usize,
    sink: &mut dyn FnMut(FeedRead),
) -> Option<()> {
    let (part_tx, part_rx) = mpsc::sync_channel::<Part>(workers);
    let part_rx = Arc::new(Mutex::new(part_rx));
    let (done_tx, done_rx) = mpsc::channel::<(usize, Option<FeedRead>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let part_rx = part_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || loop {
                let next = part_rx.lock().map(|rx| rx.recv());
                let Ok(Ok(part)) = next else { break };
                let read = std::str::from_utf8(&part.text[part.from..])
                    .ok()
                    .and_then(|t| threatfox::parse_export(t, path, part.first_line).ok());
                if done_tx.send((part.seq, read)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut order = InOrder::default();
        let split = split_into_parts(&mut file, head, block, &part_tx, &mut || {
            order.take(done_rx.try_iter(), sink)
        });
        drop(part_tx);
        let taken = order.take(done_rx.iter(), sink);
        let count = split?;
        taken?;
        (order.next == count).then_some(())
    })
}

/// Puts parts read out of order back in file order.
#[derive(Default)]
struct InOrder {
    /// The sequence number of the next part to hand on.
    next: usize,
    waiting: BTreeMap<usize, FeedRead>,
}

impl InOrder {
    /// Takes finished parts and hands on every one whose turn has come; `None` when a part
    /// could not be read.
    fn take(
        &mut self,
        done: impl Iterator<Item = (usize, Option<FeedRead>)>,
        sink: &mut dyn FnMut(FeedRead),
    ) -> Option<()> {
        for (seq, read) in done {
            self.waiting.insert(seq, read?);
            while let Some(read) = self.waiting.remove(&self.next) {
                sink(read);
                self.next += 1;
            }
        }
        Some(())
    }
}

/// Reads the file, cutting it into parts sent to the workers; returns how many were sent,
/// or `None` when the file is not an export the splitter can follow.
fn split_into_parts(
    file: &mut impl Read,
    head: Vec<u8>,
    block: usize,
    parts: &mpsc::SyncSender<Part>,
    after_send: &mut dyn FnMut() -> Option<()>,
) -> Option<usize> {
    let mut buf = head;
    let mut splitter = Splitter::default();
    // `buf[..scanned]` has been followed by the splitter. The current part opens at
    // `buf[open]`: the object's `{`, or the comma after the previous part, which is kept
    // in the buffer to become the part's `{`. A part is thus sent in the buffer it was
    // read into, with no copy.
    let mut scanned = 0;
    let mut open: Option<usize> = None;
    // The line `buf[0]` is on.
    let mut line = 1;
    let mut seq = 0;
    let mut eof = false;
    let send = |seq: usize, mut text: Vec<u8>, from: usize, close: usize, first_line| {
        text.truncate(close + 1);
        text[from] = b'{';
        text[close] = b'}';
        parts
            .send(Part {
                seq,
                first_line,
                text,
                from,
            })
            .ok()
    };
    loop {
        let cut = splitter.scan(&buf[scanned..]).ok()?;
        let scanned_to = buf.len();
        if open.is_none() && splitter.started {
            // The object's `{` is the first non-blank byte.
            open = Some(buf.iter().position(|&b| b == b'{')?);
        }
        if let Some(end) = splitter.ended {
            let from = open?;
            let first = line + memchr::memchr_iter(b'\n', &buf[..from]).count();
            send(seq, buf, from, scanned + end, first)?;
            seq += 1;
            // Read to the end, so trailing content is checked.
            if !eof {
                let mut rest = Vec::new();
                file.read_to_end(&mut rest).ok()?;
                splitter.scan(&rest).ok()?;
            }
            return Some(seq);
        }
        if let (Some(c), Some(from)) = (cut, open) {
            let c = scanned + c;
            if c - from > block / 2 || eof {
                // What follows the cut, usually less than a record, starts the next buffer.
                let mut next = Vec::with_capacity(block + (buf.len() - c));
                next.extend_from_slice(&buf[c..]);
                let first = line + memchr::memchr_iter(b'\n', &buf[..from]).count();
                line += memchr::memchr_iter(b'\n', &buf[..c]).count();
                send(seq, std::mem::replace(&mut buf, next), from, c, first)?;
                seq += 1;
                after_send()?;
                open = Some(0);
                scanned = scanned_to - c;
            } else {
                scanned = scanned_to;
            }
        } else {
            scanned = scanned_to;
        }
        if eof {
            // The file ended inside the object.
            return None;
        }
        buf.reserve(block);
        let n = file
            .by_ref()
            .take(block as u64)
            .read_to_end(&mut buf)
            .ok()?;
        eof = n == 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{read_feed_bytes, FeedFormat};

    fn record(n: usize, value: &str) -> String {
        format!(
            "  \"{n}\": [\n    {{\"ioc_value\": {value:?}, \"ioc_type\": \"domain\", \
             \"threat_type\": \"botnet_cc\", \"malware_printable\": \"Vidar\", \
             \"confidence_level\": 75, \"tags\": \"a,b\"}}\n  ]"
        )
    }

    /// An export with values that hold commas, braces, brackets, quotes and escapes.
    fn export(n: usize) -> String {
        let tricky = ["x{y}.com", "a,b].com", "q\"uote.com", "back\\\\slash.com"];
        let members: Vec<String> = (0..n)
            .map(|i| match i % 7 {
                0 => record(i, tricky[(i / 7) % tricky.len()]),
                _ => record(i, &format!("host{i}.example.com")),
            })
            .collect();
        format!("{{\n{}\n}}\n", members.join(",\n"))
    }

    /// The parts of an export, read in parallel and put together in order.
    fn read_whole(file: &[u8], head: Vec<u8>, block: usize) -> Option<FeedRead> {
        let mut out = FeedRead::new(FeedFormat::ThreatFoxExport);
        read_export(file, head, "f.json", 2, block, &mut |part| {
            out.indicators.extend(part.indicators);
            out.rejections.extend(part.rejections);
        })?;
        Some(out)
    }

    fn lines(r: &FeedRead) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = r
            .indicators
            .iter()
            .map(|i| (i.value.clone(), i.sources[0].line))
            .chain(r.rejections.iter().map(|r| (r.raw.clone(), r.origin.line)))
            .collect();
        v.sort_by_key(|x| x.1);
        v
    }

    #[test]
    fn parts_read_in_parallel_give_what_the_whole_file_gives() {
        let text = export(2_000);
        let whole = read_feed_bytes(text.as_bytes(), "f.json", None).unwrap();
        for (head, block) in [(0, 1_000), (1, 7), (100, 4_096), (5_000, BLOCK)] {
            let bytes = text.as_bytes();
            let (h, rest) = bytes.split_at(head);
            let got = read_whole(rest, h.to_vec(), block).expect("read in parts");
            assert_eq!(lines(&got), lines(&whole), "head {head}, block {block}");
            let values = |r: &FeedRead| -> Vec<String> {
                r.indicators.iter().map(|i| i.value.clone()).collect()
            };
            assert_eq!(values(&got), values(&whole));
        }
    }

    #[test]
    fn small_blocks_cut_between_every_member() {
        let text = export(50);
        let mut s = Splitter::default();
        let mut cuts = 0;
        for chunk in text.as_bytes().chunks(3) {
            cuts += usize::from(s.scan(chunk).unwrap().is_some());
        }
        assert!(cuts > 10 && s.ended.is_some());
    }

    #[test]
    fn anything_but_a_whole_export_is_left_to_the_whole_file_reader() {
        let text = export(20);
        let truncated = &text[..text.len() / 2];
        let trailing = format!("{text} x");
        let broken = text.replacen("\"ioc_type\"", "\"ioc_type\" 1", 1);
        for bad in [truncated, &trailing, &broken, "[1, 2]", ""] {
            let got = read_whole(bad.as_bytes(), Vec::new(), 64);
            assert!(got.is_none(), "{bad:?}");
        }
    }
}
