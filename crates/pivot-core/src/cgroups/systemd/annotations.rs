//! `org.systemd.property.<Name>` annotations, as runc passes them to the
//! unit: the name is at least three latin letters, the value is GVariant
//! text (`uint64 12`, `'inactive-or-failed'`, `true`, `[1, 2]`), and a name
//! ending in a lowercase letter and `Sec` becomes `...USec` with the
//! number in microseconds.

use super::props::{Property, Variant};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

pub const PREFIX: &str = "org.systemd.property.";

/// The annotations' properties, in key order; each error names its
/// annotation.
pub fn properties(annotations: Option<&BTreeMap<String, String>>) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    for (k, v) in annotations.into_iter().flatten() {
        let Some(name) = k.strip_prefix(PREFIX) else {
            continue;
        };
        let bad = |why: String| Error::invalid(format!("annotations[{k:?}]: {why}"));
        if name.len() < 3 {
            return Err(bad(format!("property name {name:?} is too short")));
        }
        if !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad(format!(
                "property name {name:?} contains a non-alphabetic character"
            )));
        }
        let mut value =
            parse(v).map_err(|e| bad(format!("value {v:?} is not a D-Bus value: {e}")))?;
        let mut name = name.to_string();
        if let Some(stem) = name.strip_suffix("Sec") {
            if stem.ends_with(|c: char| c.is_ascii_lowercase()) {
                value = sec_to_usec(&value).ok_or_else(|| {
                    bad(format!(
                        "value {v:?} is not a number (a {name} takes seconds)"
                    ))
                })?;
                name = format!("{stem}USec");
            }
        }
        out.push((name, value));
    }
    Ok(out)
}

/// runc's convertSecToUSec (Go's wrapping conversions included).
fn sec_to_usec(v: &Variant) -> Option<Variant> {
    const M: u64 = 1_000_000;
    let n = match *v {
        Variant::Byte(n) => n as u64,
        Variant::I16(n) => n as u64,
        Variant::U16(n) => n as u64,
        Variant::I32(n) => n as u64,
        Variant::U32(n) => n as u64,
        Variant::I64(n) => n as u64,
        Variant::U64(n) => n,
        Variant::Double(d) => return Some(Variant::U64((d * M as f64) as u64)),
        _ => return None,
    };
    Some(Variant::U64(n.wrapping_mul(M)))
}

