//! CSV read the way exports write it: a record starts on a new line and runs on over line
//! ends only inside a quoted field. Fields are read as the `csv` crate reads them (a test
//! holds the two to agree), but records are found by lines, so that every record knows the
//! line it starts on, and a file whose records each sit on one line can be searched line by
//! line like any log (see `scan`).

use std::io::BufRead;

/// The fields of one CSV record (without its line terminator), as byte ranges
/// of their raw text, read as the `csv` crate reads them: a quote opens a quoted field only
/// at the field's start, `""` inside it is a quote, and text after its closing quote
/// belongs to the field. False when the line is not a whole record: it ends inside a
/// quoted field.
pub fn csv_fields(line: &[u8], out: &mut Vec<(usize, usize)>) -> bool {
    out.clear();
    let mut i = 0;
    loop {
        let field = i;
        if line.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match memchr::memchr(b'"', &line[i..]) {
                    Some(j) if line.get(i + j + 1) == Some(&b'"') => i += j + 2,
                    Some(j) => {
                        i += j + 1;
                        break;
                    }
                    None => {
                        out.push((field, line.len()));
                        return false;
                    }
                }
            }
        }
        i = memchr::memchr(b',', &line[i..]).map_or(line.len(), |j| i + j);
        out.push((field, i));
        if i >= line.len() {
            return true;
        }
        i += 1;
    }
}

/// The quotes, commas and carriage returns of a buffer of CSV lines, as bitmasks (one bit
/// a byte), from which most lines' fields are counted without reading them byte by byte.
pub struct CsvMasks {
    /// Quotes, commas, carriage returns.
    masks: [Vec<u64>; 3],
}

impl CsvMasks {
    pub fn new(buf: &[u8]) -> CsvMasks {
        let words = buf.len().div_ceil(64);
        let mut masks = [
            Vec::with_capacity(words),
            Vec::with_capacity(words),
            Vec::with_capacity(words),
        ];
        crate::classify::byte_masks(buf, [b'"', b',', b'\r'], &mut masks);
        CsvMasks { masks }
    }

