//! `in`, `in~`, `has_any` and `has_all` against a `let`-bound list of strings, compiled once
//! per list instead of walked for every row: a hash set for `in`, one of folded values for
//! `in~`, and one multi-pattern automaton over the folded needles for the term matching of
//! `has_any`/`has_all` (for very long lists, a lookup of the text's term-bounded spans). Each part is built on first use, so a list used only by `in` costs
//! one set. Semantics are those of the plain path in `eval.rs` (fold both sides, find
//! every occurrence, check term boundaries); this is only faster.

use crate::eval::{fold, has_term_at};
use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

pub struct StringList {
    list: Arc<Json>,
    exact: OnceLock<HashSet<String>>,
    folded: OnceLock<HashSet<String>>,
    needles: OnceLock<Needles>,
}

/// Lists shorter than this are matched directly.
const MIN_LIST: usize = 8;

thread_local! {
    /// Keyed by the list's address; the entry holds the list, so the address stays its own.
    static CACHE: RefCell<HashMap<usize, Arc<StringList>>> = RefCell::new(HashMap::new());
}

/// The compiled form of a dynamic array of strings, or None for short or mixed lists.
pub fn compiled(list: &Arc<Json>) -> Option<Arc<StringList>> {
    let key = Arc::as_ptr(list) as usize;
    if let Some(hit) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Some(hit);
    }
    let items = list.as_array()?;
    if items.len() < MIN_LIST || !items.iter().all(Json::is_string) {
        return None;
    }
    let compiled = Arc::new(StringList {
        list: list.clone(),
        exact: OnceLock::new(),
        folded: OnceLock::new(),
        needles: OnceLock::new(),
    });
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 100_000 {
            c.clear();
        }
        c.insert(key, compiled.clone());
    });
    Some(compiled)
}

impl StringList {
    fn strings(&self) -> impl Iterator<Item = &str> {
        self.list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
    }

    pub fn contains(&self, s: &str) -> bool {
        self.exact
            .get_or_init(|| self.strings().map(str::to_string).collect())
            .contains(s)
    }

    pub fn contains_folded(&self, s: &str) -> bool {
        self.folded
            .get_or_init(|| self.strings().map(fold).collect())
            .contains(&fold(s))
    }

    fn needles(&self) -> &Needles {
        self.needles.get_or_init(|| {
            let needles: Vec<String> = self.strings().map(fold).collect();
            let finder = if needles.len() > MAX_AUTOMATON {
                Finder::Terms(TermIndex::new(&needles))
            } else {
                match AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&needles)
                {
                    Ok(ac) => Finder::Automaton(ac),
                    Err(_) => Finder::Plain,
                }
            };
            Needles { needles, finder }
        })
    }

    /// The positions in the list of the values that `has` finds in `hay`, in list order.
    pub fn has_which(&self, hay: &str) -> Vec<usize> {
        let n = self.needles();
        let mut found = n.found(&fold(hay));
        found.sort_unstable();
        found.dedup();
        found
    }

    /// `has_any` (`all` false) or `has_all` (`all` true) over `hay`.
    pub fn has(&self, hay: &str, all: bool) -> bool {
        let n = self.needles();
        let hay = fold(hay);
        if !all {
            return n.any(&hay);
        }
        let found: HashSet<&str> = n
            .found(&hay)
            .into_iter()
            .map(|i| n.needles[i].as_str())
            .collect();
        found.len()
            == n.needles
                .iter()
                .map(String::as_str)
                .collect::<HashSet<_>>()
                .len()
    }
}

/// Above this many needles, `has` looks terms up instead of running an automaton, whose
/// building grows to seconds (10 s for 900,000 needles).
const MAX_AUTOMATON: usize = 20_000;

/// A list's folded values and how to find them.
struct Needles {
    needles: Vec<String>,
    finder: Finder,
}

enum Finder {
    Automaton(AhoCorasick),
    Terms(TermIndex),
    Plain,
}

