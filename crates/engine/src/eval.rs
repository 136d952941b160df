//! Scalar expression evaluation over one row, with Kusto's operator semantics: three-valued
//! logic, null propagation, integer and real arithmetic, datetime and timespan arithmetic,
//! and the string operators (`has` as term matching, case folding for non-ASCII letters).

use crate::error::{err, unsupported, Result};
use crate::exec::Env;
use crate::table::Column;
use crate::time::{parse_datetime, parse_timespan};
use crate::value::{Type, Value};
use kql::{Dynamic, Expr, Literal};
use serde_json::Value as Json;
use std::cmp::Ordering;
use std::sync::Arc;

/// What an expression sees: the columns, the current row's values, and the environment.
pub struct Scope<'a> {
    pub columns: &'a [Column],
    pub values: &'a [Value],
    pub env: &'a Env,
}

impl Scope<'_> {
    fn column(&self, name: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .map(|i| &self.values[i])
    }
}

pub fn literal(l: &Literal) -> Result<Value> {
    Ok(match l {
        Literal::String(s) => Value::str(s),
        Literal::Int(t) => {
            let n = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok()
            } else {
                t.parse().ok()
            };
            match n {
                Some(n) => Value::Long(n),
                None => Value::Real(
                    t.parse()
                        .map_err(|_| crate::EngineError::Query(format!("invalid number {t}")))?,
                ),
            }
        }
        Literal::Real(t) => Value::Real(t.parse().unwrap_or(f64::NAN)),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
        Literal::Timespan(t) => match parse_timespan(t) {
            Some(v) => Value::Timespan(v),
            None => return err(format!("invalid timespan literal {t}")),
        },
        Literal::Typed { ty, text } => typed_literal(ty, text)?,
    })
}

fn typed_literal(ty: &str, text: &str) -> Result<Value> {
    let t = text.trim();
    let t = t.trim_matches(|c| c == '"' || c == '\'');
    if t == "null" {
        return Ok(Value::Null);
    }
    let ty = Type::parse(ty).unwrap_or(Type::String);
    let bad = || err(format!("invalid {} literal {text:?}", ty.name()));
    Ok(match ty {
        Type::DateTime => match parse_datetime(t, None) {
            Some(v) => Value::DateTime(v),
            None => return bad(),
        },
        Type::Timespan => match parse_timespan(t) {
            Some(v) => Value::Timespan(v),
            None => return bad(),
        },
        Type::Guid => Value::Guid(Arc::from(t.to_ascii_lowercase())),
        Type::Bool => match t.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return bad(),
        },
        Type::Int | Type::Long => match t.parse::<i64>() {
            Ok(n) => Value::Long(if ty == Type::Int { n as i32 as i64 } else { n }),
            Err(_) => return bad(),
        },
        Type::Real | Type::Decimal => match t.to_ascii_lowercase().as_str() {
            "nan" => Value::Real(f64::NAN),
            "+inf" | "inf" => Value::Real(f64::INFINITY),
            "-inf" => Value::Real(f64::NEG_INFINITY),
            s => match s.parse::<f64>() {
                Ok(f) => Value::Real(f),
                Err(_) => return bad(),
            },
        },
        _ => Value::str(t),
    })
}

pub fn dynamic_json(d: &Dynamic, scope: &Scope) -> Result<Json> {
    Ok(match d {
        Dynamic::Array(xs) => Json::Array(
            xs.iter()
                .map(|x| dynamic_json(x, scope))
                .collect::<Result<_>>()?,
        ),
        Dynamic::Bag(kvs) => {
            let mut m = serde_json::Map::new();
            for (k, v) in kvs {
                m.insert(k.clone(), dynamic_json(v, scope)?);
            }
            Json::Object(m)
        }
        Dynamic::Scalar(e) => eval(e, scope)?.to_json(),
    })
}

