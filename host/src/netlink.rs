//! Just enough rtnetlink to ask the kernel for one link's hardware address: build an
//! `RTM_GETLINK`-by-name request and pick `IFLA_ADDRESS` out of the reply.
//!
//! Pure byte work, no I/O, so the parser can be fuzzed and unit-tested on hand-built replies;
//! [`crate::link`] does the socket and namespace part. Headers are zerocopy views in native byte
//! order (netlink is host-endian) and unaligned, so a reply can be read from any `&[u8]`. Every
//! length field in a reply is checked before it is trusted: bad input is a [`NetlinkError`],
//! never a panic.
#![forbid(unsafe_code)]

use std::fmt;

use zerocopy::byteorder::{NativeEndian, I32, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `NLMSG_ERROR`: an error (or, with errno 0, an acknowledgement).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a multipart reply.
pub const NLMSG_DONE: u16 = 3;
/// `RTM_NEWLINK`: a link description, the answer to `RTM_GETLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_GETLINK`: ask for a link.
pub const RTM_GETLINK: u16 = 18;
/// `NLM_F_REQUEST`: every message to the kernel carries it.
pub const NLM_F_REQUEST: u16 = 1;
/// `IFLA_ADDRESS`: the link-layer address attribute.
pub const IFLA_ADDRESS: u16 = 1;
/// `IFLA_IFNAME`: the interface name attribute (NUL-terminated).
pub const IFLA_IFNAME: u16 = 3;
/// `IFLA_EXT_MASK`: a `u32` of `RTEXT_FILTER_*` bits saying what to leave out of the reply.
pub const IFLA_EXT_MASK: u16 = 29;
/// `RTEXT_FILTER_SKIP_STATS`: no `IFLA_STATS`/`IFLA_STATS64` (about 300 bytes the plugin never
/// reads). Kernels older than 4.20 ignore the bit and send them anyway.
pub const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
/// `IFLA_LINK`: the ifindex of the link this one sits on (a u32); the kernel puts it in a reply
/// only when it differs from the link's own index.
pub const IFLA_LINK: u16 = 5;
pub use crate::ipoib_child::ARPHRD_INFINIBAND;
/// `IFNAMSIZ`: an interface name, NUL included, fits in 16 bytes.
pub const IFNAMSIZ: usize = 16;
/// The attribute type bits; the top two bits are the `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` flags.
pub(crate) const NLA_TYPE_MASK: u16 = 0x3fff;

/// `struct nlmsghdr`: every netlink message starts with one.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct NlMsgHdr {
    /// Length of the message, this header included.
    pub len: U32<NativeEndian>,
    /// Message type (`RTM_*`, `NLMSG_*`).
    pub kind: U16<NativeEndian>,
    /// `NLM_F_*` flags.
    pub flags: U16<NativeEndian>,
    /// Sequence number, echoed by the kernel so a reply can be matched to its request.
    pub seq: U32<NativeEndian>,
    /// Sender's port ID; 0 is the kernel.
    pub pid: U32<NativeEndian>,
}

/// `struct ifinfomsg`: the fixed part of `RTM_*LINK` messages.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct IfInfoMsg {
    /// Address family (`AF_UNSPEC`).
    pub family: u8,
    /// Padding.
    pub pad: u8,
    /// Link type (`ARPHRD_*`: 1 Ethernet, 32 InfiniBand).
    pub kind: U16<NativeEndian>,
    /// Interface index.
    pub index: I32<NativeEndian>,
    /// `IFF_*` flags.
    pub flags: U32<NativeEndian>,
    /// `IFF_*` change mask.
    pub change: U32<NativeEndian>,
}

