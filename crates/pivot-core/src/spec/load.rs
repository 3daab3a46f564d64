//! Reading config.json: every parse error names the field and the line.

use super::types::Spec;
use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// Parse a config.json document. `name` is how the error refers to it.
pub fn parse_spec(name: &str, text: &str) -> Result<Spec> {
    parse_json(name, text)
}

/// Parse any JSON document into `T`, naming the field path and the line
/// and column of the first error.
pub fn parse_json<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." || path.is_empty() {
            String::new()
        } else {
            format!(" field {path}")
        };
        Error::invalid(format!("{name}:{field}: {inner}"))
    })?;
    de.end()
        .map_err(|e| Error::invalid(format!("{name}: {e}")))?;
    Ok(value)
}

/// Load `<bundle>/config.json`.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
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
    parse_spec(&path.display().to_string(), &text)
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
    fn missing_required_field() {
        let err = parse_spec("config.json", "{}").unwrap_err().to_string();
        assert!(err.contains("ociVersion"), "{err}");
    }
}