/// Parse GVariant text (the subset runc's parser is used for: basic
/// values, optionally typed with a keyword or `@sig`, arrays and tuples).
pub fn parse(text: &str) -> std::result::Result<Variant, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(None)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected {:?}", &text[p.i..]));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// Type keywords of the GVariant text format, as signatures.
const KEYWORDS: &[(&str, &str)] = &[
    ("boolean", "b"),
    ("byte", "y"),
    ("int16", "n"),
    ("uint16", "q"),
    ("int32", "i"),
    ("uint32", "u"),
    ("int64", "x"),
    ("uint64", "t"),
    ("double", "d"),
    ("string", "s"),
    ("objectpath", "o"),
    ("signature", "g"),
];

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+'))
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// One value, of signature `want` when given.
    fn value(&mut self, want: Option<&str>) -> std::result::Result<Variant, String> {
        self.ws();
        match self.peek() {
            None => Err("missing value".into()),
            Some(b'@') => {
                self.i += 1;
                let sig = self.signature()?;
                self.value(Some(&sig))
            }
            Some(b'[') => self.array(want),
            Some(b'(') => self.tuple(want),
            Some(b'"' | b'\'') => {
                let s = self.string()?;
                match want.unwrap_or("s") {
                    "s" => Ok(Variant::Str(s)),
                    "o" => Ok(Variant::ObjectPath(s)),
                    "g" => Ok(Variant::Signature(s)),
                    w => Err(format!("a string is no {w:?}")),
                }
            }
            Some(_) => {
                let w = self.word();
                if let Some((_, sig)) = KEYWORDS.iter().find(|(k, _)| *k == w) {
                    if want.is_some_and(|x| x != *sig) {
                        return Err(format!("{w} where {:?} was expected", want.unwrap()));
                    }
                    return self.value(Some(sig));
                }
                atom(&w, want)
            }
        }
    }

    /// A signature after `@`: a basic type, or arrays and tuples of them.
    fn signature(&mut self) -> std::result::Result<String, String> {
        let start = self.i;
        self.one_type()?;
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn one_type(&mut self) -> std::result::Result<(), String> {
        match self.peek() {
            Some(b'a') => {
                self.i += 1;
                self.one_type()
            }
            Some(b'(') => {
                self.i += 1;
                while self.peek() != Some(b')') {
                    self.one_type()?;
                }
                self.i += 1;
                Ok(())
            }
            Some(c) if b"bynqiuxtdsog".contains(&c) => {
                self.i += 1;
                Ok(())
            }
            _ => Err("unsupported type annotation".into()),
        }
    }

    /// The items of a list that opens here and ends with `close`, each
    /// read by `item`, separated by commas.
    fn list(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        self.i += 1;
        let mut first = true;
        loop {
            self.ws();
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok(());
            }
            if !first {
                if self.peek() != Some(b',') {
                    return Err(format!("expected ',' or '{}'", close as char));
                }
                self.i += 1;
            }
            first = false;
            item(self)?;
        }
    }

    fn array(&mut self, want: Option<&str>) -> std::result::Result<Variant, String> {
        let elem = match want {
            Some(w) => Some(
                w.strip_prefix('a')
                    .ok_or_else(|| format!("an array is no {w:?}"))?
                    .to_string(),
            ),
            None => None,
        };
        let mut items: Vec<Variant> = Vec::new();
        self.list(b']', |p| {
            let first_sig = items.first().map(Variant::signature);
            items.push(p.value(elem.as_deref().or(first_sig.as_deref()))?);
            Ok(())
        })?;
        let elem = match (elem, items.first()) {
            (Some(e), _) => e,
            (None, Some(v)) => v.signature(),
            (None, None) => return Err("an empty array needs a type (@as [])".into()),
        };
        Ok(Variant::Array(elem, items))
    }

    fn tuple(&mut self, want: Option<&str>) -> std::result::Result<Variant, String> {
        if let Some(w) = want {
            if !w.starts_with('(') {
                return Err(format!("a tuple is no {w:?}"));
            }
        }
        let mut fields = Vec::new();
        self.list(b')', |p| {
            fields.push(p.value(None)?);
            Ok(())
        })?;
        let v = Variant::Struct(fields);
        match want {
            Some(w) if v.signature() != w => Err(format!("a tuple {} is no {w:?}", v.signature())),
            _ => Ok(v),
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(c) if c == quote => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or("unterminated string")?;
                    self.i += 1;
                    out.push(match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'0' => 0,
                        c => c,
                    });
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".into())
    }
}

/// A bare word: a boolean or a number, of type `want` or, untyped, a
/// boolean, an int32 or (with a point or exponent) a double.
fn atom(w: &str, want: Option<&str>) -> std::result::Result<Variant, String> {
    let bad = || format!("{w:?} is not a valid {}", want.unwrap_or("value"));
    match (w, want) {
        ("true", None | Some("b")) => return Ok(Variant::Bool(true)),
        ("false", None | Some("b")) => return Ok(Variant::Bool(false)),
        _ => {}
    }
    let float = w.contains(['.', 'e', 'E']) && !w.starts_with("0x");
    let want = want.unwrap_or(if float { "d" } else { "i" });
    if want == "d" {
        return w.parse::<f64>().map(Variant::Double).map_err(|_| bad());
    }
    let n = int(w).ok_or_else(bad)?;
    let fit = |ok: bool, v: Variant| if ok { Ok(v) } else { Err(bad()) };
    match want {
        "y" => fit((0..=255).contains(&n), Variant::Byte(n as u8)),
        "n" => fit(i16::try_from(n).is_ok(), Variant::I16(n as i16)),
        "q" => fit(u16::try_from(n).is_ok(), Variant::U16(n as u16)),
        "i" => fit(i32::try_from(n).is_ok(), Variant::I32(n as i32)),
        "u" => fit(u32::try_from(n).is_ok(), Variant::U32(n as u32)),
        "x" => fit(i64::try_from(n).is_ok(), Variant::I64(n as i64)),
        "t" => fit(u64::try_from(n).is_ok(), Variant::U64(n as u64)),
        _ => Err(bad()),
    }
}

