//! Hunt packs and what surrounds them: KQL hunts generated from indicators, exclusions,
//! findings and the reports that present them.

pub mod report;
