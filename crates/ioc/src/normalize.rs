//! Normalisation and validation of one refanged value into an indicator value of a kind.
//!
//! Domains and URL hosts are lower-cased, stripped of a trailing dot and converted from IDN to
//! punycode; hashes are lower-cased (Defender stores them so, and KQL's `in` is case-sensitive);
//! the rest of a URL is kept as given, because hunts match it literally.

use crate::refang::refang;
use crate::Kind;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Maps a feed's kind name (`ip:port`, `md5_hash`, `ipv4-addr`, `ip-dst`, ...) to a kind.
pub fn parse_declared_kind(name: &str) -> Option<Kind> {
    let n = name.trim().to_ascii_lowercase();
    Some(match n.as_str() {
        "domain" | "hostname" | "fqdn" | "domain-name" | "dns" => Kind::Domain,
        "url" | "uri" | "link" => Kind::Url,
        "ip" | "ipv4" | "ip-dst" | "ip-src" | "ipv4-addr" | "ip_address" | "ipv4_address" => {
            Kind::Ipv4
        }
        "ipv6" | "ipv6-addr" => Kind::Ipv6,
        "ip:port" | "ip-dst|port" | "ip-src|port" | "ip_port" | "ipport" => Kind::IpPort,
        "md5" | "md5_hash" | "md5hash" => Kind::Md5,
        "sha1" | "sha1_hash" | "sha-1" => Kind::Sha1,
        "sha256" | "sha256_hash" | "sha-256" => Kind::Sha256,
        _ => return None,
    })
}

/// Guesses the kind of a refanged value, for feeds that do not say it.
pub fn infer_kind(value: &str) -> Option<Kind> {
    let v = value.trim();
    if v.contains("://") {
        return Some(Kind::Url);
    }
    if v.parse::<Ipv4Addr>().is_ok() {
        return Some(Kind::Ipv4);
    }
    if v.parse::<Ipv6Addr>().is_ok() {
        return Some(Kind::Ipv6);
    }
    if let Some((ip, port)) = crate::indicator::split_ip_port(v) {
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        if ip.parse::<std::net::IpAddr>().is_ok() && port.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Kind::IpPort);
        }
    }
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match v.len() {
            32 => Some(Kind::Md5),
            40 => Some(Kind::Sha1),
            64 => Some(Kind::Sha256),
            _ => None,
        };
    }
    if v.contains('.') && !v.contains(['/', ' ', '@']) {
        return Some(Kind::Domain);
    }
    if v.contains('/') && v.split('/').next().is_some_and(|h| h.contains('.')) {
        return Some(Kind::Url);
    }
    None
}

/// Refangs, normalises and validates `raw` as an indicator of `declared` kind (or of the
/// inferred kind when `None`). The error says why the value is not acceptable.
pub fn normalize(raw: &str, declared: Option<Kind>) -> Result<(String, Kind), String> {
    let value = refang(raw);
    if value.is_empty() {
        return Err("empty value".into());
    }
    let kind = match declared {
        Some(k) => k,
        None => infer_kind(&value).ok_or("not a recognisable indicator")?,
    };
    let normal = match kind {
        Kind::Domain => normalize_domain(&value)?,
        Kind::Url => normalize_url(&value)?,
        // The parser takes only the canonical dotted form (no leading zeros), so a value it
        // accepts is already normal.
        Kind::Ipv4 => match value.parse::<Ipv4Addr>() {
            Ok(_) => value,
            Err(_) => return Err("not a valid IPv4 address".into()),
        },
        Kind::Ipv6 => value
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
            .map_err(|_| "not a valid IPv6 address")?
            .to_string(),
        Kind::IpPort => parse_ip_port(&value)?,
        Kind::Md5 => normalize_hash(&value, 32, "md5")?,
        Kind::Sha1 => normalize_hash(&value, 40, "sha1")?,
        Kind::Sha256 => normalize_hash(&value, 64, "sha256")?,
    };
    Ok((normal, kind))
}

