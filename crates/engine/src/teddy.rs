//! The search for a few literals (up to eight), ASCII case-insensitively, fused with the
//! classification of every byte (see `classify`): one pass over the text finds where the
//! literals may start, where lines end, and the bytes the prefilter cannot judge.
//!
//! The search is the Teddy method (from Intel's Hyperscan): each literal gets a bucket, one
//! bit of a byte. For each of the first `width` bytes of the literals, two 16-entry tables,
//! indexed by a text byte's low and high nibble, give the buckets whose literal may have
//! that byte there; AND-ing the lookups for the bytes at `i`, `i+1`, ... leaves the buckets
//! whose literal may start at `i`, 32 positions a step (AVX2). A letter is entered in both
//! cases, which differ only in the high nibble, so the text is never lower-cased: with one
//! literal a bucket the tables accept exactly its bytes in either case. Each position left
//! is then compared with its literals, ignoring ASCII case.
//!
//! Up to four literals take a cheaper test than the tables: two bytes of each literal,
//! chosen to be rare in logs and far apart, are compared at their offsets (a letter after
//! setting the text byte's case bit), and a position where both agree is compared in full.
//! A hunt for one IP address or URL is the common case; on this project's machine the
//! test is also faster than the tables for four literals (a hunt's four domains over
//! 255 MB of DnsEvents: 0.14 s to 0.10 s).
//!
//! Without AVX2 the caller falls back to `classify` and the regex engine's search.

use crate::classify::{hides, prefetch, push_special, Text};

/// Literals this search takes at most: one a bucket.
pub const MAX_LITERALS: usize = 8;

pub struct Teddy {
    /// Lower-cased.
    literals: Vec<Box<[u8]>>,
    /// How many leading bytes of the literals the tables test: at most 3, at most the
    /// shortest literal's length.
    width: usize,
    /// For each tested byte, the bucket tables by low and by high nibble.
    low: [[u8; 16]; 3],
    high: [[u8; 16]; 3],
    /// For up to four literals, the pair test of each, used instead of the tables.
    pairs: Vec<Pair>,
    /// How far past a position the search reads: at least 2, for the byte after an escape.
    reach: usize,
}

/// Two bytes of a literal that a position must show for the literal to start there.
struct Pair {
    /// Offsets in the literal.
    at: [usize; 2],
    /// The bytes there, lower-cased.
    byte: [u8; 2],
    /// 0x20 for a letter, set in the text byte before comparing; 0 otherwise.
    case: [u8; 2],
}

impl Pair {
    /// The pair for a lower-cased literal: the rarest byte (the later one among equals,
    /// away from prefixes such as `https://` that many values share), then the rarest of
    /// the others, the farthest from it among equals.
    fn new(l: &[u8]) -> Pair {
        let rank = |i: usize| commonness(l[i]);
        let first = (0..l.len())
            .min_by_key(|&i| (rank(i), std::cmp::Reverse(i)))
            .unwrap_or(0);
        let second = (0..l.len())
            .filter(|&i| i != first)
            .min_by_key(|&i| (rank(i), std::cmp::Reverse(i.abs_diff(first))))
            .unwrap_or(first);
        let at = [first.min(second), first.max(second)];
        Pair {
            at,
            byte: at.map(|i| l[i]),
            case: at.map(|i| if l[i].is_ascii_lowercase() { 0x20 } else { 0 }),
        }
    }
}

/// How common a (lower-cased) byte is in log text, from 0 (rare) to 3: a rough order, by
/// English letter frequency and the punctuation of JSON, CSV, URLs and addresses.
fn commonness(b: u8) -> u8 {
    match b {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 3,
        b'0'..=b'9' | b'.' | b'/' | b':' | b'"' | b',' | b'h' | b'p' => 3,
        b'c' | b'd' | b'l' | b'm' | b'u' | b'-' | b'_' | b'@' | b' ' | b'=' => 2,
        b'a'..=b'z' => 1,
        _ => 0,
    }
}

