//! The operators that combine tables: `join` (every kind), `lookup` and `union`
//! (outer or inner, with `withsource=`).

use crate::error::{err, unsupported, EngineError, Result};
use crate::exec::{eval_tabular, named_table, Env};
use crate::table::{unique_name, Column, Row, Table};
use crate::value::{GroupKey, Type, Value};
use kql::{Expr, Operator};
use std::collections::HashMap;

/// Join keys: `on a, b` or `on $left.a == $right.b`.
fn join_keys(op: &Operator) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for it in op.items(Some("on")) {
        match &it.expr {
            Expr::Name { name, .. } => out.push((name.clone(), name.clone())),
            Expr::Binary {
                op: eq, lhs, rhs, ..
            } if eq == "==" => {
                let side = |e: &Expr| match e {
                    Expr::Member(b, n, _) => b.as_name().map(|s| (s.to_string(), n.clone())),
                    _ => None,
                };
                match (side(lhs), side(rhs)) {
                    (Some((l, a)), Some((_, b))) if l == "$left" => out.push((a, b)),
                    (Some((_, a)), Some((_, b))) => out.push((b, a)),
                    _ => return err("join keys read `on col` or `on $left.a == $right.b`"),
                }
            }
            _ => return err("join keys read `on col` or `on $left.a == $right.b`"),
        }
    }
    Ok(out)
}

pub(crate) fn join(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let kind = op
        .param("kind")
        .and_then(Expr::as_name)
        .unwrap_or("innerunique")
        .to_string();
    join_kind(op, t, env, &kind, false)
}

pub(crate) fn join_kind(
    op: &Operator,
    left: Table,
    env: &Env,
    kind: &str,
    lookup: bool,
) -> Result<Table> {
    let right = eval_tabular(&op.items(None)[0].expr, env)?;
    let keys = join_keys(op)?;
    let li: Vec<usize> = keys
        .iter()
        .map(|(l, _)| {
            left.index_of(l)
                .ok_or_else(|| EngineError::Query(format!("join: unknown left column `{l}`")))
        })
        .collect::<Result<_>>()?;
    let ri: Vec<usize> = keys
        .iter()
        .map(|(_, r)| {
            right
                .index_of(r)
                .ok_or_else(|| EngineError::Query(format!("join: unknown right column `{r}`")))
        })
        .collect::<Result<_>>()?;
    // Null keys match each other, as in Kusto's joins.
    let key = |r: &Row, idx: &[usize]| -> Option<Vec<GroupKey>> {
        Some(
            idx.iter()
                .map(|&i| r.values[i].scalar().group_key())
                .collect(),
        )
    };
    let mut index: HashMap<Vec<GroupKey>, Vec<usize>> = HashMap::new();
    for (i, r) in right.rows.iter().enumerate() {
        if let Some(k) = key(r, &ri) {
            index.entry(k).or_default().push(i);
        }
    }
    let mut left_rows = left.rows;
    if kind == "innerunique" {
        let mut seen = std::collections::HashSet::new();
        left_rows.retain(|r| key(r, &li).is_none_or(|k| seen.insert(k)));
    }
    // Output columns: left, then right (renamed on conflict); lookup drops right keys.
    let mut columns = left.columns.clone();
    let right_keep: Vec<usize> = (0..right.columns.len())
        .filter(|i| !(lookup && ri.contains(i)))
        .collect();
    for &i in &right_keep {
        let c = &right.columns[i];
        columns.push(Column {
            name: unique_name(&c.name, &columns),
            ty: c.ty,
        });
    }
    let nulls_right = |_: ()| {
        right_keep
            .iter()
            .map(|&i| Value::null_of(right.columns[i].ty))
            .collect::<Vec<_>>()
    };
    let mut rows = Vec::new();
    let mut right_used = vec![false; right.rows.len()];
    for l in &left_rows {
        let matches = key(l, &li)
            .and_then(|k| index.get(&k))
            .cloned()
            .unwrap_or_default();
        match kind {
            "leftsemi" => {
                if !matches.is_empty() {
                    rows.push(l.clone());
                }
                continue;
            }
            "leftanti" | "anti" | "leftantisemi" => {
                if matches.is_empty() {
                    rows.push(l.clone());
                }
                continue;
            }
            _ => {}
        }
        for &m in &matches {
            right_used[m] = true;
            if matches!(kind, "rightsemi" | "rightanti" | "rightantisemi") {
                continue;
            }
            let mut values = l.values.clone();
            values.extend(right_keep.iter().map(|&i| right.rows[m].values[i].clone()));
            rows.push(Row {
                values,
                provenance: l.provenance.clone(),
            });
        }
        if matches.is_empty() && matches!(kind, "leftouter" | "fullouter") {
            let mut values = l.values.clone();
            values.extend(nulls_right(()));
            rows.push(Row {
                values,
                provenance: l.provenance.clone(),
            });
        }
    }
    match kind {
        "leftsemi" | "leftanti" | "anti" | "leftantisemi" => {
            return Ok(Table {
                columns: left.columns,
                rows,
            })
        }
        "rightsemi" | "rightanti" | "rightantisemi" => {
            let want = kind == "rightsemi";
            let rows = right
                .rows
                .iter()
                .zip(&right_used)
                .filter(|(_, u)| **u == want)
                .map(|(r, _)| r.clone())
                .collect();
            return Ok(Table {
                columns: right.columns,
                rows,
            });
        }
        "rightouter" | "fullouter" => {
            for (m, used) in right_used.iter().enumerate() {
                if !used {
                    let mut values: Vec<Value> =
                        left.columns.iter().map(|c| Value::null_of(c.ty)).collect();
                    values.extend(right_keep.iter().map(|&i| right.rows[m].values[i].clone()));
                    rows.push(Row {
                        values,
                        provenance: right.rows[m].provenance.clone(),
                    });
                }
            }
        }
        "inner" | "innerunique" | "leftouter" => {}
        other => return unsupported(format!("join kind `{other}`")),
    }
    Ok(Table { columns, rows })
}

