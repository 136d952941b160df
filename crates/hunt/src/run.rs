//! Running a pack offline: every hunt's own KQL text is parsed and its parts run by the
//! engine. All hunts over one table share one scan of its files (a row is kept when any
//! of their indicator predicates holds); each kept row then becomes a finding of each hunt
//! it matches, with the indicator and column that matched, its provenance, and the
//! exclusion that suppresses it, if any. Suppressed findings are kept, never dropped.

use crate::pack::{connector, Hunt, Pack};
use engine::{Catalog, Column, Evaluator, Provenance, Row, SourceStats, Value};
use ioc::{Indicator, IndicatorSet, Kind};
use kql::{Expr, StatementKind};
use std::collections::HashMap;
use std::sync::Arc;

/// Errors running a pack.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("hunt {hunt}: {why}")]
    Hunt { hunt: String, why: String },
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
}

/// Who and what a finding involves, for triage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entities {
    pub host: Option<String>,
    pub account: Option<String>,
    pub ips: Vec<String>,
    pub url: Option<String>,
}

/// A row a hunt returned, with the indicator it matched.
#[derive(Clone, Debug)]
pub struct Finding {
    pub hunt: String,
    pub table: String,
    /// The event time, from the hunt's time column.
    pub time: Value,
    pub column: String,
    pub indicator: Indicator,
    /// The hunt's projected columns.
    pub row: Vec<(String, Value)>,
    pub entities: Entities,
    /// What the table records was done (allowed, blocked, ...), when it says.
    pub action: Option<String>,
    pub source: Option<Arc<Provenance>>,
    /// The event came before the indicator was first seen: a retro-hunt hit.
    pub before_first_seen: bool,
    pub suppressed_by: Option<String>,
}

/// What one hunt did.
#[derive(Clone, Debug)]
pub struct HuntStats {
    pub hunt: String,
    pub table: String,
    pub rows_scanned: u64,
    pub findings: usize,
    pub suppressed: usize,
    /// Set when the table had no data: the hunt did not run.
    pub not_hunted: Option<String>,
}

/// Everything a run produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub hunts: Vec<HuntStats>,
    pub sources: Vec<SourceStats>,
}

/// A hunt's text taken apart into what the engine runs.
struct Compiled<'a> {
    hunt: &'a Hunt,
    eval: Evaluator,
    predicate: Expr,
    /// The predicate's `or` branches, one per matched column.
    branches: Vec<Expr>,
    exclusions: Vec<(String, Expr)>,
    project: Vec<String>,
}

fn compile<'a>(hunt: &'a Hunt, catalog: &Arc<Catalog>) -> Result<Compiled<'a>, RunError> {
    let bad = |why: String| RunError::Hunt {
        hunt: hunt.name.clone(),
        why,
    };
    let text = hunt.text();
    let q = kql::parse(&text).map_err(|e| bad(e[0].render(&text, &hunt.name)))?;
    let (last, lets) = q
        .statements
        .split_last()
        .ok_or_else(|| bad("empty hunt".into()))?;
    let StatementKind::Expr(Expr::Pipe { ops, .. }) = &last.kind else {
        return Err(bad("a hunt ends in a pipeline".into()));
    };
    let mut wheres = ops.iter().filter(|o| o.name == "where");
    let predicate = wheres
        .next()
        .and_then(|o| o.items(None).first())
        .map(|i| i.expr.clone())
        .ok_or_else(|| bad("no where".into()))?;
    let mut exclusions = Vec::new();
    for op in wheres {
        let name = op
            .comments
            .iter()
            .find_map(|c| c.trim().strip_prefix("Exclusion:"))
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| "exclusion".into());
        let Some(Expr::Call { func, args, .. }) = op.items(None).first().map(|i| &i.expr) else {
            return Err(bad("an exclusion reads `where not(...)`".into()));
        };
        if func != "not" || args.len() != 1 {
            return Err(bad("an exclusion reads `where not(...)`".into()));
        }
        exclusions.push((name, args[0].expr.clone()));
    }
    let project = ops
        .iter()
        .find(|o| o.name == "project")
        .map(|o| {
            o.items(None)
                .iter()
                .filter_map(|i| i.expr.as_name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut branches = Vec::new();
    split_or(&predicate, &mut branches);
    if branches.len() != hunt.matched_columns.len() {
        branches = vec![predicate.clone()];
    }
    let eval = Evaluator::new(lets, catalog.clone())?;
    Ok(Compiled {
        hunt,
        eval,
        predicate,
        branches,
        exclusions,
        project,
    })
}

fn split_or(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary { op, lhs, rhs, .. } if op == "or" => {
            split_or(lhs, out);
            split_or(rhs, out);
        }
        Expr::Paren(inner, _) => split_or(inner, out),
        e => out.push(e.clone()),
    }
}

/// Finds the indicator a list value stands for.
struct Indicators<'s> {
    set: &'s IndicatorSet,
    /// The address of each ip:port indicator, to the first such indicator (built when an
    /// address is first looked up that is no IP indicator of its own).
    by_address: std::cell::OnceCell<HashMap<String, &'s Indicator>>,
}

