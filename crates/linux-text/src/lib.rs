//! What Linux writes as text, read one way for pivot, its in-container
//! helper `probe` and the black-box tests: mountinfo lines and errno
//! names. No dependency beyond libc's constants, so that the static
//! `probe` stays small.

#![forbid(unsafe_code)]

pub mod errno;
pub mod mountinfo;
