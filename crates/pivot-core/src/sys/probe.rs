//! Read-only probes of what the kernel offers (`pivot check`).

use super::errno;

/// Whether the kernel has system call `nr`: it is called with fd -1,
/// null pointers and zero sizes, which every probed call refuses (EBADF,
/// EFAULT, EINVAL, EPERM) before doing anything; only ENOSYS (no such
/// call, or a seccomp filter that hides it) says it is missing. Returns
/// the errno the call failed with.
pub fn syscall_probe(nr: libc::c_long) -> (bool, i32) {
    // Only calls for which all-invalid arguments are known to be refused.
    const SAFE: &[libc::c_long] = &[
        libc::SYS_openat2,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_mount_setattr,
        libc::SYS_clone3,
        libc::SYS_pidfd_open,
        libc::SYS_pidfd_send_signal,
    ];
    assert!(
        SAFE.contains(&nr),
        "syscall {nr} is not known to be safe to probe"
    );
    let null = std::ptr::null::<libc::c_void>();
    // SAFETY: for each call in SAFE, fd -1, a null path or struct and size
    // 0 are refused by the kernel before it acts (clone3 and openat2 and
    // mount_setattr check the size first: EINVAL); nothing in this
    // process's memory is read or written.
    let r = unsafe {
        libc::syscall(
            nr,
            -1 as libc::c_long,
            null,
            null,
            0 as libc::c_long,
            0 as libc::c_long,
        )
    };
    if r == -1 {
        let e = errno();
        (e != libc::ENOSYS, e)
    } else {
        (true, 0)
    }
}
