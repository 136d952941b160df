//! Loading feeds for any command: read each file, report every rejected entry on stderr,
//! merge into one set, apply the selection flags, and say what happened in a summary line.

use crate::args::{FeedArgs, Verbosity};
use anyhow::{bail, Context};
use ioc::{FeedFormat, IndicatorSet, Kind, Timestamp};
use std::path::PathBuf;

/// A loaded, merged and filtered set, with what a report or hunt comment needs to know.
pub struct Loaded {
    pub set: IndicatorSet,
    /// The formats the feeds were in, in order of first appearance.
    pub formats: Vec<FeedFormat>,
}

pub fn load(
    paths: &[PathBuf],
    args: &FeedArgs,
    since: Option<&str>,
    v: Verbosity,
) -> anyhow::Result<Loaded> {
    let forced = args.feed_format.as_deref().and_then(FeedFormat::from_name);
    let kinds = args
        .kind
        .iter()
        .map(|k| Kind::from_name(k).with_context(|| format!("unknown indicator kind {k:?}")))
        .collect::<anyhow::Result<Vec<Kind>>>()?;
    let since = match since {
        Some(s) => {
            Some(Timestamp::parse(s).with_context(|| format!("invalid --since date {s:?}"))?)
        }
        None => None,
    };
    let mut set = IndicatorSet::new();
    let mut formats = Vec::new();
    let (mut accepted, mut rejected) = (0usize, 0usize);
    for path in paths {
        let read = ioc::read_feed_into(path, forced, &mut set)?;
        if !formats.contains(&read.format) {
            formats.push(read.format);
        }
        if v.verbose > 0 {
            eprintln!("iochunt: {}: read as {}", path.display(), read.format);
        }
        for r in &read.rejections {
            if !v.quiet {
                eprintln!("iochunt: {r}");
            }
        }
        accepted += read.accepted;
        rejected += read.rejections.len();
    }
    if args.strict && rejected > 0 {
        bail!("{rejected} entries rejected (--strict)");
    }
    let merged = set.len();
    let mut dropped = 0;
    if args.drop_flagged {
        dropped = set.retain(|i| !i.is_flagged());
    }
    set.retain(|i| {
        args.malware
            .as_deref()
            .is_none_or(|m| i.malware.iter().any(|f| f.matches(m)))
            && (kinds.is_empty() || kinds.contains(&i.kind))
            && args
                .min_confidence
                .is_none_or(|c| i.confidence.unwrap_or(0) >= c)
            && since.is_none_or(|s| i.last_seen.or(i.first_seen).is_some_and(|t| t >= s))
    });
    if !v.quiet {
        let flagged = set.iter().filter(|i| i.is_flagged()).count();
        let feeds = if paths.len() == 1 { "feed" } else { "feeds" };
        let mut line = format!(
            "iochunt: {} entries from {} {feeds}: {accepted} accepted, {rejected} rejected; \
             {merged} indicators after merging",
            accepted + rejected,
            paths.len(),
        );
        if dropped > 0 {
            line.push_str(&format!(", {dropped} flagged dropped"));
        }
        if set.len() + dropped != merged {
            line.push_str(&format!(", {} selected", set.len()));
        }
        if flagged > 0 {
            line.push_str(&format!(", {flagged} flagged"));
        }
        eprintln!("{line}");
    }
    Ok(Loaded { set, formats })
}

impl Loaded {
    /// The source a hunt's comment names: `--source`, else what the feeds' format implies
    /// (ThreatFox, MISP, STIX), else "the feed".
    pub fn source_name(&self, given: Option<&str>) -> String {
        if let Some(s) = given {
            return s.to_string();
        }
        let names: Vec<&str> = self
            .formats
            .iter()
            .filter_map(|f| f.source_name())
            .collect();
        match names.first() {
            Some(n) if names.iter().all(|x| x == n) && names.len() == self.formats.len() => {
                n.to_string()
            }
            _ => "the feed".to_string(),
        }
    }
}
