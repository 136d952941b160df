//! False-positive scenarios and their exclusion language.
//!
//! A scenario has a name, a description and an exclusion written over ECS-style fields, as
//! the reference writes them: `process.name == "NetSupportManager.exe" AND
//! process.parent.name == "schtasks.exe"`. The language has dotted field names, `==`, `!=`,
//! `AND`, `OR`, `NOT`, parentheses, double-quoted strings, `in ("a", "b")`, and `contains`,
//! `startswith`, `endswith` for paths. Each exclusion compiles to one KQL predicate over a
//! table's columns ([`FIELD_MAP`]); a scenario that uses a field a table lacks does not
//! apply to that table's hunts.
//!
//! Windows file, process, host and account names compare without case (`=~`, `in~`), as
//! Windows treats them; other fields compare exactly.

use std::fmt;

/// An exclusion condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `field op "value"`: op is `==`, `!=`, `contains`, `startswith`, `endswith`.
    Cmp {
        field: String,
        op: String,
        value: String,
    },
    /// `field in ("a", ...)`; `negated` for `NOT field in (...)` written as `!in`.
    In {
        field: String,
        values: Vec<String>,
    },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

/// A parse error: what was wrong, at which 1-based column of the exclusion text.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// A false-positive scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The exclusion as written.
    pub exclude: String,
    /// Where it was read: file and line of its name.
    pub origin: String,
}

impl Scenario {
    pub fn condition(&self) -> Result<Cond, ExprError> {
        parse(&self.exclude)
    }
}

// ---- the language ----

#[derive(Debug, PartialEq, Clone)]
enum Tok {
    Field(String),
    Str(String),
    Op(&'static str),
    Word(String),
    LParen,
    RParen,
    Comma,
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut v = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ExprError {
                            column: col,
                            message: "unterminated string".into(),
                        })
                    }
                    Some('\\') if matches!(chars.get(i + 1), Some('"') | Some('\\')) => {
                        v.push(chars[i + 1]);
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        v.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push((Tok::Str(v), col));
        } else if c == '(' {
            out.push((Tok::LParen, col));
            i += 1;
        } else if c == ')' {
            out.push((Tok::RParen, col));
            i += 1;
        } else if c == ',' {
            out.push((Tok::Comma, col));
            i += 1;
        } else if c == '=' && chars.get(i + 1) == Some(&'=') {
            out.push((Tok::Op("=="), col));
            i += 2;
        } else if c == '!' && chars.get(i + 1) == Some(&'=') {
            out.push((Tok::Op("!="), col));
            i += 2;
        } else if c.is_alphanumeric() || c == '_' || c == '@' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-' | '@'))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = match word.to_ascii_lowercase().as_str() {
                "and" | "or" | "not" | "in" | "contains" | "startswith" | "endswith" => {
                    Tok::Word(word.to_ascii_lowercase())
                }
                _ => Tok::Field(word),
            };
            out.push((tok, col));
        } else {
            return Err(ExprError {
                column: col,
                message: format!("unexpected character {c:?}"),
            });
        }
    }
    Ok(out)
}

/// Parses an exclusion.
pub fn parse(text: &str) -> Result<Cond, ExprError> {
    let toks = lex(text)?;
    let mut p = P {
        toks,
        pos: 0,
        end: text.chars().count() + 1,
    };
    let c = p.or()?;
    if let Some((t, col)) = p.toks.get(p.pos) {
        return Err(ExprError {
            column: *col,
            message: format!("unexpected {} after a complete condition", describe(t)),
        });
    }
    Ok(c)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Field(f) => format!("`{f}`"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Word(w) => format!("`{}`", w.to_uppercase()),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
    }
}

