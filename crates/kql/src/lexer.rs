//! The KQL lexer. Keywords are contextual in KQL (a column may be called `count` or `type`),
//! so the lexer only makes identifiers; the parser decides what a word means where it stands.
//! Dashed operator names (`mv-expand`) and negated string operators (`!has`, `!in~`) are
//! joined here into one token, since spaces are not allowed inside them.

use crate::ast::Span;
use crate::diag::Diagnostic;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A string literal's value; `obfuscated` for `h"..."`.
    Str(String),
    Int(String),
    Real(String),
    Timespan(String),
    /// Punctuation and symbolic operators, and joined words such as `!has` or `in~`.
    Op(&'static str),
    /// A word operator that needs joining (`!contains_cs`, `in~`, `!in~`).
    WordOp(String),
    Eof,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
    /// True when whitespace or a comment stands right before the token.
    pub spaced: bool,
}

/// A `//` comment: its text after the slashes, and where it starts.
#[derive(Clone, Debug)]
pub struct Comment {
    pub text: String,
    pub start: usize,
}

const DASHED: &[&str] = &[
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "project-smart",
    "mv-expand",
    "mv-apply",
    "parse-where",
    "parse-kv",
    "make-series",
    "top-nested",
    "top-hitters",
    "sample-distinct",
    "make-graph",
    "graph-match",
];

const SYMBOLS: &[&str] = &[
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", "..", "|", "(", ")", "[", "]", "{", "}", ",",
    ";", ".", ":", "=", "<", ">", "+", "-", "*", "/", "%", "?", "@", "~",
];

const TIMESPAN_UNITS: &[&str] = &[
    "microseconds",
    "microsecond",
    "milliseconds",
    "millisecond",
    "nanoseconds",
    "nanosecond",
    "seconds",
    "second",
    "minutes",
    "minute",
    "hours",
    "hour",
    "days",
    "day",
    "ticks",
    "tick",
    "min",
    "ms",
    "d",
    "h",
    "m",
    "s",
];

