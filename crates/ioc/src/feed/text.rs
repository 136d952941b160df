//! Plain text feeds: one indicator a line, kind inferred, `#` comments (a whole line, or
//! after whitespace at the end of one).

use super::{Entry, FeedError, FeedFormat, FeedRead};

pub(crate) fn read(text: &str, path: &str) -> Result<FeedRead, FeedError> {
    let mut out = FeedRead::new(FeedFormat::Text);
    for (n, line) in text.lines().enumerate() {
        let mut t = line.trim();
        if t.starts_with('#') || t.starts_with("//") || t.is_empty() {
            continue;
        }
        if let Some(at) = t.find(" #").or_else(|| t.find("\t#")) {
            t = t[..at].trim_end();
        }
        out.push(
            path,
            Entry {
                raw: t.to_string(),
                line: n + 1,
                ..Entry::default()
            },
        );
    }
    if out.indicators.is_empty() && !out.rejections.is_empty() {
        let first = &out.rejections[0];
        let why = format!(
            "no line holds an indicator ({} lines rejected; line {}: {})",
            out.rejections.len(),
            first.origin.line,
            first.reason
        );
        return Err(FeedError::NotAFeed {
            path: path.into(),
            why,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    #[test]
    fn infers_kinds_and_skips_comments() {
        let text = "# feed\nevil[.]com\n\nhxxp://evil[.]com/a # comment\n1.2.3.4:443\nnot an ioc\n";
        let r = read(text, "f.txt").unwrap();
        let kinds: Vec<Kind> = r.indicators.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, vec![Kind::Domain, Kind::Url, Kind::IpPort]);
        assert_eq!(r.indicators[1].value, "http://evil.com/a");
        assert_eq!(r.rejections.len(), 1);
        assert_eq!(r.rejections[0].origin.line, 6);
    }

    #[test]
    fn prose_is_not_a_feed() {
        let err = read("Dear team,\nplease see below.\n", "letter.txt").unwrap_err();
        assert!(err.to_string().contains("not an indicator feed"), "{err}");
    }
}
