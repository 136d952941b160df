//! Aggregation functions for `summarize`: each folds the rows of one group.

use crate::error::{err, unsupported, Result};
use crate::eval::{eval, Scope};
use crate::exec::Env;
use crate::table::{Column, Row};
use crate::value::{GroupKey, Type, Value};
use kql::Expr;
use serde_json::Value as Json;
use std::collections::HashSet;
use std::sync::Arc;

pub fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "countif"
            | "dcount"
            | "dcountif"
            | "sum"
            | "sumif"
            | "avg"
            | "avgif"
            | "min"
            | "max"
            | "minif"
            | "maxif"
            | "make_set"
            | "make_list"
            | "make_set_if"
            | "make_list_if"
            | "make_list_with_nulls"
            | "arg_max"
            | "arg_min"
            | "take_any"
            | "any"
            | "count_distinct"
            | "make_bag"
            | "stdev"
            | "variance"
            | "stdevp"
            | "variancep"
    )
}

/// The hidden column that holds the `k`th aggregation lifted out of an expression.
pub fn lifted_name(k: usize) -> String {
    format!("\u{0}aggregation{k}")
}

/// `e` with each aggregation call replaced by a name for its value ([`lifted_name`]), the
/// calls appended to `calls` in that order.
pub fn lift_aggregations(e: &Expr, calls: &mut Vec<(String, Vec<kql::Item>)>) -> Expr {
    match e {
        Expr::Call { func, args, span } if is_aggregate(&func.to_ascii_lowercase()) => {
            calls.push((func.clone(), args.clone()));
            Expr::Name {
                name: lifted_name(calls.len() - 1),
                wildcard: false,
                span: *span,
            }
        }
        other => other
            .map_children::<std::convert::Infallible>(&mut |x| Ok(lift_aggregations(x, calls)))
            .unwrap_or_else(|never| match never {}),
    }
}

/// The default output column name of an aggregate call, as Kusto names it.
pub fn default_name(func: &str, args: &[kql::Item]) -> String {
    let f = func.to_ascii_lowercase();
    let col = args
        .first()
        .and_then(|a| plain_name(&a.expr))
        .unwrap_or_default();
    match f.as_str() {
        "count" => "count_".into(),
        // Kusto names countif(b) `countif_b` when its argument is a plain column.
        "countif" => format!("countif_{col}"),
        "dcount" | "count_distinct" => format!("dcount_{col}"),
        "make_set" | "make_set_if" => format!("set_{col}"),
        "make_list" | "make_list_if" | "make_list_with_nulls" => format!("list_{col}"),
        "make_bag" | "make_bag_if" => format!("bag_{col}"),
        "take_any" | "any" => {
            if col.is_empty() {
                "any_".into()
            } else {
                col
            }
        }
        other => format!("{other}_{col}"),
    }
}

fn plain_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Name { name, .. } => Some(name.clone()),
        Expr::Member(_, n, _) => Some(n.clone()),
        _ => None,
    }
}

/// Evaluates `e` for each row of a group.
fn values(e: &Expr, cols: &[Column], rows: &[&Row], env: &Env) -> Result<Vec<Value>> {
    rows.iter()
        .map(|r| {
            eval(
                e,
                &Scope {
                    columns: cols,
                    values: &r.values,
                    env,
                },
            )
        })
        .collect()
}

fn preds(e: &Expr, cols: &[Column], rows: &[&Row], env: &Env) -> Result<Vec<bool>> {
    Ok(values(e, cols, rows, env)?
        .iter()
        .map(|v| v.scalar().as_bool() == Some(true))
        .collect())
}