fn normalize_hash(v: &str, len: usize, name: &str) -> Result<String, String> {
    if !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{name} hash has non-hex characters"));
    }
    if v.len() != len {
        return Err(format!(
            "{name} hash must be {len} hex digits, not {}",
            v.len()
        ));
    }
    Ok(v.to_ascii_lowercase())
}

/// Parses `ip:port` (IPv4) or `[ipv6]:port` into its canonical text. Port 0 is accepted
/// here (and flagged later); ports past 65535 are not.
fn parse_ip_port(v: &str) -> Result<String, String> {
    let (ip, port) = crate::indicator::split_ip_port(v).ok_or("expected ip:port")?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
        return Err(format!("invalid port {port:?}"));
    }
    let digits = port;
    let port: u32 = port.parse().map_err(|_| "invalid port")?;
    if port > 65535 {
        return Err(format!("port {port} is out of range 1-65535"));
    }
    if v.starts_with('[') {
        let ip: Ipv6Addr = ip.parse().map_err(|_| "not a valid IPv6 address")?;
        Ok(format!("[{ip}]:{port}"))
    } else {
        ip.parse::<Ipv4Addr>()
            .map_err(|_| "not a valid IPv4 address")?;
        // The parser takes only the canonical dotted form, so the address is written as
        // given; the port is rewritten only when it has leading zeros.
        if digits.len() > 1 && digits.starts_with('0') {
            Ok(format!("{ip}:{port}"))
        } else {
            Ok(v.to_string())
        }
    }
}

/// Lower-cases, strips the trailing dot, converts IDN to punycode and checks the label
/// structure and that the name ends in a public suffix with a label before it.
pub(crate) fn normalize_domain(v: &str) -> Result<String, String> {
    let v = v.strip_suffix('.').unwrap_or(v);
    if v.is_empty() {
        return Err("empty domain".into());
    }
    if v.parse::<Ipv4Addr>().is_ok() {
        return Err("an IP address, not a domain".into());
    }
    let ascii = if v.is_ascii() {
        v.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(v).map_err(|_| "invalid internationalised domain name")?
    };
    if ascii.len() > 253 {
        return Err("domain is longer than 253 characters".into());
    }
    if !ascii.contains('.') {
        return Err("domain needs at least two labels".into());
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err("domain has an empty label".into());
        }
        if label.len() > 63 {
            return Err("domain label is longer than 63 characters".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "label {label:?} has characters a domain cannot have"
            ));
        }
    }
    match psl::suffix(ascii.as_bytes()) {
        Some(s) if s.is_known() && s.as_bytes().len() < ascii.len() => Ok(ascii),
        Some(s) if s.is_known() => Err("domain is only a public suffix".into()),
        _ => Err(format!(
            "{:?} is not a public suffix",
            ascii.rsplit('.').next().unwrap_or_default()
        )),
    }
}

