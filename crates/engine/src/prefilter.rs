//! Prefilter pushdown: literals that any line holding a matching row must contain, checked
//! on the raw bytes before a line is parsed, as a literal-prefiltered grep does.
//!
//! Derivation is conservative: it only looks through `has`, `has_cs`, `has_any`, `has_all`,
//! `contains`, `startswith`, `endswith`, `==`, `=~`, `in`, `in~` over string literals and
//! `let` lists, and `and`/`or` of those; anything else gives no prefilter. A line that it
//! cannot judge (one with a JSON escape that may spell a literal's character, `\/` or
//! `\uXXXX`, or with any non-ASCII byte, which case folding could turn into a literal's
//! letter) always goes to full evaluation. Matching ignores ASCII case, which is looser than
//! any operator above.

use crate::classify::Text;
use crate::exec::Evaluator;
use crate::value::Value;
use kql::Expr;
use regex::bytes::{Regex, RegexBuilder};

/// A compiled set of literals.
pub struct Prefilter {
    /// Each searches some of the literals, lower-cased, in lower-cased text; a line
    /// holding any of their matches passes.
    parts: Vec<Matcher>,
    literals: usize,
    /// The longest literal's length.
    longest: usize,
    /// For a few literals, the search fused with the classification of every byte, used
    /// where the processor allows (see `teddy`).
    teddy: Option<crate::teddy::Teddy>,
    /// Passes every line (see [`Prefilter::every_line`]).
    all: bool,
}

/// Text is lower-cased (ASCII) and searched in blocks of this many bytes, which stay in
/// cache between the two steps.
const BLOCK: usize = 64 << 10;

/// ASCII lower-casing of `src` into `dst`, in a form the compiler vectorises.
fn fold_into(src: &[u8], dst: &mut [u8]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s | (u8::from(s.wrapping_sub(b'A') < 26) << 5);
    }
}

enum Matcher {
    Regex(Regex),
    Grams(crate::grams::Grams),
    Automaton(aho_corasick::AhoCorasick),
}

/// Up to this many literals the regex engine's vectorised search is used.
const REGEX_MAX_LITERALS: usize = 64;

impl Matcher {
    /// The best matcher for one set of lower-cased literals (see [`Prefilter::new`]).
    fn new(literals: &[String]) -> Option<Matcher> {
        if literals.len() <= REGEX_MAX_LITERALS {
            let pattern = format!(
                "(?-u){}",
                literals
                    .iter()
                    .map(|l| regex::escape(l))
                    .collect::<Vec<_>>()
                    .join("|")
            );
            let re = RegexBuilder::new(&pattern)
                .unicode(false)
                .size_limit(1 << 28)
                .dfa_size_limit(1 << 28)
                .build()
                .ok()?;
            return Some(Matcher::Regex(re));
        }
        if let Some(grams) = crate::grams::Grams::new(literals) {
            return Some(Matcher::Grams(grams));
        }
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            // A DFA is fastest but its memory grows with the literals: beyond tens of
            // thousands, the compact NFA keeps a million-indicator pack under 2 GB.
            .kind(Some(if literals.len() <= 20_000 {
                aho_corasick::AhoCorasickKind::DFA
            } else {
                aho_corasick::AhoCorasickKind::ContiguousNFA
            }))
            .build(literals)
            .ok()?;
        Some(Matcher::Automaton(ac))
    }

    fn find(&self, buf: &[u8], out: &mut Vec<usize>) {
        match self {
            Matcher::Regex(re) => out.extend(re.find_iter(buf).map(|m| m.start())),
            Matcher::Grams(g) => g.find_all(buf, out),
            Matcher::Automaton(ac) => out.extend(ac.find_iter(buf).map(|m| m.start())),
        }
    }
}

