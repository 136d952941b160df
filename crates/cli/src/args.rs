//! Command-line flags for every subcommand.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Turn threat-intel indicators into Microsoft Sentinel hunts, and run them offline.
///
/// iochunt reads indicator feeds (ThreatFox, STIX 2.1, MISP, Markdown IOC tables, plain
/// text), writes KQL hunts and Sentinel analytics rules for them, and runs those same hunts
/// over exported logs with its own KQL engine.
#[derive(Parser, Debug)]
#[command(
    name = "iochunt",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub verbosity: Verbosity,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct Verbosity {
    /// Say more on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Say less on stderr: only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read indicator feeds, refang and validate them, and print the merged set
    Iocs(IocsArgs),
    /// Hunt: run a pack's hunts over exported logs and report the findings (with no input,
    /// runs on the bundled sample data)
    Hunt(HuntArgs),
    /// Write the hunting content for a set of indicators: KQL hunts, Sentinel rules, report
    Generate(GenerateArgs),
    /// Check false-positive scenarios: inverted logic, hiding the family's own processes,
    /// conditions that never hold, unknown fields, weak keys
    Lint(LintArgs),
    /// Run a KQL query over exported logs (or over datatable/print/range alone)
    Query(QueryArgs),
    /// Check a KQL query's syntax and print it in iochunt's canonical layout
    Fmt(FmtArgs),
}

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// The query file, or `-` for standard input
    #[arg(default_value = "-", value_name = "FILE")]
    pub file: String,
}

/// How feeds are read and which indicators are kept; shared by the commands that take feeds.
#[derive(Args, Debug, Clone)]
pub struct FeedArgs {
    /// Force a feed format instead of detecting it from the content
    #[arg(long, value_name = "FORMAT", value_parser = feed_format_names())]
    pub feed_format: Option<String>,
    /// Make any rejected feed entry, or malformed log row, an error (exit 2)
    #[arg(long)]
    pub strict: bool,
    /// Keep only indicators of this family (name, ThreatFox id or alias)
    #[arg(long, value_name = "NAME")]
    pub malware: Option<String>,
    /// Keep only indicators of these kinds (domain, url, ipv4, ipv6, ip:port, md5, sha1, sha256)
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Keep only indicators with at least this confidence (0-100)
    #[arg(long, value_name = "N")]
    pub min_confidence: Option<u8>,
    /// Remove indicators flagged as likely false positives (private IPs, benign domains, ...)
    #[arg(long)]
    pub drop_flagged: bool,
}

fn feed_format_names() -> Vec<&'static str> {
    ioc::FeedFormat::ALL.iter().map(|f| f.name()).collect()
}

#[derive(Args, Debug)]
pub struct IocsArgs {
    /// Feed files (ThreatFox JSON/CSV/API, STIX 2.1, MISP, Markdown IOC table, plain text)
    #[arg(required = true, value_name = "FEED")]
    pub feeds: Vec<PathBuf>,
    #[command(flatten)]
    pub feed: FeedArgs,
    /// Keep only indicators seen on or after this date (YYYY-MM-DD or a full timestamp)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = IocFormat::Table)]
    pub format: IocFormat,
    /// Defang URLs and IP addresses in the output (table, csv, md)
    #[arg(long)]
    pub defang: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IocFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    Md,
}

/// Exported log files bound to table names.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// A folder whose files (or sub-folders) are named after tables: DnsEvents.jsonl,
    /// CommonSecurityLog.csv.gz, DeviceNetworkEvents/
    #[arg(long, value_name = "DIR")]
    pub data: Vec<PathBuf>,
    /// Bind one file or folder to a table
    #[arg(long, value_name = "NAME=PATH")]
    pub table: Vec<String>,
    /// How CSV dates such as 01/02/2026 read: day first (dmy) or month first (mdy); by
    /// default inferred per column, with a warning when the values leave it open
    #[arg(long, value_enum, value_name = "ORDER")]
    pub date_order: Option<DateOrder>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    Dmy,
    Mdy,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The query text (use `@FILE` to read it from a file)
    #[arg(value_name = "KQL")]
    pub query: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Make malformed input rows an error instead of counting them
    #[arg(long)]
    pub strict: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    pub format: QueryFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryFormat {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Feed files
    #[arg(required = true, value_name = "FEED")]
    pub feeds: Vec<PathBuf>,
    #[command(flatten)]
    pub feed: FeedArgs,
    /// Output folder (hunts/, rules/, report.md)
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// The source named in hunt comments (default: ThreatFox for ThreatFox feeds)
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Keep indicators flagged as likely false positives in hunts and rules
    #[arg(long)]
    pub include_flagged: bool,
    /// Keep only indicators seen on or after this date (YYYY-MM-DD or a full timestamp)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    #[command(flatten)]
    pub exclusions: ExclusionArgs,
}

#[derive(Args, Debug)]
pub struct HuntArgs {
    /// Feed files (none, with no --data either: the bundled sample)
    #[arg(value_name = "FEED")]
    pub feeds: Vec<PathBuf>,
    #[command(flatten)]
    pub feed: FeedArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = HuntFormat::Table)]
    pub format: HuntFormat,
    /// Write the findings to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only events at or after this time (YYYY-MM-DD or a full timestamp)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this time
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The source named in hunt comments (default: ThreatFox for ThreatFox feeds)
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Keep indicators flagged as likely false positives
    #[arg(long)]
    pub include_flagged: bool,
    #[command(flatten)]
    pub exclusions: ExclusionArgs,
    /// List suppressed findings too (table and md output; jsonl and csv always hold them)
    #[arg(long)]
    pub show_suppressed: bool,
}

/// False-positive scenarios to apply.
#[derive(Args, Debug, Clone)]
pub struct ExclusionArgs {
    /// A scenario file: the reference's text layout (Scenario:/Description:/Filter/Exclusion:)
    /// or YAML (name, description, exclude)
    #[arg(long = "exclusions", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Apply scenarios that lint rejects (an error) too
    #[arg(long)]
    pub force_exclusions: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuntFormat {
    Table,
    Jsonl,
    Csv,
    Md,
}

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Scenario files, and optionally feeds (for the family and the hunts)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    Text,
    Json,
}