/// Checks a URL's scheme and host and lower-cases both; the rest is kept as given.
fn normalize_url(v: &str) -> Result<String, String> {
    let (scheme, rest) = v.split_once("://").ok_or("URL has no scheme")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err(format!("invalid URL scheme {scheme:?}"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("URL contains whitespace or control characters".into());
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(host_end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    let host = if host.starts_with('[') {
        let ip: Ipv6Addr = host[1..host.len() - 1]
            .parse()
            .map_err(|_| "invalid IPv6 host")?;
        format!("[{ip}]")
    } else if host.parse::<Ipv4Addr>().is_ok() {
        host.to_string()
    } else {
        normalize_domain(host).map_err(|e| format!("URL host: {e}"))?
    };
    let mut out = String::with_capacity(v.len());
    out.push_str(&scheme.to_ascii_lowercase());
    out.push_str("://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(&host);
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    out.push_str(tail);
    Ok(out)
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), String> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport.find(']').ok_or("unclosed IPv6 host")?;
        let port = hostport[end + 1..].strip_prefix(':');
        (&hostport[..=end], port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("URL has no host".into());
    }
    if let Some(p) = port {
        if p.is_empty()
            || !p.bytes().all(|b| b.is_ascii_digit())
            || p.parse::<u32>().ok() > Some(65535)
        {
            return Err(format!("URL has an invalid port {p:?}"));
        }
    }
    Ok((host, port))
}

/// The host part of an authority (`user@host:port`), brackets kept for IPv6.
pub(crate) fn authority_host(authority: &str) -> &str {
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    split_host_port(hostport)
        .map(|(h, _)| h)
        .unwrap_or(hostport)
}

/// The host of a normalised URL, without IPv6 brackets.
pub(crate) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = authority_host(&rest[..end]);
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, kind: Option<Kind>) -> (String, Kind) {
        normalize(raw, kind).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn infers_kinds() {
        assert_eq!(ok("hxxp://a[.]com/x", None).1, Kind::Url);
        assert_eq!(ok("1.2.3.4", None).1, Kind::Ipv4);
        assert_eq!(ok("2001:DB8::1", None), ("2001:db8::1".into(), Kind::Ipv6));
        assert_eq!(
            ok("1[.]2[.]3[.]4:80", None),
            ("1.2.3.4:80".into(), Kind::IpPort)
        );
        assert_eq!(
            ok("[2001:db8::1]:443", None),
            ("[2001:db8::1]:443".into(), Kind::IpPort)
        );
        assert_eq!(ok(&"A".repeat(32), None), ("a".repeat(32), Kind::Md5));
        assert_eq!(ok(&"b".repeat(40), None).1, Kind::Sha1);
        assert_eq!(ok(&"C".repeat(64), None), ("c".repeat(64), Kind::Sha256));
        assert_eq!(
            ok("Evil[.]Example[.]COM.", None),
            ("evil.example.com".into(), Kind::Domain)
        );
    }

    #[test]
    fn normalises_url_scheme_and_host_only() {
        assert_eq!(
            ok("HXXPS://BeroNiw[.]COM/hwkOP5?Q=A", None).0,
            "https://beroniw.com/hwkOP5?Q=A"
        );
        assert_eq!(
            ok("http://[2001:DB8::1]:8080/X", None).0,
            "http://[2001:db8::1]:8080/X"
        );
    }

    #[test]
    fn ipv4_values_are_kept_only_in_canonical_form() {
        assert_eq!(ok(" 91[.]92.34.228 ", Some(Kind::Ipv4)).0, "91.92.34.228");
        for leading_zero in ["091.92.34.228", "91.92.34.08"] {
            assert!(normalize(leading_zero, Some(Kind::Ipv4)).is_err());
        }
    }

    #[test]
    fn converts_idn_to_punycode() {
        assert_eq!(ok("bücher.de", None).0, "xn--bcher-kva.de");
        assert_eq!(
            ok("https://bücher.de/Ä", None).0,
            "https://xn--bcher-kva.de/Ä"
        );
    }

    #[test]
    fn rejects_invalid_values_with_reasons() {
        let err = |raw: &str, k: Option<Kind>| normalize(raw, k).unwrap_err();
        assert!(err("1.2.3.4:70000", None).contains("out of range"));
        assert!(err("example.notatld", Some(Kind::Domain)).contains("public suffix"));
        assert!(err("-bad.com", Some(Kind::Domain)).contains("hyphen"));
        assert!(err("co.uk", Some(Kind::Domain)).contains("only a public suffix"));
        assert!(err("abcd", Some(Kind::Md5)).contains("32 hex digits"));
        assert!(err(&"z".repeat(32), Some(Kind::Md5)).contains("non-hex"));
        assert!(err("999.1.1.1", Some(Kind::Ipv4)).contains("IPv4"));
        assert!(err("evil.com/x", Some(Kind::Url)).contains("no scheme"));
        assert!(err("http://evil.com:99999/", Some(Kind::Url)).contains("port"));
        assert!(err("hello", None).contains("not a recognisable"));
    }

    #[test]
    fn accepts_port_zero_for_flagging() {
        assert_eq!(ok("1.2.3.4:0", None).0, "1.2.3.4:0");
    }
}
