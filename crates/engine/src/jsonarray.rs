//! Reads a JSON array export (`[{...}, ...]`, as the Log Analytics portal writes it, or an
//! object holding the array under `value` or `rows`) one record at a time, so that memory
//! holds a record, not the file.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;
use std::io::Read;

/// Why the reading ended before the export did.
pub enum Stop<E> {
    /// The text is not JSON from `line` on (records before it were handed on).
    Syntax { line: u64, why: String },
    /// The top level is neither an array nor an object.
    Shape,
    /// `each` failed.
    Failed(E),
}

/// Hands every record of the export in `reader` to `each`, with its index, until `each`
/// returns false. An object with no `value` or `rows` array is itself the one record.
pub fn each_record<E>(
    reader: impl Read,
    each: &mut dyn FnMut(u64, Json) -> Result<bool, E>,
) -> Result<(), Stop<E>> {
    let mut records = Records {
        each,
        next: 0,
        failed: None,
        stopped: false,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let read =
        de.deserialize_any(&mut records)
            .and_then(|()| if records.stopped { Ok(()) } else { de.end() });
    match read {
        _ if records.stopped => Ok(()),
        Ok(()) => Ok(()),
        Err(_) if records.failed.is_some() => Err(Stop::Failed(records.failed.take().unwrap())),
        Err(e) if e.is_data() => Err(Stop::Shape),
        Err(e) => Err(Stop::Syntax {
            line: e.line() as u64,
            why: format!(
                "invalid JSON: {}",
                e.to_string().split(" at line").next().unwrap_or("")
            ),
        }),
    }
}

struct Records<'a, E> {
    each: &'a mut dyn FnMut(u64, Json) -> Result<bool, E>,
    next: u64,
    /// The error `each` returned, which ends the reading.
    failed: Option<E>,
    /// `each` wanted no more records.
    stopped: bool,
}

impl<E> Records<'_, E> {
    /// Hands on one record; an error (of serde's kind) ends the reading.
    fn give<X: serde::de::Error>(&mut self, record: Json) -> Result<(), X> {
        let i = self.next;
        self.next += 1;
        match (self.each)(i, record) {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.stopped = true;
                Err(X::custom("stopped"))
            }
            Err(e) => {
                self.failed = Some(e);
                Err(X::custom("failed"))
            }
        }
    }

    fn seq<'de, A: SeqAccess<'de>>(&mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<Json>()? {
            self.give(record)?;
        }
        Ok(())
    }
}

impl<'de, E> Visitor<'de> for &mut Records<'_, E> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = serde_json::Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if !streamed && (key == "value" || key == "rows") {
                map.next_value_seed(Array(&mut *self))?;
                streamed = true;
            } else {
                rest.insert(key, map.next_value()?);
            }
        }
        if !streamed {
            self.give(Json::Object(rest))?;
        }
        Ok(())
    }
}

/// The array under `value` or `rows`, streamed.
struct Array<'r, 'a, E>(&'r mut Records<'a, E>);

impl<'de, E> DeserializeSeed<'de> for Array<'_, '_, E> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, E> Visitor<'de> for Array<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.seq(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of `text`, up to `max`, and how the reading ended.
    fn read(text: &str, max: usize) -> (Vec<String>, String) {
        let mut got = Vec::new();
        let end = each_record::<()>(text.as_bytes(), &mut |i, r| {
            got.push(format!("{i}:{r}"));
            Ok(got.len() < max)
        });
        let end = match end {
            Ok(()) => "ok".to_string(),
            Err(Stop::Syntax { line, why }) => format!("line {line}: {why}"),
            Err(Stop::Shape) => "shape".into(),
            Err(Stop::Failed(())) => "failed".into(),
        };
        (got, end)
    }

    #[test]
    fn streams_arrays_wrapped_arrays_and_single_objects() {
        let (got, end) = read(r#"[{"a":1},{"a":2}, 3]"#, 10);
        assert_eq!(got, [r#"0:{"a":1}"#, r#"1:{"a":2}"#, "2:3"]);
        assert_eq!(end, "ok");
        let (got, _) = read(r#"{"x":0,"value":[{"a":1}],"y":[]}"#, 10);
        assert_eq!(got, [r#"0:{"a":1}"#]);
        let (got, _) = read(r#"{"a":1,"b":{"c":2}}"#, 10);
        assert_eq!(got, [r#"0:{"a":1,"b":{"c":2}}"#]);
        assert_eq!(read("7", 10).1, "shape");
    }

    #[test]
    fn stops_when_asked_and_keeps_records_before_bad_text() {
        // Stopping early leaves the rest unread, even when it is not JSON.
        let (got, end) = read(r#"[{"a":1},{"a":2},{"a":"#, 2);
        assert_eq!((got.len(), end.as_str()), (2, "ok"));
        let (got, end) = read("[{\"a\":1},\n{\"a\":2},\n{\"a\"", 10);
        assert_eq!(got.len(), 2);
        assert!(end.starts_with("line 3: invalid JSON"), "{end}");
        let failed = each_record(&b"[1,2]"[..], &mut |_, _| Err::<bool, _>("no"));
        assert!(matches!(failed, Err(Stop::Failed("no"))));
    }
}