impl<'s> Indicators<'s> {
    fn new(set: &'s IndicatorSet) -> Indicators<'s> {
        Indicators {
            set,
            by_address: std::cell::OnceCell::new(),
        }
    }

    fn get(&self, list: &str, value: &str) -> Option<&'s Indicator> {
        let set = self.set;
        match list {
            "malicious_ips" => set
                .get(Kind::Ipv4, value)
                .or_else(|| set.get(Kind::Ipv6, value))
                .or_else(|| {
                    let by_address = self.by_address.get_or_init(|| {
                        let mut map = HashMap::new();
                        for i in set.iter().filter(|i| i.kind == Kind::IpPort) {
                            if let Some(ip) = i.ip() {
                                map.entry(ip.to_string()).or_insert(i);
                            }
                        }
                        map
                    });
                    by_address.get(value).copied()
                }),
            "malicious_domains" => set.get(Kind::Domain, value),
            "malicious_urls" => set.get(Kind::Url, value),
            "malicious_ip_ports" => set.get(Kind::IpPort, value),
            "malicious_sha256" => set.get(Kind::Sha256, value),
            "malicious_sha1" => set.get(Kind::Sha1, value),
            "malicious_md5" => set.get(Kind::Md5, value),
            _ => None,
        }
    }
}

fn text_of(columns: &[Column], row: &Row, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        let i = columns.iter().position(|c| c.name == *n)?;
        let s = row.values[i].to_kusto_string();
        (!s.is_empty()).then_some(s)
    })
}

fn entities(columns: &[Column], row: &Row) -> Entities {
    let ips = [
        "SourceIP",
        "DestinationIP",
        "LocalIP",
        "RemoteIP",
        "SrcIpAddr",
        "DstIpAddr",
    ]
    .iter()
    .filter_map(|c| text_of(columns, row, &[c]))
    .fold(Vec::new(), |mut v, ip| {
        if !v.contains(&ip) {
            v.push(ip);
        }
        v
    });
    Entities {
        host: text_of(
            columns,
            row,
            &[
                "DeviceName",
                "Computer",
                "Dvc",
                "DeviceHostName",
                "HostName",
            ],
        ),
        account: text_of(
            columns,
            row,
            &[
                "AccountUpn",
                "AccountName",
                "InitiatingProcessAccountName",
                "SourceUserName",
                "SrcUsername",
                "UserPrincipalName",
            ],
        ),
        ips,
        url: text_of(columns, row, &["Url", "RequestURL", "RemoteUrl"]),
    }
}

/// The chunks of one hunt template over one table, run as one hunt: the first chunk's
/// query with each list bound to all the chunks' values. A row it matches is a finding of
/// every chunk holding a value that matches the row, exactly as if each chunk ran alone.
struct Group<'a> {
    chunks: Vec<&'a Hunt>,
    compiled: Compiled<'a>,
    /// The values of each list, all chunks joined, in order.
    lists: Vec<(&'static str, Vec<&'a str>)>,
    /// For each list, the chunk holding each value, built at the first finding.
    owner: std::cell::OnceCell<Owners<'a>>,
}

