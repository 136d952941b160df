//! Refanging (undoing the ways analysts break indicators so nobody clicks them) and defanging
//! for output in the reference report's style.

/// Bracketed or escaped forms that stand for one character or separator, lower-cased.
/// Each is recognised inside `[]`, `()` or `{}`.
const BRACKETED: &[(&str, &str)] = &[
    (".", "."),
    ("dot", "."),
    (":", ":"),
    ("://", "://"),
    (":/", ":/"),
    ("/", "/"),
    ("at", "@"),
    ("@", "@"),
];

/// Scheme spellings that stand for a real scheme (compared without case).
const SCHEMES: &[(&str, &str)] = &[
    ("hxxps", "https"),
    ("hxxp", "http"),
    ("hxtps", "https"),
    ("hxtp", "http"),
    ("hxps", "https"),
    ("hxp", "http"),
    ("fxps", "ftps"),
    ("fxp", "ftp"),
    ("sftx", "sftp"),
];

/// Undoes defanging: `hxxp[:]//evil[.]com` becomes `http://evil.com`.
///
/// Handles `hxxp`/`hXXp`/`hxxps`/`fxp` schemes, `[.]` `(.)` `{.}` `[dot]` `(dot)`, `[:]`,
/// `[://]`, `[at]` `(at)` `[@]`, `\.` and any mix of them. Whitespace around a bracketed
/// separator is dropped (`evil [.] com`). Anything else, IPv6 brackets included, is kept.
pub fn refang(raw: &str) -> String {
    let s = raw.trim();
    if !s.contains(['[', '(', '{', '\\']) {
        // Nothing bracketed or escaped, as in most feeds: only a scheme may need fixing.
        return fix_scheme(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let c = bytes[i];
        if matches!(c, b'[' | b'(' | b'{') {
            if let Some((replacement, used)) = bracketed_at(&s[i..]) {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push_str(replacement);
                i += used;
                while i < s.len() && bytes[i] == b' ' {
                    i += 1;
                }
                continue;
            }
        }
        if c == b'\\' && bytes.get(i + 1) == Some(&b'.') {
            out.push('.');
            i += 2;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    fix_scheme(out)
}

/// If `s` starts with a bracketed separator, its replacement and the bytes it used.
fn bracketed_at(s: &str) -> Option<(&'static str, usize)> {
    let close = match s.as_bytes()[0] {
        b'[' => ']',
        b'(' => ')',
        _ => '}',
    };
    let end = s[1..].find(close)? + 1;
    let inner = s[1..end].trim();
    if inner.len() > 4 {
        return None;
    }
    let inner = inner.to_ascii_lowercase();
    BRACKETED
        .iter()
        .find(|(form, _)| *form == inner)
        .map(|(_, r)| (*r, end + 1))
}

/// Rewrites a defanged scheme at the start (`hXXps://` -> `https://`).
fn fix_scheme(s: String) -> String {
    let Some(colon) = s.find("://") else {
        return s;
    };
    let scheme = &s[..colon];
    for (fake, real) in SCHEMES {
        if scheme.eq_ignore_ascii_case(fake) {
            return format!("{real}{}", &s[colon..]);
        }
    }
    s
}

/// Defangs a normalised value in the reference's style: `http`/`https` become
/// `hxxp`/`hxxps`, dots of IP addresses become `[.]`, domains are left as they are.
pub fn defang(value: &str, kind: crate::Kind) -> String {
    use crate::Kind;
    match kind {
        Kind::Ipv4 | Kind::IpPort => value.replace('.', "[.]"),
        Kind::Url => {
            let (scheme, rest) = match value.split_once("://") {
                Some((s, r)) => (s, r),
                None => return value.to_string(),
            };
            let scheme = match scheme.to_ascii_lowercase().as_str() {
                "http" => "hxxp".to_string(),
                "https" => "hxxps".to_string(),
                "ftp" => "fxp".to_string(),
                other => other.to_string(),
            };
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(host_end);
            let host = crate::normalize::authority_host(authority);
            let authority = if host.parse::<std::net::Ipv4Addr>().is_ok() {
                authority.replace('.', "[.]")
            } else {
                authority.to_string()
            };
            format!("{scheme}://{authority}{tail}")
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    #[test]
    fn refangs_every_bracket_form() {
        for form in [
            "[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}", "[DOT]", "\\.",
        ] {
            assert_eq!(refang(&format!("evil{form}com")), "evil.com", "{form}");
        }
        assert_eq!(refang("evil [.] com"), "evil.com");
        assert_eq!(refang("user[at]evil.com"), "user@evil.com");
        assert_eq!(refang("user(at)evil.com"), "user@evil.com");
        assert_eq!(refang("user[@]evil.com"), "user@evil.com");
    }

    #[test]
    fn refangs_schemes_in_any_case() {
        assert_eq!(refang("hxxp://a.com/x"), "http://a.com/x");
        assert_eq!(refang("hXXp://a.com/x"), "http://a.com/x");
        assert_eq!(refang("HXXPS://a.com/x"), "https://a.com/x");
        assert_eq!(refang("fxp://a.com/x"), "ftp://a.com/x");
        assert_eq!(refang("hxxp[:]//a[.]com"), "http://a.com");
        assert_eq!(refang("hxxps[://]a[.]com"), "https://a.com");
    }

    #[test]
    fn refangs_urls_with_ports_paths_and_queries() {
        assert_eq!(
            refang("hxxp://91[.]92[.]34[.]228:8080/test22.txt?a=1&b=(x)#frag"),
            "http://91.92.34.228:8080/test22.txt?a=1&b=(x)#frag"
        );
        assert_eq!(
            refang("hxxps://evil(.)com[:]443/p[.]php"),
            "https://evil.com:443/p.php"
        );
    }

    #[test]
    fn keeps_ipv6_brackets() {
        assert_eq!(refang("[2001:db8::1]:443"), "[2001:db8::1]:443");
        assert_eq!(
            refang("hxxp://[2001:db8::1]:8080/x"),
            "http://[2001:db8::1]:8080/x"
        );
        assert_eq!(refang("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn refang_of_clean_value_is_identity() {
        for v in [
            "https://beroniw.com/hwkOP5",
            "91.92.34.228:80",
            "abc.example.org",
        ] {
            assert_eq!(refang(v), v);
        }
    }

    #[test]
    fn defangs_in_reference_style() {
        assert_eq!(
            defang("https://beroniw.com/hwkOP5", Kind::Url),
            "hxxps://beroniw.com/hwkOP5"
        );
        assert_eq!(
            defang("http://91.92.34.228/test22.txt", Kind::Url),
            "hxxp://91[.]92[.]34[.]228/test22.txt"
        );
        assert_eq!(
            defang("91.92.34.228:80", Kind::IpPort),
            "91[.]92[.]34[.]228:80"
        );
        assert_eq!(defang("beroniw.com", Kind::Domain), "beroniw.com");
    }

    #[test]
    fn defang_then_refang_is_identity() {
        for (v, k) in [
            ("http://91.92.34.228:8080/a.b?c=d.e", Kind::Url),
            ("https://x.evil.com/p", Kind::Url),
            ("1.2.3.4:443", Kind::IpPort),
            ("1.2.3.4", Kind::Ipv4),
        ] {
            assert_eq!(refang(&defang(v, k)), v);
        }
    }
}
