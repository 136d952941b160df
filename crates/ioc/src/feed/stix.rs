//! STIX 2.1 bundles: `indicator` objects whose patterns compare domain-name, url, ipv4-addr,
//! ipv6-addr, network-traffic (dst_ref with dst_port) or file hashes; families come from
//! `indicates` relationships to `malware` objects.

use super::{str_field, Entry, FeedError, FeedFormat, FeedRead, LineLocator};
use crate::Malware;
use serde_json::Value;
use std::collections::HashMap;

pub(crate) fn read(
    json: &Value,
    path: &str,
    locate: &mut LineLocator,
) -> Result<FeedRead, FeedError> {
    let mut out = FeedRead::new(FeedFormat::Stix);
    let objects: &[Value] = match json {
        Value::Array(a) => a,
        _ => json
            .get("objects")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    };
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
        .collect();
    let mut families: HashMap<&str, Vec<Malware>> = HashMap::new();
    for rel in objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("relationship"))
    {
        if rel.get("relationship_type").and_then(Value::as_str) != Some("indicates") {
            continue;
        }
        let (Some(src), Some(dst)) = (
            rel.get("source_ref").and_then(Value::as_str),
            rel.get("target_ref").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Some(name) = by_id.get(dst).and_then(|m| str_field(m, "name")) {
            families.entry(src).or_default().push(Malware::named(&name));
        }
    }
    for ind in objects
        .iter()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("indicator"))
    {
        let pattern = str_field(ind, "pattern").unwrap_or_default();
        let line = locate.line_of(&pattern);
        if let Some(pt) = str_field(ind, "pattern_type") {
            if pt != "stix" {
                out.reject(
                    path,
                    line,
                    &pattern,
                    format!("pattern type {pt:?} is not STIX"),
                );
                continue;
            }
        }
        let id = ind.get("id").and_then(Value::as_str).unwrap_or("");
        let malware = families.get(id).cloned().unwrap_or_default();
        let confidence = str_field(ind, "confidence");
        let threat_type = ind
            .get("indicator_types")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_string);
        let tags: Vec<String> = ind
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        match parse_pattern(&pattern) {
            Ok(values) => {
                for (declared, raw) in values {
                    out.push(
                        path,
                        Entry {
                            raw,
                            declared: Some(declared.to_string()),
                            line,
                            threat_type: threat_type.clone(),
                            malware: malware.clone(),
                            confidence: confidence.clone(),
                            first_seen: str_field(ind, "valid_from")
                                .or_else(|| str_field(ind, "created")),
                            last_seen: str_field(ind, "valid_until"),
                            reference: None,
                            tags: tags.clone(),
                            reporter: str_field(ind, "created_by_ref"),
                        },
                    );
                }
            }
            Err(why) => out.reject(path, line, &pattern, why),
        }
    }
    Ok(out)
}

/// One `path = 'value'` comparison of a pattern.
struct Comparison {
    path: String,
    value: String,
}

/// The indicators a STIX pattern names, as (kind name, raw value). Each observation
/// (`[...]`) gives its comparisons one indicator each, except a network-traffic observation
/// with a destination address and port, which gives one ip:port.
fn parse_pattern(pattern: &str) -> Result<Vec<(&'static str, String)>, String> {
    let mut out = Vec::new();
    for obs in observations(pattern)? {
        let comps = comparisons(&obs)?;
        let dst = comps
            .iter()
            .find(|c| c.path == "network-traffic:dst_ref.value");
        let port = comps.iter().find(|c| c.path == "network-traffic:dst_port");
        if let (Some(d), Some(p)) = (dst, port) {
            let ip = if d.value.contains(':') {
                format!("[{}]", d.value)
            } else {
                d.value.clone()
            };
            out.push(("ip:port", format!("{ip}:{}", p.value)));
            continue;
        }
        for c in comps {
            let kind = match c.path.as_str() {
                "domain-name:value" => "domain",
                "url:value" => "url",
                "ipv4-addr:value" | "network-traffic:dst_ref.value" => "ipv4",
                "ipv6-addr:value" => "ipv6",
                p if p.starts_with("file:hashes.") => {
                    let algo = p["file:hashes.".len()..]
                        .trim_matches('\'')
                        .to_ascii_uppercase();
                    match algo.as_str() {
                        "MD5" => "md5",
                        "SHA-1" | "SHA1" => "sha1",
                        "SHA-256" | "SHA256" => "sha256",
                        _ => return Err(format!("unsupported hash {algo}")),
                    }
                }
                "network-traffic:dst_ref.type" | "network-traffic:dst_port" => continue,
                p => return Err(format!("unsupported STIX pattern path {p}")),
            };
            let kind = if kind == "ipv4" && c.value.contains(':') {
                "ipv6"
            } else {
                kind
            };
            out.push((kind, c.value));
        }
    }
    if out.is_empty() {
        return Err("pattern names no indicator".into());
    }
    Ok(out)
}