impl Needles {
    /// The needles `has` finds in folded `hay` (any order, repeats possible).
    fn found(&self, hay: &str) -> Vec<usize> {
        let needles = &self.needles;
        let mut out: Vec<usize> = match &self.finder {
            Finder::Automaton(ac) => ac
                .find_overlapping_iter(hay)
                .filter(|m| has_term_at(hay, &needles[m.pattern().as_usize()], m.start()))
                .map(|m| m.pattern().as_usize())
                .collect(),
            Finder::Terms(t) => t.found(hay, needles),
            Finder::Plain => (0..needles.len())
                .filter(|&i| crate::eval::has_term(hay, &needles[i]))
                .collect(),
        };
        out.extend((0..needles.len()).filter(|&i| needles[i].is_empty()));
        out
    }

    fn any(&self, hay: &str) -> bool {
        match &self.finder {
            Finder::Automaton(ac) => {
                ac.find_overlapping_iter(hay)
                    .any(|m| has_term_at(hay, &self.needles[m.pattern().as_usize()], m.start()))
                    || self.needles.iter().any(String::is_empty)
            }
            _ => !self.found(hay).is_empty(),
        }
    }
}

/// The needles by their text, for lists too long for an automaton. A needle `has` finds
/// starts where a term starts or at a non-term character, and ends likewise, so only the
/// spans between such places of the text are looked up.
struct TermIndex {
    /// A needle's text to its first position; `next` chains the positions of equal ones.
    first: HashMap<String, u32>,
    next: Vec<u32>,
    shortest: usize,
    longest: usize,
}

impl TermIndex {
    fn new(needles: &[String]) -> TermIndex {
        let mut first: HashMap<String, u32> = HashMap::with_capacity(needles.len());
        let mut next = vec![u32::MAX; needles.len()];
        let mut last: HashMap<u32, u32> = HashMap::new();
        for (i, n) in needles.iter().enumerate() {
            if n.is_empty() {
                continue;
            }
            match first.get(n) {
                Some(&f) => {
                    let tail = last.get(&f).copied().unwrap_or(f);
                    next[tail as usize] = i as u32;
                    last.insert(f, i as u32);
                }
                None => {
                    first.insert(n.clone(), i as u32);
                }
            }
        }
        let lens = needles.iter().map(String::len).filter(|&l| l > 0);
        TermIndex {
            first,
            next,
            shortest: lens.clone().min().unwrap_or(0),
            longest: lens.max().unwrap_or(0),
        }
    }

    fn found(&self, hay: &str, needles: &[String]) -> Vec<usize> {
        let term = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let mut starts = Vec::new();
        let mut ends = Vec::new();
        let mut prev: Option<char> = None;
        for (i, c) in hay.char_indices() {
            if !term(prev) || !term(Some(c)) {
                starts.push(i);
                if i > 0 {
                    ends.push(i);
                }
            }
            prev = Some(c);
        }
        ends.push(hay.len());
        let mut out = Vec::new();
        let mut lo = 0;
        for &s in &starts {
            while lo < ends.len() && ends[lo] < s + self.shortest {
                lo += 1;
            }
            for &e in ends[lo..].iter().take_while(|&&e| e <= s + self.longest) {
                let Some(&f) = self.first.get(&hay[s..e]) else {
                    continue;
                };
                if !has_term_at(hay, &needles[f as usize], s) {
                    continue;
                }
                let mut i = f;
                while i != u32::MAX {
                    out.push(i as usize);
                    i = self.next[i as usize];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The term lookup used for very long lists finds what the plain search finds.
    #[test]
    fn term_lookup_equals_the_plain_search() {
        let needles: Vec<String> = [
            "beroniw.com",
            "cdn.beroniw.com",
            "91.92.34.228",
            "/hwkop5",
            "a",
            "müller",
            ".com",
            "x-y",
            "beroniw.com",
            "https://beroniw.com/hwkop5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let terms = Needles {
            needles: needles.clone(),
            finder: Finder::Terms(TermIndex::new(&needles)),
        };
        let plain = Needles {
            needles,
            finder: Finder::Plain,
        };
        for hay in [
            "cdn.beroniw.com",
            "xberoniw.com beroniw.community",
            "https://beroniw.com/hwkop5?x=1",
            "191.92.34.228 91.92.34.228:80",
            "a b",
            "herr müller.de",
            "x-y-z",
            "",
        ] {
            let mut a = terms.found(hay);
            let mut b = plain.found(hay);
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{hay}");
        }
    }
}
