//! The rtnetlink messages `ipoib up` sends and reads: link and address dumps, an address added
//! or deleted, a link set up, and the link notifications of `--watch`.
//!
//! Pure byte work, as [`crate::netlink`] is for the plugin's one `RTM_GETLINK`: no I/O, every
//! length checked before it is trusted, bad input a [`MessageError`], never a panic. The
//! headers are [`crate::netlink`]'s zerocopy views.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::IpAddr;

use zerocopy::byteorder::{NativeEndian, I32, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::netlink::{
    align4, IfInfoMsg, NlMsgHdr, RtAttr, ARPHRD_INFINIBAND, IFLA_ADDRESS, IFLA_IFNAME, IFLA_LINK, NLA_TYPE_MASK,
    NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_REQUEST, RTA_HDRLEN, RTM_GETLINK, RTM_NEWLINK,
};

/// `RTM_NEWADDR`: add an address, or one address of a dump.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`: delete an address.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_GETADDR`: ask for addresses.
pub const RTM_GETADDR: u16 = 22;
/// `NLM_F_ACK`: answer with an `NLMSG_ERROR` carrying errno 0 on success.
pub const NLM_F_ACK: u16 = 4;
/// `NLM_F_DUMP`: every object of the kind (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_EXCL`: fail with `EEXIST` rather than change an existing object.
pub const NLM_F_EXCL: u16 = 0x200;
/// `NLM_F_CREATE`: create the object.
pub const NLM_F_CREATE: u16 = 0x400;
/// `IFA_ADDRESS`: the address (for a point-to-point link, the peer's).
pub const IFA_ADDRESS: u16 = 1;
/// `IFA_LOCAL`: the local address.
pub const IFA_LOCAL: u16 = 2;
/// `IFF_UP`: the link is administratively up.
pub const IFF_UP: u32 = 1;
/// `RTMGRP_LINK`: the multicast group of link notifications (`RTNLGRP_LINK`, 1, as a bit mask).
pub const RTMGRP_LINK: u32 = 1;
/// `RT_SCOPE_UNIVERSE`: a global address.
const RT_SCOPE_UNIVERSE: u8 = 0;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// `struct ifaddrmsg`: the fixed part of `RTM_*ADDR` messages.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct IfAddrMsg {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// The prefix length.
    pub prefix_len: u8,
    /// `IFA_F_*` flags (the low 8 bits).
    pub flags: u8,
    /// `RT_SCOPE_*`.
    pub scope: u8,
    /// The link's ifindex.
    pub index: U32<NativeEndian>,
}

/// An address and its prefix length.
pub type Cidr = (IpAddr, u8);

/// One link of a dump, or of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// `ifi_index`.
    pub index: i32,
    /// `IFLA_IFNAME`.
    pub name: String,
    /// `ifi_type` (`ARPHRD_*`).
    pub link_type: u16,
    /// `ifi_flags` (`IFF_*`).
    pub flags: u32,
    /// `IFLA_ADDRESS`, the link-layer address (empty if none).
    pub address: Vec<u8>,
    /// `IFLA_LINK`, when it differs from the link's own index: the link it sits on.
    pub lower_index: Option<i32>,
}

impl LinkInfo {
    /// An InfiniBand link (IPoIB).
    pub fn is_infiniband(&self) -> bool {
        self.link_type == ARPHRD_INFINIBAND
    }

    /// Administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
}

/// One address of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrInfo {
    /// The link's ifindex.
    pub index: i32,
    /// The address and its prefix length.
    pub cidr: Cidr,
}

/// What went wrong reading a reply, or the kernel's refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// The kernel answered `NLMSG_ERROR` with this errno (positive).
    Kernel {
        /// The errno.
        errno: i32,
    },
    /// A length that does not fit where it sits, at this offset of the reply.
    Malformed {
        /// Offset of the offending header.
        offset: usize,
    },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Kernel { errno } => {
                write!(f, "the kernel refused it: {}", nix::errno::Errno::from_raw(*errno).desc())
            }
            MessageError::Malformed { offset } => write!(f, "malformed rtnetlink reply at offset {offset}"),
        }
    }
}

impl std::error::Error for MessageError {}

/// A request being written: header, fixed part, attributes; [`Request::finish`] sets the length.
struct Request(Vec<u8>);

impl Request {
    fn new(kind: u16, flags: u16, seq: u32) -> Request {
        let header = NlMsgHdr {
            len: U32::new(0),
            kind: U16::new(kind),
            flags: U16::new(NLM_F_REQUEST | flags),
            seq: U32::new(seq),
            pid: U32::new(0),
        };
        Request(header.as_bytes().to_vec())
    }