pub fn eval(e: &Expr, scope: &Scope) -> Result<Value> {
    match e {
        Expr::Literal(l, _) => literal(l),
        Expr::Name { name, .. } => match scope.column(name) {
            Some(v) => Ok(v.clone()),
            None => match scope.env.scalar(name) {
                Some(v) => Ok(v),
                None => err(format!("unknown column or variable `{name}`")),
            },
        },
        Expr::Paren(inner, _) => eval(inner, scope),
        Expr::Dynamic(d, _) => Ok(Value::Dynamic(Arc::new(dynamic_json(d, scope)?))),
        Expr::Member(base, name, _) => {
            if let Expr::Name { name: b, .. } = base.as_ref() {
                if b.starts_with('$') {
                    return eval(
                        &Expr::Name {
                            name: name.clone(),
                            wildcard: false,
                            span: e.span(),
                        },
                        scope,
                    );
                }
            }
            let v = eval(base, scope)?;
            Ok(member(&v, name))
        }
        Expr::Index(base, idx, _) => {
            let v = eval(base, scope)?;
            let i = eval(idx, scope)?;
            Ok(index(&v, &i))
        }
        Expr::Call { func, args, .. } => crate::functions::call(func, args, scope),
        Expr::Unary { op, expr, .. } => {
            let v = eval(expr, scope)?.scalar();
            if op == "+" {
                return Ok(v);
            }
            Ok(match v {
                Value::Long(n) => Value::Long(n.wrapping_neg()),
                Value::Real(f) => Value::Real(-f),
                Value::Timespan(t) => Value::Timespan(-t),
                Value::Null => Value::Null,
                other => {
                    return err(format!(
                        "cannot negate a {}",
                        other.type_of().map_or("null", |t| t.name())
                    ))
                }
            })
        }
        Expr::Binary { op, lhs, rhs, .. } => binary(op, lhs, rhs, scope),
        Expr::List(xs, _) => {
            let vals: Vec<Json> = xs
                .iter()
                .map(|x| eval(x, scope).map(|v| v.to_json()))
                .collect::<Result<_>>()?;
            Ok(Value::Dynamic(Arc::new(Json::Array(vals))))
        }
        Expr::Pipe { .. } | Expr::Source(_) => {
            let t = crate::exec::eval_tabular(e, scope.env)?;
            Ok(t.rows
                .first()
                .and_then(|r| r.values.first())
                .cloned()
                .unwrap_or(Value::Null))
        }
        Expr::Star(_) => unsupported("`*` here"),
        Expr::TypeOf(t, _) => Ok(Value::str(t)),
        Expr::Range(..) => unsupported("`..` outside between"),
        Expr::Typed { .. } => unsupported("`name:type` in an expression"),
    }
}

pub fn member(v: &Value, name: &str) -> Value {
    match v {
        Value::Dynamic(j) => match j.get(name) {
            Some(x) => Value::from_json(x),
            None => Value::Null,
        },
        Value::String(s) => match serde_json::from_str::<Json>(s) {
            Ok(j) => j.get(name).map_or(Value::Null, Value::from_json),
            Err(_) => Value::Null,
        },
        _ => Value::Null,
    }
}

pub fn index(v: &Value, i: &Value) -> Value {
    let Value::Dynamic(j) = v else {
        return Value::Null;
    };
    match (j.as_ref(), i.scalar()) {
        (Json::Array(a), Value::Long(n)) => {
            let idx = if n < 0 { a.len() as i64 + n } else { n };
            if idx < 0 {
                return Value::Null;
            }
            a.get(idx as usize).map_or(Value::Null, Value::from_json)
        }
        (Json::Object(o), Value::String(k)) => {
            o.get(k.as_ref()).map_or(Value::Null, Value::from_json)
        }
        _ => Value::Null,
    }
}

fn truth(v: &Value) -> Option<bool> {
    match v.scalar() {
        Value::Bool(b) => Some(b),
        Value::Null => None,
        Value::Long(n) => Some(n != 0),
        _ => None,
    }
}

