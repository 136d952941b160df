//! Feed readers. A feed's format is detected from its content (or forced), and each reader
//! turns the feed's entries into [`Entry`] values that [`FeedRead::push`] validates: every
//! entry ends as an [`Indicator`] or a [`Rejection`], never silently dropped.

mod blocks;
mod locate;
mod markdown;
mod misp;
mod stix;
mod text;
mod threatfox;

use crate::{
    normalize, parse_declared_kind, Indicator, IndicatorSet, Malware, Origin, Rejection, Timestamp,
};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

pub(crate) use locate::LineLocator;

/// The feed formats iochunt reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    ThreatFoxExport,
    ThreatFoxApi,
    ThreatFoxCsv,
    Markdown,
    Text,
    Stix,
    Misp,
}

impl FeedFormat {
    pub const ALL: [FeedFormat; 7] = [
        FeedFormat::ThreatFoxExport,
        FeedFormat::ThreatFoxApi,
        FeedFormat::ThreatFoxCsv,
        FeedFormat::Markdown,
        FeedFormat::Text,
        FeedFormat::Stix,
        FeedFormat::Misp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FeedFormat::ThreatFoxExport => "threatfox-json",
            FeedFormat::ThreatFoxApi => "threatfox-api",
            FeedFormat::ThreatFoxCsv => "threatfox-csv",
            FeedFormat::Markdown => "markdown",
            FeedFormat::Text => "text",
            FeedFormat::Stix => "stix",
            FeedFormat::Misp => "misp",
        }
    }

    pub fn from_name(name: &str) -> Option<FeedFormat> {
        FeedFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The source name a hunt's comment gives for indicators of this format.
    pub fn source_name(self) -> Option<&'static str> {
        match self {
            FeedFormat::ThreatFoxExport | FeedFormat::ThreatFoxApi | FeedFormat::ThreatFoxCsv => {
                Some("ThreatFox")
            }
            FeedFormat::Misp => Some("MISP"),
            FeedFormat::Stix => Some("STIX"),
            FeedFormat::Markdown | FeedFormat::Text => None,
        }
    }
}

impl fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A feed that could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not an indicator feed: {why}")]
    NotAFeed { path: String, why: String },
    #[error("{path}:{line}:{column}: invalid JSON: {why}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        why: String,
    },
}

/// What reading one feed gave: its format, the indicators and the rejected entries.
#[derive(Debug)]
pub struct FeedRead {
    pub format: FeedFormat,
    pub indicators: Vec<Indicator>,
    pub rejections: Vec<Rejection>,
    /// The feed's path, shared by the origins of its entries.
    file: Option<Arc<str>>,
    /// Families seen so far, so each is held once however many entries name it, found by a
    /// hash of their fields without building a [`Malware`] first.
    families: HashMap<u64, Vec<Arc<Malware>>>,
    /// Threat types, reporters and tags: a few distinct values repeated over every entry,
    /// each held once.
    words: HashSet<Arc<str>>,
    hasher: RandomState,
}

/// One entry of a feed before validation, owning its text (for readers that build it).
#[derive(Default)]
pub(crate) struct Entry {
    pub raw: String,
    /// The feed's name for the kind, if it gives one.
    pub declared: Option<String>,
    pub line: usize,
    pub threat_type: Option<String>,
    pub malware: Vec<Malware>,
    pub confidence: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub reference: Option<String>,
    pub tags: Vec<String>,
    pub reporter: Option<String>,
}

/// One entry of a feed before validation, borrowed from the feed's text: what
/// [`FeedRead::push_ref`] validates. Large feeds are read this way, with no copy of an
/// entry's fields made before it is known to be kept.
pub(crate) struct EntryRef<'a> {
    pub raw: &'a str,
    pub declared: Option<&'a str>,
    pub line: usize,
    pub threat_type: Option<&'a str>,
    pub malware: &'a [FamilyRef<'a>],
    pub confidence: Option<&'a str>,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub tags: TagsRef<'a>,
    pub reporter: Option<&'a str>,
}

/// A malware family as an entry names it.
pub(crate) struct FamilyRef<'a> {
    pub name: &'a str,
    pub id: Option<&'a str>,
    pub alias: Option<&'a str>,
}

