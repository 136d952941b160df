//! Query execution: statements, tabular expressions and the tabular operators.
//!
//! NOTE: operators work on whole tables in memory. Sources stream their files line by line
//! and apply the pipeline's leading `where` before a row is kept (see `source.rs`), so a
//! hunt holds only the rows that match; a query without a leading filter holds its input.

use crate::aggregate;
use crate::catalog::Catalog;
use crate::error::{err, unsupported, EngineError, Result};
use crate::eval::{eval, literal, Scope};
use crate::functions::{calls_any, return_type};
use crate::table::{unique_name, Column, Row, Table};
use crate::value::{GroupKey, Type, Value};
use kql::{Expr, Item, LetValue, Operator, Param, SortOrder, Statement, StatementKind};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
enum Binding {
    Scalar(Value),
    Table(Arc<Table>),
    Func(Arc<UserFunc>),
}

/// A user function from `let f = (params) { body }`.
pub struct UserFunc {
    params: Vec<Param>,
    body: Vec<Statement>,
}

/// Names bound by `let`, and the catalog of tables.
#[derive(Clone)]
pub struct Env {
    vars: HashMap<String, Binding>,
    pub(crate) catalog: Arc<Catalog>,
}

impl Env {
    /// An environment with no names bound yet over `catalog`.
    fn new(catalog: Arc<Catalog>) -> Env {
        Env {
            vars: HashMap::new(),
            catalog,
        }
    }

