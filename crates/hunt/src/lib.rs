//! Hunt packs and what surrounds them: KQL hunts generated from indicators, exclusions,
//! findings and the reports that present them.

pub mod exclusion;
pub mod lint;
pub mod pack;
pub mod profile;
pub mod report;
pub mod rules;
pub mod run;
mod yaml;
