//! ThreatFox (abuse.ch) in its three shapes: the JSON export (`{"<id>": [record]}`), the API
//! response (`{"query_status", "data": [...]}`) and the CSV export (quoted fields separated by
//! `", "`, the header commented out, nulls written as `None`).

use super::{
    str_field, tags_field, Entry, EntryRef, FamilyRef, FeedError, FeedFormat, FeedRead,
    LineLocator, TagsRef,
};
use crate::Malware;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

fn malware(printable: Option<String>, id: Option<String>, alias: Option<String>) -> Vec<Malware> {
    let name = printable.or_else(|| id.clone()).unwrap_or_default();
    if name.is_empty() {
        return Vec::new();
    }
    vec![Malware {
        name,
        id,
        alias: alias.filter(|a| !a.is_empty()),
    }]
}

/// The names the JSON export and the API give the fields that differ: value, first seen,
/// last seen.
const EXPORT_FIELDS: [&str; 3] = ["ioc_value", "first_seen_utc", "last_seen_utc"];
const API_FIELDS: [&str; 3] = ["ioc", "first_seen", "last_seen"];

/// An entry from one record of the export or the API (`fields` names the three that differ).
fn record_entry(r: &Value, fields: &[&str; 3], locate: &mut LineLocator) -> Entry {
    let raw = str_field(r, fields[0]).unwrap_or_default();
    Entry {
        line: locate.line_of(&raw),
        declared: str_field(r, "ioc_type"),
        threat_type: str_field(r, "threat_type"),
        malware: malware(
            str_field(r, "malware_printable"),
            str_field(r, "malware"),
            str_field(r, "malware_alias"),
        ),
        confidence: str_field(r, "confidence_level"),
        first_seen: str_field(r, fields[1]),
        last_seen: str_field(r, fields[2]),
        reference: str_field(r, "reference"),
        tags: tags_field(r, "tags"),
        reporter: str_field(r, "reporter"),
        raw,
    }
}

/// The JSON export: an object of id -> list of records.
pub(crate) fn read_export(
    json: &Value,
    path: &str,
    locate: &mut LineLocator,
) -> Result<FeedRead, FeedError> {
    let mut out = FeedRead::new(FeedFormat::ThreatFoxExport);
    let records: Vec<&Value> = match json {
        Value::Object(o) => o
            .values()
            .flat_map(|v| v.as_array().into_iter().flatten())
            .collect(),
        Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    };
    for r in records {
        out.push(path, record_entry(r, &EXPORT_FIELDS, locate));
    }
    Ok(out)
}

/// One record of the JSON export, borrowed from the text where it can be.
#[derive(Deserialize)]
struct ExportRecord<'a> {
    #[serde(borrow)]
    ioc_value: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ioc_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    threat_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    malware: Option<Cow<'a, str>>,
    #[serde(borrow)]
    malware_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    malware_printable: Option<Cow<'a, str>>,
    #[serde(borrow)]
    first_seen_utc: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_seen_utc: Option<Cow<'a, str>>,
    confidence_level: Option<Value>,
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
    tags: Option<Value>,
    #[serde(borrow)]
    reporter: Option<Cow<'a, str>>,
}

/// The JSON export read as a stream of records: no document tree is built, so a large
/// export costs about its own size in memory.
pub(crate) fn read_export_stream(text: &str, path: &str) -> Result<FeedRead, FeedError> {
    parse_export(text, path, 1).map_err(|e| super::json_error(&e, path))
}

