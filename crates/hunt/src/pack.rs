//! Packs: the hunts generated from an indicator set, as KQL text per Sentinel table.
//!
//! The first four hunts are the reference detection's, written exactly as it writes them;
//! the rest cover what it misses (domains and URLs in proxy and endpoint logs, IPs among DNS
//! answers, ip:port pairs, file hashes, and the ASIM tables). A hunt is only made where
//! indicators of its kind exist. Lists longer than Sentinel accepts are split into chunks:
//! at most 10,000 values for `has_any`/`in`, and at most 10,000 characters of query text, so
//! that every hunt can also be a scheduled analytics rule.

use ioc::{Indicator, IndicatorSet, Kind};

/// Sentinel's limits.
pub const MAX_LIST_VALUES: usize = 10_000;
pub const MAX_RULE_QUERY_CHARS: usize = 10_000;

/// What a hunt looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuntKind {
    Ip,
    Domain,
    Url,
    IpPort,
    Hash,
}

impl HuntKind {
    pub fn name(self) -> &'static str {
        match self {
            HuntKind::Ip => "ip",
            HuntKind::Domain => "domain",
            HuntKind::Url => "url",
            HuntKind::IpPort => "ipport",
            HuntKind::Hash => "hash",
        }
    }
}

/// A `let` list of indicator values: its name and the kinds whose values it holds.
#[derive(Clone, Debug)]
pub struct List {
    pub name: &'static str,
    pub values: Vec<String>,
}

/// One hunt: a KQL query over one table.
#[derive(Clone, Debug)]
pub struct Hunt {
    /// File stem: `commonsecuritylog-ip`, with `-2`, `-3`... for further chunks.
    pub name: String,
    /// The first comment line.
    pub title: String,
    /// `// Source: <source> - <family>` when the reference writes one.
    pub source_line: Option<String>,
    pub table: &'static str,
    pub kind: HuntKind,
    /// The template's name: every chunk of one template shares it.
    pub stem: &'static str,
    pub chunk: usize,
    pub lists: Vec<List>,
    /// The `where` predicate, over the lists' names.
    pub predicate: String,
    /// Columns the predicate tests, each with the lists it is tested against.
    pub matched_columns: Vec<(&'static str, &'static str)>,
    pub project: Vec<&'static str>,
    pub time_column: &'static str,
    /// Exclusion predicates rendered as `| where not(...)` before the projection.
    pub exclusions: Vec<(String, String)>,
}

/// Data connector and table notes for the report and rules.
pub fn connector(table: &str) -> (&'static str, &'static str) {
    match table {
        "CommonSecurityLog" => ("CommonEventFormat", "Common Event Format (CEF) via AMA"),
        "DnsEvents" => ("DNS", "DNS (Windows DNS servers)"),
        "DeviceNetworkEvents" | "DeviceFileEvents" | "DeviceProcessEvents" => (
            "MicrosoftThreatProtection",
            "Microsoft Defender XDR (Defender for Endpoint)",
        ),
        "UrlClickEvents" => (
            "MicrosoftThreatProtection",
            "Microsoft Defender XDR (Defender for Office 365)",
        ),
        "ASimDnsActivityLogs" => (
            "ASimDnsActivityLogs",
            "ASIM DNS activity (normalized DNS sources)",
        ),
        "ASimNetworkSessionLogs" => (
            "ASimNetworkSessionLogs",
            "ASIM network sessions (normalized firewall and flow sources)",
        ),
        "ASimWebSessionLogs" => (
            "ASimWebSessionLogs",
            "ASIM web sessions (normalized proxy sources)",
        ),
        _ => ("", ""),
    }
}

/// Options for building a pack.
#[derive(Clone, Debug, Default)]
pub struct PackOptions {
    /// The source a hunt's comment names (`ThreatFox`, or `--source NAME`).
    pub source: String,
    /// Keep indicators flagged as likely false positives.
    pub include_flagged: bool,
}

/// The hunts of a pack and the indicators left out of it.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    /// The families the pack covers, for people: one name, a few joined, or a count.
    pub family: String,
    /// What rule ids are derived from: the family name, or "multiple families", so that a
    /// refreshed feed keeps its rules' ids.
    pub family_key: String,
    pub hunts: Vec<Hunt>,
    /// Flagged indicators left out, with their reasons.
    pub left_out: Vec<(Indicator, String)>,
}

