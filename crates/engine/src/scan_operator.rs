//! The `scan` operator with one step: `scan declare (x:type = default, ...) with (step s:
//! CONDITION => x = EXPR, ...;)`. Rows are read in order; a row matching the condition is
//! output with the declared columns assigned, and becomes the step's state: `s.x` reads
//! the value the last matching row assigned, a bare `x` the declared default. Rows that
//! do not match are not output. Sequences of several steps are not supported.

use crate::error::{err, unsupported, Result};
use crate::eval::{eval, Scope};
use crate::exec::Env;
use crate::table::{Column, Row, Table};
use crate::value::{Type, Value};
use kql::{Expr, Operator};

/// `s.x` rewritten to the hidden column that holds the step's state for `x`.
fn state_name(var: &str) -> String {
    format!("\u{0}state.{var}")
}

fn rewrite(e: &Expr, step: &str) -> Expr {
    let of_step = |base: &Expr| matches!(base, Expr::Name { name, .. } if name == step);
    match e {
        Expr::Member(base, name, span) if of_step(base) => Expr::Name {
            name: state_name(name),
            wildcard: false,
            span: *span,
        },
        other => other
            .map_children::<std::convert::Infallible>(&mut |x| Ok(rewrite(x, step)))
            .unwrap_or_else(|never| match never {}),
    }
}

pub fn scan(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let steps: Vec<&kql::Clause> = op
        .clauses
        .iter()
        .filter(|c| c.keyword.as_deref().is_some_and(|k| k.starts_with("step ")))
        .collect();
    if op
        .clauses
        .iter()
        .any(|c| c.keyword.as_deref() == Some("partition by"))
    {
        return unsupported("scan partition by");
    }
    let [step] = steps.as_slice() else {
        return unsupported("scan with several steps");
    };
    let step_name = step
        .keyword
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches("step ")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let empty: [Column; 0] = [];
    let constant = |e: &Expr| {
        eval(
            e,
            &Scope {
                columns: &empty,
                values: &[],
                env,
            },
        )
    };
    // The declared variables, their types and defaults.
    let mut vars: Vec<(String, Type, Value)> = Vec::new();
    for it in op.items(Some("declare")) {
        let Expr::Typed { name, ty, .. } = &it.expr else {
            return err("scan: declare takes `name:type [= default]`");
        };
        let ty = Type::parse(ty).unwrap_or(Type::Dynamic);
        let default = match &it.default {
            Some(d) => constant(d)?.convert(ty),
            None => Value::null_of(ty),
        };
        vars.push((name.clone(), ty, default));
    }
    let Some((cond, assigns)) = step.items.split_first() else {
        return err("scan: a step needs a condition");
    };
    let cond = rewrite(&cond.expr, &step_name);
    let mut targets = Vec::new();
    for a in assigns {
        let Some(name) = a.names.first() else {
            return err("scan: a step assigns `name = expression`");
        };
        let Some(vi) = vars.iter().position(|(v, _, _)| v == name) else {
            return err(format!("scan: `{name}` is not declared"));
        };
        targets.push((vi, rewrite(&a.expr, &step_name)));
    }
    // Evaluation sees the row, the declared defaults, and the step's state.
    let mut columns = t.columns.clone();
    let base = columns.len();
    let declared: Vec<usize> = vars
        .iter()
        .map(
            |(name, ty, _)| match columns.iter().position(|c| &c.name == name) {
                Some(i) => i,
                None => {
                    columns.push(Column {
                        name: name.clone(),
                        ty: *ty,
                    });
                    columns.len() - 1
                }
            },
        )
        .collect();
    let out_width = columns.len();
    let mut scope_columns = columns.clone();
    for (name, ty, _) in &vars {
        scope_columns.push(Column {
            name: state_name(name),
            ty: *ty,
        });
    }
    let mut state: Vec<Value> = vars.iter().map(|(_, _, d)| d.clone()).collect();
    let mut rows = Vec::new();
    for r in t.rows {
        let mut values = r.values;
        values.resize(out_width, Value::Null);
        for (k, &ci) in declared.iter().enumerate() {
            if ci >= base {
                values[ci] = vars[k].2.clone();
            }
        }
        values.extend(state.iter().cloned());
        let scope = Scope {
            columns: &scope_columns,
            values: &values,
            env,
        };
        if eval(&cond, &scope)?.scalar().as_bool() != Some(true) {
            continue;
        }
        let mut next = state.clone();
        for (vi, e) in &targets {
            next[*vi] = eval(e, &scope)?.convert(vars[*vi].1);
        }
        values.truncate(out_width);
        for (k, &ci) in declared.iter().enumerate() {
            values[ci] = next[k].clone();
        }
        state = next;
        rows.push(Row {
            values,
            provenance: r.provenance,
        });
    }
    Ok(Table { columns, rows })
}
