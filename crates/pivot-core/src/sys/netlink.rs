//! rtnetlink: moving network devices and their addresses between
//! network namespaces.

use super::*;

/// The index of a network interface in the caller's network namespace.
pub fn if_nametoindex(name: &str) -> Result<u32> {
    c(name)?;
    let what = || format!("if_nametoindex({name:?})");
    // As glibc's: SIOCGIFINDEX on a socket of the caller's namespace.
    let sock = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::DGRAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    );
    let sock = rx(sock, what)?;
    rx(rustix::net::netdevice::name_to_index(&sock, name), what)
}

/// A NETLINK_ROUTE socket. It belongs to the network namespace the caller
/// was in when it opened it, and stays there when the caller moves on.
pub struct Rtnl {
    fd: OwnedFd,
}

/// A permanent, global address of an interface, as RTM_GETADDR gave it:
/// enough to add it again elsewhere (address, local, broadcast; flags the
/// user can set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    family: u8,
    prefixlen: u8,
    scope: u8,
    flags: u32,
    attrs: Vec<(u16, Vec<u8>)>,
}

impl std::fmt::Display for IfAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let find = |k| self.attrs.iter().find(|(kind, _)| *kind == k);
        let ip = find(IFA_LOCAL)
            .or_else(|| find(IFA_ADDRESS))
            .map(|(_, b)| b);
        match ip.map(|b| b.as_slice()) {
            Some(&[a, b, c, d]) => write!(f, "{}", std::net::Ipv4Addr::new(a, b, c, d))?,
            Some(b) if b.len() == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(b);
                write!(f, "{}", std::net::Ipv6Addr::from(o))?
            }
            _ => write!(f, "family {} address", self.family)?,
        }
        write!(f, "/{}", self.prefixlen)
    }
}

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
/// NODAD, HOMEADDRESS, MANAGETEMPADDR, NOPREFIXROUTE, MCAUTOJOIN: what an
/// address was added with, as opposed to its state (tentative, ...).
const IFA_F_SETTABLE: u32 = 0x02 | 0x10 | 0x100 | 0x200 | 0x400;
const RT_SCOPE_UNIVERSE: u8 = 0;

