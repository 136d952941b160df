//! Functions over dynamic arrays and property bags: sums, sorting, slicing, sets, zip,
//! merging bags, and joining an array's elements into a string.

use crate::value::{real_json, Value};
use serde_json::Value as Json;
use std::cmp::Ordering;
use std::sync::Arc;

fn array(v: Option<&Value>) -> Option<&Vec<Json>> {
    match v? {
        Value::Dynamic(j) => j.as_array(),
        _ => None,
    }
}

fn dynamic(j: Json) -> Value {
    Value::Dynamic(Arc::new(j))
}

/// Kusto's order of array elements: by value, nulls last.
fn element_order(a: &Json, b: &Json) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => Value::from_json(a)
            .compare(&Value::from_json(b))
            .unwrap_or(Ordering::Equal),
    }
}

/// Distinct elements in order of first appearance (`null` included once).
fn distinct<'a>(items: impl Iterator<Item = &'a Json>) -> Vec<Json> {
    let mut seen = std::collections::HashSet::new();
    items
        .filter(|x| seen.insert(x.to_string()))
        .cloned()
        .collect()
}

/// The array and bag functions by (lower-case) name: `None` for a name that is not one.
pub fn call(name: &str, v: &[Value]) -> Option<Value> {
    let a = |i: usize| array(v.get(i));
    Some(match name {
        "array_sum" => match a(0) {
            Some(xs) => Value::Real(xs.iter().filter_map(Json::as_f64).sum()),
            None => Value::Null,
        },
        "array_sort_asc" | "array_sort_desc" => match a(0) {
            Some(xs) => {
                let nulls_last = v.get(1).and_then(|x| x.scalar().as_bool()).unwrap_or(true);
                let (mut values, nulls): (Vec<Json>, Vec<Json>) =
                    xs.iter().cloned().partition(|x| !x.is_null());
                values.sort_by(element_order);
                if name == "array_sort_desc" {
                    values.reverse();
                }
                if nulls_last {
                    values.extend(nulls);
                } else {
                    values.splice(0..0, nulls);
                }
                dynamic(Json::Array(values))
            }
            None => Value::Null,
        },
        "array_reverse" => match a(0) {
            Some(xs) => dynamic(Json::Array(xs.iter().rev().cloned().collect())),
            None => Value::Null,
        },
        "array_slice" => match (a(0), v.get(1).and_then(|x| x.scalar().as_i64())) {
            (Some(xs), Some(start)) => {
                let len = xs.len() as i64;
                let at = |i: i64| if i < 0 { len + i } else { i };
                let end = v
                    .get(2)
                    .and_then(|x| x.scalar().as_i64())
                    .map_or(len - 1, at);
                let (s, e) = (at(start).max(0), end.min(len - 1));
                let slice = if s <= e {
                    xs[s as usize..=e as usize].to_vec()
                } else {
                    Vec::new()
                };
                dynamic(Json::Array(slice))
            }
            _ => Value::Null,
        },
        "set_union" => {
            let all: Vec<&Json> = (0..v.len()).filter_map(a).flatten().collect();
            dynamic(Json::Array(distinct(all.into_iter())))
        }
        "set_intersect" | "set_difference" => match a(0) {
            Some(first) => {
                let others: Vec<std::collections::HashSet<String>> = (1..v.len())
                    .filter_map(a)
                    .map(|xs| xs.iter().map(Json::to_string).collect())
                    .collect();
                let keep = |x: &&Json| {
                    let k = x.to_string();
                    if name == "set_intersect" {
                        others.iter().all(|o| o.contains(&k))
                    } else {
                        !others.iter().any(|o| o.contains(&k))
                    }
                };
                dynamic(Json::Array(distinct(first.iter().filter(keep))))
            }
            None => Value::Null,
        },
        "jaccard_index" => match (a(0), a(1)) {
            (Some(x), Some(y)) => {
                let x: std::collections::HashSet<String> = x.iter().map(Json::to_string).collect();
                let y: std::collections::HashSet<String> = y.iter().map(Json::to_string).collect();
                let union = x.union(&y).count();
                if union == 0 {
                    Value::Real(f64::NAN)
                } else {
                    Value::Real(x.intersection(&y).count() as f64 / union as f64)
                }
            }
            _ => Value::Null,
        },
        "zip" => {
            let arrays: Vec<&Vec<Json>> = (0..v.len()).filter_map(a).collect();
            if arrays.len() != v.len() {
                return Some(Value::Null);
            }
            let longest = arrays.iter().map(|x| x.len()).max().unwrap_or(0);
            dynamic(Json::Array(
                (0..longest)
                    .map(|i| {
                        Json::Array(
                            arrays
                                .iter()
                                .map(|x| x.get(i).cloned().unwrap_or(Json::Null))
                                .collect(),
                        )
                    })
                    .collect(),
            ))
        }
        "strcat_array" => match a(0) {
            Some(xs) => {
                let delim = v.get(1).map(Value::to_kusto_string).unwrap_or_default();
                let parts: Vec<String> = xs
                    .iter()
                    .map(|x| Value::from_json(x).to_kusto_string())
                    .collect();
                Value::str(&parts.join(&delim))
            }
            None => Value::str(""),
        },
        "bag_merge" => {
            // The first bag to hold a key gives its value.
            let mut out = serde_json::Map::new();
            for x in v {
                if let Value::Dynamic(j) = x {
                    if let Some(o) = j.as_object() {
                        for (k, val) in o {
                            out.entry(k.clone()).or_insert_with(|| val.clone());
                        }
                    }
                }
            }
            dynamic(Json::Object(out))
        }
        "dynamic_to_json" => match v.first() {
            Some(Value::Dynamic(j)) => Value::str(&sorted_json(j).to_string()),
            Some(x) if !x.is_null() => Value::str(&x.to_json().to_string()),
            _ => Value::str(""),
        },
        // The second and third arguments may be arrays or one value for every element.
        "array_iff" | "array_iif" => match (a(0), v.get(1), v.get(2)) {
            (Some(c), Some(t), Some(f)) => {
                let at = |x: &Value, i: usize| match x {
                    Value::Dynamic(j) if j.is_array() => j.get(i).cloned().unwrap_or(Json::Null),
                    other => other.to_json(),
                };
                dynamic(Json::Array(
                    c.iter()
                        .enumerate()
                        .map(|(i, c)| at(if c.as_bool() == Some(true) { t } else { f }, i))
                        .collect(),
                ))
            }
            _ => Value::Null,
        },
        "repeat" => match (v.first(), v.get(1).and_then(|x| x.scalar().as_i64())) {
            (Some(x), Some(n)) if n >= 0 => {
                dynamic(Json::Array(vec![x.to_json(); n.min(1 << 20) as usize]))
            }
            _ => Value::Null,
        },
        _ => return None,
    })
}

