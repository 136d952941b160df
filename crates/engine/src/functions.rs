//! Scalar functions. Each takes evaluated arguments; an unknown function is an error that
//! names it.

use crate::error::{err, unsupported, Result};
use crate::eval::{eval, Scope};
use crate::time::{civil_from_days, ticks_from_parts, TICKS_PER_DAY, TICKS_PER_SEC};
use crate::value::{Type, Value};
use kql::{Expr, Item};
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

thread_local! {
    static REGEXES: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

/// A compiled regex, cached per thread.
pub fn regex(pattern: &str) -> Result<regex::Regex> {
    REGEXES.with(|c| {
        if let Some(r) = c.borrow().get(pattern) {
            return Ok(r.clone());
        }
        let r = regex::Regex::new(pattern)
            .map_err(|e| crate::EngineError::Query(format!("invalid regex {pattern:?}: {e}")))?;
        c.borrow_mut().insert(pattern.to_string(), r.clone());
        Ok(r)
    })
}

fn dynamic(j: Json) -> Value {
    Value::Dynamic(Arc::new(j))
}

/// The return type of a function when it does not depend on values; `None` otherwise.
pub fn return_type(name: &str) -> Option<Type> {
    Some(match name {
        "tolower"
        | "toupper"
        | "substring"
        | "strcat"
        | "trim"
        | "trim_start"
        | "trim_end"
        | "replace_string"
        | "replace_regex"
        | "tostring"
        | "strcat_delim"
        | "gettype"
        | "extract"
        | "reverse"
        | "url_encode"
        | "url_decode"
        | "base64_encode_tostring"
        | "base64_decode_tostring"
        | "strrep"
        | "format_datetime"
        | "format_timespan"
        | "tohex"
        | "parse_path"
        | "strcat_array"
        | "dynamic_to_json" => Type::String,
        "toint" => Type::Int,
        "strlen" | "tolong" | "array_length" | "countof" | "indexof" | "dayofmonth"
        | "dayofyear" | "getyear" | "getmonth" | "hash" | "week_of_year" | "hourofday"
        | "bin_auto" | "array_index_of" | "toscalar_long" | "monthofyear" | "datetime_part"
        | "string_size" | "row_number" | "row_rank_min" | "row_rank_dense" => Type::Long,
        "toreal" | "todouble" | "todecimal" | "sqrt" | "log" | "log10" | "log2" | "exp" | "pow"
        | "rand" | "array_sum" | "sign" | "jaccard_index" | "sin" | "cos" | "tan" | "asin"
        | "acos" | "atan" | "atan2" | "cot" | "degrees" | "radians" | "pi" => Type::Real,
        "todatetime"
        | "now"
        | "ago"
        | "datetime_add"
        | "startofday"
        | "startofweek"
        | "startofmonth"
        | "startofyear"
        | "endofday"
        | "endofweek"
        | "endofmonth"
        | "endofyear"
        | "make_datetime"
        | "unixtime_seconds_todatetime"
        | "unixtime_milliseconds_todatetime"
        | "datetime_utc_to_local" => Type::DateTime,
        "totimespan" | "make_timespan" | "dayofweek" => Type::Timespan,
        "tobool" | "toboolean" | "isnull" | "isnotnull" | "isempty" | "isnotempty"
        | "ipv4_is_private" | "ipv4_is_in_range" | "ipv4_is_match" | "not" | "isnan" | "isinf"
        | "isfinite" | "set_has_element" | "isascii" | "isutf8" => Type::Bool,
        "split" | "parse_json" | "todynamic" | "parse_url" | "pack_array" | "bag_pack" | "pack"
        | "extract_all" | "array_concat" | "array_slice" | "bag_keys" | "set_union"
        | "set_intersect" | "set_difference" | "array_sort_asc" | "array_sort_desc"
        | "parse_csv" | "bag_merge" | "zip" | "range" | "repeat" | "bag_remove_keys"
        | "array_reverse" | "array_iff" | "array_iif" => Type::Dynamic,
        "toguid" | "new_guid" => Type::Guid,
        _ => return None,
    })
}

pub fn call(name: &str, args: &[Item], scope: &Scope) -> Result<Value> {
    let lname = name.to_ascii_lowercase();
    // Functions whose arguments are not all evaluated up front.
    match lname.as_str() {
        "iff" | "iif" => {
            let c = eval(&arg(args, 0, name)?.expr, scope)?;
            let pick = if c.scalar().as_bool() == Some(true) {
                1
            } else {
                2
            };
            return eval(&arg(args, pick, name)?.expr, scope);
        }
        // A typed expression's type, also when its value is null (`gettype(toint("x"))`
        // is "int"); the value's type where the expression's is dynamic or unknown.
        "gettype" => {
            let e = &arg(args, 0, name)?.expr;
            // Decimals are held as reals, and answered from the value as such.
            match crate::exec::static_type(e, scope.columns, scope.env) {
                Some(t) if !matches!(t, Type::Dynamic | Type::Decimal) => {
                    return Ok(Value::str(t.name()));
                }
                _ => {}
            }
        }
        "case" => {
            let mut i = 0;
            while i + 1 < args.len() {
                if eval(&args[i].expr, scope)?.scalar().as_bool() == Some(true) {
                    return eval(&args[i + 1].expr, scope);
                }
                i += 2;
            }
            return match args.last() {
                Some(a) if args.len() % 2 == 1 => eval(&a.expr, scope),
                _ => err("case() needs an else value"),
            };
        }
        "toscalar" => {
            let e = &arg(args, 0, name)?.expr;
            let t = crate::exec::eval_tabular(e, scope.env)?;
            return Ok(t
                .rows
                .first()
                .and_then(|r| r.values.first())
                .cloned()
                .unwrap_or(Value::Null));
        }
        "materialize" => return unsupported("materialize() in a scalar expression"),
        _ => {}
    }
    if let Some(f) = scope.env.function(name) {
        return crate::exec::call_user_scalar(&f, args, scope);
    }
    let v: Vec<Value> = args
        .iter()
        .map(|a| eval(&a.expr, scope))
        .collect::<Result<_>>()?;
    let s = |i: usize| v.get(i).map(|x| x.to_kusto_string()).unwrap_or_default();
    let n = |i: usize| v.get(i).and_then(|x| x.scalar().as_i64());
    let f = |i: usize| v.get(i).and_then(|x| x.scalar().as_f64());
    let need = |k: usize| -> Result<()> {
        if v.len() < k {
            err(format!(
                "{name}() needs {k} argument{}",
                if k == 1 { "" } else { "s" }
            ))
        } else {
            Ok(())
        }
    };
    if lname == "array_index_of" && matches!(v.get(1), Some(Value::Null)) {
        return err("array_index_of() cannot look up null");
    }
    if let Some(r) = crate::calendar::call(&lname, &v)
        .or_else(|| crate::arrays::call(&lname, &v))
        .or_else(|| crate::series::call(&lname, &v))
    {
        return Ok(r);
    }
    Ok(match lname.as_str() {
        "tolower" => Value::str(&s(0).to_lowercase()),
        "toupper" => Value::str(&s(0).to_uppercase()),
        "strlen" => Value::Long(s(0).chars().count() as i64),
        "substring" => {
            need(2)?;
            let chars: Vec<char> = s(0).chars().collect();
            // A negative start counts from the end.
            let start = n(1).unwrap_or(0);
            let start = if start < 0 {
                chars.len() as i64 + start
            } else {
                start
            };
            let start = start.clamp(0, chars.len() as i64) as usize;
            let len = n(2).unwrap_or(chars.len() as i64).max(0) as usize;
            Value::str(
                &chars[start..(start + len).min(chars.len())]
                    .iter()
                    .collect::<String>(),
            )
        }
        "strcat" => Value::str(&v.iter().map(|x| x.to_kusto_string()).collect::<String>()),
        "strcat_delim" => {
            need(2)?;
            Value::str(
                &v[1..]
                    .iter()
                    .map(|x| x.to_kusto_string())
                    .collect::<Vec<_>>()
                    .join(&s(0)),
            )
        }
        "split" => {
            need(2)?;
            let parts: Vec<Json> = s(0)
                .split(s(1).as_str())
                .map(|p| Json::String(p.to_string()))
                .collect();
            match n(2) {
                Some(i) => parts
                    .get(i as usize)
                    .map_or(Value::Null, |p| dynamic(Json::Array(vec![p.clone()]))),
                None => dynamic(Json::Array(parts)),
            }
        }
        "trim" | "trim_start" | "trim_end" => {
            need(2)?;
            let re = regex(&s(0))?;
            let mut t = s(1);
            if lname != "trim_end" {
                let anchored = regex(&format!("^(?:{})", re.as_str()))?;
                t = anchored.replace(&t, "").into_owned();
            }
            if lname != "trim_start" {
                let anchored = regex(&format!("(?:{})$", re.as_str()))?;
                t = anchored.replace(&t, "").into_owned();
            }
            Value::str(&t)
        }
        "replace_string" => {
            need(3)?;
            if s(1).is_empty() {
                Value::str(&s(0))
            } else {
                Value::str(&s(0).replace(&s(1), &s(2)))
            }
        }
        "replace_regex" => {
            need(3)?;
            let rep = s(2).replace("\\", "$");
            Value::str(&regex(&s(1))?.replace_all(&s(0), rep.as_str()))
        }
        "extract" => {
            need(3)?;
            let re = regex(&s(0))?;
            let g = n(1).unwrap_or(0) as usize;
            match re.captures(&s(2)).and_then(|c| c.get(g)) {
                Some(m) => {
                    let out = Value::str(m.as_str());
                    match v.get(3) {
                        Some(Value::String(t)) => {
                            out.convert(Type::parse(t).unwrap_or(Type::String))
                        }
                        _ => out,
                    }
                }
                None => Value::str(""),
            }
        }
        "extract_all" => {
            need(2)?;
            let re = regex(&s(0))?;
            if re.captures_len() < 2 {
                return err("extract_all() needs a regular expression with a capturing group");
            }
            let text = s(v.len() - 1);
            let all: Vec<Json> = re
                .captures_iter(&text)
                .map(|c| {
                    if c.len() == 2 {
                        Json::String(c.get(1).map_or("", |m| m.as_str()).into())
                    } else if c.len() == 1 {
                        Json::String(c.get(0).map_or("", |m| m.as_str()).into())
                    } else {
                        Json::Array(
                            (1..c.len())
                                .map(|i| Json::String(c.get(i).map_or("", |m| m.as_str()).into()))
                                .collect(),
                        )
                    }
                })
                .collect();
            if all.is_empty() {
                Value::Null
            } else {
                dynamic(Json::Array(all))
            }
        }
        "countof" => {
            need(2)?;
            let (t, p) = (s(0), s(1));
            if p.is_empty() {
                Value::Long(0)
            } else if s(2).eq_ignore_ascii_case("regex") {
                Value::Long(regex(&p)?.find_iter(&t).count() as i64)
            } else {
                Value::Long(t.matches(p.as_str()).count() as i64)
            }
        }
        "indexof" => {
            need(2)?;
            // indexof(text, lookup [, start [, length [, occurrence]]]), in characters.
            let (t, p) = (
                s(0).chars().collect::<Vec<char>>(),
                s(1).chars().collect::<Vec<char>>(),
            );
            let len = t.len() as i64;
            let start = n(2).unwrap_or(0);
            let start = if start < 0 { len + start } else { start };
            if !(0..=len).contains(&start) {
                return Ok(Value::Long(-1));
            }
            let end = match n(3) {
                Some(l) if l >= 0 => (start + l).min(len),
                _ => len,
            };
            let occurrence = n(4).unwrap_or(1).max(1);
            let mut found = 0;
            let mut at = -1;
            let last = end - p.len() as i64;
            let mut i = start;
            while i <= last {
                if t[i as usize..i as usize + p.len()] == p[..] {
                    found += 1;
                    if found == occurrence {
                        at = i;
                        break;
                    }
                }
                i += 1;
            }
            Value::Long(at)
        }
        "reverse" => Value::str(&s(0).chars().rev().collect::<String>()),
        "strrep" => Value::str(&s(0).repeat(n(1).unwrap_or(1).clamp(0, 10_000) as usize)),
        "parse_json" | "todynamic" => match v.first() {
            Some(Value::String(t)) => serde_json::from_str::<Json>(t)
                .map_or_else(|_| dynamic(Json::String(t.to_string())), dynamic),
            Some(Value::Dynamic(j)) => Value::Dynamic(j.clone()),
            Some(other) => dynamic(other.to_json()),
            None => Value::Null,
        },
        "parse_url" => parse_url(&s(0)),
        "tostring" => Value::str(&s(0)),
        "toint" => v
            .first()
            .map_or(Value::Null, |x| x.scalar().convert(Type::Int)),
        "tolong" => v
            .first()
            .map_or(Value::Null, |x| x.scalar().convert(Type::Long)),
        "toreal" | "todouble" | "todecimal" => v
            .first()
            .map_or(Value::Null, |x| x.scalar().convert(Type::Real)),
        "todatetime" => v
            .first()
            .map_or(Value::Null, |x| x.scalar().convert(Type::DateTime)),
        "totimespan" => v
            .first()
            .map_or(Value::Null, |x| x.scalar().convert(Type::Timespan)),
        "tobool" | "toboolean" => v
            .first()
            .map_or(Value::Null, |x| x.scalar().convert(Type::Bool)),
        "toguid" => v.first().map_or(Value::Null, |x| x.convert(Type::Guid)),
        "coalesce" => v
            .iter()
            .find(|x| !x.is_null() && !matches!(x, Value::String(s) if s.is_empty()))
            .cloned()
            .unwrap_or(Value::Null),
        "isnull" => Value::Bool(v.first().is_none_or(|x| x.is_null())),
        "isnotnull" => Value::Bool(!v.first().is_none_or(|x| x.is_null())),
        "isempty" => Value::Bool(
            v.first()
                .is_none_or(|x| x.is_null() || x.to_kusto_string().is_empty()),
        ),
        "isnotempty" => Value::Bool(
            !v.first()
                .is_none_or(|x| x.is_null() || x.to_kusto_string().is_empty()),
        ),
        "not" => match v.first().and_then(|x| x.scalar().as_bool()) {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        "now" => Value::DateTime(now_ticks() + v.first().and_then(ticks_of).unwrap_or(0)),
        "ago" => Value::DateTime(now_ticks() - v.first().and_then(ticks_of).unwrap_or(0)),
        "datetime_add" => {
            need(3)?;
            let Some(amount) = n(1) else {
                return Ok(Value::Null);
            };
            let Value::DateTime(t) = v[2].scalar().convert(Type::DateTime) else {
                return Ok(Value::Null);
            };
            datetime_add(&s(0), amount, t)?
        }
        "datetime_diff" => {
            need(3)?;
            let (Value::DateTime(a), Value::DateTime(b)) = (
                v[1].scalar().convert(Type::DateTime),
                v[2].scalar().convert(Type::DateTime),
            ) else {
                return Ok(Value::Null);
            };
            let n = datetime_diff(&s(0), a, b)?;
            // Kusto gives the difference in weeks as a real.
            if s(0).to_ascii_lowercase().starts_with("week") {
                Value::Real(n as f64)
            } else {
                Value::Long(n)
            }
        }
        "dayofweek" => match v.first().map(|x| x.scalar().convert(Type::DateTime)) {
            Some(Value::DateTime(t)) => {
                Value::Timespan((t.div_euclid(TICKS_PER_DAY) + 4).rem_euclid(7) * TICKS_PER_DAY)
            }
            _ => Value::Null,
        },
        "make_datetime" => {
            need(3)?;
            let secs = f(5).unwrap_or(0.0);
            let (mo, d) = (n(1).unwrap_or(1), n(2).unwrap_or(1));
            let (h, mi) = (n(3).unwrap_or(0), n(4).unwrap_or(0));
            let y = n(0).unwrap_or(0);
            if !(1..=9999).contains(&y)
                || !(1..=12).contains(&mo)
                || d < 1
                || d > crate::calendar::days_in_month(y, mo)
                || !(0..24).contains(&h)
                || !(0..60).contains(&mi)
                || !(0.0..60.0).contains(&secs)
            {
                return Ok(Value::Null);
            }
            crate::calendar::datetime(ticks_from_parts(
                n(0).unwrap_or(0),
                n(1).unwrap_or(1),
                n(2).unwrap_or(1),
                n(3).unwrap_or(0),
                n(4).unwrap_or(0),
                0,
                (secs * TICKS_PER_SEC as f64).round() as i64,
            ))
        }
        "unixtime_seconds_todatetime" => f(0).map_or(Value::Null, |x| {
            Value::DateTime((x * TICKS_PER_SEC as f64).round() as i64)
        }),
        "unixtime_milliseconds_todatetime" => f(0).map_or(Value::Null, |x| {
            Value::DateTime((x * 10_000.0).round() as i64)
        }),
        "bin" | "floor" => {
            need(2)?;
            bin(&v[0].scalar(), &v[1].scalar())
        }
        "round" => match (f(0), n(1).unwrap_or(0)) {
            (Some(x), p) => {
                let m = 10f64.powi(p as i32);
                let r = (x * m).round() / m;
                if matches!(v[0].scalar(), Value::Long(_)) && p <= 0 {
                    Value::Long(r as i64)
                } else {
                    Value::Real(r)
                }
            }
            _ => Value::Null,
        },
        "abs" => match v.first().map(Value::scalar) {
            Some(Value::Long(x)) => Value::Long(x.abs()),
            Some(Value::Timespan(x)) => Value::Timespan(x.abs()),
            _ => f(0).map_or(Value::Null, |x| Value::Real(x.abs())),
        },
        "sqrt" => f(0).map_or(Value::Null, |x| Value::Real(x.sqrt())),
        "exp" => f(0).map_or(Value::Null, |x| Value::Real(x.exp())),
        // The logarithm of a negative number is null (not NaN).
        "log" | "log10" | "log2" => match f(0) {
            Some(x) if x >= 0.0 || x.is_nan() => Value::Real(match lname.as_str() {
                "log" => x.ln(),
                "log10" => x.log10(),
                _ => x.log2(),
            }),
            _ => Value::Null,
        },
        "pow" => match (f(0), f(1)) {
            (Some(a), Some(b)) => Value::Real(a.powf(b)),
            _ => Value::Null,
        },
        "isnan" => Value::Bool(f(0).is_some_and(f64::is_nan)),
        "isinf" => Value::Bool(f(0).is_some_and(f64::is_infinite)),
        "isfinite" => Value::Bool(f(0).is_some_and(f64::is_finite)),
        "ipv4_is_private" => match parse_v4(&s(0)) {
            Some(ip) => Value::Bool(ip.is_private()),
            None => Value::Null,
        },
        "ipv4_is_in_range" => {
            need(2)?;
            match (parse_v4(&s(0)), parse_cidr(&s(1))) {
                (Some(ip), Some((net, bits))) => Value::Bool(in_range(ip, net, bits)),
                _ => Value::Null,
            }
        }
        "ipv4_is_match" => {
            need(2)?;
            let (a, b) = (parse_cidr(&s(0)), parse_cidr(&s(1)));
            match (a, b) {
                (Some((x, xb)), Some((y, yb))) => {
                    let bits = n(2).map_or_else(|| xb.min(yb), |p| p as u8);
                    Value::Bool(in_range(x, y, bits))
                }
                _ => Value::Null,
            }
        }
        "array_length" => match v.first() {
            Some(Value::Dynamic(j)) => j
                .as_array()
                .map_or(Value::Null, |a| Value::Long(a.len() as i64)),
            _ => Value::Null,
        },
        "pack_array" => dynamic(Json::Array(v.iter().map(Value::to_json).collect())),
        "bag_pack" | "pack" => {
            let mut m = serde_json::Map::new();
            for pair in v.chunks(2) {
                if let [k, val] = pair {
                    m.insert(k.to_kusto_string(), val.to_json());
                }
            }
            dynamic(Json::Object(m))
        }
        "bag_keys" => match v.first() {
            Some(Value::Dynamic(j)) => j.as_object().map_or(Value::Null, |o| {
                dynamic(Json::Array(
                    o.keys().map(|k| Json::String(k.clone())).collect(),
                ))
            }),
            _ => Value::Null,
        },
        "array_concat" => dynamic(Json::Array(
            v.iter()
                .filter_map(|x| match x {
                    Value::Dynamic(j) => j.as_array().cloned(),
                    _ => None,
                })
                .flatten()
                .collect(),
        )),
        "set_has_element" => match v.first() {
            Some(Value::Dynamic(j)) => Value::Bool(j.as_array().is_some_and(|a| {
                // Strictly by type: "2" is not an element of [1, 2, 3].
                let want = v[1].to_json();
                a.iter().any(|x| {
                    x.is_string() == want.is_string()
                        && Value::from_json(x).equals(&v[1]) == Some(true)
                })
            })),
            _ => Value::Null,
        },
        "gettype" => Value::str(match v.first() {
            Some(Value::Dynamic(j)) => match j.as_ref() {
                Json::Array(_) => "array",
                Json::Object(_) => "dictionary",
                Json::String(_) => "string",
                Json::Bool(_) => "bool",
                Json::Number(n) if n.is_i64() => "long",
                // A real inside a dynamic value is a "double"; a real column is "real".
                Json::Number(_) => "double",
                Json::Null => "null",
            },
            Some(Value::Null) | None => "null",
            Some(x) => x.type_of().map_or("null", Type::name),
        }),
        "hash" => Value::Long(fnv(&s(0)) as i64 & i64::MAX),
        "tohex" => n(0).map_or(Value::Null, |x| Value::str(&format!("{x:x}"))),
        "url_decode" => Value::str(&percent_decode(&s(0))),
        "new_guid" => Value::Guid(Arc::from("00000000-0000-0000-0000-000000000000")),
        "isascii" => Value::Bool(s(0).is_ascii()),
        "string_size" => Value::Long(s(0).len() as i64),
        "sign" => f(0).map_or(Value::Null, |x| {
            Value::Real(if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            })
        }),
        "ceiling" => match v.first().map(Value::scalar) {
            Some(Value::Long(x)) => Value::Long(x),
            _ => f(0).map_or(Value::Null, |x| Value::Real(x.ceil())),
        },
        "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "cot" | "degrees" | "radians" => f(0)
            .map_or(Value::Null, |x| {
                Value::Real(match lname.as_str() {
                    "sin" => x.sin(),
                    "cos" => x.cos(),
                    "tan" => x.tan(),
                    "asin" => x.asin(),
                    "acos" => x.acos(),
                    "atan" => x.atan(),
                    "cot" => 1.0 / x.tan(),
                    "degrees" => x.to_degrees(),
                    _ => x.to_radians(),
                })
            }),
        "atan2" => match (f(0), f(1)) {
            (Some(y), Some(x)) => Value::Real(y.atan2(x)),
            _ => Value::Null,
        },
        "pi" => Value::Real(std::f64::consts::PI),
        "max_of" | "min_of" => {
            // Nulls are ignored; the result is null only when every argument is.
            let mut best: Option<Value> = None;
            for x in v.iter().map(Value::scalar).filter(|x| !x.is_null()) {
                let better = match &best {
                    None => true,
                    Some(b) => {
                        let o = x.compare(b);
                        if lname == "max_of" {
                            o == Some(std::cmp::Ordering::Greater)
                        } else {
                            o == Some(std::cmp::Ordering::Less)
                        }
                    }
                };
                if better {
                    best = Some(x);
                }
            }
            best.unwrap_or(Value::Null)
        }
        _ => {
            if crate::aggregate::is_aggregate(&lname) {
                return err(format!("{name}() is an aggregation: use it in summarize"));
            }
            return unsupported(format!("function {name}()"));
        }
    })
}

fn arg<'a>(args: &'a [Item], i: usize, name: &str) -> Result<&'a Item> {
    args.get(i)
        .ok_or_else(|| crate::EngineError::Query(format!("{name}() needs more arguments")))
}

