//! Shared output helpers: aligned text tables, CSV cells and terminal-safe text. Log and
//! feed values are hostile input, so every cell meant for a person or a spreadsheet is
//! neutralised here.

/// Removes terminal control characters (escape sequences included) from text shown in a
/// terminal.
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Quotes a CSV cell when needed, and guards cells a spreadsheet would run as a formula
/// (leading `=`, `+`, `-`, `@`, tab or carriage return) with a leading apostrophe.
pub fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Renders rows as a left-aligned text table with a header, cells made terminal-safe.
pub fn text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| terminal_safe(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied(), &mut out);
    for r in &rows {
        line(&mut r.iter().map(String::as_str), &mut out);
    }
    out
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it (`\"`, `\\`, the short
/// forms of control characters, `\u00XX` for the others). Text with nothing to escape, as
/// nearly all of it is, is copied in one piece.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    // No early exit: the compiler checks many bytes a step.
    if !bytes.iter().fold(false, |any, &b| any | needs(b)) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut from = 0;
    for (at, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..=0x1f => 0,
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..at]);
        if short == 0 {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
        from = at + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

/// Writes one line per item, formatted by `line` on all cores: items are formatted in
/// windows of a few thousand per thread into buffers that are written in item order, so the
/// output is exactly what formatting them one by one gives, with bounded extra memory.
pub fn write_lines_parallel<T: Sync>(
    out: &mut impl std::io::Write,
    items: &[T],
    line: impl Fn(&T, &mut Vec<u8>) -> std::io::Result<()> + Sync,
) -> std::io::Result<()> {
    const BATCH: usize = 8 << 10;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); threads];
    for window in items.chunks(BATCH * threads) {
        let format = |(part, buf): (&[T], &mut Vec<u8>)| -> std::io::Result<()> {
            buf.clear();
            part.iter().try_for_each(|item| line(item, buf))
        };
        let mut work = window.chunks(BATCH).zip(buffers.iter_mut());
        let first = work.next();
        std::thread::scope(|scope| -> std::io::Result<()> {
            let helpers: Vec<_> = work.map(|w| scope.spawn(move || format(w))).collect();
            first.map(format).transpose()?;
            for h in helpers {
                h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            }
            Ok(())
        })?;
        for buf in &buffers[..window.len().div_ceil(BATCH)] {
            out.write_all(buf)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_str_escapes_as_serde_json_does() {
        for s in [
            "plain",
            "",
            "q\"uote",
            "back\\slash",
            "nl\n\r\t",
            "\u{1}\u{1f}\u{8}\u{c}",
            "é✓\u{7f}",
        ] {
            let mut out = Vec::new();
            json_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }

    #[test]
    fn parallel_lines_come_out_in_item_order() {
        let items: Vec<usize> = (0..100_003).collect();
        let mut out = Vec::new();
        write_lines_parallel(&mut out, &items, |i, buf| {
            use std::io::Write;
            writeln!(buf, "{i}")
        })
        .unwrap();
        let expected: String = items.iter().map(|i| format!("{i}\n")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn csv_cells_are_quoted_and_formula_guarded() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }

    #[test]
    fn terminal_output_loses_escape_sequences() {
        assert_eq!(terminal_safe("a\u{1b}[31mb"), "a [31mb");
    }
}
