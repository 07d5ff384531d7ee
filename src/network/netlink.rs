//! A small synchronous rtnetlink client for the few requests a bridge network needs: create
//! a bridge or a veth pair (the peer born inside the container's namespace), attach a link
//! to a bridge, bring it up, add an address and a default route, delete a link. Each
//! request waits for the kernel's ack, so an error names the request that failed. A socket
//! stays in the network namespace it was opened in, which is how the container's side is
//! configured without entering it again. IPv6 addresses are added without duplicate
//! address detection (as docker does): the subnet is kiste's, and DAD would leave the
//! address unusable for a second after start. One nftables request too (`chain_exists`): asking
//! the kernel over netlink whether a chain is there costs microseconds, where `nft` would
//! cost a process.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_INFO_SLAVE_KIND: u16 = 4;
const IFLA_INFO_SLAVE_DATA: u16 = 5;
const IFLA_BRPORT_ISOLATED: u16 = 33;
const IFA_F_NODAD: u8 = 0x02;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_GATEWAY: u16 = 5;
const NLA_F_NESTED: u16 = 0x8000;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

/// A netlink message under construction: header, fixed part, attributes.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut buf = vec![0u8; 16];
        buf[4..6].copy_from_slice(&kind.to_ne_bytes());
        let flags = flags | (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(fixed);
        Msg { buf }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        self.pad();
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self
    }

    fn str_attr(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    /// Opens a nested attribute; `end` closes it.
    fn begin(&mut self, kind: u16) -> usize {
        self.pad();
        let at = self.buf.len();
        self.attr(kind | NLA_F_NESTED, &[]);
        at
    }

    fn end(&mut self, at: usize) {
        self.pad();
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        self.pad();
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// `struct ifinfomsg` for AF_UNSPEC with an index and flags to change.
fn ifinfo(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// What `Netlink::create_veth` makes.
pub struct VethPair<'a> {
    pub host: &'a str,
    pub peer: &'a str,
    pub mac: [u8; 6],
    pub peer_ns: RawFd,
    pub mtu: Option<u32>,
    /// The index of the bridge the host end joins.
    pub master: u32,
}

pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// A route socket in the caller's current network namespace.
    pub fn open() -> io::Result<Netlink> {
        Netlink::open_protocol(libc::NETLINK_ROUTE)
    }

    fn open_protocol(protocol: libc::c_int) -> io::Result<Netlink> {
        // SAFETY: plain socket call; the fd is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by socket.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Netlink { fd, seq: 1 })
    }

    fn request(&mut self, msg: Msg) -> io::Result<()> {
        self.seq += 1;
        let seq = self.seq;
        let bytes = msg.finish(seq);
        // SAFETY: sending our own buffer on our socket (the kernel is the default peer).
        let n = unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; 8192];
        loop {
            // SAFETY: receiving into our own buffer.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut off = 0usize;
            let n = n as usize;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap());
                let mseq = u32::from_ne_bytes(buf[off + 8..off + 12].try_into().unwrap());
                if len < 16 || off + len > n {
                    return Err(io::Error::other("malformed netlink answer"));
                }
                if mseq == seq && kind == libc::NLMSG_ERROR as u16 && len >= 20 {
                    let err = i32::from_ne_bytes(buf[off + 16..off + 20].try_into().unwrap());
                    return if err == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-err))
                    };
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Whether nftables chain `chain` of table `table` of `family` (`NFPROTO_IPV4`/`6`)
    /// exists (in this namespace).
    pub fn chain_exists(family: u8, table: &str, chain: &str) -> io::Result<bool> {
        let mut nl = Netlink::open_protocol(libc::NETLINK_NETFILTER)?;
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
        // struct nfgenmsg: family, version, resource id.
        let mut m = Msg::new(kind, 0, &[family, 0, 0, 0]);
        m.str_attr(NFTA_CHAIN_TABLE, table);
        m.str_attr(NFTA_CHAIN_NAME, chain);
        match nl.request(m) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A new bridge device `name` (down), with `mtu` when given.
    pub fn create_bridge(&mut self, name: &str, mtu: Option<u32>) -> io::Result<()> {
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        let mut m = Msg::new(libc::RTM_NEWLINK, flags, &ifinfo(0, 0, 0));
        m.str_attr(IFLA_IFNAME, name);
        if let Some(mtu) = mtu {
            m.attr(IFLA_MTU, &mtu.to_ne_bytes());
        }
        let info = m.begin(IFLA_LINKINFO);
        m.str_attr(IFLA_INFO_KIND, "bridge");
        m.end(info);
        self.request(m)
    }

    /// A veth pair: `v.host` here, up and attached to bridge `v.master`, and `v.peer`
    /// (with `v.mac`) created directly in the network namespace `v.peer_ns`, so no
    /// other process ever sees it on the host. One request: the kernel takes its lock
    /// once, where creating, attaching and bringing up took it twice, and on a busy
    /// host each wait for that lock costs milliseconds. A failure leaves neither end.
    /// (The peer cannot be brought up in the same request: the kernel opens it before
    /// it is paired, and the open fails with ENOTCONN.)
    pub fn create_veth(&mut self, v: &VethPair) -> io::Result<()> {
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        let up = libc::IFF_UP as u32;
        let mut m = Msg::new(libc::RTM_NEWLINK, flags, &ifinfo(0, up, up));
        m.str_attr(IFLA_IFNAME, v.host);
        if let Some(mtu) = v.mtu {
            m.attr(IFLA_MTU, &mtu.to_ne_bytes());
        }
        m.attr(IFLA_MASTER, &v.master.to_ne_bytes());
        let info = m.begin(IFLA_LINKINFO);
        m.str_attr(IFLA_INFO_KIND, "veth");
        let data = m.begin(IFLA_INFO_DATA);
        let p = m.begin(VETH_INFO_PEER);
        m.buf.extend_from_slice(&ifinfo(0, 0, 0));
        m.str_attr(IFLA_IFNAME, v.peer);
        m.attr(IFLA_ADDRESS, &v.mac);
        m.attr(IFLA_NET_NS_FD, &(v.peer_ns as u32).to_ne_bytes());
        if let Some(mtu) = v.mtu {
            m.attr(IFLA_MTU, &mtu.to_ne_bytes());
        }
        m.end(p);
        m.end(data);
        m.end(info);
        self.request(m)
    }

    /// Make bridge port `index` isolated: it reaches the bridge but no other isolated
    /// port (`enable_icc=false`).
    pub fn isolate_port(&mut self, index: u32) -> io::Result<()> {
        let mut m = Msg::new(libc::RTM_NEWLINK, 0, &ifinfo(index as i32, 0, 0));
        let info = m.begin(IFLA_LINKINFO);
        m.str_attr(IFLA_INFO_SLAVE_KIND, "bridge");
        let data = m.begin(IFLA_INFO_SLAVE_DATA);
        m.attr(IFLA_BRPORT_ISOLATED, &[1]);
        m.end(data);
        m.end(info);
        self.request(m)
    }

    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        let up = libc::IFF_UP as u32;
        self.request(Msg::new(
            libc::RTM_NEWLINK,
            0,
            &ifinfo(index as i32, up, up),
        ))
    }

    pub fn delete_link(&mut self, index: u32) -> io::Result<()> {
        self.request(Msg::new(libc::RTM_DELLINK, 0, &ifinfo(index as i32, 0, 0)))
    }

    pub fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> io::Result<()> {
        self.add_ip(index, IpAddr::V4(ip), prefix)
    }

    /// Add `ip/prefix` to link `index` (IPv6 without duplicate address detection).
    pub fn add_ip(&mut self, index: u32, ip: IpAddr, prefix: u8) -> io::Result<()> {
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_REPLACE) as u16;
        let mut fixed = [0u8; 8];
        fixed[1] = prefix;
        fixed[4..8].copy_from_slice(&index.to_ne_bytes());
        let octets = match ip {
            IpAddr::V4(v4) => {
                fixed[0] = libc::AF_INET as u8;
                v4.octets().to_vec()
            }
            IpAddr::V6(v6) => {
                fixed[0] = libc::AF_INET6 as u8;
                fixed[2] = IFA_F_NODAD;
                v6.octets().to_vec()
            }
        };
        let mut m = Msg::new(libc::RTM_NEWADDR, flags, &fixed);
        if ip.is_ipv4() {
            m.attr(IFA_LOCAL, &octets);
        }
        m.attr(IFA_ADDRESS, &octets);
        self.request(m)
    }

    /// The default route of `gateway`'s family through it; `replace` swaps an existing
    /// one (a network with a higher `--gw-priority` joined).
    pub fn default_route(&mut self, gateway: IpAddr, replace: bool) -> io::Result<()> {
        let flags = if replace {
            libc::NLM_F_CREATE | libc::NLM_F_REPLACE
        } else {
            libc::NLM_F_CREATE | libc::NLM_F_EXCL
        } as u16;
        let mut fixed = [0u8; 12];
        let octets = match gateway {
            IpAddr::V4(v4) => {
                fixed[0] = libc::AF_INET as u8;
                v4.octets().to_vec()
            }
            IpAddr::V6(v6) => {
                fixed[0] = libc::AF_INET6 as u8;
                v6.octets().to_vec()
            }
        };
        fixed[4] = libc::RT_TABLE_MAIN;
        fixed[5] = libc::RTPROT_BOOT;
        fixed[6] = libc::RT_SCOPE_UNIVERSE;
        fixed[7] = libc::RTN_UNICAST;
        let mut m = Msg::new(libc::RTM_NEWROUTE, flags, &fixed);
        m.attr(RTA_GATEWAY, &octets);
        self.request(m)
    }
}

/// The index of link `name` in the caller's network namespace, if it exists.
pub fn link_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_carry_their_whole_length() {
        let mut m = Msg::new(libc::RTM_NEWLINK, 0, &ifinfo(0, 0, 0));
        let info = m.begin(IFLA_LINKINFO);
        m.str_attr(IFLA_INFO_KIND, "veth");
        m.end(info);
        let bytes = m.finish(7);
        assert_eq!(bytes.len(), 16 + 16 + 4 + 12);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 48);
        let nested = u16::from_ne_bytes(bytes[32..34].try_into().unwrap());
        assert_eq!(
            nested & !NLA_F_NESTED,
            4 + 12,
            "the kind attribute is inside"
        );
    }
}
