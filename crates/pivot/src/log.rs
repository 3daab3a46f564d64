//! Error reporting as runc does it: the message on stderr, and with --log a
//! line in the log file, as JSON (`{"level","msg","time"}`, which
//! containerd's shim reads) or logrus-style text.

use crate::cli::{Global, LogFormat};
use pivot_core::time::now_rfc3339;
use std::io::Write;
use std::path::PathBuf;

pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Logger {
    pub fn new(g: &Global) -> Self {
        Logger {
            file: g.log.clone(),
            format: g.log_format,
        }
    }

    pub fn error(&self, msg: &impl std::fmt::Display) {
        let msg = msg.to_string();
        eprintln!("pivot: {msg}");
        if let Some(path) = &self.file {
            let line = match self.format {
                LogFormat::Json => serde_json::json!({
                    "level": "error",
                    "msg": msg,
                    "time": now_rfc3339(false),
                })
                .to_string(),
                LogFormat::Text => format!(
                    "time=\"{}\" level=error msg={}",
                    now_rfc3339(false),
                    serde_json::Value::String(msg.clone())
                ),
            };
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            if let Ok(mut f) = f {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}
