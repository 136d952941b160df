//! One pass over text that does what the scan needs of every byte: it lower-cases the text
//! (ASCII) for the literal search, marks where lines end, and finds the bytes the prefilter
//! cannot judge (a JSON escape that may spell a literal's character, a non-ASCII byte). Doing the three at once reads each
//! byte once instead of three times, and line ends come as bitmasks, which are walked far
//! faster than a search per line. On x86_64 it takes 16 bytes a step with SSE2, which every
//! x86_64 processor has; elsewhere one byte a step, with the same result (tested).

/// What the scanned bytes are, which decides the backslashes that can hide a literal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Text {
    /// JSON: `\/` and `\uXXXX` can spell a literal's characters. The other escapes spell a
    /// quote, a backslash or a control character, which no prefilter literal holds.
    Json,
    /// CSV: a backslash is an ordinary byte, and a doubled quote spells a quote.
    Csv,
}

/// Whether the byte at `i`, a backslash or a non-ASCII byte, may hide a literal from a
/// search of the raw bytes: a non-ASCII letter may fold to an ASCII one (the Kelvin sign to
/// `k`), and a JSON escape may spell a literal's character. Windows paths make backslashes
/// common in real logs (`c:\\windows\\...`), so the escapes that cannot hide one are
/// told apart (`c:\\users` holds `\u` but no escape). Where `src` cuts the text short, the
/// answer is yes: a backslash at its end, or after a run of backslashes from its start.
#[inline]
pub fn hides(src: &[u8], i: usize, text: Text) -> bool {
    if src[i] >= 0x80 {
        return true;
    }
    if text != Text::Json || !src.get(i + 1).is_none_or(|&n| n == b'/' || n == b'u') {
        return false;
    }
    // The backslash starts an escape when an even number of backslashes precede it.
    let run = src[..i].iter().rev().take_while(|&&b| b == b'\\').count();
    run % 2 == 0 || run == i
}

/// Lower-cases `src` into `dst[..src.len()]`; for every 64 bytes of `src` (the last group
/// may be shorter) appends to `lines` a mask with bit `i` set where byte `i` of the group is
/// `\n`, and appends to `special` the position (plus `base`) of every byte that [`hides`]
/// a literal.
pub fn fold_classify(
    src: &[u8],
    dst: &mut [u8],
    base: usize,
    text: Text,
    lines: &mut Vec<u64>,
    special: &mut Vec<usize>,
) {
    let dst = &mut dst[..src.len()];
    let whole = src.len() / 64 * 64;
    let tail = &src[whole..];
    let (dhead, dtail) = dst.split_at_mut(whole);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, just checked.
            unsafe { groups_avx2(src, dhead, base, text, lines, special) };
        } else {
            groups(src, dhead, base, text, lines, special, group_sse2);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    groups(src, dhead, base, text, lines, special, group_bytewise);
    if !tail.is_empty() {
        let g = group_bytewise(tail, dtail);
        lines.push(g.lines);
        let sp = g.special(src, whole, tail.len(), text);
        push_special(sp, src, whole, base, text, special);
    }
}

/// How far ahead of a pass over mapped text its memory is asked for.
const AHEAD: usize = 2048;

/// Asks the processor to start loading the text [`AHEAD`] bytes past `at`. On this
/// project's machine (a VM) the passes over mapped page-cache pages otherwise wait on
/// memory: with it the reference pack's hunt over 1.2 GB went from 0.50 s to 0.22 s.
/// A prefetch past the end of `buf` is harmless: it never faults.
#[inline(always)]
pub fn prefetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of x86_64; a prefetch reads nothing the program sees.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(buf.as_ptr().wrapping_add(at + AHEAD).cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}

/// Runs `group` over every whole 64 bytes of `src` (as many as `dst` is long, a multiple
/// of 64).
#[inline(always)]
fn groups(
    src: &[u8],
    dst: &mut [u8],
    base: usize,
    text: Text,
    lines: &mut Vec<u64>,
    special: &mut Vec<usize>,
    group: impl Fn(&[u8], &mut [u8]) -> Group,
) {
    for (k, (s, d)) in src
        .chunks_exact(64)
        .zip(dst.chunks_exact_mut(64))
        .enumerate()
    {
        prefetch(src, k * 64);
        let g = group(s, d);
        lines.push(g.lines);
        let sp = g.special(src, k * 64, 64, text);
        if sp != 0 {
            push_special(sp, src, k * 64, base, text, special);
        }
    }
}

