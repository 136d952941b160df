//! The canonical KQL layout: one statement after another, each pipeline's source on its
//! own line and every operator on a line of its own after a leading `| `. Comments stay in
//! front of the statement or operator they were written before. Printing then parsing
//! gives the same tree, and formatting formatted text changes nothing.

use crate::ast::*;

/// Formats a parsed query.
pub fn format_query(q: &Query) -> String {
    let mut out = String::new();
    let n = q.statements.len();
    for (i, s) in q.statements.iter().enumerate() {
        statement(&mut out, s, 0);
        if i + 1 < n
            || matches!(
                s.kind,
                StatementKind::Let { .. }
                    | StatementKind::Set { .. }
                    | StatementKind::DeclareParameters(_)
            )
        {
            out.push(';');
        }
        out.push('\n');
    }
    for c in &q.trailing_comments {
        out.push_str(&format!("//{c}\n"));
    }
    out
}

fn indent(out: &mut String, level: usize) {
    out.push('\n');
    out.push_str(&"    ".repeat(level));
}

fn comments(out: &mut String, cs: &[String], level: usize) {
    for c in cs {
        out.push_str(&format!("//{c}"));
        indent(out, level);
    }
}

fn statement(out: &mut String, s: &Statement, level: usize) {
    comments(out, &s.comments, level);
    match &s.kind {
        StatementKind::Let { name, value } => {
            out.push_str(&format!("let {} = ", ident(name)));
            match value {
                LetValue::Expr(e) => expr(out, e, level, 0),
                LetValue::Function {
                    params: ps,
                    body,
                    view,
                } => {
                    if *view {
                        out.push_str("view ");
                    }
                    params(out, ps, level);
                    out.push_str(" {");
                    for (i, st) in body.iter().enumerate() {
                        indent(out, level + 1);
                        statement(out, st, level + 1);
                        if i + 1 < body.len() {
                            out.push(';');
                        }
                    }
                    indent(out, level);
                    out.push('}');
                }
            }
        }
        StatementKind::Set { name, value } => {
            out.push_str(&format!("set {name}"));
            if let Some(v) = value {
                out.push_str(" = ");
                expr(out, v, level, 0);
            }
        }
        StatementKind::DeclareParameters(ps) => {
            out.push_str("declare query_parameters");
            params(out, ps, level);
        }
        StatementKind::Expr(e) => expr(out, e, level, 0),
    }
}

fn params(out: &mut String, ps: &[Param], level: usize) {
    out.push('(');
    for (i, p) in ps.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if p.name == "*" {
            out.push('*');
            continue;
        }
        out.push_str(&format!("{}:{}", ident(&p.name), p.ty));
        if let Some(d) = &p.default {
            out.push_str(" = ");
            expr(out, d, level, 0);
        }
    }
    out.push(')');
}

/// Quotes a name when it is not a plain identifier.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain && !RESERVED.contains(&name) {
        name.to_string()
    } else {
        format!("[{}]", string_literal(name))
    }
}

/// Words that cannot stand as bare names.
const RESERVED: &[&str] = &[
    // Words that start a pipeline (with "union", "print", "range", "datatable" below): a
    // name spelled so must stay a name.
    "search",
    "find",
    "externaldata",
    "evaluate",
    "view",
    "and",
    "or",
    "by",
    "on",
    "with",
    "let",
    "true",
    "false",
    "null",
    "in",
    "has",
    "contains",
    "between",
    "asc",
    "desc",
    "to",
    "of",
    "from",
    "step",
    "nulls",
    "default",
    "set",
    "declare",
    "where",
    "project",
    "extend",
    "summarize",
    "order",
    "sort",
    "take",
    "limit",
    "top",
    "join",
    "union",
    "print",
    "range",
    "datatable",
    "count",
    "distinct",
    "as",
    "not",
    "typeof",
    "dynamic",
    "startswith",
    "endswith",
    "matches",
    "like",
    "first",
    "last",
    "time",
    "date",
    "has_any",
    "has_all",
    "hasprefix",
    "hassuffix",
];