impl Prefilter {
    /// None when there is nothing to require (an empty literal would match everything).
    ///
    /// The text is lower-cased block by block and searched for the lower-cased literals:
    /// a case-insensitive search would look for every case variant of each literal's
    /// start, which makes the vectorised search 3 to 7 times slower than lower-casing
    /// first (measured on 7 and 9 literals over 600 MB).
    /// A few literals: an alternation of the escaped literals, which the regex engine
    /// turns into a vectorised literal search (what makes grep fast; an automaton was 4
    /// times slower). Many literals: sampled
    /// grams (see grams.rs), probing every `stride` bytes, which the shortest literals
    /// bound; so the few literals too short for the stride chosen are searched apart, by
    /// the regex engine. Measured on 3,358 ThreatFox literals, grams search twice as fast
    /// as an automaton, and build a million literals in a quarter of a second where the
    /// automaton took 25 s. (The regex engine's lazy DFA thrashes on thousands of
    /// case-insensitive alternatives: 20 s against 3 s.) An automaton is left for sets
    /// with many literals shorter than a gram.
    /// A literal holding a quote, a backslash or a control character gives none: those are
    /// the characters that escapes spell, which the search of raw bytes does not decode.
    pub fn new(literals: &[String]) -> Option<Prefilter> {
        if literals.is_empty()
            || literals.iter().any(|l| {
                l.is_empty()
                    || !l.is_ascii()
                    || l.bytes()
                        .any(|b| b == b'"' || b == b'\\' || b.is_ascii_control())
            })
        {
            return None;
        }
        let mut literals: Vec<String> = literals.iter().map(|l| l.to_ascii_lowercase()).collect();
        if literals.len() <= REGEX_MAX_LITERALS {
            // A line holding a literal holds every literal inside it: searching for the
            // inner one alone finds the same lines with fewer alternatives.
            literals.sort_by_key(String::len);
            literals.dedup();
            let mut kept: Vec<String> = Vec::new();
            for l in literals {
                if !kept.iter().any(|k| l.contains(k.as_str())) {
                    kept.push(l);
                }
            }
            literals = kept;
        }
        let literals = &literals[..];
        let mut parts = Vec::new();
        if literals.len() <= REGEX_MAX_LITERALS {
            parts.push(Matcher::new(literals)?);
        } else {
            // The widest stride that leaves few enough literals apart for the regex engine.
            let stride = [8, 4, 2, 1]
                .into_iter()
                .find(|&s| {
                    literals
                        .iter()
                        .filter(|l| crate::grams::Grams::stride_for(l.len()) < s)
                        .count()
                        <= REGEX_MAX_LITERALS
                })
                .unwrap_or(1);
            let (long, short): (Vec<String>, Vec<String>) = literals
                .iter()
                .cloned()
                .partition(|l| crate::grams::Grams::stride_for(l.len()) >= stride);
            for set in [long, short] {
                if !set.is_empty() {
                    parts.push(Matcher::new(&set)?);
                }
            }
        }
        Some(Prefilter {
            parts,
            literals: literals.len(),
            longest: literals.iter().map(String::len).max().unwrap_or(1),
            teddy: crate::teddy::Teddy::new(literals),
            all: false,
        })
    }

    /// A prefilter that passes every line: the scan then only splits the text into lines
    /// and checks their shape, so that a query with nothing to search for still reads its
    /// file on every core.
    pub fn all() -> Prefilter {
        Prefilter {
            parts: Vec::new(),
            literals: 0,
            longest: 1,
            teddy: None,
            all: true,
        }
    }

    /// Whether every line passes.
    pub fn every_line(&self) -> bool {
        self.all
    }

    pub fn len(&self) -> usize {
        self.literals
    }

    pub fn is_empty(&self) -> bool {
        self.literals == 0
    }

