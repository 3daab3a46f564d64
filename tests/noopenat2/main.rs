//! `noopenat2 PROGRAM [ARGS...]`: runs PROGRAM with openat2(2) failing with
//! ENOSYS, as on a kernel older than 5.6, so a runtime's fallback path
//! resolver can be tested black-box.
//!
//! A classic seccomp-BPF filter (kept across fork and exec, and by every
//! process the runtime starts) returns ERRNO(ENOSYS) for openat2 on
//! x86_64 and allows every other syscall, and every syscall of another
//! architecture (whose numbers would mean something else). Before exec it
//! checks that openat2 now fails with ENOSYS, so a test that uses it cannot
//! pass with a filter that does nothing.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

/// AUDIT_ARCH_X86_64 (EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// openat2's number on x86_64.
const NR_OPENAT2: u32 = 437;
/// Offsets in struct seccomp_data.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

fn statement(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

fn die(code: i32, msg: &str) -> ! {
    eprintln!("noopenat2: {msg}");
    std::process::exit(code);
}

fn install_filter() {
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut filter = [
        /* 0 */ statement(ld, OFFSET_ARCH),
        /* 1 */ jump(jeq, AUDIT_ARCH_X86_64, 0, 3), // other arch: 5
        /* 2 */ statement(ld, OFFSET_NR),
        /* 3 */ jump(jeq, NR_OPENAT2, 0, 1), // not openat2: 5
        /* 4 */ statement(ret, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        /* 5 */ statement(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) only sets a process flag; it
    // lets an unprivileged process install a filter too.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        die(
            125,
            &format!("PR_SET_NO_NEW_PRIVS: {}", std::io::Error::last_os_error()),
        );
    }
    // SAFETY: prog points at `filter`, which outlives the call; the kernel
    // copies the program.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const libc::sock_fprog,
            0,
            0,
        )
    };
    if rc != 0 {
        die(
            125,
            &format!("PR_SET_SECCOMP: {}", std::io::Error::last_os_error()),
        );
    }
}

/// struct open_how (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2("/") must now fail with ENOSYS.
fn check_filter() {
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: 0,
    };
    let root = c"/";
    // SAFETY: root is NUL-terminated and how is a struct open_how whose
    // size is passed along.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            root.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let err = std::io::Error::last_os_error();
    if fd >= 0 {
        // SAFETY: fd was just returned to us and is closed once.
        unsafe { libc::close(fd as i32) };
        die(125, "the filter did not stop openat2");
    }
    if err.raw_os_error() != Some(libc::ENOSYS) {
        die(125, &format!("openat2 failed with {err}, not ENOSYS"));
    }
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.is_empty() {
        die(2, "usage: noopenat2 PROGRAM [ARGS...]");
    }
    let cargs: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_else(|_| die(2, "NUL in an argument")))
        .collect();
    install_filter();
    check_filter();
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: argv is a NULL-terminated array of NUL-terminated strings
    // that live until execvp returns (it only returns on failure).
    unsafe { libc::execvp(argv[0], argv.as_ptr()) };
    die(
        127,
        &format!(
            "exec {}: {}",
            args[0].to_string_lossy(),
            std::io::Error::last_os_error()
        ),
    );
}
