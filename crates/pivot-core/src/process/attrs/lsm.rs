//! process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
//!
//! With the LSM enabled, the init asks for the profile or label to take
//! effect at its execve, by writing its own /proc/thread-self/attr file
//! (what libapparmor's aa_change_onexec and go-selinux's SetExecLabel do),
//! through a handle checked to be procfs, the file itself checked too.
//!
//! With the LSM disabled, runc fails: its write of the AppArmor exec attr
//! is refused by the kernel, its validator rejects an SELinux process label
//! ("selinux label is specified in config, but selinux is disabled or not
//! supported"), and a mount label becomes a `context=` option the kernel
//! does not know ("tmpfs: Unknown parameter 'context'"). pivot says so
//! before anything is made. Labelling mounts is not done yet.

use crate::error::{Context, Error, Result};
use crate::spec::types::Process;
use crate::spec::Plan;
use crate::sys;
use std::os::fd::{AsFd, BorrowedFd};

const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// The kernel's own answer (the module parameter), which is what decides
/// whether the exec attr can be written; securityfs need not be mounted.
fn apparmor_enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// selinuxfs mounted where the kernel mounts it (as go-selinux looks).
fn selinux_enabled() -> bool {
    super::fs_magic("/sys/fs/selinux") == Some(SELINUX_MAGIC)
}

pub fn validate(plan: &Plan) -> Result<()> {
    validate_process(&plan.process)?;
    let mount_label = plan.spec.linux.as_ref().map(|l| &l.mount_label);
    if let Some(l) = mount_label.and_then(non_empty) {
        if !selinux_enabled() {
            return Err(Error::invalid(format!(
                "linux.mountLabel: label {l:?} {NO_SELINUX}"
            )));
        }
        return Err(Error::unsupported(format!(
            "linux.mountLabel: label {l:?}: labelling mounts is not supported by pivot yet"
        )));
    }
    Ok(())
}

const NO_SELINUX: &str = "is specified, but SELinux is disabled or not supported on this host";

/// The process's own fields (also for a process `pivot exec` starts).
pub fn validate_process(process: &Process) -> Result<()> {
    if let Some(p) = non_empty(&process.apparmor_profile) {
        if !apparmor_enabled() {
            return Err(Error::invalid(format!(
                "process.apparmorProfile: profile {p:?} is specified, but AppArmor is not enabled on this host"
            )));
        }
    }
    if let Some(l) = non_empty(&process.selinux_label) {
        if !selinux_enabled() {
            return Err(Error::invalid(format!(
                "process.selinuxLabel: label {l:?} {NO_SELINUX}"
            )));
        }
    }
    Ok(())
}

/// Write one of this thread's LSM attributes: `rel` under
/// /proc/thread-self/attr. Never through a path the container could have
/// redirected: /proc and the attr file must both be procfs.
fn write_attr(proc: BorrowedFd<'_>, rel: &str, value: &str) -> Result<()> {
    let path = format!("thread-self/attr/{rel}");
    let f = sys::openat(proc, &path, libc::O_WRONLY | libc::O_NOFOLLOW, 0)?;
    let st = sys::fstatfs(f.as_fd())?;
    if st.f_type as i64 != sys::PROC_SUPER_MAGIC {
        return Err(Error::other(format!(
            "/proc/{path} is not on procfs (f_type {:#x})",
            st.f_type
        )));
    }
    sys::write(f.as_fd(), value.as_bytes()).map(drop)
}

/// Runs in the process about to exec (the init, or one `pivot exec`
/// starts), inside the container, before the user switch.
pub fn apply(p: &Process) -> Result<()> {
    let profile = non_empty(&p.apparmor_profile);
    let label = non_empty(&p.selinux_label);
    if profile.is_none() && label.is_none() {
        return Ok(());
    }
    let proc = super::proc_dir()?;
    if let Some(p) = profile {
        let value = format!("exec {p}");
        // Kernels with LSM stacking have AppArmor's own directory; older
        // ones only the shared attr files.
        match write_attr(proc.as_fd(), "apparmor/exec", &value) {
            Err(e) if e.errno() == Some(libc::ENOENT) => write_attr(proc.as_fd(), "exec", &value),
            r => r,
        }
        .with_ctx(|| format!("process.apparmorProfile {p:?}"))?;
    }
    if let Some(l) = label {
        write_attr(proc.as_fd(), "exec", l).with_ctx(|| format!("process.selinuxLabel {l:?}"))?;
    }
    Ok(())
}