    /// The field count of every line of the buffer, in order, as [`CsvMasks::fields`] gives
    /// it for the line's record (the line without a final carriage return): one pass over
    /// the masks instead of one per line. Lines end at the bits of `newlines` (one bit a
    /// byte) and the last at `len`, the buffer's length.
    ///
    /// The quote parity runs on across lines: a line whose quotes balance leaves it even, as
    /// a new line starts it; after a line that ends inside quotes it restarts at the next
    /// line. A quote must touch a separator (comma, quote, line end, a carriage return just
    /// before a line end, the buffer's ends) on its field's side, as in `fields`.
    pub fn line_fields(&self, newlines: &[u64], len: usize) -> Vec<Option<usize>> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the instruction, as just checked.
            return unsafe { self.line_fields_popcnt(newlines, len) };
        }
        self.line_fields_with(newlines, len)
    }

    /// [`CsvMasks::line_fields`] with the bit count in one instruction (the baseline
    /// x86-64 target counts bits in a dozen).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn line_fields_popcnt(&self, newlines: &[u64], len: usize) -> Vec<Option<usize>> {
        self.line_fields_with(newlines, len)
    }

    #[inline(always)]
    fn line_fields_with(&self, newlines: &[u64], len: usize) -> Vec<Option<usize>> {
        let [quotes, commas, crs] = &self.masks;
        let words = len.div_ceil(64);
        let word = |m: &[u64], w: usize| m.get(w).copied().unwrap_or(0);
        // Line ends: newlines, and the end of the buffer (as a bit past its last byte).
        let ends = |w: usize| word(newlines, w) | u64::from(w == len / 64) << (len % 64);
        // Separators, given the line ends of this word and the next: carriage returns just
        // before a line end (which the record leaves out) count as one.
        let seps = |w: usize, e: u64, e_next: u64| {
            let crlf = word(crs, w) & (e >> 1 | e_next << 63);
            (word(quotes, w) | word(commas, w) | e | crlf, crlf)
        };
        let mut out = Vec::with_capacity(len / 64 + 1);
        // The byte before the buffer counts as a separator.
        let mut prev = 1u64 << 63;
        let mut carry = 0u64;
        // Commas outside quotes, and bytes that leave a line to csv_fields, counted from the
        // buffer's start up to the current word and up to the last line end.
        let (mut commas_before, mut faults_before) = (0usize, 0usize);
        let (mut commas_at_end, mut faults_at_end) = (0usize, 0usize);
        let (mut e, mut e_next, mut e_after) = (ends(0), ends(1), ends(2));
        let (mut s, mut crlf) = seps(0, e, e_next);
        for w in 0..=words {
            // A line ended inside quotes at the word's last byte: the next word starts a
            // line, outside quotes.
            let mut fresh = false;
            let (s_next, crlf_next) = seps(w + 1, e_next, e_after);
            let (q, c) = (word(quotes, w), word(commas, w));
            let before = s << 1 | prev >> 63;
            let after = s >> 1 | s_next << 63;
            let stray = word(crs, w) & !crlf;
            let mut open = prefix_xor(q) ^ carry;
            // A quote that opens needs a separator before it, one that closes after it.
            let faults_of = |open: u64| (q & open & !before) | (q & !open & !after) | stray;
            let mut faults = faults_of(open);
            let mut line_ends = e;
            while line_ends != 0 {
                let end = line_ends.trailing_zeros();
                let below = (1u64 << end) - 1;
                let commas_now = commas_before + (c & !open & below).count_ones() as usize;
                let faults_now = faults_before + (faults & below).count_ones() as usize;
                let inside = open >> end & 1 == 1;
                out.push(if faults_now == faults_at_end && !inside {
                    Some(commas_now - commas_at_end + 1)
                } else {
                    None
                });
                (commas_at_end, faults_at_end) = (commas_now, faults_now);
                if inside {
                    // The next line starts outside quotes.
                    fresh = end == 63;
                    let above = if end == 63 { 0 } else { u64::MAX << (end + 1) };
                    open = (open & !above) | prefix_xor(q & above);
                    faults = (faults & !above) | (faults_of(open) & above);
                }
                line_ends &= line_ends - 1;
            }
            commas_before += (c & !open).count_ones() as usize;
            faults_before += faults.count_ones() as usize;
            carry = if open >> 63 == 1 && !fresh {
                u64::MAX
            } else {
                0
            };
            prev = s;
            (s, crlf) = (s_next, crlf_next);
            (e, e_next, e_after) = (e_next, e_after, ends(w + 3));
        }
        out
    }

    /// How many fields [`csv_fields`] finds in the record `buf[a..b]`, when the masks can
    /// tell: every quote opens a field (after a comma, the record's start or a quote) or
    /// closes one (before a comma, the record's end or a quote), there is no carriage
    /// return, and the record ends outside quotes. Under those conditions a comma counts
    /// exactly when an even number of quotes precede it in the record, which is what the
    /// byte-by-byte reading finds. `None` leaves the record to [`csv_fields`]. The tests'
    /// reference for [`CsvMasks::line_fields`].
    #[cfg(test)]
    pub fn fields(&self, a: usize, b: usize) -> Option<usize> {
        if a >= b {
            return Some(1);
        }
        let [quotes, commas, crs] = &self.masks;
        let sep = |w: usize| match (commas.get(w), quotes.get(w)) {
            (Some(c), Some(q)) => c | q,
            _ => 0,
        };
        let (first_w, last_w) = (a / 64, (b - 1) / 64);
        // Separators of the previous, this and the next word, carried along the loop.
        let mut prev = if first_w > 0 { sep(first_w - 1) } else { 0 };
        let mut cur = sep(first_w);
        let mut inside = 0u64;
        let mut count = 0;
        for w in first_w..=last_w {
            let next = sep(w + 1);
            let lo = if w == first_w { a % 64 } else { 0 };
            let hi = if w == last_w { (b - 1) % 64 } else { 63 };
            let range = (u64::MAX << lo) & (u64::MAX >> (63 - hi));
            if crs[w] & range != 0 {
                return None;
            }
            let q = quotes[w] & range;
            let open = prefix_xor(q) ^ inside;
            let before = cur << 1 | prev >> 63 | (u64::from(w == first_w) << lo);
            let after = cur >> 1 | next << 63 | (u64::from(w == last_w) << hi);
            if q & open & !before != 0 || q & !open & !after != 0 {
                return None;
            }
            count += (commas[w] & range & !open).count_ones() as usize;
            inside = if open >> 63 == 1 { u64::MAX } else { 0 };
            prev = cur;
            cur = next;
        }
        (inside == 0).then_some(count + 1)
    }
}

