//! Reading the spec objects pivot keeps as raw JSON (process.scheduler,
//! linux.memoryPolicy, ...): every error names the field it is about, down
//! to the key or list index (`process.scheduler.flags[1]`).

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// A JSON object at a named place in config.json.
pub struct Obj<'a> {
    pub field: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    pub fn new(field: &'a str, value: &'a Value) -> Result<Obj<'a>> {
        match value {
            Value::Object(map) => Ok(Obj { field, map }),
            _ => Err(Error::invalid(format!("{field}: expected an object"))),
        }
    }

    /// `field.key`, for error text.
    pub fn name(&self, key: &str) -> String {
        format!("{}.{key}", self.field)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error::invalid(format!(
                "{}: expected a string",
                self.name(key)
            ))),
        }
    }

    /// An integer that must fit `T` (i32 for nice, u64 for nanoseconds).
    pub fn int<T: TryFrom<i128>>(&self, key: &str) -> Result<Option<T>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = v
            .as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from));
        match n.map(T::try_from) {
            Some(Ok(n)) => Ok(Some(n)),
            Some(Err(_)) => Err(Error::invalid(format!(
                "{}: {v} is out of range",
                self.name(key)
            ))),
            None => Err(Error::invalid(format!(
                "{}: expected an integer",
                self.name(key)
            ))),
        }
    }

    /// A list of strings, each with its index.
    pub fn strs(&self, key: &str) -> Result<Vec<(usize, &'a str)>> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = v else {
            return Err(Error::invalid(format!(
                "{}: expected a list of strings",
                self.name(key)
            )));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok((i, s.as_str())),
                _ => Err(Error::invalid(format!(
                    "{}[{i}]: expected a string",
                    self.name(key)
                ))),
            })
            .collect()
    }
}

/// Look a name up in a table of (name, value), or say what was expected.
pub fn lookup<T: Copy>(table: &[(&str, T)], name: &str, field: &str, what: &str) -> Result<T> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let known: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            Error::invalid(format!(
                "{field}: unknown {what} {name:?} (known: {})",
                known.join(", ")
            ))
        })
}

/// Parse a list of numbers like "0-3,7" (CPUs, NUMA nodes) into a bitmap
/// of 64-bit words; `max` is the highest number allowed. An empty string
/// is an empty set.
pub fn parse_list(text: &str, max: usize, field: &str) -> Result<Vec<u64>> {
    let bad = |why: &str| Error::invalid(format!("{field}: {text:?}: {why}"));
    let mut words: Vec<u64> = Vec::new();
    if text.trim().is_empty() {
        return Ok(words);
    }
    for part in text.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let num = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&if part == text {
                    "not a list of numbers and ranges like 0-3,7".to_string()
                } else {
                    format!("{part:?} is not a number or a range like 0-3")
                }));
            }
            s.parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| bad(&format!("{s} is above the highest allowed, {max}")))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo > hi {
            return Err(bad(&format!("range {part:?} goes backwards")));
        }
        if words.len() <= hi / 64 {
            words.resize(hi / 64 + 1, 0);
        }
        for n in lo..=hi {
            words[n / 64] |= 1 << (n % 64);
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_parse_and_reject() {
        assert_eq!(parse_list("0-3,7", 100, "f").unwrap(), vec![0b1000_1111]);
        assert_eq!(parse_list(" 1 , 65", 100, "f").unwrap(), vec![2, 2]);
        assert!(parse_list("", 100, "f").unwrap().is_empty());
        for bad in ["0-x", "3-1", "-1", "1,,2", "a", "101", "0-200"] {
            let e = parse_list(bad, 100, "linux.x.nodes")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("linux.x.nodes: "), "{bad}: {e}");
        }
    }

    #[test]
    fn fields_name_themselves() {
        let v = json!({"a": "x", "n": 300, "l": ["p", 3], "neg": -1});
        let o = Obj::new("process.thing", &v).unwrap();
        assert_eq!(o.str("a").unwrap(), Some("x"));
        assert_eq!(o.str("missing").unwrap(), None);
        let e = o.int::<u8>("n").unwrap_err().to_string();
        assert!(e.starts_with("process.thing.n: 300"), "{e}");
        assert_eq!(o.int::<i32>("neg").unwrap(), Some(-1));
        assert!(o.int::<u64>("neg").is_err());
        let e = o.strs("l").unwrap_err().to_string();
        assert!(e.starts_with("process.thing.l[1]"), "{e}");
        assert!(Obj::new("x", &json!([1])).is_err());
    }
}