fn ticks_of(v: &Value) -> Option<i64> {
    match v.scalar() {
        Value::Timespan(t) => Some(t),
        other => other.convert(Type::Timespan).as_i64(),
    }
}

fn now_ticks() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_secs() as i64 * TICKS_PER_SEC + d.subsec_nanos() as i64 / 100
}

/// `bin(value, size)`: rounds down to a multiple of size.
pub fn bin(v: &Value, size: &Value) -> Value {
    match (v, size) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::DateTime(t), Value::Timespan(s)) | (Value::Timespan(t), Value::Timespan(s))
            if *s > 0 =>
        {
            // Kusto counts datetime ticks from 0001-01-01, not from 1970: bins line up with
            // that origin (weekly bins start on Mondays, as 0001-01-01 was one).
            let origin = if matches!(v, Value::DateTime(_)) {
                719_162 * TICKS_PER_DAY
            } else {
                0
            };
            let r = (t + origin).div_euclid(*s) * s - origin;
            if matches!(v, Value::DateTime(_)) {
                Value::DateTime(r)
            } else {
                Value::Timespan(r)
            }
        }
        (Value::Long(x), Value::Long(s)) if *s > 0 => Value::Long(x.div_euclid(*s) * s),
        _ => match (v.as_f64(), size.as_f64()) {
            (Some(x), Some(s)) if s > 0.0 => Value::Real((x / s).floor() * s),
            _ => Value::Null,
        },
    }
}

