//! Tables: named, typed columns and rows, each row with its provenance.

use crate::value::{Type, Value};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: Type,
}

/// Where a row came from: the source file and its 1-based line (or record number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub file: Arc<str>,
    pub line: u64,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub values: Vec<Value>,
    pub provenance: Option<Arc<Provenance>>,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Row {
        Row {
            values,
            provenance: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Table {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Picks a column name not yet in `taken`, by appending 1, 2, ... as Kusto does.
pub fn unique_name(base: &str, taken: &[Column]) -> String {
    if !taken.iter().any(|c| c.name == base) {
        return base.to_string();
    }
    (1..)
        .map(|n| format!("{base}{n}"))
        .find(|n| !taken.iter().any(|c| &c.name == n))
        .unwrap_or_default()
}
