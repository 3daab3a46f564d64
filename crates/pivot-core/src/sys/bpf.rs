//! bpf(2): load and attach the cgroup v2 device program.

use super::*;

/// `bpf(BPF_PROG_LOAD)` of a BPF_PROG_TYPE_CGROUP_DEVICE program given as
/// raw 8-byte instructions; returns the program fd.
pub fn bpf_load_cgroup_device(insns: &[u64]) -> Result<OwnedFd> {
    #[repr(C)]
    #[derive(Default)]
    struct LoadAttr {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
    }
    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    let license = c"Apache";
    let attr = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: attr points to a properly sized, initialised bpf_attr prefix
    // whose pointers (insns, license) outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const LoadAttr,
            std::mem::size_of::<LoadAttr>() as u32,
        )
    };
    check(r, || {
        format!(
            "bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, {} insns)",
            insns.len()
        )
    })
    .map(owned)
}

/// `bpf(BPF_PROG_ATTACH)` of a device program to a cgroup2 directory, with
/// BPF_F_ALLOW_MULTI (as runc attaches it).
pub fn bpf_attach_cgroup_device(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    #[repr(C)]
    struct AttachAttr {
        target_fd: u32,
        attach_bpf_fd: u32,
        attach_type: u32,
        attach_flags: u32,
        replace_bpf_fd: u32,
    }
    const BPF_PROG_ATTACH: libc::c_long = 8;
    const BPF_CGROUP_DEVICE: u32 = 6;
    const BPF_F_ALLOW_MULTI: u32 = 2;
    let attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is a fully initialised bpf_attr prefix for PROG_ATTACH;
    // both fds are live for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const AttachAttr,
            std::mem::size_of::<AttachAttr>() as u32,
        )
    };
    check(r, || {
        format!(
            "bpf(BPF_PROG_ATTACH, {}, {}, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)",
            cgroup.as_raw_fd(),
            prog.as_raw_fd()
        )
    })
    .map(drop)
}