/// Reads an export object whose first line is line `first_line` of the feed (a part of a
/// larger export, see `blocks`).
pub(crate) fn parse_export(
    text: &str,
    path: &str,
    first_line: usize,
) -> Result<FeedRead, serde_json::Error> {
    struct Records<'p, 't> {
        path: &'p str,
        locate: LineLocator<'t>,
        out: FeedRead,
    }
    impl<'de, 't> Visitor<'de> for Records<'_, 't> {
        type Value = FeedRead;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a ThreatFox export object")
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<FeedRead, A::Error> {
            let mut list: Vec<String>;
            while let Some((_id, records)) =
                map.next_entry::<Cow<'de, str>, Vec<ExportRecord<'de>>>()?
            {
                for r in records {
                    let raw = r.ioc_value.as_deref().unwrap_or("");
                    let line = self.locate.line_of(raw);
                    let number;
                    let confidence = match &r.confidence_level {
                        Some(Value::Number(n)) => {
                            number = n.to_string();
                            Some(number.as_str())
                        }
                        Some(Value::String(s)) => Some(s.as_str()),
                        _ => None,
                    };
                    let tags = match &r.tags {
                        Some(Value::String(t)) => TagsRef::Joined(t),
                        Some(Value::Array(a)) => {
                            list = a
                                .iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect();
                            TagsRef::List(&list)
                        }
                        _ => TagsRef::List(&[]),
                    };
                    let name = r.malware_printable.as_deref().or(r.malware.as_deref());
                    let family = name.map(|name| FamilyRef {
                        name,
                        id: r.malware.as_deref(),
                        alias: r.malware_alias.as_deref(),
                    });
                    self.out.push_ref(
                        self.path,
                        &EntryRef {
                            raw,
                            line,
                            declared: r.ioc_type.as_deref(),
                            threat_type: r.threat_type.as_deref(),
                            malware: family.as_slice(),
                            confidence,
                            first_seen: r.first_seen_utc.as_deref(),
                            last_seen: r.last_seen_utc.as_deref(),
                            reference: r.reference.as_deref(),
                            tags,
                            reporter: r.reporter.as_deref(),
                        },
                    );
                }
            }
            Ok(self.out)
        }
    }
    let visitor = Records {
        path,
        locate: LineLocator::starting_at(text, first_line),
        out: FeedRead::new(FeedFormat::ThreatFoxExport),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(visitor)
        .and_then(|o| de.end().map(|_| o))
}

