//! One error type for the whole library: a kind to match on and a chain of
//! context, innermost first. The innermost frame names the call and its
//! arguments; outer frames name the step and the config.json field.

use std::fmt;

/// What went wrong, coarsely, for matching and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller asked for something malformed (config, flag, ID).
    InvalidInput,
    /// A container, file or bundle that was named does not exist.
    NotFound,
    /// A container with that ID exists already.
    AlreadyExists,
    /// The container is in a state where the operation is not allowed.
    InvalidState,
    /// The feature is not supported by pivot (yet) or by this host.
    Unsupported,
    /// A system call failed; the errno is kept.
    Os(i32),
    /// Something else: a protocol or internal inconsistency.
    Other,
}

/// An error with its context chain.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    /// Innermost message first; each context frame is pushed on the end.
    frames: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        Error {
            kind,
            frames: vec![msg.into()],
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, msg)
    }

    pub fn unsupported(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, msg)
    }

    pub fn other(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, msg)
    }

    /// A failed system call: `call` is the call with its arguments as the
    /// reader should see it, e.g. `openat(5, "dev/null", O_PATH)`.
    pub fn os(call: impl Into<String>, errno: i32) -> Self {
        let call = call.into();
        Error {
            kind: ErrorKind::Os(errno),
            frames: vec![format!("{call}: {}", errno_name(errno))],
        }
    }

    /// Wrap an I/O error from std with a description of what was done.
    pub fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        match err.raw_os_error() {
            Some(errno) => Self::os(what, errno),
            None => Self::other(format!("{}: {err}", what.into())),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn errno(&self) -> Option<i32> {
        match self.kind {
            ErrorKind::Os(e) => Some(e),
            _ => None,
        }
    }

    /// Add an outer frame.
    pub fn context(mut self, frame: impl Into<String>) -> Self {
        self.frames.push(frame.into());
        self
    }

    /// Rebuild an error sent across the init channel.
    pub fn from_wire(kind: ErrorKind, text: String) -> Self {
        Error {
            kind,
            frames: vec![text],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(": ")?;
            }
            f.write_str(frame)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `.ctx(...)` and `.with_ctx(|| ...)` on results, as context frames.
pub trait Context<T> {
    fn ctx(self, frame: &str) -> Result<T>;
    fn with_ctx<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn ctx(self, frame: &str) -> Result<T> {
        self.map_err(|e| e.context(frame))
    }
    fn with_ctx<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| e.context(f()))
    }
}

/// Problems gathered instead of returned at the first: every check of a
/// config runs and adds what it finds here. `create` stops at the first
/// (`into_result`), `explain` reports them all, so both see the same
/// checks in the same order.
#[derive(Debug, Default)]
pub struct Problems(Vec<Error>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, e: Error) {
        self.0.push(e);
    }
    /// Keep the error of `r`, if any; the value otherwise.
    pub fn take<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    /// Keep the error of a check; whether it passed.
    pub fn check(&mut self, r: Result<()>) -> bool {
        self.take(r).is_some()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn errors(&self) -> &[Error] {
        &self.0
    }
    /// Run a check that gathers its problems; its value, or its first
    /// problem as a check that stops there would return it.
    pub fn first<T>(check: impl FnOnce(&mut Problems) -> T) -> Result<T> {
        let mut problems = Problems::new();
        let value = check(&mut problems);
        problems.into_result().map(|()| value)
    }
    /// Whether problems were added since `errors().len()` was `before`.
    pub fn since(&self, before: usize) -> bool {
        self.0.len() > before
    }
    /// The first problem, as a check that stops there would return it.
    pub fn into_result(self) -> Result<()> {
        match self.0.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The symbolic name of an errno, as strace prints it, with the text.
pub fn errno_name(errno: i32) -> String {
    let name = linux_text::errno::name(errno).unwrap_or("");
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; keep only the description.
    let text = text.split(" (os error").next().unwrap_or("").to_string();
    if name.is_empty() {
        format!("errno {errno} ({text})")
    } else {
        format!("{name} ({text})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_reads_outermost_first() {
        let e = Error::os(
            "mount(\"tmpfs\", \"/run\", \"tmpfs\", MS_NOSUID, \"mode=755\")",
            libc::EINVAL,
        )
        .context("mounts[3]")
        .context("prepare rootfs");
        assert_eq!(
            e.to_string(),
            "prepare rootfs: mounts[3]: mount(\"tmpfs\", \"/run\", \"tmpfs\", MS_NOSUID, \"mode=755\"): EINVAL (Invalid argument)"
        );
        assert_eq!(e.errno(), Some(libc::EINVAL));
    }
}
