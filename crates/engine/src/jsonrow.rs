//! One JSON-lines record straight into a row of a known schema: the object is read key by
//! key, each value lands in its column's slot, and the values of columns the query does not
//! need are checked but not built. No intermediate map, no copy of a key or a skipped
//! string. The result is the value `json_value` gives for the same JSON.

use crate::table::Column;
use crate::time::parse_datetime;
use crate::value::{Type, Value};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::HashMap;

/// Where a file's records go: the table's columns, which of them the query reads, and the
/// column of each key.
pub struct JsonLayout<'a> {
    pub columns: &'a [Column],
    needed: Option<&'a [bool]>,
    index: HashMap<&'a str, usize>,
}

/// Why a line gave no row.
#[derive(Debug)]
pub enum LineFault {
    /// Not one JSON object: the reason, as reported to the user.
    Malformed(String),
    /// A key the schema does not have.
    NewKey(String),
}

impl<'a> JsonLayout<'a> {
    pub fn new(columns: &'a [Column], needed: Option<&'a [bool]>) -> JsonLayout<'a> {
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        JsonLayout {
            columns,
            needed,
            index,
        }
    }

    /// The values of one line; `order` remembers the columns of the last line's keys, in
    /// turn, as most files write every record's keys in the same order.
    pub fn values(&self, text: &str, order: &mut Vec<usize>) -> Result<Vec<Value>, LineFault> {
        let mut values = vec![Value::Null; self.columns.len()];
        let mut de = serde_json::Deserializer::from_str(text);
        let mut new_key = None;
        let visitor = ObjectVisitor {
            layout: self,
            values: &mut values,
            order,
            new_key: &mut new_key,
        };
        let read = de.deserialize_any(visitor).and_then(|()| de.end());
        // A malformed line is reported as such, even with a new key in it: the schema
        // reader skips it too, so its keys never become columns.
        if let Err(e) = read {
            return Err(LineFault::Malformed(if e.is_data() {
                "expected a JSON object".into()
            } else {
                format!(
                    "invalid JSON: {}",
                    e.to_string().split(" at line").next().unwrap_or("")
                )
            }));
        }
        if let Some(k) = new_key {
            return Err(LineFault::NewKey(k));
        }
        crate::source::empty_strings_for_nulls(&mut values, self.columns, self.needed);
        Ok(values)
    }

    /// [`JsonLayout::values`] with the key order remembered per thread, for the scan's
    /// workers.
    pub fn values_here(&self, text: &str) -> Result<Vec<Value>, LineFault> {
        thread_local! {
            static ORDER: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        ORDER.with(|order| self.values(text, &mut order.borrow_mut()))
    }

    fn column(&self, key: &str, k: usize, order: &mut Vec<usize>) -> Option<usize> {
        if let Some(&ci) = order.get(k) {
            if self.columns[ci].name == key {
                return Some(ci);
            }
        }
        let ci = *self.index.get(key)?;
        order.truncate(k);
        order.push(ci);
        Some(ci)
    }
}

struct ObjectVisitor<'l, 'a> {
    layout: &'l JsonLayout<'a>,
    values: &'l mut [Value],
    order: &'l mut Vec<usize>,
    new_key: &'l mut Option<String>,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut k = 0;
        while let Some(Key(key)) = map.next_key()? {
            match self.layout.column(&key, k, self.order) {
                Some(ci) if self.layout.needed.is_none_or(|n| n[ci]) => {
                    let cell: Cell = map.next_value()?;
                    self.values[ci] = cell.value(self.layout.columns[ci].ty);
                }
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    if self.new_key.is_none() {
                        *self.new_key = Some(key.into_owned());
                    }
                }
            }
            k += 1;
        }
        Ok(())
    }
}

/// A key, borrowed from the line unless it holds an escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// One value as the line holds it.
enum Cell<'de> {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    Str(Cow<'de, str>),
    /// An unsigned number past i64, an array or an object.
    Other(Json),
}

impl Cell<'_> {
    /// The value a column of type `ty` holds for this JSON value (as `json_value` does).
    fn value(self, ty: Type) -> Value {
        match (self, ty) {
            (Cell::Null, t) => Value::null_of(t),
            (Cell::Str(s), Type::String) => Value::str(&s),
            (Cell::Str(s), Type::DateTime) => {
                parse_datetime(&s, None).map_or(Value::Null, Value::DateTime)
            }
            (Cell::Long(n), Type::Long) => Value::Long(n),
            (Cell::Real(x), Type::Real) => Value::Real(x),
            (Cell::Bool(b), Type::Bool) => Value::Bool(b),
            (cell, t) => crate::source::json_value(&cell.into_json(), t),
        }
    }

    fn into_json(self) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Bool(b) => Json::Bool(b),
            Cell::Long(n) => Json::from(n),
            Cell::Real(x) => serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number),
            Cell::Str(s) => Json::String(s.into_owned()),
            Cell::Other(j) => j,
        }
    }
}

