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

/// A keyed hash of (kind, value): eight bytes a step, seeded per set so that a feed
/// crafted to collide on one run does not collide on the next. SipHash, the standard
/// library's, cost a tenth of the time of reading a million-entry feed.
#[derive(Debug, Clone)]
struct KeyHasher {
    seed: u64,
}

impl Default for KeyHasher {
    fn default() -> KeyHasher {
        KeyHasher {
            seed: RandomState::new().hash_one(0x1f0c_u64) | 1,
        }
    }
}

impl KeyHasher {
    fn hash(&self, kind: Kind, value: &str) -> u64 {
        const M: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes = value.as_bytes();
        let mut h = self.seed ^ (kind as u64 + 1).wrapping_mul(M) ^ bytes.len() as u64;
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
            h = (h ^ w).wrapping_mul(M).rotate_left(31);
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(M);
        // Final mix (murmur3's), so that every input bit reaches the low bits the table uses.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
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
    hasher: KeyHasher,
}

impl IndicatorSet {
    pub fn new() -> IndicatorSet {
        IndicatorSet::default()
    }

    /// Adds an indicator, merging it into an entry with the same kind and value: the highest
    /// confidence, the earliest first seen, the latest last seen, and every tag, source,
    /// family and flag of both. Fields only one side has are kept.
    pub fn add(&mut self, ind: Indicator) {
        let h = self.hasher.hash(ind.kind, &ind.value);
        match find(
            &self.items,
            &self.index,
            &self.chain,
            h,
            ind.kind,
            &ind.value,
        ) {
            Some(at) => merge_into(&mut self.items[at], ind),
            None => {
                let prev = self.index.insert(h, self.items.len());
                self.chain.push(prev);
                self.items.push(ind);
            }
        }
    }

    /// Adds indicators in order, as [`IndicatorSet::add`] does one. Into an empty set the
    /// list is taken over in place: a feed of millions is neither copied nor held twice.
    pub fn extend(&mut self, inds: impl IntoIterator<Item = Indicator>) {
        if !self.items.is_empty() {
            let inds = inds.into_iter();
            let more = inds.size_hint().0;
            self.items.reserve(more);
            self.chain.reserve(more);
            self.index.reserve(more);
            for i in inds {
                self.add(i);
            }
            return;
        }
        let mut items: Vec<Indicator> = inds.into_iter().collect();
        self.index.reserve(items.len());
        self.chain.reserve(items.len());
        // items[..kept] are distinct and indexed; a later duplicate is merged into its
        // first appearance and its slot left to be cut off.
        let mut kept = 0;
        for r in 0..items.len() {
            let h = self.hasher.hash(items[r].kind, &items[r].value);
            let (head, tail) = items.split_at_mut(r);
            let found = find(
                &head[..kept],
                &self.index,
                &self.chain,
                h,
                tail[0].kind,
                &tail[0].value,
            );
            match found {
                Some(at) => merge_into(&mut head[at], std::mem::replace(&mut tail[0], hollow())),
                None => {
                    items.swap(kept, r);
                    let prev = self.index.insert(h, kept);
                    self.chain.push(prev);
                    kept += 1;
                }
            }
        }
        items.truncate(kept);
        self.items = items;
    }

    /// Adds every indicator of `other`, as [`IndicatorSet::extend`] does; into an empty set
    /// `other` is taken over whole.
    pub fn append(&mut self, other: IndicatorSet) {
        if self.items.is_empty() {
            *self = other;
        } else {
            self.extend(other.items);
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
            let h = self.hasher.hash(i.kind, &i.value);
            let prev = self.index.insert(h, self.items.len());
            self.chain.push(prev);
            self.items.push(i);
        }
        before - self.items.len()
    }

    pub fn get(&self, kind: Kind, value: &str) -> Option<&Indicator> {
        let h = self.hasher.hash(kind, value);
        find(&self.items, &self.index, &self.chain, h, kind, value).map(|i| &self.items[i])
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

/// The item with this kind and value among `items`, following the hash's chain.
fn find(
    items: &[Indicator],
    index: &HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    chain: &[Option<usize>],
    h: u64,
    kind: Kind,
    value: &str,
) -> Option<usize> {
    let mut at = index.get(&h).copied();
    while let Some(i) = at {
        if items[i].kind == kind && items[i].value == value {
            return Some(i);
        }
        at = chain[i];
    }
    None
}

/// Merges `ind` into `into`, which has the same kind and value.
fn merge_into(into: &mut Indicator, ind: Indicator) {
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

/// A placeholder left where a merged duplicate was; it owns nothing.
fn hollow() -> Indicator {
    Indicator {
        value: String::new(),
        kind: Kind::Domain,
        threat_type: None,
        malware: Vec::new(),
        confidence: None,
        first_seen: None,
        last_seen: None,
        reference: None,
        tags: Vec::new(),
        reporter: None,
        sources: Vec::new(),
        flags: Vec::new(),
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
        assert_eq!(m.tag_names(), vec!["x", "y"]);
        assert_eq!(m.malware_names(), vec!["Alpha", "Beta"]);
        assert_eq!(
            m.sources.iter().map(|s| s.line).collect::<Vec<_>>(),
            vec![1, 9]
        );
        assert_eq!(set.iter().next().unwrap().value, "first.com");
    }

    #[test]
    fn extend_merges_duplicates_in_order_whether_the_set_is_empty_or_not() {
        let list = || ["a.com", "b.com", "a.com", "c.com", "b.com", "a.com"];
        let mut taken = IndicatorSet::new();
        taken.extend(list().iter().enumerate().map(|(n, v)| ind(v, n)));
        let mut added = IndicatorSet::new();
        for (n, v) in list().iter().enumerate() {
            added.add(ind(v, n));
        }
        assert_eq!(
            taken.iter().collect::<Vec<_>>(),
            added.iter().collect::<Vec<_>>()
        );
        let lines = |set: &IndicatorSet, v: &str| -> Vec<usize> {
            let i = set.get(Kind::Domain, v).unwrap();
            i.sources.iter().map(|s| s.line).collect()
        };
        assert_eq!(lines(&taken, "a.com"), vec![0, 2, 5]);
        assert_eq!(lines(&taken, "b.com"), vec![1, 4]);
        let values: Vec<&str> = taken.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, vec!["a.com", "b.com", "c.com"]);
        taken.extend([ind("c.com", 9), ind("d.com", 10)]);
        assert_eq!(lines(&taken, "c.com"), vec![3, 9]);
        assert_eq!(taken.len(), 4);
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
