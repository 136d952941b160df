//! The operators that turn arrays into rows: `mv-expand`, `mv-apply` (a subquery per
//! expanded row set) and `evaluate bag_unpack` (a column per key of a property bag).

use crate::error::{err, Result};
use crate::eval::{eval, Scope};
use crate::exec::{auto_name, run_ops, Env};
use crate::table::{Column, Row, Table};
use crate::value::{Type, Value};
use kql::{Expr, Item, Operator};

/// `mv-apply x = ARRAY on (subquery)`: for each row, the subquery runs over the row
/// expanded as mv-expand would; each row it gives is output after the input row's columns
/// that the subquery's result does not have.
pub(crate) fn mv_apply(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let Some(Expr::Paren(sub, _)) = op.items(Some("on")).first().map(|it| &it.expr) else {
        return err("mv-apply needs `on (subquery)`");
    };
    let Expr::Pipe { ops, .. } = sub.as_ref() else {
        return err("mv-apply needs `on (subquery)`");
    };
    let Table { columns, rows } = t;
    // The subquery of one row, over the row expanded.
    let apply_one = |rows: Vec<Row>| -> Result<Table> {
        let input = mv_expand(
            op,
            Table {
                columns: columns.clone(),
                rows,
            },
            env,
        )?;
        run_ops(ops, input, env)
    };
    let empty = apply_one(Vec::new())?;
    let outer: Vec<usize> = (0..columns.len())
        .filter(|&i| empty.index_of(&columns[i].name).is_none())
        .collect();
    let mut out_columns: Vec<Column> = outer.iter().map(|&i| columns[i].clone()).collect();
    out_columns.extend(empty.columns.iter().cloned());
    let mut out_rows = Vec::new();
    for r in rows {
        let result = apply_one(vec![r.clone()])?;
        if result.columns.len() != empty.columns.len() {
            return err("mv-apply: the subquery gave different columns for different rows");
        }
        for x in result.rows {
            let mut values: Vec<Value> = outer.iter().map(|&i| r.values[i].clone()).collect();
            values.extend(x.values);
            out_rows.push(Row {
                values,
                provenance: r.provenance.clone(),
            });
        }
    }
    Ok(Table {
        columns: out_columns,
        rows: out_rows,
    })
}

pub(crate) fn mv_expand(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let items = op.items(None);
    let limit = match op.items(Some("limit")).first() {
        Some(it) => eval(
            &it.expr,
            &Scope {
                columns: &[],
                values: &[],
                env,
            },
        )?
        .as_i64()
        .map(|n| n as usize),
        None => None,
    };
    let Table { mut columns, rows } = t;
    let mut targets = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let name = it
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| auto_name(&it.expr, i));
        let ty = it
            .to_type
            .as_deref()
            .and_then(Type::parse)
            .unwrap_or(Type::Dynamic);
        let ci = match columns.iter().position(|c| c.name == name) {
            Some(ci) => {
                columns[ci].ty = ty;
                ci
            }
            None => {
                columns.push(Column { name, ty });
                columns.len() - 1
            }
        };
        targets.push((ci, ty));
    }
    // `with_itemindex=NAME`: each expanded row's position in its array.
    let index_column = match op.param("with_itemindex").and_then(Expr::as_name) {
        Some(name) => {
            columns.push(Column {
                name: name.to_string(),
                ty: Type::Long,
            });
            Some(columns.len() - 1)
        }
        None => None,
    };
    let width = columns.len();
    let mut out = Vec::new();
    for r in rows {
        let arrays: Vec<Vec<serde_json::Value>> = items
            .iter()
            .map(|it| {
                let v = eval(
                    &it.expr,
                    &Scope {
                        columns: &columns[..r.values.len()],
                        values: &r.values,
                        env,
                    },
                )?;
                Ok(match v {
                    Value::Dynamic(j) => match j.as_ref() {
                        serde_json::Value::Array(a) => a.clone(),
                        serde_json::Value::Object(o) => {
                            o.iter().map(|(k, v)| serde_json::json!({ k: v })).collect()
                        }
                        // A null expands to one row holding null; an empty array to none.
                        serde_json::Value::Null => vec![serde_json::Value::Null],
                        other => vec![other.clone()],
                    },
                    Value::Null => vec![serde_json::Value::Null],
                    other => vec![other.to_json()],
                })
            })
            .collect::<Result<_>>()?;
        let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
        let n = limit.map_or(n, |l| n.min(l));
        for k in 0..n {
            let mut values = r.values.clone();
            values.resize(width, Value::Null);
            for ((ci, ty), arr) in targets.iter().zip(&arrays) {
                let v = arr.get(k).map_or(Value::Null, Value::from_json);
                values[*ci] = if *ty == Type::Dynamic {
                    v
                } else {
                    v.scalar().convert(*ty)
                };
            }
            if let Some(ci) = index_column {
                values[ci] = Value::Long(k as i64);
            }
            out.push(Row {
                values,
                provenance: r.provenance.clone(),
            });
        }
    }
    Ok(Table { columns, rows: out })
}

