//! Reading config.json: every parse error names the field and the line.

use super::keys;
use super::types::Spec;
use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// Parse a config.json document. `name` is how the error refers to it.
pub fn parse_spec(name: &str, text: &str) -> Result<Spec> {
    parse_json(name, text)
}

/// Parse any JSON document into `T`, naming the field path and the line
/// and column of the first error. Keys that are the runtime-spec's names
/// in another case are read as those names, as runc reads them (keys.rs).
pub fn parse_json<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T> {
    parse_json_noting(name, text).map(|(v, _)| v)
}

/// `parse_json`, and a warning for each key read in another case.
pub fn parse_json_noting<T: serde::de::DeserializeOwned>(
    name: &str,
    text: &str,
) -> Result<(T, Vec<String>)> {
    if !keys::may_need_folding(text) {
        let mut de = serde_json::Deserializer::from_str(text);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| named(name, e))?;
        de.end()
            .map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        return Ok((value, Vec::new()));
    }
    let (folded, warnings) = keys::fold(text).map_err(|e| match e {
        keys::FoldError::Json(e) => Error::invalid(format!("{name}: {e}")),
        keys::FoldError::Twice(e) => Error::invalid(format!("{name}: field {e}")),
    })?;
    // From the folded tree the errors still name the field, not the line.
    let value: T = serde_path_to_error::deserialize(folded).map_err(|e| named(name, e))?;
    Ok((value, warnings))
}

/// Decode a part of config.json the spec keeps as raw JSON (`field` says
/// where it is: `process.scheduler`, `linux.resources.memory`), naming the
/// field path of an error (`process.scheduler.flags[1]`). Null is read as
/// the type reads it (an `Option` is None).
pub fn decode<T: serde::de::DeserializeOwned>(field: &str, value: &serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = match path.as_str() {
            "." | "" => String::new(),
            p if p.starts_with('[') => p.to_string(),
            p => format!(".{p}"),
        };
        Error::invalid(format!("{field}{at}: {inner}"))
    })
}

/// `decode` of a field that may be absent or null (None then).
pub fn decode_some<T: serde::de::DeserializeOwned>(
    field: &str,
    value: Option<&serde_json::Value>,
) -> Result<Option<T>> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => decode(field, v).map(Some),
    }
}

fn named<E: std::fmt::Display>(name: &str, e: serde_path_to_error::Error<E>) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let field = if path == "." || path.is_empty() {
        String::new()
    } else {
        format!(" field {path}")
    };
    Error::invalid(format!("{name}:{field}: {inner}"))
}

/// Load `<bundle>/config.json`.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    load_spec_noting(bundle).map(|(s, _)| s)
}

/// `load_spec`, and a warning for each key read in another case.
pub fn load_spec_noting(bundle: &Path) -> Result<(Spec, Vec<String>)> {
    let path = bundle.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("bundle {}: config.json not found", bundle.display()),
            ))
        }
        Err(e) => return Err(Error::io(format!("read {}", path.display()), e)),
    };
    parse_json_noting(&path.display().to_string(), &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_field_and_line() {
        let text = "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {\"user\": {\"uid\": \"zero\", \"gid\": 0}, \"cwd\": \"/\"}\n}";
        let err = parse_spec("config.json", text).unwrap_err().to_string();
        assert!(err.contains("process.user.uid"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn syntax_error_has_line() {
        let err = parse_spec("config.json", "{\n \"ociVersion\": \"1.0.0\",,\n}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn keys_in_another_case_are_read_and_named() {
        let text = "{\"OCIversion\": \"1.0.0\", \"Process\": {\"cwd\": \"/\", \"args\": [\"sh\"],\n \"user\": {\"UID\": 7}}}";
        let (spec, warnings): (Spec, _) = parse_json_noting("config.json", text).unwrap();
        assert_eq!(spec.oci_version, "1.0.0");
        assert_eq!(spec.process.unwrap().user.uid, 7);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        // Errors still name the field.
        let text = "{\"ociversion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", \"user\": {\"uid\": \"x\"}}}";
        let err = parse_spec("config.json", text).unwrap_err().to_string();
        assert!(err.contains("field process.user.uid"), "{err}");
    }

    #[test]
    fn decoded_parts_name_their_path() {
        #[derive(serde::Deserialize, Debug)]
        struct Part {
            #[allow(dead_code)]
            flags: Vec<String>,
        }
        let v = serde_json::json!({"flags": ["a", 3]});
        let err = decode::<Part>("process.x", &v).unwrap_err().to_string();
        assert!(err.starts_with("process.x.flags[1]: "), "{err}");
        let err = decode::<Part>("process.x", &serde_json::json!(1))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("process.x: invalid type"), "{err}");
        let err = decode::<Vec<u8>>("l", &serde_json::json!([1, -1]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("l[1]: "), "{err}");
    }

    #[test]
    fn missing_required_field() {
        let err = parse_spec("config.json", "{}").unwrap_err().to_string();
        assert!(err.contains("ociVersion"), "{err}");
    }
}
