//! Markdown in the reference report's layout. The IOC Summary is shared by
//! `iochunt iocs --format md` and `generate`'s report.md, so both print the same block.

use ioc::{defang, Indicator, IndicatorSet};

/// The `Malware Family: ... Total IOCs: N IOC Types: ...` line.
pub fn ioc_summary_line(set: &IndicatorSet) -> String {
    let families = set.families();
    let families = if families.is_empty() {
        "unknown".to_string()
    } else {
        families.join(", ")
    };
    let kinds: Vec<&str> = set.kind_counts().iter().map(|(k, _)| k.name()).collect();
    format!(
        "Malware Family: {families} Total IOCs: {} IOC Types: {}",
        set.len(),
        kinds.join(", ")
    )
}

/// The IOC table, one row an indicator in the set's order.
pub fn ioc_table(set: &IndicatorSet, defanged: bool) -> String {
    let mut out = String::from(
        "| Type | Value | Threat Type | First Seen | Confidence |\n|---|---|---|---|---|\n",
    );
    for ind in set {
        out.push_str(&ioc_row(ind, defanged));
    }
    out
}

fn ioc_row(ind: &Indicator, defanged: bool) -> String {
    let value = if defanged {
        defang(&ind.value, ind.kind)
    } else {
        ind.value.clone()
    };
    format!(
        "| {} | {} | {} | {} | {} |\n",
        ind.kind,
        md_cell(&value),
        md_cell(ind.threat_type.as_deref().unwrap_or("")),
        ind.first_seen.map(|t| t.date()).unwrap_or_default(),
        ind.confidence.map(|c| format!("{c}%")).unwrap_or_default(),
    )
}

/// The whole "IOC Summary" block: heading line, summary line and table.
pub fn ioc_summary(set: &IndicatorSet, defanged: bool) -> String {
    format!(
        "IOC Summary\n{}\n{}",
        ioc_summary_line(set),
        ioc_table(set, defanged)
    )
}

/// Escapes text for a Markdown table cell: bars and backticks, angle brackets (autolinks and
/// HTML) and `](` (a link), so that log or feed text cannot change the table. Defanged
/// values such as `91[.]92` are left readable.
pub fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = '\0';
    for c in s.chars() {
        match c {
            '|' | '`' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '(' if prev == ']' => out.push_str("\\("),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
        prev = c;
    }
    out
}

/// The report in the reference's order: description, IOC Summary, hunts, the tables they
/// need, indicators left out, and (when given) the false-positive scenarios.
pub fn pack_report(
    pack: &crate::pack::Pack,
    set: &IndicatorSet,
    source: &str,
    scenarios: Option<&str>,
) -> String {
    let mut out = format!("# {} IOC hunt\n\n", pack.family);
    let threats: Vec<&str> = {
        let mut t: Vec<&str> = Vec::new();
        for i in set {
            if let Some(x) = i.threat_type.as_deref() {
                if !t.contains(&x) {
                    t.push(x);
                }
            }
        }
        t
    };
    out.push_str(&format!(
        "This pack hunts for {} activity with the {} indicators {} published ({}). A match \
         means a host resolved, contacted or fetched known {} infrastructure, or ran one of \
         its files: treat it as a possible compromise, confirm it, and contain the host.\n\n",
        pack.family,
        set.len(),
        source,
        if threats.is_empty() {
            "no threat type given".to_string()
        } else {
            threats.join(", ")
        },
        pack.family,
    ));
    out.push_str("## IOC Summary\n\n");
    out.push_str(&ioc_summary_line(set));
    out.push_str("\n\n");
    out.push_str(&ioc_table(set, true));
    out.push_str("\n## Hunting queries\n\n");
    for h in &pack.hunts {
        out.push_str(&format!("### {}\n\n", h.title));
        out.push_str(&format!("`hunts/{}.kql`, table `{}`.\n\n", h.name, h.table));
        out.push_str("```kql\n");
        out.push_str(&h.text());
        out.push_str("\n```\n\n");
    }
    out.push_str("## Sentinel tables\n\n| Sentinel Table | Notes |\n|---|---|\n");
    let mut tables: Vec<&str> = Vec::new();
    for h in &pack.hunts {
        if !tables.contains(&h.table) {
            tables.push(h.table);
        }
    }
    for t in tables {
        let (_, name) = crate::pack::connector(t);
        out.push_str(&format!("| {t} | Needs the {name} data connector |\n"));
    }
    if !pack.left_out.is_empty() {
        out.push_str("\n## Indicators left out\n\n");
        out.push_str("Flagged as likely false positives; `--include-flagged` keeps them.\n\n");
        out.push_str("| Type | Value | Reason |\n|---|---|---|\n");
        for (i, why) in &pack.left_out {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                i.kind,
                md_cell(&defang(&i.value, i.kind)),
                md_cell(why)
            ));
        }
    }
    if let Some(s) = scenarios {
        out.push_str("\n## False-positive scenarios\n\n");
        out.push_str(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_cell_neutralises_tables_links_and_code() {
        assert_eq!(md_cell("a|b`c"), "a\\|b\\`c");
        assert_eq!(md_cell("[x](http://e)"), "[x]\\(http://e)");
        assert_eq!(md_cell("91[.]92[.]34[.]228"), "91[.]92[.]34[.]228");
        assert_eq!(md_cell("<script>"), "\\<script\\>");
    }
}