/// What a group of up to 64 bytes holds, a bit per byte.
#[derive(Debug, PartialEq, Eq, Default)]
struct Group {
    lines: u64,
    backslashes: u64,
    /// `/` and `u`: a backslash before one may start an escape that spells a literal's
    /// character.
    targets: u64,
    /// Bytes of 0x80 or more.
    high: u64,
}

impl Group {
    /// The bytes of the `len` bytes at `src[at..]` (this group) that may hide a literal,
    /// before [`hides`] counts the backslashes ahead of each: non-ASCII bytes, and in JSON
    /// the backslashes before a `/`, a `u` or the end of `src`.
    #[inline(always)]
    fn special(&self, src: &[u8], at: usize, len: usize, text: Text) -> u64 {
        if text != Text::Json {
            return self.high;
        }
        let after = src.get(at + len).is_none_or(|&b| b == b'/' || b == b'u');
        let next = (self.targets >> 1) | (u64::from(after) << (len - 1));
        self.high | (self.backslashes & next)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn groups_avx2(
    src: &[u8],
    dst: &mut [u8],
    base: usize,
    text: Text,
    lines: &mut Vec<u64>,
    special: &mut Vec<usize>,
) {
    groups(src, dst, base, text, lines, special, |s, d| {
        // SAFETY: this runs only where AVX2 was detected.
        unsafe { group_avx2(s, d) }
    });
}

/// Appends `base + at + i` for every bit `i` of `mask` (a backslash or a non-ASCII byte at
/// `src[at + i]`) whose byte [`hides`] a literal. The mask may hold more bits than that,
/// never fewer: [`hides`] decides.
pub(crate) fn push_special(
    mut mask: u64,
    src: &[u8],
    at: usize,
    base: usize,
    text: Text,
    out: &mut Vec<usize>,
) {
    while mask != 0 {
        let i = at + mask.trailing_zeros() as usize;
        if hides(src, i, text) {
            out.push(base + i);
        }
        mask &= mask - 1;
    }
}

/// The masks of up to 64 bytes, folding them into `dst`.
fn group_bytewise(src: &[u8], dst: &mut [u8]) -> Group {
    let mut g = Group::default();
    for (i, (&b, d)) in src.iter().zip(dst.iter_mut()).enumerate() {
        *d = b | (u8::from(b.wrapping_sub(b'A') < 26) << 5);
        g.lines |= u64::from(b == b'\n') << i;
        g.backslashes |= u64::from(b == b'\\') << i;
        g.targets |= u64::from(b == b'/' || b == b'u') << i;
        g.high |= u64::from(b >= 0x80) << i;
    }
    g
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn group_sse2(src: &[u8], dst: &mut [u8]) -> Group {
    use std::arch::x86_64::*;
    assert!(src.len() == 64 && dst.len() == 64);
    let mut g = Group::default();
    // SAFETY: SSE2 is part of x86_64; the loads and stores stay within the 64 bytes
    // checked above.
    unsafe {
        let a = _mm_set1_epi8(b'A' as i8);
        // `x` in 0..26 unsigned is `x ^ 0x80` below `26 ^ 0x80` signed.
        let flip = _mm_set1_epi8(i8::MIN);
        let bound = _mm_set1_epi8((26u8 ^ 0x80) as i8);
        let case = _mm_set1_epi8(0x20);
        let newline = _mm_set1_epi8(b'\n' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let (slash, u) = (_mm_set1_epi8(b'/' as i8), _mm_set1_epi8(b'u' as i8));
        for j in 0..4 {
            let v = _mm_loadu_si128(src.as_ptr().add(16 * j).cast());
            let upper = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(v, a), flip), bound);
            let folded = _mm_or_si128(v, _mm_and_si128(upper, case));
            _mm_storeu_si128(dst.as_mut_ptr().add(16 * j).cast(), folded);
            let mask = |m: __m128i| u64::from(_mm_movemask_epi8(m) as u16) << (16 * j);
            g.lines |= mask(_mm_cmpeq_epi8(v, newline));
            g.backslashes |= mask(_mm_cmpeq_epi8(v, backslash));
            g.targets |= mask(_mm_or_si128(_mm_cmpeq_epi8(v, slash), _mm_cmpeq_epi8(v, u)));
            g.high |= mask(v);
        }
    }
    g
}

/// [`group_sse2`] 32 bytes a step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn group_avx2(src: &[u8], dst: &mut [u8]) -> Group {
    use std::arch::x86_64::*;
    assert!(src.len() == 64 && dst.len() == 64);
    let mut g = Group::default();
    let a = _mm256_set1_epi8(b'A' as i8);
    let flip = _mm256_set1_epi8(i8::MIN);
    let bound = _mm256_set1_epi8((26u8 ^ 0x80) as i8);
    let case = _mm256_set1_epi8(0x20);
    let newline = _mm256_set1_epi8(b'\n' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let (slash, u) = (_mm256_set1_epi8(b'/' as i8), _mm256_set1_epi8(b'u' as i8));
    for j in 0..2 {
        // SAFETY: within the 64 bytes checked above.
        let v = unsafe { _mm256_loadu_si256(src.as_ptr().add(32 * j).cast()) };
        // Signed `bound > x ^ 0x80`: `x` below 26 unsigned.
        let upper = _mm256_cmpgt_epi8(bound, _mm256_xor_si256(_mm256_sub_epi8(v, a), flip));
        let folded = _mm256_or_si256(v, _mm256_and_si256(upper, case));
        // SAFETY: within the 64 bytes checked above.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().add(32 * j).cast(), folded) };
        let mask = |m: __m256i| u64::from(_mm256_movemask_epi8(m) as u32) << (32 * j);
        g.lines |= mask(_mm256_cmpeq_epi8(v, newline));
        g.backslashes |= mask(_mm256_cmpeq_epi8(v, backslash));
        g.targets |= mask(_mm256_or_si256(
            _mm256_cmpeq_epi8(v, slash),
            _mm256_cmpeq_epi8(v, u),
        ));
        g.high |= mask(v);
    }
    g
}

/// For every 64 bytes of `src` (the last group may be shorter), appends to `out[n]` a
/// mask with bit `i` set where byte `i` of the group is `bytes[n]`.
pub fn byte_masks<const N: usize>(src: &[u8], bytes: [u8; N], out: &mut [Vec<u64>; N]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, just checked.
        unsafe { byte_masks_avx2(src, &bytes, out) };
        return;
    }
    byte_masks_portable(src, &bytes, out);
}

/// [`byte_masks`] 32 bytes a step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn byte_masks_avx2<const N: usize>(src: &[u8], bytes: &[u8; N], out: &mut [Vec<u64>; N]) {
    use std::arch::x86_64::*;
    let wanted: [__m256i; N] = std::array::from_fn(|n| _mm256_set1_epi8(bytes[n] as i8));
    let whole = src.len() / 64 * 64;
    for o in out.iter_mut() {
        o.reserve(src.len().div_ceil(64));
    }
    let mut at = 0;
    while at < whole {
        prefetch(src, at);
        // SAFETY: at + 64 <= whole <= src.len().
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(src.as_ptr().add(at).cast()),
                _mm256_loadu_si256(src.as_ptr().add(at + 32).cast()),
            )
        };
        for n in 0..N {
            let a = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, wanted[n])) as u32;
            let b = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, wanted[n])) as u32;
            out[n].push(u64::from(a) | u64::from(b) << 32);
        }
        at += 64;
    }
    byte_masks_portable(&src[whole..], bytes, out);
}

