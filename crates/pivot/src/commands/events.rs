use pivot_core::{Error, Result, Runtime};
use std::time::Duration;

/// `--interval`: Go-style durations (5s, 500ms, 1m, 1.5s) or plain seconds.
fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || Error::invalid(format!("--interval {s:?}: not a duration like 5s or 500ms"));
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    let d = Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
    if d.is_zero() {
        return Err(Error::invalid(format!(
            "--interval {s:?}: must be positive"
        )));
    }
    Ok(d)
}

pub fn run(rt: &Runtime, stats: bool, interval: &str, id: &str) -> Result<i32> {
    let interval = parse_interval(interval)?;
    rt.events(id, interval, stats, &mut |v| crate::out(&v.to_string()))?;
    Ok(0)
}