/// Computes one aggregate over a group: the result value (or values, for arg_max/arg_min).
pub fn aggregate(
    func: &str,
    args: &[kql::Item],
    cols: &[Column],
    rows: &[&Row],
    env: &Env,
) -> Result<Vec<Value>> {
    let f = func.to_ascii_lowercase();
    let arg = |i: usize| -> Result<&Expr> {
        args.get(i)
            .map(|a| &a.expr)
            .ok_or_else(|| crate::EngineError::Query(format!("{func}() needs more arguments")))
    };
    let filter = |vals: Vec<Value>, i: usize| -> Result<Vec<Value>> {
        let keep = preds(arg(i)?, cols, rows, env)?;
        Ok(vals
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(v, _)| v)
            .collect())
    };
    Ok(vec![match f.as_str() {
        "count" => Value::Long(rows.len() as i64),
        "countif" => Value::Long(
            preds(arg(0)?, cols, rows, env)?
                .iter()
                .filter(|b| **b)
                .count() as i64,
        ),
        "dcount" | "count_distinct" | "dcountif" => {
            let mut vals = values(arg(0)?, cols, rows, env)?;
            if f == "dcountif" {
                vals = filter(vals, 1)?;
            }
            let set: HashSet<GroupKey> = vals
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| v.scalar().group_key())
                .collect();
            Value::Long(set.len() as i64)
        }
        "sum" | "sumif" => {
            let mut vals = values(arg(0)?, cols, rows, env)?;
            if f == "sumif" {
                vals = filter(vals, 1)?;
            }
            sum(&vals)
        }
        "avg" | "avgif" => {
            let mut vals = values(arg(0)?, cols, rows, env)?;
            if f == "avgif" {
                vals = filter(vals, 1)?;
            }
            let nums: Vec<f64> = vals
                .iter()
                .filter_map(|v| {
                    if v.is_null() {
                        None
                    } else {
                        v.scalar().as_f64()
                    }
                })
                .collect();
            // The average of no values is NaN, as 0/0.
            Value::Real(nums.iter().sum::<f64>() / nums.len() as f64)
        }
        "min" | "max" | "minif" | "maxif" => {
            let mut vals = values(arg(0)?, cols, rows, env)?;
            if f.ends_with("if") {
                vals = filter(vals, 1)?;
            }
            let want = if f.starts_with("min") {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            };
            let mut best: Option<Value> = None;
            for v in vals.into_iter().filter(|v| !v.is_null()) {
                let v = v.scalar();
                if best.as_ref().is_none_or(|b| beats(&v, b, want)) {
                    best = Some(v);
                }
            }
            best.unwrap_or(Value::Null)
        }
        "make_set" | "make_list" | "make_set_if" | "make_list_if" | "make_list_with_nulls" => {
            let mut vals = values(arg(0)?, cols, rows, env)?;
            let limit_at = if f.ends_with("_if") {
                vals = filter(vals, 1)?;
                2
            } else {
                1
            };
            let limit = match args.get(limit_at) {
                Some(a) => eval(
                    &a.expr,
                    &Scope {
                        columns: cols,
                        values: &[],
                        env,
                    },
                )?
                .scalar()
                .as_i64()
                .map_or(usize::MAX, |n| n.max(0) as usize),
                None => usize::MAX,
            };
            let set = f.starts_with("make_set");
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            // An array's elements are added one by one; nulls are left out except by
            // make_list_with_nulls.
            for v in vals {
                if out.len() >= limit {
                    break;
                }
                let items: Vec<Json> = match v {
                    Value::Dynamic(j) if j.is_array() => j.as_array().cloned().unwrap_or_default(),
                    v if v.is_null() => {
                        if f == "make_list_with_nulls" {
                            out.push(Json::Null);
                        }
                        continue;
                    }
                    v => vec![v.to_json()],
                };
                for x in items {
                    if out.len() >= limit {
                        break;
                    }
                    if set && !seen.insert(x.to_string()) {
                        continue;
                    }
                    out.push(x);
                }
            }
            Value::Dynamic(Arc::new(Json::Array(out)))
        }
        "take_any" | "any" => {
            let vals = values(arg(0)?, cols, rows, env)?;
            vals.into_iter()
                .find(|v| !v.is_null())
                .unwrap_or(Value::Null)
        }
        "make_bag" => {
            let mut m = serde_json::Map::new();
            for v in values(arg(0)?, cols, rows, env)? {
                if let Value::Dynamic(j) = v {
                    if let Some(o) = j.as_object() {
                        for (k, x) in o {
                            m.entry(k.clone()).or_insert(x.clone());
                        }
                    }
                }
            }
            Value::Dynamic(Arc::new(Json::Object(m)))
        }
        // Sample (stdev, variance) or population (stdevp, variancep) statistics.
        "stdev" | "variance" | "stdevp" | "variancep" => {
            let nums: Vec<f64> = values(arg(0)?, cols, rows, env)?
                .iter()
                .filter_map(|v| v.scalar().as_f64())
                .collect();
            let population = f.ends_with('p');
            if nums.len() < 2 {
                Value::Real(0.0)
            } else {
                let mean = nums.iter().sum::<f64>() / nums.len() as f64;
                let n = if population {
                    nums.len()
                } else {
                    nums.len() - 1
                };
                let var = nums.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
                Value::Real(if f.starts_with("stdev") {
                    var.sqrt()
                } else {
                    var
                })
            }
        }
        "arg_max" | "arg_min" => return arg_extreme(&f, args, cols, rows, env),
        other => return unsupported(format!("aggregation {other}()")),
    }])
}