/// `evaluate bag_unpack(COLUMN [, PREFIX])`: a column for each key of the bags in COLUMN
/// (in order of first appearance, named PREFIX + key), which replaces it.
pub(crate) fn bag_unpack(args: &[Item], t: Table, env: &Env) -> Result<Table> {
    let Some(Expr::Name { name: bag, .. }) = args.first().map(|a| &a.expr) else {
        return err("bag_unpack() takes a dynamic column");
    };
    let Some(bi) = t.index_of(bag) else {
        return err(format!("bag_unpack(): unknown column `{bag}`"));
    };
    let prefix = match args.get(1) {
        Some(a) => eval(
            &a.expr,
            &Scope {
                columns: &[],
                values: &[],
                env,
            },
        )?
        .to_kusto_string(),
        None => String::new(),
    };
    let mut keys: Vec<String> = Vec::new();
    for r in &t.rows {
        if let Value::Dynamic(j) = &r.values[bi] {
            for k in j.as_object().into_iter().flat_map(|o| o.keys()) {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    }
    // A key's type: long, real, string or bool when every value has it, else dynamic.
    let type_of = |k: &str| -> Type {
        let mut ty: Option<Type> = None;
        for r in &t.rows {
            let Value::Dynamic(j) = &r.values[bi] else {
                continue;
            };
            let Some(x) = j.get(k).filter(|x| !x.is_null()) else {
                continue;
            };
            let this = match x {
                serde_json::Value::Bool(_) => Type::Bool,
                serde_json::Value::Number(n) if n.is_i64() => Type::Long,
                serde_json::Value::Number(_) => Type::Real,
                serde_json::Value::String(_) => Type::String,
                _ => Type::Dynamic,
            };
            ty = match ty {
                None => Some(this),
                Some(t) if t == this => Some(t),
                Some(_) => Some(Type::Dynamic),
            };
        }
        ty.unwrap_or(Type::Dynamic)
    };
    let mut columns: Vec<Column> = Vec::new();
    // Where each output column comes from: an input column or a key.
    enum From {
        Column(usize),
        Key(String),
    }
    let mut plan: Vec<From> = Vec::new();
    for (ci, c) in t.columns.iter().enumerate() {
        if ci == bi {
            // A key named as the unpacked column takes its place.
            if let Some(k) = keys.iter().find(|k| format!("{prefix}{k}") == *bag) {
                columns.push(Column {
                    name: bag.clone(),
                    ty: type_of(k),
                });
                plan.push(From::Key(k.clone()));
            }
            continue;
        }
        columns.push(c.clone());
        plan.push(From::Column(ci));
    }
    for k in &keys {
        let name = format!("{prefix}{k}");
        if name == *bag {
            continue;
        }
        if columns.iter().any(|c| c.name == name) {
            return err(format!(
                "bag_unpack(): key `{k}` clashes with column `{name}`"
            ));
        }
        columns.push(Column {
            name,
            ty: type_of(k),
        });
        plan.push(From::Key(k.clone()));
    }
    let rows = t
        .rows
        .into_iter()
        .map(|r| {
            let values = plan
                .iter()
                .zip(&columns)
                .map(|(p, c)| match p {
                    From::Column(ci) => r.values[*ci].clone(),
                    From::Key(k) => match &r.values[bi] {
                        Value::Dynamic(j) => match j.get(k.as_str()) {
                            Some(x) if c.ty == Type::Dynamic => Value::from_json(x),
                            Some(x) => Value::from_json(x).scalar().convert(c.ty),
                            None => Value::null_of(c.ty),
                        },
                        _ => Value::null_of(c.ty),
                    },
                })
                .collect();
            Row {
                values,
                provenance: r.provenance,
            }
        })
        .collect();
    Ok(Table { columns, rows })
}