    pub fn scalar(&self, name: &str) -> Option<Value> {
        match self.vars.get(name)? {
            Binding::Scalar(v) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn table(&self, name: &str) -> Option<Table> {
        match self.vars.get(name)? {
            Binding::Table(t) => Some(t.as_ref().clone()),
            _ => None,
        }
    }

    /// The names of the stored tables (not `let` names), in the catalog's order.
    pub(crate) fn stored_tables(&self) -> Vec<String> {
        self.catalog.table_names()
    }

    /// Whether `let` (or a function's parameter) binds `name`.
    pub(crate) fn is_bound(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    pub fn function(&self, name: &str) -> Option<Arc<UserFunc>> {
        match self.vars.get(name)? {
            Binding::Func(f) => Some(f.clone()),
            _ => None,
        }
    }
}

/// Runs a query and returns its last result.
pub fn run_query(query: &kql::Query, catalog: Arc<Catalog>) -> Result<Table> {
    let mut env = Env::new(catalog);
    run_statements(&query.statements, &mut env)
}

fn run_statements(stmts: &[Statement], env: &mut Env) -> Result<Table> {
    let mut last = None;
    for s in stmts {
        match &s.kind {
            StatementKind::Let { name, value } => {
                let b = match value {
                    LetValue::Function { params, body, .. } => Binding::Func(Arc::new(UserFunc {
                        params: params.clone(),
                        body: body.clone(),
                    })),
                    LetValue::Expr(e) => bind_value(e, env)?,
                };
                env.vars.insert(name.clone(), b);
            }
            StatementKind::Set { .. } | StatementKind::DeclareParameters(_) => {}
            StatementKind::Expr(e) => last = Some(eval_tabular_or_scalar(e, env)?),
        }
    }
    last.ok_or_else(|| {
        EngineError::Query("the query has no result: it ends with a let statement".into())
    })
}

/// `let x = ...`: a tabular value when the expression is tabular, a scalar otherwise.
fn bind_value(e: &Expr, env: &Env) -> Result<Binding> {
    if is_tabular(e, env) {
        let e = match e {
            Expr::Call { func, args, .. } if func == "materialize" && args.len() == 1 => {
                &args[0].expr
            }
            e => e,
        };
        return Ok(Binding::Table(Arc::new(eval_tabular(e, env)?)));
    }
    let empty: [Column; 0] = [];
    Ok(Binding::Scalar(eval(
        e,
        &Scope {
            columns: &empty,
            values: &[],
            env,
        },
    )?))
}

fn is_tabular(e: &Expr, env: &Env) -> bool {
    match e {
        Expr::Pipe { .. } | Expr::Source(_) => true,
        Expr::Paren(inner, _) => is_tabular(inner, env),
        Expr::Name { name, .. } => {
            matches!(env.vars.get(name), Some(Binding::Table(_)))
                || (!env.vars.contains_key(name) && env.catalog.has_table(name))
        }
        Expr::Call { func, args, .. } => {
            (func == "materialize" && args.first().is_some_and(|a| is_tabular(&a.expr, env)))
                || env.function(func).is_some_and(|f| {
                    f.body.last().is_some_and(
                        |s| matches!(&s.kind, StatementKind::Expr(b) if is_tabular(b, env)),
                    )
                })
        }
        _ => false,
    }
}

fn eval_tabular_or_scalar(e: &Expr, env: &Env) -> Result<Table> {
    if is_tabular(e, env) {
        return eval_tabular(e, env);
    }
    let empty: [Column; 0] = [];
    let v = eval(
        e,
        &Scope {
            columns: &empty,
            values: &[],
            env,
        },
    )?;
    let ty = v.type_of().unwrap_or(Type::String);
    Ok(Table {
        columns: vec![Column {
            name: "print_0".into(),
            ty,
        }],
        rows: vec![Row::new(vec![v])],
    })
}

/// Calls a user function in a scalar context.
pub fn call_user_scalar(f: &UserFunc, args: &[Item], scope: &Scope) -> Result<Value> {
    let mut env = scope.env.clone();
    bind_args(f, args, scope, &mut env)?;
    let t = run_statements(&f.body, &mut env)?;
    Ok(t.rows
        .first()
        .and_then(|r| r.values.first())
        .cloned()
        .unwrap_or(Value::Null))
}

fn bind_args(f: &UserFunc, args: &[Item], scope: &Scope, env: &mut Env) -> Result<()> {
    for (i, p) in f.params.iter().enumerate() {
        let b = match args.get(i) {
            Some(a) if p.ty.starts_with('(') => {
                Binding::Table(Arc::new(eval_tabular(&a.expr, scope.env)?))
            }
            Some(a) => Binding::Scalar(eval(&a.expr, scope)?),
            None => match &p.default {
                Some(d) => Binding::Scalar(eval(d, scope)?),
                None => return err(format!("missing argument `{}`", p.name)),
            },
        };
        env.vars.insert(p.name.clone(), b);
    }
    Ok(())
}

/// Evaluates a tabular expression.
pub fn eval_tabular(e: &Expr, env: &Env) -> Result<Table> {
    match e {
        Expr::Paren(inner, _) => eval_tabular(inner, env),
        Expr::Name { name, .. } => named_table(name, env),
        Expr::Call { func, args, .. } => {
            if func == "materialize" || func == "view" {
                if let Some(a) = args.first() {
                    return eval_tabular(&a.expr, env);
                }
            }
            let Some(f) = env.function(func) else {
                return err(format!("unknown tabular function `{func}`"));
            };
            let mut inner = env.clone();
            let empty: [Column; 0] = [];
            bind_args(
                &f,
                args,
                &Scope {
                    columns: &empty,
                    values: &[],
                    env,
                },
                &mut inner,
            )?;
            run_statements(&f.body, &mut inner)
        }
        Expr::Source(op) => source_operator(op, env),
        Expr::Pipe { source, ops, .. } => match source.as_ref() {
            // A stored table: the leading row-by-row operators run while it is read.
            Expr::Name { name, .. } if !env.vars.contains_key(name) => {
                let (t, rest) = crate::stream::scan_pipeline(name, ops, env)?;
                run_ops(rest, t, env)
            }
            _ => run_ops(ops, eval_tabular(source, env)?, env),
        },
        other => err(format!("expected a table, found {}", describe(other))),
    }
}

/// Applies a pipeline's operators in turn; `as NAME` binds the rows so far to NAME for the
/// operators after it.
pub(crate) fn run_ops(ops: &[Operator], mut t: Table, env: &Env) -> Result<Table> {
    let mut bound: Option<Env> = None;
    for op in ops {
        let current = bound.as_ref().unwrap_or(env);
        if op.name == "as" {
            if let Some(name) = op.items(None).first().and_then(|it| it.expr.as_name()) {
                let mut next = current.clone();
                next.vars
                    .insert(name.to_string(), Binding::Table(Arc::new(t.clone())));
                bound = Some(next);
            }
            continue;
        }
        t = apply(op, t, current)?;
    }
    Ok(t)
}

fn describe(e: &Expr) -> &'static str {
    match e {
        Expr::Literal(..) => "a literal",
        Expr::Binary { .. } => "an expression",
        _ => "a scalar expression",
    }
}

/// A table by name: one bound by `let`, or a stored table read whole (pipelines over a
/// stored table go through `stream::scan_pipeline` instead).
pub(crate) fn named_table(name: &str, env: &Env) -> Result<Table> {
    if let Some(Binding::Table(t)) = env.vars.get(name) {
        return Ok(t.as_ref().clone());
    }
    // Each reference reads the sources again: holding a copy of a whole table for a
    // second reference would double the memory of every query.
    env.catalog.scan(name, &|_, _| Ok(true), None)
}

/// The literal prefilter a `where` over a stored table of `columns` gives its scan, if any.
/// The columns carry their types, documented or inferred: a column read as a datetime or a
/// real gives no literal (its text in the file may differ from the value's).
pub(crate) fn prefilter_for(
    op: &Operator,
    columns: &[Column],
    env: &Env,
) -> Option<crate::Prefilter> {
    let ev = Evaluator { env: env.clone() };
    let mut lits = Vec::new();
    for it in op.items(None) {
        lits.extend(crate::prefilter::derive(&it.expr, &ev, Some(columns))?);
    }
    crate::Prefilter::new(&lits)
}

/// Fails on a name that `e` reads which is neither a column nor bound by `let`. Kusto
/// rejects such a query whatever the rows, and so does iochunt, even when no row reaches
/// the predicate (a prefilter may have skipped them all). Only names evaluated against the
/// row are looked at: not members (`$left.x`), nor what subqueries and dynamic literals hold.
fn known_names(e: &Expr, cols: &[Column], env: &Env) -> Result<()> {
    match e {
        Expr::Name {
            name,
            wildcard: false,
            ..
        } if !cols.iter().any(|c| &c.name == name) && !env.is_bound(name) => {
            err(format!("unknown column or variable `{name}`"))
        }
        Expr::Call { args, .. } => args
            .iter()
            .try_for_each(|a| known_names(&a.expr, cols, env)),
        Expr::Binary { lhs, rhs, .. } => {
            known_names(lhs, cols, env)?;
            known_names(rhs, cols, env)
        }
        Expr::Unary { expr, .. } | Expr::Paren(expr, _) => known_names(expr, cols, env),
        Expr::List(xs, _) => xs.iter().try_for_each(|x| known_names(x, cols, env)),
        _ => Ok(()),
    }
}

fn where_holds(op: &Operator, cols: &[Column], row: &Row, env: &Env) -> Result<bool> {
    let scope = Scope {
        columns: cols,
        values: &row.values,
        env,
    };
    for it in op.items(None) {
        if eval(&it.expr, &scope)?.scalar().as_bool() != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn source_operator(op: &Operator, env: &Env) -> Result<Table> {
    let empty: [Column; 0] = [];
    let scope = Scope {
        columns: &empty,
        values: &[],
        env,
    };
    match op.name.as_str() {
        "datatable" => {
            let cols = schema(op.items(Some("schema")))?;
            let vals: Vec<Value> = op
                .items(Some("["))
                .iter()
                .map(|it| eval(&it.expr, &scope))
                .collect::<Result<_>>()?;
            if cols.is_empty() || !vals.len().is_multiple_of(cols.len()) {
                return err(
                    "datatable: the number of values is not a multiple of the number of columns",
                );
            }
            let rows = vals
                .chunks(cols.len())
                .map(|c| {
                    Row::new(
                        c.iter()
                            .zip(&cols)
                            .map(|(v, col)| v.convert(col.ty))
                            .collect(),
                    )
                })
                .collect();
            Ok(Table {
                columns: cols,
                rows,
            })
        }
        "print" => {
            let t = Table {
                columns: vec![],
                rows: vec![Row::new(vec![])],
            };
            extend(op.items(None), t, env, true)
        }
        "range" => {
            let name = op.items(None)[0]
                .expr
                .as_name()
                .unwrap_or("value")
                .to_string();
            let get = |k| eval(&op.items(Some(k))[0].expr, &scope);
            let (from, to, step) = (
                get("from")?.scalar(),
                get("to")?.scalar(),
                get("step")?.scalar(),
            );
            // A step that cannot be added to the start is an error, not an empty range.
            crate::eval::apply_binary("+", &from, &step)?;
            let rows: Vec<Row> = crate::series::range_values(&from, &to, &step, 10_000_000)
                .into_iter()
                .map(|v| Row::new(vec![v]))
                .collect();
            let ty = from.type_of().unwrap_or(Type::Long);
            Ok(Table {
                columns: vec![Column { name, ty }],
                rows,
            })
        }
        "union" => crate::combine::union(op, None, env),
        "search" => {
            // Every table given with `in (...)`, else every bound table.
            let names: Vec<String> = match op.items(Some("in")) {
                [] => env.catalog.table_names(),
                items => items
                    .iter()
                    .filter_map(|it| it.expr.as_name().map(str::to_string))
                    .collect(),
            };
            let mut tables = Vec::new();
            for n in names {
                tables.push((n.clone(), named_table(&n, env)?));
            }
            search_with(op, tables, env)
        }
        other => unsupported(format!("operator `{other}`")),
    }
}

/// `search`'s predicate and case option applied to named tables.
fn search_with(op: &Operator, tables: Vec<(String, Table)>, env: &Env) -> Result<Table> {
    let Some(pred) = op.items(None).first() else {
        return err("search needs a predicate");
    };
    let cs = op.param("kind").and_then(Expr::as_name) == Some("case_sensitive");
    crate::search::search(tables, &pred.expr, cs, env)
}

fn schema(items: &[Item]) -> Result<Vec<Column>> {
    items
        .iter()
        .map(|it| match &it.expr {
            Expr::Typed { name, ty, .. } => {
                let ty = Type::parse(ty)
                    .ok_or_else(|| EngineError::Query(format!("unknown type `{ty}`")))?;
                Ok(Column {
                    name: name.clone(),
                    ty,
                })
            }
            _ => err("expected `name:type` in a schema"),
        })
        .collect()
}

/// Applies one operator to a table.
pub(crate) fn apply(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    match op.name.as_str() {
        "where" | "filter" => {
            for it in op.items(None) {
                known_names(&it.expr, &t.columns, env)?;
            }
            let mut rows = Vec::with_capacity(t.rows.len());
            for r in t.rows {
                if where_holds(op, &t.columns, &r, env)? {
                    rows.push(r);
                }
            }
            Ok(Table {
                columns: t.columns,
                rows,
            })
        }
        "extend" => extend(op.items(None), t, env, false),
        "project" => project(op.items(None), t, env),
        "project-away" | "project-keep" => {
            let keep_listed = op.name == "project-keep";
            let listed: Vec<bool> = t
                .columns
                .iter()
                .map(|c| {
                    op.items(None)
                        .iter()
                        .any(|it| name_matches(&it.expr, &c.name))
                })
                .collect();
            for it in op.items(None) {
                if let Expr::Name {
                    name,
                    wildcard: false,
                    ..
                } = &it.expr
                {
                    if t.index_of(name).is_none() {
                        return err(format!("{}: unknown column `{name}`", op.name));
                    }
                }
            }
            let idx: Vec<usize> = (0..t.columns.len())
                .filter(|&i| listed[i] == keep_listed)
                .collect();
            Ok(select(t, &idx))
        }
        "project-rename" => {
            let mut t = t;
            for it in op.items(None) {
                let (Some(new), Some(old)) = (it.names.first(), it.expr.as_name()) else {
                    return err("project-rename reads `new = old`");
                };
                let i = t
                    .index_of(old)
                    .ok_or_else(|| EngineError::Query(format!("unknown column `{old}`")))?;
                t.columns[i].name = new.clone();
            }
            Ok(t)
        }
        "project-reorder" => {
            let mut order: Vec<usize> = Vec::new();
            for it in op.items(None) {
                for (i, c) in t.columns.iter().enumerate() {
                    if name_matches(&it.expr, &c.name) && !order.contains(&i) {
                        order.push(i);
                    }
                }
            }
            let rest: Vec<usize> = (0..t.columns.len())
                .filter(|i| !order.contains(i))
                .collect();
            order.extend(rest);
            Ok(select(t, &order))
        }
        "take" | "limit" => {
            let n = row_count_arg(op, env)?;
            let mut t = t;
            t.rows.truncate(n);
            Ok(t)
        }
        "sort" | "order" => sort(op.items(Some("by")), t, env),
        "top" => {
            let n = row_count_arg(op, env)?;
            let mut t = sort(op.items(Some("by")), t, env)?;
            t.rows.truncate(n);
            Ok(t)
        }
        "count" => Ok(Table {
            columns: vec![Column {
                name: "Count".into(),
                ty: Type::Long,
            }],
            rows: vec![Row::new(vec![Value::Long(t.rows.len() as i64)])],
        }),
        "distinct" => {
            let star = op
                .items(None)
                .iter()
                .any(|i| matches!(i.expr, Expr::Star(_)));
            let t = if star {
                t
            } else {
                project(op.items(None), t, env)?
            };
            let mut seen = std::collections::HashSet::new();
            let rows = t
                .rows
                .into_iter()
                .filter(|r| seen.insert(r.values.iter().map(Value::group_key).collect::<Vec<_>>()))
                .collect();
            Ok(Table {
                columns: t.columns,
                rows,
            })
        }
        "summarize" => summarize(op, t, env),
        "join" => crate::combine::join(op, t, env),
        "lookup" => {
            let kind = op
                .param("kind")
                .and_then(Expr::as_name)
                .unwrap_or("leftouter")
                .to_string();
            crate::combine::join_kind(op, t, env, &kind, true)
        }
        "union" => crate::combine::union(op, Some(t), env),
        "search" => search_with(op, vec![("search_arg0".to_string(), t)], env),
        "mv-expand" | "mvexpand" => crate::expand::mv_expand(op, t, env),
        "mv-apply" | "mvapply" => crate::expand::mv_apply(op, t, env),
        "parse" | "parse-where" => crate::parsing::parse_op(op, t, env),
        "parse-kv" => crate::parsing::parse_kv(op, t, env),
        "make-series" => crate::series::make_series(op, t, env),
        "top-nested" => crate::ranking::top_nested(op, t, env),
        "top-hitters" => crate::ranking::top_hitters(op, t, env),
        "scan" => crate::scan_operator::scan(op, t, env),
        "evaluate" => match op.items(None).first().map(|it| &it.expr) {
            Some(Expr::Call { func, args, .. }) if func == "bag_unpack" => {
                crate::expand::bag_unpack(args, t, env)
            }
            Some(Expr::Call { func, .. }) => unsupported(format!("evaluate {func}()")),
            _ => err("evaluate needs a plugin call"),
        },
        "serialize" => {
            if op.items(None).is_empty() {
                Ok(t)
            } else {
                extend(op.items(None), t, env, false)
            }
        }
        "render" | "as" => Ok(t),
        "getschema" => Ok(Table {
            columns: vec![
                Column {
                    name: "ColumnName".into(),
                    ty: Type::String,
                },
                Column {
                    name: "ColumnOrdinal".into(),
                    ty: Type::Int,
                },
                Column {
                    name: "DataType".into(),
                    ty: Type::String,
                },
                Column {
                    name: "ColumnType".into(),
                    ty: Type::String,
                },
            ],
            rows: t
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    Row::new(vec![
                        Value::str(&c.name),
                        Value::Long(i as i64),
                        Value::str(system_type(c.ty)),
                        Value::str(c.ty.name()),
                    ])
                })
                .collect(),
        }),
        other => unsupported(format!("operator `{other}`")),
    }
}

fn system_type(t: Type) -> &'static str {
    match t {
        Type::Bool => "System.SByte",
        Type::Int => "System.Int32",
        Type::Long => "System.Int64",
        Type::Real => "System.Double",
        Type::Decimal => "System.Data.SqlTypes.SqlDecimal",
        Type::String => "System.String",
        Type::DateTime => "System.DateTime",
        Type::Timespan => "System.TimeSpan",
        Type::Guid => "System.Guid",
        Type::Dynamic => "System.Object",
    }
}

fn name_matches(e: &Expr, col: &str) -> bool {
    match e {
        Expr::Name {
            name,
            wildcard: true,
            ..
        } => col.starts_with(name.as_str()),
        Expr::Name { name, .. } => name == col,
        _ => false,
    }
}

fn select(t: Table, idx: &[usize]) -> Table {
    Table {
        columns: idx.iter().map(|&i| t.columns[i].clone()).collect(),
        rows: t
            .rows
            .into_iter()
            .map(|r| Row {
                values: idx.iter().map(|&i| r.values[i].clone()).collect(),
                provenance: r.provenance,
            })
            .collect(),
    }
}

/// The number of rows `take N` or `top N` asks for (none when N is negative or null).
pub(crate) fn row_count_arg(op: &Operator, env: &Env) -> Result<usize> {
    Ok(scalar_arg(op, env)?.as_i64().unwrap_or(0).max(0) as usize)
}

fn scalar_arg(op: &Operator, env: &Env) -> Result<Value> {
    let empty: [Column; 0] = [];
    let it = op
        .items(None)
        .first()
        .ok_or_else(|| EngineError::Query(format!("{} needs a value", op.name)))?;
    Ok(eval(
        &it.expr,
        &Scope {
            columns: &empty,
            values: &[],
            env,
        },
    )?
    .scalar())
}

/// The name an unnamed projected expression gets.
pub(crate) fn auto_name(e: &Expr, i: usize) -> String {
    match e {
        Expr::Name { name, .. } => name.clone(),
        Expr::Member(_, n, _) => n.clone(),
        Expr::Index(b, idx, _) => match (b.as_ref(), idx.as_ref()) {
            (_, Expr::Literal(kql::Literal::String(s), _)) => s.clone(),
            (b, _) => format!(
                "{}_{}",
                auto_name(b, i),
                match idx.as_ref() {
                    Expr::Literal(kql::Literal::Int(n), _) => n.clone(),
                    _ => String::new(),
                }
            )
            .trim_end_matches('_')
            .to_string(),
        },
        _ => format!("Column{}", i + 1),
    }
}

/// The static type of an expression, when it can be known without values.
pub fn static_type(e: &Expr, cols: &[Column], env: &Env) -> Option<Type> {
    match e {
        Expr::Literal(l, _) => literal(l).ok()?.type_of().or_else(|| match l {
            kql::Literal::Typed { ty, .. } => Type::parse(ty),
            _ => None,
        }),
        Expr::Name { name, .. } => cols
            .iter()
            .find(|c| &c.name == name)
            .map(|c| c.ty)
            .or_else(|| env.scalar(name)?.type_of()),
        Expr::Paren(x, _) => static_type(x, cols, env),
        Expr::Dynamic(..) | Expr::Member(..) | Expr::Index(..) | Expr::List(..) => {
            Some(Type::Dynamic)
        }
        Expr::Unary { expr, .. } => match static_type(expr, cols, env)? {
            Type::Int => Some(Type::Long),
            t => Some(t),
        },
        Expr::Binary { op, lhs, rhs, .. } => match op.as_str() {
            "+" | "-" | "*" | "/" | "%" => {
                let (a, b) = (static_type(lhs, cols, env)?, static_type(rhs, cols, env)?);
                Some(match (a, b) {
                    (Type::DateTime, Type::DateTime) => Type::Timespan,
                    (Type::DateTime, _) | (_, Type::DateTime) => Type::DateTime,
                    (Type::Timespan, Type::Timespan) if op == "/" => Type::Real,
                    (Type::Timespan, _) | (_, Type::Timespan) => Type::Timespan,
                    (Type::Real | Type::Decimal, _) | (_, Type::Real | Type::Decimal) => Type::Real,
                    (Type::Dynamic, _) | (_, Type::Dynamic) => return None,
                    // Integer arithmetic is 64-bit: int * int does not wrap at 32 bits.
                    _ => Type::Long,
                })
            }
            _ => Some(Type::Bool),
        },
        Expr::Call { func, args, .. } => {
            let f = func.to_ascii_lowercase();
            if let Some(t) = return_type(&f) {
                return Some(t);
            }
            let arg = |i: usize| args.get(i).and_then(|a| static_type(&a.expr, cols, env));
            match f.as_str() {
                "iff" | "iif" => arg(1).filter(|t| *t != Type::Dynamic).or_else(|| arg(2)),
                "case" => arg(1),
                "coalesce" | "bin" | "floor" | "abs" | "round" => arg(0),
                // The widest of the arguments' types: real when any is real.
                "min_of" | "max_of" => {
                    let types: Vec<Type> = (0..args.len()).filter_map(arg).collect();
                    if types
                        .iter()
                        .any(|t| matches!(t, Type::Real | Type::Decimal))
                    {
                        Some(Type::Real)
                    } else {
                        types.first().copied()
                    }
                }
                "datetime_diff" => match args.first().map(|a| &a.expr) {
                    Some(Expr::Literal(kql::Literal::String(p), _))
                        if p.to_ascii_lowercase().starts_with("week") =>
                    {
                        Some(Type::Real)
                    }
                    _ => Some(Type::Long),
                },
                _ => None,
            }
        }
        _ => None,
    }
}

fn column_type(e: &Expr, cols: &[Column], env: &Env, vals: &[Value]) -> Type {
    static_type(e, cols, env)
        .or_else(|| vals.iter().find(|v| !v.is_null()).and_then(Value::type_of))
        .unwrap_or(Type::String)
}

fn extend(items: &[Item], t: Table, env: &Env, print: bool) -> Result<Table> {
    let Table {
        mut columns,
        mut rows,
    } = t;
    // A column an item replaces keeps its old value for the later items of the same
    // extend (`extend a = c, c = a` swaps), as Kusto evaluates them; new columns are seen
    // at once.
    let mut replaced: Vec<(usize, Type, Vec<Value>)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let vals: Vec<Value> = if crate::window::uses_window(&it.expr) {
            crate::window::eval_rows(&it.expr, &columns, &rows, env)?
        } else {
            rows.iter()
                .map(|r| {
                    eval(
                        &it.expr,
                        &Scope {
                            columns: &columns,
                            values: &r.values,
                            env,
                        },
                    )
                })
                .collect::<Result<_>>()?
        };
        let names = if it.names.is_empty() {
            vec![if print {
                format!("print_{i}")
            } else {
                auto_name(&it.expr, i)
            }]
        } else {
            it.names.clone()
        };
        let ty = column_type(&it.expr, &columns, env, &vals);
        let name = &names[0];
        let vals: Vec<Value> = vals
            .into_iter()
            .map(|v| {
                if ty == Type::Dynamic || v.is_null() {
                    v
                } else {
                    v.convert(ty)
                }
            })
            .collect();
        match columns.iter().position(|c| &c.name == name) {
            Some(ci) => {
                replaced.retain(|(c, _, _)| *c != ci);
                replaced.push((ci, ty, vals));
            }
            None => {
                columns.push(Column {
                    name: name.clone(),
                    ty,
                });
                for (r, v) in rows.iter_mut().zip(vals) {
                    r.values.push(v);
                }
            }
        }
    }
    for (ci, ty, vals) in replaced {
        columns[ci].ty = ty;
        for (r, v) in rows.iter_mut().zip(vals) {
            r.values[ci] = v;
        }
    }
    Ok(Table { columns, rows })
}