    fn push(mut self, fixed: &[u8]) -> Request {
        self.0.extend_from_slice(fixed);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    fn attribute(mut self, kind: u16, value: &[u8]) -> Request {
        // Attribute values here are at most 16 bytes (an IPv6 address).
        let len = (RTA_HDRLEN + value.len()) as u16;
        self.0.extend_from_slice(RtAttr { len: U16::new(len), kind: U16::new(kind) }.as_bytes());
        self.0.extend_from_slice(value);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() as u32).to_ne_bytes();
        if let Some(field) = self.0.get_mut(..4) {
            field.copy_from_slice(&len);
        }
        self.0
    }
}

fn ifinfo(index: i32, flags: u32, change: u32) -> IfInfoMsg {
    IfInfoMsg {
        family: AF_UNSPEC,
        pad: 0,
        kind: U16::new(0),
        index: I32::new(index),
        flags: U32::new(flags),
        change: U32::new(change),
    }
}

/// `RTM_GETLINK` for every link of the socket's netns.
pub fn dump_links(seq: u32) -> Vec<u8> {
    Request::new(RTM_GETLINK, NLM_F_DUMP, seq).push(ifinfo(0, 0, 0).as_bytes()).finish()
}

/// `RTM_GETADDR` for every address of the socket's netns.
pub fn dump_addresses(seq: u32) -> Vec<u8> {
    let msg = IfAddrMsg { family: AF_UNSPEC, prefix_len: 0, flags: 0, scope: 0, index: U32::new(0) };
    Request::new(RTM_GETADDR, NLM_F_DUMP, seq).push(msg.as_bytes()).finish()
}

/// `RTM_NEWADDR` (add, failing if present) or `RTM_DELADDR` of `cidr` on link `index`, acked.
pub fn change_address(kind: u16, index: i32, cidr: Cidr, seq: u32) -> Vec<u8> {
    let (ip, prefix_len) = cidr;
    let (family, bytes): (u8, Vec<u8>) = match ip {
        IpAddr::V4(v4) => (AF_INET, v4.octets().to_vec()),
        IpAddr::V6(v6) => (AF_INET6, v6.octets().to_vec()),
    };
    let flags = if kind == RTM_NEWADDR { NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL } else { NLM_F_ACK };
    let msg = IfAddrMsg { family, prefix_len, flags: 0, scope: RT_SCOPE_UNIVERSE, index: U32::new(index as u32) };
    Request::new(kind, flags, seq)
        .push(msg.as_bytes())
        .attribute(IFA_LOCAL, &bytes)
        .attribute(IFA_ADDRESS, &bytes)
        .finish()
}

/// `RTM_NEWLINK` setting link `index` up and changing nothing else, acked.
pub fn set_link_up(index: i32, seq: u32) -> Vec<u8> {
    Request::new(RTM_NEWLINK, NLM_F_ACK, seq).push(ifinfo(index, IFF_UP, IFF_UP).as_bytes()).finish()
}

/// One message of a reply.
pub struct Message<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// What follows the header.
    pub payload: &'a [u8],
    /// Where it starts in the reply.
    pub offset: usize,
}

/// Every message in `buf`, or the first malformed length.
pub fn messages(buf: &[u8]) -> Result<Vec<Message<'_>>, MessageError> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        let rest = buf.get(offset..).unwrap_or_default();
        let malformed = MessageError::Malformed { offset };
        let (header, _) = NlMsgHdr::ref_from_prefix(rest).map_err(|_| malformed)?;
        let len = header.len.get() as usize;
        if len < NLMSG_HDRLEN {
            return Err(malformed);
        }
        let payload = rest.get(NLMSG_HDRLEN..len).ok_or(malformed)?;
        out.push(Message { kind: header.kind.get(), seq: header.seq.get(), payload, offset });
        offset = offset.saturating_add(align4(len));
    }
    Ok(out)
}

/// What an `NLMSG_ERROR` or `NLMSG_DONE` message says about the request it answers: `Ok` for the
/// end of a dump or the kernel's acknowledgement (errno 0), the kernel's errno otherwise; `None`
/// for any other message (one object of a dump).
pub fn answer_of(message: &Message<'_>) -> Option<Result<(), MessageError>> {
    match message.kind {
        NLMSG_DONE => Some(Ok(())),
        NLMSG_ERROR => Some(match I32::<NativeEndian>::read_from_prefix(message.payload) {
            Ok((errno, _)) if errno.get() == 0 => Ok(()),
            Ok((errno, _)) => Err(MessageError::Kernel { errno: errno.get().saturating_neg() }),
            Err(_) => Err(MessageError::Malformed { offset: message.offset }),
        }),
        _ => None,
    }
}

