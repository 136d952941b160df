//! Engine errors: unsupported features, type errors and bad input, with where they arose.

/// An error running a query.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Query(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("{file}:{line}: {why}")]
    Input {
        file: String,
        line: u64,
        why: String,
    },
    /// A record holds a column the table's schema, read from the first records, lacked;
    /// the catalog then reads every record's columns and the query runs again.
    #[error("table {table}: column {column} turned up after the schema was read")]
    NewColumn { table: String, column: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, EngineError>;

pub fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(EngineError::Query(msg.into()))
}

pub fn unsupported<T>(what: impl Into<String>) -> Result<T> {
    Err(EngineError::Unsupported(what.into()))
}