    /// Where the literals occur in a buffer (the start of each match, unordered).
    pub fn matches(&self, buf: &[u8]) -> Vec<usize> {
        // Each block is folded with the bytes that a match starting in it can reach.
        let overlap = self.longest - 1;
        let mut folded = vec![0u8; BLOCK.min(buf.len()) + overlap];
        let mut found = Vec::new();
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let end = (at + BLOCK).min(buf.len());
            let reach = (end + overlap).min(buf.len());
            let text = &mut folded[..reach - at];
            fold_into(&buf[at..reach], text);
            found.clear();
            for m in &self.parts {
                m.find(text, &mut found);
            }
            out.extend(found.iter().filter(|&&p| p < end - at).map(|&p| p + at));
            at = end;
        }
        out
    }

    /// Searches `buf` as [`Prefilter::matches`] does, classifying its bytes in the same
    /// pass (see `classify`): appends to `marks` the start of every match and the position
    /// of every byte the prefilter cannot judge in that kind of text (unordered), and to
    /// `lines` a line-end bitmask per 64 bytes.
    pub fn scan(&self, buf: &[u8], text: Text, marks: &mut Vec<usize>, lines: &mut Vec<u64>) {
        if self.all {
            let mut ends = [std::mem::take(lines)];
            crate::classify::byte_masks(buf, [b'\n'], &mut ends);
            *lines = std::mem::take(&mut ends[0]);
            return;
        }
        if let Some(t) = &self.teddy {
            if t.scan(buf, text, marks, lines) {
                return;
            }
        }
        let overlap = self.longest - 1;
        let mut folded = vec![0u8; BLOCK.min(buf.len()) + overlap];
        let mut found = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let end = (at + BLOCK).min(buf.len());
            let reach = (end + overlap).min(buf.len());
            let lower = &mut folded[..reach - at];
            let (own, ahead) = lower.split_at_mut(end - at);
            crate::classify::fold_classify(&buf[at..end], own, at, text, lines, marks);
            fold_into(&buf[end..reach], ahead);
            found.clear();
            for m in &self.parts {
                m.find(lower, &mut found);
            }
            marks.extend(found.iter().filter(|&&p| p < end - at).map(|&p| p + at));
            at = end;
        }
    }

    /// False only when no row on this line, of that kind of text, can match.
    pub fn may_match(&self, line: &[u8], text: Text) -> bool {
        if self.all {
            return true;
        }
        let special = |i: usize| line[i] == b'\\' || line[i] >= 0x80;
        if (0..line.len()).any(|i| special(i) && crate::classify::hides(line, i, text)) {
            return true;
        }
        !self.matches(line).is_empty()
    }
}

/// The literals a row matching `e` must contain, if they can be derived. `schema` is the
/// table's documented schema, when known: a column typed as a datetime or a real may be
/// written in the file in another form than the literal, so it gives no literal.
pub fn derive(e: &Expr, eval: &Evaluator, schema: Option<&[crate::Column]>) -> Option<Vec<String>> {
    let textual = |e: &Expr| -> bool {
        let Expr::Name {
            name,
            wildcard: false,
            ..
        } = e.unparen()
        else {
            return false;
        };
        match schema.and_then(|s| s.iter().find(|c| &c.name == name)) {
            Some(c) => matches!(
                c.ty,
                crate::Type::String
                    | crate::Type::Dynamic
                    | crate::Type::Guid
                    | crate::Type::Bool
                    | crate::Type::Int
                    | crate::Type::Long
            ),
            None => true,
        }
    };
    derive_with(e, eval, &textual)
}