pub(crate) fn union(op: &Operator, first: Option<Table>, env: &Env) -> Result<Table> {
    // Each table with the name `withsource=` gives it: a stored table's own name, else
    // `union_argN` by position, as Kusto names them.
    let mut tables: Vec<(String, Table)> = first
        .into_iter()
        .map(|t| ("union_arg0".to_string(), t))
        .collect();
    for it in op.items(None) {
        let position = format!("union_arg{}", tables.len());
        match &it.expr {
            Expr::Name {
                name,
                wildcard: true,
                ..
            } => {
                for n in env
                    .stored_tables()
                    .into_iter()
                    .filter(|n| n.starts_with(name.as_str()))
                {
                    tables.push((n.clone(), named_table(&n, env)?));
                }
            }
            Expr::Name { name, .. } if !env.is_bound(name) => {
                tables.push((name.clone(), eval_tabular(&it.expr, env)?));
            }
            e => tables.push((position, eval_tabular(e, env)?)),
        }
    }
    let source = op
        .param("withsource")
        .or_else(|| op.param("WithSource"))
        .and_then(Expr::as_name)
        .map(str::to_string);
    let inner = op.param("kind").and_then(Expr::as_name) == Some("inner");
    let mut columns: Vec<Column> = Vec::new();
    for (_, t) in &tables {
        for c in &t.columns {
            if !columns.iter().any(|x| x.name == c.name) {
                columns.push(c.clone());
            }
        }
    }
    if inner {
        columns.retain(|c| tables.iter().all(|(_, t)| t.index_of(&c.name).is_some()));
    }
    let mut rows = Vec::new();
    for (name, t) in tables {
        let map: Vec<Option<usize>> = columns.iter().map(|c| t.index_of(&c.name)).collect();
        let tag = Value::str(&name);
        for r in t.rows {
            let mut values: Vec<Value> = Vec::with_capacity(map.len() + 1);
            if source.is_some() {
                values.push(tag.clone());
            }
            values.extend(map.iter().zip(&columns).map(|(m, c)| {
                m.map_or(Value::null_of(c.ty), |i| {
                    r.values[i].clone().convert_keep(c.ty)
                })
            }));
            rows.push(Row {
                values,
                provenance: r.provenance,
            });
        }
    }
    if let Some(name) = source {
        columns.insert(
            0,
            Column {
                name,
                ty: Type::String,
            },
        );
    }
    Ok(Table { columns, rows })
}

impl Value {
    fn convert_keep(self, ty: Type) -> Value {
        if ty == Type::Dynamic || self.is_null() {
            self
        } else {
            self.convert(ty)
        }
    }
}
