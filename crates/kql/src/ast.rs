//! The KQL syntax tree.
//!
//! Expressions are fully typed. Tabular operators share one shape, which is the shape of
//! KQL's own grammar: a name, `name=value` parameters, and clauses, each an optional keyword
//! (`by`, `on`, `with`, ...) followed by items. The engine reads operators through that
//! shape, so an operator's options never need a parser change to be carried through.

/// A byte range in the query text.
///
/// Spans never take part in equality: two trees are equal when they mean the same query,
/// wherever their parts stand in the text (the formatter's round trip relies on this).
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end.max(self.end),
        }
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// A whole query: statements separated by `;`, the last one usually a tabular expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub statements: Vec<Statement>,
    /// Comments after the last statement.
    pub trailing_comments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    /// `//` comments written before the statement, without the slashes' line breaks.
    pub comments: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    /// `let name = value`.
    Let { name: String, value: LetValue },
    /// `set name [= value]`.
    Set { name: String, value: Option<Expr> },
    /// `declare query_parameters (name:type [= default], ...)`.
    DeclareParameters(Vec<Param>),
    /// A query expression (tabular or scalar).
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    Expr(Expr),
    /// `(params) { body }`, or `view (params) { body }` when `view` is true.
    Function {
        params: Vec<Param>,
        body: Vec<Statement>,
        view: bool,
    },
}

/// A function or query parameter: `name:type [= default]`; `(*)` and `T:(*)` tabular
/// parameters keep their schema text in `ty`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: String,
    pub default: Option<Expr>,
}

/// One tabular operator: `name params clauses`.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// The operator's name as written, lower case (`where`, `mv-expand`, ...).
    pub name: String,
    /// `kind=inner`, `hint.strategy=shuffle`, `withsource=T`, ...
    pub params: Vec<(String, Expr)>,
    pub clauses: Vec<Clause>,
    pub comments: Vec<String>,
    pub span: Span,
}

impl Operator {
    /// The clause introduced by `keyword` (`None` for the unkeyed first clause).
    pub fn clause(&self, keyword: Option<&str>) -> Option<&Clause> {
        self.clauses
            .iter()
            .find(|c| c.keyword.as_deref() == keyword)
    }

    /// The items of a clause, or an empty list.
    pub fn items(&self, keyword: Option<&str>) -> &[Item] {
        self.clause(keyword)
            .map(|c| c.items.as_slice())
            .unwrap_or(&[])
    }

    pub fn param(&self, name: &str) -> Option<&Expr> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, e)| e)
    }
}

/// A clause of an operator.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub keyword: Option<String>,
    pub items: Vec<Item>,
    /// True when the items are written in parentheses (`with (a=1)`, `as (k:string)`).
    pub parenthesized: bool,
    /// True when the items are separated by spaces, not commas (parse patterns).
    pub spaced: bool,
}

/// An item of a clause: `[name =] expr [asc|desc] [nulls first|last] [to typeof(t)]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The names assigned (`x = ...`, or `(a, b) = ...`).
    pub names: Vec<String>,
    pub expr: Expr,
    pub order: Option<SortOrder>,
    pub nulls: Option<NullsPosition>,
    /// `to typeof(type)` in mv-expand and mv-apply.
    pub to_type: Option<String>,
    /// `default = value` in make-series.
    pub default: Option<Expr>,
}