/// Append one netlink attribute (struct nlattr, padded to 4 bytes).
fn push_nlattr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// The attributes of a message payload after its `skip`-byte header.
fn nlattrs(body: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = skip;
    while at + 4 <= body.len() {
        let len = u16::from_ne_bytes([body[at], body[at + 1]]) as usize;
        // Without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        let kind = u16::from_ne_bytes([body[at + 2], body[at + 3]]) & 0x3fff;
        if len < 4 || at + len > body.len() {
            break;
        }
        out.push((kind, &body[at + 4..at + len]));
        at += len.next_multiple_of(4);
    }
    out
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

impl Rtnl {
    /// A socket in the caller's current network namespace.
    pub fn open() -> Result<Rtnl> {
        let r = rustix::net::socket_with(
            rustix::net::AddressFamily::NETLINK,
            rustix::net::SocketType::RAW,
            rustix::net::SocketFlags::CLOEXEC,
            None, // NETLINK_ROUTE is protocol 0
        );
        let fd = rx(r, || "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)".into())?;
        Ok(Rtnl { fd })
    }

    /// Send one request and collect the answers (type, payload) up to its
    /// acknowledgement or, for a dump, NLMSG_DONE. A negative error in
    /// either is the request's errno, with `shown` as the call.
    fn request(
        &self,
        kind: u16,
        flags: i32,
        body: &[u8],
        shown: &str,
    ) -> Result<Vec<(u16, Vec<u8>)>> {
        let flags = (flags | libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
        msg.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel assigns it
        msg.extend_from_slice(body);
        // Port 0 is the kernel.
        let kernel = rustix::net::netlink::SocketAddrNetlink::new(0, 0);
        let send = rustix::net::SendFlags::empty();
        let r = rx_retry(|| rustix::net::sendto(&self.fd, &msg, send, &kernel));
        rx(r, || format!("sendto(NETLINK_ROUTE, {shown})"))?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let flags = rustix::net::RecvFlags::empty();
            let r = rx_retry(|| rustix::net::recv(&self.fd, &mut buf[..], flags));
            let (n, _) = rx(r, || format!("recv(NETLINK_ROUTE) for {shown}"))?;
            let mut at = 0;
            while at + 16 <= n {
                let len = ne_u32(&buf[at..]) as usize;
                let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                if len < 16 || at + len > n {
                    return Err(Error::other(format!("{shown}: malformed netlink answer")));
                }
                let payload = &buf[at + 16..at + len];
                if kind == NLMSG_ERROR || kind == NLMSG_DONE {
                    let code = if payload.len() >= 4 {
                        ne_u32(payload) as i32
                    } else {
                        0
                    };
                    if code < 0 {
                        return Err(Error::os(shown, -code));
                    }
                    return Ok(out);
                }
                out.push((kind, payload.to_vec()));
                at += len.next_multiple_of(4);
            }
        }
    }

    /// Every interface of the socket's namespace: (index, name).
    pub fn links(&self) -> Result<Vec<(u32, String)>> {
        let ifinfomsg = [0u8; 16];
        let answers = self.request(
            RTM_GETLINK,
            libc::NLM_F_DUMP,
            &ifinfomsg,
            "RTM_GETLINK(dump)",
        )?;
        Ok(answers
            .iter()
            .filter(|(kind, p)| *kind == RTM_NEWLINK && p.len() >= 16)
            .map(|(_, p)| {
                let name = nlattrs(p, 16)
                    .into_iter()
                    .find(|(k, _)| *k == IFLA_IFNAME)
                    .map(|(_, v)| {
                        String::from_utf8_lossy(v)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                    .unwrap_or_default();
                (ne_u32(&p[4..]), name)
            })
            .collect())
    }

    /// The permanent addresses of global scope of interface `index` (what
    /// the runtime-spec asks to keep when a device changes namespace).
    pub fn addresses(&self, index: u32) -> Result<Vec<IfAddr>> {
        let ifaddrmsg = [0u8; 8];
        let answers = self.request(
            RTM_GETADDR,
            libc::NLM_F_DUMP,
            &ifaddrmsg,
            "RTM_GETADDR(dump)",
        )?;
        let mut out = Vec::new();
        for (kind, p) in &answers {
            if *kind != RTM_NEWADDR || p.len() < 8 || ne_u32(&p[4..]) != index {
                continue;
            }
            let attrs = nlattrs(p, 8);
            let flags = attrs
                .iter()
                .find(|(k, v)| *k == IFA_FLAGS && v.len() == 4)
                .map_or(u32::from(p[2]), |(_, v)| ne_u32(v));
            if flags & IFA_F_PERMANENT == 0 || p[3] != RT_SCOPE_UNIVERSE {
                continue;
            }
            out.push(IfAddr {
                family: p[0],
                prefixlen: p[1],
                scope: p[3],
                flags: flags & IFA_F_SETTABLE,
                attrs: attrs
                    .into_iter()
                    .filter(|(k, _)| matches!(*k, IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST))
                    .map(|(k, v)| (k, v.to_vec()))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Move interface `index` into the network namespace `netns`, renamed
    /// `new_name` (a `%d` template lets the kernel pick the number), and
    /// bring it up there: one RTM_SETLINK, so there is no moment with a
    /// clashing name on either side.
    pub fn move_link(&self, index: u32, new_name: &str, netns: BorrowedFd<'_>) -> Result<()> {
        let name = c(new_name)?;
        let mut ifinfomsg = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
        ifinfomsg.extend_from_slice(&(index as i32).to_ne_bytes());
        let up = libc::IFF_UP as u32;
        ifinfomsg.extend_from_slice(&up.to_ne_bytes()); // ifi_flags
        ifinfomsg.extend_from_slice(&up.to_ne_bytes()); // ifi_change
        push_nlattr(&mut ifinfomsg, IFLA_IFNAME, name.as_bytes_with_nul());
        let fd = netns.as_raw_fd();
        push_nlattr(&mut ifinfomsg, IFLA_NET_NS_FD, &(fd as u32).to_ne_bytes());
        let shown = format!(
            "RTM_SETLINK(ifindex {index}, IFLA_IFNAME {new_name:?}, IFLA_NET_NS_FD {fd}, IFF_UP)"
        );
        self.request(RTM_SETLINK, 0, &ifinfomsg, &shown).map(drop)
    }

    /// Add `addr` to interface `index` of the socket's namespace.
    pub fn add_address(&self, index: u32, addr: &IfAddr) -> Result<()> {
        let mut ifaddrmsg = vec![addr.family, addr.prefixlen, 0, addr.scope];
        ifaddrmsg.extend_from_slice(&index.to_ne_bytes());
        for (kind, value) in &addr.attrs {
            push_nlattr(&mut ifaddrmsg, *kind, value);
        }
        if addr.flags != 0 {
            push_nlattr(&mut ifaddrmsg, IFA_FLAGS, &addr.flags.to_ne_bytes());
        }
        let shown = format!("RTM_NEWADDR(ifindex {index}, {addr})");
        let flags = libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        self.request(RTM_NEWADDR, flags, &ifaddrmsg, &shown)
            .map(drop)
    }
}
