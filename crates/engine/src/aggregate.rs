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

/// Computes one aggregate over a group: the result value (or values, for arg_max/arg_min).
pub fn aggregate(
    func: &str,
    args: &[kql::Item],
    cols: &[Column],
    rows: &[&Row],
    env: &Env,
) -> Result<Vec<Value>> {
    let spec = Spec::new(func, args, env)?;
    let mut acc = spec.start();
    for r in rows {
        acc.add(&spec, cols, &r.values, env)?;
    }
    let mut out = Vec::with_capacity(spec.width(cols.len()));
    acc.finish(&spec, cols.len(), &mut out);
    Ok(out)
}

/// One aggregation call of a `summarize`, ready to fold rows into [`Accumulator`]s.
pub struct Spec {
    /// The function as written, for messages.
    func: String,
    /// The function in lower case.
    f: String,
    args: Vec<kql::Item>,
    /// The most items a make_set or make_list keeps.
    limit: usize,
    /// An `*if` variant but countif: its predicate is the second argument.
    filtered: bool,
    /// For min, max, arg_min and arg_max (and their `*if` variants): the order in which a
    /// value beats the best so far (Less for the minimums). The others do not read it.
    want: std::cmp::Ordering,
}

impl Spec {
    pub fn new(func: &str, args: &[kql::Item], env: &Env) -> Result<Spec> {
        let f = func.to_ascii_lowercase();
        if !is_aggregate(&f) {
            return unsupported(format!("aggregation {f}()"));
        }
        let limit_at = if f.ends_with("_if") { 2 } else { 1 };
        let limit = match args.get(limit_at) {
            Some(a) if f.starts_with("make_set") || f.starts_with("make_list") => eval(
                &a.expr,
                &Scope {
                    columns: &[],
                    values: &[],
                    env,
                },
            )?
            .scalar()
            .as_i64()
            .map_or(usize::MAX, |n| n.max(0) as usize),
            _ => usize::MAX,
        };
        Ok(Spec {
            func: func.to_string(),
            args: args.to_vec(),
            limit,
            filtered: f.ends_with("if") && f != "countif",
            want: match f.as_str() {
                "min" | "minif" | "arg_min" => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            },
            f,
        })
    }

    /// How many values the aggregation gives over an input of `columns` columns: one, or
    /// for arg_max and arg_min the key and each further argument (`*`: every column).
    pub fn width(&self, columns: usize) -> usize {
        if !matches!(self.f.as_str(), "arg_max" | "arg_min") {
            return 1;
        }
        1 + self.args[1.min(self.args.len())..]
            .iter()
            .map(|a| {
                if matches!(a.expr, Expr::Star(_)) {
                    columns
                } else {
                    1
                }
            })
            .sum::<usize>()
    }

    /// The state of a group that has seen no row yet.
    pub fn start(&self) -> Accumulator {
        Accumulator(match self.f.as_str() {
            "count" => State::Count(0),
            "countif" => State::CountIf(0),
            "dcount" | "count_distinct" | "dcountif" => State::Distinct(Box::default()),
            "sum" | "sumif" => State::Sum(None),
            "avg" | "avgif" => State::Avg(-0.0, 0),
            "min" | "max" | "minif" | "maxif" => State::Extreme(None),
            "take_any" | "any" => State::Any(None),
            "make_bag" => State::Bag(Box::default()),
            "stdev" | "variance" | "stdevp" | "variancep" => State::Numbers(Vec::new()),
            "arg_max" | "arg_min" => State::Arg(Box::default()),
            // make_set, make_list and their variants.
            f => State::Items(Box::new(Items {
                items: Vec::new(),
                seen: f.starts_with("make_set").then(HashSet::new),
                with_nulls: f == "make_list_with_nulls",
            })),
        })
    }

    fn arg(&self, i: usize) -> Result<&Expr> {
        self.args.get(i).map(|a| &a.expr).ok_or_else(|| {
            crate::EngineError::Query(format!("{}() needs more arguments", self.func))
        })
    }

