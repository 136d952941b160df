//! MISP event JSON: `{"Event": {...}}`, `{"response": [{"Event": ...}]}` or a list of
//! events; attributes of the event and of its objects. Families come from malware galaxy
//! clusters, or from `misp-galaxy:...="Name"` tags.

use super::{str_field, Entry, FeedError, FeedFormat, FeedRead, LineLocator};
use crate::Malware;
use serde_json::Value;

pub(crate) fn read(
    json: &Value,
    path: &str,
    locate: &mut LineLocator,
) -> Result<FeedRead, FeedError> {
    let mut out = FeedRead::new(FeedFormat::Misp);
    let events: Vec<&Value> = match json {
        Value::Array(a) => a.iter().map(|e| e.get("Event").unwrap_or(e)).collect(),
        Value::Object(o) => match (o.get("Event"), o.get("response")) {
            (Some(e), _) => vec![e],
            (None, Some(Value::Array(r))) => {
                r.iter().map(|e| e.get("Event").unwrap_or(e)).collect()
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    for event in events {
        let families = event_families(event);
        let event_tags = tag_names(event);
        let mut attrs: Vec<&Value> = array(event, "Attribute").collect();
        for obj in array(event, "Object") {
            attrs.extend(array(obj, "Attribute"));
        }
        for a in attrs {
            read_attribute(a, &families, &event_tags, event, path, locate, &mut out);
        }
    }
    Ok(out)
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn tag_names(v: &Value) -> Vec<String> {
    array(v, "Tag")
        .filter_map(|t| str_field(t, "name"))
        .collect()
}

fn event_families(event: &Value) -> Vec<Malware> {
    let mut out: Vec<Malware> = Vec::new();
    for g in array(event, "Galaxy") {
        let kind = str_field(g, "type").unwrap_or_default();
        if !(kind.contains("malware")
            || kind.contains("malpedia")
            || kind.contains("tool")
            || kind.contains("rat"))
        {
            continue;
        }
        for c in array(g, "GalaxyCluster") {
            if let Some(v) = str_field(c, "value") {
                out.push(Malware::named(&v));
            }
        }
    }
    if out.is_empty() {
        for t in tag_names(event) {
            if let Some(rest) = t.strip_prefix("misp-galaxy:") {
                if let Some((kind, name)) = rest.split_once('=') {
                    if kind.contains("malware") || kind.contains("malpedia") || kind.contains("rat")
                    {
                        out.push(Malware::named(name.trim_matches('"')));
                    }
                }
            }
        }
    }
    out
}

fn read_attribute(
    a: &Value,
    families: &[Malware],
    event_tags: &[String],
    event: &Value,
    path: &str,
    locate: &mut LineLocator,
    out: &mut FeedRead,
) {
    let kind = str_field(a, "type").unwrap_or_default();
    let value = str_field(a, "value").unwrap_or_default();
    let line = locate.line_of(&value);
    let (declared, raw) = match kind.as_str() {
        "ip-dst|port" | "ip-src|port" => {
            let (ip, port) = value.rsplit_once('|').unwrap_or((&value, ""));
            let ip = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            ("ip:port", format!("{ip}:{port}"))
        }
        "domain|ip" | "hostname|port" => {
            ("domain", value.split('|').next().unwrap_or("").to_string())
        }
        "filename|md5" | "filename|sha1" | "filename|sha256" => {
            let hash = value.rsplit('|').next().unwrap_or("").to_string();
            (&kind["filename|".len()..], hash)
        }
        "ip-dst" | "ip-src" => {
            let k = if value.contains(':') { "ipv6" } else { "ipv4" };
            (k, value.clone())
        }
        "domain" | "hostname" | "url" | "md5" | "sha1" | "sha256" => (kind.as_str(), value.clone()),
        other => {
            out.reject(
                path,
                line,
                &value,
                format!("MISP type {other:?} is not an indicator kind iochunt hunts"),
            );
            return;
        }
    };
    let mut tags = event_tags.to_vec();
    tags.extend(tag_names(a));
    out.push(
        path,
        Entry {
            raw,
            declared: Some(declared.to_string()),
            line,
            threat_type: str_field(a, "category"),
            malware: families.to_vec(),
            confidence: None,
            first_seen: str_field(a, "first_seen").or_else(|| str_field(a, "timestamp")),
            last_seen: str_field(a, "last_seen"),
            reference: str_field(a, "comment").filter(|c| c.starts_with("http")),
            tags,
            reporter: event.get("Orgc").and_then(|o| str_field(o, "name")),
        },
    );
}
