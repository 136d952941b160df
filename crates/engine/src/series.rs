//! `make-series` and the series functions that work on its arrays.
//!
//! `make-series AGG [default = D], ... on AXIS from A to B step S [by KEYS]` puts each row
//! in the bin `floor((axis - A) / S)` of `[A, B)` and aggregates each bin; a bin with no
//! rows takes its aggregate's default (0 unless given). The result has one row per group:
//! the keys, one array per aggregate, and the axis column holding the bins' starts.

use crate::aggregate;
use crate::error::{err, Result};
use crate::eval::{eval, Scope};
use crate::exec::Env;
use crate::table::{Column, Row, Table};
use crate::value::{GroupKey, Type, Value};
use kql::{Expr, Operator};
use serde_json::Value as Json;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

fn constant(e: &Expr, env: &Env) -> Result<Value> {
    Ok(eval(
        e,
        &Scope {
            columns: &[],
            values: &[],
            env,
        },
    )?
    .scalar())
}

/// Bin position of `v` from `from` in steps of `step`, as a real number of steps.
fn steps(v: &Value, from: &Value, step: &Value) -> Option<f64> {
    match (v, from, step) {
        (Value::DateTime(x), Value::DateTime(a), Value::Timespan(s)) if *s > 0 => {
            Some((x - a) as f64 / *s as f64)
        }
        (Value::Timespan(x), Value::Timespan(a), Value::Timespan(s)) if *s > 0 => {
            Some((x - a) as f64 / *s as f64)
        }
        _ => {
            let (x, a, s) = (v.as_f64()?, from.as_f64()?, step.as_f64()?);
            (s > 0.0).then(|| (x - a) / s)
        }
    }
}

/// The start of bin `i`.
fn bin_start(from: &Value, step: &Value, i: usize) -> Value {
    match (from, step) {
        (Value::DateTime(a), Value::Timespan(s)) => Value::DateTime(a + s * i as i64),
        (Value::Timespan(a), Value::Timespan(s)) => Value::Timespan(a + s * i as i64),
        (Value::Long(a), Value::Long(s)) => Value::Long(a + s * i as i64),
        _ => Value::Real(from.as_f64().unwrap_or(0.0) + step.as_f64().unwrap_or(0.0) * i as f64),
    }
}