/// The bodies of the `[...]` observations, quotes respected.
fn observations(pattern: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut in_quote = false;
    let mut cur = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quote => {
                cur.push(c);
                cur.extend(chars.next());
                continue;
            }
            '\'' => in_quote = !in_quote,
            '[' if !in_quote => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ']' if !in_quote => {
                depth -= 1;
                if depth == 0 {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
            }
            _ => {}
        }
        if depth > 0 {
            cur.push(c);
        }
    }
    if depth != 0 || in_quote {
        return Err("unbalanced brackets or quotes in pattern".into());
    }
    Ok(out)
}

/// The `path = 'value'` comparisons in one observation (joined by AND or OR).
fn comparisons(obs: &str) -> Result<Vec<Comparison>, String> {
    let mut out = Vec::new();
    let mut rest = obs.trim();
    while !rest.is_empty() {
        let eq = rest
            .find(['=', '!', '<', '>'])
            .ok_or("expected a comparison")?;
        let path = rest[..eq].trim().to_string();
        let after = rest[eq..].trim_start();
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("unsupported operator in {:?}", &rest[..rest.len().min(60)]))?;
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('\'') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '\'' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end.ok_or("unterminated string")?..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push(Comparison { path, value });
        let tail = tail.trim_start();
        rest = tail
            .strip_prefix("AND")
            .or_else(|| tail.strip_prefix("OR"))
            .map(str::trim_start)
            .unwrap_or(tail);
        if !tail.is_empty() && rest.len() == tail.len() {
            return Err(format!(
                "unexpected {:?} in pattern",
                &tail[..tail.len().min(40)]
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_patterns_of_every_supported_kind() {
        let p = |s: &str| parse_pattern(s).unwrap();
        assert_eq!(
            p("[domain-name:value = 'evil.com']"),
            vec![("domain", "evil.com".to_string())]
        );
        assert_eq!(
            p("[url:value = 'http://evil.com/a'] OR [ipv4-addr:value = '1.2.3.4']"),
            vec![
                ("url", "http://evil.com/a".to_string()),
                ("ipv4", "1.2.3.4".to_string())
            ]
        );
        assert_eq!(
            p("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '1.2.3.4' AND network-traffic:dst_port = 443]"),
            vec![("ip:port", "1.2.3.4:443".to_string())]
        );
        assert_eq!(
            p("[file:hashes.'SHA-256' = 'aa'] OR [file:hashes.MD5 = 'bb']"),
            vec![("sha256", "aa".to_string()), ("md5", "bb".to_string())]
        );
        assert_eq!(
            p("[url:value = 'http://x.com/it\\'s']")[0].1,
            "http://x.com/it's"
        );
    }

    #[test]
    fn rejects_unsupported_patterns() {
        assert!(parse_pattern("[process:name = 'x.exe']")
            .unwrap_err()
            .contains("process:name"));
        assert!(parse_pattern("[url:value MATCHES 'x']").is_err());
        assert!(parse_pattern("[domain-name:value = 'x'").is_err());
    }
}
