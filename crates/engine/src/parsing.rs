//! The text-parsing operators: `parse` and `parse-where` (simple and `kind=regex`
//! patterns) and `parse-kv` (key-value pairs with delimiters and quotes).

use crate::error::{err, unsupported, Result};
use crate::eval::{eval, Scope};
use crate::exec::Env;
use crate::table::{Column, Row, Table};
use crate::value::{Type, Value};
use kql::{Expr, Item, Operator};

/// `parse` and `parse-where`: columns cut out of a text by a pattern of literals and
/// `name:type` captures; `parse-where` drops the rows the pattern does not fit.
pub(crate) fn parse_op(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let kind = op.param("kind").and_then(Expr::as_name).unwrap_or("simple");
    if !matches!(kind, "simple" | "regex" | "relaxed") {
        return unsupported(format!("{} kind={kind}", op.name));
    }
    let source = &op.items(None)[0].expr;
    let pattern = op.items(Some("with"));
    // In regex mode the pattern's strings are regular expressions and each column a group.
    let regex = if kind == "regex" {
        let flags = op
            .param("flags")
            .and_then(Expr::as_name)
            .unwrap_or_default()
            .to_string();
        Some(crate::functions::regex(&regex_pattern(
            pattern, &flags, env,
        )?)?)
    } else {
        None
    };
    let Table { mut columns, rows } = t;
    let base = columns.len();
    let mut caps: Vec<(usize, Type)> = Vec::new();
    for it in pattern {
        let (name, ty) = match &it.expr {
            Expr::Name { name, .. } => (name.clone(), Type::String),
            Expr::Typed { name, ty, .. } => (name.clone(), Type::parse(ty).unwrap_or(Type::String)),
            _ => continue,
        };
        let ci = match columns.iter().position(|c| c.name == name) {
            Some(ci) => ci,
            None => {
                columns.push(Column { name, ty });
                columns.len() - 1
            }
        };
        caps.push((ci, ty));
    }
    let mut out = Vec::new();
    for r in rows {
        let text = eval(
            source,
            &Scope {
                columns: &columns[..base],
                values: &r.values,
                env,
            },
        )?
        .to_kusto_string();
        let got = match &regex {
            Some(re) => re.captures(&text).map(|c| {
                c.iter()
                    .skip(1)
                    .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
                    .collect()
            }),
            None => match_pattern(&text, pattern, env)?,
        };
        if got.is_none() && op.name == "parse-where" {
            continue;
        }
        let mut values = r.values.clone();
        values.resize(columns.len(), Value::Null);
        for (k, (ci, ty)) in caps.iter().enumerate() {
            values[*ci] = match &got {
                Some(g) => Value::str(&g[k]).convert(*ty),
                None => Value::null_of(*ty),
            };
        }
        if got.is_some()
            && caps
                .iter()
                .zip(got.iter().flatten())
                .any(|((_, ty), s)| *ty != Type::String && Value::str(s).convert(*ty).is_null())
            && op.name == "parse-where"
        {
            continue;
        }
        out.push(Row {
            values,
            provenance: r.provenance,
        });
    }
    Ok(Table { columns, rows: out })
}

/// `parse-kv TEXT as (key:type, ...) with (pair_delimiter=..., kv_delimiter=..., quote=...)`:
/// the text is cut into pairs at the pair delimiter and each pair at its first key-value
/// delimiter, outside quotes; keys and values are trimmed and values unquoted. The first
/// occurrence of a key gives its value; a key not found is empty.
pub(crate) fn parse_kv(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let Some(source) = op.items(None).first() else {
        return err("parse-kv needs a text");
    };
    let empty: [Column; 0] = [];
    let constant = |e: &Expr| -> Result<String> {
        Ok(eval(
            e,
            &Scope {
                columns: &empty,
                values: &[],
                env,
            },
        )?
        .to_kusto_string())
    };
    let (mut pair, mut kv, mut quotes) = (" ".to_string(), "=".to_string(), String::new());
    for it in op.items(Some("with")) {
        match it.names.first().map(String::as_str) {
            Some("pair_delimiter") => pair = constant(&it.expr)?,
            Some("kv_delimiter") => kv = constant(&it.expr)?,
            Some("quote") => quotes = constant(&it.expr)?,
            _ => {}
        }
    }
    if pair.is_empty() || kv.is_empty() {
        return err("parse-kv: delimiters must not be empty");
    }
    let Table { mut columns, rows } = t;
    let base = columns.len();
    let mut keys: Vec<(String, usize, Type)> = Vec::new();
    for it in op.items(Some("as")) {
        let (name, ty) = match &it.expr {
            Expr::Name { name, .. } => (name.clone(), Type::String),
            Expr::Typed { name, ty, .. } => (name.clone(), Type::parse(ty).unwrap_or(Type::String)),
            _ => return err("parse-kv: expected `name:type` in `as (...)`"),
        };
        let ci = match columns.iter().position(|c| c.name == name) {
            Some(ci) => ci,
            None => {
                columns.push(Column {
                    name: name.clone(),
                    ty,
                });
                columns.len() - 1
            }
        };
        keys.push((name, ci, ty));
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let text = eval(
            &source.expr,
            &Scope {
                columns: &columns[..base],
                values: &r.values,
                env,
            },
        )?
        .to_kusto_string();
        // Spaces around a key-value delimiter belong to neither side (`key = value`).
        let text = tighten(&text, &kv);
        let pairs = split_outside_quotes(&text, &pair, &quotes, usize::MAX);
        let mut values = r.values.clone();
        values.resize(columns.len(), Value::Null);
        for (name, ci, ty) in &keys {
            let found = pairs.iter().find_map(|p| {
                let kv_parts = split_outside_quotes(p, &kv, &quotes, 2);
                match kv_parts.as_slice() {
                    [k, v] if unquote(k.trim(), &quotes) == name => {
                        Some(unquote(v.trim(), &quotes).to_string())
                    }
                    _ => None,
                }
            });
            values[*ci] = match found {
                Some(v) => Value::str(&v).convert(*ty),
                None => Value::null_of(*ty),
            };
        }
        out.push(Row {
            values,
            provenance: r.provenance,
        });
    }
    Ok(Table { columns, rows: out })
}