/// `struct rtattr`: the header of each attribute that follows [`IfInfoMsg`].
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RtAttr {
    /// Length of the attribute, this header included, padding excluded.
    pub len: U16<NativeEndian>,
    /// Attribute type (`IFLA_*`).
    pub kind: U16<NativeEndian>,
}

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = size_of::<NlMsgHdr>();
/// `sizeof(struct ifinfomsg)`.
pub const IFINFOMSG_LEN: usize = size_of::<IfInfoMsg>();
/// `sizeof(struct rtattr)`.
pub const RTA_HDRLEN: usize = size_of::<RtAttr>();
/// The `IFLA_EXT_MASK` attribute: header and `u32`.
const EXT_MASK_ATTR_LEN: usize = RTA_HDRLEN + 4;
/// The longest request [`build_getlink_request`] writes (a 15-byte name).
pub const GETLINK_REQUEST_MAX_LEN: usize =
    NLMSG_HDRLEN + IFINFOMSG_LEN + align4(RTA_HDRLEN + IFNAMSIZ) + EXT_MASK_ATTR_LEN;

/// `NLMSG_ALIGN` and `RTA_ALIGN`: both round up to 4. Saturates instead of overflowing, so a
/// hostile length only ever moves a cursor to the end.
pub(crate) const fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// What went wrong building a request or reading a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetlinkError {
    /// The interface name is empty, longer than 15 bytes or contains a NUL: the kernel could not
    /// name such a link.
    InvalidIfname,
    /// The caller's buffer cannot hold the request.
    BufferTooSmall {
        /// Bytes the request needs.
        need: usize,
    },
    /// The kernel answered `NLMSG_ERROR`.
    Kernel {
        /// The errno, positive (the kernel sends it negated): 19 (`ENODEV`) for an unknown name.
        errno: i32,
    },
    /// The reply holds neither a link nor an error for this request.
    NoLink,
    /// The link has no `IFLA_ADDRESS` (a tunnel or other address-less device).
    NoAddress,
    /// A length in the reply that does not fit where it sits.
    Malformed {
        /// Offset of the offending header in the reply.
        offset: usize,
        /// Which structure is broken.
        what: Malformed,
    },
}

/// The structure a [`NetlinkError::Malformed`] reply breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Fewer bytes left than a message header.
    TruncatedHeader,
    /// `nlmsg_len` shorter than its header or running past the reply.
    MessageLength,
    /// An `NLMSG_ERROR` too short for its errno.
    TruncatedError,
    /// An `RTM_NEWLINK` too short for its `ifinfomsg`.
    TruncatedIfinfo,
    /// Fewer bytes left in the message than an attribute header.
    TruncatedAttribute,
    /// `rta_len` shorter than its header or running past the message.
    AttributeLength,
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkError::InvalidIfname => {
                write!(f, "interface name must be 1 to {} bytes without NUL", IFNAMSIZ - 1)
            }
            NetlinkError::BufferTooSmall { need } => write!(f, "netlink request needs a {need}-byte buffer"),
            NetlinkError::Kernel { errno } => write!(f, "kernel answered RTM_GETLINK with errno {errno}"),
            NetlinkError::NoLink => f.write_str("netlink reply holds no link for this request"),
            NetlinkError::NoAddress => f.write_str("link has no hardware address"),
            NetlinkError::Malformed { offset, what } => {
                let what = match what {
                    Malformed::TruncatedHeader => "truncated message header",
                    Malformed::MessageLength => "bad message length",
                    Malformed::TruncatedError => "truncated error message",
                    Malformed::TruncatedIfinfo => "truncated ifinfomsg",
                    Malformed::TruncatedAttribute => "truncated attribute header",
                    Malformed::AttributeLength => "bad attribute length",
                };
                write!(f, "malformed netlink reply: {what} at offset {offset}")
            }
        }
    }
}

impl std::error::Error for NetlinkError {}

/// The part of an `RTM_NEWLINK` answer that names the NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkReply<'a> {
    /// `ifi_type`, an `ARPHRD_*` value (1 Ethernet, 32 InfiniBand).
    pub link_type: u16,
    /// `ifi_index`.
    pub index: i32,
    /// The `IFLA_ADDRESS` payload: 6 bytes for Ethernet, 20 for IPoIB.
    pub address: &'a [u8],
    /// `IFLA_LINK`, when the reply carries a 4-byte one: the index of the link this one sits on.
    pub lower_index: Option<i32>,
}

