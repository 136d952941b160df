//! `in`, `in~`, `has_any` and `has_all` against a `let`-bound list of strings, compiled once
//! per list instead of walked for every row: a hash set for `in`, one of folded values for
//! `in~`, and one multi-pattern automaton over the folded needles for the term matching of
//! `has_any`/`has_all`. Each part is built on first use, so a list used only by `in` costs
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
    needles: OnceLock<(Vec<String>, Option<AhoCorasick>)>,
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

    fn needles(&self) -> &(Vec<String>, Option<AhoCorasick>) {
        self.needles.get_or_init(|| {
            let needles: Vec<String> = self.strings().map(fold).collect();
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&needles)
                .ok();
            (needles, ac)
        })
    }

    /// The positions in the list of the values that `has` finds in `hay`, in list order.
    pub fn has_which(&self, hay: &str) -> Vec<usize> {
        let (needles, automaton) = self.needles();
        let hay = fold(hay);
        let mut found: Vec<usize> = match automaton {
            Some(ac) => ac
                .find_overlapping_iter(&hay)
                .filter(|m| has_term_at(&hay, &needles[m.pattern().as_usize()], m.start()))
                .map(|m| m.pattern().as_usize())
                .collect(),
            None => (0..needles.len())
                .filter(|&i| crate::eval::has_term(&hay, &needles[i]))
                .collect(),
        };
        found.extend((0..needles.len()).filter(|&i| needles[i].is_empty()));
        found.sort_unstable();
        found.dedup();
        found
    }

    /// `has_any` (`all` false) or `has_all` (`all` true) over `hay`.
    pub fn has(&self, hay: &str, all: bool) -> bool {
        let (needles, automaton) = self.needles();
        let hay = fold(hay);
        let Some(ac) = automaton else {
            let mut it = needles.iter();
            return if all {
                it.all(|n| crate::eval::has_term(&hay, n))
            } else {
                it.any(|n| crate::eval::has_term(&hay, n))
            };
        };
        let mut found: HashSet<&str> = HashSet::new();
        for m in ac.find_overlapping_iter(&hay) {
            let needle = &needles[m.pattern().as_usize()];
            if has_term_at(&hay, needle, m.start()) {
                if !all {
                    return true;
                }
                found.insert(needle);
            }
        }
        if all {
            found.len()
                == needles
                    .iter()
                    .map(String::as_str)
                    .collect::<HashSet<_>>()
                    .len()
        } else {
            needles.iter().any(|n| n.is_empty())
        }
    }
}