/// `text` without the whitespace around each `delim`.
fn tighten(text: &str, delim: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(delim) {
        out.push_str(rest[..at].trim_end());
        out.push_str(delim);
        rest = rest[at + delim.len()..].trim_start();
    }
    out.push_str(rest);
    out
}

/// `text` cut at `delim` where it is not inside quotes (any character of `quotes`), into at
/// most `limit` parts.
fn split_outside_quotes<'a>(
    text: &'a str,
    delim: &str,
    quotes: &str,
    limit: usize,
) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut open: Option<char> = None;
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        match open {
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if quotes.contains(c) => open = Some(c),
            None if parts.len() + 1 < limit && text[i..].starts_with(delim) => {
                parts.push(&text[start..i]);
                i += delim.len();
                start = i;
                continue;
            }
            None => {}
        }
        i += c.len_utf8();
    }
    parts.push(&text[start..]);
    parts
}

/// A value without the quotes around it, if `quotes` holds its first and last character.
fn unquote<'a>(v: &'a str, quotes: &str) -> &'a str {
    let mut cs = v.chars();
    match (cs.next(), cs.next_back()) {
        (Some(a), Some(b)) if a == b && quotes.contains(a) => {
            &v[a.len_utf8()..v.len() - b.len_utf8()]
        }
        _ => v,
    }
}

/// The regular expression of a `parse kind=regex` pattern: strings as written, a string
/// column as `(.*)`, a number as digits; `flags` as Kusto's (`U` ungreedy, `i`, `m`, `s`).
fn regex_pattern(pattern: &[Item], flags: &str, env: &Env) -> Result<String> {
    let mut re = String::new();
    let inline: String = flags.chars().filter(|c| "imsU".contains(*c)).collect();
    if !inline.is_empty() {
        re.push_str(&format!("(?{inline})"));
    }
    for it in pattern {
        match &it.expr {
            Expr::Name { .. } => re.push_str("(.*)"),
            Expr::Typed { ty, .. } => re.push_str(match Type::parse(ty) {
                Some(Type::Int | Type::Long) => r"([-+]?\d+)",
                Some(Type::Real | Type::Decimal) => r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)",
                _ => "(.*)",
            }),
            Expr::Star(_) => re.push_str(".*?"),
            e => re.push_str(
                &eval(
                    e,
                    &Scope {
                        columns: &[],
                        values: &[],
                        env,
                    },
                )?
                .to_kusto_string(),
            ),
        }
    }
    Ok(re)
}

/// Matches a simple-mode parse pattern; the captured texts, or `None` when it fails.
fn match_pattern(text: &str, pattern: &[Item], env: &Env) -> Result<Option<Vec<String>>> {
    let mut pos = 0;
    let mut caps = Vec::new();
    let mut pending: Option<bool> = None; // Some(true): a capture waits for its end
    for it in pattern {
        match &it.expr {
            Expr::Literal(..) => {
                let lit = eval(
                    &it.expr,
                    &Scope {
                        columns: &[],
                        values: &[],
                        env,
                    },
                )?
                .to_kusto_string();
                let Some(off) = text[pos..].find(&lit) else {
                    return Ok(None);
                };
                if let Some(is_cap) = pending.take() {
                    if is_cap {
                        caps.push(text[pos..pos + off].to_string());
                    }
                } else if off != 0 {
                    return Ok(None);
                }
                pos += off + lit.len();
            }
            Expr::Star(_) => pending = Some(false),
            _ => {
                if pending == Some(true) {
                    caps.push(String::new());
                }
                pending = Some(true);
            }
        }
    }
    if pending == Some(true) {
        caps.push(text[pos..].to_string());
    }
    Ok(Some(caps))
}