/// The attributes after a fixed part, as `(type, value)`.
fn attributes(bytes: &[u8], base: usize) -> Result<Vec<(u16, &[u8])>, MessageError> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = bytes.get(offset..).unwrap_or_default();
        let malformed = MessageError::Malformed { offset: base + offset };
        let (attr, _) = RtAttr::ref_from_prefix(rest).map_err(|_| malformed)?;
        let len = usize::from(attr.len.get());
        if len < RTA_HDRLEN {
            return Err(malformed);
        }
        let value = rest.get(RTA_HDRLEN..len).ok_or(malformed)?;
        out.push((attr.kind.get() & NLA_TYPE_MASK, value));
        offset = offset.saturating_add(align4(len));
    }
    Ok(out)
}

/// An `RTM_NEWLINK` message's link.
pub fn parse_link(message: &Message<'_>) -> Result<LinkInfo, MessageError> {
    let malformed = MessageError::Malformed { offset: message.offset };
    let (info, rest) = IfInfoMsg::ref_from_prefix(message.payload).map_err(|_| malformed)?;
    let mut link = LinkInfo {
        index: info.index.get(),
        name: String::new(),
        link_type: info.kind.get(),
        flags: info.flags.get(),
        address: Vec::new(),
        lower_index: None,
    };
    for (kind, value) in attributes(rest, message.offset + NLMSG_HDRLEN + size_of::<IfInfoMsg>())? {
        match kind {
            IFLA_IFNAME => {
                let name = value.split(|&b| b == 0).next().unwrap_or_default();
                link.name = String::from_utf8_lossy(name).into_owned();
            }
            IFLA_ADDRESS => link.address = value.to_vec(),
            IFLA_LINK => {
                link.lower_index = I32::<NativeEndian>::read_from_bytes(value)
                    .ok()
                    .map(|i| i.get())
                    .filter(|&lower| lower != link.index)
            }
            _ => {}
        }
    }
    Ok(link)
}

/// An `RTM_NEWADDR` message's address (`IFA_LOCAL`, else `IFA_ADDRESS`), or `None` for a family
/// other than IPv4 and IPv6.
pub fn parse_address(message: &Message<'_>) -> Result<Option<AddrInfo>, MessageError> {
    let malformed = MessageError::Malformed { offset: message.offset };
    let (msg, rest) = IfAddrMsg::ref_from_prefix(message.payload).map_err(|_| malformed)?;
    let (mut local, mut address) = (None, None);
    for (kind, value) in attributes(rest, message.offset + NLMSG_HDRLEN + size_of::<IfAddrMsg>())? {
        let ip = match (msg.family, value.len()) {
            (AF_INET, 4) => <[u8; 4]>::try_from(value).ok().map(IpAddr::from),
            (AF_INET6, 16) => <[u8; 16]>::try_from(value).ok().map(IpAddr::from),
            _ => None,
        };
        match kind {
            IFA_LOCAL => local = local.or(ip),
            IFA_ADDRESS => address = address.or(ip),
            _ => {}
        }
    }
    let index = msg.index.get() as i32;
    Ok(local.or(address).map(|ip| AddrInfo { index, cidr: (ip, msg.prefix_len) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn an_address_request_carries_local_and_address_and_its_length() {
        let request = change_address(RTM_NEWADDR, 7, (IpAddr::V4(Ipv4Addr::new(172, 16, 1, 2)), 16), 9);
        let parsed = messages(&request).unwrap();
        assert_eq!(parsed.len(), 1);
        let message = &parsed[0];
        assert_eq!((message.kind, message.seq, request.len()), (RTM_NEWADDR, 9, 16 + 8 + 8 + 8));
        let info = parse_address(message).unwrap().unwrap();
        assert_eq!(info, AddrInfo { index: 7, cidr: (IpAddr::V4(Ipv4Addr::new(172, 16, 1, 2)), 16) });
    }

    #[test]
    fn a_truncated_reply_is_an_error_not_a_panic() {
        let request = dump_links(1);
        for cut in 0..request.len() {
            if let Ok(parsed) = messages(&request[..cut]) {
                parsed.iter().for_each(|m| drop(parse_link(m)));
            }
        }
        let mut bad = change_address(RTM_DELADDR, 1, (IpAddr::V4(Ipv4Addr::LOCALHOST), 8), 1);
        bad[24] = 200; // an attribute running past the message
        let parsed = messages(&bad).unwrap();
        assert!(parse_address(&parsed[0]).is_err());
    }

    #[test]
    fn an_error_message_is_the_kernels_errno_and_errno_0_an_ack() {
        let mut ack = Request::new(NLMSG_ERROR, 0, 3).push(&0i32.to_ne_bytes()).finish();
        let parsed = messages(&ack).unwrap();
        assert_eq!(answer_of(&parsed[0]), Some(Ok(())));
        ack = Request::new(NLMSG_ERROR, 0, 3).push(&(-17i32).to_ne_bytes()).finish();
        let parsed = messages(&ack).unwrap();
        assert_eq!(answer_of(&parsed[0]), Some(Err(MessageError::Kernel { errno: 17 })));
    }
}
