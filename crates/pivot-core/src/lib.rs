//! pivot-core: the OCI runtime as a library. No printing, no process exit:
//! every operation returns a value or an [`Error`] with its context chain.
//!
//! The split: `spec` is pure (parse, validate, plan), `sys` holds every
//! kernel call and all the `unsafe`, `rootfs` and `process` are the steps
//! of building a container, `state` and `cgroups` what outlives `create`,
//! and `container` ties them into the commands.

#![deny(unsafe_code)]

pub mod cgroups;
pub mod container;
pub mod criu;
pub mod debug;
pub mod error;
pub mod explain;
pub mod features;
pub mod hooks;
pub mod hostcheck;
pub mod intelrdt;
pub mod mountinfo;
pub mod process;
pub mod procfs;
pub mod rootfs;
pub mod rootless;
pub mod seccomp;
pub mod selfexe;
pub mod signal;
pub mod spec;
pub mod state;
pub mod sys;
pub mod time;

pub use container::checkpoint::CriuOptions;
pub use container::{CreateOptions, ExecOptions, Runtime};
pub use error::{Error, ErrorKind, Result};