fn datetime_part_ticks(part: &str) -> Option<i64> {
    Some(match part.to_ascii_lowercase().as_str() {
        "week" | "weeks" => 7 * TICKS_PER_DAY,
        "day" | "days" => TICKS_PER_DAY,
        "hour" | "hours" => 3600 * TICKS_PER_SEC,
        "minute" | "minutes" => 60 * TICKS_PER_SEC,
        "second" | "seconds" => TICKS_PER_SEC,
        "millisecond" | "milliseconds" => 10_000,
        "microsecond" | "microseconds" => 10,
        "nanosecond" | "nanoseconds" => 1,
        _ => return None,
    })
}

fn months_of(part: &str) -> Option<i64> {
    match part.to_ascii_lowercase().as_str() {
        "year" | "years" => Some(12),
        "quarter" | "quarters" => Some(3),
        "month" | "months" => Some(1),
        _ => None,
    }
}

fn datetime_add(part: &str, amount: i64, t: i64) -> Result<Value> {
    if let Some(per) = datetime_part_ticks(part) {
        return Ok(amount
            .checked_mul(per)
            .and_then(|d| t.checked_add(d))
            .map_or(Value::Null, crate::calendar::datetime));
    }
    let Some(m) = months_of(part) else {
        return err(format!("unknown datetime part {part:?}"));
    };
    let day = t.div_euclid(TICKS_PER_DAY);
    let tod = t.rem_euclid(TICKS_PER_DAY);
    let (y, mo, d) = civil_from_days(day);
    let Some(total) = amount
        .checked_mul(m)
        .and_then(|a| a.checked_add(y * 12 + (mo - 1)))
        .filter(|t| t.abs() < 12 * 100_000)
    else {
        return Ok(Value::Null);
    };
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let last = crate::calendar::days_in_month(ny, nm);
    Ok(crate::calendar::datetime(
        ticks_from_parts(ny, nm, d.min(last), 0, 0, 0, 0) + tod,
    ))
}

