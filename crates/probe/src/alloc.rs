//! `probe alloc MIB`: allocate and touch MIB mebibytes, one at a time, so a
//! memory limit's OOM killer has something to kill.

use serde_json::{json, Value};

pub fn alloc(mib: usize) -> Value {
    let mut held: Vec<Vec<u8>> = Vec::with_capacity(mib);
    for _ in 0..mib {
        // Non-zero bytes: every page is really written.
        held.push(vec![0xa5u8; 1 << 20]);
    }
    let held = std::hint::black_box(held);
    let total: usize = held.iter().map(|v| v.len()).sum();
    json!({"allocated_mib": total >> 20})
}
