//! Reading scenario files in YAML. iochunt reads the subset these files need, and says so
//! when a file uses more: a list of mappings (at the top, or under `scenarios:`) whose keys
//! are `name`, `description` and `exclude` (or `filter`), with plain, single-quoted,
//! double-quoted or block (`|`, `>`) scalar values; `#` comments.

use crate::exclusion::Scenario;

fn unquote(v: &str, path: &str, line: usize) -> Result<String, String> {
    let v = v.trim();
    if let Some(rest) = v.strip_prefix('\'') {
        let body = rest
            .strip_suffix('\'')
            .ok_or_else(|| format!("{path}:{line}: unterminated single-quoted string"))?;
        return Ok(body.replace("''", "'"));
    }
    if let Some(rest) = v.strip_prefix('"') {
        let body = rest
            .strip_suffix('"')
            .ok_or_else(|| format!("{path}:{line}: unterminated double-quoted string"))?;
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(o) => out.push(o),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        return Ok(out);
    }
    Ok(match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    })
}

pub fn read_scenarios(text: &str, path: &str) -> Result<Vec<Scenario>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Scenario> = Vec::new();
    let mut i = 0;
    let mut item_indent: Option<usize> = None;
    while i < lines.len() {
        let raw = lines[i];
        let n = i + 1;
        i += 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t == "---" {
            continue;
        }
        if t == "scenarios:" && raw.starts_with('s') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let (body, starts_item) = match t.strip_prefix("- ") {
            Some(b) => (b.trim_start(), true),
            None => (t, false),
        };
        if starts_item {
            item_indent = Some(indent);
            out.push(Scenario {
                name: String::new(),
                description: String::new(),
                exclude: String::new(),
                origin: format!("{path}:{n}"),
            });
        } else if item_indent.is_none_or(|ii| indent <= ii) {
            return Err(format!("{path}:{n}: expected a list item (`- name: ...`)"));
        }
        let Some((key, value)) = body.split_once(':') else {
            return Err(format!("{path}:{n}: expected `key: value`"));
        };
        let value = value.trim();
        let value = if value == "|" || value == ">" || value == "|-" || value == ">-" {
            let mut block = Vec::new();
            while i < lines.len()
                && (lines[i].trim().is_empty()
                    || lines[i].len() - lines[i].trim_start().len()
                        > indent + 2 * usize::from(starts_item))
            {
                block.push(lines[i].trim());
                i += 1;
            }
            let sep = if value.starts_with('|') { "\n" } else { " " };
            block.join(sep).trim().to_string()
        } else {
            unquote(value, path, n)?
        };
        let Some(s) = out.last_mut() else {
            return Err(format!("{path}:{n}: expected a list item"));
        };
        match key.trim() {
            "name" => s.name = value,
            "description" => s.description = value,
            "exclude" | "filter" | "exclusion" => s.exclude = value,
            other => {
                return Err(format!(
                    "{path}:{n}: unknown key `{other}` (a scenario has name, description, exclude)"
                ))
            }
        }
    }
    for s in &out {
        if s.name.is_empty() || s.exclude.is_empty() {
            return Err(format!(
                "{}: a scenario needs a name and an exclude",
                s.origin
            ));
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{path}: no scenarios (expected `Scenario:` lines or a YAML list)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_plain_and_block_values() {
        let y = "# x\nscenarios:\n  - name: 'It''s'\n    description: \"a \\\"b\\\"\"\n    exclude: |\n      process.name == \"a\"\n      AND user.name == \"b\"\n  - name: plain # comment\n    exclude: host.name == \"h\"\n";
        let s = read_scenarios(y, "f.yaml").unwrap();
        assert_eq!(s[0].name, "It's");
        assert_eq!(s[0].description, "a \"b\"");
        assert_eq!(
            s[0].exclude,
            "process.name == \"a\"\nAND user.name == \"b\""
        );
        assert_eq!(s[1].name, "plain");
        assert_eq!(s[1].origin, "f.yaml:8");
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        assert!(read_scenarios("- name: a\n  colour: red\n", "f")
            .unwrap_err()
            .contains("f:2: unknown key `colour`"));
        assert!(read_scenarios("- name: a\n", "f")
            .unwrap_err()
            .contains("needs a name and an exclude"));
        assert!(read_scenarios("hello\n", "f").unwrap_err().contains("f:1:"));
    }
}
