//! The KQL front end: lexer, parser, AST with source spans, diagnostics and formatter.
//!
//! `kql` checks syntax only: it knows nothing of tables, columns or functions, so a query
//! that calls a workspace function or an ASIM parser parses like any other.

pub mod ast;
mod diag;
mod format;
mod lexer;
mod parser;

pub use ast::*;
pub use diag::Diagnostic;
pub use format::{format_query, string_literal};
pub use parser::{parse, parse_expr};
