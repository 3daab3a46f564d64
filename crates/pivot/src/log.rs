//! Error and debug reporting as runc does it: errors on stderr, and with
//! --log also as a line in the log file; `--debug` lines in the log file
//! or, without --log, on stderr. Lines are JSON (`{"level","msg","time"}`,
//! which containerd's shim reads) or logrus-style text.

use crate::cli::{Global, LogFormat};
use pivot_core::debug::Fields;
use pivot_core::time::now_rfc3339;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The logger of this run, for the runtime's warnings (pivot-core takes
/// a plain function for them).
static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Make `l` the logger `warn` writes to (the first call wins).
pub fn install(l: &Logger) {
    let _ = LOGGER.set(l.clone());
}

/// A warning of the runtime, through the installed logger.
pub fn warn(msg: &str) {
    match LOGGER.get() {
        Some(l) => l.warn(msg),
        None => eprintln!("pivot: warning: {msg}"),
    }
}

#[derive(Clone)]
pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Logger {
    /// As runc, the --log file is created at once (empty when all goes
    /// well and --debug is off).
    pub fn new(g: &Global) -> Self {
        let l = Logger {
            file: g.log.clone(),
            format: g.log_format,
        };
        if let Some(path) = &l.file {
            let _ = l.open(path);
        }
        l
    }

    fn open(&self, path: &PathBuf) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    }

    /// A line with logrus fields after `msg` (`key=value` in text, more
    /// keys in JSON), as runc's logger writes them.
    fn line_with(&self, level: &str, msg: &str, fields: Fields<'_>) -> String {
        match self.format {
            LogFormat::Json => {
                let mut m = serde_json::Map::new();
                m.insert("level".into(), level.into());
                m.insert("msg".into(), msg.into());
                for (k, v) in fields {
                    m.insert((*k).into(), v.as_str().into());
                }
                m.insert("time".into(), now_rfc3339(false).into());
                serde_json::Value::Object(m).to_string()
            }
            LogFormat::Text => {
                let mut line = format!(
                    "time=\"{}\" level={level} msg={}",
                    now_rfc3339(false),
                    serde_json::Value::String(msg.to_string())
                );
                for (k, v) in fields {
                    line.push_str(&format!(" {k}={}", text_value(v)));
                }
                line
            }
        }
    }

    fn to_file(&self, level: &str, msg: &str) -> bool {
        self.to_file_with(level, msg, &[])
    }

    fn to_file_with(&self, level: &str, msg: &str, fields: Fields<'_>) -> bool {
        let Some(path) = &self.file else {
            return false;
        };
        if let Ok(mut f) = self.open(path) {
            let _ = writeln!(f, "{}", self.line_with(level, msg, fields));
        }
        true
    }

    pub fn error(&self, msg: &impl std::fmt::Display) {
        let msg = msg.to_string();
        eprintln!("pivot: {msg}");
        self.to_file("error", &msg);
    }

    /// A warning (the runtime goes on): into the --log file, else on
    /// stderr, where runc's logger puts its warnings.
    pub fn warn(&self, msg: &str) {
        if !self.to_file("warning", msg) {
            eprintln!("pivot: warning: {msg}");
        }
    }

    /// A `--debug` line: into the --log file, else on stderr.
    pub fn debug(&self, msg: &str, fields: Fields<'_>) {
        if !self.to_file_with("debug", msg, fields) {
            eprintln!("{}", self.line_with("debug", msg, fields));
        }
    }
}

/// A field's value in the text format: bare when logrus leaves it bare
/// (letters, digits and `-._/@^+`), else quoted.
fn text_value(v: &str) -> String {
    let bare = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if bare {
        v.to_string()
    } else {
        serde_json::Value::String(v.to_string()).to_string()
    }
}
