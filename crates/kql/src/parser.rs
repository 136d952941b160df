//! A recursive-descent parser for KQL. It collects every error it can: after an error it
//! skips to the next `|` or `;` and goes on, so one typo does not hide the next. Nesting is
//! bounded, so no input can exhaust the stack.

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::lexer::{lex, Comment, Tok, Token};

/// How deep expressions and pipelines may nest before the parser gives up on the input.
const MAX_DEPTH: usize = 64;

/// Parses a whole query. On error, returns every diagnostic found.
pub fn parse(src: &str) -> Result<Query, Vec<Diagnostic>> {
    let (toks, comments, lex_errs) = lex(src);
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        errs: lex_errs,
        comments,
        next_comment: 0,
        depth: 0,
    };
    let q = p.query();
    if p.errs.is_empty() {
        Ok(q)
    } else {
        p.errs.sort_by_key(|d| d.span.start);
        p.errs.dedup_by_key(|d| d.span.start);
        Err(p.errs)
    }
}

/// Parses one scalar or tabular expression (no statements).
pub fn parse_expr(src: &str) -> Result<Expr, Vec<Diagnostic>> {
    let q = parse(src)?;
    match q.statements.as_slice() {
        [Statement {
            kind: StatementKind::Expr(e),
            ..
        }] => Ok(e.clone()),
        _ => Err(vec![Diagnostic::new(
            "expected one expression",
            Span::new(0, src.len()),
        )]),
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    errs: Vec<Diagnostic>,
    comments: Vec<Comment>,
    next_comment: usize,
    depth: usize,
}

type PResult<T> = Result<T, Diagnostic>;

/// Operators that may start a pipeline.
const SOURCE_OPS: &[&str] = &[
    "datatable",
    "print",
    "range",
    "union",
    "search",
    "find",
    "externaldata",
    "evaluate",
    "view",
];

/// Whether a datatable value is a literal as Kusto takes it there: a constant, a signed
/// number, a typed literal other than `string(null)`, or a dynamic literal; not `null`
/// alone and not an expression.
fn datatable_value(e: &Expr) -> bool {
    match e {
        Expr::Literal(Literal::Null, _) => false,
        Expr::Literal(Literal::Typed { ty, text }, _) => {
            !(ty.eq_ignore_ascii_case("string") && text.trim() == "null")
        }
        Expr::Literal(..) | Expr::Dynamic(..) => true,
        Expr::Unary { op, expr, .. } if op == "-" || op == "+" => matches!(
            expr.as_ref(),
            Expr::Literal(Literal::Int(_) | Literal::Real(_) | Literal::Timespan(_), _)
        ),
        _ => false,
    }
}

/// Words Kusto's parser does not take as a bare name being assigned (`extend last = 1`):
/// they must be written `['last']`.
const BRACKETED_TARGETS: &[&str] = &[
    "first",
    "last",
    "and",
    "or",
    "between",
    "project",
    "union",
    "true",
    "false",
    "asc",
    "desc",
    "like",
    "dynamic",
    "int",
    "long",
    "real",
    "string",
    "datetime",
    "timespan",
    "decimal",
    "time",
    "date",
    "contains_cs",
    "startswith",
    "endswith",
    "missing",
];

/// Parameter names that can stand before an operator's body as `name=value`.
fn is_param_name(op: &str, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("hint.")
        || matches!(
            n.as_str(),
            "kind"
                | "withsource"
                | "isfuzzy"
                | "bagexpansion"
                | "with_itemindex"
                | "with_match_id"
                | "flags"
                | "decodeblocks"
                | "with_source"
                | "source_column_name"
        )
        || (op == "as" && n == "hint.materialized")
}

/// Binary operators at the comparison level (all of equal precedence, left to right).
const COMPARISON_WORDS: &[&str] = &[
    "has",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "contains",
    "contains_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "in",
    "has_any",
    "has_all",
    "between",
    "like",
    "notlike",
    "matches",
    "contains_any",
];

impl<'a> Parser<'a> {
    // ---- token helpers ----

    fn tok(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn tok_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos].span
    }

    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at_op(&self, s: &str) -> bool {
        matches!(self.tok(), Tok::Op(o) if *o == s)
    }

    fn at_op_k(&self, k: usize, s: &str) -> bool {
        matches!(self.tok_at(k), Tok::Op(o) if *o == s)
    }

    fn at_word(&self, w: &str) -> bool {
        matches!(self.tok(), Tok::Ident(i) if i == w)
    }

    fn at_word_k(&self, k: usize, w: &str) -> bool {
        matches!(self.tok_at(k), Tok::Ident(i) if i == w)
    }

    fn eat_op(&mut self, s: &str) -> bool {
        if self.at_op(s) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.at_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn at_eof(&self) -> bool {
        matches!(self.tok(), Tok::Eof)
    }

    fn describe(&self) -> String {
        match self.tok() {
            Tok::Eof => "the end of the query".into(),
            Tok::Str(_) => "a string".into(),
            _ => {
                let s = self.span();
                format!("`{}`", &self.src[s.start..s.end])
            }
        }
    }

    fn expected(&self, what: &str) -> Diagnostic {
        Diagnostic::new(
            format!("expected {what}, found {}", self.describe()),
            self.span(),
        )
    }

    fn expect_op(&mut self, s: &str) -> PResult<Span> {
        if self.at_op(s) {
            Ok(self.bump().span)
        } else {
            Err(self.expected(&format!("`{s}`")))
        }
    }

    fn ident(&mut self) -> PResult<String> {
        match self.tok().clone() {
            Tok::Ident(s) => {
                self.bump();
                Ok(s)
            }
            Tok::Op("[") if matches!(self.tok_at(1), Tok::Str(_)) && self.at_op_k(2, "]") => {
                self.bump();
                let Tok::Str(s) = self.bump().tok else {
                    unreachable!()
                };
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected("a name")),
        }
    }

    fn take_comments(&mut self, before: usize) -> Vec<String> {
        let mut out = Vec::new();
        while self.next_comment < self.comments.len()
            && self.comments[self.next_comment].start < before
        {
            out.push(self.comments[self.next_comment].text.clone());
            self.next_comment += 1;
        }
        out
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::new("the query nests too deeply", self.span()));
        }
        Ok(())
    }

    /// Skips to the next `|` or `;` at the current nesting level (or the end).
    fn recover(&mut self) {
        let mut depth = 0i32;
        while !self.at_eof() {
            match self.tok() {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1
                }
                Tok::Op("|" | ";") if depth <= 0 => return,
                _ => {}
            }
            self.bump();
        }
    }

    // ---- statements ----

    fn query(&mut self) -> Query {
        let mut statements = Vec::new();
        while !self.at_eof() {
            if self.eat_op(";") {
                continue;
            }
            let before = self.pos;
            match self.statement() {
                Ok(s) => statements.push(s),
                Err(d) => {
                    self.errs.push(d);
                    self.recover();
                    while self.at_op(")") || self.at_op("]") || self.at_op("}") || self.at_op("|") {
                        self.bump();
                    }
                }
            }
            if !self.at_eof() && !self.eat_op(";") {
                if let Some(StatementKind::Let { .. }) = statements.last().map(|s| &s.kind) {
                    self.errs.push(
                        self.expected("`;`")
                            .with_hint("expected `;` after a let statement"),
                    );
                } else {
                    self.errs.push(self.expected("`;` or the end of the query"));
                }
                self.recover();
            }
            if self.pos == before {
                self.bump();
            }
        }
        let trailing_comments = self.take_comments(usize::MAX);
        Query {
            statements,
            trailing_comments,
        }
    }

    fn statement(&mut self) -> PResult<Statement> {
        let start = self.span();
        let comments = self.take_comments(start.start);
        let kind = if self.at_word("let") && matches!(self.tok_at(1), Tok::Ident(_) | Tok::Op("["))
        {
            self.bump();
            let name = self.ident()?;
            if !self.eat_op("=") {
                return Err(self
                    .expected("`=`")
                    .with_hint("a let statement reads `let name = value;`"));
            }
            let value = self.let_value()?;
            StatementKind::Let { name, value }
        } else if self.at_word("set")
            && matches!(self.tok_at(1), Tok::Ident(_))
            && !self.at_op_k(1, "|")
        {
            self.bump();
            let mut name = self.ident()?;
            while self.eat_op(".") {
                name.push('.');
                name.push_str(&self.ident()?);
            }
            let value = if self.eat_op("=") {
                Some(self.expr()?)
            } else {
                None
            };
            StatementKind::Set { name, value }
        } else if self.at_word("declare") && self.at_word_k(1, "query_parameters") {
            self.bump();
            self.bump();
            StatementKind::DeclareParameters(self.params()?)
        } else {
            StatementKind::Expr(self.pipeline()?)
        };
        Ok(Statement {
            kind,
            comments,
            span: start.to(self.prev_span()),
        })
    }

    fn let_value(&mut self) -> PResult<LetValue> {
        let view = self.at_word("view") && self.at_op_k(1, "(");
        if view || (self.at_op("(") && self.looks_like_params()) {
            if view {
                self.bump();
            }
            let params = self.params()?;
            self.expect_op("{")?;
            let mut body = Vec::new();
            loop {
                while self.eat_op(";") {}
                if self.at_op("}") || self.at_eof() {
                    break;
                }
                body.push(self.statement()?);
                if !self.at_op("}") && !self.at_op(";") {
                    return Err(self.expected("`;` or `}`"));
                }
            }
            self.expect_op("}")?;
            return Ok(LetValue::Function { params, body, view });
        }
        Ok(LetValue::Expr(self.pipeline()?))
    }

    /// After `(`: an empty list then `{`, or `name:` starts a parameter list.
    fn looks_like_params(&self) -> bool {
        (self.at_op_k(1, ")") && self.at_op_k(2, "{"))
            || (matches!(self.tok_at(1), Tok::Ident(_)) && self.at_op_k(2, ":"))
            || (self.at_op_k(1, "*") && self.at_op_k(2, ")"))
    }

    /// `(name:type [= default], T:(*), ...)`.
    fn params(&mut self) -> PResult<Vec<Param>> {
        self.expect_op("(")?;
        let mut out = Vec::new();
        while !self.at_op(")") {
            if self.eat_op("*") {
                out.push(Param {
                    name: "*".into(),
                    ty: String::new(),
                    default: None,
                });
            } else {
                let name = self.ident()?;
                self.expect_op(":")?;
                let ty = self.type_text()?;
                let default = if self.eat_op("=") {
                    Some(self.expr()?)
                } else {
                    None
                };
                out.push(Param { name, ty, default });
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(")")?;
        Ok(out)
    }

    /// A type name, or a tabular schema `(*)` / `(a:string, ...)`, as text.
    fn type_text(&mut self) -> PResult<String> {
        if self.at_op("(") {
            let start = self.span().start;
            let mut depth = 0;
            loop {
                match self.bump().tok {
                    Tok::Op("(") => depth += 1,
                    Tok::Op(")") => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Eof => return Err(self.expected("`)`")),
                    _ => {}
                }
            }
            return Ok(self.src[start..self.prev_span().end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "));
        }
        self.ident()
    }

    // ---- pipelines and operators ----

    /// An expression followed by any number of `| operator`.
    fn pipeline(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.pipeline_inner();
        self.depth -= 1;
        r
    }

    fn pipeline_inner(&mut self) -> PResult<Expr> {
        let start = self.span();
        let source = if self.at_source_op() {
            Expr::Source(Box::new(self.operator()?))
        } else {
            self.expr()?
        };
        if !self.at_op("|") {
            return Ok(source);
        }
        let mut ops = Vec::new();
        while self.at_op("|") {
            let bar = self.span();
            self.bump();
            match self.operator() {
                Ok(mut op) => {
                    let mut c = self.take_comments(bar.start);
                    c.append(&mut op.comments);
                    op.comments = c;
                    op.span = bar.to(op.span);
                    ops.push(op)
                }
                Err(d) => {
                    self.errs.push(d);
                    self.recover();
                }
            }
        }
        Ok(Expr::Pipe {
            source: Box::new(source),
            ops,
            span: start.to(self.prev_span()),
        })
    }

    fn at_source_op(&self) -> bool {
        let Tok::Ident(w) = self.tok() else {
            return false;
        };
        if !SOURCE_OPS.contains(&w.as_str()) {
            return false;
        }
        let next = self.tok_at(1);
        match w.as_str() {
            "datatable" | "externaldata" => matches!(next, Tok::Op("(")),
            "range" => matches!(next, Tok::Ident(_)) && self.at_word_k(2, "from"),
            "evaluate" => matches!(next, Tok::Ident(_)),
            "view" => false,
            // `union ["T"]` (a space before `[`) is the operator over a quoted table name;
            // `union["k"]` indexes a column named union.
            _ if matches!(next, Tok::Op("[")) => {
                self.toks[(self.pos + 1).min(self.toks.len() - 1)].spaced
            }
            _ => !matches!(next, Tok::Op("|" | "," | ")" | ";" | "=" | ".") | Tok::Eof),
        }
    }

    fn operator(&mut self) -> PResult<Operator> {
        let start = self.span();
        let comments = self.take_comments(start.start);
        let raw = match self.tok() {
            Tok::Ident(w) => w.clone(),
            _ => return Err(self.expected("an operator name after `|`")),
        };
        self.bump();
        let name = raw.to_ascii_lowercase();
        let mut op = Operator {
            name: name.clone(),
            params: Vec::new(),
            clauses: Vec::new(),
            comments,
            span: start,
        };
        self.op_params(&mut op)?;
        match name.as_str() {
            "where" | "filter" | "take" | "limit" | "sample" | "as" | "invoke" | "evaluate" => {
                op.clauses.push(self.clause(None, false)?);
                if name == "evaluate" && self.at_word("with") {
                    self.bump();
                    op.clauses.push(self.paren_clause("with")?);
                }
            }
            "project" | "extend" | "project-away" | "project-keep" | "project-rename"
            | "project-reorder" | "distinct" | "serialize" | "print" | "project-smart"
            | "consume" | "getschema" | "count" => {
                if !self.at_clause_end() {
                    op.clauses.push(self.clause(None, true)?);
                }
            }
            "summarize" => {
                if !self.at_word("by") {
                    op.clauses.push(self.clause(None, true)?);
                }
                if self.eat_word("by") {
                    op.clauses.push(self.clause(Some("by"), true)?);
                }
            }
            "order" | "sort" => {
                if !self.eat_word("by") {
                    return Err(self
                        .expected("`by`")
                        .with_hint(format!("write `{name} by column [asc|desc]`")));
                }
                op.clauses.push(self.clause(Some("by"), true)?);
            }
            "top" => {
                op.clauses.push(self.clause(None, false)?);
                if !self.eat_word("by") {
                    return Err(self.expected("`by`"));
                }
                op.clauses.push(self.clause(Some("by"), true)?);
            }
            "top-hitters" | "sample-distinct" => {
                op.clauses.push(self.clause(None, false)?);
                if !self.eat_word("of") {
                    return Err(self.expected("`of`"));
                }
                op.clauses.push(self.clause(Some("of"), false)?);
                if self.eat_word("by") {
                    op.clauses.push(self.clause(Some("by"), false)?);
                }
            }
            "top-nested" => loop {
                op.clauses.push(self.clause(None, false)?);
                if !self.eat_word("of") {
                    return Err(self.expected("`of`"));
                }
                op.clauses.push(self.clause(Some("of"), false)?);
                if self.at_word("with") && self.at_word_k(1, "others") {
                    self.bump();
                    op.clauses.push(self.clause(Some("with"), false)?);
                }
                if !self.eat_word("by") {
                    return Err(self.expected("`by`"));
                }
                op.clauses.push(self.clause(Some("by"), false)?);
                if self.at_op(",") && self.at_word_k(1, "top-nested") {
                    self.bump();
                    self.bump();
                    continue;
                }
                break;
            },
            "join" | "lookup" => {
                let right = self.join_right()?;
                op.clauses.push(Clause {
                    keyword: None,
                    items: vec![Item::plain(right)],
                    parenthesized: false,
                    spaced: false,
                });
                if self.eat_word("on") {
                    op.clauses.push(self.clause(Some("on"), true)?);
                }
            }
            "union" => op.clauses.push(self.union_tables()?),
            "mv-expand" | "mvexpand" | "mv-apply" | "mvapply" => {
                op.clauses.push(self.clause(None, true)?);
                if self.eat_word("limit") {
                    op.clauses.push(self.clause(Some("limit"), false)?);
                }
                if name.contains("apply") {
                    if !self.eat_word("on") {
                        return Err(self
                            .expected("`on`")
                            .with_hint("mv-apply reads `mv-apply x on (subquery)`"));
                    }
                    op.clauses.push(self.sub_clause(Some("on"))?);
                }
            }
            "parse" | "parse-where" => {
                op.clauses.push(self.clause(None, false)?);
                if !self.eat_word("with") {
                    return Err(self
                        .expected("`with`")
                        .with_hint("parse reads `parse column with pattern`"));
                }
                op.clauses.push(self.pattern()?);
            }
            "parse-kv" => {
                op.clauses.push(self.clause(None, false)?);
                if !self.eat_word("as") {
                    return Err(self.expected("`as`"));
                }
                op.clauses.push(self.paren_clause("as")?);
                if self.eat_word("with") {
                    op.clauses.push(self.paren_clause("with")?);
                }
            }
            "render" => {
                op.clauses.push(self.clause(None, false)?);
                if self.eat_word("with") {
                    op.clauses.push(self.paren_clause("with")?);
                }
            }
            "make-series" => {
                op.clauses.push(self.clause(None, true)?);
                for kw in ["on", "in", "from", "to", "step", "by"] {
                    if self.eat_word(kw) {
                        op.clauses.push(self.clause(Some(kw), kw == "by")?);
                    }
                }
            }
            "facet" => {
                if !self.eat_word("by") {
                    return Err(self.expected("`by`"));
                }
                op.clauses.push(self.clause(Some("by"), true)?);
                if self.eat_word("with") {
                    op.clauses.push(self.sub_clause(Some("with"))?);
                }
            }
            "fork" => {
                let mut items = Vec::new();
                while self.at_op("(") || matches!(self.tok(), Tok::Ident(_)) && self.at_op_k(1, "=")
                {
                    let mut names = Vec::new();
                    if !self.at_op("(") {
                        names.push(self.ident()?);
                        self.bump();
                    }
                    let mut it = Item::plain(self.subquery()?);
                    it.names = names;
                    items.push(it);
                }
                op.clauses.push(Clause {
                    keyword: None,
                    items,
                    parenthesized: false,
                    spaced: true,
                });
            }
            "partition" => {
                if !self.eat_word("by") {
                    return Err(self.expected("`by`"));
                }
                op.clauses.push(self.clause(Some("by"), false)?);
                if self.at_op("{") {
                    let s = self.bump().span;
                    let body = self.pipeline()?;
                    self.expect_op("}")?;
                    let e = Expr::Paren(Box::new(body), s.to(self.prev_span()));
                    op.clauses.push(Clause {
                        keyword: Some("{".into()),
                        items: vec![Item::plain(e)],
                        parenthesized: false,
                        spaced: false,
                    });
                } else {
                    op.clauses.push(self.sub_clause(None)?);
                }
            }
            "scan" => self.scan(&mut op)?,
            "datatable" | "externaldata" => {
                op.clauses.push(self.schema_clause()?);
                self.expect_op("[")?;
                let items = self.items_until("]", true)?;
                if name == "datatable" {
                    if let Some(bad) = items.iter().find(|it| !datatable_value(&it.expr)) {
                        return Err(Diagnostic::new(
                            "datatable values must be literals (a number, string, bool, or \
                             typed literal such as long(null) or datetime(...))",
                            bad.expr.span(),
                        ));
                    }
                }
                self.expect_op("]")?;
                op.clauses.push(Clause {
                    keyword: Some("[".into()),
                    items,
                    parenthesized: false,
                    spaced: false,
                });
                if name == "externaldata" && self.eat_word("with") {
                    op.clauses.push(self.paren_clause("with")?);
                }
            }
            "range" => {
                let name = self.ident()?;
                let span = self.prev_span();
                op.clauses.push(Clause {
                    keyword: None,
                    items: vec![Item::plain(Expr::Name {
                        name,
                        wildcard: false,
                        span,
                    })],
                    parenthesized: false,
                    spaced: false,
                });
                for kw in ["from", "to", "step"] {
                    if !self.eat_word(kw) {
                        return Err(self.expected(&format!("`{kw}`")));
                    }
                    op.clauses.push(self.clause(Some(kw), false)?);
                }
            }
            "search" | "find" => {
                if self.at_word("in") && self.at_op_k(1, "(") {
                    self.bump();
                    op.clauses.push(self.paren_clause("in")?);
                }
                if name == "find" {
                    if !self.eat_word("where") {
                        return Err(self.expected("`where`"));
                    }
                    op.clauses.push(self.clause(Some("where"), false)?);
                    if self.at_word("project-smart") || self.at_word("project") {
                        let kw = self.ident()?;
                        op.clauses.push(self.clause(Some(&kw), true)?);
                    }
                } else {
                    op.clauses.push(self.clause(None, false)?);
                }
            }
            "reduce" => {
                if !self.eat_word("by") {
                    return Err(self.expected("`by`"));
                }
                op.clauses.push(self.clause(Some("by"), false)?);
                if self.eat_word("with") {
                    op.clauses.push(self.clause(Some("with"), true)?);
                }
            }
            _ => {
                let s = self.prev_span();
                return Err(
                    Diagnostic::new(format!("unknown query operator `{raw}`"), s).with_hint(
                        "operators after `|` are where, project, extend, summarize, join, ...",
                    ),
                );
            }
        }
        op.span = start.to(self.prev_span());
        Ok(op)
    }

    fn op_params(&mut self, op: &mut Operator) -> PResult<()> {
        loop {
            let Tok::Ident(first) = self.tok().clone() else {
                return Ok(());
            };
            // Dotted names: hint.strategy
            let mut k = 1;
            let mut name = first.clone();
            while self.at_op_k(k, ".") {
                if let Tok::Ident(part) = self.tok_at(k + 1) {
                    name.push('.');
                    name.push_str(part);
                    k += 2;
                } else {
                    break;
                }
            }
            if !self.at_op_k(k, "=") || !is_param_name(&op.name, &name) {
                return Ok(());
            }
            for _ in 0..=k {
                self.bump();
            }
            let value = if let Tok::Ident(w) = self.tok().clone() {
                let s = self.bump().span;
                Expr::Name {
                    name: w,
                    wildcard: false,
                    span: s,
                }
            } else {
                self.unary()?
            };
            op.params.push((name, value));
        }
    }

    fn at_clause_end(&self) -> bool {
        matches!(self.tok(), Tok::Op("|" | ";" | ")" | "}" | "]") | Tok::Eof)
    }

    /// Items separated by commas (when `list`) or one item, with an optional keyword.
    fn clause(&mut self, keyword: Option<&str>, list: bool) -> PResult<Clause> {
        let mut items = vec![self.item(true)?];
        while list && self.eat_op(",") {
            items.push(self.item(true)?);
        }
        Ok(Clause {
            keyword: keyword.map(str::to_string),
            items,
            parenthesized: false,
            spaced: false,
        })
    }

    /// `(name:type, ...)`: the schema of a datatable or externaldata.
    fn schema_clause(&mut self) -> PResult<Clause> {
        self.expect_op("(")?;
        let mut items = Vec::new();
        while !self.at_op(")") {
            if !self.is_typed_name() {
                return Err(self.expected("`name:type` in the schema"));
            }
            items.push(Item::plain(self.typed_name()?));
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(")")?;
        Ok(Clause {
            keyword: Some("schema".into()),
            items,
            parenthesized: true,
            spaced: false,
        })
    }

    /// `keyword (items)`.
    fn paren_clause(&mut self, keyword: &str) -> PResult<Clause> {
        self.expect_op("(")?;
        let items = self.items_until(")", true)?;
        self.expect_op(")")?;
        Ok(Clause {
            keyword: Some(keyword.to_string()),
            items,
            parenthesized: true,
            spaced: false,
        })
    }

    fn items_until(&mut self, close: &str, typed: bool) -> PResult<Vec<Item>> {
        let mut items = Vec::new();
        while !self.at_op(close) && !self.at_eof() {
            if typed && matches!(self.tok(), Tok::Ident(_) | Tok::Op("[")) && self.is_typed_name() {
                items.push(Item::plain(self.typed_name()?));
            } else {
                items.push(self.item(true)?);
            }
            if !self.eat_op(",") {
                break;
            }
        }
        Ok(items)
    }

    fn is_typed_name(&self) -> bool {
        match self.tok() {
            Tok::Ident(_) => self.at_op_k(1, ":"),
            Tok::Op("[") => self.at_op_k(3, ":"),
            _ => false,
        }
    }

    fn typed_name(&mut self) -> PResult<Expr> {
        let start = self.span();
        self.reject_bare_keyword()?;
        let name = self.ident()?;
        self.expect_op(":")?;
        let ty = self.ident()?;
        Ok(Expr::Typed {
            name,
            ty,
            span: start.to(self.prev_span()),
        })
    }

    /// An error where a name being declared (`last = ...`, `first:string`) is one of the
    /// words Kusto takes only in brackets.
    fn reject_bare_keyword(&self) -> PResult<()> {
        match self.tok() {
            Tok::Ident(n) if BRACKETED_TARGETS.contains(&n.as_str()) => Err(Diagnostic::new(
                format!("the name '{n}' must be bracketed as ['{n}'] here"),
                self.span(),
            )),
            _ => Ok(()),
        }
    }

    /// One item: `[name =] expr [asc|desc] [nulls first|last] [to typeof(t)] [default = e]`.
    fn item(&mut self, allow_names: bool) -> PResult<Item> {
        self.item_ex(allow_names, false)
    }

    /// An item whose expression may be a whole pipeline (`toscalar(T | count)`).
    fn item_ex(&mut self, allow_names: bool, pipe: bool) -> PResult<Item> {
        let mut names = Vec::new();
        if allow_names {
            let plain = matches!(self.tok(), Tok::Ident(_)) && self.at_op_k(1, "=");
            let quoted = self.at_op("[")
                && matches!(self.tok_at(1), Tok::Str(_))
                && self.at_op_k(2, "]")
                && self.at_op_k(3, "=");
            if plain {
                self.reject_bare_keyword()?;
            }
            if plain || quoted {
                names.push(self.ident()?);
                self.bump();
            } else if self.at_op("(") && self.paren_names_assign() {
                self.bump();
                loop {
                    names.push(self.ident()?);
                    if !self.eat_op(",") {
                        break;
                    }
                }
                self.expect_op(")")?;
                self.expect_op("=")?;
            }
        }
        let expr = if pipe { self.pipeline()? } else { self.expr()? };
        let mut item = Item {
            names,
            expr,
            order: None,
            nulls: None,
            to_type: None,
            default: None,
        };
        if self.eat_word("asc") {
            item.order = Some(SortOrder::Asc);
        } else if self.eat_word("desc") {
            item.order = Some(SortOrder::Desc);
        }
        if self.at_word("nulls") && (self.at_word_k(1, "first") || self.at_word_k(1, "last")) {
            self.bump();
            item.nulls = Some(if self.eat_word("first") {
                NullsPosition::First
            } else {
                self.bump();
                NullsPosition::Last
            });
        }
        if self.at_word("to") && self.at_word_k(1, "typeof") {
            self.bump();
            self.bump();
            self.expect_op("(")?;
            item.to_type = Some(self.ident()?);
            self.expect_op(")")?;
        }
        if self.at_word("default") && self.at_op_k(1, "=") {
            self.bump();
            self.bump();
            item.default = Some(self.expr()?);
        }
        Ok(item)
    }

    /// `(a, b) =` ahead?
    fn paren_names_assign(&self) -> bool {
        let mut k = 1;
        loop {
            if !matches!(self.tok_at(k), Tok::Ident(_)) {
                return false;
            }
            k += 1;
            if self.at_op_k(k, ",") {
                k += 1;
                continue;
            }
            return self.at_op_k(k, ")") && self.at_op_k(k + 1, "=");
        }
    }

    /// `( operator | operator ... )`: a subquery over the operator's own input (mv-apply,
    /// partition, facet, fork). Its source is the implicit input, an empty name.
    fn subquery(&mut self) -> PResult<Expr> {
        let s = self.expect_op("(")?;
        let mut ops = vec![self.operator()?];
        while self.eat_op("|") {
            ops.push(self.operator()?);
        }
        self.expect_op(")")?;
        let span = s.to(self.prev_span());
        let input = Expr::Name {
            name: String::new(),
            wildcard: false,
            span: s,
        };
        Ok(Expr::Paren(
            Box::new(Expr::Pipe {
                source: Box::new(input),
                ops,
                span,
            }),
            span,
        ))
    }

    fn sub_clause(&mut self, keyword: Option<&str>) -> PResult<Clause> {
        let e = self.subquery()?;
        Ok(Clause {
            keyword: keyword.map(str::to_string),
            items: vec![Item::plain(e)],
            parenthesized: false,
            spaced: false,
        })
    }

    fn join_right(&mut self) -> PResult<Expr> {
        if self.at_op("(") {
            let s = self.bump().span;
            let e = self.pipeline()?;
            self.expect_op(")")?;
            return Ok(Expr::Paren(Box::new(e), s.to(self.prev_span())));
        }
        self.postfix()
    }

    fn union_tables(&mut self) -> PResult<Clause> {
        let mut items = Vec::new();
        loop {
            items.push(self.item(true)?);
            if !self.eat_op(",") {
                break;
            }
        }
        Ok(Clause {
            keyword: None,
            items,
            parenthesized: false,
            spaced: false,
        })
    }

    /// A parse pattern: strings, `*` and `name[:type]`, separated by spaces.
    fn pattern(&mut self) -> PResult<Clause> {
        let mut items = Vec::new();
        while !self.at_clause_end() {
            let s = self.span();
            let e = match self.tok().clone() {
                Tok::Op("*") => {
                    self.bump();
                    Expr::Star(s)
                }
                Tok::Str(_) => self.primary()?,
                Tok::Ident(_) | Tok::Op("[") if self.is_typed_name() => self.typed_name()?,
                Tok::Ident(_) | Tok::Op("[") => {
                    let name = self.ident()?;
                    Expr::Name {
                        name,
                        wildcard: false,
                        span: s,
                    }
                }
                _ => {
                    return Err(self.expected("a string, `*` or a column name in the parse pattern"))
                }
            };
            items.push(Item::plain(e));
        }
        Ok(Clause {
            keyword: Some("with".into()),
            items,
            parenthesized: false,
            spaced: true,
        })
    }

    /// `scan [with_match_id=..] [order by ..] [partition by ..] [declare (..)] with (step ...)`.
    fn scan(&mut self, op: &mut Operator) -> PResult<()> {
        for kw in ["order", "partition"] {
            if self.at_word(kw) && self.at_word_k(1, "by") {
                self.bump();
                self.bump();
                op.clauses
                    .push(self.clause(Some(&format!("{kw} by")), true)?);
            }
        }
        if self.eat_word("declare") {
            self.expect_op("(")?;
            let mut items = Vec::new();
            while !self.at_op(")") {
                let e = self.typed_name()?;
                let mut it = Item::plain(e);
                if self.eat_op("=") {
                    it.default = Some(self.expr()?);
                }
                items.push(it);
                if !self.eat_op(",") {
                    break;
                }
            }
            self.expect_op(")")?;
            op.clauses.push(Clause {
                keyword: Some("declare".into()),
                items,
                parenthesized: true,
                spaced: false,
            });
        }
        if !self.eat_word("with") {
            return Err(self.expected("`with`"));
        }
        self.expect_op("(")?;
        while self.eat_word("step") {
            let name = self.ident()?;
            let mut kw = format!("step {name}");
            if self.at_word("output") && self.at_op_k(1, "=") {
                self.bump();
                self.bump();
                kw.push_str(&format!(" output={}", self.ident()?));
            }
            self.expect_op(":")?;
            let cond = self.expr()?;
            let mut items = vec![Item::plain(cond)];
            if self.eat_op("=>") {
                loop {
                    items.push(self.item(true)?);
                    if !self.eat_op(",") {
                        break;
                    }
                }
            }
            self.expect_op(";")?;
            op.clauses.push(Clause {
                keyword: Some(kw),
                items,
                parenthesized: false,
                spaced: false,
            });
        }
        self.expect_op(")")?;
        Ok(())
    }

    // ---- expressions ----

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.or_expr();
        self.depth -= 1;
        r
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.and_expr()?;
        while self.at_word("or") {
            self.bump();
            let rhs = self.and_expr()?;
            lhs = binary("or", lhs, rhs);
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.comparison()?;
        while self.at_word("and") {
            self.bump();
            let rhs = self.comparison()?;
            lhs = binary("and", lhs, rhs);
        }
        Ok(lhs)
    }

    /// The comparison operator at the cursor, with how many tokens it takes.
    fn comparison_op(&self) -> Option<(String, usize)> {
        match self.tok() {
            Tok::Op(o @ ("==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "=~" | "!~" | ":")) => {
                Some((o.to_string(), 1))
            }
            Tok::WordOp(w) => Some((w.clone(), 1)),
            Tok::Ident(w) if w == "matches" && self.at_word_k(1, "regex") => {
                Some(("matches regex".into(), 2))
            }
            Tok::Ident(w) if COMPARISON_WORDS.contains(&w.as_str()) && w != "matches" => {
                Some((w.clone(), 1))
            }
            _ => None,
        }
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let mut lhs = self.additive()?;
        while let Some((op, n)) = self.comparison_op() {
            for _ in 0..n {
                self.bump();
            }
            let takes_list = matches!(
                op.as_str(),
                "in" | "!in"
                    | "in~"
                    | "!in~"
                    | "has_any"
                    | "has_all"
                    | "between"
                    | "!between"
                    | "contains_any"
            );
            let rhs = if takes_list && self.at_op("(") {
                self.paren_or_list()?
            } else {
                self.additive()?
            };
            lhs = binary(&op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut lhs = self.multiplicative()?;
        while let Tok::Op(o @ ("+" | "-")) = self.tok().clone() {
            self.bump();
            let rhs = self.multiplicative()?;
            lhs = binary(o, lhs, rhs);
        }
        Ok(lhs)
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while let Tok::Op(o @ ("*" | "/" | "%")) = self.tok().clone() {
            self.bump();
            let rhs = self.unary()?;
            lhs = binary(o, lhs, rhs);
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if let Tok::Op(o @ ("-" | "+")) = self.tok().clone() {
            let s = self.bump().span;
            self.enter()?;
            let e = self.unary();
            self.depth -= 1;
            let e = e?;
            let span = s.to(e.span());
            return Ok(Expr::Unary {
                op: o.to_string(),
                expr: Box::new(e),
                span,
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.at_op(".") {
                self.bump();
                let name = match self.tok().clone() {
                    Tok::Ident(n) => {
                        self.bump();
                        n
                    }
                    Tok::Op("[") if !matches!(self.tok_at(1), Tok::Str(_)) => {
                        self.bump();
                        let idx = self.expr()?;
                        self.expect_op("]")?;
                        let span = e.span().to(self.prev_span());
                        e = Expr::Index(Box::new(e), Box::new(idx), span);
                        continue;
                    }
                    Tok::Op("[") => self.ident()?,
                    Tok::Int(n) => {
                        self.bump();
                        n
                    }
                    _ => return Err(self.expected("a property name after `.`")),
                };
                let span = e.span().to(self.prev_span());
                e = Expr::Member(Box::new(e), name, span);
            } else if self.at_op("[") && !self.toks[self.pos].spaced
                || self.at_op("[") && is_indexable(&e)
            {
                self.bump();
                let idx = self.expr()?;
                self.expect_op("]")?;
                let span = e.span().to(self.prev_span());
                e = Expr::Index(Box::new(e), Box::new(idx), span);
            } else {
                return Ok(e);
            }
        }
    }

    fn paren_or_list(&mut self) -> PResult<Expr> {
        let s = self.expect_op("(")?;
        if self.eat_op(")") {
            return Ok(Expr::List(Vec::new(), s.to(self.prev_span())));
        }
        let first = self.pipeline()?;
        if self.eat_op("..") {
            let hi = self.expr()?;
            self.expect_op(")")?;
            let span = s.to(self.prev_span());
            return Ok(Expr::Paren(
                Box::new(Expr::Range(Box::new(first), Box::new(hi), span)),
                span,
            ));
        }
        if self.at_op(",") {
            let mut items = vec![first];
            while self.eat_op(",") {
                items.push(self.pipeline()?);
            }
            self.expect_op(")")?;
            return Ok(Expr::List(items, s.to(self.prev_span())));
        }
        self.expect_op(")")?;
        Ok(Expr::Paren(Box::new(first), s.to(self.prev_span())))
    }

    fn primary(&mut self) -> PResult<Expr> {
        let s = self.span();
        match self.tok().clone() {
            Tok::Str(_) => {
                let mut value = String::new();
                while let Tok::Str(v) = self.tok().clone() {
                    value.push_str(&v);
                    self.bump();
                }
                Ok(Expr::Literal(
                    Literal::String(value),
                    s.to(self.prev_span()),
                ))
            }
            Tok::Int(n) => {
                self.bump();
                Ok(Expr::Literal(Literal::Int(n), s))
            }
            Tok::Real(n) => {
                self.bump();
                Ok(Expr::Literal(Literal::Real(n), s))
            }
            Tok::Timespan(n) => {
                self.bump();
                Ok(Expr::Literal(Literal::Timespan(n), s))
            }
            Tok::Op("(") => self.paren_or_list(),
            Tok::Op("*") => {
                self.bump();
                Ok(Expr::Star(s))
            }
            Tok::Op("[") if matches!(self.tok_at(1), Tok::Str(_)) && self.at_op_k(2, "]") => {
                let name = self.ident()?;
                Ok(Expr::Name {
                    name,
                    wildcard: false,
                    span: s.to(self.prev_span()),
                })
            }
            Tok::Op("$") => Err(self.expected("an expression")),
            Tok::Ident(w) => self.word(w, s),
            _ => Err(self.expected("an expression")),
        }
    }

    fn word(&mut self, w: String, s: Span) -> PResult<Expr> {
        // Inside an expression only datatable and externaldata start a table (`join ...
        // datatable(...)[...]`); union, print, range and search start one only where a
        // pipeline may (see `pipeline`), so in `s - union` union is a name.
        if matches!(w.as_str(), "datatable" | "externaldata") && self.at_source_op() {
            return Ok(Expr::Source(Box::new(self.operator()?)));
        }
        self.bump();
        match w.as_str() {
            "true" | "True" | "TRUE" => return Ok(Expr::Literal(Literal::Bool(true), s)),
            "false" | "False" | "FALSE" => return Ok(Expr::Literal(Literal::Bool(false), s)),
            "null" => return Ok(Expr::Literal(Literal::Null, s)),
            _ => {}
        }
        if !self.at_op("(") {
            // `Name*` wildcard (union, project-away) when nothing can follow as an operand.
            if self.at_op("*")
                && !self.toks[self.pos].spaced
                && matches!(self.tok_at(1), Tok::Op("," | "|" | ")" | ";") | Tok::Eof)
            {
                self.bump();
                return Ok(Expr::Name {
                    name: w,
                    wildcard: true,
                    span: s.to(self.prev_span()),
                });
            }
            return Ok(Expr::Name {
                name: w,
                wildcard: false,
                span: s,
            });
        }
        let lower = w.to_ascii_lowercase();
        match lower.as_str() {
            "dynamic" => {
                self.bump();
                let d = self.dynamic()?;
                self.expect_op(")")?;
                return Ok(Expr::Dynamic(Box::new(d), s.to(self.prev_span())));
            }
            "typeof" => {
                self.bump();
                let ty = self.ident()?;
                self.expect_op(")")?;
                return Ok(Expr::TypeOf(ty, s.to(self.prev_span())));
            }
            "datetime" | "date" | "timespan" | "time" | "guid" | "bool" | "boolean" | "int"
            | "long" | "real" | "double" | "decimal" | "uniqueid" => {
                let open = self.bump().span;
                let mut depth = 1;
                loop {
                    match self.tok() {
                        Tok::Op("(") => depth += 1,
                        Tok::Op(")") => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Tok::Eof => return Err(self.expected("`)`")),
                        _ => {}
                    }
                    self.bump();
                }
                let text = self.src[open.end..self.span().start].trim().to_string();
                self.bump();
                return Ok(Expr::Literal(
                    Literal::Typed { ty: lower, text },
                    s.to(self.prev_span()),
                ));
            }
            _ => {}
        }
        self.bump();
        let mut args = Vec::new();
        if !self.at_op(")") {
            loop {
                args.push(self.item_ex(true, true)?);
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        self.expect_op(")")
            .map_err(|d| d.with_hint(format!("close the call to `{w}` with `)`")))?;
        Ok(Expr::Call {
            func: w,
            args,
            span: s.to(self.prev_span()),
        })
    }

    fn dynamic(&mut self) -> PResult<Dynamic> {
        self.enter()?;
        let r = self.dynamic_inner();
        self.depth -= 1;
        r
    }

    fn dynamic_inner(&mut self) -> PResult<Dynamic> {
        if self.eat_op("[") {
            let mut items = Vec::new();
            while !self.at_op("]") {
                items.push(self.dynamic()?);
                if !self.eat_op(",") {
                    break;
                }
            }
            self.expect_op("]")?;
            return Ok(Dynamic::Array(items));
        }
        if self.eat_op("{") {
            let mut items = Vec::new();
            while !self.at_op("}") {
                let key = match self.tok().clone() {
                    Tok::Str(k) | Tok::Ident(k) => {
                        self.bump();
                        k
                    }
                    _ => return Err(self.expected("a property name")),
                };
                self.expect_op(":")?;
                items.push((key, self.dynamic()?));
                if !self.eat_op(",") {
                    break;
                }
            }
            self.expect_op("}")?;
            return Ok(Dynamic::Bag(items));
        }
        Ok(Dynamic::Scalar(self.unary()?))
    }
}

fn is_indexable(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Name { .. }
            | Expr::Member(..)
            | Expr::Index(..)
            | Expr::Call { .. }
            | Expr::Paren(..)
    )
}

fn binary(op: &str, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span().to(rhs.span());
    Expr::Binary {
        op: op.to_string(),
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format_query;

    fn fmt(q: &str) -> String {
        format_query(&parse(q).unwrap_or_else(|e| panic!("{q}: {}", e[0].render(q, "q"))))
    }

    #[test]
    fn literal_forms_parse() {
        for q in [
            r#"print a = 'x', b = "y\"z", c = @"C:\dir", d = h"secret", e = ```multi
line```"#,
            "print 10, 0x1F, 1.5, 1e3, 2d, 1.5h, 30m, 10s, 100ms, 10microsecond, 1tick",
            "print datetime(2020-01-01), datetime(2020-01-01 10:00:00.5), timespan(1.02:03:04)",
            "print long(null), real(nan), guid(74be27de-1e4e-49d9-b579-fe0b331d3642), bool(true)",
            "print dynamic([1, 'a', {\"k\": [2]}]), dynamic(null), dynamic({})",
            "print 'a' 'b' \"c\"",
            "T | project ['a b'] = 1, x = c['k'], y = c.k[0], z = c[-1]",
        ] {
            fmt(q);
        }
        assert_eq!(fmt("print 'a' 'b'"), "print \"ab\"\n");
    }

    #[test]
    fn precedence_follows_kusto() {
        let e = parse_expr("a or b and c == 1 + 2 * 3").unwrap();
        let Expr::Binary { op, rhs, .. } = e else {
            panic!()
        };
        assert_eq!(op, "or");
        let Expr::Binary { op, rhs, .. } = *rhs else {
            panic!()
        };
        assert_eq!(op, "and");
        let Expr::Binary { op, rhs, .. } = *rhs else {
            panic!()
        };
        assert_eq!(op, "==");
        let Expr::Binary { op, .. } = *rhs else {
            panic!()
        };
        assert_eq!(op, "+");
    }

    #[test]
    fn string_operators_and_negations() {
        let q =
            "T | where a !has 'x' and b has_cs 'y' and c !contains_cs 'z' and d matches regex 'r' \
                 and e in~ ('a') and f !in~ ('b') and g !between (1 .. 2) and h !startswith 'p'";
        assert_eq!(parse(q).unwrap(), parse(&fmt(q)).unwrap());
    }

    #[test]
    fn comments_stay_with_their_operator() {
        let q = "// hunt\nT\n// keep only bad\n| where x == 1 // trailing\n| project x";
        assert_eq!(
            fmt(q),
            "// hunt\nT\n// keep only bad\n| where x == 1\n// trailing\n| project x\n"
        );
    }

    #[test]
    fn rejects_what_kusto_rejects_in_declarations_and_datatables() {
        for bad in [
            "print last = 1",
            "T | extend missing = 1",
            "T | parse s with first:string",
            "datatable(a:real)[1.0/0.0]",
            "datatable(a:string)[null]",
            "datatable(a:string)[string(null)]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for good in [
            "print ['last'] = 1",
            "datatable(a:long, b:dynamic, c:timespan)[-1, dynamic(null), time(null), +2, dynamic([1]), 1d]",
            "datatable(a:long)[long(null)]",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn errors_have_positions_and_hints() {
        let errs = parse("let x = 1\nT | where").unwrap_err();
        let first = errs[0].render("let x = 1\nT | where", "q.kql");
        assert!(first.contains("q.kql:2:1"), "{first}");
        assert!(first.contains("after a let statement"), "{first}");
        let errs = parse("T | wher x == 1 | projec y").unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].message.contains("unknown query operator `wher`"));
    }

    /// Found by the fuzzer: `(A,)` was a one-element list that printed as `(A)`.
    #[test]
    fn trailing_comma_in_a_list_is_rejected_like_kusto_does() {
        assert!(parse("print (A,)").is_err());
        assert!(parse("T | where x in ('a', 'b',)").is_err());
        assert!(parse("T | where x in ('a', 'b')").is_ok());
    }

    /// Found by the fuzzer: member access on a number printed as `0.E`, a real and a name.
    #[test]
    fn member_of_a_number_round_trips() {
        for q in ["print 0\u{feff}.E", "print 0 .E", "print 1.5 .x"] {
            let ast = parse(q).unwrap();
            assert_eq!(parse(&format_query(&ast)).unwrap(), ast, "{q}");
        }
    }

    /// Found by the differential fuzz against Kusto's parser: both are rejected by Kusto.
    #[test]
    fn untyped_schema_and_trailing_call_comma_are_rejected() {
        assert!(parse("datatable(i)[1]").is_err());
        assert!(parse("datatable(i:long, g)[1, 2]").is_err());
        assert!(parse("print make_timespan(2, )").is_err());
        assert!(parse("print now()").is_ok());
    }

    /// Found by the fuzzer: `union` used as a name printed back as the union operator.
    #[test]
    fn names_spelled_like_source_operators_round_trip() {
        let q = "s-union\x0clet+\r\runion-+\runion\runion\x0c\n1-1-1";
        if let Ok(ast) = parse(q) {
            assert_eq!(parse(&format_query(&ast)).unwrap(), ast);
        }
        for q in [
            "print union[\"let\"]",
            "T | extend x = search + 1",
            "print ['print'] = 1",
        ] {
            let ast = parse(q).unwrap();
            assert_eq!(parse(&format_query(&ast)).unwrap(), ast, "{q}");
        }
    }

    /// Found by the fuzzer: union inside arithmetic printed back differently.
    #[test]
    fn source_operators_start_pipelines_not_operands() {
        let q = "----0--0-union-2-\n-50----0--0-union-2-\n--50--0,union-0,union=-*";
        if let Ok(ast) = parse(q) {
            assert_eq!(parse(&format_query(&ast)).unwrap(), ast);
        }
        assert!(matches!(
            parse_expr("s - union").unwrap(),
            Expr::Binary { .. }
        ));
        assert!(matches!(parse_expr("union A, B").unwrap(), Expr::Source(_)));
        assert!(
            parse("T | join (union A, B) on x | join kind=inner datatable(x:long)[1] on x").is_ok()
        );
    }

    /// Found by the fuzzer: an expression as a pipeline's source was printed in parentheses.
    #[test]
    fn expression_source_round_trips() {
        let q = "e-dis|project-reordersi|sample-dimple-j";
        let ast = parse(q).unwrap();
        assert_eq!(parse(&format_query(&ast)).unwrap(), ast);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let q = format!("print {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&q).unwrap_err()[0]
            .message
            .contains("nests too deeply"));
        let q = format!("print {}1", "-".repeat(5000));
        assert!(parse(&q).is_err());
    }
}
