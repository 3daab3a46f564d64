//! sd_notify passthrough, as runc does it: when pivot runs with
//! NOTIFY_SOCKET set, `create` bind-mounts `<state>/notify` read-only at
//! /run/notify in the container and points the process's NOTIFY_SOCKET at
//! /run/notify/notify.sock; `start` binds that socket, releases the
//! container, waits for READY=1 and passes it, with MAINPID, to the
//! caller's socket.

use crate::error::{Context, Error, Result};
use crate::spec::types::Mount;
use crate::sys;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

pub const DIR: &str = "notify";
pub const SOCKET: &str = "notify.sock";
pub const IN_CONTAINER: &str = "/run/notify/notify.sock";

/// The caller's NOTIFY_SOCKET, if any.
pub fn host_socket() -> Option<String> {
    std::env::var("NOTIFY_SOCKET")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The mount and environment a container gets for it.
pub fn container_mount(state_dir: &Path) -> Mount {
    Mount {
        destination: "/run/notify".into(),
        kind: Some("bind".into()),
        source: Some(state_dir.join(DIR).to_string_lossy().into_owned()),
        options: ["bind", "nosuid", "noexec", "nodev", "ro"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    }
}

/// Bind `<state>/notify/notify.sock` for the container to send to.
pub fn listen(state_dir: &Path) -> Result<OwnedFd> {
    let path = state_dir.join(DIR).join(SOCKET);
    let _ = std::fs::remove_file(&path);
    sys::sock::unix_dgram_bind(&path.to_string_lossy()).ctx("NOTIFY_SOCKET")
}

/// Wait (while `alive` says the container lives) for a message with
/// READY=1 and pass it on to `host` with the container's MAINPID.
pub fn forward_ready(sock: &OwnedFd, host: &str, pid: i32, alive: impl Fn() -> bool) -> Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        if sys::poll_in(sock.as_fd(), 100)?.readable() {
            let n = sys::read(sock.as_fd(), &mut buf)?;
            let msg = String::from_utf8_lossy(&buf[..n]);
            if msg.lines().any(|l| l.trim() == "READY=1") {
                // As runc: the container's message, then the pid systemd
                // is to watch, as two datagrams.
                let host_sock = sys::sock::unix_dgram_unbound()?;
                let send = |text: String| {
                    sys::sock::unix_dgram_send(host_sock.as_fd(), host, text.as_bytes())
                        .ctx("NOTIFY_SOCKET: pass READY=1 on")
                };
                send(format!("{}\n", msg.trim_end()))?;
                return send(format!("MAINPID={pid}\n"));
            }
        } else if !alive() {
            return Err(Error::other(
                "NOTIFY_SOCKET: the container exited before it sent READY=1",
            ));
        }
    }
}