/// Bit `i` of the result is the parity of bits `0..=i` of `x`.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// A CSV field's value from its raw text (see [`csv_fields`]): quotes removed and `""`
/// read as `"`.
pub fn csv_unquote(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Some(rest) = raw.strip_prefix(b"\"") else {
        return raw.into();
    };
    let mut out = Vec::with_capacity(rest.len());
    let mut i = 0;
    while let Some(j) = memchr::memchr(b'"', &rest[i..]) {
        out.extend_from_slice(&rest[i..i + j]);
        if rest.get(i + j + 1) == Some(&b'"') {
            out.push(b'"');
            i += j + 2;
        } else {
            out.extend_from_slice(&rest[i + j + 1..]);
            return out.into();
        }
    }
    out.extend_from_slice(&rest[i..]);
    out.into()
}

/// Reads records one by one, numbering the lines they start on.
pub struct Records<R> {
    inner: R,
    line: u64,
    consumed: u64,
    /// The current record's text and its fields' raw ranges.
    text: Vec<u8>,
    ranges: Vec<(usize, usize)>,
}

impl<R: BufRead> Records<R> {
    /// `lines_before` is how many lines of the file come before the reader's start.
    pub fn new(inner: R, lines_before: u64) -> Records<R> {
        Records {
            inner,
            line: lines_before,
            consumed: 0,
            text: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// The next record's first line, or None at the end; blank lines are skipped.
    pub fn next_record(&mut self) -> std::io::Result<Option<u64>> {
        loop {
            self.text.clear();
            let n = self.inner.read_until(b'\n', &mut self.text)?;
            if n == 0 {
                return Ok(None);
            }
            self.consumed += n as u64;
            self.line += 1;
            let start = self.line;
            let mut end = content_end(&self.text);
            if end == 0 {
                continue;
            }
            // A quoted field left open goes on over the line end, which it keeps.
            while !csv_fields(&self.text[..end], &mut self.ranges) {
                let n = self.inner.read_until(b'\n', &mut self.text)?;
                if n == 0 {
                    break;
                }
                self.consumed += n as u64;
                self.line += 1;
                end = content_end(&self.text);
            }
            self.text.truncate(end);
            return Ok(Some(start));
        }
    }

    /// Bytes read so far: where the next record starts.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// How many fields the current record has.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// The current record's fields, unquoted.
    pub fn fields(&self) -> impl Iterator<Item = std::borrow::Cow<'_, [u8]>> {
        self.ranges
            .iter()
            .map(|&(a, b)| csv_unquote(&self.text[a..b]))
    }

    /// The current record's raw text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}

/// Where a line's text ends: before its `\n` or `\r\n`.
fn content_end(line: &[u8]) -> usize {
    let mut end = line.len();
    if line[..end].ends_with(b"\n") {
        end -= 1;
    }
    if line[..end].ends_with(b"\r") {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field splitting agrees with the csv crate on every line it calls whole.
    #[test]
    fn csv_fields_read_as_the_csv_crate_does() {
        let lines: &[&[u8]] = &[
            b"a,b,c",
            b"\"18/06/2026, 00:00:14.098\",x,,",
            b"\"he said \"\"hi\"\"\",2",
            b"ab\"c,d",
            b"\"q\"tail,\"\"",
            b",",
            b"\"\"\"\",x",
            b"\"a,b\"\"c\"\"\",\"d\"",
        ];
        for line in lines {
            let mut ranges = Vec::new();
            assert!(
                csv_fields(line, &mut ranges),
                "{}",
                String::from_utf8_lossy(line)
            );
            let ours: Vec<Vec<u8>> = ranges
                .iter()
                .map(|&(a, b)| csv_unquote(&line[a..b]).into_owned())
                .collect();
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(*line);
            let rec = rdr.byte_records().next().unwrap().unwrap();
            let theirs: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(line));
        }
        let mut ranges = Vec::new();
        assert!(!csv_fields(b"a,\"open", &mut ranges));
    }

    /// Wherever the masks count fields, they count what the byte-by-byte reading finds, on
    /// every line of a few symbols that lines are made of, at every alignment.
    #[test]
    fn masks_count_the_fields_csv_fields_finds() {
        let (mut counted, mut left) = (0, 0);
        let mut ranges = Vec::new();
        for (alphabet, longest) in [(&b"a,\"\r"[..], 7u32), (&b"a,\""[..], 9)] {
            let k = alphabet.len();
            for len in 0..=longest {
                for n in 0..k.pow(len) {
                    let line: Vec<u8> = (0..len).map(|i| alphabet[n / k.pow(i) % k]).collect();
                    for pad in [0, 1, 30, 61, 63] {
                        let mut buf = vec![b'x'; pad];
                        buf.push(b'\n');
                        let a = buf.len();
                        buf.extend_from_slice(&line);
                        buf.push(b'\n');
                        buf.extend(std::iter::repeat_n(b'y', 70));
                        let masks = CsvMasks::new(&buf);
                        match masks.fields(a, a + line.len()) {
                            Some(f) => {
                                assert!(csv_fields(&line, &mut ranges));
                                assert_eq!(f, ranges.len(), "{:?}", String::from_utf8_lossy(&line));
                                counted += 1;
                            }
                            None => left += 1,
                        }
                    }
                }
            }
        }
        assert!(
            counted > 30_000 && left > 30_000,
            "{counted} counted, {left} left"
        );
    }

    /// What random CSV lines are made of: text, commas, quotes alone and in pairs,
    /// carriage returns, and a field long enough to cross a 64-byte word.
    const PIECES: [&[u8]; 9] = [
        b"a",
        b",",
        b"\"\"",
        b"\"x,y\"",
        b"\"",
        b"\r",
        b"bb,",
        b",\"\"\"q\"",
        b"\"long field, with a comma and more text to cross a word\"",
    ];

    /// A small deterministic random number generator (a linear congruential one).
    fn random(mut seed: u64) -> impl FnMut() -> usize {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        }
    }

    /// `count` lines of fewer than `longest` pieces each, each ended by a newline, and
    /// each line's range; a lone quote is kept one time in `lone_quote`.
    fn random_lines(
        next: &mut impl FnMut() -> usize,
        pieces: &[&[u8]],
        count: usize,
        longest: usize,
        lone_quote: usize,
    ) -> (Vec<u8>, Vec<(usize, usize)>) {
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        for _ in 0..count {
            let a = buf.len();
            for _ in 0..next() % longest {
                let p = pieces[next() % pieces.len()];
                if p == b"\"" && !next().is_multiple_of(lone_quote) {
                    continue;
                }
                buf.extend_from_slice(p);
            }
            lines.push((a, buf.len()));
            buf.push(b'\n');
        }
        (buf, lines)
    }

    /// The one-pass count of every line equals the count line by line, whatever the
    /// lines hold (unbalanced quotes, carriage returns alone or before the line end) and
    /// wherever they fall in the words, with and without a final line end.
    #[test]
    fn one_pass_counts_equal_counts_line_by_line() {
        let mut next = random(11);
        let mut judged = 0;
        for round in 0..400 {
            let count = 1 + next() % 30;
            let (mut buf, lines) = random_lines(&mut next, &PIECES, count, 10, 20);
            if round % 3 == 0 {
                buf.pop();
            }
            let mut newlines = [Vec::new()];
            crate::classify::byte_masks(&buf, [b'\n'], &mut newlines);
            let masks = CsvMasks::new(&buf);
            let got = masks.line_fields(&newlines[0], buf.len());
            for (i, &(a, b)) in lines.iter().enumerate() {
                let b = if buf[a..b].ends_with(b"\r") { b - 1 } else { b };
                let want = if a == b { Some(1) } else { masks.fields(a, b) };
                assert_eq!(got[i], want, "{:?}", String::from_utf8_lossy(&buf[a..b]));
                judged += usize::from(want.is_some());
            }
        }
        assert!(judged > 1_000, "{judged}");
    }

    /// A line that ends inside quotes on a word's last byte does not carry its quote into
    /// the next word's line (found by the `sources` fuzz target: the next line was counted
    /// as fewer fields than it has, and parsed as a record of the table's width).
    #[test]
    fn a_quote_open_at_a_word_end_stays_on_its_line() {
        for pad in 58..68 {
            let mut buf = vec![b'"'];
            buf.extend(std::iter::repeat_n(b'a', pad));
            buf.extend_from_slice(b"\n\"\",\"\",\",x\nx,y\n");
            let mut newlines = [Vec::new()];
            crate::classify::byte_masks(&buf, [b'\n'], &mut newlines);
            let masks = CsvMasks::new(&buf);
            let got = masks.line_fields(&newlines[0], buf.len());
            let mut a = 0;
            for (i, line) in buf.split(|&b| b == b'\n').enumerate() {
                assert_eq!(
                    got[i],
                    masks.fields(a, a + line.len()),
                    "pad {pad}, line {i}"
                );
                a += line.len() + 1;
            }
        }
    }

    /// Many lines in one buffer: each line counted by the masks counts what the
    /// byte-by-byte reading finds, whatever its neighbours hold.
    #[test]
    fn masks_count_each_line_of_a_buffer_alone() {
        let mut next = random(7);
        let (mut counted, mut ranges) = (0, Vec::new());
        for _ in 0..300 {
            // Quotes balanced in most buffers, so that the masks judge them.
            let (buf, lines) = random_lines(&mut next, &PIECES[..8], 40, 12, 300);
            let masks = CsvMasks::new(&buf);
            for (a, b) in lines {
                if let Some(f) = masks.fields(a, b) {
                    assert!(csv_fields(&buf[a..b], &mut ranges));
                    assert_eq!(f, ranges.len(), "{:?}", String::from_utf8_lossy(&buf[a..b]));
                    counted += 1;
                }
            }
        }
        assert!(counted > 3_000, "{counted} counted");
    }

    #[test]
    fn masks_count_long_records_across_words() {
        let line = b"\"18/06/2026, 00:00:14.098\",Palo Alto Networks,PAN-OS,10.20.5.14,s.meyer,\
                     52.193.120.171,443,update.googleapis.com,\"https://u.example/?a=1,b=\"\"2\"\"\",\
                     allow,TRAFFIC,TCP";
        let mut buf = b"h\n".to_vec();
        buf.extend_from_slice(line);
        let mut ranges = Vec::new();
        assert!(csv_fields(line, &mut ranges));
        assert_eq!(CsvMasks::new(&buf).fields(2, buf.len()), Some(ranges.len()));
        assert_eq!(ranges.len(), 12);
    }

    #[test]
    fn records_span_quoted_line_ends_and_know_their_first_line() {
        let text = b"a,b\r\n\r\n\"x\r\ny\",2\r\n\nlast,\"open";
        let mut r = Records::new(&text[..], 10);
        let mut seen = Vec::new();
        while let Some(line) = r.next_record().unwrap() {
            let fields: Vec<String> = r
                .fields()
                .map(|f| String::from_utf8_lossy(&f).into_owned())
                .collect();
            seen.push((line, fields));
        }
        assert_eq!(
            seen,
            vec![
                (11, vec!["a".to_string(), "b".to_string()]),
                (13, vec!["x\r\ny".to_string(), "2".to_string()]),
                (16, vec!["last".to_string(), "open".to_string()]),
            ]
        );
    }
}