/// Values of the set by what the hunts need, in feed order, deduplicated.
#[derive(Default)]
struct Values {
    ips: Vec<String>,
    domains: Vec<String>,
    urls: Vec<String>,
    ip_ports: Vec<String>,
    md5: Vec<String>,
    sha1: Vec<String>,
    sha256: Vec<String>,
}

/// Deduplicates values per list in one pass (feeds can hold millions of indicators).
fn values(set: &[&Indicator]) -> Values {
    let mut v = Values::default();
    let mut seen: std::collections::HashSet<(&'static str, String)> =
        std::collections::HashSet::new();
    let mut push = |list: &mut Vec<String>, name: &'static str, value: String| {
        if seen.insert((name, value.clone())) {
            list.push(value);
        }
    };
    for i in set {
        match i.kind {
            Kind::Ipv4 | Kind::Ipv6 => push(&mut v.ips, "ip", i.value.clone()),
            Kind::IpPort => {
                if let Some(ip) = i.ip() {
                    push(&mut v.ips, "ip", ip.to_string());
                }
                push(&mut v.ip_ports, "ipport", i.value.clone());
            }
            Kind::Domain => push(&mut v.domains, "domain", i.value.clone()),
            Kind::Url => push(&mut v.urls, "url", i.value.clone()),
            Kind::Md5 => push(&mut v.md5, "md5", i.value.clone()),
            Kind::Sha1 => push(&mut v.sha1, "sha1", i.value.clone()),
            Kind::Sha256 => push(&mut v.sha256, "sha256", i.value.clone()),
        }
    }
    v
}

