//! Error and debug reporting as runc does it: errors on stderr, and with
//! --log also as a line in the log file; `--debug` lines in the log file
//! or, without --log, on stderr. Lines are JSON (`{"level","msg","time"}`,
//! which containerd's shim reads) or logrus-style text.

use crate::cli::{Global, LogFormat};
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

    fn line(&self, level: &str, msg: &str) -> String {
        match self.format {
            LogFormat::Json => serde_json::json!({
                "level": level,
                "msg": msg,
                "time": now_rfc3339(false),
            })
            .to_string(),
            LogFormat::Text => format!(
                "time=\"{}\" level={level} msg={}",
                now_rfc3339(false),
                serde_json::Value::String(msg.to_string())
            ),
        }
    }

    fn to_file(&self, level: &str, msg: &str) -> bool {
        let Some(path) = &self.file else {
            return false;
        };
        if let Ok(mut f) = self.open(path) {
            let _ = writeln!(f, "{}", self.line(level, msg));
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
    pub fn debug(&self, msg: &str) {
        if !self.to_file("debug", msg) {
            eprintln!("{}", self.line("debug", msg));
        }
    }
}