/// JSON with every bag's keys in order, as `dynamic_to_json` writes it.
fn sorted_json(j: &Json) -> Json {
    match j {
        Json::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_json(&o[k])))
                    .collect(),
            )
        }
        Json::Array(xs) => Json::Array(xs.iter().map(sorted_json).collect()),
        Json::Number(n) if n.is_f64() => real_json(n.as_f64().unwrap_or(f64::NAN)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dyn_(s: &str) -> Value {
        dynamic(serde_json::from_str(s).unwrap())
    }

    fn json(v: Value) -> String {
        v.to_json().to_string()
    }

    #[test]
    fn sorts_slices_and_sums_arrays() {
        assert_eq!(
            json(call("array_sort_asc", &[dyn_("[3,null,1,2]")]).unwrap()),
            "[1,2,3,null]"
        );
        assert_eq!(
            json(call("array_sort_desc", &[dyn_("[5,2,8]")]).unwrap()),
            "[8,5,2]"
        );
        assert_eq!(
            json(
                call(
                    "array_slice",
                    &[dyn_("[1,2,3,4,5]"), Value::Long(-2), Value::Long(-1)]
                )
                .unwrap()
            ),
            "[4,5]"
        );
        assert_eq!(
            json(
                call(
                    "array_slice",
                    &[dyn_("[1,2]"), Value::Long(0), Value::Long(0)]
                )
                .unwrap()
            ),
            "[1]"
        );
        assert!(
            matches!(call("array_sum", &[dyn_("[1,null,3]")]), Some(Value::Real(x)) if x == 4.0)
        );
    }

    #[test]
    fn sets_keep_first_appearance_order() {
        assert_eq!(
            json(call("set_union", &[dyn_("[1,2]"), dyn_("[2,3,4]")]).unwrap()),
            "[1,2,3,4]"
        );
        assert_eq!(
            json(call("set_difference", &[dyn_("[null,1,null,2]"), dyn_("[null]")]).unwrap()),
            "[1,2]"
        );
        assert_eq!(
            json(call("set_intersect", &[dyn_("[1,2,3]"), dyn_("[3,4]")]).unwrap()),
            "[3]"
        );
    }

    #[test]
    fn merges_bags_first_value_winning() {
        let m = call(
            "bag_merge",
            &[dyn_(r#"{"a":1,"b":2}"#), dyn_(r#"{"b":3,"c":4}"#)],
        )
        .unwrap();
        assert_eq!(json(m), r#"{"a":1,"b":2,"c":4}"#);
        assert_eq!(
            call("strcat_array", &[dyn_("[1,null,3]"), Value::str("-")])
                .unwrap()
                .to_kusto_string(),
            "1--3"
        );
    }
}
