//! Feed readers. A feed's format is detected from its content (or forced), and each reader
//! turns the feed's entries into [`Entry`] values that [`FeedRead::push`] validates: every
//! entry ends as an [`Indicator`] or a [`Rejection`], never silently dropped.

mod locate;
mod markdown;
mod misp;
mod stix;
mod text;
mod threatfox;

use crate::{normalize, parse_declared_kind, Indicator, Malware, Origin, Rejection, Timestamp};
use std::collections::HashMap;
use std::fmt;
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
    /// Families seen so far, so each is held once however many entries name it.
    families: HashMap<Malware, Arc<Malware>>,
}

/// One entry of a feed before validation.
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

impl FeedRead {
    fn new(format: FeedFormat) -> FeedRead {
        FeedRead {
            format,
            indicators: Vec::new(),
            rejections: Vec::new(),
            file: None,
            families: HashMap::new(),
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
        let file = self.file(path);
        match build(file, &e) {
            Ok(mut ind) => {
                ind.malware = e
                    .malware
                    .into_iter()
                    .filter(|m| !m.name.is_empty())
                    .map(|m| match self.families.get(&m) {
                        Some(known) => known.clone(),
                        None => {
                            let shared = Arc::new(m.clone());
                            self.families.insert(m, shared.clone());
                            shared
                        }
                    })
                    .collect();
                self.indicators.push(ind)
            }
            Err(reason) => self.reject(path, e.line, &e.raw, reason),
        }
    }
}

fn build(file: Arc<str>, e: &Entry) -> Result<Indicator, String> {
    let declared = match e
        .declared
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) => Some(parse_declared_kind(d).ok_or(format!("unsupported indicator type {d:?}"))?),
        None => None,
    };
    let (value, kind) = normalize(&e.raw, declared)?;
    let origin = Origin { file, line: e.line };
    let mut ind = Indicator::new(value, kind, origin);
    ind.threat_type = e.threat_type.clone().filter(|t| !t.is_empty());
    ind.confidence = match e
        .confidence
        .as_deref()
        .map(|c| c.trim().trim_end_matches('%'))
    {
        None | Some("") => None,
        Some(c) => match c.parse::<f64>() {
            Ok(n) if (0.0..=100.0).contains(&n) => Some(n.round() as u8),
            _ => return Err(format!("confidence {c:?} is not a number from 0 to 100")),
        },
    };
    ind.first_seen = parse_time(e.first_seen.as_deref(), "first seen")?;
    ind.last_seen = parse_time(e.last_seen.as_deref(), "last seen")?;
    ind.reference = e.reference.clone().filter(|r| !r.is_empty());
    ind.tags = e
        .tags
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    ind.reporter = e.reporter.clone().filter(|r| !r.is_empty());
    Ok(ind)
}

fn parse_time(text: Option<&str>, what: &str) -> Result<Option<Timestamp>, String> {
    match text.map(str::trim) {
        None | Some("") | Some("None") | Some("null") => Ok(None),
        Some(t) => Timestamp::parse(t)
            .map(Some)
            .ok_or(format!("invalid {what} time {t:?}")),
    }
}

/// Reads a feed file, detecting its format unless `format` forces one.
pub fn read_feed(path: &Path, format: Option<FeedFormat>) -> Result<FeedRead, FeedError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| FeedError::Io {
        path: name.clone(),
        source,
    })?;
    read_feed_bytes(&bytes, &name, format)
}

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