pub fn make_series(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let aggs = op.items(None);
    let Some(axis) = op.items(Some("on")).first() else {
        return err("make-series needs `on AXIS`");
    };
    let by = op.items(Some("by"));
    fn scope<'a>(t: &'a Table, r: &'a Row, env: &'a Env) -> Scope<'a> {
        Scope {
            columns: &t.columns,
            values: &r.values,
            env,
        }
    }
    let axis_values: Vec<Value> = t
        .rows
        .iter()
        .map(|r| eval(&axis.expr, &scope(&t, r, env)).map(|v| v.scalar()))
        .collect::<Result<_>>()?;
    // `in range(from, to, step)` is the older spelling of from/to/step.
    let range_args = op.items(Some("in")).first().and_then(|it| match &it.expr {
        Expr::Call { func, args, .. } if func == "range" && args.len() == 3 => Some(args.clone()),
        _ => None,
    });
    let bound = |kw: &str, k: usize| -> Result<Option<Value>> {
        if let Some(args) = &range_args {
            return constant(&args[k].expr, env).map(Some);
        }
        match op.items(Some(kw)).first() {
            Some(it) => constant(&it.expr, env).map(Some),
            None => Ok(None),
        }
    };
    let Some(step) = bound("step", 2)? else {
        return err("make-series needs `step`");
    };
    let present = || axis_values.iter().filter(|v| !v.is_null());
    let lowest = present().cloned().reduce(|a, b| {
        if b.compare(&a) == Some(std::cmp::Ordering::Less) {
            b
        } else {
            a
        }
    });
    let highest = present().cloned().reduce(|a, b| {
        if b.compare(&a) == Some(std::cmp::Ordering::Greater) {
            b
        } else {
            a
        }
    });
    let from = match bound("from", 0)? {
        Some(v) => v,
        None => match &lowest {
            Some(v) => crate::functions::bin(v, &step),
            None => return Ok(empty_result(op)),
        },
    };
    let to = match bound("to", 1)? {
        Some(v) => v,
        None => match &highest {
            Some(v) => crate::eval::apply_binary("+", &crate::functions::bin(v, &step), &step)?,
            None => return Ok(empty_result(op)),
        },
    };
    let bins = match steps(&to, &from, &step) {
        Some(n) if n > 0.0 => (n.ceil() as usize).min(1_000_000),
        Some(_) => 0,
        None => return err("make-series: from, to and step do not fit the axis"),
    };
    // Groups in order of first appearance; each holds its rows by bin.
    let mut index: HashMap<Vec<GroupKey>, usize> = HashMap::new();
    let mut keys: Vec<Vec<Value>> = Vec::new();
    let mut members: Vec<Vec<Vec<usize>>> = Vec::new();
    for (ri, r) in t.rows.iter().enumerate() {
        let k: Vec<Value> = by
            .iter()
            .map(|it| eval(&it.expr, &scope(&t, r, env)).map(|v| v.scalar()))
            .collect::<Result<_>>()?;
        let g = *index
            .entry(k.iter().map(Value::group_key).collect())
            .or_insert_with(|| {
                keys.push(k);
                members.push(vec![Vec::new(); bins]);
                keys.len() - 1
            });
        if let Some(p) = steps(&axis_values[ri], &from, &step) {
            let b = p.floor();
            if b >= 0.0 && (b as usize) < bins {
                members[g][b as usize].push(ri);
            }
        }
    }
    let mut columns: Vec<Column> = by
        .iter()
        .enumerate()
        .map(|(i, it)| Column {
            name: it
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| crate::exec::auto_name(&it.expr, i)),
            ty: keys
                .iter()
                .find_map(|k| k[i].type_of())
                .unwrap_or(Type::String),
        })
        .collect();
    for it in aggs {
        let name = it.names.first().cloned().unwrap_or_else(|| match &it.expr {
            Expr::Call { func, args, .. } => aggregate::default_name(func, args),
            e => crate::exec::auto_name(e, 0),
        });
        columns.push(Column {
            name,
            ty: Type::Dynamic,
        });
    }
    columns.push(Column {
        name: axis
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| crate::exec::auto_name(&axis.expr, 0)),
        ty: Type::Dynamic,
    });
    let starts = Json::Array(
        (0..bins)
            .map(|i| bin_start(&from, &step, i).to_json())
            .collect(),
    );
    let mut rows = Vec::new();
    if bins == 0 {
        return Ok(Table { columns, rows });
    }
    for (k, groups) in keys.into_iter().zip(members) {
        let mut values = k;
        for it in aggs {
            let Expr::Call { func, args, .. } = &it.expr else {
                return err("make-series needs aggregations such as count() or sum(x)");
            };
            let default = match &it.default {
                Some(d) => constant(d, env)?,
                None => Value::Long(0),
            };
            let mut series = Vec::with_capacity(bins);
            for b in &groups {
                if b.is_empty() {
                    series.push(default.to_json());
                    continue;
                }
                let group: Vec<&Row> = b.iter().map(|&i| &t.rows[i]).collect();
                let v = aggregate::aggregate(func, args, &t.columns, &group, env)?;
                series.push(v.into_iter().next().unwrap_or(Value::Null).to_json());
            }
            values.push(Value::Dynamic(Arc::new(Json::Array(series))));
        }
        values.push(Value::Dynamic(Arc::new(starts.clone())));
        rows.push(Row::new(values));
    }
    Ok(Table { columns, rows })
}

/// The result of a series over no rows: its columns and no row.
fn empty_result(op: &Operator) -> Table {
    let mut columns: Vec<Column> = Vec::new();
    for (i, it) in op.items(Some("by")).iter().enumerate() {
        columns.push(Column {
            name: it
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| crate::exec::auto_name(&it.expr, i)),
            ty: Type::String,
        });
    }
    for it in op.items(None).iter().chain(op.items(Some("on"))) {
        columns.push(Column {
            name: it
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| crate::exec::auto_name(&it.expr, 0)),
            ty: Type::Dynamic,
        });
    }
    Table {
        columns,
        rows: Vec::new(),
    }
}

fn numbers(v: Option<&Value>) -> Option<Vec<Option<f64>>> {
    match v? {
        Value::Dynamic(j) => j.as_array().map(|a| a.iter().map(Json::as_f64).collect()),
        _ => None,
    }
}

/// A series value: integral results stay integers.
fn number_json(x: f64) -> Json {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Json::from(x as i64)
    } else {
        crate::value::real_json(x)
    }
}