fn datetime_diff(part: &str, a: i64, b: i64) -> Result<i64> {
    if let Some(m) = months_of(part) {
        let (ya, ma, _) = civil_from_days(a.div_euclid(TICKS_PER_DAY));
        let (yb, mb, _) = civil_from_days(b.div_euclid(TICKS_PER_DAY));
        let months = (ya * 12 + ma) - (yb * 12 + mb);
        return Ok(if m == 1 {
            months
        } else if m == 12 {
            ya - yb
        } else {
            (ya * 12 + ma - 1) / 3 - (yb * 12 + mb - 1) / 3
        });
    }
    let Some(per) = datetime_part_ticks(part) else {
        return err(format!("unknown datetime part {part:?}"));
    };
    if per == 7 * TICKS_PER_DAY {
        let wa = (a.div_euclid(TICKS_PER_DAY) + 4).div_euclid(7);
        let wb = (b.div_euclid(TICKS_PER_DAY) + 4).div_euclid(7);
        return Ok(wa - wb);
    }
    Ok(a.div_euclid(per) - b.div_euclid(per))
}

fn parse_v4(s: &str) -> Option<std::net::Ipv4Addr> {
    s.trim().parse().ok()
}

fn parse_cidr(s: &str) -> Option<(std::net::Ipv4Addr, u8)> {
    match s.split_once('/') {
        Some((ip, bits)) => Some((
            parse_v4(ip)?,
            bits.trim().parse().ok().filter(|b| *b <= 32)?,
        )),
        None => Some((parse_v4(s)?, 32)),
    }
}

