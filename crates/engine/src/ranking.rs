//! The ranking operators beyond `top`: `top-nested` (top values within top values) and
//! `top-hitters` (the keys with the largest sums).

use crate::aggregate;
use crate::error::{err, unsupported, Result};
use crate::eval::{eval, Scope};
use crate::exec::{auto_name, Env};
use crate::table::{unique_name, Column, Row, Table};
use crate::value::{GroupKey, Type, Value};
use kql::{Expr, Item, Operator};
use std::cmp::Ordering;
use std::collections::HashMap;

/// `top-hitters N of KEY [by VALUE]`: the N keys with the largest sum of VALUE (or the
/// most rows), as `approximate_sum_VALUE` (`approximate_count_KEY`). Kusto estimates them;
/// here they are exact, ties going to the key seen later.
pub(crate) fn top_hitters(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let empty: [Column; 0] = [];
    let n = match op.items(None).first() {
        Some(it) => eval(
            &it.expr,
            &Scope {
                columns: &empty,
                values: &[],
                env,
            },
        )?
        .scalar()
        .as_i64()
        .unwrap_or(0)
        .max(0) as usize,
        None => return err("top-hitters needs a number"),
    };
    let Some(key) = op.items(Some("of")).first() else {
        return err("top-hitters reads `top-hitters N of KEY [by VALUE]`");
    };
    let by = op.items(Some("by")).first();
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut groups: Vec<(Value, Value)> = Vec::new();
    for r in &t.rows {
        let scope = Scope {
            columns: &t.columns,
            values: &r.values,
            env,
        };
        let k = eval(&key.expr, &scope)?.scalar();
        let add = match by {
            Some(b) => eval(&b.expr, &scope)?.scalar(),
            None => Value::Long(1),
        };
        let g = *index.entry(k.group_key()).or_insert_with(|| {
            groups.push((k, Value::Long(0)));
            groups.len() - 1
        });
        if !add.is_null() {
            groups[g].1 = crate::eval::apply_binary("+", &groups[g].1, &add)?;
        }
    }
    let mut order: Vec<usize> = (0..groups.len()).rev().collect();
    order.sort_by(|&a, &b| groups[b].1.compare(&groups[a].1).unwrap_or(Ordering::Equal));
    order.truncate(n);
    // Kusto lists them from the smallest up (ties as chosen).
    order.sort_by(|&a, &b| groups[a].1.compare(&groups[b].1).unwrap_or(Ordering::Equal));
    let key_name = key
        .names
        .first()
        .cloned()
        .unwrap_or_else(|| auto_name(&key.expr, 0));
    let value_name = match by {
        Some(b) => format!("approximate_sum_{}", auto_name(&b.expr, 1)),
        None => format!("approximate_count_{key_name}"),
    };
    let rows: Vec<Row> = order
        .iter()
        .map(|&g| Row::new(vec![groups[g].0.clone(), groups[g].1.clone()]))
        .collect();
    let ty_of = |k: usize| {
        rows.iter()
            .find_map(|r| r.values[k].type_of())
            .unwrap_or(Type::Long)
    };
    let columns = vec![
        Column {
            name: key_name,
            ty: ty_of(0),
        },
        Column {
            name: value_name,
            ty: ty_of(1),
        },
    ];
    Ok(Table { columns, rows })
}

/// One level of `top-nested N of KEY by AGG [asc|desc]`.
struct NestedLevel<'a> {
    take: Option<usize>,
    key: &'a Item,
    agg: &'a Item,
    ascending: bool,
}

/// `top-nested`: the top N keys by an aggregate, then within each the top N of the next
/// key, and so on; a row per path, each level giving its key and `aggregated_KEY`.
pub(crate) fn top_nested(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let mut levels: Vec<NestedLevel> = Vec::new();
    let mut take: Option<usize> = None;
    let mut key: Option<&Item> = None;
    for c in &op.clauses {
        match c.keyword.as_deref() {
            None => {
                take = match c.items.first() {
                    Some(it) => {
                        let n = eval(
                            &it.expr,
                            &Scope {
                                columns: &[],
                                values: &[],
                                env,
                            },
                        )?;
                        n.scalar().as_i64().map(|n| n.max(0) as usize)
                    }
                    None => None,
                }
            }
            Some("of") => key = c.items.first(),
            Some("by") => {
                let (Some(k), Some(a)) = (key.take(), c.items.first()) else {
                    return err("top-nested reads `top-nested N of KEY by AGGREGATE`");
                };
                levels.push(NestedLevel {
                    take: take.take(),
                    key: k,
                    agg: a,
                    ascending: a.order == Some(kql::SortOrder::Asc),
                });
            }
            Some(_) => return unsupported("top-nested with others"),
        }
    }
    let all: Vec<usize> = (0..t.rows.len()).collect();
    let paths = nested_paths(&levels, &t, &all, env)?;
    let mut columns = Vec::new();
    for (d, l) in levels.iter().enumerate() {
        let name = l
            .key
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| auto_name(&l.key.expr, d));
        let agg_name = l
            .agg
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| format!("aggregated_{name}"));
        for (n, k) in [(name, 2 * d), (agg_name, 2 * d + 1)] {
            let ty = paths
                .iter()
                .find_map(|p| p[k].type_of())
                .unwrap_or(Type::String);
            columns.push(Column {
                name: unique_name(&n, &columns),
                ty,
            });
        }
    }
    Ok(Table {
        columns,
        rows: paths.into_iter().map(Row::new).collect(),
    })
}

fn nested_paths(
    levels: &[NestedLevel],
    t: &Table,
    rows: &[usize],
    env: &Env,
) -> Result<Vec<Vec<Value>>> {
    let Some((level, deeper)) = levels.split_first() else {
        return Ok(vec![Vec::new()]);
    };
    let Expr::Call { func, args, .. } = &level.agg.expr else {
        return err("top-nested: `by` takes an aggregation such as sum(x)");
    };
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut groups: Vec<(Value, Vec<usize>)> = Vec::new();
    for &i in rows {
        let k = eval(
            &level.key.expr,
            &Scope {
                columns: &t.columns,
                values: &t.rows[i].values,
                env,
            },
        )?
        .scalar();
        let g = *index.entry(k.group_key()).or_insert_with(|| {
            groups.push((k, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    let mut ranked = Vec::with_capacity(groups.len());
    for (k, members) in groups {
        let group: Vec<&Row> = members.iter().map(|&i| &t.rows[i]).collect();
        let agg = aggregate::aggregate(func, args, &t.columns, &group, env)?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        ranked.push((k, agg, members));
    }
    ranked.sort_by(|a, b| {
        let o = a.1.compare(&b.1).unwrap_or(std::cmp::Ordering::Equal);
        if level.ascending {
            o
        } else {
            o.reverse()
        }
    });
    ranked.truncate(level.take.unwrap_or(usize::MAX));
    let mut out = Vec::new();
    for (k, agg, members) in ranked {
        for tail in nested_paths(deeper, t, &members, env)? {
            let mut path = vec![k.clone(), agg.clone()];
            path.extend(tail);
            out.push(path);
        }
    }
    Ok(out)
}