/// The values from `from` to `to` (both included) in steps of `step`, at most `limit`, as
/// `range` makes them: forward for a positive step, backward otherwise. The sequence ends
/// before a value past `to`, and where adding the step fails, gives null, wraps around or
/// stands still.
pub(crate) fn range_values(from: &Value, to: &Value, step: &Value, limit: usize) -> Vec<Value> {
    let forward = step.compare(&Value::Long(0)) == Some(Ordering::Greater)
        || matches!(step, Value::Timespan(t) if *t > 0);
    let onward = if forward {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    let mut out = Vec::new();
    let mut cur = from.clone();
    while out.len() < limit {
        match cur.compare(to) {
            Some(o) if o != onward => {}
            _ => break,
        }
        out.push(cur.clone());
        match crate::eval::apply_binary("+", &cur, step) {
            Ok(next) if next.compare(&cur) == Some(onward) => cur = next,
            _ => break,
        }
    }
    out
}

/// The series functions by (lower-case) name: `None` for a name that is not one.
pub fn call(name: &str, v: &[Value]) -> Option<Value> {
    let dynamic = |j: Json| Value::Dynamic(Arc::new(j));
    let elementwise = |f: &dyn Fn(f64, f64) -> Json| -> Value {
        let a = numbers(v.first());
        let b = numbers(v.get(1));
        let scalar_b = v.get(1).and_then(|x| x.scalar().as_f64());
        match a {
            Some(a) => dynamic(Json::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let y = match &b {
                            Some(b) => b.get(i).copied().flatten(),
                            None => scalar_b,
                        };
                        match (x, y) {
                            (Some(x), Some(y)) => f(*x, y),
                            _ => Json::Null,
                        }
                    })
                    .collect(),
            )),
            None => Value::Null,
        }
    };
    Some(match name {
        "series_add" => elementwise(&|x, y| number_json(x + y)),
        "series_subtract" => elementwise(&|x, y| number_json(x - y)),
        "series_multiply" => elementwise(&|x, y| number_json(x * y)),
        "series_divide" => elementwise(&|x, y| crate::value::real_json(x / y)),
        "series_greater" => elementwise(&|x, y| Json::Bool(x > y)),
        "series_greater_equals" => elementwise(&|x, y| Json::Bool(x >= y)),
        "series_less" => elementwise(&|x, y| Json::Bool(x < y)),
        "series_less_equals" => elementwise(&|x, y| Json::Bool(x <= y)),
        "series_equals" => elementwise(&|x, y| Json::Bool(x == y)),
        "series_not_equals" => elementwise(&|x, y| Json::Bool(x != y)),
        "series_fill_const" => match v.first() {
            Some(Value::Dynamic(j)) if j.is_array() => {
                let fill = v.get(1).map_or_else(|| Json::from(0), Value::to_json);
                dynamic(Json::Array(
                    j.as_array()?
                        .iter()
                        .map(|x| if x.is_null() { fill.clone() } else { x.clone() })
                        .collect(),
                ))
            }
            _ => Value::Null,
        },
        "series_fill_forward" | "series_fill_backward" => match v.first() {
            Some(Value::Dynamic(j)) if j.is_array() => {
                let mut xs = j.as_array()?.clone();
                if name == "series_fill_backward" {
                    xs.reverse();
                }
                let mut last: Option<Json> = None;
                for x in xs.iter_mut() {
                    if x.is_null() {
                        if let Some(l) = &last {
                            *x = l.clone();
                        }
                    } else {
                        last = Some(x.clone());
                    }
                }
                if name == "series_fill_backward" {
                    xs.reverse();
                }
                dynamic(Json::Array(xs))
            }
            _ => Value::Null,
        },
        "series_fill_linear" => match v.first() {
            Some(Value::Dynamic(j)) if j.is_array() => {
                let missing = v.get(1).filter(|p| !p.is_null()).map(Value::to_json);
                let edges = v.get(2).is_none_or(|e| e.scalar().as_bool() != Some(false));
                dynamic(Json::Array(fill_linear(
                    j.as_array()?,
                    missing.as_ref(),
                    edges,
                )))
            }
            _ => Value::Null,
        },
        // With one name, the functions of several outputs give their first: the minimum,
        // and the fit's r-square.
        "series_stats" => stats(v.first())?.get("min").map_or(Value::Null, real),
        "series_stats_dynamic" => dynamic(Json::Object(stats(v.first())?)),
        "series_fit_line" => fit_line(v.first())?
            .get("rsquare")
            .map_or(Value::Null, real),
        "series_fit_line_dynamic" => dynamic(Json::Object(fit_line(v.first())?)),
        "series_fir" => {
            // A finite impulse response filter; normalised unless told otherwise, and
            // centered when asked.
            let (Some(xs), Some(filter)) = (numbers(v.first()), numbers(v.get(1))) else {
                return Some(Value::Null);
            };
            let filter: Vec<f64> = filter.into_iter().map(|f| f.unwrap_or(0.0)).collect();
            let normalize = v.get(2).and_then(|x| x.scalar().as_bool()).unwrap_or(true);
            let center = v.get(3).and_then(|x| x.scalar().as_bool()).unwrap_or(false);
            let total: f64 = filter.iter().sum();
            let scale = if normalize && total != 0.0 {
                total
            } else {
                1.0
            };
            let shift = if center { filter.len() / 2 } else { 0 };
            dynamic(Json::Array(
                (0..xs.len())
                    .map(|i| {
                        let at = i + shift;
                        let mut acc = 0.0;
                        for (k, f) in filter.iter().enumerate() {
                            if at >= k && at - k < xs.len() {
                                acc += f * xs[at - k].unwrap_or(0.0);
                            }
                        }
                        number_json(acc / scale)
                    })
                    .collect(),
            ))
        }
        "series_iir" => {
            // y[i] = (sum b[k] x[i-k] - sum_{k>0} a[k] y[i-k]) / a[0]
            let (Some(xs), Some(b), Some(a)) =
                (numbers(v.first()), numbers(v.get(1)), numbers(v.get(2)))
            else {
                return Some(Value::Null);
            };
            let b: Vec<f64> = b.into_iter().map(|f| f.unwrap_or(0.0)).collect();
            let a: Vec<f64> = a.into_iter().map(|f| f.unwrap_or(0.0)).collect();
            let a0 = a.first().copied().filter(|x| *x != 0.0).unwrap_or(1.0);
            let mut ys: Vec<f64> = Vec::with_capacity(xs.len());
            for i in 0..xs.len() {
                let mut acc = 0.0;
                for (k, bk) in b.iter().enumerate() {
                    if i >= k {
                        acc += bk * xs[i - k].unwrap_or(0.0);
                    }
                }
                for (k, ak) in a.iter().enumerate().skip(1) {
                    if i >= k {
                        acc -= ak * ys[i - k];
                    }
                }
                ys.push(acc / a0);
            }
            dynamic(Json::Array(ys.into_iter().map(number_json).collect()))
        }
        "array_index_of" => match (v.first(), v.get(1)) {
            (Some(Value::Dynamic(j)), Some(x)) if j.is_array() => {
                let at = j
                    .as_array()?
                    .iter()
                    .position(|e| Value::from_json(e).equals(x) == Some(true));
                Value::Long(at.map_or(-1, |i| i as i64))
            }
            _ => Value::Null,
        },
        "range" => {
            let (Some(a), Some(b)) = (v.first().map(Value::scalar), v.get(1).map(Value::scalar))
            else {
                return Some(Value::Null);
            };
            let step = v.get(2).map_or(Value::Long(1), Value::scalar);
            // A step of zero gives the start alone, when it is not past the end.
            let values = if step.as_f64() == Some(0.0) {
                let within = matches!(a.compare(&b), Some(Ordering::Less | Ordering::Equal));
                if within {
                    vec![a]
                } else {
                    Vec::new()
                }
            } else {
                range_values(&a, &b, &step, 1_000_000)
            };
            dynamic(Json::Array(values.iter().map(Value::to_json).collect()))
        }
        _ => return None,
    })
}

