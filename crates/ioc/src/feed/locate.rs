//! Finds the line of a value in a JSON document, so that an entry of a JSON feed can be
//! reported at its line instead of as an anonymous record.

/// Searches forward through the text; JSON feeds list entries in order, so the whole feed
/// is scanned about once.
pub(crate) struct LineLocator<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> LineLocator<'a> {
    pub fn new(text: &'a str) -> LineLocator<'a> {
        LineLocator {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line of the next occurrence of `value` as a JSON string, or the line of
    /// the previous find when it does not occur as written (escaped differently).
    pub fn line_of(&mut self, value: &str) -> usize {
        let needle = serde_json::to_string(value).unwrap_or_default();
        if let Some(off) = self.text[self.pos..].find(&needle) {
            let end = self.pos + off;
            self.line += self.text[self.pos..end]
                .bytes()
                .filter(|&b| b == b'\n')
                .count();
            self.pos = end + needle.len();
        }
        self.line
    }
}