impl Teddy {
    /// `None` for no literals, more than [`MAX_LITERALS`], an empty or non-ASCII one.
    pub fn new(literals: &[String]) -> Option<Teddy> {
        if literals.is_empty()
            || literals.len() > MAX_LITERALS
            || literals.iter().any(|l| l.is_empty() || !l.is_ascii())
        {
            return None;
        }
        let literals: Vec<Box<[u8]>> = literals
            .iter()
            .map(|l| l.as_bytes().to_ascii_lowercase().into_boxed_slice())
            .collect();
        let width = literals.iter().map(|l| l.len()).min()?.min(3);
        let (mut low, mut high) = ([[0u8; 16]; 3], [[0u8; 16]; 3]);
        for (bucket, l) in literals.iter().enumerate() {
            let bit = 1u8 << bucket;
            for k in 0..width {
                let b = l[k];
                for v in [b, b.to_ascii_uppercase()] {
                    low[k][usize::from(v & 15)] |= bit;
                    high[k][usize::from(v >> 4)] |= bit;
                }
            }
        }
        let pairs: Vec<Pair> = if literals.len() <= 4 {
            literals.iter().map(|l| Pair::new(l)).collect()
        } else {
            Vec::new()
        };
        let farthest = pairs.iter().map(|p| p.at[1] + 1).max().unwrap_or(0);
        Some(Teddy {
            reach: width.max(farthest).max(2),
            literals,
            width,
            low,
            high,
            pairs,
        })
    }