struct P {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, c)| *c)
    }

    fn err<T>(&self, what: &str) -> Result<T, ExprError> {
        let found = self.peek().map_or_else(|| "the end".to_string(), describe);
        Err(ExprError {
            column: self.col(),
            message: format!("expected {what}, found {found}"),
        })
    }

    fn word(&mut self, w: &str) -> bool {
        if self.peek() == Some(&Tok::Word(w.into())) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Cond, ExprError> {
        let mut parts = vec![self.and()?];
        while self.word("or") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond, ExprError> {
        let mut parts = vec![self.unary()?];
        while self.word("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Cond, ExprError> {
        if self.word("not") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                return self.err("`)`");
            }
            self.pos += 1;
            return Ok(c);
        }
        let field = match self.peek() {
            Some(Tok::Field(f)) => f.clone(),
            _ => return self.err("a field name such as process.name"),
        };
        self.pos += 1;
        let op = match self.peek() {
            Some(Tok::Op(o)) => o.to_string(),
            Some(Tok::Word(w))
                if matches!(w.as_str(), "contains" | "startswith" | "endswith" | "in") =>
            {
                w.clone()
            }
            _ => return self.err("`==`, `!=`, `in`, `contains`, `startswith` or `endswith`"),
        };
        self.pos += 1;
        if op == "in" {
            if self.peek() != Some(&Tok::LParen) {
                return self.err("`(` after `in`");
            }
            self.pos += 1;
            let mut values = Vec::new();
            loop {
                match self.peek() {
                    Some(Tok::Str(s)) => values.push(s.clone()),
                    _ => return self.err("a double-quoted string"),
                }
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.err("`,` or `)`"),
                }
            }
            return Ok(Cond::In { field, values });
        }
        let value = match self.peek() {
            Some(Tok::Str(s)) => s.clone(),
            _ => return self.err("a double-quoted string"),
        };
        self.pos += 1;
        Ok(Cond::Cmp { field, op, value })
    }
}

impl fmt::Display for Cond {
    /// The exclusion in its own language, with parentheses where precedence needs them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        match self {
            Cond::Cmp { field, op, value } => write!(f, "{field} {op} {}", q(value)),
            Cond::In { field, values } => {
                write!(
                    f,
                    "{field} in ({})",
                    values.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
                )
            }
            Cond::And(parts) => {
                let s: Vec<String> = parts
                    .iter()
                    .map(|p| {
                        if matches!(p, Cond::Or(_)) {
                            format!("({p})")
                        } else {
                            p.to_string()
                        }
                    })
                    .collect();
                write!(f, "{}", s.join(" AND "))
            }
            Cond::Or(parts) => write!(
                f,
                "{}",
                parts
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ),
            Cond::Not(inner) => match inner.as_ref() {
                c @ (Cond::And(_) | Cond::Or(_)) => write!(f, "NOT ({c})"),
                c => write!(f, "NOT {c}"),
            },
        }
    }
}

impl Cond {
    /// Every field the condition uses, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.visit_fields(&mut |f| {
            if !out.contains(&f) {
                out.push(f)
            }
        });
        out
    }

    fn visit_fields<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match self {
            Cond::Cmp { field, .. } | Cond::In { field, .. } => f(field),
            Cond::And(ps) | Cond::Or(ps) => ps.iter().for_each(|p| p.visit_fields(f)),
            Cond::Not(p) => p.visit_fields(f),
        }
    }
}

// ---- the field mapping ----