fn project(items: &[Item], t: Table, env: &Env) -> Result<Table> {
    let mut out_cols: Vec<Column> = Vec::new();
    let mut out_vals: Vec<Vec<Value>> = vec![Vec::new(); t.rows.len()];
    for (i, it) in items.iter().enumerate() {
        if let Expr::Name {
            name,
            wildcard: true,
            ..
        } = &it.expr
        {
            for (ci, c) in t
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name.starts_with(name.as_str()))
            {
                out_cols.push(c.clone());
                for (o, r) in out_vals.iter_mut().zip(&t.rows) {
                    o.push(r.values[ci].clone());
                }
            }
            continue;
        }
        if let (Expr::Name { name, .. }, true) = (&it.expr, it.names.is_empty()) {
            if t.index_of(name).is_none() && env.scalar(name).is_none() {
                return err(format!("project: unknown column `{name}`"));
            }
        }
        let vals: Vec<Value> = t
            .rows
            .iter()
            .map(|r| {
                eval(
                    &it.expr,
                    &Scope {
                        columns: &t.columns,
                        values: &r.values,
                        env,
                    },
                )
            })
            .collect::<Result<_>>()?;
        let ty = column_type(&it.expr, &t.columns, env, &vals);
        let name = it
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| auto_name(&it.expr, i));
        let name = if out_cols.iter().any(|c| c.name == name) {
            unique_name(&name, &out_cols)
        } else {
            name
        };
        out_cols.push(Column { name, ty });
        for (o, v) in out_vals.iter_mut().zip(vals) {
            o.push(if ty == Type::Dynamic || v.is_null() {
                v
            } else {
                v.convert(ty)
            });
        }
    }
    let rows = out_vals
        .into_iter()
        .zip(t.rows)
        .map(|(values, r)| Row {
            values,
            provenance: r.provenance,
        })
        .collect();
    Ok(Table {
        columns: out_cols,
        rows,
    })
}

