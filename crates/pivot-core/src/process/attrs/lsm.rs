//! process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
//!
//! With the LSM enabled, the init asks for the profile or label to take
//! effect at its execve, by writing its own /proc/thread-self/attr file
//! (what libapparmor's aa_change_onexec and go-selinux's SetExecLabel do),
//! through a procfs of its own where it can make one, walked without
//! crossing a mount or following a link (as libpathrs does for runc), so
//! that no mount the container made can redirect the write.
//!
//! With the LSM disabled, runc fails: its write of the AppArmor exec attr
//! is refused by the kernel, its validator rejects an SELinux process label
//! ("selinux label is specified in config, but selinux is disabled or not
//! supported"), and a mount label becomes a `context=` option the kernel
//! does not know ("tmpfs: Unknown parameter 'context'"). pivot says so
//! before anything is made. Labelling mounts is not done yet.

use crate::error::{Context, Error, Result};
use crate::hostcheck::{apparmor_enabled, selinux_enabled};
use crate::procfs::ProcFs;
use crate::spec::types::Process;
use crate::spec::Plan;
use crate::sys;
use std::os::fd::AsFd;

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
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
/// /proc/thread-self/attr, opened so that nothing mounted in the procfs
/// can stand in for it (ProcFs::open_thread_self); the file must be on
/// procfs too.
fn write_attr(proc: &ProcFs, rel: &str, value: &str) -> Result<()> {
    let f = proc.open_thread_self(&format!("attr/{rel}"), libc::O_WRONLY)?;
    let st = sys::fstatfs(f.as_fd())?;
    if st.f_type as i64 != sys::PROC_SUPER_MAGIC {
        return Err(Error::other(format!(
            "/proc/thread-self/attr/{rel} is not on procfs (f_type {:#x})",
            st.f_type
        )));
    }
    sys::write(f.as_fd(), value.as_bytes()).map(drop)
}

/// Runs in the process about to exec (the init, or one `pivot exec`
/// starts), inside the container, before the user switch. `own` is a
/// procfs the process made itself (the init's, before the root switch);
/// without one a new detached instance is made, and where that is not
/// allowed the container's /proc (checked) is used.
pub fn apply(p: &Process, own: Option<&ProcFs>) -> Result<()> {
    let profile = non_empty(&p.apparmor_profile);
    let label = non_empty(&p.selinux_label);
    if profile.is_none() && label.is_none() {
        return Ok(());
    }
    let made;
    let proc = match own {
        Some(p) => p,
        None => {
            made = ProcFs::new_instance().or_else(|_| ProcFs::open())?;
            &made
        }
    };
    if let Some(p) = profile {
        let value = format!("exec {p}");
        // Kernels with LSM stacking have AppArmor's own directory; older
        // ones only the shared attr files.
        match write_attr(proc, "apparmor/exec", &value) {
            Err(e) if e.is_errno(sys::Errno::NOENT) => write_attr(proc, "exec", &value),
            r => r,
        }
        .with_ctx(|| format!("process.apparmorProfile {p:?}"))?;
    }
    if let Some(l) = label {
        write_attr(proc, "exec", l).with_ctx(|| format!("process.selinuxLabel {l:?}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attr files are reached through thread-self on the handle's own
    /// mount; a path that leaves this thread's directory is refused.
    #[test]
    fn thread_self_files_only() {
        let Ok(proc) = ProcFs::open() else { return };
        // attr/current exists wherever CONFIG_SECURITY does; opening
        // (not reading) it is enough.
        match proc.open_thread_self("attr/current", libc::O_RDONLY) {
            Ok(_) => {}
            Err(e) => assert!(e.is_errno(sys::Errno::NOENT), "{e}"),
        }
        for bad in ["../1/attr/exec", "attr/../../x", "", "attr//exec"] {
            assert!(
                proc.open_thread_self(bad, libc::O_RDONLY).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    /// Another procfs file bound over this thread's attr file (what root
    /// in a container can do to the /proc an exec goes through) is
    /// refused. As root only, in a child in a mount namespace of its own.
    #[test]
    fn a_file_mounted_over_the_attr_file_is_refused() {
        if sys::getuid() != 0 {
            return;
        }
        match sys::fork().unwrap() {
            sys::Forked::Child => {
                let code = (|| -> Result<i32> {
                    sys::unshare(libc::CLONE_NEWNS as u64)?;
                    sys::mount(None, "/", None, libc::MS_REC | libc::MS_SLAVE, None)?;
                    let proc = ProcFs::open()?;
                    let me = sys::readlinkat(proc.dir(), "thread-self")?;
                    let target = format!("/proc/{me}/attr/exec");
                    let source = format!("/proc/{me}/attr/prev");
                    if sys::fstatat(sys::cwd(), &target, 0).is_err() {
                        return Ok(0); // no LSM attrs in this kernel
                    }
                    sys::mount(Some(&source), &target, None, libc::MS_BIND, None)?;
                    // A plain walk lands on the other file, still procfs.
                    let plain =
                        sys::openat(proc.dir(), "thread-self/attr/exec", sys::OFlags::RDONLY, 0)?;
                    if sys::fstat(plain.as_fd())?.st_ino
                        != sys::fstatat(sys::cwd(), &source, 0)?.st_ino
                    {
                        return Ok(3);
                    }
                    Ok(match proc.open_thread_self("attr/exec", libc::O_WRONLY) {
                        Ok(_) => 1,
                        Err(_) => 0,
                    })
                })()
                .unwrap_or(2);
                sys::exit_now(code)
            }
            sys::Forked::Parent { pid, .. } => {
                let (_, status) = sys::waitpid(pid, 0).unwrap();
                assert!(libc::WIFEXITED(status), "status {status:#x}");
                assert_eq!(
                    libc::WEXITSTATUS(status),
                    0,
                    "1: the attr file was opened through the mount over it; 2: setup failed; 3: the mount did not show"
                );
            }
        }
    }
}