/// ECS-style fields and the column each table has for them. A table missing from a field's
/// list does not have that field; a scenario using it does not apply to that table's hunts.
pub const FIELD_MAP: &[(&str, &[(&str, &str)])] = &[
    (
        "process.name",
        &[
            ("DeviceNetworkEvents", "InitiatingProcessFileName"),
            ("DeviceFileEvents", "InitiatingProcessFileName"),
            ("DeviceProcessEvents", "FileName"),
        ],
    ),
    (
        "process.parent.name",
        &[
            ("DeviceNetworkEvents", "InitiatingProcessParentFileName"),
            ("DeviceFileEvents", "InitiatingProcessParentFileName"),
            ("DeviceProcessEvents", "InitiatingProcessFileName"),
        ],
    ),
    (
        "process.command_line",
        &[
            ("DeviceNetworkEvents", "InitiatingProcessCommandLine"),
            ("DeviceProcessEvents", "ProcessCommandLine"),
        ],
    ),
    (
        "process.executable",
        &[
            ("DeviceNetworkEvents", "InitiatingProcessFolderPath"),
            ("DeviceProcessEvents", "FolderPath"),
        ],
    ),
    (
        "process.user",
        &[
            ("DeviceNetworkEvents", "InitiatingProcessAccountName"),
            ("DeviceFileEvents", "InitiatingProcessAccountName"),
            ("DeviceProcessEvents", "AccountName"),
        ],
    ),
    (
        "user.name",
        &[
            ("DeviceNetworkEvents", "InitiatingProcessAccountName"),
            ("DeviceFileEvents", "InitiatingProcessAccountName"),
            ("DeviceProcessEvents", "AccountName"),
            ("CommonSecurityLog", "SourceUserName"),
            ("UrlClickEvents", "AccountUpn"),
            ("ASimNetworkSessionLogs", "SrcUsername"),
            ("ASimWebSessionLogs", "SrcUsername"),
        ],
    ),
    (
        "host.name",
        &[
            ("DeviceNetworkEvents", "DeviceName"),
            ("DeviceFileEvents", "DeviceName"),
            ("DeviceProcessEvents", "DeviceName"),
            ("DnsEvents", "Computer"),
            ("ASimDnsActivityLogs", "Dvc"),
            ("ASimNetworkSessionLogs", "Dvc"),
            ("ASimWebSessionLogs", "Dvc"),
        ],
    ),
    (
        "source.ip",
        &[
            ("CommonSecurityLog", "SourceIP"),
            ("DeviceNetworkEvents", "LocalIP"),
            ("DnsEvents", "ClientIP"),
            ("ASimDnsActivityLogs", "SrcIpAddr"),
            ("ASimNetworkSessionLogs", "SrcIpAddr"),
            ("ASimWebSessionLogs", "SrcIpAddr"),
        ],
    ),
    (
        "destination.ip",
        &[
            ("CommonSecurityLog", "DestinationIP"),
            ("DeviceNetworkEvents", "RemoteIP"),
            ("ASimNetworkSessionLogs", "DstIpAddr"),
            ("ASimWebSessionLogs", "DstIpAddr"),
        ],
    ),
    (
        "destination.port",
        &[
            ("CommonSecurityLog", "DestinationPort"),
            ("DeviceNetworkEvents", "RemotePort"),
            ("ASimNetworkSessionLogs", "DstPortNumber"),
        ],
    ),
    (
        "destination.domain",
        &[
            ("CommonSecurityLog", "DestinationHostName"),
            ("DeviceNetworkEvents", "RemoteUrl"),
        ],
    ),
    (
        "url.full",
        &[
            ("UrlClickEvents", "Url"),
            ("CommonSecurityLog", "RequestURL"),
            ("DeviceNetworkEvents", "RemoteUrl"),
            ("ASimWebSessionLogs", "Url"),
        ],
    ),
    (
        "dns.question.name",
        &[("DnsEvents", "Name"), ("ASimDnsActivityLogs", "DnsQuery")],
    ),
    (
        "file.name",
        &[
            ("DeviceFileEvents", "FileName"),
            ("DeviceProcessEvents", "FileName"),
        ],
    ),
    (
        "file.path",
        &[
            ("DeviceFileEvents", "FolderPath"),
            ("DeviceProcessEvents", "FolderPath"),
        ],
    ),
    (
        "file.hash.sha256",
        &[
            ("DeviceFileEvents", "SHA256"),
            ("DeviceProcessEvents", "SHA256"),
        ],
    ),
    (
        "event.action",
        &[
            ("CommonSecurityLog", "DeviceAction"),
            ("DeviceNetworkEvents", "ActionType"),
            ("UrlClickEvents", "ActionType"),
            ("ASimNetworkSessionLogs", "DvcAction"),
        ],
    ),
];

/// Fields whose values are Windows names, compared without case.
const CASELESS: &[&str] = &[
    "process.name",
    "process.parent.name",
    "process.user",
    "user.name",
    "host.name",
    "file.name",
    "file.path",
    "process.executable",
];

pub fn is_known_field(field: &str) -> bool {
    FIELD_MAP.iter().any(|(f, _)| *f == field)
}