fn in_range(ip: std::net::Ipv4Addr, net: std::net::Ipv4Addr, bits: u8) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits as u32)
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 3) {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `parse_url`: Scheme, Host, Port, Path, Username, Password, Query Parameters, Fragment.
fn parse_url(u: &str) -> Value {
    let mut m = serde_json::Map::new();
    let Some((scheme, rest)) = u.split_once("://") else {
        return dynamic(Json::Object(m));
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h, p),
        _ => (hostport, ""),
    };
    let mut params = serde_json::Map::new();
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        params.insert(k.to_string(), Json::String(percent_decode(v)));
    }
    m.insert("Scheme".into(), Json::String(scheme.into()));
    m.insert("Host".into(), Json::String(host.into()));
    m.insert("Port".into(), Json::String(port.into()));
    m.insert("Path".into(), Json::String(path.into()));
    m.insert("Username".into(), Json::String(user.into()));
    m.insert("Password".into(), Json::String(pass.into()));
    m.insert("Query Parameters".into(), Json::Object(params));
    m.insert("Fragment".into(), Json::String(fragment.into()));
    dynamic(Json::Object(m))
}

/// True when `e` (or any part of it) calls a function in `names`.
pub fn calls_any(e: &Expr, names: &dyn Fn(&str) -> bool) -> bool {
    match e {
        Expr::Call { func, args, .. } => {
            names(&func.to_ascii_lowercase()) || args.iter().any(|a| calls_any(&a.expr, names))
        }
        Expr::Binary { lhs, rhs, .. } => calls_any(lhs, names) || calls_any(rhs, names),
        Expr::Unary { expr, .. } | Expr::Paren(expr, _) => calls_any(expr, names),
        Expr::Member(b, _, _) => calls_any(b, names),
        Expr::Index(b, i, _) => calls_any(b, names) || calls_any(i, names),
        Expr::List(xs, _) => xs.iter().any(|x| calls_any(x, names)),
        _ => false,
    }
}