impl LinkReply<'_> {
    /// The parent's ifindex when this is an IPoIB child link, by [`crate::ipoib_child`]'s rule.
    #[must_use]
    pub fn ipoib_parent(&self) -> Option<i32> {
        crate::ipoib_child::parent_index(self.link_type, self.index, self.lower_index)
    }
}

/// Writes an `RTM_GETLINK` request for `ifname` into `buf` and returns the written prefix.
///
/// The name travels as `IFLA_IFNAME`, so the kernel looks the link up by name in the socket's
/// network namespace; the reply carries `seq`. `IFLA_EXT_MASK` asks it to skip the link's
/// statistics, which keeps the reply small. At most [`GETLINK_REQUEST_MAX_LEN`] bytes.
pub fn build_getlink_request<'b>(buf: &'b mut [u8], ifname: &str, seq: u32) -> Result<&'b [u8], NetlinkError> {
    let name = ifname.as_bytes();
    if name.is_empty() || name.len() >= IFNAMSIZ || name.contains(&0) {
        return Err(NetlinkError::InvalidIfname);
    }
    let attr_len = RTA_HDRLEN + name.len() + 1;
    let total = NLMSG_HDRLEN + IFINFOMSG_LEN + align4(attr_len) + EXT_MASK_ATTR_LEN;
    let request = buf.get_mut(..total).ok_or(NetlinkError::BufferTooSmall { need: total })?;
    // Zeroing first gives the NUL terminator, the padding and a zeroed ifinfomsg for free.
    request.fill(0);

    // The casts cannot truncate: the name is at most 15 bytes.
    let header = NlMsgHdr {
        len: U32::new(total as u32),
        kind: U16::new(RTM_GETLINK),
        flags: U16::new(NLM_F_REQUEST),
        seq: U32::new(seq),
        pid: U32::new(0),
    };
    let attr = RtAttr { len: U16::new(attr_len as u16), kind: U16::new(IFLA_IFNAME) };
    let (header_bytes, rest) = request.split_at_mut(NLMSG_HDRLEN);
    header_bytes.copy_from_slice(header.as_bytes());
    let (_ifinfo, attribute) = rest.split_at_mut(IFINFOMSG_LEN);
    let (attribute, ext_mask) = attribute.split_at_mut(align4(attr_len));
    let (attr_header, payload) = attribute.split_at_mut(RTA_HDRLEN);
    attr_header.copy_from_slice(attr.as_bytes());
    payload.get_mut(..name.len()).ok_or(NetlinkError::BufferTooSmall { need: total })?.copy_from_slice(name);
    let (mask_header, mask) = ext_mask.split_at_mut(RTA_HDRLEN);
    mask_header
        .copy_from_slice(RtAttr { len: U16::new(EXT_MASK_ATTR_LEN as u16), kind: U16::new(IFLA_EXT_MASK) }.as_bytes());
    mask.copy_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    Ok(request)
}