fn bool_val(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

fn binary(op: &str, lhs: &Expr, rhs: &Expr, scope: &Scope) -> Result<Value> {
    if matches!(lhs.unparen(), Expr::Star(_)) {
        return any_column(op, rhs, scope);
    }
    match op {
        "and" => {
            let a = truth(&eval(lhs, scope)?);
            if a == Some(false) {
                return Ok(Value::Bool(false));
            }
            let b = truth(&eval(rhs, scope)?);
            return Ok(bool_val(match (a, b) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }));
        }
        "or" => {
            let a = truth(&eval(lhs, scope)?);
            if a == Some(true) {
                return Ok(Value::Bool(true));
            }
            let b = truth(&eval(rhs, scope)?);
            return Ok(bool_val(match (a, b) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }));
        }
        "in" | "!in" | "in~" | "!in~" | "has_any" | "has_all" => {
            let a = eval(lhs, scope)?;
            if let Some(r) = compiled_list_op(op, &a, rhs, scope) {
                return Ok(Value::Bool(r));
            }
            let set = list_values(rhs, scope)?;
            return Ok(Value::Bool(match op {
                "in" => set.iter().any(|b| a.equals(b) == Some(true)),
                "!in" => !set.iter().any(|b| a.equals(b) == Some(true)),
                "in~" => set.iter().any(|b| eq_ci(&a, b)),
                "!in~" => !set.iter().any(|b| eq_ci(&a, b)),
                "has_any" => {
                    let hay = fold(&a.to_kusto_string());
                    set.iter()
                        .any(|b| has_term(&hay, &fold(&b.to_kusto_string())))
                }
                _ => {
                    let hay = fold(&a.to_kusto_string());
                    set.iter()
                        .all(|b| has_term(&hay, &fold(&b.to_kusto_string())))
                }
            }));
        }
        "between" | "!between" => {
            let v = eval(lhs, scope)?;
            let Expr::Range(lo, hi, _) = rhs.unparen() else {
                return err("between needs (low .. high)");
            };
            let lo = eval(lo, scope)?;
            let hi = eval(hi, scope)?;
            let hi = match (&v.scalar(), hi.scalar()) {
                (Value::DateTime(_), Value::Timespan(t)) => match lo.scalar() {
                    Value::DateTime(l) => Value::DateTime(l + t),
                    _ => Value::Null,
                },
                (_, h) => h,
            };
            let inside = match (v.compare(&lo), v.compare(&hi)) {
                (Some(a), Some(b)) => Some(a != Ordering::Less && b != Ordering::Greater),
                _ => None,
            };
            return Ok(bool_val(if op == "between" {
                inside
            } else {
                inside.map(|b| !b)
            }));
        }
        _ => {}
    }
    let a = eval(lhs, scope)?;
    let b = eval(rhs, scope)?;
    apply_binary(op, &a, &b)
}

/// The fast path for a `let`-bound list of strings (see `lists.rs`); None to take the
/// general path.
fn compiled_list_op(op: &str, a: &Value, rhs: &Expr, scope: &Scope) -> Option<bool> {
    let Expr::Name { name, .. } = rhs.unparen() else {
        return None;
    };
    if scope.column(name).is_some() {
        return None;
    }
    let Value::Dynamic(list) = scope.env.scalar(name)? else {
        return None;
    };
    let compiled = crate::lists::compiled(&list)?;
    let a = a.scalar();
    let text = match &a {
        Value::String(s) => s.to_string(),
        Value::Null => return Some(matches!(op, "!in" | "!in~")),
        _ => return None,
    };
    Some(match op {
        "in" => compiled.contains(&text),
        "!in" => !compiled.contains(&text),
        "in~" => compiled.contains_folded(&text),
        "!in~" => !compiled.contains_folded(&text),
        "has_any" => compiled.has(&text, false),
        _ => compiled.has(&text, true),
    })
}

fn list_values(rhs: &Expr, scope: &Scope) -> Result<Vec<Value>> {
    let items: Vec<Value> = match rhs {
        Expr::List(xs, _) => xs.iter().map(|x| eval(x, scope)).collect::<Result<_>>()?,
        Expr::Paren(inner, _) if matches!(inner.as_ref(), Expr::Pipe { .. } | Expr::Source(_)) => {
            let t = crate::exec::eval_tabular(inner, scope.env)?;
            t.rows
                .into_iter()
                .filter_map(|r| r.values.into_iter().next())
                .collect()
        }
        Expr::Name { name, .. }
            if scope.column(name).is_none() && scope.env.table(name).is_some() =>
        {
            let t = scope.env.table(name).unwrap_or_default();
            t.rows
                .iter()
                .filter_map(|r| r.values.first().cloned())
                .collect()
        }
        other => vec![eval(other.unparen(), scope)?],
    };
    let mut out = Vec::with_capacity(items.len());
    for v in items {
        match &v {
            Value::Dynamic(j) if j.is_array() => out.extend(
                j.as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| Value::from_json(x).scalar()),
            ),
            _ => out.push(v),
        }
    }
    Ok(out)
}