/// The column a table has for a field.
pub fn column_for(field: &str, table: &str) -> Option<&'static str> {
    FIELD_MAP
        .iter()
        .find(|(f, _)| *f == field)?
        .1
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, c)| *c)
}

/// The fields of `cond` that `table` lacks.
pub fn missing_fields<'a>(cond: &'a Cond, table: &str) -> Vec<&'a str> {
    cond.fields()
        .into_iter()
        .filter(|f| column_for(f, table).is_none())
        .collect()
}

/// The KQL predicate for `cond` over `table`'s columns, or the fields the table lacks.
pub fn to_kql(cond: &Cond, table: &str) -> Result<String, Vec<String>> {
    let missing = missing_fields(cond, table);
    if !missing.is_empty() {
        return Err(missing.into_iter().map(str::to_string).collect());
    }
    Ok(kql_of(cond, table, false))
}

fn kql_of(c: &Cond, table: &str, nested: bool) -> String {
    let lit = |s: &str| kql::string_literal(s);
    let col = |f: &str| column_for(f, table).unwrap_or("?");
    let caseless = |f: &str| CASELESS.contains(&f);
    match c {
        Cond::Cmp { field, op, value } => {
            let kop = match (op.as_str(), caseless(field)) {
                ("==", true) => "=~",
                ("==", false) => "==",
                ("!=", true) => "!~",
                ("!=", false) => "!=",
                (other, _) => other,
            };
            format!("{} {kop} {}", col(field), lit(value))
        }
        Cond::In { field, values } => {
            let op = if caseless(field) { "in~" } else { "in" };
            format!(
                "{} {op} ({})",
                col(field),
                values.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ")
            )
        }
        Cond::And(ps) => {
            let s = ps
                .iter()
                .map(|p| kql_of(p, table, true))
                .collect::<Vec<_>>()
                .join(" and ");
            if nested {
                format!("({s})")
            } else {
                s
            }
        }
        Cond::Or(ps) => {
            let s = ps
                .iter()
                .map(|p| kql_of(p, table, true))
                .collect::<Vec<_>>()
                .join(" or ");
            if nested {
                format!("({s})")
            } else {
                s
            }
        }
        Cond::Not(p) => format!("not({})", kql_of(p, table, false)),
    }
}

// ---- reading and writing scenario files ----

/// Reads scenarios from the reference's text layout (`Scenario:`, `Description:`,
/// `Filter/Exclusion:` lines) or from YAML (a list of `name`, `description`, `exclude`).
pub fn read(text: &str, path: &str) -> Result<Vec<Scenario>, String> {
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("Scenario:"))
    {
        return Ok(read_text(text, path));
    }
    crate::yaml::read_scenarios(text, path)
}

fn read_text(text: &str, path: &str) -> Vec<Scenario> {
    let mut out: Vec<Scenario> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(name) = l.strip_prefix("Scenario:") {
            out.push(Scenario {
                name: name.trim().to_string(),
                description: String::new(),
                exclude: String::new(),
                origin: format!("{path}:{}", n + 1),
            });
        } else if let (Some(s), Some(d)) = (out.last_mut(), l.strip_prefix("Description:")) {
            s.description = d.trim().to_string();
        } else if let (Some(s), Some(e)) = (
            out.last_mut(),
            l.strip_prefix("Filter/Exclusion:")
                .or_else(|| l.strip_prefix("Filter:"))
                .or_else(|| l.strip_prefix("Exclusion:")),
        ) {
            s.exclude = e.trim().to_string();
        }
    }
    out
}

/// The scenarios in the reference's text layout.
pub fn write_text(scenarios: &[Scenario]) -> String {
    scenarios
        .iter()
        .map(|s| {
            format!(
                "Scenario: {}\nDescription: {}\nFilter/Exclusion: {}\n",
                s.name, s.description, s.exclude
            )
        })
        .collect()
}