fn byte_masks_portable<const N: usize>(src: &[u8], bytes: &[u8; N], out: &mut [Vec<u64>; N]) {
    let bytes = *bytes;
    for group in src.chunks(64) {
        let mut masks = [0u64; N];
        if group.len() == 64 {
            #[cfg(target_arch = "x86_64")]
            masks_sse2(group, &bytes, &mut masks);
            #[cfg(not(target_arch = "x86_64"))]
            masks_bytewise(group, &bytes, &mut masks);
        } else {
            masks_bytewise(group, &bytes, &mut masks);
        }
        for (o, m) in out.iter_mut().zip(masks) {
            o.push(m);
        }
    }
}

fn masks_bytewise<const N: usize>(group: &[u8], bytes: &[u8; N], masks: &mut [u64; N]) {
    for (i, &b) in group.iter().enumerate() {
        for (m, &t) in masks.iter_mut().zip(bytes) {
            *m |= u64::from(b == t) << i;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks_sse2<const N: usize>(group: &[u8], bytes: &[u8; N], masks: &mut [u64; N]) {
    use std::arch::x86_64::*;
    assert!(group.len() == 64);
    for j in 0..4 {
        // SAFETY: SSE2 is part of x86_64; the load stays within the 64 bytes checked above.
        unsafe {
            let v = _mm_loadu_si128(group.as_ptr().add(16 * j).cast());
            for (m, &t) in masks.iter_mut().zip(bytes) {
                let eq = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(t as i8))) as u16;
                *m |= u64::from(eq) << (16 * j);
            }
        }
    }
}

/// The positions of line ends given by `fold_classify`'s masks, in order, then `len`
/// once, as the end of a last line without a line end.
pub struct LineEnds<'a> {
    masks: &'a [u64],
    word: usize,
    bits: u64,
    len: usize,
    done: bool,
}