/// A JSON number as a real value.
fn real(j: &Json) -> Value {
    j.as_f64().map_or(Value::Null, Value::Real)
}

/// `series_fill_linear`: each run of missing values (null, or equal to `missing`) between
/// two present ones takes the values of the line between them; runs at the ends take the
/// nearest present value when `edges` is set.
fn fill_linear(xs: &[Json], missing: Option<&Json>, edges: bool) -> Vec<Json> {
    let known: Vec<Option<f64>> = xs
        .iter()
        .map(|x| {
            let gone = x.is_null() || missing.is_some_and(|m| m == x);
            if gone {
                None
            } else {
                x.as_f64()
            }
        })
        .collect();
    let present: Vec<usize> = (0..xs.len()).filter(|&i| known[i].is_some()).collect();
    let mut out = xs.to_vec();
    let (Some(&first), Some(&last)) = (present.first(), present.last()) else {
        return out;
    };
    for pair in present.windows(2) {
        let (i, j) = (pair[0], pair[1]);
        let (a, b) = (known[i].unwrap_or(0.0), known[j].unwrap_or(0.0));
        for (k, x) in out.iter_mut().enumerate().take(j).skip(i + 1) {
            *x = number_json(a + (b - a) * (k - i) as f64 / (j - i) as f64);
        }
    }
    if edges {
        out[..first].fill(xs[first].clone());
        out[last + 1..].fill(xs[last].clone());
    }
    out
}

