//! The `search` operator: free-text terms matched against every column, mixed with
//! ordinary predicates.
//!
//! A string term matches a row when some column's text holds it as `has` would (a whole
//! term, without case unless `kind=case_sensitive`); `x*`, `*x` and `*x*` match a term
//! prefix, a term suffix and any substring. `column:"term"` looks in one column. Terms
//! combine with `and`, `or` and `not()`; anything else is evaluated as a predicate. The
//! result has a `$table` column first naming each row's table.

use crate::error::{err, Result};
use crate::eval::{eval, fold, has_term, Scope};
use crate::exec::Env;
use crate::table::{Column, Row, Table};
use crate::value::{Type, Value};
use kql::{Expr, Literal};

/// Whether `e` holds for a row, with search's meaning of bare terms.
fn holds(e: &Expr, scope: &Scope, cs: bool) -> Result<bool> {
    Ok(match e {
        Expr::Paren(x, _) => holds(x, scope, cs)?,
        Expr::Binary { op, lhs, rhs, .. } if op == "and" => {
            holds(lhs, scope, cs)? && holds(rhs, scope, cs)?
        }
        Expr::Binary { op, lhs, rhs, .. } if op == "or" => {
            holds(lhs, scope, cs)? || holds(rhs, scope, cs)?
        }
        Expr::Call { func, args, .. } if func == "not" && args.len() == 1 => {
            !holds(&args[0].expr, scope, cs)?
        }
        Expr::Literal(Literal::String(term), _) => scope
            .values
            .iter()
            .any(|v| !v.is_null() && term_matches(&v.to_kusto_string(), term, cs)),
        // A bare number or bool is not a term.
        Expr::Literal(..) => false,
        Expr::Binary { op, lhs, rhs, .. } if op == ":" => {
            let Expr::Literal(Literal::String(term), _) = rhs.as_ref() else {
                return err("search: `column:` takes a string term");
            };
            let v = eval(lhs, scope)?;
            !v.is_null() && term_matches(&v.to_kusto_string(), term, cs)
        }
        other => eval(other, scope)?.scalar().as_bool() == Some(true),
    })
}

fn term_matches(text: &str, term: &str, cs: bool) -> bool {
    let (text, term) = if cs {
        (text.to_string(), term.to_string())
    } else {
        (fold(text), fold(term))
    };
    let lead = term.starts_with('*');
    let trail = term.len() > 1 && term.ends_with('*');
    let core = term.trim_matches('*');
    if core.is_empty() {
        return true;
    }
    let term_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    match (lead, trail) {
        (true, true) => text.contains(core),
        // The text has `core` starting (ending) where a term starts (ends).
        (false, true) => text
            .match_indices(core)
            .any(|(i, _)| !term_char(text[..i].chars().next_back())),
        (true, false) => text
            .match_indices(core)
            .any(|(i, m)| !term_char(text[i + m.len()..].chars().next())),
        (false, false) => has_term(&text, core),
    }
}

/// Filters `tables` (named) by the predicate and unions them under a `$table` column.
pub fn search(
    tables: Vec<(String, Table)>,
    predicate: &Expr,
    case_sensitive: bool,
    env: &Env,
) -> Result<Table> {
    let mut columns = vec![Column {
        name: "$table".into(),
        ty: Type::String,
    }];
    for (_, t) in &tables {
        for c in &t.columns {
            if !columns.iter().any(|x| x.name == c.name) {
                columns.push(c.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for (name, t) in tables {
        let map: Vec<Option<usize>> = columns[1..].iter().map(|c| t.index_of(&c.name)).collect();
        let tag = Value::str(&name);
        for r in t.rows {
            let scope = Scope {
                columns: &t.columns,
                values: &r.values,
                env,
            };
            if !holds(predicate, &scope, case_sensitive)? {
                continue;
            }
            let mut values = Vec::with_capacity(columns.len());
            values.push(tag.clone());
            values.extend(
                map.iter()
                    .zip(&columns[1..])
                    .map(|(m, c)| m.map_or_else(|| Value::null_of(c.ty), |i| r.values[i].clone())),
            );
            rows.push(Row {
                values,
                provenance: r.provenance,
            });
        }
    }
    Ok(Table { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::term_matches;

    #[test]
    fn terms_match_whole_words_or_wildcards() {
        assert!(term_matches("Hello World", "hello", false));
        assert!(!term_matches("alpha", "a", false));
        assert!(term_matches("web01", "web*", false));
        assert!(term_matches("10.5", "10*", false));
        assert!(!term_matches("20", "10*", false));
        assert!(term_matches("db02", "*02", false));
        assert!(term_matches("xbarx", "*bar*", false));
        assert!(!term_matches("abc", "ABC", true));
    }
}
