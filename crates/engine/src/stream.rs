//! A pipeline over a stored table runs while its files are read: the leading operators
//! that work row by row (`where`, `project`, `extend`, the `project-*` family, ending at
//! the first `take`) run on batches of rows as they come, so memory holds a batch, not
//! the table. What follows is fed only what it needs: `count` a number, a `summarize` the
//! rows to fold into its groups (the scan parses only the columns it reads), so memory
//! follows the groups; `take` stops the reading once it has its rows. Results equal running
//! the operators on the whole table: every batch has the table's columns, and the row-by-
//! row operators streamed here are those whose output columns and types do not depend on
//! the values (an `extend` whose type would be read off the values runs on the whole
//! table, after the stream).

use crate::error::{EngineError, Result};
use crate::exec::{apply, prefilter_for, row_count_arg, run_ops, static_type, Env, Summary};
use crate::table::{Column, Row, Table};
use crate::value::{Type, Value};
use kql::{Dynamic, Expr, Operator};
use std::collections::HashSet;

/// Rows a batch holds before the streamed operators run over it.
const BATCH: usize = 1024;

/// Runs the leading operators of `name | ops` while reading the table, and returns the
/// table they give with the operators still to run on it.
pub(crate) fn scan_pipeline<'o>(
    name: &str,
    ops: &'o [Operator],
    env: &Env,
) -> Result<(Table, &'o [Operator])> {
    loop {
        match run(name, ops, env) {
            // A record held a column the first records did not: the catalog has now read
            // every record's columns; start over with them.
            Err(EngineError::NewColumn { .. }) => continue,
            other => return other,
        }
    }
}

fn run<'o>(name: &str, ops: &'o [Operator], env: &Env) -> Result<(Table, &'o [Operator])> {
    let columns = env.catalog.columns(name)?;
    let (streamed, limit) = streamable(ops, &columns, env);
    let after = streamed + usize::from(limit.is_some());
    let row_ops = &ops[..streamed];
    let next = ops.get(after);
    let counting = next.is_some_and(|op| op.name == "count" && op.clauses.is_empty());
    let summarizing = next.filter(|op| op.name == "summarize");
    // The columns the operator after the stream reads, when it reads only some.
    let kept_names = match next {
        _ if counting => Some(HashSet::new()),
        Some(op) if op.name == "summarize" => referenced(std::slice::from_ref(op)),
        _ => None,
    };
    let needed = source_needs(row_ops, kept_names.clone());
    let mask: Option<Vec<bool>> =
        needed.map(|n| columns.iter().map(|c| n.contains(&c.name)).collect());
    let prefilter = match ops.first() {
        // A name not known yet may be a column first met past the records the schema was
        // read from, in a line the prefilter would skip: every line is read then.
        Some(op) if op.name == "where" && resolves(op, &columns, env) => {
            prefilter_for(op, &columns, env)
        }
        _ => None,
    };

    let mut out = Stream {
        limit,
        counting,
        summarizing,
        summary: None,
        taken: 0,
        kept_names,
        columns: None,
        kept: Vec::new(),
        rows: Vec::new(),
    };
    // Under a take, batches start as small as the rows it wants and grow, so that a
    // small take stops the reading early without running tiny batches throughout.
    let mut size = limit.map_or(BATCH, |n| n.clamp(1, BATCH));
    let mut batch = Vec::with_capacity(size);
    env.catalog.scan_rows(
        name,
        &columns,
        mask.as_deref(),
        prefilter.as_ref(),
        &mut |row| {
            batch.push(row);
            if batch.len() < size {
                return Ok(true);
            }
            size = (size * 2).min(BATCH);
            out.add(run_ops(row_ops, table(&columns, &mut batch), env)?, env)
        },
    )?;
    out.add(run_ops(row_ops, table(&columns, &mut batch), env)?, env)?;
    let rest = if counting || out.summary.is_some() {
        &ops[after + 1..]
    } else {
        &ops[after..]
    };
    Ok((out.finish(env)?, rest))
}

fn table(columns: &[Column], batch: &mut Vec<Row>) -> Table {
    Table {
        columns: columns.to_vec(),
        rows: std::mem::replace(batch, Vec::with_capacity(BATCH)),
    }
}

