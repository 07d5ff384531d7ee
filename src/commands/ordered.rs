//! JSON printed in docker's field order: `serde_json::Value` keeps object keys sorted, while
//! docker's `inspect` prints its structs' fields in declaration order (Name, Id, Created,
//! ...) with four-space indentation. `Ordered` serializes a value with the keys of every
//! object ranked by a list (keys not in it follow, sorted), so the printed document reads
//! like docker's while the code keeps building plain `Value`s.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// `value` with object keys in the order of `rank`.
pub struct Ordered<'a> {
    pub value: &'a Value,
    pub rank: &'a [&'a str],
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let child = |value| Ordered {
            value,
            rank: self.rank,
        };
        match self.value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                let place = |k: &str| self.rank.iter().position(|r| *r == k).unwrap_or(usize::MAX);
                crate::sort::sort_by(&mut keys, |a, b| place(a).cmp(&place(b)).then(a.cmp(b)));
                let mut m = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    m.serialize_entry(k, &child(&map[k]))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(&child(v))?;
                }
                q.end()
            }
            other => other.serialize(s),
        }
    }
}

/// `value` pretty-printed as docker's `inspect` prints: ranked keys, four-space indent.
pub fn pretty(value: &Value, rank: &[&str]) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    Ordered { value, rank }
        .serialize(&mut ser)
        .expect("a json value serializes");
    String::from_utf8(out).expect("json is utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_keys_come_first_in_rank_order_then_the_rest_sorted() {
        let v = serde_json::json!([{"b": 1, "Id": {"z": 0, "Name": 2}, "Name": "n", "a": [{"Id": 1, "Name": 0}]}]);
        let s = pretty(&v, &["Name", "Id"]);
        let compact: String = s.split_whitespace().collect();
        assert_eq!(
            compact,
            r#"[{"Name":"n","Id":{"Name":2,"z":0},"a":[{"Name":0,"Id":1}],"b":1}]"#
        );
        assert!(s.contains("\n        \"Name\""), "{s}");
    }
}
