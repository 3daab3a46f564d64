//! CRIU's RPC service, as runc drives it: `criu swrk FD` on one end of a
//! SOCK_SEQPACKET pair, one request, notifications answered as they come
//! (the pty master of a restored terminal arrives with one), then the
//! response. Only what `checkpoint` and `restore` use is encoded.

pub mod proto;

use crate::error::{Context, Error, ErrorKind, Result};
use crate::sys;
use proto::{Message, Writer};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// criu_req_type values.
pub const DUMP: u64 = 1;
pub const RESTORE: u64 = 2;
pub const PRE_DUMP: u64 = 4;
const NOTIFY: u64 = 6;

/// criu_cg_mode values, by the names runc's --manage-cgroups-mode takes.
pub fn cgroup_mode(name: &str) -> Result<u64> {
    Ok(match name {
        "ignore" => 0,
        "soft" => 3,
        "full" => 4,
        "strict" => 5,
        _ => {
            return Err(Error::invalid(format!(
                "--manage-cgroups-mode: {name:?} is not one of ignore, soft, full, strict"
            )))
        }
    })
}

/// criu_opts: the fields pivot sets (field numbers from rpc.proto).
#[derive(Debug, Clone, Default)]
pub struct Opts {
    pub images_dir_fd: i32,
    pub pid: Option<i32>,
    pub leave_running: bool,
    pub ext_unix_sk: bool,
    pub tcp_established: bool,
    pub evasive_devices: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub log_level: i32,
    pub log_file: String,
    /// The page server (address, port) of a lazy or remote dump.
    pub page_server: Option<(String, i32)>,
    pub notify_scripts: bool,
    pub root: String,
    pub parent_img: Option<String>,
    pub track_mem: bool,
    pub auto_dedup: bool,
    pub work_dir_fd: Option<i32>,
    /// (key, value): at dump a mountpoint and the name it is saved under,
    /// at restore that name and the host path mounted there.
    pub ext_mnt: Vec<(String, String)>,
    pub manage_cgroups: bool,
    /// (controllers, path): where the restored tree's cgroup is in each
    /// hierarchy (no controllers: every hierarchy not named).
    pub cg_root: Vec<(Option<String>, String)>,
    pub rst_sibling: bool,
    /// (key, fd): a file of the dumped tree (`pipe:[N]`, `extRootNetNS`)
    /// that the restore takes from this fd of criu's.
    pub inherit_fd: Vec<(String, i32)>,
    pub manage_cgroups_mode: Option<u64>,
    pub external: Vec<String>,
    pub empty_ns: u32,
    pub freeze_cgroup: Option<String>,
    pub lazy_pages: bool,
    pub orphan_pts_master: bool,
    pub config_file: Option<String>,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
}

impl Opts {
    fn encode(&self) -> Writer {
        let mut w = Writer::default();
        w.int32(1, self.images_dir_fd);
        if let Some(pid) = self.pid {
            w.int32(2, pid);
        }
        w.flag(3, self.leave_running)
            .flag(4, self.ext_unix_sk)
            .flag(5, self.tcp_established)
            .flag(6, self.evasive_devices)
            .flag(7, self.shell_job)
            .flag(8, self.file_locks)
            .int32(9, self.log_level)
            .string(10, &self.log_file);
        if let Some((address, port)) = &self.page_server {
            let mut ps = Writer::default();
            ps.string(1, address).int32(2, *port);
            w.message(11, &ps);
        }
        w.flag(12, self.notify_scripts).string(13, &self.root);
        if let Some(p) = &self.parent_img {
            w.string(14, p);
        }
        w.flag(15, self.track_mem).flag(16, self.auto_dedup);
        if let Some(fd) = self.work_dir_fd {
            w.int32(17, fd);
        }
        for (key, val) in &self.ext_mnt {
            let mut m = Writer::default();
            m.string(1, key).string(2, val);
            w.message(23, &m);
        }
        w.flag(24, self.manage_cgroups);
        for (ctrl, path) in &self.cg_root {
            let mut m = Writer::default();
            if let Some(c) = ctrl {
                m.string(1, c);
            }
            m.string(2, path);
            w.message(25, &m);
        }
        w.flag(26, self.rst_sibling);
        for (key, fd) in &self.inherit_fd {
            let mut m = Writer::default();
            m.string(1, key).int32(2, *fd);
            w.message(27, &m);
        }
        if let Some(mode) = self.manage_cgroups_mode {
            w.uint(34, mode);
        }
        for e in &self.external {
            w.string(37, e);
        }
        if self.empty_ns != 0 {
            w.uint(38, self.empty_ns as u64);
        }
        if let Some(c) = &self.freeze_cgroup {
            w.string(44, c);
        }
        w.flag(48, self.lazy_pages);
        w.flag(50, self.orphan_pts_master);
        if let Some(c) = &self.config_file {
            w.string(51, c);
        }
        if let Some(p) = &self.lsm_profile {
            w.string(53, p);
        }
        if let Some(c) = &self.lsm_mount_context {
            w.string(63, c);
        }
        w
    }
}