impl<'de> de::Deserialize<'de> for Cell<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Cell<'de>, E> {
        Ok(Cell::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Cell<'de>, E> {
        Ok(Cell::Long(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Cell<'de>, E> {
        Ok(i64::try_from(n).map_or(Cell::Other(Json::from(n)), Cell::Long))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Cell<'de>, E> {
        Ok(Cell::Real(x))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Cell<'de>, E> {
        Ok(Cell::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Cell<'de>, A::Error> {
        let j = de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cell::Other(j))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell<'de>, A::Error> {
        let j = de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Cell::Other(j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{json_type, json_value};

    /// Every value the direct reader builds is the one the map-based reading gives.
    #[test]
    fn equals_reading_through_a_map() {
        let lines = [
            r#"{"s":"a\"b","d":"2026-06-18T00:00:27.189Z","n":12,"r":1.5,"b":true,"x":null,"o":{"k":[1,2]},"a":[1,"x"],"u":18446744073709551615}"#,
            r#"{"s":"","d":"not a date","n":1.5,"r":3,"b":"true","x":"7","o":"{\"k\":1}","a":"[1]","u":-1}"#,
            r#"{"n":"12","r":"x","s":5,"d":null,"b":1,"o":null}"#,
        ];
        let first: serde_json::Map<String, Json> = serde_json::from_str(lines[0]).unwrap();
        let columns: Vec<Column> = first
            .iter()
            .map(|(k, v)| Column {
                name: k.clone(),
                ty: json_type(v),
            })
            .collect();
        let layout = JsonLayout::new(&columns, None);
        let mut order = Vec::new();
        for line in lines {
            let obj: serde_json::Map<String, Json> = serde_json::from_str(line).unwrap();
            let got = match layout.values(line, &mut order) {
                Ok(v) => v,
                Err(_) => panic!("{line}"),
            };
            for (ci, c) in columns.iter().enumerate() {
                let want = match obj.get(&c.name) {
                    Some(v) => json_value(v, c.ty),
                    None if c.ty == Type::String => Value::str(""),
                    None => Value::Null,
                };
                assert_eq!(
                    format!("{:?}", got[ci]),
                    format!("{want:?}"),
                    "{line}: {}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn reports_bad_lines_and_new_keys() {
        let columns = [Column {
            name: "a".into(),
            ty: Type::Long,
        }];
        let layout = JsonLayout::new(&columns, None);
        let mut order = Vec::new();
        let fault = |line: &str, order: &mut Vec<usize>| match layout.values(line, order) {
            Err(LineFault::Malformed(why)) => why,
            Err(LineFault::NewKey(k)) => format!("new key {k}"),
            Ok(_) => "ok".into(),
        };
        assert_eq!(fault("[1]", &mut order), "expected a JSON object");
        assert!(fault(r#"{"a":1"#, &mut order).starts_with("invalid JSON"));
        assert!(fault(r#"{"a":1} x"#, &mut order).starts_with("invalid JSON"));
        assert_eq!(fault(r#"{"a":1,"b\u0041":2}"#, &mut order), "new key bA");
        // The schema reader skips a malformed line, so its new key is no column to add:
        // reporting it as one made the scan start over for ever (found by fuzzing).
        assert!(fault(r#"{"a":1,"b":2"#, &mut order).starts_with("invalid JSON"));
        assert_eq!(fault(r#"{"a":1}"#, &mut order), "ok");
    }

    #[test]
    fn skips_values_the_query_does_not_read() {
        let columns = [
            Column {
                name: "a".into(),
                ty: Type::Long,
            },
            Column {
                name: "b".into(),
                ty: Type::String,
            },
        ];
        let needed = [true, false];
        let layout = JsonLayout::new(&columns, Some(&needed));
        let v = layout
            .values(r#"{"b":{"deep":["x"]},"a":3}"#, &mut Vec::new())
            .ok()
            .unwrap();
        assert_eq!(format!("{:?}", v[0]), "Long(3)");
        // Malformed JSON in a skipped value is still caught.
        assert!(layout
            .values(r#"{"b":[1,,2],"a":3}"#, &mut Vec::new())
            .is_err());
    }
}