impl<'a> LineEnds<'a> {
    pub fn new(masks: &'a [u64], len: usize) -> LineEnds<'a> {
        LineEnds {
            masks,
            word: 0,
            bits: masks.first().copied().unwrap_or(0),
            len,
            done: false,
        }
    }
}

impl Iterator for LineEnds<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if self.bits != 0 {
                let at = self.word * 64 + self.bits.trailing_zeros() as usize;
                self.bits &= self.bits - 1;
                return Some(at);
            }
            self.word += 1;
            match self.masks.get(self.word) {
                Some(&m) => self.bits = m,
                None if self.done => return None,
                None => {
                    self.done = true;
                    return Some(self.len);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_masks_mark_every_byte_looked_for() {
        let t = text();
        let mut out = [Vec::new(), Vec::new()];
        byte_masks(&t, [b'"', b'.'], &mut out);
        for (n, want) in [b'"', b'.'].into_iter().enumerate() {
            let got: Vec<usize> = LineEnds::new(&out[n], usize::MAX)
                .take_while(|&p| p != usize::MAX)
                .collect();
            let expected: Vec<usize> = memchr::memchr_iter(want, &t).collect();
            assert_eq!(got, expected);
        }
    }

    fn text() -> Vec<u8> {
        let mut t = Vec::new();
        for i in 0..3000u32 {
            t.extend_from_slice(format!("{{\"A\":\"Host-{i}.EXAMPLE.org\"}}").as_bytes());
            match i % 11 {
                0 => t.extend_from_slice("\\u00e9 é Ü @[`{".as_bytes()),
                1 => t.push(0x7f),
                2 => t.extend_from_slice(b"c:\\\\users\\/x\\n\\\\\\u0041\\\\/"),
                _ => {}
            }
            if i % 3 != 0 {
                t.push(b'\n');
            }
        }
        t
    }

    #[test]
    fn the_fast_pass_gives_what_a_byte_at_a_time_gives() {
        let t = text();
        for len in [0, 1, 63, 64, 65, 1000, t.len()] {
            let src = &t[..len];
            let mut dst = vec![0; len];
            let (mut lines, mut special) = (Vec::new(), Vec::new());
            fold_classify(src, &mut dst, 7, Text::Json, &mut lines, &mut special);
            let folded: Vec<u8> = src
                .iter()
                .map(|&b| if b.is_ascii_uppercase() { b + 32 } else { b })
                .collect();
            assert_eq!(dst, folded);
            let ends: Vec<usize> = LineEnds::new(&lines, len).collect();
            let mut want: Vec<usize> = memchr::memchr_iter(b'\n', src).collect();
            want.push(len);
            assert_eq!(ends, want);
            // JSON: a backslash that starts an escape (after an even run of backslashes)
            // before `/`, `u` or the end, and non-ASCII bytes.
            let escape = |i: usize| {
                let before = src[..i].iter().rev().take_while(|&&b| b == b'\\').count();
                src[i] == b'\\' && (before % 2 == 0 || before == i)
            };
            let want: Vec<usize> = (0..len)
                .filter(|&i| {
                    src[i] >= 0x80
                        || (escape(i) && matches!(src.get(i + 1), None | Some(b'/' | b'u')))
                })
                .map(|i| i + 7)
                .collect();
            assert_eq!(special, want);
            // CSV: non-ASCII bytes only.
            let (mut csv_lines, mut csv_special) = (Vec::new(), Vec::new());
            fold_classify(
                src,
                &mut dst,
                7,
                Text::Csv,
                &mut csv_lines,
                &mut csv_special,
            );
            assert_eq!(csv_lines, lines);
            let want: Vec<usize> = (0..len)
                .filter(|&i| src[i] >= 0x80)
                .map(|i| i + 7)
                .collect();
            assert_eq!(csv_special, want);
            #[cfg(target_arch = "x86_64")]
            for g in src.chunks_exact(64) {
                let (mut fast, mut slow) = ([0; 64], [0; 64]);
                assert_eq!(group_sse2(g, &mut fast), group_bytewise(g, &mut slow));
                assert_eq!(fast, slow);
            }
        }
    }
}