/// A hunt's shape before its lists are filled and chunked.
struct Template {
    stem: &'static str,
    title: &'static str,
    with_source: bool,
    table: &'static str,
    kind: HuntKind,
    /// (list name, the values)
    lists: Vec<(&'static str, Vec<String>)>,
    predicate: &'static str,
    matched: Vec<(&'static str, &'static str)>,
    project: Vec<&'static str>,
    time: &'static str,
}

/// Builds the pack for a set of indicators.
pub fn build(set: &IndicatorSet, opts: &PackOptions) -> Pack {
    let mut left_out = Vec::new();
    let kept: Vec<&Indicator> = set
        .iter()
        .filter(|i| {
            if i.is_flagged() && !opts.include_flagged {
                left_out.push(((*i).clone(), i.flags.join("; ")));
                return false;
            }
            true
        })
        .collect();
    let families = set.families();
    let family = match families.len() {
        0 => "unknown family".to_string(),
        1..=3 => families.join(", "),
        n => format!("{n} malware families"),
    };
    let family_key = if families.len() == 1 {
        families[0].clone()
    } else {
        "multiple families".to_string()
    };
    let v = values(&kept);
    let mut hunts = Vec::new();
    for t in templates(&v) {
        if t.lists.iter().all(|(_, vals)| vals.is_empty()) {
            continue;
        }
        hunts.extend(chunk(t, opts, &family));
    }
    Pack {
        family,
        family_key,
        hunts,
        left_out,
    }
}

fn templates(v: &Values) -> Vec<Template> {
    let ip_list = || vec![("malicious_ips", v.ips.clone())];
    let domain_list = || vec![("malicious_domains", v.domains.clone())];
    let url_list = || vec![("malicious_urls", v.urls.clone())];
    let hash_lists = || {
        let mut l = Vec::new();
        if !v.sha256.is_empty() {
            l.push(("malicious_sha256", v.sha256.clone()));
        }
        if !v.sha1.is_empty() {
            l.push(("malicious_sha1", v.sha1.clone()));
        }
        if !v.md5.is_empty() {
            l.push(("malicious_md5", v.md5.clone()));
        }
        l
    };
    vec![
        Template {
            stem: "commonsecuritylog-ip",
            title: "Hunt for network connections to known malicious IPs",
            with_source: true,
            table: "CommonSecurityLog",
            kind: HuntKind::Ip,
            lists: ip_list(),
            predicate: "DestinationIP in (malicious_ips) or SourceIP in (malicious_ips)",
            matched: vec![("DestinationIP", "malicious_ips"), ("SourceIP", "malicious_ips")],
            project: vec!["TimeGenerated", "SourceIP", "DestinationIP", "DestinationPort", "DeviceAction", "Activity"],
            time: "TimeGenerated",
        },
        Template {
            stem: "devicenetworkevents-ip",
            title: "Hunt in Defender for Endpoint network events",
            with_source: false,
            table: "DeviceNetworkEvents",
            kind: HuntKind::Ip,
            lists: ip_list(),
            predicate: "RemoteIP in (malicious_ips)",
            matched: vec![("RemoteIP", "malicious_ips")],
            project: vec!["Timestamp", "DeviceName", "RemoteIP", "RemotePort", "InitiatingProcessFileName", "ActionType"],
            time: "Timestamp",
        },
        Template {
            stem: "dnsevents-domain",
            title: "Hunt for DNS queries to known malicious domains",
            with_source: true,
            table: "DnsEvents",
            kind: HuntKind::Domain,
            lists: domain_list(),
            predicate: "Name has_any (malicious_domains)",
            matched: vec![("Name", "malicious_domains")],
            project: vec!["TimeGenerated", "Computer", "Name", "IPAddresses", "QueryType"],
            time: "TimeGenerated",
        },
        Template {
            stem: "urlclickevents-url",
            title: "Hunt for access to known malicious URLs",
            with_source: true,
            table: "UrlClickEvents",
            kind: HuntKind::Url,
            lists: url_list(),
            predicate: "Url has_any (malicious_urls)",
            matched: vec![("Url", "malicious_urls")],
            project: vec!["Timestamp", "AccountUpn", "Url", "ActionType", "IsClickedThrough"],
            time: "Timestamp",
        },
        Template {
            stem: "devicenetworkevents-domain",
            title: "Hunt for endpoint connections to known malicious domains",
            with_source: true,
            table: "DeviceNetworkEvents",
            kind: HuntKind::Domain,
            lists: domain_list(),
            predicate: "RemoteUrl has_any (malicious_domains)",
            matched: vec![("RemoteUrl", "malicious_domains")],
            project: vec!["Timestamp", "DeviceName", "RemoteUrl", "RemoteIP", "RemotePort", "InitiatingProcessFileName", "ActionType"],
            time: "Timestamp",
        },
        Template {
            stem: "devicenetworkevents-url",
            title: "Hunt for endpoint connections to known malicious URLs",
            with_source: true,
            table: "DeviceNetworkEvents",
            kind: HuntKind::Url,
            lists: url_list(),
            predicate: "RemoteUrl has_any (malicious_urls)",
            matched: vec![("RemoteUrl", "malicious_urls")],
            project: vec!["Timestamp", "DeviceName", "RemoteUrl", "RemoteIP", "RemotePort", "InitiatingProcessFileName", "ActionType"],
            time: "Timestamp",
        },
        Template {
            stem: "commonsecuritylog-domain",
            title: "Hunt for proxy and firewall traffic to known malicious domains",
            with_source: true,
            table: "CommonSecurityLog",
            kind: HuntKind::Domain,
            lists: domain_list(),
            predicate: "DestinationHostName has_any (malicious_domains) or RequestURL has_any (malicious_domains)",
            matched: vec![("DestinationHostName", "malicious_domains"), ("RequestURL", "malicious_domains")],
            project: vec!["TimeGenerated", "SourceIP", "DestinationHostName", "RequestURL", "DeviceAction", "Activity"],
            time: "TimeGenerated",
        },
        Template {
            stem: "commonsecuritylog-url",
            title: "Hunt for proxy traffic to known malicious URLs",
            with_source: true,
            table: "CommonSecurityLog",
            kind: HuntKind::Url,
            lists: url_list(),
            predicate: "RequestURL has_any (malicious_urls)",
            matched: vec![("RequestURL", "malicious_urls")],
            project: vec!["TimeGenerated", "SourceIP", "DestinationHostName", "RequestURL", "DeviceAction", "Activity"],
            time: "TimeGenerated",
        },
        Template {
            stem: "dnsevents-ip",
            title: "Hunt for DNS answers that resolve to known malicious IPs",
            with_source: true,
            table: "DnsEvents",
            kind: HuntKind::Ip,
            lists: ip_list(),
            predicate: "IPAddresses has_any (malicious_ips)",
            matched: vec![("IPAddresses", "malicious_ips")],
            project: vec!["TimeGenerated", "Computer", "Name", "IPAddresses", "QueryType"],
            time: "TimeGenerated",
        },
        Template {
            stem: "devicenetworkevents-ipport",
            title: "Hunt for endpoint connections to known malicious IP and port pairs",
            with_source: true,
            table: "DeviceNetworkEvents",
            kind: HuntKind::IpPort,
            lists: vec![("malicious_ip_ports", v.ip_ports.clone())],
            predicate: "strcat(iff(RemoteIP contains \":\", strcat(\"[\", RemoteIP, \"]\"), RemoteIP), \":\", RemotePort) in (malicious_ip_ports)",
            matched: vec![("RemoteIP", "malicious_ip_ports")],
            project: vec!["Timestamp", "DeviceName", "RemoteIP", "RemotePort", "InitiatingProcessFileName", "ActionType"],
            time: "Timestamp",
        },
        Template {
            stem: "commonsecuritylog-ipport",
            title: "Hunt for network connections to known malicious IP and port pairs",
            with_source: true,
            table: "CommonSecurityLog",
            kind: HuntKind::IpPort,
            lists: vec![("malicious_ip_ports", v.ip_ports.clone())],
            predicate: "strcat(iff(DestinationIP contains \":\", strcat(\"[\", DestinationIP, \"]\"), DestinationIP), \":\", DestinationPort) in (malicious_ip_ports)",
            matched: vec![("DestinationIP", "malicious_ip_ports")],
            project: vec!["TimeGenerated", "SourceIP", "DestinationIP", "DestinationPort", "DeviceAction", "Activity"],
            time: "TimeGenerated",
        },
        Template {
            stem: "devicefileevents-hash",
            title: "Hunt for files with known malicious hashes",
            with_source: true,
            table: "DeviceFileEvents",
            kind: HuntKind::Hash,
            lists: hash_lists(),
            predicate: "",
            matched: vec![],
            project: vec!["Timestamp", "DeviceName", "FileName", "FolderPath", "SHA256", "SHA1", "MD5", "InitiatingProcessFileName", "ActionType"],
            time: "Timestamp",
        },
        Template {
            stem: "deviceprocessevents-hash",
            title: "Hunt for processes started from known malicious files",
            with_source: true,
            table: "DeviceProcessEvents",
            kind: HuntKind::Hash,
            lists: hash_lists(),
            predicate: "",
            matched: vec![],
            project: vec!["Timestamp", "DeviceName", "AccountName", "FileName", "FolderPath", "ProcessCommandLine", "SHA256", "SHA1", "MD5", "InitiatingProcessFileName"],
            time: "Timestamp",
        },
        Template {
            stem: "asimdnsactivitylogs-domain",
            title: "Hunt for DNS queries to known malicious domains (ASIM)",
            with_source: true,
            table: "ASimDnsActivityLogs",
            kind: HuntKind::Domain,
            lists: domain_list(),
            predicate: "DnsQuery has_any (malicious_domains)",
            matched: vec![("DnsQuery", "malicious_domains")],
            project: vec!["TimeGenerated", "Dvc", "SrcIpAddr", "DnsQuery", "DnsResponseName", "EventResult"],
            time: "TimeGenerated",
        },
        Template {
            stem: "asimnetworksessionlogs-ip",
            title: "Hunt for network sessions with known malicious IPs (ASIM)",
            with_source: true,
            table: "ASimNetworkSessionLogs",
            kind: HuntKind::Ip,
            lists: ip_list(),
            predicate: "DstIpAddr in (malicious_ips) or SrcIpAddr in (malicious_ips)",
            matched: vec![("DstIpAddr", "malicious_ips"), ("SrcIpAddr", "malicious_ips")],
            project: vec!["TimeGenerated", "Dvc", "SrcIpAddr", "DstIpAddr", "DstPortNumber", "DvcAction", "SrcUsername"],
            time: "TimeGenerated",
        },
        Template {
            stem: "asimwebsessionlogs-url",
            title: "Hunt for web sessions to known malicious URLs (ASIM)",
            with_source: true,
            table: "ASimWebSessionLogs",
            kind: HuntKind::Url,
            lists: url_list(),
            predicate: "Url has_any (malicious_urls)",
            matched: vec![("Url", "malicious_urls")],
            project: vec!["TimeGenerated", "Dvc", "SrcIpAddr", "SrcUsername", "Url", "DstIpAddr", "DvcAction"],
            time: "TimeGenerated",
        },
    ]
}

/// The hash predicate tests only the kinds of hash the pack has.
fn hash_predicate(lists: &[List]) -> (String, Vec<(&'static str, &'static str)>) {
    let mut parts = Vec::new();
    let mut matched = Vec::new();
    for l in lists {
        let col = match l.name {
            "malicious_sha256" => "SHA256",
            "malicious_sha1" => "SHA1",
            _ => "MD5",
        };
        parts.push(format!("{col} in ({})", l.name));
        matched.push((col, l.name));
    }
    (parts.join(" or "), matched)
}

/// Splits a template into hunts whose lists and text stay within Sentinel's limits.
fn chunk(t: Template, opts: &PackOptions, family: &str) -> Vec<Hunt> {
    let make = |lists: Vec<List>, n: usize| {
        let (predicate, matched) = if t.kind == HuntKind::Hash {
            hash_predicate(&lists)
        } else {
            (t.predicate.to_string(), t.matched.clone())
        };
        Hunt {
            name: if n == 1 {
                t.stem.to_string()
            } else {
                format!("{}-{n}", t.stem)
            },
            title: t.title.to_string(),
            source_line: t
                .with_source
                .then(|| format!("Source: {} - {family}", opts.source)),
            table: t.table,
            kind: t.kind,
            stem: t.stem,
            chunk: n,
            lists,
            predicate,
            matched_columns: matched,
            project: t.project.clone(),
            time_column: t.time,
            exclusions: Vec::new(),
        }
    };
    // Fill chunks greedily, value by value, across the template's lists in order. The text
    // length is counted up from the query with every list present and empty (an upper
    // bound on the fixed part), plus each value's literal and separator.
    let empty: Vec<List> = t
        .lists
        .iter()
        .map(|(name, _)| List {
            name,
            values: Vec::new(),
        })
        .collect();
    let base = make(empty, 1).text().len();
    let budget = MAX_RULE_QUERY_CHARS - 1_500; // room for exclusions and the rule's wrapping
    let mut hunts = Vec::new();
    let mut current: Vec<List> = Vec::new();
    let mut used = base;
    for (name, vals) in &t.lists {
        for v in vals {
            let cost = kql::string_literal(v).len() + 2;
            let in_list = current
                .iter()
                .find(|l| l.name == *name)
                .map_or(0, |l| l.values.len());
            if !current.is_empty() && (used + cost > budget || in_list + 1 > MAX_LIST_VALUES) {
                hunts.push(make(std::mem::take(&mut current), hunts.len() + 1));
                used = base;
            }
            add_value(&mut current, name, v);
            used += cost;
        }
    }
    if !current.is_empty() {
        hunts.push(make(current, hunts.len() + 1));
    }
    hunts
}

fn add_value(lists: &mut Vec<List>, name: &'static str, v: &str) {
    match lists.iter_mut().find(|l| l.name == name) {
        Some(l) => l.values.push(v.to_string()),
        None => lists.push(List {
            name,
            values: vec![v.to_string()],
        }),
    }
}

impl Hunt {
    /// The hunt's KQL, in the reference's layout.
    pub fn text(&self) -> String {
        let mut out = format!("// {}\n", self.title);
        if let Some(s) = &self.source_line {
            out.push_str(&format!("// {s}\n"));
        }
        for l in &self.lists {
            let items: Vec<String> = l.values.iter().map(|v| kql::string_literal(v)).collect();
            out.push_str(&format!(
                "let {} = dynamic([{}]);\n",
                l.name,
                items.join(", ")
            ));
        }
        out.push_str(self.table);
        out.push_str(&format!("\n| where {}\n", self.predicate));
        for (name, pred) in &self.exclusions {
            out.push_str(&format!(
                "// Exclusion: {}\n| where not({pred})\n",
                name.replace('\n', " ")
            ));
        }
        out.push_str(&format!("| project {}\n", self.project.join(", ")));
        out.push_str(&format!("| order by {} desc", self.time_column));
        out
    }

    /// The (deduplicated) indicator values this hunt matches.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.lists
            .iter()
            .flat_map(|l| l.values.iter().map(String::as_str))
    }
}