/// The numbers of a series, nulls and non-numbers left out; `None` when it is not one.
fn present_numbers(v: Option<&Value>) -> Option<Vec<(usize, f64)>> {
    Some(
        numbers(v)?
            .into_iter()
            .enumerate()
            .filter_map(|(i, x)| Some((i, x?)))
            .collect(),
    )
}

/// `series_stats_dynamic`: min and max (with their first index), average, and the sample
/// standard deviation and variance of the series' numbers.
fn stats(v: Option<&Value>) -> Option<serde_json::Map<String, Json>> {
    let xs = present_numbers(v)?;
    let n = xs.len() as f64;
    let extreme = |better: &dyn Fn(f64, f64) -> bool| {
        xs.iter()
            .fold(None, |best: Option<(usize, f64)>, &(i, x)| match best {
                Some((_, b)) if !better(x, b) => best,
                _ => Some((i, x)),
            })
    };
    let (min_idx, min) = extreme(&|x, b| x < b).map_or((Json::Null, Json::Null), |(i, x)| {
        (Json::from(i), crate::value::real_json(x))
    });
    let (max_idx, max) = extreme(&|x, b| x > b).map_or((Json::Null, Json::Null), |(i, x)| {
        (Json::from(i), crate::value::real_json(x))
    });
    let avg = xs.iter().map(|(_, x)| x).sum::<f64>() / n;
    let variance = if xs.len() < 2 {
        0.0
    } else {
        xs.iter().map(|(_, x)| (x - avg).powi(2)).sum::<f64>() / (n - 1.0)
    };
    let mut m = serde_json::Map::new();
    m.insert("min".into(), min);
    m.insert("min_idx".into(), min_idx);
    m.insert("max".into(), max);
    m.insert("max_idx".into(), max_idx);
    m.insert("avg".into(), crate::value::real_json(avg));
    m.insert("stdev".into(), crate::value::real_json(variance.sqrt()));
    m.insert("variance".into(), crate::value::real_json(variance));
    Some(m)
}

/// `series_fit_line_dynamic`: the least-squares line through the series' numbers against
/// their positions (0, 1, ...): r-square, slope, the sample variance of the values and of
/// the residuals, the intercept, and the line's value at every position.
fn fit_line(v: Option<&Value>) -> Option<serde_json::Map<String, Json>> {
    let len = numbers(v)?.len();
    let xs = present_numbers(v)?;
    let n = xs.len() as f64;
    let mean_x = xs.iter().map(|&(i, _)| i as f64).sum::<f64>() / n;
    let mean_y = xs.iter().map(|&(_, y)| y).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(i, y) in &xs {
        let (dx, dy) = (i as f64 - mean_x, y - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    let intercept = mean_y - slope * mean_x;
    let residual: f64 = xs
        .iter()
        .map(|&(i, y)| (y - (intercept + slope * i as f64)).powi(2))
        .sum();
    let sample = |s: f64| if xs.len() < 2 { 0.0 } else { s / (n - 1.0) };
    let rsquare = if syy == 0.0 {
        1.0
    } else {
        1.0 - residual / syy
    };
    let mut m = serde_json::Map::new();
    let number = crate::value::real_json;
    m.insert("rsquare".into(), number(rsquare));
    m.insert("slope".into(), number(slope));
    m.insert("variance".into(), number(sample(syy)));
    m.insert("rvariance".into(), number(sample(residual)));
    m.insert("interception".into(), number(intercept));
    m.insert(
        "line_fit".into(),
        Json::Array(
            (0..len)
                .map(|i| number(intercept + slope * i as f64))
                .collect(),
        ),
    );
    Some(m)
}
