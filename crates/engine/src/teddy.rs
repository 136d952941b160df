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
//! Without AVX2 the caller falls back to `classify` and the regex engine's search.

use crate::classify::{hides, push_special, Text};

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
        Some(Teddy {
            literals,
            width,
            low,
            high,
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
                match self.width {
                    1 => self.scan_avx2::<1>(buf, text, marks, lines),
                    2 => self.scan_avx2::<2>(buf, text, marks, lines),
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

    /// Scans whole 64-byte groups while the bytes the tables test lie within `buf`;
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
        let zero = _mm256_setzero_si256();
        let mut at = 0;
        let mut buckets = [0u8; 32];
        while at + 64 + W - 1 <= buf.len() {
            let (mut nl, mut sp) = (0u64, 0u64);
            for half in 0..2 {
                let p = at + 32 * half;
                let mut hits = zero;
                let mut first = zero;
                for k in 0..W {
                    // SAFETY: p + k + 32 <= at + 64 + W - 1 <= buf.len().
                    let v = unsafe { _mm256_loadu_si256(buf.as_ptr().add(p + k).cast()) };
                    if k == 0 {
                        first = v;
                    }
                    let lo = _mm256_and_si256(v, nibble);
                    let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
                    let r = _mm256_and_si256(
                        _mm256_shuffle_epi8(low[k], lo),
                        _mm256_shuffle_epi8(high[k], hi),
                    );
                    hits = if k == 0 { r } else { _mm256_and_si256(hits, r) };
                }
                let n = _mm256_movemask_epi8(_mm256_cmpeq_epi8(first, newline)) as u32;
                let s = _mm256_movemask_epi8(_mm256_or_si256(
                    _mm256_cmpeq_epi8(first, backslash),
                    first,
                )) as u32;
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

    #[test]
    fn takes_only_small_ascii_sets() {
        let many: Vec<String> = (0..9).map(|i| format!("x{i}")).collect();
        assert!(Teddy::new(&many).is_none());
        assert!(Teddy::new(&["".to_string()]).is_none());
        assert!(Teddy::new(&["bücher.de".to_string()]).is_none());
        assert!(Teddy::new(&[]).is_none());
    }
}
