//! Kusto's scalar types and values: conversions, comparison, `tostring` text and the JSON
//! encoding of results. Strings are never null: a missing string is `""`.

use crate::time::{format_datetime, format_timespan, parse_datetime, parse_timespan};
use serde_json::Value as Json;
use std::cmp::Ordering;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    Timespan,
    Guid,
    Dynamic,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Long => "long",
            Type::Real => "real",
            Type::Decimal => "decimal",
            Type::String => "string",
            Type::DateTime => "datetime",
            Type::Timespan => "timespan",
            Type::Guid => "guid",
            Type::Dynamic => "dynamic",
        }
    }

    pub fn parse(name: &str) -> Option<Type> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => Type::Bool,
            "int" | "int32" => Type::Int,
            "long" | "int64" => Type::Long,
            "real" | "double" | "float" => Type::Real,
            "decimal" => Type::Decimal,
            "string" => Type::String,
            "datetime" | "date" => Type::DateTime,
            "timespan" | "time" => Type::Timespan,
            "guid" | "uniqueid" => Type::Guid,
            "dynamic" => Type::Dynamic,
            _ => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Long | Type::Real | Type::Decimal)
    }
}

/// One value. Integers of both `int` and `long` columns are held as `Long`; the column's
/// type says which it is.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    String(Arc<str>),
    DateTime(i64),
    Timespan(i64),
    Guid(Arc<str>),
    Dynamic(Arc<Json>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        if s.is_empty() {
            // Missing string columns are "": one shared value instead of one each.
            static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
            return Value::String(EMPTY.get_or_init(|| Arc::from("")).clone());
        }
        Value::String(Arc::from(s))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null) || matches!(self, Value::Dynamic(j) if j.is_null())
    }

    /// The type a value has on its own (literals, inference).
    pub fn type_of(&self) -> Option<Type> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => Type::Bool,
            Value::Long(_) => Type::Long,
            Value::Real(_) => Type::Real,
            Value::String(_) => Type::String,
            Value::DateTime(_) => Type::DateTime,
            Value::Timespan(_) => Type::Timespan,
            Value::Guid(_) => Type::Guid,
            Value::Dynamic(_) => Type::Dynamic,
        })
    }

    /// The null of a type: `""` for strings, null otherwise.
    pub fn null_of(ty: Type) -> Value {
        if ty == Type::String {
            Value::str("")
        } else {
            Value::Null
        }
    }

    /// Kusto's `tostring`.
    pub fn to_kusto_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Long(n) => n.to_string(),
            Value::Real(f) => format_real(*f),
            Value::String(s) | Value::Guid(s) => s.to_string(),
            Value::DateTime(t) => format_datetime(*t),
            Value::Timespan(t) => format_timespan(*t),
            Value::Dynamic(j) => match j.as_ref() {
                Json::String(s) => s.clone(),
                Json::Null => String::new(),
                other => other.to_string(),
            },
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Long(n) => Some(*n != 0),
            Value::Dynamic(j) => j.as_bool(),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                // A whole number is true when it is not zero.
                t if t.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
                    parse_long(t).map(|n| n != 0)
                }
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Long(n) => Some(*n),
            // Truncated; past the range of long, the nearest long (as Kusto converts a
            // column's values).
            Value::Real(f) if f.is_finite() => Some(f.trunc() as i64),
            Value::Bool(b) => Some(*b as i64),
            Value::DateTime(t) => Some(t + TICKS_TO_UNIX_EPOCH),
            Value::Timespan(t) => Some(*t),
            Value::String(s) => parse_long(s),
            Value::Dynamic(j) => match j.as_ref() {
                Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Json::String(s) => parse_long(s),
                Json::Bool(b) => Some(*b as i64),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Long(n) => Some(*n as f64),
            Value::Real(f) => Some(*f),
            Value::Bool(b) => Some(*b as i64 as f64),
            Value::DateTime(t) => Some((t + TICKS_TO_UNIX_EPOCH) as f64),
            Value::Timespan(t) => Some(*t as f64),
            Value::String(s) => parse_real(s),
            Value::Dynamic(j) => match j.as_ref() {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => parse_real(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// Converts to a column type, as a typed column or `to<type>()` would; null when the
    /// value cannot be converted.
    pub fn convert(&self, ty: Type) -> Value {
        if self.is_null() {
            return Value::null_of(ty);
        }
        match ty {
            Type::String => Value::String(Arc::from(self.to_kusto_string())),
            Type::Bool => self.as_bool().map_or(Value::Null, Value::Bool),
            Type::Int | Type::Long => match self {
                Value::Real(f) if !f.is_finite() => Value::Null,
                // Text past the range of int is no int (numbers wrap, text does not).
                Value::String(s) if ty == Type::Int => parse_long(s)
                    .filter(|n| i32::try_from(*n).is_ok())
                    .map_or(Value::Null, Value::Long),
                v => v.as_i64().map_or(Value::Null, |n| {
                    Value::Long(if ty == Type::Int { n as i32 as i64 } else { n })
                }),
            },
            Type::Real | Type::Decimal => self.as_f64().map_or(Value::Null, Value::Real),
            Type::DateTime => match self {
                Value::DateTime(t) => Value::DateTime(*t),
                Value::Long(n) => crate::calendar::datetime(n.saturating_sub(TICKS_TO_UNIX_EPOCH)),
                v => {
                    parse_datetime(&v.to_kusto_string(), None).map_or(Value::Null, Value::DateTime)
                }
            },
            Type::Timespan => match self {
                Value::Timespan(t) => Value::Timespan(*t),
                Value::Long(n) => Value::Timespan(*n),
                v => parse_timespan(&v.to_kusto_string()).map_or(Value::Null, Value::Timespan),
            },
            Type::Guid => Value::Guid(Arc::from(self.to_kusto_string().to_ascii_lowercase())),
            Type::Dynamic => Value::Dynamic(Arc::new(self.to_json())),
        }
    }

    /// The JSON encoding of results (and of values placed in dynamic).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Long(n) => Json::from(*n),
            Value::Real(f) => real_json(*f),
            Value::String(s) | Value::Guid(s) => Json::String(s.to_string()),
            Value::DateTime(_) | Value::Timespan(_) => Json::String(self.to_kusto_string()),
            Value::Dynamic(j) => j.as_ref().clone(),
        }
    }

    /// A value from JSON held in a dynamic column or member access.
    pub fn from_json(j: &Json) -> Value {
        Value::Dynamic(Arc::new(j.clone()))
    }

    /// Unwraps a dynamic scalar into a plain value for arithmetic and comparison.
    pub fn scalar(&self) -> Value {
        match self {
            Value::Dynamic(j) => match j.as_ref() {
                Json::Null => Value::Null,
                Json::Bool(b) => Value::Bool(*b),
                Json::Number(n) => n
                    .as_i64()
                    .map_or_else(|| Value::Real(n.as_f64().unwrap_or(f64::NAN)), Value::Long),
                Json::String(s) => Value::String(Arc::from(s.as_str())),
                _ => self.clone(),
            },
            v => v.clone(),
        }
    }

    /// Kusto ordering for sort and comparison operators; `None` when incomparable.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        let (a, b) = (self.scalar(), other.scalar());
        match (&a, &b) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Long(x), Value::Long(y)) => Some(x.cmp(y)),
            (Value::Long(_) | Value::Real(_), Value::Long(_) | Value::Real(_)) => {
                a.as_f64()?.partial_cmp(&b.as_f64()?)
            }
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            (Value::DateTime(x), Value::DateTime(y)) | (Value::Timespan(x), Value::Timespan(y)) => {
                Some(x.cmp(y))
            }
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            (Value::Guid(x), Value::Guid(y)) => Some(x.cmp(y)),
            (Value::DateTime(x), Value::String(s)) => parse_datetime(s, None).map(|y| x.cmp(&y)),
            (Value::String(s), Value::DateTime(y)) => parse_datetime(s, None).map(|x| x.cmp(y)),
            (Value::Dynamic(x), Value::Dynamic(y)) => Some(x.to_string().cmp(&y.to_string())),
            (Value::String(_), Value::Long(_) | Value::Real(_))
            | (Value::Long(_) | Value::Real(_), Value::String(_)) => None,
            _ => Some(a.to_kusto_string().cmp(&b.to_kusto_string())),
        }
    }

    /// Equality as `==` sees it: null when either side is null.
    pub fn equals(&self, other: &Value) -> Option<bool> {
        let (a, b) = (self.scalar(), other.scalar());
        if a.is_null() || b.is_null() {
            return None;
        }
        match (&a, &b) {
            (Value::String(x), Value::String(y)) => Some(x == y),
            (Value::Guid(x), Value::Guid(y)) => Some(x.eq_ignore_ascii_case(y)),
            (Value::Guid(x), Value::String(y)) | (Value::String(y), Value::Guid(x)) => {
                Some(x.eq_ignore_ascii_case(y))
            }
            (Value::String(_), Value::Long(_) | Value::Real(_))
            | (Value::Long(_) | Value::Real(_), Value::String(_)) => {
                Some(a.to_kusto_string() == b.to_kusto_string())
            }
            (Value::Real(x), _) if x.is_nan() => Some(false),
            (_, Value::Real(y)) if y.is_nan() => Some(false),
            _ => a.compare(&b).map(|o| o == Ordering::Equal),
        }
    }

    /// A key for grouping and distinct: equal values give equal keys.
    pub fn group_key(&self) -> GroupKey {
        match self {
            Value::Null => GroupKey::Null,
            Value::Bool(b) => GroupKey::Int(*b as i64, 1),
            Value::Long(n) => GroupKey::Int(*n, 2),
            Value::Real(f) => GroupKey::Int(f.to_bits() as i64, 3),
            Value::DateTime(t) => GroupKey::Int(*t, 4),
            Value::Timespan(t) => GroupKey::Int(*t, 5),
            Value::String(s) => GroupKey::Str(s.clone()),
            Value::Guid(s) => GroupKey::Str(Arc::from(s.to_ascii_lowercase())),
            Value::Dynamic(j) => GroupKey::Str(Arc::from(format!("\u{1}{j}"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupKey {
    Null,
    Int(i64, u8),
    Str(Arc<str>),
}

pub fn real_json(f: f64) -> Json {
    if f.is_nan() {
        Json::String("NaN".into())
    } else if f.is_infinite() {
        Json::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

/// Kusto prints reals without a trailing `.0`.
pub fn format_real(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Ticks from 0001-01-01 (Kusto's datetime as a number) to the Unix epoch (held here).
pub const TICKS_TO_UNIX_EPOCH: i64 = 621_355_968_000_000_000;

/// A whole number in a string, as `tolong` reads it: decimal digits with an optional sign,
/// or `0x` and hexadecimal digits (64 bits, two's complement), around spaces; nothing
/// else (no fraction or exponent).
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(|n| n as i64);
    }
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok()
}

/// A real in a string, as `todouble` reads it: a decimal number (exponent allowed), or
/// `NaN`, `inf`, `Infinity` with a sign.
fn parse_real(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "inf" | "+inf" | "Inf" | "+Inf" | "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-inf" | "-Inf" | "-Infinity" => return Some(f64::NEG_INFINITY),
        _ if t.eq_ignore_ascii_case("nan") => return Some(f64::NAN),
        _ => {}
    }
    // Rust's parser also takes "INF" and "infinity" in any case; Kusto does not.
    if t.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    t.parse().ok()
}