/// A string literal in double quotes with escapes.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Binary { op, .. } => match op.as_str() {
            "or" => 1,
            "and" => 2,
            "+" | "-" => 4,
            "*" | "/" | "%" => 5,
            _ => 3,
        },
        Expr::Unary { .. } => 6,
        Expr::Pipe { .. } => 0,
        _ => 7,
    }
}

/// Prints `e`, in parentheses when its precedence is below `min`.
fn expr(out: &mut String, e: &Expr, level: usize, min: u8) {
    if precedence(e) < min {
        out.push('(');
        expr(out, e, level, 0);
        out.push(')');
        return;
    }
    match e {
        Expr::Literal(l, _) => literal(out, l),
        Expr::Name { name, wildcard, .. } => {
            out.push_str(&if *wildcard { name.clone() } else { ident(name) });
            if *wildcard {
                out.push('*');
            }
        }
        Expr::Star(_) => out.push('*'),
        Expr::Member(b, name, _) => {
            expr(out, b, level, 7);
            // `0.E` would lex as the real `0.` and a name: keep a number and `.name` apart.
            if matches!(
                b.as_ref(),
                Expr::Literal(Literal::Int(_) | Literal::Real(_), _)
            ) {
                out.push(' ');
            }
            out.push('.');
            out.push_str(&ident(name));
        }
        Expr::Index(b, i, _) => {
            expr(out, b, level, 7);
            out.push('[');
            expr(out, i, level, 0);
            out.push(']');
        }
        Expr::Call { func, args, .. } => {
            out.push_str(func);
            out.push('(');
            items(out, args, ", ", level);
            out.push(')');
        }
        Expr::TypeOf(t, _) => out.push_str(&format!("typeof({t})")),
        Expr::Unary {
            op, expr: inner, ..
        } => {
            out.push_str(op);
            expr(out, inner, level, 6);
        }
        Expr::Binary { op, lhs, rhs, .. } => {
            let p = precedence(e);
            expr(out, lhs, level, p);
            out.push(' ');
            out.push_str(op);
            out.push(' ');
            expr(out, rhs, level, p + 1);
        }
        Expr::List(xs, _) => {
            out.push('(');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, x, level, 0);
            }
            out.push(')');
        }
        Expr::Range(a, b, _) => {
            expr(out, a, level, 0);
            out.push_str(" .. ");
            expr(out, b, level, 0);
        }
        Expr::Paren(inner, _) => {
            out.push('(');
            if matches!(inner.as_ref(), Expr::Pipe { .. }) {
                indent(out, level + 1);
                expr(out, inner, level + 1, 0);
                indent(out, level + 1);
            } else {
                expr(out, inner, level, 0);
            }
            out.push(')');
        }
        Expr::Dynamic(d, _) => {
            out.push_str("dynamic(");
            dynamic(out, d, level);
            out.push(')');
        }
        Expr::Typed { name, ty, .. } => out.push_str(&format!("{}:{ty}", ident(name))),
        Expr::Pipe { source, ops, .. } => {
            let implicit = matches!(source.as_ref(), Expr::Name { name, .. } if name.is_empty());
            if !implicit {
                // A source is parsed as a whole expression, so it needs no parentheses.
                expr(out, source, level, 0);
            }
            for (i, op) in ops.iter().enumerate() {
                if implicit && i == 0 {
                    comments(out, &op.comments, level);
                    operator(out, op, level);
                    continue;
                }
                indent(out, level);
                comments(out, &op.comments, level);
                out.push_str("| ");
                operator(out, op, level);
            }
        }
        Expr::Source(op) => operator(out, op, level),
    }
}