fn eq_ci(a: &Value, b: &Value) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    fold(&a.to_kusto_string()) == fold(&b.to_kusto_string())
}

/// Case folding as Kusto's case-insensitive operators do it, non-ASCII letters included.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// `has`: `needle` occurs in `hay` starting and ending on term boundaries (both folded).
pub fn has_term(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let check_start = needle.chars().next().is_some_and(is_term_char);
    let check_end = needle.chars().last().is_some_and(is_term_char);
    let mut from = 0;
    while let Some(off) = hay[from..].find(needle) {
        let at = from + off;
        let end = at + needle.len();
        let ok_start = !check_start
            || hay[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !is_term_char(c));
        let ok_end = !check_end || hay[end..].chars().next().is_none_or(|c| !is_term_char(c));
        if ok_start && ok_end {
            return true;
        }
        from = at + hay[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// True when the occurrence of `needle` at byte `at` of `hay` lies on term boundaries, as
/// `has` requires.
pub fn has_term_at(hay: &str, needle: &str, at: usize) -> bool {
    let check_start = needle.chars().next().is_some_and(is_term_char);
    let check_end = needle.chars().last().is_some_and(is_term_char);
    let end = at + needle.len();
    (!check_start
        || hay[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_term_char(c)))
        && (!check_end || hay[end..].chars().next().is_none_or(|c| !is_term_char(c)))
}

fn has_prefix_term(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(off) = hay[from..].find(needle) {
        let at = from + off;
        if hay[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_term_char(c))
        {
            return true;
        }
        from = at + hay[at..].chars().next().map_or(1, char::len_utf8);
    }
    needle.is_empty()
}

fn has_suffix_term(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(off) = hay[from..].find(needle) {
        let end = from + off + needle.len();
        if hay[end..].chars().next().is_none_or(|c| !is_term_char(c)) {
            return true;
        }
        from += off + hay[from + off..].chars().next().map_or(1, char::len_utf8);
    }
    needle.is_empty()
}

/// `* has "x"` (any string operator): whether some column of the row matches; with a
/// negated operator (`* !has "x"`), whether none does.
fn any_column(op: &str, rhs: &Expr, scope: &Scope) -> Result<Value> {
    let (neg, base) = match op.strip_prefix('!') {
        Some(rest) if !matches!(op, "!=" | "!~") => (true, rest),
        _ => (false, op),
    };
    let string_op = base.starts_with("has")
        || base.starts_with("contains")
        || base.starts_with("startswith")
        || base.starts_with("endswith")
        || matches!(base, "==" | "=~" | "matches regex");
    if !string_op || matches!(base, "has_any" | "has_all") {
        return unsupported(format!("`*` with operator `{op}`"));
    }
    let b = eval(rhs, scope)?;
    let mut any = false;
    for v in scope.values {
        if truth(&apply_binary(base, v, &b)?) == Some(true) {
            any = true;
            break;
        }
    }
    Ok(Value::Bool(any != neg))
}

pub fn apply_binary(op: &str, a: &Value, b: &Value) -> Result<Value> {
    let (neg, base) = match op.strip_prefix('!') {
        Some(rest) if !matches!(op, "!=" | "!~") => (true, rest),
        _ => (false, op),
    };
    let string_op = |cs: bool, f: fn(&str, &str) -> bool| -> Value {
        if a.is_null() && b.is_null() {
            return Value::Bool(neg);
        }
        let (x, y) = (a.to_kusto_string(), b.to_kusto_string());
        let r = if cs {
            f(&x, &y)
        } else {
            f(&fold(&x), &fold(&y))
        };
        Value::Bool(r != neg)
    };
    Ok(match base {
        // Comparisons with null are false (and `!=` true), not null: `where x != 0` keeps
        // the rows where x is null, as Kusto does.
        "==" => Value::Bool(a.equals(b) == Some(true)),
        "!=" | "<>" => Value::Bool(a.equals(b) != Some(true)),
        "=~" => Value::Bool(eq_ci(a, b) || (a.is_null() && b.is_null())),
        "!~" => Value::Bool(!eq_ci(a, b)),
        "<" => Value::Bool(a.compare(b) == Some(Ordering::Less)),
        "<=" => Value::Bool(matches!(
            a.compare(b),
            Some(Ordering::Less | Ordering::Equal)
        )),
        ">" => Value::Bool(a.compare(b) == Some(Ordering::Greater)),
        ">=" => Value::Bool(matches!(
            a.compare(b),
            Some(Ordering::Greater | Ordering::Equal)
        )),
        "has" => string_op(false, has_term),
        "has_cs" => string_op(true, has_term),
        "hasprefix" => string_op(false, has_prefix_term),
        "hasprefix_cs" => string_op(true, has_prefix_term),
        "hassuffix" => string_op(false, has_suffix_term),
        "hassuffix_cs" => string_op(true, has_suffix_term),
        "contains" => string_op(false, |h, n| h.contains(n)),
        "contains_cs" => string_op(true, |h, n| h.contains(n)),
        "startswith" => string_op(false, |h, n| h.starts_with(n)),
        "startswith_cs" => string_op(true, |h, n| h.starts_with(n)),
        "endswith" => string_op(false, |h, n| h.ends_with(n)),
        "endswith_cs" => string_op(true, |h, n| h.ends_with(n)),
        "matches regex" => {
            let re = crate::functions::regex(&b.to_kusto_string())?;
            Value::Bool(re.is_match(&a.to_kusto_string()))
        }
        "+" | "-" | "*" | "/" | "%" => arith(base, &a.scalar(), &b.scalar())?,
        other => return unsupported(format!("operator `{other}`")),
    })
}

fn arith(op: &str, a: &Value, b: &Value) -> Result<Value> {
    use Value::*;
    Ok(match (a, b) {
        (Null, _) | (_, Null) => Null,
        (Long(x), Long(y)) => match op {
            "+" => Long(x.wrapping_add(*y)),
            "-" => Long(x.wrapping_sub(*y)),
            "*" => Long(x.wrapping_mul(*y)),
            "/" => {
                if *y == 0 {
                    Null
                } else {
                    Long(x.wrapping_div(*y))
                }
            }
            _ => {
                if *y == 0 {
                    Null
                } else {
                    // Kusto's remainder is never negative: -7 % 2 is 1, 7 % -2 is 1.
                    Long(x.wrapping_rem_euclid(*y))
                }
            }
        },
        (Long(_) | Real(_), Long(_) | Real(_)) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            Real(match op {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "/" => x / y,
                _ => x.rem_euclid(y),
            })
        }
        (DateTime(x), DateTime(y)) if op == "-" => Timespan(x - y),
        (DateTime(x), Timespan(y)) | (Timespan(y), DateTime(x)) if op == "+" => {
            crate::calendar::datetime(x.saturating_add(*y))
        }
        (DateTime(x), Timespan(y)) if op == "-" => crate::calendar::datetime(x.saturating_sub(*y)),
        (Timespan(x), Timespan(y)) => match op {
            "+" => Timespan(x + y),
            "-" => Timespan(x - y),
            "/" if *y != 0 => Real(*x as f64 / *y as f64),
            "%" if *y != 0 => Timespan(x % y),
            _ => Null,
        },
        (Timespan(x), Long(_) | Real(_)) if op == "*" || op == "/" => {
            let f = b.as_f64().unwrap_or(f64::NAN);
            let r = if op == "*" {
                *x as f64 * f
            } else {
                *x as f64 / f
            };
            if r.is_finite() {
                Timespan(r.round() as i64)
            } else {
                Null
            }
        }
        (Long(_) | Real(_), Timespan(y)) if op == "*" => {
            Timespan((a.as_f64().unwrap_or(0.0) * *y as f64).round() as i64)
        }
        _ => {
            let tn = |v: &Value| v.type_of().map_or("null", |t| t.name());
            return err(format!(
                "operator `{op}` cannot take {} and {}",
                tn(a),
                tn(b)
            ));
        }
    })
}
