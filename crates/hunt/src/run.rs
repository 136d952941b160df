//! Running a pack offline: every hunt's own KQL text is parsed and its parts run by the
//! engine. All hunts over one table share one scan of its files (a row is kept when any
//! of their indicator predicates holds); each kept row then becomes a finding of each hunt
//! it matches, with the indicator and column that matched, its provenance, and the
//! exclusion that suppresses it, if any. Suppressed findings are kept, never dropped.

use crate::pack::{connector, Hunt, Pack};
use engine::{Catalog, Column, Evaluator, Provenance, Row, SourceStats, Value};
use ioc::{Indicator, IndicatorSet, Kind};
use kql::{Expr, StatementKind};
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

/// The indicator a list value stands for.
fn indicator_for<'s>(set: &'s IndicatorSet, list: &str, value: &str) -> Option<&'s Indicator> {
    match list {
        "malicious_ips" => set
            .get(Kind::Ipv4, value)
            .or_else(|| set.get(Kind::Ipv6, value))
            .or_else(|| {
                set.iter().find(|i| {
                    i.kind == Kind::IpPort && i.ip().is_some_and(|ip| ip.to_string() == value)
                })
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

/// Runs every hunt of the pack over the catalog's sources.
pub fn run(pack: &Pack, set: &IndicatorSet, catalog: Arc<Catalog>) -> Result<Outcome, RunError> {
    let mut out = Outcome::default();
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
        let mut compiled: Vec<Compiled> = hunts
            .iter()
            .map(|h| compile(h, &catalog))
            .collect::<Result<_, _>>()?;
        let before = catalog.stats().len();
        let prefilter = table_prefilter(&compiled, table);
        let keep = |cols: &[Column], row: &Row| -> engine::Result<bool> {
            for c in &compiled {
                if c.eval.holds(&c.predicate, cols, row)? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let t = catalog.scan(table, &keep, prefilter.as_ref())?;
        let scanned: u64 = catalog.stats()[before..].iter().map(|s| s.rows).sum();
        for c in &mut compiled {
            let mut stats = HuntStats {
                hunt: c.hunt.name.clone(),
                table: table.to_string(),
                rows_scanned: scanned,
                findings: 0,
                suppressed: 0,
                not_hunted: None,
            };
            for row in &t.rows {
                if !c.eval.holds(&c.predicate, &t.columns, row)? {
                    continue;
                }
                let Some((column, indicator)) = attribute(c, set, &t.columns, row)? else {
                    continue;
                };
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
                let time = get(c.hunt.time_column);
                let before_first_seen = match (&time, indicator.first_seen) {
                    (Value::DateTime(t), Some(fs)) => *t < fs.0 * 10_000_000,
                    _ => false,
                };
                stats.findings += 1;
                if suppressed_by.is_some() {
                    stats.suppressed += 1;
                }
                out.findings.push(Finding {
                    hunt: c.hunt.name.clone(),
                    table: table.to_string(),
                    time,
                    column,
                    indicator,
                    row: c.project.iter().map(|n| (n.clone(), get(n))).collect(),
                    entities: entities(&t.columns, row),
                    action: text_of(
                        &t.columns,
                        row,
                        &["DeviceAction", "ActionType", "DvcAction", "EventResult"],
                    ),
                    source: row.provenance.clone(),
                    before_first_seen,
                    suppressed_by,
                });
            }
            out.hunts.push(stats);
        }
    }
    out.sources = catalog.stats();
    Ok(out)
}

/// The literals any row matching one of the table's hunts must contain. An ip:port hunt's
/// predicate (`strcat(ip, ":", port) in (...)`) gives no literal by itself, but its row must
/// hold the address in its IP column, so the address part of each value is required.
fn table_prefilter(compiled: &[Compiled], table: &str) -> Option<engine::Prefilter> {
    let mut literals = Vec::new();
    for c in compiled {
        match engine::derive_prefilter(&c.predicate, &c.eval, engine::schema_of(table)) {
            Some(l) => literals.extend(l),
            None if c.hunt.kind == crate::pack::HuntKind::IpPort => {
                for v in c.hunt.values() {
                    let ip = v.rsplit_once(':').map_or(v, |(ip, _)| ip);
                    literals.push(ip.trim_start_matches('[').trim_end_matches(']').to_string());
                }
            }
            None => return None,
        }
    }
    engine::Prefilter::new(&literals)
}

/// Which column and indicator a matching row matched: each branch of the predicate is
/// tried with its list bound to one value at a time, so the engine's own semantics decide.
fn attribute(
    c: &mut Compiled,
    set: &IndicatorSet,
    columns: &[Column],
    row: &Row,
) -> Result<Option<(String, Indicator)>, RunError> {
    for (i, branch) in c.branches.iter().enumerate() {
        let (column, list_name) = c.hunt.matched_columns.get(i).copied().unwrap_or(("", ""));
        let Some(list) = c.hunt.lists.iter().find(|l| l.name == list_name) else {
            continue;
        };
        if !c.eval.holds(branch, columns, row)? {
            continue;
        }
        let full = c.eval.get(list_name).unwrap_or(Value::Null);
        let mut found = None;
        for v in &list.values {
            c.eval
                .set(list_name, Value::from_json(&serde_json::json!([v])));
            if c.eval.holds(branch, columns, row)? {
                found = Some(v.clone());
                break;
            }
        }
        c.eval.set(list_name, full);
        if let Some(v) = found {
            if let Some(ind) = indicator_for(set, list_name, &v) {
                return Ok(Some((column.to_string(), ind.clone())));
            }
        }
    }
    Ok(None)
}