fn literal(out: &mut String, l: &Literal) {
    match l {
        Literal::String(s) => out.push_str(&string_literal(s)),
        Literal::Int(t) | Literal::Real(t) | Literal::Timespan(t) => out.push_str(t),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Typed { ty, text } => out.push_str(&format!("{ty}({text})")),
        Literal::Null => out.push_str("null"),
    }
}

fn dynamic(out: &mut String, d: &Dynamic, level: usize) {
    match d {
        Dynamic::Array(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dynamic(out, x, level);
            }
            out.push(']');
        }
        Dynamic::Bag(kvs) => {
            out.push('{');
            for (i, (k, v)) in kvs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string_literal(k));
                out.push_str(": ");
                dynamic(out, v, level);
            }
            out.push('}');
        }
        Dynamic::Scalar(e) => expr(out, e, level, 6),
    }
}

fn items(out: &mut String, xs: &[Item], sep: &str, level: usize) {
    for (i, it) in xs.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        item(out, it, level);
    }
}

fn item(out: &mut String, it: &Item, level: usize) {
    match it.names.as_slice() {
        [] => {}
        [one] => out.push_str(&format!("{} = ", ident(one))),
        many => {
            let names: Vec<String> = many.iter().map(|n| ident(n)).collect();
            out.push_str(&format!("({}) = ", names.join(", ")));
        }
    }
    expr(out, &it.expr, level, 0);
    if let Some(o) = it.order {
        out.push_str(if o == SortOrder::Asc { " asc" } else { " desc" });
    }
    if let Some(n) = it.nulls {
        out.push_str(if n == NullsPosition::First {
            " nulls first"
        } else {
            " nulls last"
        });
    }
    if let Some(t) = &it.to_type {
        out.push_str(&format!(" to typeof({t})"));
    }
    if let Some(d) = &it.default {
        out.push_str(" default = ");
        expr(out, d, level, 0);
    }
}

fn operator(out: &mut String, op: &Operator, level: usize) {
    out.push_str(&op.name);
    for (k, v) in &op.params {
        out.push_str(&format!(" {k}="));
        expr(out, v, level, 7);
    }
    let mut in_scan_steps = false;
    for (i, c) in op.clauses.iter().enumerate() {
        let kw = c.keyword.as_deref();
        if let Some(step) = kw.filter(|k| k.starts_with("step ")) {
            out.push_str(if in_scan_steps { " " } else { " with (" });
            in_scan_steps = true;
            out.push_str(step);
            out.push_str(": ");
            item(out, &c.items[0], level);
            if c.items.len() > 1 {
                out.push_str(" => ");
                items(out, &c.items[1..], ", ", level);
            }
            out.push(';');
            continue;
        }
        match kw {
            None if op.name == "top-nested" && i > 0 => out.push_str(", top-nested "),
            None => out.push(' '),
            Some("schema") => {}
            Some("[") => out.push_str(" ["),
            Some("{") => out.push(' '),
            Some(k) => {
                out.push(' ');
                out.push_str(k);
                out.push(' ');
            }
        }
        if c.parenthesized {
            out.push('(');
        }
        if kw == Some("{") {
            out.push('{');
            if let Expr::Paren(inner, _) = &c.items[0].expr {
                indent(out, level + 1);
                expr(out, inner, level + 1, 0);
                indent(out, level);
            }
            out.push('}');
            continue;
        }
        if kw == Some("declare") {
            for (j, it) in c.items.iter().enumerate() {
                if j > 0 {
                    out.push_str(", ");
                }
                expr(out, &it.expr, level, 0);
                if let Some(d) = &it.default {
                    out.push_str(" = ");
                    expr(out, d, level, 0);
                }
            }
        } else {
            items(out, &c.items, if c.spaced { " " } else { ", " }, level);
        }
        if c.parenthesized {
            out.push(')');
        }
        if kw == Some("[") {
            out.push(']');
        }
    }
    if in_scan_steps {
        out.push(')');
    }
}
