//! The container's processes: the channel between pivot and the init, the
//! parent's side (spawn) and the init's side (init).

pub mod attrs;
pub mod caps;
pub mod channel;
pub mod exec;
pub mod idmap;
pub mod init;
pub mod notify;
pub mod podproc;
pub mod rlimits;
pub mod spawn;
pub mod sysctl;
pub mod tty;
pub mod user;

pub use init::InitOptions;
pub use spawn::{spawn, Init};