fn derive_with(e: &Expr, eval: &Evaluator, textual: &dyn Fn(&Expr) -> bool) -> Option<Vec<String>> {
    let derive = |e: &Expr, eval: &Evaluator| derive_with(e, eval, textual);
    let is_column = |e: &Expr| textual(e);
    match e {
        Expr::Paren(inner, _) => derive(inner, eval),
        Expr::Binary { op, lhs, rhs, .. } => match op.as_str() {
            "or" => {
                let mut a = derive(lhs, eval)?;
                a.extend(derive(rhs, eval)?);
                Some(a)
            }
            "and" => match (derive(lhs, eval), derive(rhs, eval)) {
                (Some(a), Some(b)) => Some(if a.len() <= b.len() { a } else { b }),
                (a, b) => a.or(b),
            },
            "has" | "has_cs" | "contains" | "contains_cs" | "startswith" | "startswith_cs"
            | "endswith" | "endswith_cs" | "==" | "=~" | "hasprefix" | "hassuffix" => {
                if !is_column(lhs) {
                    return None;
                }
                strings(rhs, eval)
            }
            "in" | "in~" | "has_any" | "has_all" => {
                if !is_column(lhs) {
                    return None;
                }
                strings(rhs, eval)
            }
            _ => None,
        },
        _ => None,
    }
}