pub fn lex(src: &str) -> (Vec<Token>, Vec<Comment>, Vec<Diagnostic>) {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        i: 0,
        toks: Vec::new(),
        comments: Vec::new(),
        errs: Vec::new(),
    };
    lx.run();
    (lx.toks, lx.comments, lx.errs)
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    toks: Vec<Token>,
    comments: Vec<Comment>,
    errs: Vec<Diagnostic>,
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$'
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn run(&mut self) {
        let mut spaced = true;
        loop {
            let start = self.i;
            self.skip_trivia();
            spaced |= self.i > start;
            if self.i >= self.b.len() {
                self.toks.push(Token {
                    tok: Tok::Eof,
                    span: Span::new(self.i, self.i),
                    spaced,
                });
                return;
            }
            let start = self.i;
            let tok = self.next_tok();
            self.toks.push(Token {
                tok,
                span: Span::new(start, self.i),
                spaced,
            });
            spaced = false;
        }
    }

    fn skip_trivia(&mut self) {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'/' && self.peek(1) == b'/' {
                let start = self.i;
                let end = self.src[start..]
                    .find('\n')
                    .map_or(self.b.len(), |n| start + n);
                let text = self.src[start + 2..end].trim_end().to_string();
                self.comments.push(Comment { text, start });
                self.i = end;
            } else if self.src[self.i..].starts_with('\u{feff}')
                || self.src[self.i..].starts_with('\u{a0}')
            {
                self.i += self.src[self.i..].chars().next().map_or(1, char::len_utf8);
            } else {
                return;
            }
        }
    }

    fn next_tok(&mut self) -> Tok {
        let c = self.b[self.i];
        let start = self.i;
        // String literals, with their prefixes.
        if (c == b'h' || c == b'H') && matches!(self.peek(1), b'"' | b'\'') {
            self.i += 1;
            return self.string(false);
        }
        if (c == b'h' || c == b'H') && self.peek(1) == b'@' && matches!(self.peek(2), b'"' | b'\'')
        {
            self.i += 2;
            return self.string(true);
        }
        if c == b'@' && matches!(self.peek(1), b'"' | b'\'') {
            self.i += 1;
            return self.string(true);
        }
        if c == b'"' || c == b'\'' {
            return self.string(false);
        }
        if c == b'`' && self.src[self.i..].starts_with("```") {
            self.i += 3;
            return match self.src[self.i..].find("```") {
                Some(n) => {
                    let s = self.src[self.i..self.i + n].to_string();
                    self.i += n + 3;
                    Tok::Str(s)
                }
                None => {
                    self.i = self.b.len();
                    self.errs.push(Diagnostic::new(
                        "unterminated ``` string",
                        Span::new(start, start + 3),
                    ));
                    Tok::Str(String::new())
                }
            };
        }
        if c.is_ascii_digit()
            || (c == b'.' && self.peek(1).is_ascii_digit() && !self.prev_is_operand())
        {
            return self.number();
        }
        if ident_start(c) {
            self.i += 1;
            while self.i < self.b.len() && ident_char(self.b[self.i]) {
                self.i += 1;
            }
            if c == b'$' && self.i == start + 1 {
                return Tok::Op("$");
            }
            // Dashed operator names.
            while self.peek(0) == b'-' && self.peek(1).is_ascii_alphabetic() {
                let mut j = self.i + 1;
                while j < self.b.len() && ident_char(self.b[j]) {
                    j += 1;
                }
                let word = &self.src[start..j];
                if DASHED.iter().any(|d| d.eq_ignore_ascii_case(word)) {
                    self.i = j;
                } else {
                    break;
                }
            }
            let word = &self.src[start..self.i];
            if word == "in" && self.peek(0) == b'~' {
                self.i += 1;
                return Tok::WordOp("in~".into());
            }
            return Tok::Ident(word.to_string());
        }
        if c == b'!' && ident_start(self.peek(1)) && self.peek(1) != b'$' {
            let mut j = self.i + 1;
            while j < self.b.len() && ident_char(self.b[j]) {
                j += 1;
            }
            let word = &self.src[self.i..j];
            self.i = j;
            if word == "!in" && self.peek(0) == b'~' {
                self.i += 1;
                return Tok::WordOp("!in~".into());
            }
            return Tok::WordOp(word.to_string());
        }
        for s in SYMBOLS {
            if self.src[self.i..].starts_with(s) {
                self.i += s.len();
                return Tok::Op(s);
            }
        }
        let ch = self.src[self.i..].chars().next().unwrap_or('?');
        self.i += ch.len_utf8();
        self.errs.push(Diagnostic::new(
            format!("unexpected character {ch:?}"),
            Span::new(start, self.i),
        ));
        Tok::Op("?")
    }

    fn prev_is_operand(&self) -> bool {
        matches!(
            self.toks.last().map(|t| &t.tok),
            Some(Tok::Ident(_) | Tok::Int(_) | Tok::Real(_) | Tok::Op(")") | Tok::Op("]"))
        )
    }

    fn string(&mut self, verbatim: bool) -> Tok {
        let q = self.b[self.i];
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            if self.i >= self.b.len() || (!verbatim && self.b[self.i] == b'\n') {
                self.errs.push(
                    Diagnostic::new("unterminated string literal", Span::new(start, self.i))
                        .with_hint("close the string with the quote it opened with"),
                );
                return Tok::Str(out);
            }
            let c = self.b[self.i];
            if c == q {
                if verbatim && self.peek(1) == q {
                    out.push(q as char);
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return Tok::Str(out);
            }
            if c == b'\\' && !verbatim {
                let e = self.peek(1);
                self.i += 2;
                match e {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'r' => out.push('\r'),
                    b'0' => out.push('\0'),
                    b'\\' => out.push('\\'),
                    b'"' => out.push('"'),
                    b'\'' => out.push('\''),
                    b'u' => {
                        let hex = self.src.get(self.i..self.i + 4).unwrap_or("");
                        match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                            Some(ch) => {
                                out.push(ch);
                                self.i += 4;
                            }
                            None => out.push_str("\\u"),
                        }
                    }
                    0 => {
                        self.i = self.b.len();
                    }
                    other => {
                        self.i -= 1;
                        let ch = self.src[self.i..].chars().next().unwrap_or('?');
                        self.i += ch.len_utf8();
                        out.push('\\');
                        if other != 0 {
                            out.push(ch);
                        }
                    }
                }
                continue;
            }
            let ch = self.src[self.i..].chars().next().unwrap_or('?');
            out.push(ch);
            self.i += ch.len_utf8();
        }
    }

    fn number(&mut self) -> Tok {
        let start = self.i;
        if self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.i += 2;
            while self.peek(0).is_ascii_hexdigit() {
                self.i += 1;
            }
            return Tok::Int(self.src[start..self.i].to_string());
        }
        let mut real = false;
        while self.peek(0).is_ascii_digit() {
            self.i += 1;
        }
        if self.peek(0) == b'.' && self.peek(1) != b'.' {
            real = true;
            self.i += 1;
            while self.peek(0).is_ascii_digit() {
                self.i += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E')
            && (self.peek(1).is_ascii_digit()
                || (matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit()))
        {
            real = true;
            self.i += 2;
            while self.peek(0).is_ascii_digit() {
                self.i += 1;
            }
        }
        if ident_start(self.peek(0)) {
            let mut j = self.i;
            while j < self.b.len() && ident_char(self.b[j]) {
                j += 1;
            }
            let unit = &self.src[self.i..j];
            if TIMESPAN_UNITS.iter().any(|u| u.eq_ignore_ascii_case(unit)) {
                self.i = j;
                return Tok::Timespan(self.src[start..j].to_string());
            }
        }
        let text = self.src[start..self.i].to_string();
        if real {
            Tok::Real(text)
        } else {
            Tok::Int(text)
        }
    }
}