/// An entry's tags: a list, or one comma-joined string as ThreatFox writes them.
pub(crate) enum TagsRef<'a> {
    List(&'a [String]),
    Joined(&'a str),
}

impl<'a> TagsRef<'a> {
    fn iter(&self) -> impl Iterator<Item = &'a str> {
        let (list, joined) = match *self {
            TagsRef::List(l) => (l, ""),
            TagsRef::Joined(j) => (&[][..], j),
        };
        list.iter()
            .map(String::as_str)
            .chain(joined.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

impl FeedRead {
    fn new(format: FeedFormat) -> FeedRead {
        FeedRead {
            format,
            indicators: Vec::new(),
            rejections: Vec::new(),
            file: None,
            families: HashMap::new(),
            words: HashSet::new(),
            hasher: RandomState::new(),
        }
    }

    fn file(&mut self, path: &str) -> Arc<str> {
        match &self.file {
            Some(f) if f.as_ref() == path => f.clone(),
            _ => {
                let f: Arc<str> = Arc::from(path);
                self.file = Some(f.clone());
                f
            }
        }
    }

    pub(crate) fn reject(&mut self, path: &str, line: usize, raw: &str, reason: impl Into<String>) {
        let file = self.file(path);
        self.rejections.push(Rejection {
            origin: Origin { file, line },
            raw: raw.to_string(),
            reason: reason.into(),
        });
    }

    /// Validates an entry and records it as an indicator or a rejection.
    pub(crate) fn push(&mut self, path: &str, e: Entry) {
        let families: Vec<FamilyRef> = e
            .malware
            .iter()
            .map(|m| FamilyRef {
                name: &m.name,
                id: m.id.as_deref(),
                alias: m.alias.as_deref(),
            })
            .collect();
        self.push_ref(
            path,
            &EntryRef {
                raw: &e.raw,
                declared: e.declared.as_deref(),
                line: e.line,
                threat_type: e.threat_type.as_deref(),
                malware: &families,
                confidence: e.confidence.as_deref(),
                first_seen: e.first_seen.as_deref(),
                last_seen: e.last_seen.as_deref(),
                reference: e.reference.as_deref(),
                tags: TagsRef::List(&e.tags),
                reporter: e.reporter.as_deref(),
            },
        );
    }

    /// Validates a borrowed entry and records it as an indicator or a rejection.
    pub(crate) fn push_ref(&mut self, path: &str, e: &EntryRef) {
        let file = self.file(path);
        match self.build(file, e) {
            Ok(ind) => self.indicators.push(ind),
            Err(reason) => self.reject(path, e.line, e.raw, reason),
        }
    }

    /// The shared copy of a threat type, reporter or tag.
    fn word(&mut self, w: &str) -> Arc<str> {
        match self.words.get(w) {
            Some(known) => known.clone(),
            None => {
                let shared: Arc<str> = Arc::from(w);
                self.words.insert(shared.clone());
                shared
            }
        }
    }

    /// The shared copy of a family; families without a name are left out.
    fn family(&mut self, f: &FamilyRef) -> Option<Arc<Malware>> {
        if f.name.is_empty() {
            return None;
        }
        let alias = f.alias.filter(|a| !a.is_empty());
        let h = self.hasher.hash_one((f.name, f.id, alias));
        let same = |m: &&Arc<Malware>| {
            m.name == f.name && m.id.as_deref() == f.id && m.alias.as_deref() == alias
        };
        let known = self.families.entry(h).or_default();
        if let Some(m) = known.iter().find(same) {
            return Some(m.clone());
        }
        let m = Arc::new(Malware {
            name: f.name.to_string(),
            id: f.id.map(str::to_string),
            alias: alias.map(str::to_string),
        });
        known.push(m.clone());
        Some(m)
    }

    fn build(&mut self, file: Arc<str>, e: &EntryRef) -> Result<Indicator, String> {
        let declared = match e.declared.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(
                parse_declared_kind(d)
                    .ok_or_else(|| format!("unsupported indicator type {d:?}"))?,
            ),
            None => None,
        };
        let (value, kind) = normalize(e.raw, declared)?;
        let confidence = match e.confidence.map(|c| c.trim().trim_end_matches('%')) {
            None | Some("") => None,
            Some(c) => match c.parse::<f64>() {
                Ok(n) if (0.0..=100.0).contains(&n) => Some(n.round() as u8),
                _ => return Err(format!("confidence {c:?} is not a number from 0 to 100")),
            },
        };
        let first_seen = parse_time(e.first_seen, "first seen")?;
        let last_seen = parse_time(e.last_seen, "last seen")?;
        let origin = Origin { file, line: e.line };
        let mut ind = Indicator::new(value, kind, origin);
        ind.confidence = confidence;
        ind.first_seen = first_seen;
        ind.last_seen = last_seen;
        ind.threat_type = e
            .threat_type
            .filter(|t| !t.is_empty())
            .map(|t| self.word(t));
        ind.reference = e.reference.filter(|r| !r.is_empty()).map(str::to_string);
        ind.tags = e.tags.iter().map(|t| self.word(t)).collect();
        ind.reporter = e.reporter.filter(|r| !r.is_empty()).map(|r| self.word(r));
        ind.malware = e.malware.iter().filter_map(|f| self.family(f)).collect();
        Ok(ind)
    }
}

fn parse_time(text: Option<&str>, what: &str) -> Result<Option<Timestamp>, String> {
    match text.map(str::trim) {
        None | Some("") | Some("None") | Some("null") => Ok(None),
        Some(t) => Timestamp::parse(t)
            .map(Some)
            .ok_or_else(|| format!("invalid {what} time {t:?}")),
    }
}

/// What reading a feed into a set gave: its format, how many entries were accepted, and
/// the rejected ones.
#[derive(Debug)]
pub struct FeedSummary {
    pub format: FeedFormat,
    pub accepted: usize,
    pub rejections: Vec<Rejection>,
}

/// Reads a feed file into `set`, detecting its format unless `format` forces one. A large
/// ThreatFox JSON export is parsed on all cores and merged part by part as it is read;
/// any other feed is read whole.
pub fn read_feed_into(
    path: &Path,
    format: Option<FeedFormat>,
    set: &mut IndicatorSet,
) -> Result<FeedSummary, FeedError> {
    let name = path.display().to_string();
    let io = |source| FeedError::Io {
        path: name.clone(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(HEAD);
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    let start = if head.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let text = match std::str::from_utf8(&head[start..]) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[start..start + e.valid_up_to()]).unwrap_or(""),
    };
    let export = match format {
        Some(f) => f == FeedFormat::ThreatFoxExport,
        None => threatfox::looks_like_export(text),
    };
    if export && head.len() == HEAD {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let head = head[start..].to_vec();
        // The parts go into a set of their own, thrown away if the file turns out not to be
        // an export the splitter can follow.
        let mut read = IndicatorSet::new();
        let mut summary = FeedSummary {
            format: FeedFormat::ThreatFoxExport,
            accepted: 0,
            rejections: Vec::new(),
        };
        let mut sink = |part: FeedRead| {
            summary.accepted += part.indicators.len();
            summary.rejections.extend(part.rejections);
            read.extend(part.indicators);
        };
        if blocks::read_export(&mut file, head, &name, workers, blocks::BLOCK, &mut sink).is_some()
        {
            set.append(read);
            return Ok(summary);
        }
    }
    let bytes = if head.len() < HEAD {
        head
    } else {
        std::fs::read(path).map_err(io)?
    };
    let read = read_feed_bytes(&bytes, &name, format)?;
    let summary = FeedSummary {
        format: read.format,
        accepted: read.indicators.len(),
        rejections: read.rejections,
    };
    set.extend(read.indicators);
    Ok(summary)
}

/// How much of a feed is read to tell its format before reading the rest.
const HEAD: usize = 64 << 10;

/// Reads a feed held in memory; `name` is used in locations and messages.
pub fn read_feed_bytes(
    bytes: &[u8],
    name: &str,
    format: Option<FeedFormat>,
) -> Result<FeedRead, FeedError> {
    let not_a_feed = |why: &str| FeedError::NotAFeed {
        path: name.to_string(),
        why: why.into(),
    };
    if bytes.contains(&0) {
        return Err(not_a_feed("the file is binary"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| not_a_feed("the file is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    let format = match format {
        Some(FeedFormat::ThreatFoxExport) => return threatfox::read_export_stream(text, name),
        None if threatfox::looks_like_export(text) => {
            return threatfox::read_export_stream(text, name)
        }
        Some(f) => f,
        None if trimmed.starts_with('{')
            || trimmed.starts_with('[') && looks_like_json(trimmed) =>
        {
            let json = parse_json(text, name)?;
            let f = detect_json(&json).ok_or_else(|| {
                not_a_feed("JSON, but not a ThreatFox, STIX 2.1 or MISP document")
            })?;
            return read_json(json, text, name, f);
        }
        None => detect_text(text),
    };
    match format {
        FeedFormat::ThreatFoxExport
        | FeedFormat::ThreatFoxApi
        | FeedFormat::Stix
        | FeedFormat::Misp => {
            let json = parse_json(text, name)?;
            read_json(json, text, name, format)
        }
        FeedFormat::ThreatFoxCsv => Ok(threatfox::read_csv(text, name)),
        FeedFormat::Markdown => markdown::read(text, name),
        FeedFormat::Text => text::read(text, name),
    }
}

/// `[` also starts a defanged plain-text value (`[2001:db8::1]:443`); only treat it as JSON
/// when what follows is an array of objects or an empty array.
fn looks_like_json(t: &str) -> bool {
    let rest = t[1..].trim_start();
    rest.starts_with('{') || rest.starts_with(']')
}

fn parse_json(text: &str, name: &str) -> Result<serde_json::Value, FeedError> {
    serde_json::from_str(text).map_err(|e| json_error(&e, name))
}

/// A JSON syntax error at its line and column, without serde's own position suffix.
pub(crate) fn json_error(e: &serde_json::Error, path: &str) -> FeedError {
    FeedError::Json {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        why: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

fn read_json(
    json: serde_json::Value,
    text: &str,
    name: &str,
    format: FeedFormat,
) -> Result<FeedRead, FeedError> {
    let mut locate = LineLocator::new(text);
    match format {
        FeedFormat::ThreatFoxExport => threatfox::read_export(&json, name, &mut locate),
        FeedFormat::ThreatFoxApi => threatfox::read_api(&json, name, &mut locate),
        FeedFormat::Stix => stix::read(&json, name, &mut locate),
        FeedFormat::Misp => misp::read(&json, name, &mut locate),
        _ => unreachable!("read_json is only called for JSON formats"),
    }
}

fn detect_json(v: &serde_json::Value) -> Option<FeedFormat> {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            if o.contains_key("query_status") {
                Some(FeedFormat::ThreatFoxApi)
            } else if o.get("type").and_then(Value::as_str) == Some("bundle")
                || o.contains_key("objects")
            {
                Some(FeedFormat::Stix)
            } else if o.contains_key("Event") || o.contains_key("response") {
                Some(FeedFormat::Misp)
            } else if o.is_empty()
                || o.values().all(|r| {
                    r.as_array()
                        .is_some_and(|a| a.iter().all(|x| x.get("ioc_value").is_some()))
                })
            {
                Some(FeedFormat::ThreatFoxExport)
            } else {
                None
            }
        }
        Value::Array(a) => {
            let first = a.first()?;
            if first.get("Event").is_some() {
                Some(FeedFormat::Misp)
            } else if first.get("ioc").is_some() {
                Some(FeedFormat::ThreatFoxApi)
            } else if first.get("ioc_value").is_some() {
                Some(FeedFormat::ThreatFoxExport)
            } else if first.get("pattern").is_some() || first.get("spec_version").is_some() {
                Some(FeedFormat::Stix)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn detect_text(text: &str) -> FeedFormat {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let markdown_header = |l: &str| {
        let l = l.to_ascii_lowercase();
        l.starts_with('|') && l.contains("type") && l.contains("value")
    };
    if text.lines().any(|l| markdown_header(l.trim())) {
        return FeedFormat::Markdown;
    }
    if text
        .lines()
        .any(|l| l.starts_with('#') && l.contains("\"ioc_value\""))
    {
        return FeedFormat::ThreatFoxCsv;
    }
    if let Some(first) = lines.find(|l| !l.starts_with('#')) {
        if first.starts_with('"') && threatfox::split_quoted(first).is_some_and(|f| f.len() >= 14) {
            return FeedFormat::ThreatFoxCsv;
        }
    }
    FeedFormat::Text
}

/// Reads a JSON string member, treating `null` and absent alike.
pub(crate) fn str_field(v: &serde_json::Value, key: &str) -> Option<String> {
    match v.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Splits a comma-joined tag string (or takes a JSON array of strings).
pub(crate) fn tags_field(v: &serde_json::Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.split(',').map(|t| t.trim().to_string()).collect(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}