    /// Appends to `marks` every position of `buf` where a literal starts (in order) and,
    /// unordered among them, the position of every byte that `classify::hides` a literal
    /// in `text`; appends to `lines` a line-end bitmask per 64 bytes. False, having done
    /// nothing, where the processor lacks AVX2.
    pub fn scan(
        &self,
        buf: &[u8],
        text: Text,
        marks: &mut Vec<usize>,
        lines: &mut Vec<u64>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, just checked.
            let done = unsafe {
                match (self.pairs.len(), self.width) {
                    (1, _) => self.scan_pairs_avx2::<1>(buf, text, marks, lines),
                    (2, _) => self.scan_pairs_avx2::<2>(buf, text, marks, lines),
                    (3, _) => self.scan_pairs_avx2::<3>(buf, text, marks, lines),
                    (4, _) => self.scan_pairs_avx2::<4>(buf, text, marks, lines),
                    (_, 1) => self.scan_avx2::<1>(buf, text, marks, lines),
                    (_, 2) => self.scan_avx2::<2>(buf, text, marks, lines),
                    _ => self.scan_avx2::<3>(buf, text, marks, lines),
                }
            };
            self.scan_tail(buf, text, done, marks, lines);
            return true;
        }
        let _ = (buf, text, marks, lines);
        false
    }

    /// Whether literal `bucket` starts at `buf[at..]`.
    #[inline]
    fn verify(&self, buf: &[u8], at: usize, bucket: usize) -> bool {
        let l = &self.literals[bucket];
        buf.get(at..at + l.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(l))
    }

    /// The bytes from `from` (a multiple of 64) on, one at a time.
    fn scan_tail(
        &self,
        buf: &[u8],
        text: Text,
        from: usize,
        marks: &mut Vec<usize>,
        lines: &mut Vec<u64>,
    ) {
        for (g, group) in buf[from..].chunks(64).enumerate() {
            let base = from + g * 64;
            let mut nl = 0u64;
            for (i, &b) in group.iter().enumerate() {
                nl |= u64::from(b == b'\n') << i;
                if (b == b'\\' || b >= 0x80) && hides(buf, base + i, text) {
                    marks.push(base + i);
                }
            }
            lines.push(nl);
        }
        for at in from..buf.len() {
            if (0..self.literals.len()).any(|b| self.verify(buf, at, b)) {
                marks.push(at);
            }
        }
    }

    /// [`Teddy::scan_avx2`] with the pair test of `P` literals (1 to 4) for the tables.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_pairs_avx2<const P: usize>(
        &self,
        buf: &[u8],
        text: Text,
        marks: &mut Vec<usize>,
        lines: &mut Vec<u64>,
    ) -> usize {
        use std::arch::x86_64::*;
        let splat = |b: u8| _mm256_set1_epi8(b as i8);
        let offsets: [[usize; 2]; P] = std::array::from_fn(|k| self.pairs[k].at);
        let bytes: [[__m256i; 2]; P] = std::array::from_fn(|k| self.pairs[k].byte.map(splat));
        let cases: [[__m256i; 2]; P] = std::array::from_fn(|k| self.pairs[k].case.map(splat));
        let (newline, backslash) = (splat(b'\n'), splat(b'\\'));
        let (slash, u) = (splat(b'/'), splat(b'u'));
        let json = text == Text::Json;
        let zero = _mm256_setzero_si256();
        let mut at = 0;
        while at + 64 + self.reach - 1 <= buf.len() {
            let (mut starts, mut nl, mut sp) = (0u64, 0u64, 0u64);
            prefetch(buf, at);
            for half in 0..2 {
                let p = at + 32 * half;
                // SAFETY (every load): p + k + 32 <= at + 64 + reach - 1 <= buf.len() for
                // every offset k read, which is below `reach`.
                let first = unsafe { load(buf, p) };
                let mut hits = zero;
                for k in 0..P {
                    let [i, j] = offsets[k];
                    // SAFETY: as above.
                    let (a, b) = unsafe { (load(buf, p + i), load(buf, p + j)) };
                    let a = _mm256_cmpeq_epi8(_mm256_or_si256(a, cases[k][0]), bytes[k][0]);
                    let b = _mm256_cmpeq_epi8(_mm256_or_si256(b, cases[k][1]), bytes[k][1]);
                    hits = _mm256_or_si256(hits, _mm256_and_si256(a, b));
                }
                let special = if json {
                    // SAFETY: as above.
                    let next = unsafe { load(buf, p + 1) };
                    let target =
                        _mm256_or_si256(_mm256_cmpeq_epi8(next, slash), _mm256_cmpeq_epi8(next, u));
                    let escape = _mm256_and_si256(_mm256_cmpeq_epi8(first, backslash), target);
                    _mm256_or_si256(escape, first)
                } else {
                    first
                };
                let mask = |v: __m256i| u64::from(_mm256_movemask_epi8(v) as u32) << (32 * half);
                starts |= mask(hits);
                nl |= mask(_mm256_cmpeq_epi8(first, newline));
                sp |= mask(special);
            }
            lines.push(nl);
            while starts != 0 {
                let j = at + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                if (0..P).any(|b| self.verify(buf, j, b)) {
                    marks.push(j);
                }
            }
            if sp != 0 {
                push_special(sp, buf, at, 0, text, marks);
            }
            at += 64;
        }
        at
    }

    /// Scans whole 64-byte groups while the bytes they read lie within `buf`;
    /// returns where it stopped.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_avx2<const W: usize>(
        &self,
        buf: &[u8],
        text: Text,
        marks: &mut Vec<usize>,
        lines: &mut Vec<u64>,
    ) -> usize {
        use std::arch::x86_64::*;
        let table = |t: &[u8; 16]| {
            // SAFETY: 16 bytes read from a 16-byte array.
            let half = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
            _mm256_broadcastsi128_si256(half)
        };
        let low: [__m256i; W] = std::array::from_fn(|k| table(&self.low[k]));
        let high: [__m256i; W] = std::array::from_fn(|k| table(&self.high[k]));
        let nibble = _mm256_set1_epi8(0x0f);
        let newline = _mm256_set1_epi8(b'\n' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let (slash, u) = (_mm256_set1_epi8(b'/' as i8), _mm256_set1_epi8(b'u' as i8));
        let json = text == Text::Json;
        let zero = _mm256_setzero_si256();
        let mut at = 0;
        let mut buckets = [0u8; 32];
        // Every load below reads 32 bytes from at most `p + reach - 1`.
        let reach = self.reach;
        while at + 64 + reach - 1 <= buf.len() {
            let (mut nl, mut sp) = (0u64, 0u64);
            prefetch(buf, at);
            for half in 0..2 {
                let p = at + 32 * half;
                // SAFETY (every load): p + k + 32 <= at + 64 + reach - 1 <= buf.len() for
                // every offset k read, which is below `reach`.
                let first = unsafe { load(buf, p) };
                let mut hits = zero;
                for k in 0..W {
                    // SAFETY: as above.
                    let v = unsafe { load(buf, p + k) };
                    let lo = _mm256_and_si256(v, nibble);
                    let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
                    let r = _mm256_and_si256(
                        _mm256_shuffle_epi8(low[k], lo),
                        _mm256_shuffle_epi8(high[k], hi),
                    );
                    hits = if k == 0 { r } else { _mm256_and_si256(hits, r) };
                }
                let n = _mm256_movemask_epi8(_mm256_cmpeq_epi8(first, newline)) as u32;
                // Non-ASCII bytes, and in JSON the backslashes before `/` or `u`.
                let special = if json {
                    // SAFETY: as above.
                    let next = unsafe { load(buf, p + 1) };
                    let target =
                        _mm256_or_si256(_mm256_cmpeq_epi8(next, slash), _mm256_cmpeq_epi8(next, u));
                    let escape = _mm256_and_si256(_mm256_cmpeq_epi8(first, backslash), target);
                    _mm256_or_si256(escape, first)
                } else {
                    first
                };
                let s = _mm256_movemask_epi8(special) as u32;
                nl |= u64::from(n) << (32 * half);
                sp |= u64::from(s) << (32 * half);
                let mut starts = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hits, zero)) as u32);
                if starts != 0 {
                    // SAFETY: 32 bytes written to a 32-byte array.
                    unsafe { _mm256_storeu_si256(buckets.as_mut_ptr().cast(), hits) };
                    while starts != 0 {
                        let j = starts.trailing_zeros() as usize;
                        starts &= starts - 1;
                        let mut bits = buckets[j];
                        while bits != 0 {
                            let b = bits.trailing_zeros() as usize;
                            bits &= bits - 1;
                            if self.verify(buf, p + j, b) {
                                marks.push(p + j);
                                break;
                            }
                        }
                    }
                }
            }
            lines.push(nl);
            if sp != 0 {
                push_special(sp, buf, at, 0, text, marks);
            }
            at += 64;
        }
        at
    }
}

