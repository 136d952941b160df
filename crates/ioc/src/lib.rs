//! Threat-intel indicators: the model, refanging and validation, feed readers and merging.
//!
//! A feed is read into [`Indicator`]s and [`Rejection`]s (every entry is one or the other),
//! and an [`IndicatorSet`] merges indicators seen in several feeds into one entry each.

pub mod feed;
mod flags;
mod indicator;
mod merge;
mod normalize;
mod refang;
mod time;

pub use feed::{read_feed_bytes, read_feed_into, FeedError, FeedFormat, FeedRead, FeedSummary};
pub use flags::flag_reasons;
pub use indicator::{Indicator, Kind, Malware, Origin, Rejection};
pub use merge::IndicatorSet;
pub use normalize::{infer_kind, normalize, parse_declared_kind};
pub use refang::{defang, refang};
pub use time::Timestamp;
