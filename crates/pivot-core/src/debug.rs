//! `--debug` lines: pivot-core does not print; the command line installs a
//! sink once (with `--debug`) and the steps of create, start and exec
//! report their milestones to it. Without a sink nothing is formatted.
//!
//! The milestones carry the names runc's debug output uses ("nsexec
//! container setup", "child process in init()", ...), so that tools and
//! tests that look for them in a runc log find them in pivot's.

use std::sync::OnceLock;

type Sink = Box<dyn Fn(&str) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Install the sink (the first call wins).
pub fn set_sink(f: impl Fn(&str) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(f));
}

/// Whether debug lines are wanted.
pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// Report one line; `msg` is only called when a sink is installed.
pub fn log(msg: impl FnOnce() -> String) {
    if let Some(sink) = SINK.get() {
        sink(&msg());
    }
}