/// True when the text starts like a ThreatFox export: `{ "<digits>": [`.
pub(crate) fn looks_like_export(text: &str) -> bool {
    let t = text.trim_start().strip_prefix('{').map(str::trim_start);
    let Some(t) = t.and_then(|t| t.strip_prefix('"')) else {
        return false;
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && t[digits..].strip_prefix('"').is_some_and(|r| {
            r.trim_start()
                .strip_prefix(':')
                .is_some_and(|r| r.trim_start().starts_with('['))
        })
}

/// The API response of `POST /api/v1/`.
pub(crate) fn read_api(
    json: &Value,
    path: &str,
    locate: &mut LineLocator,
) -> Result<FeedRead, FeedError> {
    let mut out = FeedRead::new(FeedFormat::ThreatFoxApi);
    let data = match json {
        Value::Array(a) => a.as_slice(),
        _ => {
            let status = json
                .get("query_status")
                .and_then(Value::as_str)
                .unwrap_or("");
            match json.get("data") {
                Some(Value::Array(a)) => a.as_slice(),
                _ if status == "ok" || status == "no_result" => &[],
                _ => {
                    let why = format!("ThreatFox API answered query_status {status:?}");
                    return Err(FeedError::NotAFeed {
                        path: path.into(),
                        why,
                    });
                }
            }
        }
    };
    for r in data {
        out.push(path, record_entry(r, &API_FIELDS, locate));
    }
    Ok(out)
}

/// The columns of the CSV export, in the order of the current dumps.
const CSV_COLUMNS: [&str; 15] = [
    "first_seen_utc",
    "ioc_id",
    "ioc_value",
    "ioc_type",
    "threat_type",
    "fk_malware",
    "malware_alias",
    "malware_printable",
    "last_seen_utc",
    "confidence_level",
    "is_compromised",
    "reference",
    "tags",
    "anonymous",
    "reporter",
];

/// The CSV export. The header is read from its `#` comment when present; otherwise the
/// layout is taken from the field count (15 columns, or 14 without `is_compromised`).
pub(crate) fn read_csv(text: &str, path: &str) -> FeedRead {
    let mut out = FeedRead::new(FeedFormat::ThreatFoxCsv);
    let mut header: Option<Vec<String>> = None;
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        let t = line.trim();
        if let Some(comment) = t.strip_prefix('#') {
            let c = comment.trim();
            if c.contains("\"ioc_value\"") {
                header = split_quoted(c);
            }
            continue;
        }
        if t.is_empty() {
            continue;
        }
        let Some(fields) = split_quoted(t) else {
            out.reject(path, lineno, t, "malformed CSV row (unbalanced quotes)");
            continue;
        };
        let cols: Vec<String> = match &header {
            Some(h) => h.clone(),
            None if fields.len() == 14 => CSV_COLUMNS
                .iter()
                .filter(|c| **c != "is_compromised")
                .map(|c| c.to_string())
                .collect(),
            None => CSV_COLUMNS.iter().map(|c| c.to_string()).collect(),
        };
        if fields.len() != cols.len() {
            let why = format!("expected {} fields, found {}", cols.len(), fields.len());
            out.reject(path, lineno, t, why);
            continue;
        }
        let get = |name: &str| -> Option<String> {
            let i = cols.iter().position(|c| c == name)?;
            let v = fields[i].as_str();
            (v != "None" && !v.is_empty()).then(|| v.to_string())
        };
        out.push(
            path,
            Entry {
                raw: get("ioc_value").unwrap_or_default(),
                line: lineno,
                declared: get("ioc_type"),
                threat_type: get("threat_type"),
                malware: malware(
                    get("malware_printable"),
                    get("fk_malware"),
                    get("malware_alias"),
                ),
                confidence: get("confidence_level"),
                first_seen: get("first_seen_utc"),
                last_seen: get("last_seen_utc"),
                reference: get("reference"),
                tags: get("tags")
                    .map(|t| t.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                reporter: get("reporter"),
            },
        );
    }
    out
}

/// Splits a row of double-quoted fields separated by commas and optional spaces
/// (`"a", "b","c"`); a doubled quote inside a field is one quote. `None` when the row is
/// not of that shape.
pub(crate) fn split_quoted(row: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = row.trim().chars().peekable();
    loop {
        if chars.next()? != '"' {
            return None;
        }
        let mut field = String::new();
        loop {
            match chars.next()? {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => break,
                c => field.push(c),
            }
        }
        fields.push(field);
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        match chars.next() {
            None => return Some(fields),
            Some(',') => {
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_threatfox_csv_rows() {
        assert_eq!(
            split_quoted(r#""a", "b, c","d""e""#).unwrap(),
            vec!["a", "b, c", "d\"e"]
        );
        assert_eq!(split_quoted(r#""a" x"#), None);
        assert_eq!(split_quoted(r#""unterminated"#), None);
    }

    #[test]
    fn reads_csv_with_commented_header_and_nones() {
        let text = r#"################
# ThreatFox IOCs: CSV export
# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","is_compromised","reference","tags","anonymous","reporter"
"2026-06-19 10:00:00", "1", "91.92.34.228:80", "ip:port", "payload_delivery", "win.netsupportmanager_rat", "None", "NetSupportManager RAT", "", "100", "0", "None", "NetSupport,RAT", "0", "someone"
"2026-06-19 10:00:00", "2", "bad_value", "domain", "botnet_cc", "None", "None", "None", "", "50", "0", "None", "None", "0", "x"
"#;
        let r = read_csv(text, "t.csv");
        assert_eq!(r.indicators.len(), 1);
        let i = &r.indicators[0];
        assert_eq!(i.value, "91.92.34.228:80");
        assert_eq!(i.malware_names(), vec!["NetSupportManager RAT"]);
        assert_eq!(
            i.malware[0].id.as_deref(),
            Some("win.netsupportmanager_rat")
        );
        assert_eq!(i.tag_names(), vec!["NetSupport", "RAT"]);
        assert_eq!(i.last_seen, None);
        assert_eq!(i.sources[0].line, 4);
        assert_eq!(r.rejections.len(), 1);
        assert_eq!(r.rejections[0].origin.line, 5);
    }
}