fn sum(vals: &[Value]) -> Value {
    let mut acc: Option<Value> = None;
    for v in vals.iter().filter(|v| !v.is_null()) {
        let v = v.scalar();
        acc = Some(match acc {
            None => v,
            Some(a) => crate::eval::apply_binary("+", &a, &v).unwrap_or(Value::Null),
        });
    }
    // The sum of no values is 0.
    acc.unwrap_or(Value::Long(0))
}

/// Whether `v` replaces `best` as the extreme sought (`want`): NaN, once met, is the
/// extreme both ways, as in Kusto's min, max, arg_min and arg_max.
fn beats(v: &Value, best: &Value, want: std::cmp::Ordering) -> bool {
    let nan = |x: &Value| matches!(x.scalar(), Value::Real(f) if f.is_nan());
    if nan(best) {
        return false;
    }
    nan(v) || v.compare(best) == Some(want)
}

/// The row with the largest (smallest) first argument; the values of the other arguments.
fn arg_extreme(
    f: &str,
    args: &[kql::Item],
    cols: &[Column],
    rows: &[&Row],
    env: &Env,
) -> Result<Vec<Value>> {
    let Some(first) = args.first() else {
        return err(format!("{f}() needs arguments"));
    };
    let keys = values(&first.expr, cols, rows, env)?;
    let want = if f == "arg_max" {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Less
    };
    let mut best: Option<usize> = None;
    for (i, k) in keys.iter().enumerate() {
        if k.is_null() {
            continue;
        }
        if best.is_none_or(|b| beats(k, &keys[b], want)) {
            best = Some(i);
        }
    }
    let mut out = vec![best.map_or(Value::Null, |b| keys[b].clone())];
    // With no key at all, the other columns still come from the group's first row.
    let best = best.or_else(|| (!rows.is_empty()).then_some(0));
    for a in &args[1..] {
        if matches!(a.expr, Expr::Star(_)) {
            for (ci, _) in cols.iter().enumerate() {
                out.push(best.map_or(Value::Null, |b| rows[b].values[ci].clone()));
            }
        } else {
            let v = match best {
                Some(b) => eval(
                    &a.expr,
                    &Scope {
                        columns: cols,
                        values: &rows[b].values,
                        env,
                    },
                )?,
                None => Value::Null,
            };
            out.push(v);
        }
    }
    Ok(out)
}

/// The static result type of an aggregate given its first argument's type.
pub fn result_type(func: &str, arg: Option<Type>) -> Type {
    match func.to_ascii_lowercase().as_str() {
        "count" | "countif" | "dcount" | "dcountif" | "count_distinct" => Type::Long,
        "avg" | "avgif" | "stdev" | "variance" | "stdevp" | "variancep" => Type::Real,
        "make_set"
        | "make_list"
        | "make_set_if"
        | "make_list_if"
        | "make_bag"
        | "make_list_with_nulls" => Type::Dynamic,
        "sum" | "sumif" => match arg {
            Some(Type::Int) | Some(Type::Long) | Some(Type::Bool) => Type::Long,
            Some(Type::Timespan) => Type::Timespan,
            _ => Type::Real,
        },
        _ => arg.unwrap_or(Type::Dynamic),
    }
}