/// The 32 bytes at `buf[at..]`.
///
/// # Safety
/// `at + 32 <= buf.len()`, and the processor has AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load(buf: &[u8], at: usize) -> std::arch::x86_64::__m256i {
    debug_assert!(at + 32 <= buf.len());
    // SAFETY: the caller's.
    unsafe { std::arch::x86_64::_mm256_loadu_si256(buf.as_ptr().add(at).cast()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the search must find: every start of a literal, ignoring ASCII case, every
    /// backslash that starts a `\/` or `\u` escape and every non-ASCII byte, and the line
    /// ends.
    fn plain(buf: &[u8], literals: &[&str]) -> (Vec<usize>, Vec<usize>) {
        let lower = buf.to_ascii_lowercase();
        let escape = |i: usize| {
            let before = buf[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            buf[i] == b'\\' && before % 2 == 0 && matches!(buf.get(i + 1), None | Some(b'/' | b'u'))
        };
        let mut marks: Vec<usize> = (0..buf.len())
            .filter(|&i| {
                escape(i)
                    || buf[i] >= 0x80
                    || literals
                        .iter()
                        .any(|l| lower[i..].starts_with(l.to_ascii_lowercase().as_bytes()))
            })
            .collect();
        marks.dedup();
        (marks, memchr::memchr_iter(b'\n', buf).collect())
    }

    #[test]
    fn finds_every_start_line_end_and_unjudgeable_byte() {
        let sets: &[&[&str]] = &[
            &["91.92.34.228"],
            &[
                "beroniw.com",
                "Golviewcheckus.com",
                "tiqwtkmma.com",
                "zbxcgtqt.com",
                "91.92.34.228",
            ],
            &["a", "bc"],
            &[
                "beroniw.com",
                "Golviewcheckus.com",
                "tiqwtkmma.com",
                "zbxcgtqt.com",
            ],
            &["https://Beroniw.com/x", "[X]aaaab"],
            &["q"],
            &["[x]", "@`{", "Zz"],
            &["aaaa", "aaab", "aab", "ab1", "b", "c2", "dd", "e.e"],
        ];
        let pieces = [
            "{\"A\":\"",
            "BERONIW.COM",
            "beroniw.co",
            "\\u00e9",
            "c:\\\\users\\\\x\\/",
            "é",
            "\n",
            "91.92.34.22",
            "8",
            "aaaab",
            "zZ",
            "[X]",
            "@`{",
            "golviewcheckus.COM",
            "x,",
            "\r\n",
            "tiqwtkmma.com",
        ];
        for literals in sets {
            let owned: Vec<String> = literals.iter().map(|l| l.to_string()).collect();
            let t = Teddy::new(&owned).unwrap();
            let mut buf = Vec::new();
            for i in 0..4_000usize {
                buf.extend_from_slice(pieces[(i * 7 + i / 5) % pieces.len()].as_bytes());
                buf.extend(std::iter::repeat_n(b'q', i % 5));
            }
            for len in [0, 1, 40, 64, 65, 66, 127, 128, 130, 1000, buf.len()] {
                let b = &buf[..len];
                let (mut marks, mut masks) = (Vec::new(), Vec::new());
                if !t.scan(b, Text::Json, &mut marks, &mut masks) {
                    eprintln!("NOTICE: no AVX2 here; the fused search is not tested");
                    return;
                }
                marks.sort_unstable();
                marks.dedup();
                let (want_marks, want_ends) = plain(b, literals);
                assert_eq!(marks, want_marks, "{literals:?}, {len} bytes");
                let ends: Vec<usize> = crate::classify::LineEnds::new(&masks, len)
                    .filter(|&e| e < len)
                    .collect();
                assert_eq!(ends, want_ends);
                assert_eq!(masks.len(), len.div_ceil(64));
            }
        }
    }

    /// The pair test looks at rare bytes far apart, past a shared scheme prefix.
    #[test]
    fn pairs_pick_rare_bytes_far_apart() {
        let at = |l: &str| Pair::new(l.as_bytes()).at;
        assert_eq!(at("91.92.34.228"), [0, 11]);
        let url = "https://beroniw.com/hwkop5";
        let [i, j] = at(url);
        assert!(i >= "https://".len(), "{:?}", &url[i..=j]);
        assert_eq!(at("q"), [0, 0]);
        let p = Pair::new(b"x.io");
        assert_eq!((p.at, p.byte, p.case), ([0, 3], [b'x', b'o'], [0x20, 0x20]));
        assert_eq!(Pair::new(b"1.2").case, [0, 0]);
    }

    #[test]
    fn takes_only_small_ascii_sets() {
        let many: Vec<String> = (0..9).map(|i| format!("x{i}")).collect();
        assert!(Teddy::new(&many).is_none());
        assert!(Teddy::new(&["".to_string()]).is_none());
        assert!(Teddy::new(&["bücher.de".to_string()]).is_none());
        assert!(Teddy::new(&[]).is_none());
    }
}