/// What the streamed operators have given so far.
struct Stream<'o> {
    /// `take N` at the end of the stream.
    limit: Option<usize>,
    /// `count` follows: only the number of rows is kept.
    counting: bool,
    /// The `summarize` that follows: rows are folded into its groups as they come.
    summarizing: Option<&'o Operator>,
    summary: Option<Summary<'o>>,
    /// The rows the stream has given (with `count`, all that is kept of them).
    taken: usize,
    /// The columns the next operator reads, when it reads only some.
    kept_names: Option<HashSet<String>>,
    columns: Option<Vec<Column>>,
    /// The positions of the kept columns among `columns`.
    kept: Vec<usize>,
    rows: Vec<Row>,
}

impl<'o> Stream<'o> {
    /// Takes in a batch's result; returns false once no more rows are wanted.
    fn add(&mut self, t: Table, env: &Env) -> Result<bool> {
        if self.columns.is_none() {
            self.kept = (0..t.columns.len())
                .filter(|&i| {
                    self.kept_names
                        .as_ref()
                        .is_none_or(|k| k.contains(&t.columns[i].name))
                })
                .collect();
            self.columns = Some(t.columns.clone());
        }
        let room = self.limit.map_or(usize::MAX, |n| n - self.taken);
        let full = t.rows.len() >= room;
        let mut rows = t.rows;
        rows.truncate(room);
        self.taken += rows.len();
        if self.counting {
            // Only their number is kept: `taken`.
            return Ok(!full);
        }
        if self.summary.is_none()
            && self
                .summarizing
                .is_some_and(|op| !resolves(op, &t.columns, env))
        {
            // Left to run on the rows kept: a name may be a column of a record not read yet.
            self.summarizing = None;
        }
        if let Some(op) = self.summarizing {
            let summary = match &mut self.summary {
                Some(s) => s,
                None => self.summary.insert(Summary::new(op, &t.columns, env)?),
            };
            summary.add(&rows, env)?;
        } else if self.kept.len() == self.columns.as_ref().map_or(0, Vec::len) {
            self.rows.extend(rows);
        } else {
            self.rows.extend(rows.into_iter().map(|r| Row {
                values: self.kept.iter().map(|&i| r.values[i].clone()).collect(),
                provenance: r.provenance,
            }));
        }
        Ok(!full)
    }

    fn finish(self, env: &Env) -> Result<Table> {
        if let Some(s) = self.summary {
            return s.finish(env);
        }
        if self.counting {
            return Ok(Table {
                columns: vec![Column {
                    name: "Count".into(),
                    ty: Type::Long,
                }],
                rows: vec![Row::new(vec![Value::Long(self.taken as i64)])],
            });
        }
        let columns = self.columns.unwrap_or_default();
        let columns = self.kept.iter().map(|&i| columns[i].clone()).collect();
        Ok(Table {
            columns,
            rows: self.rows,
        })
    }
}

/// Whether every name a `summarize` mentions is a column of `columns` or bound by `let`.
/// One that is neither may be a column first met in a record past those the schema was read
/// from, which the whole table settles; `*` as an argument (`arg_max(t, *)`) names none.
fn resolves(op: &Operator, columns: &[Column], env: &Env) -> bool {
    let mut mentioned = HashSet::new();
    let exprs = op.params.iter().map(|(_, e)| e).chain(
        op.clauses
            .iter()
            .flat_map(|c| c.items.iter().map(|it| &it.expr)),
    );
    for e in exprs {
        let known = match e {
            Expr::Call { args, .. } => args
                .iter()
                .filter(|a| !matches!(a.expr, Expr::Star(_)))
                .all(|a| names(&a.expr, &mut mentioned).is_some()),
            e => names(e, &mut mentioned).is_some(),
        };
        if !known {
            return false;
        }
    }
    mentioned
        .iter()
        .all(|n| columns.iter().any(|c| &c.name == n) || env.is_bound(n))
}