fn sort(items: &[Item], t: Table, env: &Env) -> Result<Table> {
    let keys: Vec<Vec<Value>> = t
        .rows
        .iter()
        .map(|r| {
            items
                .iter()
                .map(|it| {
                    eval(
                        &it.expr,
                        &Scope {
                            columns: &t.columns,
                            values: &r.values,
                            env,
                        },
                    )
                    .map(|v| v.scalar())
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    let mut idx: Vec<usize> = (0..t.rows.len()).collect();
    idx.sort_by(|&a, &b| {
        for (k, it) in items.iter().enumerate() {
            let desc = it.order != Some(SortOrder::Asc);
            let nulls_first = match it.nulls {
                Some(kql::NullsPosition::First) => true,
                Some(kql::NullsPosition::Last) => false,
                None => !desc,
            };
            let (x, y) = (&keys[a][k], &keys[b][k]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => {
                    if nulls_first {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                }
                (false, true) => {
                    if nulls_first {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                _ => {
                    let o = x.compare(y).unwrap_or(std::cmp::Ordering::Equal);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    let mut rows: Vec<Option<Row>> = t.rows.into_iter().map(Some).collect();
    Ok(Table {
        columns: t.columns,
        rows: idx.into_iter().filter_map(|i| rows[i].take()).collect(),
    })
}

fn summarize(op: &Operator, t: Table, env: &Env) -> Result<Table> {
    let mut s = Summary::new(op, &t.columns, env)?;
    s.add(&t.rows, env)?;
    s.finish(env)
}

/// One aggregation column of a `summarize`: a call, or an expression over calls
/// (`countif(x) * 100.0 / count()`) with each call lifted out to a hidden name.
enum Output {
    Call(usize),
    Lifted(Expr, std::ops::Range<usize>),
}

/// A `summarize` in progress: rows are folded into each group's accumulators as they
/// come, so memory follows the groups, not the rows.
pub(crate) struct Summary<'o> {
    by: &'o [kql::Item],
    aggs: &'o [kql::Item],
    /// The input's columns.
    input: Vec<Column>,
    specs: Vec<aggregate::Spec>,
    outputs: Vec<Output>,
    /// The group of each key. Keys come from the logs, which an attacker may write: the
    /// hash is seeded at random.
    groups: HashMap<Box<[GroupKey]>, usize, foldhash::fast::RandomState>,
    /// How many groups there are.
    count: usize,
    /// Each group's key values, `by.len()` a group, in the order groups were met.
    keys: Vec<Value>,
    /// Each group's accumulators, `specs.len()` a group.
    states: Vec<aggregate::Accumulator>,
    /// A row's key values and group key, reused from row to row.
    row_key: Vec<Value>,
    row_group: Vec<GroupKey>,
}

impl<'o> Summary<'o> {
    pub(crate) fn new(op: &'o Operator, input: &[Column], env: &Env) -> Result<Summary<'o>> {
        let by = op.items(Some("by"));
        let aggs = op.items(None);
        let mut specs = Vec::new();
        let mut outputs = Vec::new();
        for it in aggs {
            match &it.expr {
                Expr::Call { func, args, .. }
                    if aggregate::is_aggregate(&func.to_ascii_lowercase()) =>
                {
                    outputs.push(Output::Call(specs.len()));
                    specs.push(aggregate::Spec::new(func, args, env)?);
                }
                other if calls_any(other, &aggregate::is_aggregate) => {
                    let mut calls = Vec::new();
                    let lifted = aggregate::lift_aggregations(other, &mut calls);
                    let from = specs.len();
                    for (func, args) in &calls {
                        specs.push(aggregate::Spec::new(func, args, env)?);
                    }
                    outputs.push(Output::Lifted(lifted, from..specs.len()));
                }
                _ => return err("summarize needs aggregation functions such as count() or sum(x)"),
            }
        }
        Ok(Summary {
            by,
            aggs,
            input: input.to_vec(),
            specs,
            outputs,
            groups: HashMap::default(),
            count: 0,
            keys: Vec::new(),
            states: Vec::new(),
            row_key: Vec::new(),
            row_group: Vec::new(),
        })
    }

    /// Folds rows (with the input's columns) into their groups.
    pub(crate) fn add(&mut self, rows: &[Row], env: &Env) -> Result<()> {
        for r in rows {
            let scope = Scope {
                columns: &self.input,
                values: &r.values,
                env,
            };
            self.row_key.clear();
            for it in self.by {
                self.row_key.push(eval(&it.expr, &scope)?.scalar());
            }
            self.row_group.clear();
            self.row_group
                .extend(self.row_key.iter().map(Value::group_key));
            let g = match self.groups.get(self.row_group.as_slice()) {
                Some(&g) => g,
                None => {
                    self.keys.append(&mut self.row_key);
                    self.states
                        .extend(self.specs.iter().map(aggregate::Spec::start));
                    self.groups
                        .insert(self.row_group.as_slice().into(), self.count);
                    self.count += 1;
                    self.count - 1
                }
            };
            let n = self.specs.len();
            for (spec, acc) in self.specs.iter().zip(&mut self.states[g * n..(g + 1) * n]) {
                acc.add(spec, &self.input, &r.values, env)?;
            }
        }
        Ok(())
    }

    /// The summary table: a row per group, in the order groups were first met.
    pub(crate) fn finish(self, env: &Env) -> Result<Table> {
        let Summary {
            by,
            aggs,
            input,
            specs,
            outputs,
            mut count,
            keys,
            mut states,
            groups,
            ..
        } = self;
        drop(groups);
        // With no `by`, no rows still make one group.
        if by.is_empty() && count == 0 {
            states.extend(specs.iter().map(aggregate::Spec::start));
            count = 1;
        }
        // Each group's aggregation values, `stride` a group: spec `s` gives `widths[s]`
        // values from `offsets[s]` on.
        let widths: Vec<usize> = specs.iter().map(|s| s.width(input.len())).collect();
        let offsets: Vec<usize> = widths
            .iter()
            .scan(0, |at, w| {
                *at += w;
                Some(*at - w)
            })
            .collect();
        let stride: usize = widths.iter().sum();
        let mut finished = Vec::with_capacity(count * stride);
        let mut states = states.into_iter();
        for _ in 0..count {
            for (acc, spec) in states.by_ref().take(specs.len()).zip(&specs) {
                acc.finish(spec, input.len(), &mut finished);
            }
        }
        // Value `i` of spec `s` for group `g`, taken out.
        let mut take = |g: usize, s: usize, i: usize| {
            std::mem::replace(&mut finished[g * stride + offsets[s] + i], Value::Null)
        };
        let mut key_values = keys.into_iter();
        let keys: Vec<Vec<Value>> = (0..count)
            .map(|_| {
                let mut values = Vec::with_capacity(by.len() + stride);
                values.extend(key_values.by_ref().take(by.len()));
                values
            })
            .collect();
        let mut columns: Vec<Column> = Vec::new();
        for (i, it) in by.iter().enumerate() {
            let name = it.names.first().cloned().unwrap_or_else(|| match &it.expr {
                // `by bin(x, ...)` and `by tostring(x)` (any conversion) are named after x.
                Expr::Call { func, args, .. }
                    if matches!(
                        func.as_str(),
                        "bin"
                            | "floor"
                            | "tostring"
                            | "toint"
                            | "tolong"
                            | "todouble"
                            | "toreal"
                            | "todecimal"
                            | "tobool"
                            | "todatetime"
                            | "totimespan"
                            | "toguid"
                    ) =>
                {
                    args.first()
                        .map_or_else(|| format!("Column{}", i + 1), |a| auto_name(&a.expr, i))
                }
                e => auto_name(e, i),
            });
            let vals: Vec<Value> = keys.iter().map(|k| k[i].clone()).collect();
            let ty = column_type(&it.expr, &input, env, &vals);
            columns.push(Column {
                name: unique_name(&name, &columns),
                ty,
            });
        }
        let mut rows: Vec<Row> = keys.into_iter().map(Row::new).collect();
        for (it, output) in aggs.iter().zip(&outputs) {
            let (func, args, at) = match output {
                Output::Call(at) => match &it.expr {
                    Expr::Call { func, args, .. } => (func, args, *at),
                    _ => unreachable!("a call's output comes from a call"),
                },
                Output::Lifted(lifted, calls) => {
                    // The group's keys, then the aggregations' values.
                    let scope_columns: Vec<Column> = columns[..by.len()]
                        .iter()
                        .cloned()
                        .chain((0..calls.len()).map(|k| Column {
                            name: aggregate::lifted_name(k),
                            ty: Type::Dynamic,
                        }))
                        .collect();
                    let mut vals = Vec::with_capacity(rows.len());
                    for (g, row) in rows.iter().enumerate() {
                        let mut scope_values = row.values[..by.len()].to_vec();
                        for k in calls.clone() {
                            scope_values.push(take(g, k, 0));
                        }
                        vals.push(eval(
                            lifted,
                            &Scope {
                                columns: &scope_columns,
                                values: &scope_values,
                                env,
                            },
                        )?);
                    }
                    let name = it
                        .names
                        .first()
                        .cloned()
                        .unwrap_or_else(|| format!("Column{}", columns.len() + 1));
                    let ty = vals
                        .iter()
                        .find_map(Value::type_of)
                        .unwrap_or(Type::Dynamic);
                    columns.push(Column {
                        name: unique_name(&name, &columns),
                        ty,
                    });
                    for (r, v) in rows.iter_mut().zip(vals) {
                        r.values.push(v);
                    }
                    continue;
                }
            };
            let lf = func.to_ascii_lowercase();
            let arg_ty = args.first().and_then(|a| static_type(&a.expr, &input, env));
            if lf == "arg_max" || lf == "arg_min" {
                let mut names: Vec<(String, Type)> = Vec::new();
                let first = &args[0].expr;
                names.push((
                    it.names
                        .first()
                        .cloned()
                        .unwrap_or_else(|| auto_name(first, 0)),
                    arg_ty.unwrap_or(Type::Dynamic),
                ));
                for (ai, a) in args[1..].iter().enumerate() {
                    if matches!(a.expr, Expr::Star(_)) {
                        for c in &input {
                            names.push((c.name.clone(), c.ty));
                        }
                    } else {
                        let n = a
                            .names
                            .first()
                            .cloned()
                            .unwrap_or_else(|| auto_name(&a.expr, ai + 1));
                        names.push((
                            n,
                            static_type(&a.expr, &input, env).unwrap_or(Type::Dynamic),
                        ));
                    }
                }
                // Columns that `*` brings in are left out where the output has them already
                // (the by keys, the first argument); named arguments are always kept, renamed
                // on a clash.
                let first_name = auto_name(first, 0);
                let mut skip: Vec<bool> = vec![false; names.len()];
                let mut ni = 1;
                for a in &args[1..] {
                    if matches!(a.expr, Expr::Star(_)) {
                        for c in &input {
                            skip[ni] = columns[..by.len()].iter().any(|k| k.name == c.name)
                                || c.name == first_name;
                            ni += 1;
                        }
                    } else {
                        ni += 1;
                    }
                }
                for (ni, (n, ty)) in names.iter().enumerate() {
                    if !skip[ni] {
                        columns.push(Column {
                            name: unique_name(n, &columns),
                            ty: *ty,
                        });
                    }
                }
                for (g, r) in rows.iter_mut().enumerate() {
                    for (ni, _) in skip.iter().enumerate().filter(|(_, s)| !**s) {
                        r.values.push(take(g, at, ni));
                    }
                }
                continue;
            }
            let name = it
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| aggregate::default_name(func, args));
            let ty = aggregate::result_type(func, arg_ty);
            columns.push(Column {
                name: unique_name(&name, &columns),
                ty,
            });
            for (g, r) in rows.iter_mut().enumerate() {
                let v = take(g, at, 0);
                r.values.push(if v.is_null() || ty == Type::Dynamic {
                    v
                } else {
                    v.convert(ty)
                });
            }
        }
        Ok(Table { columns, rows })
    }
}

/// Evaluates expressions over rows outside a whole query: `hunt` uses it to run a hunt's
/// own predicates, exclusions and projection over the rows of a shared scan.
#[derive(Clone)]
pub struct Evaluator {
    env: Env,
}

impl Evaluator {
    /// Runs `lets` (the hunt's `let` statements) so their names can be used.
    pub fn new(lets: &[Statement], catalog: Arc<Catalog>) -> Result<Evaluator> {
        let mut env = Env::new(catalog);
        for s in lets {
            if let StatementKind::Let {
                name,
                value: LetValue::Expr(e),
            } = &s.kind
            {
                let b = bind_value(e, &env)?;
                env.vars.insert(name.clone(), b);
            }
        }
        Ok(Evaluator { env })
    }

    /// Binds a scalar name (a `let` list, for instance), replacing any earlier binding.
    pub fn set(&mut self, name: &str, value: Value) {
        self.env
            .vars
            .insert(name.to_string(), Binding::Scalar(value));
    }

    pub fn get(&self, name: &str) -> Option<Value> {
        self.env.scalar(name)
    }

    pub fn eval(&self, e: &Expr, columns: &[Column], row: &Row) -> Result<Value> {
        eval(
            e,
            &Scope {
                columns,
                values: &row.values,
                env: &self.env,
            },
        )
    }

    /// For a `let` list of strings bound to `list`: the positions of the values that
    /// `has` finds in `hay` (term matching, as `has_any` does), in list order. None when
    /// the name is not such a list.
    pub fn has_which(&self, list: &str, hay: &str) -> Option<Vec<usize>> {
        let Value::Dynamic(json) = self.env.scalar(list)? else {
            return None;
        };
        match crate::lists::compiled(&json) {
            Some(compiled) => Some(compiled.has_which(hay)),
            None => {
                let hay = crate::eval::fold(hay);
                let items = json.as_array()?;
                Some(
                    (0..items.len())
                        .filter(|&i| {
                            items[i]
                                .as_str()
                                .is_some_and(|n| crate::eval::has_term(&hay, &crate::eval::fold(n)))
                        })
                        .collect(),
                )
            }
        }
    }

    /// True when the predicate is true for the row (null and false are not).
    pub fn holds(&self, e: &Expr, columns: &[Column], row: &Row) -> Result<bool> {
        Ok(self.eval(e, columns, row)?.scalar().as_bool() == Some(true))
    }
}
