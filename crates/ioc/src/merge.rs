//! Merging: the same indicator from several feeds, or listed twice, becomes one entry.

use crate::{Indicator, Kind};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// The index's keys are hashes already: they are used as they are.
#[derive(Debug, Default, Clone)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; any other input still gets a usable hash.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Indicators keyed by kind and normalised value, in order of first appearance.
///
/// The index maps a hash of (kind, value) to the newest item with that hash, and `chain`
/// links each item to the previous one with the same hash: no key is copied, which matters
/// for feeds of millions of indicators.
#[derive(Debug, Default, Clone)]
pub struct IndicatorSet {
    items: Vec<Indicator>,
    index: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    chain: Vec<Option<usize>>,
    hasher: RandomState,
}

impl IndicatorSet {
    pub fn new() -> IndicatorSet {
        IndicatorSet::default()
    }

    /// Adds an indicator, merging it into an entry with the same kind and value: the highest
    /// confidence, the earliest first seen, the latest last seen, and every tag, source,
    /// family and flag of both. Fields only one side has are kept.
    pub fn add(&mut self, ind: Indicator) {
        let h = self.hasher.hash_one((ind.kind, ind.value.as_str()));
        let Some(at) = self.find(h, ind.kind, &ind.value) else {
            let prev = self.index.insert(h, self.items.len());
            self.chain.push(prev);
            self.items.push(ind);
            return;
        };
        let into = &mut self.items[at];
        into.confidence = into.confidence.max(ind.confidence);
        into.first_seen = match (into.first_seen, ind.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        into.last_seen = into.last_seen.max(ind.last_seen);
        if into.threat_type.is_none() {
            into.threat_type = ind.threat_type;
        }
        if into.reference.is_none() {
            into.reference = ind.reference;
        }
        if into.reporter.is_none() {
            into.reporter = ind.reporter;
        }
        for m in ind.malware {
            if !into
                .malware
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&m.name))
            {
                into.malware.push(m);
            }
        }
        extend_unique(&mut into.tags, ind.tags);
        extend_unique(&mut into.sources, ind.sources);
        extend_unique(&mut into.flags, ind.flags);
    }

    fn find(&self, h: u64, kind: Kind, value: &str) -> Option<usize> {
        let mut at = self.index.get(&h).copied();
        while let Some(i) = at {
            if self.items[i].kind == kind && self.items[i].value == value {
                return Some(i);
            }
            at = self.chain[i];
        }
        None
    }

    pub fn extend(&mut self, inds: impl IntoIterator<Item = Indicator>) {
        let inds = inds.into_iter();
        let more = inds.size_hint().0;
        self.items.reserve(more);
        self.chain.reserve(more);
        self.index.reserve(more);
        for i in inds {
            self.add(i);
        }
    }

    /// Keeps the indicators `keep` accepts; returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&Indicator) -> bool) -> usize {
        let before = self.items.len();
        let keeps: Vec<bool> = self.items.iter().map(&mut keep).collect();
        if keeps.iter().all(|&k| k) {
            return 0;
        }
        let kept: Vec<Indicator> = std::mem::take(&mut self.items)
            .into_iter()
            .zip(keeps)
            .filter_map(|(i, k)| k.then_some(i))
            .collect();
        self.index.clear();
        self.chain.clear();
        // The items are distinct already: only the index is rebuilt.
        for i in kept {
            let h = self.hasher.hash_one((i.kind, i.value.as_str()));
            let prev = self.index.insert(h, self.items.len());
            self.chain.push(prev);
            self.items.push(i);
        }
        before - self.items.len()
    }

    pub fn get(&self, kind: Kind, value: &str) -> Option<&Indicator> {
        let h = self.hasher.hash_one((kind, value));
        self.find(h, kind, value).map(|i| &self.items[i])
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Indicator> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn into_vec(self) -> Vec<Indicator> {
        self.items
    }

    /// Family names across the set, in order of first appearance.
    pub fn families(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.items.iter().flat_map(|i| &i.malware) {
            if !out.iter().any(|x| x.eq_ignore_ascii_case(&m.name)) {
                out.push(m.name.clone());
            }
        }
        out
    }

    /// Kinds with their counts, most first, ties in order of first appearance.
    pub fn kind_counts(&self) -> Vec<(Kind, usize)> {
        let mut counts: Vec<(Kind, usize)> = Vec::new();
        for i in &self.items {
            match counts.iter_mut().find(|(k, _)| *k == i.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((i.kind, 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts
    }
}

impl<'a> IntoIterator for &'a IndicatorSet {
    type Item = &'a Indicator;
    type IntoIter = std::slice::Iter<'a, Indicator>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

fn extend_unique<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
    for x in from {
        if !into.contains(&x) {
            into.push(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Malware, Origin, Timestamp};

    fn ind(v: &str, line: usize) -> Indicator {
        Indicator::new(
            v.into(),
            Kind::Domain,
            Origin {
                file: "f".into(),
                line,
            },
        )
    }

    #[test]
    fn merges_duplicates_keeping_the_strongest_facts() {
        let mut a = ind("evil.com", 1);
        a.confidence = Some(50);
        a.first_seen = Timestamp::parse("2026-01-02");
        a.last_seen = Timestamp::parse("2026-01-05");
        a.tags = vec!["x".into()];
        a.malware = vec![Malware::named("Alpha").into()];
        let mut b = ind("evil.com", 9);
        b.confidence = Some(100);
        b.first_seen = Timestamp::parse("2026-01-01");
        b.last_seen = Timestamp::parse("2026-01-03");
        b.tags = vec!["x".into(), "y".into()];
        b.malware = vec![Malware::named("Beta").into()];
        let mut set = IndicatorSet::new();
        set.add(ind("first.com", 0));
        set.add(a);
        set.add(b);
        assert_eq!(set.len(), 2);
        let m = set.get(Kind::Domain, "evil.com").unwrap();
        assert_eq!(m.confidence, Some(100));
        assert_eq!(m.first_seen, Timestamp::parse("2026-01-01"));
        assert_eq!(m.last_seen, Timestamp::parse("2026-01-05"));
        assert_eq!(m.tags, vec!["x", "y"]);
        assert_eq!(m.malware_names(), vec!["Alpha", "Beta"]);
        assert_eq!(
            m.sources.iter().map(|s| s.line).collect::<Vec<_>>(),
            vec![1, 9]
        );
        assert_eq!(set.iter().next().unwrap().value, "first.com");
    }

    #[test]
    fn retain_keeps_order_and_the_index() {
        let mut set = IndicatorSet::new();
        set.extend(["a.com", "b.com", "c.com", "d.com"].map(|v| ind(v, 1)));
        assert_eq!(set.retain(|_| true), 0);
        assert_eq!(set.retain(|i| i.value != "b.com"), 1);
        let values: Vec<&str> = set.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, vec!["a.com", "c.com", "d.com"]);
        assert!(set.get(Kind::Domain, "b.com").is_none());
        set.add(ind("d.com", 7));
        assert_eq!(set.len(), 3);
        assert_eq!(set.get(Kind::Domain, "d.com").unwrap().sources.len(), 2);
    }

    #[test]
    fn counts_kinds_most_first_ties_in_order() {
        let mut set = IndicatorSet::new();
        for (v, k) in [
            ("a.com", Kind::Domain),
            ("http://a.com/", Kind::Url),
            ("b.com", Kind::Domain),
        ] {
            set.add(Indicator::new(
                v.into(),
                k,
                Origin {
                    file: "f".into(),
                    line: 1,
                },
            ));
        }
        set.add(Indicator::new(
            "1.1.1.1:1".into(),
            Kind::IpPort,
            Origin {
                file: "f".into(),
                line: 1,
            },
        ));
        assert_eq!(
            set.kind_counts(),
            vec![(Kind::Domain, 2), (Kind::Url, 1), (Kind::IpPort, 1)]
        );
    }
}