impl Item {
    pub fn plain(expr: Expr) -> Item {
        Item {
            names: Vec::new(),
            expr,
            order: None,
            nulls: None,
            to_type: None,
            default: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullsPosition {
    First,
    Last,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A string literal's value (after escapes and adjacent-literal concatenation).
    String(String),
    /// An integer literal as written (`10`, `0x1F`); the engine decides int or long.
    Int(String),
    Real(String),
    Bool(bool),
    /// A timespan literal as written: `2d`, `1.5h`, `100ms`, `10microsecond`, `1tick`.
    Timespan(String),
    /// A typed literal `type(text)`: `datetime(2020-01-01)`, `timespan(1.02:00:00)`,
    /// `guid(...)`, `long(null)`, `real(nan)`, `bool(true)`. The text is kept as written.
    Typed {
        ty: String,
        text: String,
    },
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Literal(Literal, Span),
    /// A column, variable or table name; `wildcard` for `Name*` in union and project-away.
    Name {
        name: String,
        wildcard: bool,
        span: Span,
    },
    /// `*` as an argument (`count(*)`, `arg_max(x, *)`) or a parse wildcard.
    Star(Span),
    /// `expr.name`.
    Member(Box<Expr>, String, Span),
    /// `expr[index]`.
    Index(Box<Expr>, Box<Expr>, Span),
    /// A function call; named arguments are items with a name.
    Call {
        func: String,
        args: Vec<Item>,
        span: Span,
    },
    /// `typeof(type)`.
    TypeOf(String, Span),
    Unary {
        op: String,
        expr: Box<Expr>,
        span: Span,
    },
    /// Every infix operator: arithmetic, comparisons, string operators (`has`, `!contains`,
    /// `matches regex`, ...), `in`/`!in`/`in~`/`!in~`, `between`/`!between`, `and`, `or`.
    Binary {
        op: String,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    /// A parenthesised list: `(a, b, c)` after `in` or `has_any`.
    List(Vec<Expr>, Span),
    /// `lo .. hi` inside `between (...)`.
    Range(Box<Expr>, Box<Expr>, Span),
    /// `(expr)`, kept so the formatter can print what the author grouped.
    Paren(Box<Expr>, Span),
    /// `dynamic([...])`, `dynamic({...})`, `dynamic(null)`, `dynamic(1)`.
    Dynamic(Box<Dynamic>, Span),
    /// `name:type` in schemas and parse patterns.
    Typed {
        name: String,
        ty: String,
        span: Span,
    },
    /// A tabular pipeline: a source followed by `| operator`s.
    Pipe {
        source: Box<Expr>,
        ops: Vec<Operator>,
        span: Span,
    },
    /// An operator that starts a pipeline: datatable, print, range, union, search, ...
    Source(Box<Operator>),
}

/// The value of a dynamic literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Dynamic {
    Array(Vec<Dynamic>),
    Bag(Vec<(String, Dynamic)>),
    Scalar(Expr),
}

impl Expr {
    /// The expression with each direct sub-expression (operands, call arguments, member
    /// bases, indexes, list elements) replaced by what `f` makes of it; other expressions
    /// are copied. Rewrites call it for the nodes they do not change themselves.
    pub fn map_children<E>(&self, f: &mut dyn FnMut(&Expr) -> Result<Expr, E>) -> Result<Expr, E> {
        Ok(match self {
            Expr::Paren(x, s) => Expr::Paren(Box::new(f(x)?), *s),
            Expr::Unary { op, expr, span } => Expr::Unary {
                op: op.clone(),
                expr: Box::new(f(expr)?),
                span: *span,
            },
            Expr::Binary { op, lhs, rhs, span } => Expr::Binary {
                op: op.clone(),
                lhs: Box::new(f(lhs)?),
                rhs: Box::new(f(rhs)?),
                span: *span,
            },
            Expr::Call { func, args, span } => Expr::Call {
                func: func.clone(),
                args: args
                    .iter()
                    .map(|a| {
                        Ok(Item {
                            expr: f(&a.expr)?,
                            ..a.clone()
                        })
                    })
                    .collect::<Result<_, E>>()?,
                span: *span,
            },
            Expr::Member(base, name, span) => Expr::Member(Box::new(f(base)?), name.clone(), *span),
            Expr::Index(base, index, span) => {
                Expr::Index(Box::new(f(base)?), Box::new(f(index)?), *span)
            }
            Expr::List(xs, span) => {
                Expr::List(xs.iter().map(&mut *f).collect::<Result<_, E>>()?, *span)
            }
            other => other.clone(),
        })
    }

    pub fn span(&self) -> Span {
        match self {
            Expr::Literal(_, s)
            | Expr::Name { span: s, .. }
            | Expr::Star(s)
            | Expr::Member(_, _, s)
            | Expr::Index(_, _, s)
            | Expr::Call { span: s, .. }
            | Expr::TypeOf(_, s)
            | Expr::Unary { span: s, .. }
            | Expr::Binary { span: s, .. }
            | Expr::List(_, s)
            | Expr::Range(_, _, s)
            | Expr::Paren(_, s)
            | Expr::Dynamic(_, s)
            | Expr::Typed { span: s, .. }
            | Expr::Pipe { span: s, .. } => *s,
            Expr::Source(op) => op.span,
        }
    }

    /// The name of a plain name expression.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Expr::Name {
                name,
                wildcard: false,
                ..
            } => Some(name),
            _ => None,
        }
    }

    /// The expression inside any number of parentheses.
    pub fn unparen(&self) -> &Expr {
        match self {
            Expr::Paren(e, _) => e.unparen(),
            e => e,
        }
    }
}
