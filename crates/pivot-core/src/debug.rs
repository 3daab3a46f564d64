//! `--debug` lines: pivot-core does not print; the command line installs a
//! sink once (with `--debug`) and the steps of create, start and exec
//! report their milestones to it. Without a sink nothing is formatted.
//!
//! The milestones carry the names runc's debug output uses ("nsexec
//! container setup", "child process in init()", ...), so that tools and
//! tests that look for them in a runc log find them in pivot's.
//!
//! Steps are timed too: `step` runs a closure and, with a sink, reports one
//! line `msg="step done" step=NAME duration=1.234ms` (logrus fields, as in
//! runc's log; the duration parses with Go's time.ParseDuration). Names are
//! paths: `create/cgroups` is a step of `create`, `create/init/rootfs/...`
//! one of the init's. The steps directly below a command cover it, so they
//! add up to about the command's own line. The container's init cannot
//! reach the log itself (it has left the host's mount namespace), so it
//! holds its steps (`hold_steps`) and sends them to the parent, which
//! reports them (`report_held`). Lines logged inside a step (its nested
//! steps, milestones) wait until the outermost step ends, so that writing
//! them costs no step any time. Without --debug, `step` is one check of a static and the closure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A line's logrus fields after `msg`, in order.
pub type Fields<'a> = &'a [(&'a str, String)];

type Sink = Box<dyn Fn(&str, Fields<'_>) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Steps timed in a process that cannot log them itself (the init): name
/// and nanoseconds, in the order they ended.
static HELD: Mutex<Option<Vec<(String, u64)>>> = Mutex::new(None);

/// How many steps are running (nested); while any is, lines wait in
/// PENDING.
static DEPTH: AtomicUsize = AtomicUsize::new(0);
static PENDING: Mutex<Vec<Line>> = Mutex::new(Vec::new());

/// A line waiting for the outermost step to end.
enum Line {
    Msg(String),
    Step(String, Duration),
}

impl Line {
    fn write(self, sink: &Sink) {
        match self {
            Line::Msg(m) => sink(&m, &[]),
            Line::Step(name, d) => sink("step done", &[("step", name), ("duration", duration(d))]),
        }
    }
}

/// Install the sink (the first call wins).
pub fn set_sink(f: impl Fn(&str, Fields<'_>) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(f));
}

/// Whether debug lines are wanted.
pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// Report one line; `msg` is only called when a sink is installed.
pub fn log(msg: impl FnOnce() -> String) {
    if let Some(sink) = SINK.get() {
        let held = HELD.lock().map(|h| h.is_some()).unwrap_or(false);
        if !held && DEPTH.load(Ordering::SeqCst) > 0 {
            if let Ok(mut pending) = PENDING.lock() {
                pending.push(Line::Msg(msg()));
                return;
            }
        }
        sink(&msg(), &[]);
    }
}

/// Run `f` as the step `name` and, with --debug, report its duration.
pub fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let t0 = Instant::now();
    DEPTH.fetch_add(1, Ordering::SeqCst);
    let r = f();
    DEPTH.fetch_sub(1, Ordering::SeqCst);
    record(name, t0.elapsed());
    r
}

/// Report that the step `name` took `d` (or hold it, in the init).
pub fn record(name: &str, d: Duration) {
    let Some(sink) = SINK.get() else {
        return;
    };
    if let Ok(mut held) = HELD.lock() {
        if let Some(v) = held.as_mut() {
            v.push((name.to_string(), d.as_nanos() as u64));
            return;
        }
    }
    let Ok(mut pending) = PENDING.lock() else {
        return;
    };
    pending.push(Line::Step(name.to_string(), d));
    if DEPTH.load(Ordering::SeqCst) > 0 {
        return;
    }
    for line in pending.drain(..) {
        line.write(sink);
    }
}

/// From now on this process holds its steps instead of reporting them
/// (the init, whose log lines go through the parent).
pub fn hold_steps() {
    if enabled() {
        if let Ok(mut held) = HELD.lock() {
            *held = Some(Vec::new());
        }
        // The parent's waiting lines are the parent's to write.
        if let Ok(mut pending) = PENDING.lock() {
            pending.clear();
        }
    }
}

/// The steps held so far (emptied).
pub fn take_held() -> Vec<(String, u64)> {
    HELD.lock()
        .ok()
        .and_then(|mut h| h.as_mut().map(std::mem::take))
        .unwrap_or_default()
}

/// Report steps another process held, each under `prefix/`.
pub fn report_held(prefix: &str, steps: &[(String, u64)]) {
    for (name, ns) in steps {
        record(&format!("{prefix}/{name}"), Duration::from_nanos(*ns));
    }
}

/// Milliseconds with microsecond precision: "1.234ms" (Go's
/// time.ParseDuration reads it).
pub fn duration(d: Duration) -> String {
    format!("{:.3}ms", d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_milliseconds_with_three_decimals() {
        assert_eq!(duration(Duration::from_micros(1234)), "1.234ms");
        assert_eq!(duration(Duration::from_nanos(999)), "0.001ms");
        assert_eq!(duration(Duration::from_secs(2)), "2000.000ms");
    }

    #[test]
    fn without_a_sink_a_step_only_runs() {
        // No sink is installed in unit tests: nothing is held or reported.
        hold_steps();
        assert_eq!(step("x", || 7), 7);
        assert!(take_held().is_empty());
    }
}