/// Finds the answer to request `seq` in a received buffer: the link's type and address, or the
/// kernel's errno.
///
/// Messages for other sequence numbers are skipped; an acknowledgement (`NLMSG_ERROR` with errno
/// 0) is not an answer. Accepts any bytes.
pub fn parse_getlink_reply(buf: &[u8], seq: u32) -> Result<LinkReply<'_>, NetlinkError> {
    let mut offset = 0;
    while offset < buf.len() {
        let rest = buf.get(offset..).unwrap_or_default();
        let malformed = |what| NetlinkError::Malformed { offset, what };
        let (header, _) = NlMsgHdr::ref_from_prefix(rest).map_err(|_| malformed(Malformed::TruncatedHeader))?;
        let len = header.len.get() as usize;
        if len < NLMSG_HDRLEN {
            return Err(malformed(Malformed::MessageLength));
        }
        let payload = rest.get(NLMSG_HDRLEN..len).ok_or(malformed(Malformed::MessageLength))?;
        if header.seq.get() == seq {
            match header.kind.get() {
                NLMSG_ERROR => {
                    let (error, _) = I32::<NativeEndian>::read_from_prefix(payload)
                        .map_err(|_| malformed(Malformed::TruncatedError))?;
                    if error.get() != 0 {
                        return Err(NetlinkError::Kernel { errno: error.get().saturating_neg() });
                    }
                }
                RTM_NEWLINK => return parse_newlink(payload, offset + NLMSG_HDRLEN),
                NLMSG_DONE => return Err(NetlinkError::NoLink),
                _ => {}
            }
        }
        offset = offset.saturating_add(align4(len));
    }
    Err(NetlinkError::NoLink)
}