    /// Whether the `*if` variant's predicate (argument `i`) holds for the row.
    fn holds(&self, i: usize, scope: &Scope) -> Result<bool> {
        Ok(eval(self.arg(i)?, scope)?.scalar().as_bool() == Some(true))
    }

    /// The values of arg_max's and arg_min's further arguments for one row (`*`: all of
    /// the row's values).
    fn extras(&self, scope: &Scope) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for a in &self.args[1..] {
            if matches!(a.expr, Expr::Star(_)) {
                out.extend(scope.values.iter().cloned());
            } else {
                out.push(eval(&a.expr, scope)?);
            }
        }
        Ok(out)
    }
}

/// The running state of one aggregation over one group: memory grows with what the
/// aggregation keeps (distinct values, list items), not with the rows it has seen. The
/// larger states are boxed, so that a group of counts and sums stays small.
pub struct Accumulator(State);

enum State {
    Count(i64),
    CountIf(i64),
    // Boxed, though a set is on the heap already: the set itself is 40 bytes, which every
    // group's every state would otherwise take.
    #[allow(clippy::box_collection)]
    Distinct(Box<HashSet<GroupKey, foldhash::fast::RandomState>>),
    Sum(Option<Value>),
    /// Total and count of the numbers seen.
    Avg(f64, usize),
    /// min and max: the extreme so far.
    Extreme(Option<Value>),
    /// take_any: the first non-null value.
    Any(Option<Value>),
    Items(Box<Items>),
    Bag(Box<serde_json::Map<String, Json>>),
    Numbers(Vec<f64>),
    Arg(Box<Extreme>),
}

/// make_set and make_list: the items, the items seen for a set, and whether nulls are
/// kept (make_list_with_nulls).
struct Items {
    items: Vec<Json>,
    seen: Option<HashSet<String>>,
    with_nulls: bool,
}

/// arg_max and arg_min: the extreme key so far and the further arguments' values at its
/// row; those at the group's first row stand in when no key is ever non-null.
#[derive(Default)]
struct Extreme {
    key: Option<Value>,
    best: Option<Vec<Value>>,
    first: Option<Vec<Value>>,
}

impl Accumulator {
    /// Folds one row (its values under `cols`) into the state.
    pub fn add(&mut self, spec: &Spec, cols: &[Column], values: &[Value], env: &Env) -> Result<()> {
        let scope = Scope {
            columns: cols,
            values,
            env,
        };
        let f = spec.f.as_str();
        if spec.filtered && !spec.holds(1, &scope)? {
            return Ok(());
        }
        match &mut self.0 {
            State::Count(n) => *n += 1,
            State::CountIf(n) => {
                if spec.holds(0, &scope)? {
                    *n += 1;
                }
            }
            State::Distinct(set) => {
                let v = eval(spec.arg(0)?, &scope)?;
                if !v.is_null() {
                    set.insert(v.scalar().group_key());
                }
            }
            State::Sum(acc) => {
                let v = eval(spec.arg(0)?, &scope)?;
                if !v.is_null() {
                    let v = v.scalar();
                    *acc = Some(match acc.take() {
                        None => v,
                        Some(a) => crate::eval::apply_binary("+", &a, &v).unwrap_or(Value::Null),
                    });
                }
            }
            State::Avg(total, n) => {
                let v = eval(spec.arg(0)?, &scope)?;
                if let Some(x) = (!v.is_null()).then(|| v.scalar().as_f64()).flatten() {
                    *total += x;
                    *n += 1;
                }
            }
            State::Extreme(best) => {
                let v = eval(spec.arg(0)?, &scope)?;
                if v.is_null() {
                    return Ok(());
                }
                let v = v.scalar();
                if best.as_ref().is_none_or(|b| beats(&v, b, spec.want)) {
                    *best = Some(v);
                }
            }
            State::Any(first) => {
                if first.is_none() {
                    let v = eval(spec.arg(0)?, &scope)?;
                    if !v.is_null() {
                        *first = Some(v);
                    }
                }
            }
            State::Items(state) => {
                let Items {
                    items,
                    seen,
                    with_nulls,
                } = &mut **state;
                if items.len() >= spec.limit {
                    return Ok(());
                }
                // An array's elements are added one by one; nulls are left out except by
                // make_list_with_nulls.
                let new: Vec<Json> = match eval(spec.arg(0)?, &scope)? {
                    Value::Dynamic(j) if j.is_array() => j.as_array().cloned().unwrap_or_default(),
                    v if v.is_null() => {
                        if *with_nulls {
                            items.push(Json::Null);
                        }
                        return Ok(());
                    }
                    v => vec![v.to_json()],
                };
                for x in new {
                    if items.len() >= spec.limit {
                        break;
                    }
                    if seen.as_mut().is_some_and(|s| !s.insert(x.to_string())) {
                        continue;
                    }
                    items.push(x);
                }
            }
            State::Bag(m) => {
                if let Value::Dynamic(j) = eval(spec.arg(0)?, &scope)? {
                    if let Some(o) = j.as_object() {
                        for (k, x) in o {
                            m.entry(k.clone()).or_insert(x.clone());
                        }
                    }
                }
            }
            State::Numbers(nums) => {
                if let Some(x) = eval(spec.arg(0)?, &scope)?.scalar().as_f64() {
                    nums.push(x);
                }
            }
            State::Arg(state) => {
                let Extreme { key, best, first } = &mut **state;
                let Some(k) = spec.args.first() else {
                    return err(format!("{f}() needs arguments"));
                };
                let k = eval(&k.expr, &scope)?;
                let is_first = first.is_none();
                if is_first {
                    *first = Some(spec.extras(&scope)?);
                }
                if !k.is_null() && key.as_ref().is_none_or(|b| beats(&k, b, spec.want)) {
                    *best = Some(if is_first {
                        first.clone().unwrap_or_default()
                    } else {
                        spec.extras(&scope)?
                    });
                    *key = Some(k);
                }
            }
        }
        Ok(())
    }

