//! The socketpair between pivot and the container's init: typed messages,
//! one per datagram, as JSON.

use crate::error::{Error, ErrorKind, Result};
use crate::sys;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, OwnedFd};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Msg {
    /// parent -> init: the init (this host pid) is in its cgroups (and,
    /// for a user namespace made by clone3, its id maps are written): go on.
    Go(i32),
    /// init -> parent: I made a user namespace with unshare; write my maps.
    MapIds,
    /// parent -> init: maps written.
    MapsDone,
    /// init -> parent: the real init is this pid (after a second fork).
    Pid(i32),
    /// init -> parent: mounts are done; run prestart and createRuntime.
    Hooks,
    /// parent -> init: those hooks succeeded.
    HooksDone,
    /// init -> parent: the seccomp notify fd rides along; pass it to the
    /// listener.
    SeccompFd,
    /// parent -> init: the listener has it.
    SeccompDone,
    /// init -> parent: the filter is compiled while I set up; hand it over.
    SeccompFilter,
    /// parent -> init: the compiled program, in a memfd that rides along,
    /// and how to load it.
    SeccompProgram { flags: u32, notify: bool },
    /// init -> parent: in a user namespace, my root may not reach the
    /// source of mounts[index]; open it from the host's user namespace.
    OpenSource(usize),
    /// parent -> init: an O_PATH handle on that source, opened in the
    /// init's mount namespace, rides along (none if it could not be).
    /// Also the answer to IdmapTree, with the detached mount.
    Source,
    /// init -> parent: in a user namespace, the kernel refuses me
    /// MOUNT_ATTR_IDMAP; clone mounts[index]'s source idmapped from the
    /// host's user namespace (answer: Source, or Failed).
    IdmapTree(usize),
    /// init -> parent (with --debug): the durations of its steps so far,
    /// name and nanoseconds, for the parent to log (debug.rs).
    Steps(Vec<(String, u64)>),
    /// init -> parent: set up and about to wait for `start`.
    Ready,
    /// init -> parent: failed; the chain as text.
    Failed {
        errno: i32,
        invalid: bool,
        text: String,
    },
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    pub fn new(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = sys::socketpair()?;
        Ok((Channel::new(a), Channel::new(b)))
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        let data = serde_json::to_vec(msg).map_err(|e| Error::other(e.to_string()))?;
        sys::send_msg(self.fd.as_fd(), &data, None)
    }

    /// Send a message carrying an fd.
    pub fn send_fd(&self, msg: &Msg, fd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
        let data = serde_json::to_vec(msg).map_err(|e| Error::other(e.to_string()))?;
        sys::send_msg(self.fd.as_fd(), &data, Some(fd))
    }

    /// The next message, or None when the peer has gone.
    pub fn recv(&self) -> Result<Option<Msg>> {
        Ok(self.recv_fd()?.0)
    }

    /// The next message and the fd it carried, if any.
    pub fn recv_fd(&self) -> Result<(Option<Msg>, Option<OwnedFd>)> {
        let (data, fd) = sys::recv_msg(self.fd.as_fd())?;
        if data.is_empty() {
            return Ok((None, None));
        }
        serde_json::from_slice(&data)
            .map(|m| (Some(m), fd))
            .map_err(|e| Error::other(format!("init channel: bad message: {e}")))
    }

    /// Report an error to the parent.
    pub fn send_error(&self, e: &Error) {
        let (errno, invalid) = match e.kind() {
            ErrorKind::Os(n) => (n, false),
            ErrorKind::InvalidInput => (0, true),
            _ => (0, false),
        };
        let _ = self.send(&Msg::Failed {
            errno,
            invalid,
            text: e.to_string(),
        });
    }

    /// Wait for `Go` and return the host pid it carries.
    pub fn expect_go(&self) -> Result<i32> {
        match self.recv()? {
            Some(Msg::Go(pid)) => Ok(pid),
            Some(m) => Err(Error::other(format!(
                "init channel: expected Go, got {m:?}"
            ))),
            None => Err(Error::other("init channel: closed while waiting for Go")),
        }
    }

    pub fn expect(&self, want: Msg) -> Result<()> {
        match self.recv()? {
            Some(m) if m == want => Ok(()),
            Some(m) => Err(Error::other(format!(
                "init channel: expected {want:?}, got {m:?}"
            ))),
            None => Err(Error::other(format!(
                "init channel: closed while waiting for {want:?}"
            ))),
        }
    }
}

/// Turn a `Failed` message back into an error.
pub fn wire_error(errno: i32, invalid: bool, text: String) -> Error {
    let kind = if errno != 0 {
        ErrorKind::Os(errno)
    } else if invalid {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Other
    };
    Error::from_wire(kind, text)
}
