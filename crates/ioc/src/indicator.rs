//! The indicator model: what an indicator is, where it came from, and what a feed said of it.

use crate::time::Timestamp;
use std::fmt;
use std::net::IpAddr;

/// The kinds of indicator iochunt hunts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Domain,
    Url,
    Ipv4,
    Ipv6,
    /// An IP address with a port: `1.2.3.4:80` or `[2001:db8::1]:443`.
    IpPort,
    Md5,
    Sha1,
    Sha256,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Domain,
        Kind::Url,
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::IpPort,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
    ];

    /// The name used in output and on the command line (`ip:port`, `sha256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::IpPort => "ip:port",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
        }
    }

    /// Parses a kind name as printed by [`Kind::name`].
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    pub fn is_hash(self) -> bool {
        matches!(self, Kind::Md5 | Kind::Sha1 | Kind::Sha256)
    }

    pub fn is_ip(self) -> bool {
        matches!(self, Kind::Ipv4 | Kind::Ipv6 | Kind::IpPort)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A malware family as a feed names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Malware {
    /// The printable name, e.g. `NetSupportManager RAT`.
    pub name: String,
    /// The feed's identifier, e.g. ThreatFox's `win.netsupportmanager_rat`.
    pub id: Option<String>,
    pub alias: Option<String>,
}

impl Malware {
    pub fn named(name: &str) -> Malware {
        Malware {
            name: name.to_string(),
            id: None,
            alias: None,
        }
    }

    /// True when `query` names this family by its name, id or one of its aliases
    /// (case-insensitive).
    pub fn matches(&self, query: &str) -> bool {
        let q = query.trim();
        self.name.eq_ignore_ascii_case(q)
            || self
                .id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(q))
            || self
                .alias
                .as_deref()
                .is_some_and(|a| a.split(',').any(|x| x.trim().eq_ignore_ascii_case(q)))
    }
}

/// Where an entry came from: a file and a 1-based line, or a record number for
/// formats without meaningful lines (JSON objects).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Shared by every entry of one feed, so a large feed does not copy its path per entry.
    pub file: std::sync::Arc<str>,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One indicator, normalised and validated, with what the feeds said of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    /// The normalised, refanged value: what hunts match.
    pub value: String,
    pub kind: Kind,
    /// Shared with every indicator of the feed that names the same one.
    pub threat_type: Option<std::sync::Arc<str>>,
    pub malware: Vec<std::sync::Arc<Malware>>,
    /// 0 to 100.
    pub confidence: Option<u8>,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub reference: Option<String>,
    pub tags: Vec<std::sync::Arc<str>>,
    pub reporter: Option<std::sync::Arc<str>>,
    pub sources: Vec<Origin>,
    /// Reasons this indicator would cause false positives (private IP, benign domain, ...).
    pub flags: Vec<String>,
}

impl Indicator {
    /// A bare indicator of a kind with no metadata, flags computed.
    pub fn new(value: String, kind: Kind, origin: Origin) -> Indicator {
        let flags = crate::flags::flag_reasons(&value, kind);
        Indicator {
            value,
            kind,
            threat_type: None,
            malware: Vec::new(),
            confidence: None,
            first_seen: None,
            last_seen: None,
            reference: None,
            tags: Vec::new(),
            reporter: None,
            sources: vec![origin],
            flags,
        }
    }

    /// The IP address of an IP or ip:port indicator.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.kind {
            Kind::Ipv4 | Kind::Ipv6 => self.value.parse().ok(),
            Kind::IpPort => split_ip_port(&self.value).and_then(|(ip, _)| ip.parse().ok()),
            _ => None,
        }
    }

    /// The port of an ip:port indicator.
    pub fn port(&self) -> Option<u16> {
        match self.kind {
            Kind::IpPort => split_ip_port(&self.value).and_then(|(_, p)| p.parse().ok()),
            _ => None,
        }
    }

    /// The host of a URL indicator (a domain or an IP address, without brackets).
    pub fn host(&self) -> Option<&str> {
        match self.kind {
            Kind::Url => crate::normalize::url_host(&self.value),
            Kind::Domain => Some(&self.value),
            _ => None,
        }
    }

    /// Family names, in the order the feeds gave them.
    pub fn malware_names(&self) -> Vec<&str> {
        self.malware.iter().map(|m| m.name.as_str()).collect()
    }

    /// Tags, in the order the feeds gave them.
    pub fn tag_names(&self) -> Vec<&str> {
        self.tags.iter().map(|t| t.as_ref()).collect()
    }

    pub fn is_flagged(&self) -> bool {
        !self.flags.is_empty()
    }
}

/// Splits `1.2.3.4:80` or `[::1]:80` into address text and port text.
pub(crate) fn split_ip_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        Some((ip, port))
    } else {
        s.rsplit_once(':')
    }
}

/// An entry a feed held that is not an acceptable indicator, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub origin: Origin,
    pub raw: String,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: rejected {:?}: {}",
            self.origin, self.raw, self.reason
        )
    }
}