fn int(w: &str) -> Option<i128> {
    let (neg, digits) = match w.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, w.strip_prefix('+').unwrap_or(w)),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse("uint64 12"), Ok(Variant::U64(12)));
        assert_eq!(parse("@t 12"), Ok(Variant::U64(12)));
        assert_eq!(parse("12"), Ok(Variant::I32(12)));
        assert_eq!(parse("-3"), Ok(Variant::I32(-3)));
        assert_eq!(parse("1.5"), Ok(Variant::Double(1.5)));
        assert_eq!(parse("true"), Ok(Variant::Bool(true)));
        assert_eq!(parse(" false "), Ok(Variant::Bool(false)));
        assert_eq!(parse("\"a b\""), Ok(Variant::Str("a b".into())));
        assert_eq!(
            parse("'inactive-or-failed'"),
            Ok(Variant::Str("inactive-or-failed".into()))
        );
        assert_eq!(parse("byte 0x10"), Ok(Variant::Byte(16)));
        assert_eq!(
            parse("['a', 'b']"),
            Ok(Variant::Array(
                "s".into(),
                vec![Variant::Str("a".into()), Variant::Str("b".into())]
            ))
        );
        assert_eq!(parse("@as []"), Ok(Variant::Array("s".into(), vec![])));
        assert_eq!(parse("[uint32 1, 2]").unwrap().signature(), "au");
        assert_eq!(parse("('a', 'rw')").unwrap().signature(), "(ss)");
        assert_eq!(parse("@a(ss) []").unwrap().signature(), "a(ss)");
        for bad in [
            "",
            "abc",
            "uint32 -1",
            "byte 256",
            "[]",
            "'x",
            "1 2",
            "[1, 'a']",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn annotations_like_runc() {
        let a = ann(&[
            ("org.systemd.property.TimeoutStopSec", "uint64 3"),
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("org.systemd.property.RuntimeMaxSec", "1.5"),
            ("org.systemd.property.CPUSec", "7"),
            ("other", "x"),
        ]);
        let p = properties(Some(&a)).unwrap();
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("TimeoutStopUSec"), Some(Variant::U64(3_000_000)));
        assert_eq!(get("RuntimeMaxUSec"), Some(Variant::U64(1_500_000)));
        assert_eq!(
            get("CollectMode"),
            Some(Variant::Str("inactive-or-failed".into()))
        );
        // "USec" only after a lowercase letter, as runc.
        assert_eq!(get("CPUSec"), Some(Variant::I32(7)));
        assert_eq!(p.len(), 4);
        for (k, v, why) in [
            ("org.systemd.property.Ab", "1", "too short"),
            ("org.systemd.property.Memory_Max", "1", "non-alphabetic"),
            ("org.systemd.property.MemoryMax", "x y", "not a D-Bus value"),
            ("org.systemd.property.TimeoutStopSec", "'x'", "not a number"),
        ] {
            let e = properties(Some(&ann(&[(k, v)]))).unwrap_err().to_string();
            assert!(e.starts_with(&format!("annotations[{k:?}]")), "{e}");
            assert!(e.contains(why), "{e}");
        }
    }
}
