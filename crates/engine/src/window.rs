//! Window functions over serialized rows: `prev`, `next`, `row_number`, `row_cumsum`,
//! `row_rank_min` and `row_rank_dense`. Each call in an `extend` (or `serialize`) item is
//! computed for every row first, innermost first, as a hidden column; the item is then
//! evaluated with the call replaced by that column.

use crate::error::Result;
use crate::eval::{eval, Scope};
use crate::exec::Env;
use crate::table::{Column, Row};
use crate::value::{Type, Value};
use kql::{Expr, Item};

const WINDOW: [&str; 6] = [
    "prev",
    "next",
    "row_number",
    "row_cumsum",
    "row_rank_min",
    "row_rank_dense",
];

/// Whether an expression calls a window function anywhere.
pub fn uses_window(e: &Expr) -> bool {
    crate::functions::calls_any(e, &|name| WINDOW.contains(&name))
}

/// Evaluates `e` on every row, window calls included.
pub fn eval_rows(e: &Expr, columns: &[Column], rows: &[Row], env: &Env) -> Result<Vec<Value>> {
    let mut hidden: Vec<Vec<Value>> = Vec::new();
    let mut cols = columns.to_vec();
    let e = lift(e, &mut cols, rows, &mut hidden, env)?;
    let mut buf = Vec::new();
    rows.iter()
        .enumerate()
        .map(|(i, r)| eval(&e, &scope_row(&cols, r, &hidden, i, env, &mut buf)))
        .collect()
}

/// The values of row `i` with the hidden columns appended, in `buf`.
fn scope_row<'a>(
    cols: &'a [Column],
    r: &Row,
    hidden: &[Vec<Value>],
    i: usize,
    env: &'a Env,
    buf: &'a mut Vec<Value>,
) -> Scope<'a> {
    buf.clear();
    buf.extend(r.values.iter().cloned());
    buf.extend(hidden.iter().map(|h| h[i].clone()));
    Scope {
        columns: cols,
        values: buf,
        env,
    }
}

/// Replaces each window call in `e` (innermost first) with a hidden column holding its
/// value on every row.
fn lift(
    e: &Expr,
    cols: &mut Vec<Column>,
    rows: &[Row],
    hidden: &mut Vec<Vec<Value>>,
    env: &Env,
) -> Result<Expr> {
    // Arguments first, so that a window call inside another's arguments is computed first.
    let e = e.map_children(&mut |x| lift(x, cols, rows, hidden, env))?;
    let Expr::Call { func, args, span } = &e else {
        return Ok(e);
    };
    let lname = func.to_ascii_lowercase();
    if !WINDOW.contains(&lname.as_str()) {
        return Ok(e);
    }
    let values = window(&lname, args, cols, rows, hidden, env)?;
    let name = format!("\u{0}window{}", hidden.len());
    let ty = values.iter().find_map(Value::type_of).unwrap_or(Type::Long);
    cols.push(Column {
        name: name.clone(),
        ty,
    });
    hidden.push(values);
    Ok(Expr::Name {
        name,
        wildcard: false,
        span: *span,
    })
}

/// One window function's value on every row.
fn window(
    f: &str,
    args: &[Item],
    cols: &[Column],
    rows: &[Row],
    hidden: &[Vec<Value>],
    env: &Env,
) -> Result<Vec<Value>> {
    let mut buf = Vec::new();
    let mut arg_at = |k: usize, i: usize| -> Result<Option<Value>> {
        match args.get(k) {
            Some(a) => Ok(Some(eval(
                &a.expr,
                &scope_row(cols, &rows[i], hidden, i, env, &mut buf),
            )?)),
            None => Ok(None),
        }
    };
    let n = rows.len();
    let mut out = Vec::with_capacity(n);
    match f {
        "prev" | "next" => {
            // Kusto takes a constant offset of at least 1 and a constant default.
            if let Some(o) = args.get(1) {
                let ok = match &o.expr {
                    Expr::Literal(kql::Literal::Int(t), _) => {
                        t.parse::<i64>().is_ok_and(|n| n >= 1)
                    }
                    _ => false,
                };
                if !ok {
                    return crate::error::err(format!(
                        "{f}(): the offset must be a constant of at least 1"
                    ));
                }
            }
            if let Some(d) = args.get(2) {
                if !constant(&d.expr) {
                    return crate::error::err(format!("{f}(): the default must be a constant"));
                }
            }
            let mut vals = Vec::with_capacity(n);
            let mut offsets = Vec::with_capacity(n);
            let mut defaults = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(arg_at(0, i)?.unwrap_or(Value::Null));
                offsets.push(arg_at(1, i)?.and_then(|v| v.scalar().as_i64()).unwrap_or(1));
                defaults.push(arg_at(2, i)?.unwrap_or(Value::Null));
            }
            for i in 0..n {
                let j = if f == "prev" {
                    i as i64 - offsets[i]
                } else {
                    i as i64 + offsets[i]
                };
                out.push(if (0..n as i64).contains(&j) {
                    vals[j as usize].clone()
                } else {
                    defaults[i].clone()
                });
            }
        }
        "row_number" => {
            let mut next = 0i64;
            for i in 0..n {
                let start = arg_at(0, i)?.and_then(|v| v.scalar().as_i64()).unwrap_or(1);
                let restart = arg_at(1, i)?.and_then(|v| v.scalar().as_bool()) == Some(true);
                if i == 0 || restart {
                    next = start;
                }
                out.push(Value::Long(next));
                next += 1;
            }
        }
        "row_cumsum" => {
            let mut acc = Value::Null;
            for i in 0..n {
                let v = arg_at(0, i)?.unwrap_or(Value::Null).scalar();
                let restart = arg_at(1, i)?.and_then(|v| v.scalar().as_bool()) == Some(true);
                if i == 0 || restart {
                    acc = Value::Null;
                }
                if !v.is_null() {
                    acc = if acc.is_null() {
                        v
                    } else {
                        crate::eval::apply_binary("+", &acc, &v)?
                    };
                }
                out.push(if acc.is_null() {
                    Value::Long(0)
                } else {
                    acc.clone()
                });
            }
        }
        _ => {
            // row_rank_min: the position (from 1) of the first row of the run of equal
            // values; row_rank_dense: the number of the run. Both restart on request.
            let dense = f == "row_rank_dense";
            let (mut position, mut rank, mut previous) = (0i64, 0i64, None::<Value>);
            for i in 0..n {
                let v = arg_at(0, i)?.unwrap_or(Value::Null).scalar();
                let restart = arg_at(1, i)?.and_then(|v| v.scalar().as_bool()) == Some(true);
                if i == 0 || restart {
                    position = 0;
                    rank = 0;
                    previous = None;
                }
                position += 1;
                let same = previous
                    .as_ref()
                    .is_some_and(|p| p.group_key() == v.group_key());
                if !same {
                    rank = if dense { rank + 1 } else { position };
                }
                out.push(Value::Long(rank));
                previous = Some(v);
            }
        }
    }
    Ok(out)
}

/// Whether an expression is a constant: a literal, possibly negated or parenthesised.
fn constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(..) => true,
        Expr::Paren(x, _) | Expr::Unary { expr: x, .. } => constant(x),
        _ => false,
    }
}
