use pivot_core::spec::default::{host_default_spec, rootless_spec, to_pretty_json};
use pivot_core::{Error, ErrorKind, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Write `<bundle>/config.json`, never over an existing file.
pub fn run(bundle: &Path, rootless: bool) -> Result<i32> {
    let spec = if rootless {
        // SAFETY-free: ids of the caller, for the rootless mappings.
        let (uid, gid) = (pivot_core::sys::getuid(), pivot_core::sys::getgid());
        rootless_spec(uid, gid)
    } else {
        host_default_spec()
    };
    let path = bundle.join("config.json");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::AlreadyExists,
                    format!("File {} exists. Remove it first", path.display()),
                )
            } else {
                Error::io(format!("create {}", path.display()), e)
            }
        })?;
    f.write_all(to_pretty_json(&spec).as_bytes())
        .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
    Ok(0)
}
