//! config.json: types, loading, the default spec, the mount-option table
//! and the validated plan. Pure: no system calls beyond reading the file.

pub mod attrs;
pub mod default;
pub mod keys;
pub mod load;
pub mod mountopts;
pub mod plan;
pub mod resources;
pub mod seccomp;
pub mod types;

pub use load::{
    decode, decode_some, load_spec, load_spec_noting, parse_json, parse_json_noting, parse_spec,
};
pub use plan::{build_plan, validate_id, MountKind, Namespaces, NsKind, Plan, PlannedMount};
pub use types::Spec;
