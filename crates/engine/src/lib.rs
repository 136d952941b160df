//! iochunt's KQL engine: Kusto's types and values, scalar functions and aggregates, tabular
//! operators, and table sources (JSON lines, JSON arrays, CSV, gzip) with row provenance.
//!
//! The engine knows nothing of indicators: it runs any query the `kql` crate parses, and
//! fails with a clear error naming any operator or function it does not support.

mod aggregate;
mod arrays;
mod calendar;
mod catalog;
mod classify;
mod combine;
mod csvline;
mod error;
mod eval;
mod exec;
mod expand;
mod functions;
mod grams;
mod jsonarray;
mod jsonrow;
mod lists;
mod parsing;
mod prefilter;
mod ranking;
mod scan;
mod scan_operator;
mod search;
mod series;
mod source;
mod stream;
mod table;
mod teddy;
mod time;
mod value;
mod window;

pub use catalog::{schema_of, Catalog};
pub use error::{EngineError, Result};
pub use exec::{run_query, Evaluator};
pub use prefilter::{derive as derive_prefilter, Prefilter};
pub use source::{Source, SourceStats};
pub use table::{Column, Provenance, Row, Table};
pub use value::{Type, Value};

/// Parses a datetime as KQL's `datetime()` accepts it; ticks (100 ns) since the Unix epoch.
pub fn parse_datetime(text: &str) -> Option<i64> {
    time::parse_datetime(text, None)
}