impl<'a> Group<'a> {
    /// `shared` holds the joined lists already bound, by name: templates that use the
    /// same list share one value, so the engine compiles it once.
    fn new(
        chunks: Vec<&'a Hunt>,
        catalog: &Arc<Catalog>,
        shared: &mut HashMap<&'static str, Value>,
    ) -> Result<Group<'a>, RunError> {
        let mut compiled = compile(chunks[0], catalog)?;
        let mut lists: Vec<(&'static str, Vec<&'a str>)> = Vec::new();
        for h in &chunks {
            for l in &h.lists {
                let values = l.values.iter().map(String::as_str);
                match lists.iter_mut().find(|(n, _)| *n == l.name) {
                    Some((_, all)) => all.extend(values),
                    None => lists.push((l.name, values.collect())),
                }
            }
        }
        if chunks.len() > 1 {
            for (name, values) in &lists {
                let value = shared.entry(name).or_insert_with(|| list_value(values));
                compiled.eval.set(name, value.clone());
            }
        }
        Ok(Group {
            chunks,
            compiled,
            lists,
            owner: std::cell::OnceCell::new(),
        })
    }

    /// The chunk that holds `value` in list `list`, and the value as the pack holds it.
    fn owner(&self, list: &str, value: &str) -> Option<(usize, &'a str)> {
        let owners = self.owner.get_or_init(|| {
            let mut owners: Owners = Vec::new();
            for (k, h) in self.chunks.iter().enumerate() {
                for l in &h.lists {
                    let at = match owners.iter().position(|(n, _)| *n == l.name) {
                        Some(at) => at,
                        None => {
                            owners.push((l.name, HashMap::new()));
                            owners.len() - 1
                        }
                    };
                    for v in &l.values {
                        owners[at].1.entry(v.as_str()).or_insert(k);
                    }
                }
            }
            owners
        });
        let (_, map) = owners.iter().find(|(n, _)| *n == list)?;
        map.get_key_value(value).map(|(v, k)| (*k, *v))
    }
}

/// Per list name, the chunk each value is in.
type Owners<'a> = Vec<(&'static str, HashMap<&'a str, usize>)>;

/// A list of strings as the engine binds a `dynamic([...])` literal.
fn list_value(values: &[&str]) -> Value {
    Value::from_json(&serde_json::Value::Array(
        values
            .iter()
            .map(|v| serde_json::Value::String(v.to_string()))
            .collect(),
    ))
}

