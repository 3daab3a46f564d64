//! (tests added here)

use crate::harness::TestFn;

pub const TESTS: &[(&str, TestFn)] = &[];
