//! Finds the line of a value in a JSON document, so that an entry of a JSON feed can be
//! reported at its line instead of as an anonymous record.

/// Searches forward through the text; JSON feeds list entries in order, so the whole feed
/// is scanned about once.
pub(crate) struct LineLocator<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    /// The value being looked for, as a JSON string; reused from call to call.
    needle: String,
}

impl<'a> LineLocator<'a> {
    pub fn new(text: &'a str) -> LineLocator<'a> {
        LineLocator::starting_at(text, 1)
    }

    /// A locator for a text that starts at line `line` of its file.
    pub fn starting_at(text: &'a str, line: usize) -> LineLocator<'a> {
        LineLocator {
            text: text.as_bytes(),
            pos: 0,
            line,
            needle: String::new(),
        }
    }

    /// The 1-based line of the next occurrence of `value` as a JSON string, or the line of
    /// the previous find when it does not occur as written (escaped differently).
    pub fn line_of(&mut self, value: &str) -> usize {
        self.needle.clear();
        if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            // Nothing to escape: the string as JSON writes it, without serialising.
            self.needle.push('"');
            self.needle.push_str(value);
            self.needle.push('"');
        } else {
            self.needle = serde_json::to_string(value).unwrap_or_default();
        }
        let rest = &self.text[self.pos..];
        // The value is usually a few fields ahead: trying each quote is cheaper than
        // building a substring searcher for every value.
        let needle = self.needle.as_bytes();
        let second = needle.get(1).copied();
        let found = memchr::memchr_iter(b'"', rest)
            .find(|&i| rest.get(i + 1).copied() == second && rest[i..].starts_with(needle));
        if let Some(off) = found {
            self.line += memchr::memchr_iter(b'\n', &rest[..off]).count();
            self.pos += off + self.needle.len();
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::LineLocator;

    #[test]
    fn finds_values_in_order_and_keeps_the_last_line_for_unknown_ones() {
        let text = "{\n \"a\": \"x\",\n \"b\": \"y\\\"z\",\n \"c\": \"x\"\n}";
        let mut l = LineLocator::new(text);
        assert_eq!(l.line_of("x"), 2);
        assert_eq!(l.line_of("y\"z"), 3);
        assert_eq!(l.line_of("not there"), 3);
        assert_eq!(l.line_of("x"), 4);
    }
}