    /// Appends the aggregation's [`Spec::width`] values (one, or several for arg_max and
    /// arg_min) over an input of `columns` columns to `out`.
    pub fn finish(self, spec: &Spec, columns: usize, out: &mut Vec<Value>) {
        out.push(match self.0 {
            State::Count(n) | State::CountIf(n) => Value::Long(n),
            State::Distinct(set) => Value::Long(set.len() as i64),
            // The sum of no values is 0.
            State::Sum(acc) => acc.unwrap_or(Value::Long(0)),
            // The average of no values is NaN, as 0/0.
            State::Avg(total, n) => Value::Real(total / n as f64),
            State::Extreme(v) | State::Any(v) => v.unwrap_or(Value::Null),
            State::Items(state) => Value::Dynamic(Arc::new(Json::Array(state.items))),
            State::Bag(m) => Value::Dynamic(Arc::new(Json::Object(*m))),
            State::Numbers(nums) => statistic(&spec.f, &nums),
            State::Arg(state) => {
                let Extreme { key, best, first } = *state;
                out.push(key.unwrap_or(Value::Null));
                // With no key at all, the other columns still come from the group's first
                // row; with no row at all (summarize without `by` over no rows), null.
                match best.or(first) {
                    Some(values) => out.extend(values),
                    None => {
                        let extras = spec.width(columns) - 1;
                        out.extend(std::iter::repeat_n(Value::Null, extras));
                    }
                }
                return;
            }
        });
    }
}

/// Sample (stdev, variance) or population (stdevp, variancep) statistics.
fn statistic(f: &str, nums: &[f64]) -> Value {
    if nums.len() < 2 {
        return Value::Real(0.0);
    }
    let mean = nums.iter().sum::<f64>() / nums.len() as f64;
    let n = if f.ends_with('p') {
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

/// Whether `v` replaces `best` as the extreme sought (`want`): NaN, once met, is the
/// extreme both ways, as in Kusto's min, max, arg_min and arg_max.
fn beats(v: &Value, best: &Value, want: std::cmp::Ordering) -> bool {
    let nan = |x: &Value| matches!(x.scalar(), Value::Real(f) if f.is_nan());
    if nan(best) {
        return false;
    }
    nan(v) || v.compare(best) == Some(want)
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