/// String values of a literal, a list of literals, or a `let`-bound dynamic array.
fn strings(e: &Expr, eval: &Evaluator) -> Option<Vec<String>> {
    let one = |e: &Expr| -> Option<Vec<String>> {
        match e.unparen() {
            Expr::Literal(kql::Literal::String(s), _) => Some(vec![s.clone()]),
            Expr::Name { name, .. } => match eval.get(name)? {
                Value::Dynamic(j) => j
                    .as_array()?
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>(),
                Value::String(s) => Some(vec![s.to_string()]),
                _ => None,
            },
            Expr::Dynamic(..) => None,
            _ => None,
        }
    };
    match e.unparen() {
        Expr::List(items, _) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(one(i)?);
            }
            Some(out)
        }
        other => one(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;
    use std::sync::Arc;

    fn literals(q: &str) -> Option<Vec<String>> {
        let query = kql::parse(q).unwrap();
        let (last, lets) = query.statements.split_last().unwrap();
        let ev = Evaluator::new(lets, Arc::new(Catalog::new())).unwrap();
        let kql::StatementKind::Expr(e) = &last.kind else {
            panic!()
        };
        derive(e, &ev, None)
    }

    #[test]
    fn derives_literals_conservatively() {
        assert_eq!(
            literals("let l = dynamic(['a.com', 'b.com']); Name has_any (l)").unwrap(),
            vec!["a.com", "b.com"]
        );
        assert_eq!(
            literals("A == '1.2.3.4' or B in ('x', 'y')").unwrap(),
            vec!["1.2.3.4", "x", "y"]
        );
        assert_eq!(literals("A has 'abc' and B == 5").unwrap(), vec!["abc"]);
        assert_eq!(
            literals("A has 'abc' or B == 5"),
            None,
            "an OR branch without literals"
        );
        assert_eq!(literals("not(A has 'abc')"), None);
        assert_eq!(literals("A != 'abc'"), None);
        assert_eq!(literals("strcat(A, B) in ('ab')"), None);
    }

    #[test]
    fn lines_it_cannot_judge_go_to_full_evaluation() {
        let p = Prefilter::new(&["beroniw.com/x".to_string()]).unwrap();
        let json = |line: &str| p.may_match(line.as_bytes(), Text::Json);
        assert!(json(r#"{"Url":"CDN.BERONIW.COM/X"}"#));
        assert!(!json(r#"{"Url":"example.org"}"#));
        assert!(json(r#"{"Url":"beroniw.com\/x"}"#), "an escaped slash");
        assert!(json(r#"{"Url":"\u0062eroniw.com/x"}"#), "a \\u escape");
        assert!(
            json(r#"{"Url":"\\\u0062eroniw.com/x"}"#),
            "an escape after a pair"
        );
        assert!(json(r#"{"Url":"x\"#), "a backslash at the end");
        assert!(json("{\"Url\":\"bücher.de\"}"), "non-ASCII");
        // Escapes that spell a backslash, a quote or a control character hide nothing.
        assert!(!json(r#"{"Path":"c:\\users\\x","Q":"\"a\"\t"}"#));
        assert!(!json(r#"{"Path":"c:\\\\/"}"#));
        // In CSV a backslash is an ordinary byte.
        assert!(!p.may_match(br"c:\u0062eroniw.com\/x,1", Text::Csv));
        assert!(p.may_match("bücher.de,1".as_bytes(), Text::Csv));
        assert!(Prefilter::new(&["".to_string()]).is_none());
        for l in ["a\"b", "a\\b", "a\tb", "a\nb"] {
            assert!(Prefilter::new(&[l.to_string()]).is_none(), "{l:?}");
        }
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;
    use crate::{Catalog, Column, Type};
    use std::sync::Arc;

    /// Every occurrence is found, in any case and across the blocks the text is folded
    /// in, whichever matchers the set is split between: a few literals (regex), many
    /// (grams with the short ones apart), many short ones (automaton).
    #[test]
    fn finds_what_a_plain_search_finds() {
        let sets: Vec<Vec<String>> = vec![
            vec!["91.92.34.228".into(), "Beroniw.com".into()],
            (0..200)
                .map(|i| format!("host-{i}.evil.example"))
                .chain(["a.io".to_string(), "1.2.3.4".to_string()])
                .collect(),
            (0..100).map(|i| format!("x{i}.io")).collect(),
            // Literals inside others, which the search leaves out.
            vec![
                "https://beroniw.com/hwkOP5".into(),
                "beroniw.com".into(),
                "http://91.92.34.228/test22.txt".into(),
                "91.92.34.228".into(),
                "BERONIW.COM".into(),
            ],
        ];
        for lits in sets {
            let p = Prefilter::new(&lits).unwrap();
            let mut hay = Vec::new();
            for i in 0..12_000usize {
                let l = &lits[i * 13 % lits.len()];
                let l = if i % 2 == 0 {
                    l.to_uppercase()
                } else {
                    l.clone()
                };
                hay.extend_from_slice(format!("{}{l}\n", "z".repeat(i % 17)).as_bytes());
            }
            assert!(hay.len() > 2 * BLOCK);
            let mut got = p.matches(&hay);
            got.sort_unstable();
            got.dedup();
            let lower = hay.to_ascii_lowercase();
            let mut want: Vec<usize> = lits
                .iter()
                .flat_map(|l| {
                    memchr::memmem::find_iter(&lower, l.to_ascii_lowercase().as_bytes())
                        .collect::<Vec<_>>()
                })
                .collect();
            want.sort_unstable();
            want.dedup();
            // Leftmost-first matchers report one of two overlapping literals: every line
            // with a literal must still have a mark.
            let lines = |v: &[usize]| -> std::collections::BTreeSet<usize> {
                v.iter()
                    .map(|&p| memchr::memrchr(b'\n', &hay[..p]).map_or(0, |i| i + 1))
                    .collect()
            };
            assert_eq!(lines(&got), lines(&want), "{} literals", lits.len());
            let (mut marks, mut masks) = (Vec::new(), Vec::new());
            p.scan(&hay, Text::Json, &mut marks, &mut masks);
            assert_eq!(lines(&marks), lines(&want), "scan, {} literals", lits.len());
            assert_eq!(masks.len(), hay.len().div_ceil(64));
        }
    }

    #[test]
    fn columns_typed_as_datetime_give_no_literal() {
        let q = kql::parse("T == '2026-06-20' or N == 'x'").unwrap();
        let kql::StatementKind::Expr(e) = &q.statements[0].kind else {
            panic!()
        };
        let ev = Evaluator::new(&[], Arc::new(Catalog::new())).unwrap();
        let schema = [
            Column {
                name: "T".into(),
                ty: Type::DateTime,
            },
            Column {
                name: "N".into(),
                ty: Type::String,
            },
        ];
        assert_eq!(derive(e, &ev, Some(&schema)), None);
        assert_eq!(derive(e, &ev, None).unwrap().len(), 2);
    }
}