/// A notification criu sends during a request: the action script name
/// ("post-dump", "setup-namespaces", "post-restore", "orphan-pts-master",
/// ...), the pid it concerns and the fd it carried, if any.
pub struct Notification {
    pub script: String,
    pub pid: i32,
    pub fd: Option<OwnedFd>,
}

/// What the final response said that callers use.
#[derive(Debug, Default)]
pub struct Response {
    /// RESTORE: the restored tree's root, in pivot's pid namespace.
    pub restored_pid: Option<i32>,
}

/// How criu's standard streams are set: a restore gives the restored
/// tree pivot's own (its `pipe:[N]` stdio is inherited from them).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    Null,
    Inherit,
}

fn request(kind: u64, opts: Option<&Opts>, notify_success: Option<bool>) -> Writer {
    let mut w = Writer::default();
    w.uint(1, kind);
    if let Some(o) = opts {
        w.message(2, &o.encode());
    }
    if let Some(ok) = notify_success {
        w.uint(3, ok as u64);
    }
    w
}

/// Run one request through `criu swrk`. `pass` are fds criu must inherit
/// (the numbers named in `opts`); `on_notify` answers each notification,
/// and its error aborts the request. `log` names the log for errors.
pub fn call(
    kind: u64,
    opts: &Opts,
    pass: &[BorrowedFd<'_>],
    stdio: Stdio,
    log: &Path,
    on_notify: &mut dyn FnMut(Notification) -> Result<()>,
) -> Result<Response> {
    let (ours, theirs) = sys::socketpair()?;
    let mut inherited: Vec<BorrowedFd<'_>> = pass.to_vec();
    inherited.push(theirs.as_fd());
    for fd in &inherited {
        sys::set_cloexec(*fd, false)?;
    }
    let mut cmd = std::process::Command::new("criu");
    cmd.arg("swrk").arg(theirs.as_raw_fd().to_string());
    if stdio == Stdio::Null {
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    let spawned = cmd.spawn();
    for fd in &inherited {
        let _ = sys::set_cloexec(*fd, true);
    }
    drop(theirs);
    let mut child = spawned.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::Unsupported,
                "criu is not installed: checkpoint and restore need criu (3.11 or newer) in PATH",
            )
        } else {
            Error::io("start criu swrk", e)
        }
    })?;
    crate::debug::log(|| format!("criu swrk (pid {}): request type {kind}", child.id()));
    let r = converse(kind, opts, ours.as_fd(), log, on_notify);
    drop(ours);
    let status = child.wait().map_err(|e| Error::io("wait for criu", e))?;
    let resp = r?;
    if !status.success() {
        crate::debug::log(|| format!("criu swrk exited with {status} after answering"));
    }
    Ok(resp)
}

/// The first error CRIU logged, which is usually the cause.
fn first_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("Error ("))?;
    // "(00.015545) Error (criu/vdso.c:381): vdso: ..." without the time.
    Some(line[line.find("Error (")?..].to_string())
}