/// Reads an `RTM_NEWLINK` payload (`ifinfomsg` + attributes) that starts at `base` in the reply.
fn parse_newlink(payload: &[u8], base: usize) -> Result<LinkReply<'_>, NetlinkError> {
    let (ifinfo, attributes) = IfInfoMsg::ref_from_prefix(payload)
        .map_err(|_| NetlinkError::Malformed { offset: base, what: Malformed::TruncatedIfinfo })?;
    let base = base + IFINFOMSG_LEN;
    let mut address = None;
    let mut lower_index = None;
    let mut offset = 0;
    while offset < attributes.len() {
        let rest = attributes.get(offset..).unwrap_or_default();
        let malformed = |what| NetlinkError::Malformed { offset: base + offset, what };
        let (attr, _) = RtAttr::ref_from_prefix(rest).map_err(|_| malformed(Malformed::TruncatedAttribute))?;
        let len = usize::from(attr.len.get());
        if len < RTA_HDRLEN {
            return Err(malformed(Malformed::AttributeLength));
        }
        let value = rest.get(RTA_HDRLEN..len).ok_or(malformed(Malformed::AttributeLength))?;
        match attr.kind.get() & NLA_TYPE_MASK {
            IFLA_ADDRESS => address = address.or(Some(value)),
            IFLA_LINK => {
                lower_index = lower_index.or(I32::<NativeEndian>::read_from_bytes(value).ok().map(|i| i.get()))
            }
            _ => {}
        }
        offset = offset.saturating_add(align4(len));
    }
    let address = address.ok_or(NetlinkError::NoAddress)?;
    Ok(LinkReply { link_type: ifinfo.kind.get(), index: ifinfo.index.get(), address, lower_index })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: u32 = 0x5eed;
    const ETH: [u8; 6] = [0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b];
    const IB: [u8; 20] =
        [0x00, 0x00, 0x01, 0x49, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x15, 0x5d, 0xff, 0xfd, 0x33, 0xff, 0x0b];

    /// An attribute as the kernel writes it: header, value, padding.
    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out =
            RtAttr { len: U16::new((RTA_HDRLEN + value.len()) as u16), kind: U16::new(kind) }.as_bytes().to_vec();
        out.extend_from_slice(value);
        out.resize(align4(out.len()), 0);
        out
    }

    /// A message: header (length computed) + payload, padded.
    fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let header = NlMsgHdr {
            len: U32::new((NLMSG_HDRLEN + payload.len()) as u32),
            kind: U16::new(kind),
            flags: U16::new(0),
            seq: U32::new(seq),
            pid: U32::new(4242),
        };
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(payload);
        out.resize(align4(out.len()), 0);
        out
    }

    fn ifinfo(link_type: u16, index: i32) -> Vec<u8> {
        IfInfoMsg {
            family: 0,
            pad: 0,
            kind: U16::new(link_type),
            index: I32::new(index),
            flags: U32::new(0x1043),
            change: U32::new(0),
        }
        .as_bytes()
        .to_vec()
    }

    /// An `RTM_NEWLINK` the way the kernel orders it: name, MTU, then address.
    fn newlink(seq: u32, link_type: u16, address: Option<&[u8]>) -> Vec<u8> {
        let mut payload = ifinfo(link_type, 7);
        payload.extend(attr(IFLA_IFNAME, b"ib0\0"));
        payload.extend(attr(4, &2044u32.to_ne_bytes()));
        if let Some(address) = address {
            payload.extend(attr(IFLA_ADDRESS, address));
            payload.extend(attr(2, &[0xff; 20]));
        }
        message(RTM_NEWLINK, seq, &payload)
    }

    fn error(seq: u32, errno: i32) -> Vec<u8> {
        let mut payload = (-errno).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[0; NLMSG_HDRLEN]);
        message(NLMSG_ERROR, seq, &payload)
    }

    #[test]
    fn request_layout() {
        let mut buf = [0xaa; 64];
        let request = build_getlink_request(&mut buf, "ib0", SEQ).unwrap();
        assert_eq!(request.len(), 48);
        let (header, rest) = NlMsgHdr::ref_from_prefix(request).unwrap();
        assert_eq!(header.len.get(), 48);
        assert_eq!(header.kind.get(), RTM_GETLINK);
        assert_eq!(header.flags.get(), NLM_F_REQUEST);
        assert_eq!(header.seq.get(), SEQ);
        assert_eq!(header.pid.get(), 0);
        assert_eq!(&rest[..IFINFOMSG_LEN], &[0; IFINFOMSG_LEN]);
        let mut attributes = attr(IFLA_IFNAME, b"ib0\0");
        attributes.extend(attr(IFLA_EXT_MASK, &RTEXT_FILTER_SKIP_STATS.to_ne_bytes()));
        assert_eq!(&rest[IFINFOMSG_LEN..], attributes.as_slice());
        assert_eq!(&rest[IFINFOMSG_LEN..][..4], &[8u16.to_ne_bytes(), 3u16.to_ne_bytes()].concat());
    }

    #[test]
    fn request_name_limits_and_buffer() {
        let mut buf = [0; GETLINK_REQUEST_MAX_LEN];
        let longest = "a23456789012345";
        assert_eq!(build_getlink_request(&mut buf, longest, 1).unwrap().len(), GETLINK_REQUEST_MAX_LEN);
        assert_eq!(build_getlink_request(&mut buf, "a234567890123456", 1), Err(NetlinkError::InvalidIfname));
        assert_eq!(build_getlink_request(&mut buf, "", 1), Err(NetlinkError::InvalidIfname));
        assert_eq!(build_getlink_request(&mut buf, "ib\0", 1), Err(NetlinkError::InvalidIfname));
        let mut small = [0; 47];
        assert_eq!(build_getlink_request(&mut small, "ib0", 1), Err(NetlinkError::BufferTooSmall { need: 48 }));
    }

    #[test]
    fn ethernet_and_ipoib_addresses() {
        let reply = newlink(SEQ, 1, Some(&ETH));
        let expected = LinkReply { link_type: 1, index: 7, address: &ETH, lower_index: None };
        assert_eq!(parse_getlink_reply(&reply, SEQ), Ok(expected));
        let reply = newlink(SEQ, 32, Some(&IB));
        let expected = LinkReply { link_type: 32, index: 7, address: &IB, lower_index: None };
        assert_eq!(parse_getlink_reply(&reply, SEQ), Ok(expected));
        assert_eq!(expected.ipoib_parent(), None);
    }

    /// An `RTM_NEWLINK` as the kernel writes it for a link with a lower link: `IFLA_LINK` before
    /// the address, as `rtnl_fill_ifinfo` orders them.
    fn newlink_with_lower(link_type: u16, index: i32, lower: i32, address: &[u8]) -> Vec<u8> {
        let mut payload = ifinfo(link_type, index);
        payload.extend(attr(IFLA_IFNAME, b"ib0.8001\0"));
        payload.extend(attr(4, &2044u32.to_ne_bytes()));
        payload.extend(attr(IFLA_LINK, &lower.to_ne_bytes()));
        payload.extend(attr(IFLA_ADDRESS, address));
        payload.extend(attr(2, &[0xff; 20]));
        message(RTM_NEWLINK, SEQ, &payload)
    }

    #[test]
    fn an_ipoib_link_with_a_lower_link_is_a_child() {
        // `ip link add link ib0 name ib0.8001 type ipoib`: index 9 on parent 7.
        let reply = newlink_with_lower(ARPHRD_INFINIBAND, 9, 7, &IB);
        let answer = parse_getlink_reply(&reply, SEQ).unwrap();
        assert_eq!(answer, LinkReply { link_type: 32, index: 9, address: &IB, lower_index: Some(7) });
        assert_eq!(answer.ipoib_parent(), Some(7));
    }

    #[test]
    fn a_parent_or_a_veth_is_not_a_child() {
        // A parent IPoIB link has no IFLA_LINK (the kernel omits it when it equals the index).
        assert_eq!(parse_getlink_reply(&newlink(SEQ, ARPHRD_INFINIBAND, Some(&IB)), SEQ).unwrap().ipoib_parent(), None);
        // Should a kernel send it anyway, pointing at the link itself, that is still no child.
        let reply = newlink_with_lower(ARPHRD_INFINIBAND, 7, 7, &IB);
        assert_eq!(parse_getlink_reply(&reply, SEQ).unwrap().ipoib_parent(), None);
        // A veth names its peer in IFLA_LINK: an Ethernet link is never judged by it.
        let reply = newlink_with_lower(1, 9, 8, &ETH);
        let answer = parse_getlink_reply(&reply, SEQ).unwrap();
        assert_eq!((answer.lower_index, answer.ipoib_parent()), (Some(8), None));
        // A malformed (not 4-byte) IFLA_LINK is ignored rather than guessed at.
        let mut payload = ifinfo(ARPHRD_INFINIBAND, 9);
        payload.extend(attr(IFLA_LINK, &[7, 0]));
        payload.extend(attr(IFLA_ADDRESS, &IB));
        let reply = message(RTM_NEWLINK, SEQ, &payload);
        assert_eq!(parse_getlink_reply(&reply, SEQ).unwrap().ipoib_parent(), None);
    }

    #[test]
    fn kernel_error_is_the_errno() {
        assert_eq!(parse_getlink_reply(&error(SEQ, 19), SEQ), Err(NetlinkError::Kernel { errno: 19 }));
    }

    #[test]
    fn skips_other_sequence_numbers_and_acks() {
        let mut reply = error(SEQ + 1, 19);
        reply.extend(newlink(SEQ - 1, 1, Some(&[1; 6])));
        reply.extend(error(SEQ, 0));
        reply.extend(newlink(SEQ, 32, Some(&IB)));
        assert_eq!(parse_getlink_reply(&reply, SEQ).unwrap().address, &IB);
        assert_eq!(parse_getlink_reply(&error(SEQ + 1, 19), SEQ), Err(NetlinkError::NoLink));
        assert_eq!(parse_getlink_reply(&message(NLMSG_DONE, SEQ, &[0; 4]), SEQ), Err(NetlinkError::NoLink));
        assert_eq!(parse_getlink_reply(&[], SEQ), Err(NetlinkError::NoLink));
    }

    #[test]
    fn link_without_address() {
        assert_eq!(parse_getlink_reply(&newlink(SEQ, 65534, None), SEQ), Err(NetlinkError::NoAddress));
    }

    #[test]
    fn truncated_replies() {
        let reply = newlink(SEQ, 32, Some(&IB));
        let malformed = |offset, what| Err(NetlinkError::Malformed { offset, what });
        assert_eq!(parse_getlink_reply(&reply[..15], SEQ), malformed(0, Malformed::TruncatedHeader));
        // Any cut inside the message leaves nlmsg_len pointing past the buffer.
        for cut in NLMSG_HDRLEN..reply.len() {
            assert_eq!(parse_getlink_reply(&reply[..cut], SEQ), malformed(0, Malformed::MessageLength), "cut {cut}");
        }
        let short_error = message(NLMSG_ERROR, SEQ, &[0; 3]);
        assert_eq!(parse_getlink_reply(&short_error, SEQ), malformed(0, Malformed::TruncatedError));
        let short_ifinfo = message(RTM_NEWLINK, SEQ, &[0; IFINFOMSG_LEN - 1]);
        assert_eq!(parse_getlink_reply(&short_ifinfo, SEQ), malformed(16, Malformed::TruncatedIfinfo));
    }

    #[test]
    fn bad_message_lengths() {
        let malformed = |offset, what| Err(NetlinkError::Malformed { offset, what });
        let mut reply = newlink(SEQ, 32, Some(&IB));
        reply[..4].copy_from_slice(&15u32.to_ne_bytes());
        assert_eq!(parse_getlink_reply(&reply, SEQ), malformed(0, Malformed::MessageLength));
        reply[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(parse_getlink_reply(&reply, SEQ), malformed(0, Malformed::MessageLength));
        reply[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_getlink_reply(&reply, SEQ), malformed(0, Malformed::MessageLength));
        // A bad second message is found once the first one is skipped.
        let mut two = error(SEQ + 1, 1);
        let second = two.len();
        two.extend_from_slice(&[0xff; 8]);
        assert_eq!(parse_getlink_reply(&two, SEQ), malformed(second, Malformed::TruncatedHeader));
    }

    #[test]
    fn bad_attribute_lengths() {
        let malformed = |offset, what| Err(NetlinkError::Malformed { offset, what });
        let first_attr = NLMSG_HDRLEN + IFINFOMSG_LEN;
        for bad_len in [0u16, 3, 9, u16::MAX] {
            let mut reply = newlink(SEQ, 32, Some(&IB));
            reply[first_attr..first_attr + 2].copy_from_slice(&bad_len.to_ne_bytes());
            let expected = malformed(first_attr, Malformed::AttributeLength);
            // 9 is within the message (a longer name) and skips into the middle of the next
            // attribute, whose "header" is then the MTU value 2044 = 0x7fc: too long.
            let expected = if bad_len == 9 { malformed(first_attr + 12, Malformed::AttributeLength) } else { expected };
            assert_eq!(parse_getlink_reply(&reply, SEQ), expected, "rta_len {bad_len}");
        }
        // Two stray bytes after the ifinfomsg are not an attribute.
        let mut payload = ifinfo(32, 7);
        payload.extend_from_slice(&[1, 0]);
        let mut reply = message(RTM_NEWLINK, SEQ, &payload);
        reply.truncate(NLMSG_HDRLEN + payload.len());
        assert_eq!(parse_getlink_reply(&reply, SEQ), malformed(first_attr, Malformed::TruncatedAttribute));
    }

    #[test]
    fn nested_flag_bits_are_masked() {
        let mut payload = ifinfo(1, 3);
        payload.extend(attr(IFLA_ADDRESS | 0x8000, &ETH));
        let reply = message(RTM_NEWLINK, SEQ, &payload);
        assert_eq!(parse_getlink_reply(&reply, SEQ).unwrap().address, &ETH);
    }

    #[test]
    fn any_bytes_without_panic() {
        let reply = newlink(SEQ, 32, Some(&IB));
        for i in 0..reply.len() {
            for value in [0u8, 1, 3, 4, 0x7f, 0xff] {
                let mut mutated = reply.clone();
                mutated[i] = value;
                for end in [mutated.len(), i + 1] {
                    let _ = parse_getlink_reply(&mutated[..end], SEQ);
                }
            }
        }
    }
}