/// The scenarios as YAML.
pub fn write_yaml(scenarios: &[Scenario]) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut out = String::from(
        "# False-positive scenarios for iochunt (iochunt hunt --exclusions FILE)\nscenarios:\n",
    );
    for s in scenarios {
        out.push_str(&format!(
            "  - name: {}\n    description: {}\n    exclude: {}\n",
            q(&s.name),
            q(&s.description),
            q(&s.exclude)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(f: &str, op: &str, v: &str) -> Cond {
        Cond::Cmp {
            field: f.into(),
            op: op.into(),
            value: v.into(),
        }
    }

    #[test]
    fn parses_the_reference_syntax_with_precedence() {
        let c = parse(r#"process.name != "NetSupportManager.exe" OR process.parent.name == "explorer.exe" AND process.user == "IT_Admin""#).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                cmp("process.name", "!=", "NetSupportManager.exe"),
                Cond::And(vec![
                    cmp("process.parent.name", "==", "explorer.exe"),
                    cmp("process.user", "==", "IT_Admin")
                ]),
            ])
        );
    }

    #[test]
    fn parses_in_not_parens_and_path_operators() {
        let c = parse(r#"NOT (file.path startswith "C:\\Program Files" OR process.name in ("a.exe", "b.exe")) and url.full contains "x""#).unwrap();
        assert_eq!(c.fields(), vec!["file.path", "process.name", "url.full"]);
        assert_eq!(
            parse(&c.to_string()).unwrap(),
            c,
            "printing then parsing gives the same condition"
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = parse(r#"process.name = "x""#).unwrap_err();
        assert_eq!(e.column, 14, "{e}");
        let e = parse(r#"process.name == "x" AND"#).unwrap_err();
        assert_eq!(e.column, 24);
        assert!(e.message.contains("field name"), "{e}");
        let e = parse(r#"(process.name == "x""#).unwrap_err();
        assert!(e.message.contains("`)`"), "{e}");
        assert_eq!(
            parse(r#"process.name == "x"#).unwrap_err().message,
            "unterminated string"
        );
        assert!(parse(r#"process.name in ()"#).is_err());
    }

    #[test]
    fn compiles_to_kql_per_table_with_windows_names_caseless() {
        let c = parse(r#"process.name == "NetSupportManager.exe" AND process.parent.name == "schtasks.exe" AND destination.port != "443""#).unwrap();
        assert_eq!(
            to_kql(&c, "DeviceNetworkEvents").unwrap(),
            r#"InitiatingProcessFileName =~ "NetSupportManager.exe" and InitiatingProcessParentFileName =~ "schtasks.exe" and RemotePort != "443""#
        );
        assert_eq!(
            to_kql(&c, "DnsEvents").unwrap_err(),
            vec!["process.name", "process.parent.name", "destination.port"]
        );
        let c = parse(r#"NOT (user.name in ("a", "B") OR url.full endswith ".txt")"#).unwrap();
        assert_eq!(
            to_kql(&c, "UrlClickEvents").unwrap(),
            r#"not(AccountUpn in~ ("a", "B") or Url endswith ".txt")"#
        );
    }

    #[test]
    fn mapped_columns_exist_in_the_schemas() {
        for (field, cols) in FIELD_MAP {
            for (table, col) in *cols {
                let schema = engine::schema_of(table).unwrap_or_else(|| panic!("{table}"));
                assert!(
                    schema.iter().any(|c| c.name == *col),
                    "{field}: {table}.{col}"
                );
            }
        }
    }

    #[test]
    fn reads_the_reference_layout_and_round_trips_yaml() {
        let text = "Scenario: One\nDescription: First.\nFilter/Exclusion: process.name == \"a.exe\"\nScenario: Two's\nDescription: Second: with colon\nFilter/Exclusion: user.name != \"b\" OR host.name == \"c\"\n";
        let s = read(text, "f.txt").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].origin, "f.txt:4");
        let back = read(&write_yaml(&s), "f.yaml").unwrap();
        assert_eq!(
            back.iter()
                .map(|x| (&x.name, &x.description, &x.exclude))
                .collect::<Vec<_>>(),
            s.iter()
                .map(|x| (&x.name, &x.description, &x.exclude))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            read(&write_text(&s), "g.txt").unwrap()[1].exclude,
            s[1].exclude
        );
    }
}
