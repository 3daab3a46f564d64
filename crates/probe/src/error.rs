//! The probe's error type and errno naming.

use std::fmt;
use std::io;

/// A failure to report as `{"error": "..."}` with exit status 1.
#[derive(Debug)]
pub struct ProbeError(String);

impl ProbeError {
    pub fn new(message: impl Into<String>) -> Self {
        ProbeError(message.into())
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, ProbeError>;

/// Attaches what was being attempted to an I/O error, naming its errno.
pub trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|err| ProbeError(format!("{what}: {}", io_error_name(&err))))
    }
}

/// The errno name of an I/O error ("EACCES"), or its text if it has no errno.
pub fn io_error_name(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => errno_name(code),
        None => err.to_string(),
    }
}

/// The symbolic name of an errno value, or "errno N" for one without.
pub fn errno_name(code: i32) -> String {
    match linux_text::errno::name(code) {
        Some(name) => name.to_owned(),
        None => format!("errno {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_errnos() {
        assert_eq!(errno_name(libc::EROFS), "EROFS");
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_name(9999), "errno 9999");
    }

    #[test]
    fn context_names_the_errno() {
        let res: io::Result<()> = Err(io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(
            res.context("open /x").unwrap_err().to_string(),
            "open /x: ENOENT"
        );
    }
}
