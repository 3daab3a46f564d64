use pivot_core::signal::parse_signal;
use pivot_core::{Result, Runtime};

pub fn run(rt: &Runtime, id: &str, signal: &str, all: bool) -> Result<i32> {
    let sig = parse_signal(signal)?;
    rt.kill(id, sig, all)?;
    Ok(0)
}