fn converse(
    kind: u64,
    opts: &Opts,
    sock: BorrowedFd<'_>,
    log: &Path,
    on_notify: &mut dyn FnMut(Notification) -> Result<()>,
) -> Result<Response> {
    let see_log = || format!("see {}", log.display());
    sys::send_msg(sock, request(kind, Some(opts), None).finish(), None)
        .ctx("criu: send request")?;
    let mut failed: Option<Error> = None;
    loop {
        let (buf, fd) = sys::recv_msg(sock).ctx("criu: read response")?;
        if buf.is_empty() {
            return Err(failed.unwrap_or_else(|| {
                Error::other(format!("criu exited without answering ({})", see_log()))
            }));
        }
        let resp = Message::parse(&buf)?;
        let rtype = resp.uint(1).unwrap_or(0);
        if rtype == NOTIFY {
            let n = resp.message(5)?;
            let note = Notification {
                script: n.as_ref().and_then(|n| n.string(1)).unwrap_or_default(),
                pid: n.as_ref().and_then(|n| n.int32(2)).unwrap_or(0),
                fd,
            };
            crate::debug::log(|| format!("criu notification {:?} (pid {})", note.script, note.pid));
            let script = note.script.clone();
            let ok = match on_notify(note) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e.context(format!("criu notification {script:?}")));
                    false
                }
            };
            sys::send_msg(sock, request(NOTIFY, None, Some(ok)).finish(), None)
                .ctx("criu: answer notification")?;
            continue;
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if !resp.flag(2) {
            let msg = resp.string(9).unwrap_or_default();
            let errno = resp.int32(7).unwrap_or(0);
            let mut text = String::from("criu failed");
            if !msg.is_empty() {
                text.push_str(&format!(": {}", msg.trim()));
            }
            if errno != 0 {
                text.push_str(&format!(" ({})", crate::error::errno_name(errno)));
            }
            if let Some(line) = first_error(log) {
                text.push_str(&format!(": {line}"));
            }
            return Err(Error::other(format!("{text}; {}", see_log())));
        }
        if rtype != kind {
            return Err(Error::other(format!(
                "criu answered request type {kind} with type {rtype}"
            )));
        }
        let restored_pid = resp.message(4)?.and_then(|m| m.int32(1));
        return Ok(Response { restored_pid });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opts_encode_the_fields_criu_reads() {
        let o = Opts {
            images_dir_fd: 5,
            pid: Some(123),
            log_level: 4,
            log_file: "dump.log".into(),
            root: "/r".into(),
            ext_mnt: vec![("/a".into(), "/b".into())],
            inherit_fd: vec![("pipe:[7]".into(), 0)],
            cg_root: vec![(None, "/x".into())],
            orphan_pts_master: true,
            ..Default::default()
        };
        let w = request(DUMP, Some(&o), None);
        let req = Message::parse(w.finish()).unwrap();
        assert_eq!(req.uint(1), Some(DUMP));
        let opts = req.message(2).unwrap().unwrap();
        assert_eq!(opts.int32(1), Some(5));
        assert_eq!(opts.int32(2), Some(123));
        assert_eq!(opts.string(10).as_deref(), Some("dump.log"));
        assert_eq!(opts.string(13).as_deref(), Some("/r"));
        assert!(opts.flag(50));
        assert!(!opts.flag(3));
        let ext = opts.message(23).unwrap().unwrap();
        assert_eq!(ext.string(1).as_deref(), Some("/a"));
        assert_eq!(ext.string(2).as_deref(), Some("/b"));
        let inh = opts.message(27).unwrap().unwrap();
        assert_eq!(inh.string(1).as_deref(), Some("pipe:[7]"));
        assert_eq!(inh.int32(2), Some(0));
        let cg = opts.message(25).unwrap().unwrap();
        assert_eq!(cg.string(1), None);
        assert_eq!(cg.string(2).as_deref(), Some("/x"));
    }

    #[test]
    fn cgroup_modes_are_criu_values() {
        assert_eq!(cgroup_mode("soft").unwrap(), 3);
        assert_eq!(cgroup_mode("strict").unwrap(), 5);
        assert!(cgroup_mode("hard").is_err());
    }
}
