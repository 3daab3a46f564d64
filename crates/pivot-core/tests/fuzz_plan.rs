//! A bounded fuzz run of everything pivot does with a config.json (and an
//! exec process.json) before touching the system: parsing, plan building
//! and the checks of capabilities, rlimits, sysctls, seccomp and hooks.
//! Inputs are the default spec mutated structurally (a field replaced by
//! a value of another shape, removed, or given hostile strings) and as
//! text (bytes flipped, cut, duplicated). Every input must end in Ok or a
//! clean error: no panic, no hang.
//!
//! `PIVOT_FUZZ_ITERATIONS` sets the count (default 20000, a few seconds; the CI run).

use pivot_core::spec::{self, default::default_spec};
use serde_json::{json, Value};
use std::path::Path;

/// xorshift64*: small, seedable, good enough to steer mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const STRINGS: &[&str] = &[
    "",
    "/",
    "..",
    "../../etc",
    "/proc",
    "/proc/self/fd/3",
    "a\u{0}b",
    "CAP_NOPE",
    "RLIMIT_NOPE",
    "SCMP_ACT_NOPE",
    "rbind",
    "ro",
    "rro",
    "idmap",
    "tmpcopyup",
    "mode=0755",
    "size=-1",
    "net.ipv4.ip_forward",
    "kernel.core_pattern",
    "user",
    "\u{202e}",
    "SCMP_ARCH_X86_64",
    "SCMP_CMP_MASKED_EQ",
    "/dev/null",
    "overlay",
    "x\ny",
    "-1",
    "99999999999999999999",
];

fn random_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(r.below(2) == 0),
        2 => json!([0i64, -1, 1, i64::MAX, i64::MIN, u32::MAX as i64][r.below(6)]),
        3 => json!(r.next() as f64 / 3.0),
        4 => json!(STRINGS[r.below(STRINGS.len())]),
        5 => Value::Array(
            (0..r.below(4))
                .map(|_| random_value(r, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..r.below(4) {
                m.insert(
                    STRINGS[r.below(STRINGS.len())].into(),
                    random_value(r, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

/// Replace, remove or extend one node somewhere in the tree.
fn mutate(v: &mut Value, r: &mut Rng, depth: usize) {
    let descend = depth < 6 && r.below(3) != 0;
    match v {
        Value::Object(m) if !m.is_empty() && descend => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = &keys[r.below(keys.len())];
            match r.below(6) {
                0 => {
                    m.remove(k);
                }
                1 => {
                    m.insert(k.clone(), random_value(r, depth));
                }
                _ => mutate(m.get_mut(k).unwrap(), r, depth + 1),
            }
        }
        Value::Array(a) if !a.is_empty() && descend => {
            let i = r.below(a.len());
            match r.below(5) {
                0 => {
                    a.remove(i);
                }
                1 => a.push(random_value(r, depth)),
                _ => mutate(&mut a[i], r, depth + 1),
            }
        }
        _ => *v = random_value(r, depth),
    }
}

fn mutate_text(text: &str, r: &mut Rng) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..1 + r.below(4) {
        if b.is_empty() {
            break;
        }
        let i = r.below(b.len());
        match r.below(4) {
            0 => b[i] = (r.next() & 0x7f) as u8,
            1 => {
                b.remove(i);
            }
            2 => b.truncate(i),
            _ => {
                let end = (i + r.below(32)).min(b.len());
                let chunk = b[i..end].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Everything pivot checks before it creates anything.
fn check_all(text: &str) {
    let Ok(spec) = spec::parse_spec("config.json", text) else {
        return;
    };
    let Ok(plan) = spec::build_plan("fuzz", Path::new("/bundle"), spec) else {
        return;
    };
    let _ = pivot_core::process::rlimits::validate(&plan.process.rlimits);
    let _ = pivot_core::process::caps::parse(plan.process.capabilities.as_ref(), 40);
    if let Some(l) = plan.spec.linux.as_ref() {
        if let Some(s) = l.sysctl.as_ref() {
            let _ = pivot_core::process::sysctl::validate(s, &plan.namespaces);
        }
        if let Some(s) = l.seccomp.as_ref() {
            let _ = pivot_core::seccomp::compile(s, None);
        }
    }
    if let Some(h) = plan.spec.hooks.as_ref() {
        let _ = pivot_core::hooks::validate(h);
    }
    let _ = pivot_core::process::attrs::validate(&plan);
}

#[test]
fn config_and_process_json_never_panic() {
    let iterations: usize = std::env::var("PIVOT_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut base = serde_json::to_value(default_spec()).unwrap();
    // Give the mutator seccomp, hooks and sysctl trees to work on too.
    base["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]
    });
    base["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    base["hooks"] = json!({"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 1}]});
    let mut r = Rng(0x5eed_1234_abcd_ef01);
    for i in 0..iterations {
        let mut v = base.clone();
        for _ in 0..1 + r.below(3) {
            mutate(&mut v, &mut r, 0);
        }
        let mut text = v.to_string();
        if r.below(4) == 0 {
            text = mutate_text(&text, &mut r);
        }
        let result = std::panic::catch_unwind(|| {
            check_all(&text);
            let _ = spec::parse_json::<spec::types::Process>("process.json", &text);
        });
        assert!(result.is_ok(), "iteration {i} panicked on input:\n{text}");
    }
}