/// Runs every hunt of the pack over the catalog's sources.
pub fn run(pack: &Pack, set: &IndicatorSet, catalog: Arc<Catalog>) -> Result<Outcome, RunError> {
    let mut out = Outcome::default();
    let indicators = Indicators::new(set);
    let mut shared = HashMap::new();
    let mut tables: Vec<&str> = Vec::new();
    for h in &pack.hunts {
        if !tables.contains(&h.table) {
            tables.push(h.table);
        }
    }
    for table in tables {
        let hunts: Vec<&Hunt> = pack.hunts.iter().filter(|h| h.table == table).collect();
        if !catalog.has_source(table) {
            let (_, conn) = connector(table);
            for h in hunts {
                out.hunts.push(HuntStats {
                    hunt: h.name.clone(),
                    table: table.to_string(),
                    rows_scanned: 0,
                    findings: 0,
                    suppressed: 0,
                    not_hunted: Some(format!(
                        "no {table} data: this hunt needs the {conn} connector"
                    )),
                });
            }
            continue;
        }
        let mut stems: Vec<&str> = Vec::new();
        for h in &hunts {
            if !stems.contains(&h.stem) {
                stems.push(h.stem);
            }
        }
        let mut groups: Vec<Group> = stems
            .iter()
            .map(|stem| {
                let chunks = hunts.iter().copied().filter(|h| h.stem == *stem).collect();
                Group::new(chunks, &catalog, &mut shared)
            })
            .collect::<Result<_, _>>()?;
        let before = catalog.stats().len();
        let prefilter = table_prefilter(&groups, table);
        let keep = |cols: &[Column], row: &Row| -> engine::Result<bool> {
            for g in &groups {
                let c = &g.compiled;
                if c.eval.holds(&c.predicate, cols, row)? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let t = catalog.scan(table, &keep, prefilter.as_ref())?;
        let scanned: u64 = catalog.stats()[before..].iter().map(|s| s.rows).sum();
        for g in &mut groups {
            let mut stats: Vec<HuntStats> = g
                .chunks
                .iter()
                .map(|h| HuntStats {
                    hunt: h.name.clone(),
                    table: table.to_string(),
                    rows_scanned: scanned,
                    findings: 0,
                    suppressed: 0,
                    not_hunted: None,
                })
                .collect();
            let mut found: Vec<Vec<Finding>> = vec![Vec::new(); g.chunks.len()];
            for row in &t.rows {
                if !g
                    .compiled
                    .eval
                    .holds(&g.compiled.predicate, &t.columns, row)?
                {
                    continue;
                }
                let matched = attribute(g, &t.columns, row)?;
                if matched.is_empty() {
                    continue;
                }
                let c = &g.compiled;
                let mut suppressed_by = None;
                for (name, e) in &c.exclusions {
                    if c.eval.holds(e, &t.columns, row)? {
                        suppressed_by = Some(name.clone());
                        break;
                    }
                }
                let get = |name: &str| {
                    t.columns
                        .iter()
                        .position(|col| col.name == name)
                        .map_or(Value::Null, |i| row.values[i].clone())
                };
                for (k, column, list, value) in matched {
                    let Some(indicator) = indicators.get(list, value) else {
                        continue;
                    };
                    let time = get(c.hunt.time_column);
                    let before_first_seen = match (&time, indicator.first_seen) {
                        (Value::DateTime(t), Some(fs)) => *t < fs.0 * 10_000_000,
                        _ => false,
                    };
                    stats[k].findings += 1;
                    if suppressed_by.is_some() {
                        stats[k].suppressed += 1;
                    }
                    found[k].push(Finding {
                        hunt: g.chunks[k].name.clone(),
                        table: table.to_string(),
                        time,
                        column: column.to_string(),
                        indicator: indicator.clone(),
                        row: c.project.iter().map(|n| (n.clone(), get(n))).collect(),
                        entities: entities(&t.columns, row),
                        action: text_of(
                            &t.columns,
                            row,
                            &["DeviceAction", "ActionType", "DvcAction", "EventResult"],
                        ),
                        source: row.provenance.clone(),
                        before_first_seen,
                        suppressed_by: suppressed_by.clone(),
                    });
                }
            }
            out.findings.extend(found.into_iter().flatten());
            out.hunts.extend(stats);
        }
    }
    out.sources = catalog.stats();
    Ok(out)
}

/// The literals any row matching one of the table's hunts must contain. An ip:port hunt's
/// predicate (`strcat(ip, ":", port) in (...)`) gives no literal by itself, but its row must
/// hold the address in its IP column, so the address part of each value is required.
fn table_prefilter(groups: &[Group], table: &str) -> Option<engine::Prefilter> {
    let mut literals = Vec::new();
    for g in groups {
        let c = &g.compiled;
        match engine::derive_prefilter(&c.predicate, &c.eval, engine::schema_of(table)) {
            Some(l) => literals.extend(l),
            None if c.hunt.kind == crate::pack::HuntKind::IpPort => {
                for v in g.chunks.iter().flat_map(|h| h.values()) {
                    let ip = v.rsplit_once(':').map_or(v, |(ip, _)| ip);
                    literals.push(ip.trim_start_matches('[').trim_end_matches(']').to_string());
                }
            }
            None => return None,
        }
    }
    engine::Prefilter::new(&literals)
}

/// Which chunks of the group a matching row is a finding of, each with the column, list
/// and value it matched: for every chunk, the first branch of the predicate (in order) that
/// holds with one of the chunk's values, and the first such value in list order. The
/// values worth trying are found directly (the value an `in` tests, the values `has_any`
/// finds in the text); each is then confirmed by the engine with the list bound to that
/// value alone, so the engine's own semantics decide. Other shapes try every value.
fn attribute<'a>(
    g: &mut Group<'a>,
    columns: &[Column],
    row: &Row,
) -> Result<Vec<(usize, &'static str, &'static str, &'a str)>, RunError> {
    let mut out: Vec<(usize, &'static str, &'static str, &'a str)> = Vec::new();
    for (i, branch) in g.compiled.branches.clone().iter().enumerate() {
        let (column, list_name) = g
            .compiled
            .hunt
            .matched_columns
            .get(i)
            .copied()
            .unwrap_or(("", ""));
        let Some(values) = g
            .lists
            .iter()
            .find(|(n, _)| *n == list_name)
            .map(|(_, v)| v)
        else {
            continue;
        };
        let eval = &g.compiled.eval;
        if !eval.holds(branch, columns, row)? {
            continue;
        }
        let candidates: Vec<&'a str> = match branch {
            Expr::Binary { op, lhs, rhs, .. }
                if op == "in" && rhs.unparen().as_name() == Some(list_name) =>
            {
                let v = eval.eval(lhs, columns, row)?.to_kusto_string();
                g.owner(list_name, &v).map(|(_, v)| v).into_iter().collect()
            }
            Expr::Binary { op, lhs, rhs, .. }
                if op == "has_any" && rhs.unparen().as_name() == Some(list_name) =>
            {
                let hay = eval.eval(lhs, columns, row)?.to_kusto_string();
                match eval.has_which(list_name, &hay) {
                    Some(at) => at
                        .into_iter()
                        .filter_map(|i| values.get(i).copied())
                        .collect(),
                    None => values.clone(),
                }
            }
            _ => values.clone(),
        };
        let full = eval.get(list_name).unwrap_or(Value::Null);
        let tries: Vec<(usize, &'a str)> = candidates
            .into_iter()
            .filter_map(|v| g.owner(list_name, v))
            .collect();
        for (k, v) in tries {
            if out.iter().any(|m| m.0 == k) {
                continue;
            }
            g.compiled.eval.set(list_name, list_value(&[v]));
            if g.compiled.eval.holds(branch, columns, row)? {
                out.push((k, column, list_name, v));
            }
        }
        g.compiled.eval.set(list_name, full);
    }
    out.sort_by_key(|m| m.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{build, PackOptions};

    /// A pack whose domain and IP lists run to several chunks finds, running the chunks as
    /// one, exactly what running each chunk on its own finds: every chunk holding a value
    /// that matches a row reports it, with that value.
    #[test]
    fn chunks_run_as_one_find_what_each_chunk_finds_alone() {
        let mut feed = String::new();
        for i in 0..1_500 {
            feed.push_str(&format!(
                "evil-{i}.com\n10{}.{}.{}.7\n",
                i % 9,
                i / 250 + 1,
                i % 250
            ));
        }
        feed.push_str("cdn.evil-3.com\n");
        let read = ioc::read_feed_bytes(feed.as_bytes(), "feed.txt", None).unwrap();
        let mut set = IndicatorSet::new();
        set.extend(read.indicators);
        let pack = build(&set, &PackOptions::default());
        let dns: Vec<&Hunt> = pack
            .hunts
            .iter()
            .filter(|h| h.stem == "dnsevents-domain")
            .collect();
        assert!(dns.len() > 2, "the domains fill {} chunks", dns.len());

        let dir = std::env::temp_dir().join(format!("iochunt-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("DnsEvents.jsonl");
        let mut rows = String::new();
        for (name, ip) in [
            ("cdn.evil-3.com", "1.1.1.1"),
            ("EVIL-1499.COM", "1.1.1.1"),
            ("xevil-7.com", "100.1.9.7"),
            ("www.example.org", "1.2.3.4, 103.2.50.7"),
            ("evil-700.com.", "1.1.1.1"),
        ] {
            rows.push_str(&format!(
                "{{\"TimeGenerated\":\"2026-06-01T00:00:00Z\",\"Computer\":\"pc\",\"Name\":\"{name}\",\"IPAddresses\":\"{ip}\"}}\n"
            ));
        }
        std::fs::write(&log, rows).unwrap();
        let catalog = || {
            let mut c = Catalog::new();
            c.bind(
                "DnsEvents",
                engine::Source::new(log.clone(), "DnsEvents.jsonl".into()),
            );
            Arc::new(c)
        };
        let key = |f: &Finding| {
            (
                f.hunt.clone(),
                f.source.as_ref().map(|s| s.line),
                f.column.clone(),
                f.indicator.value.clone(),
            )
        };
        let together: Vec<_> = run(&pack, &set, catalog())
            .unwrap()
            .findings
            .iter()
            .map(key)
            .collect();
        let mut alone = Vec::new();
        for h in &pack.hunts {
            let one = Pack {
                hunts: vec![h.clone()],
                ..pack.clone()
            };
            alone.extend(run(&one, &set, catalog()).unwrap().findings.iter().map(key));
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(together, alone);
        let hunts: Vec<&str> = together.iter().map(|k| k.0.as_str()).collect();
        assert!(together.len() >= 6, "{together:?}");
        assert!(
            hunts
                .iter()
                .filter(|h| h.starts_with("dnsevents-domain"))
                .count()
                >= 4
        );
        assert!(hunts.iter().any(|h| h.starts_with("dnsevents-ip")));
    }
}