/// How many leading operators run row by row on batches, and the row count of a `take`
/// that follows them (which ends the stream).
fn streamable(ops: &[Operator], columns: &[Column], env: &Env) -> (usize, Option<usize>) {
    let mut cols = columns.to_vec();
    for (k, op) in ops.iter().enumerate() {
        let items = op.items(None);
        let row_wise = match op.name.as_str() {
            "where" | "filter" => items.iter().all(|it| !crate::window::uses_window(&it.expr)),
            "project" | "extend" => items.iter().all(|it| {
                it.names.len() <= 1
                    && !crate::window::uses_window(&it.expr)
                    && !matches!(it.expr, Expr::Name { wildcard: true, .. })
                    && static_type(&it.expr, &cols, env).is_some()
            }),
            "project-away" | "project-keep" | "project-rename" | "project-reorder" => true,
            "take" | "limit" if op.clauses.len() == 1 => match row_count_arg(op, env) {
                Ok(n) => return (k, Some(n)),
                // Left to the operator to report.
                Err(_) => false,
            },
            _ => false,
        };
        // A name that is neither a column yet nor bound by `let` may be a column of a
        // record past the ones the schema was read from: the whole table settles it.
        let resolved = || {
            let mut mentioned = HashSet::new();
            items
                .iter()
                .all(|it| names_in(&it.expr, &mut mentioned, true).is_some())
                && mentioned
                    .iter()
                    .all(|n| cols.iter().any(|c| &c.name == n) || env.is_bound(n))
        };
        if !row_wise || !resolved() {
            return (k, None);
        }
        // The columns after the operator, from running it on no rows.
        match apply(
            op,
            Table {
                columns: cols.clone(),
                rows: Vec::new(),
            },
            env,
        ) {
            Ok(t) => cols = t.columns,
            Err(_) => return (k, None),
        }
    }
    (ops.len(), None)
}

/// The table columns the streamed operators and what follows them read: `None` for all.
/// Walks back from the end: `project` names all its output needs; the others add what
/// they mention.
fn source_needs(ops: &[Operator], after: Option<HashSet<String>>) -> Option<HashSet<String>> {
    let mut need = after;
    for op in ops.iter().rev() {
        let mentioned = referenced(std::slice::from_ref(op));
        need = match op.name.as_str() {
            "project" => mentioned,
            _ => match (need, mentioned) {
                (Some(mut n), Some(m)) => {
                    n.extend(m);
                    Some(n)
                }
                _ => None,
            },
        };
    }
    need
}

/// Every name the operators' expressions mention; `None` when they may read columns not
/// named (a wildcard, `*`, `pack_all()`, a column named by a string).
fn referenced(ops: &[Operator]) -> Option<HashSet<String>> {
    let mut out = HashSet::new();
    for op in ops {
        for (_, e) in &op.params {
            names(e, &mut out)?;
        }
        for clause in &op.clauses {
            for it in &clause.items {
                names(&it.expr, &mut out)?;
                out.extend(it.names.iter().cloned());
            }
        }
    }
    Some(out)
}

fn names(e: &Expr, out: &mut HashSet<String>) -> Option<()> {
    names_in(e, out, false)
}

/// [`names`], where `star` lets `*` (`where * has "x"`) pass: it reads every column, but
/// names none that may be missing.
fn names_in(e: &Expr, out: &mut HashSet<String>, star: bool) -> Option<()> {
    let names = |e: &Expr, out: &mut HashSet<String>| names_in(e, out, star);
    match e {
        Expr::Star(_) if star => Some(()),
        Expr::Name { wildcard: true, .. } | Expr::Star(_) => None,
        Expr::Name { name, .. } => {
            out.insert(name.clone());
            Some(())
        }
        Expr::Call { func, args, .. } => {
            let f = func.to_ascii_lowercase();
            if matches!(
                f.as_str(),
                "pack_all" | "column_ifexists" | "bag_pack_columns"
            ) {
                return None;
            }
            for a in args {
                names(&a.expr, out)?;
            }
            Some(())
        }
        Expr::Binary { lhs, rhs, .. } => {
            names(lhs, out)?;
            names(rhs, out)
        }
        Expr::Unary { expr, .. } | Expr::Paren(expr, _) => names(expr, out),
        Expr::Member(b, _, _) => names(b, out),
        Expr::Index(b, i, _) | Expr::Range(b, i, _) => {
            names(b, out)?;
            names(i, out)
        }
        Expr::List(xs, _) => xs.iter().try_for_each(|x| names(x, out)),
        Expr::Dynamic(d, _) => dynamic_names(d, out),
        Expr::Pipe { source, ops, .. } => {
            names(source, out)?;
            out.extend(referenced(ops)?);
            Some(())
        }
        Expr::Source(op) => {
            out.extend(referenced(std::slice::from_ref(op))?);
            Some(())
        }
        Expr::Typed { .. } | Expr::Literal(..) | Expr::TypeOf(..) => Some(()),
    }
}

fn dynamic_names(d: &Dynamic, out: &mut HashSet<String>) -> Option<()> {
    match d {
        Dynamic::Array(xs) => xs.iter().try_for_each(|x| dynamic_names(x, out)),
        Dynamic::Bag(kv) => kv.iter().try_for_each(|(_, x)| dynamic_names(x, out)),
        Dynamic::Scalar(e) => names(e, out),
    }
}
