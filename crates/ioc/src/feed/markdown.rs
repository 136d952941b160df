//! The IOC table of the reference report: `| Type | Value | Threat Type | First Seen |
//! Confidence |` with defanged values and `100%` confidences. The malware family comes from a
//! `Malware Family: ... Total IOCs: ...` line above the table, or a `Malware` column.

use super::{Entry, FeedError, FeedFormat, FeedRead};
use crate::Malware;

pub(crate) fn read(text: &str, path: &str) -> Result<FeedRead, FeedError> {
    let mut out = FeedRead::new(FeedFormat::Markdown);
    let mut family: Vec<Malware> = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut tables = 0;
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        let t = line.trim();
        if let Some(f) = summary_family(t) {
            family = f;
            continue;
        }
        if !t.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = split_row(t);
        match &columns {
            None => {
                let names: Vec<String> = cells.iter().map(|c| c.to_ascii_lowercase()).collect();
                if names.iter().any(|c| c == "value") && names.iter().any(|c| c == "type") {
                    columns = Some(names);
                    tables += 1;
                }
            }
            Some(_)
                if cells
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| "-: ".contains(ch))) => {}
            Some(cols) => {
                if cells.len() != cols.len() {
                    let why = format!("expected {} cells, found {}", cols.len(), cells.len());
                    out.reject(path, lineno, t, why);
                    continue;
                }
                let get = |name: &str| {
                    cols.iter()
                        .position(|c| c == name)
                        .map(|i| cells[i].clone())
                        .filter(|v| !v.is_empty())
                };
                let malware = match get("malware").or_else(|| get("malware family")) {
                    Some(m) => vec![Malware::named(&m)],
                    None => family.clone(),
                };
                out.push(
                    path,
                    Entry {
                        raw: get("value").unwrap_or_default(),
                        declared: get("type"),
                        line: lineno,
                        threat_type: get("threat type"),
                        malware,
                        confidence: get("confidence"),
                        first_seen: get("first seen"),
                        last_seen: get("last seen"),
                        reference: get("reference"),
                        tags: get("tags")
                            .map(|t| t.split(',').map(str::to_string).collect())
                            .unwrap_or_default(),
                        reporter: get("reporter"),
                    },
                );
            }
        }
    }
    if tables == 0 {
        let why = "Markdown without a table that has Type and Value columns";
        return Err(FeedError::NotAFeed {
            path: path.into(),
            why: why.into(),
        });
    }
    Ok(out)
}

/// The families named by a `Malware Family: A, B Total IOCs: 7 ...` line.
fn summary_family(line: &str) -> Option<Vec<Malware>> {
    let rest = line.strip_prefix("Malware Family:")?;
    let names = rest.split("Total IOCs:").next().unwrap_or(rest).trim();
    Some(
        names
            .split(", ")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(Malware::named)
            .collect(),
    )
}

/// Splits a table row into trimmed cells; `\|` is a literal bar inside a cell.
fn split_row(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cell.push('|');
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
        .into_iter()
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_ioc_table() {
        let text = "IOC Summary\nMalware Family: NetSupportManager RAT Total IOCs: 2 IOC Types: url, ip:port\n\
            | Type | Value | Threat Type | First Seen | Confidence |\n|---|---|---|---|---|\n\
            | url | hxxps://beroniw.com/hwkOP5 | payload_delivery | 2026-06-19 | 100% |\n\
            | ip:port | 91[.]92[.]34[.]228:80 | payload_delivery | 2026-06-19 | 100% |\n";
        let r = read(text, "ref.md").unwrap();
        assert!(r.rejections.is_empty(), "{:?}", r.rejections);
        assert_eq!(r.indicators[0].value, "https://beroniw.com/hwkOP5");
        assert_eq!(r.indicators[1].value, "91.92.34.228:80");
        assert_eq!(r.indicators[1].confidence, Some(100));
        assert_eq!(
            r.indicators[1].malware_names(),
            vec!["NetSupportManager RAT"]
        );
        assert_eq!(r.indicators[1].sources[0].line, 6);
    }

    #[test]
    fn escaped_bars_stay_in_cells() {
        assert_eq!(split_row(r"| a \| b | c |"), vec!["a | b", "c"]);
    }
}
