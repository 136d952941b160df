//! Reasons an indicator would cause false positives in a hunt. Flagged indicators are kept
//! and reported; hunt generation leaves them out unless asked to include them.

use crate::Kind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Very common benign domains: an indicator equal to one of them (or its `www.` name)
/// would match a large share of any organisation's traffic. Subdomains are specific hosts
/// and are not flagged.
const BENIGN_DOMAINS: &[&str] = &[
    "google.com",
    "googleapis.com",
    "gstatic.com",
    "youtube.com",
    "microsoft.com",
    "windows.com",
    "windowsupdate.com",
    "office.com",
    "office365.com",
    "live.com",
    "outlook.com",
    "bing.com",
    "msn.com",
    "azure.com",
    "apple.com",
    "icloud.com",
    "amazon.com",
    "amazonaws.com",
    "cloudflare.com",
    "akamai.net",
    "akamaiedge.net",
    "facebook.com",
    "github.com",
    "githubusercontent.com",
    "dropbox.com",
    "yahoo.com",
    "wikipedia.org",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "discord.com",
    "telegram.org",
    "t.me",
    "pastebin.com",
    "example.com",
];

/// The reasons `value` (normalised, of `kind`) would cause false positives, if any.
pub fn flag_reasons(value: &str, kind: Kind) -> Vec<String> {
    let mut reasons = Vec::new();
    match kind {
        Kind::Ipv4 | Kind::Ipv6 => {
            if let Ok(ip) = value.parse::<IpAddr>() {
                reasons.extend(ip_reason(ip));
            }
        }
        Kind::IpPort => {
            if let Some((ip, port)) = crate::indicator::split_ip_port(value) {
                if let Ok(ip) = ip.parse::<IpAddr>() {
                    reasons.extend(ip_reason(ip));
                }
                if port == "0" {
                    reasons.push("port 0".to_string());
                }
            }
        }
        Kind::Domain => {
            let bare = value.strip_prefix("www.").unwrap_or(value);
            if BENIGN_DOMAINS.contains(&bare) {
                reasons.push(format!("common benign domain {bare}"));
            }
        }
        Kind::Url => {
            if let Some(host) = crate::normalize::url_host(value) {
                if let Ok(ip) = host.parse::<IpAddr>() {
                    reasons.extend(ip_reason(ip));
                }
            }
        }
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => {}
    }
    reasons
}

fn ip_reason(ip: IpAddr) -> Option<String> {
    let why = match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_reason(v4),
            None => v6_reason(v6),
        },
    }?;
    Some(format!("{why} address"))
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(if ip.is_private() {
        "private"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_link_local() {
        "link-local"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_unspecified() || o[0] == 0 {
        "unspecified"
    } else if ip.is_broadcast() || o[0] >= 240 {
        "reserved"
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        "shared (carrier-grade NAT)"
    } else if ip.is_documentation() {
        "documentation"
    } else if o[0] == 198 && (o[1] == 18 || o[1] == 19) {
        "benchmarking"
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        "reserved"
    } else {
        return None;
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_multicast() {
        "multicast"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "private (unique local)"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_non_routable_addresses() {
        let cases = [
            ("10.1.2.3", "private address"),
            ("192.168.0.1", "private address"),
            ("172.16.5.4", "private address"),
            ("127.0.0.1", "loopback address"),
            ("169.254.1.1", "link-local address"),
            ("224.0.0.1", "multicast address"),
            ("240.0.0.1", "reserved address"),
            ("0.0.0.0", "unspecified address"),
            ("100.64.0.1", "shared (carrier-grade NAT) address"),
        ];
        for (ip, why) in cases {
            assert_eq!(flag_reasons(ip, Kind::Ipv4), vec![why.to_string()], "{ip}");
        }
        assert_eq!(
            flag_reasons("fe80::1", Kind::Ipv6),
            vec!["link-local address"]
        );
        assert_eq!(flag_reasons("::1", Kind::Ipv6), vec!["loopback address"]);
        assert_eq!(
            flag_reasons("fd00::1", Kind::Ipv6),
            vec!["private (unique local) address"]
        );
    }

    #[test]
    fn flags_port_zero_and_private_ip_port() {
        assert_eq!(flag_reasons("8.8.4.4:0", Kind::IpPort), vec!["port 0"]);
        assert_eq!(
            flag_reasons("10.0.0.1:0", Kind::IpPort),
            vec!["private address", "port 0"]
        );
    }

    #[test]
    fn flags_benign_domains_but_not_their_subdomains() {
        assert_eq!(
            flag_reasons("www.google.com", Kind::Domain),
            vec!["common benign domain google.com"]
        );
        assert!(flag_reasons("evil.pages.google.com", Kind::Domain).is_empty());
        assert!(flag_reasons("beroniw.com", Kind::Domain).is_empty());
    }

    #[test]
    fn public_addresses_are_not_flagged() {
        assert!(flag_reasons("91.92.34.228", Kind::Ipv4).is_empty());
        assert!(flag_reasons("91.92.34.228:443", Kind::IpPort).is_empty());
        assert!(flag_reasons("2606:4700::1111", Kind::Ipv6).is_empty());
    }

    #[test]
    fn flags_urls_on_private_hosts() {
        assert_eq!(
            flag_reasons("http://192.168.1.1/x", Kind::Url),
            vec!["private address"]
        );
    }
}
