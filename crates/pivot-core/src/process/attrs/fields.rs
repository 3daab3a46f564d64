//! Names and lists in the spec's process and linux fields: a name looked
//! up in a table of the kernel's, a list of numbers like "0-3,7". Errors
//! name the field.

use crate::error::{Error, Result};

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
}
