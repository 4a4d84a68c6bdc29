//! An rtnetlink socket in the caller's own netns, for `ipoib up`: the links and addresses there,
//! an address added or removed, a link set up; and, for `--watch`, the link notifications.
//!
//! Requests go over their own socket, never the subscribed one, so a notification can never be
//! taken for an answer. Every request waits for its answer: the end of a dump, or the kernel's
//! acknowledgement (`NLM_F_ACK`), so an error is reported for the change that caused it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{bind, recv, sendto, MsgFlags, NetlinkAddr};

use super::messages::{
    self, answer_of, change_address, dump_addresses, dump_links, parse_address, parse_link, set_link_up, AddrInfo,
    Cidr, LinkInfo, MessageError, RTMGRP_LINK, RTM_DELADDR, RTM_NEWADDR,
};
use crate::link::{retry_on_eintr, route_socket};
use crate::netlink::RTM_NEWLINK;

/// A dump's datagrams are at most a page or two; this holds any of them whole.
const RECV_BUF_LEN: usize = 64 * 1024;

/// Why an rtnetlink exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtnlError {
    /// A socket call failed.
    Socket(Errno),
    /// The kernel refused, or its reply could not be read.
    Reply(MessageError),
}

impl std::fmt::Display for RtnlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RtnlError::Socket(errno) => write!(f, "rtnetlink socket: {}", errno.desc()),
            RtnlError::Reply(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RtnlError {}

impl RtnlError {
    /// The errno behind it (`EPROTO` for a reply that could not be read).
    pub fn errno(&self) -> Errno {
        match self {
            RtnlError::Socket(errno) => *errno,
            RtnlError::Reply(MessageError::Kernel { errno }) => Errno::from_raw(*errno),
            RtnlError::Reply(MessageError::Malformed { .. }) => Errno::EPROTO,
        }
    }
}

impl From<Errno> for RtnlError {
    fn from(errno: Errno) -> RtnlError {
        RtnlError::Socket(errno)
    }
}

impl From<MessageError> for RtnlError {
    fn from(e: MessageError) -> RtnlError {
        RtnlError::Reply(e)
    }
}

/// A request socket.
pub struct Rtnl {
    socket: OwnedFd,
    seq: u32,
}

impl Rtnl {
    /// A socket in the calling thread's netns.
    pub fn open() -> Result<Rtnl, RtnlError> {
        Ok(Rtnl { socket: route_socket()?, seq: 0 })
    }

    /// Every link.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, RtnlError> {
        let mut links = Vec::new();
        let request = dump_links(self.next_seq());
        self.exchange(&request, |message| {
            if message.kind == RTM_NEWLINK {
                links.push(parse_link(message)?);
            }
            Ok(())
        })?;
        Ok(links)
    }

    /// Every IPv4 and IPv6 address.
    pub fn addresses(&mut self) -> Result<Vec<AddrInfo>, RtnlError> {
        let mut addresses = Vec::new();
        let request = dump_addresses(self.next_seq());
        self.exchange(&request, |message| {
            if message.kind == RTM_NEWADDR {
                addresses.extend(parse_address(message)?);
            }
            Ok(())
        })?;
        Ok(addresses)
    }

    /// Adds `cidr` to link `index`.
    pub fn add_address(&mut self, index: i32, cidr: Cidr) -> Result<(), RtnlError> {
        let request = change_address(RTM_NEWADDR, index, cidr, self.next_seq());
        self.exchange(&request, |_| Ok(()))
    }

    /// Removes `cidr` from link `index`.
    pub fn remove_address(&mut self, index: i32, cidr: Cidr) -> Result<(), RtnlError> {
        let request = change_address(RTM_DELADDR, index, cidr, self.next_seq());
        self.exchange(&request, |_| Ok(()))
    }

    /// Sets link `index` up.
    pub fn set_up(&mut self, index: i32) -> Result<(), RtnlError> {
        let request = set_link_up(index, self.next_seq());
        self.exchange(&request, |_| Ok(()))
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends `request` and hands every message answering it to `each`, until the dump's end or
    /// the acknowledgement.
    fn exchange(
        &mut self,
        request: &[u8],
        mut each: impl FnMut(&messages::Message<'_>) -> Result<(), MessageError>,
    ) -> Result<(), RtnlError> {
        let seq = self.seq;
        let kernel = NetlinkAddr::new(0, 0);
        retry_on_eintr(|| sendto(self.socket.as_raw_fd(), request, &kernel, MsgFlags::empty()))?;
        let mut buf = vec![0u8; RECV_BUF_LEN];
        loop {
            let len = retry_on_eintr(|| recv(self.socket.as_raw_fd(), &mut buf, MsgFlags::empty()))?;
            for message in messages::messages(buf.get(..len).unwrap_or_default())? {
                if message.seq != seq {
                    continue;
                }
                match answer_of(&message) {
                    Some(Ok(())) => return Ok(()),
                    None => each(&message)?,
                    Some(Err(e)) => return Err(e.into()),
                }
            }
        }
    }
}

/// A socket subscribed to link notifications (a link added, removed, or its flags changed).
pub struct LinkEvents {
    socket: OwnedFd,
}

impl LinkEvents {
    /// Subscribes, in the calling thread's netns.
    pub fn subscribe() -> Result<LinkEvents, RtnlError> {
        let socket = route_socket()?;
        bind(socket.as_raw_fd(), &NetlinkAddr::new(0, RTMGRP_LINK))?;
        Ok(LinkEvents { socket })
    }

    /// Reads every queued notification without waiting; returns how many links were named.
    /// `ENOBUFS` (the queue overflowed) counts as one: something changed, look again.
    pub fn drain(&self) -> Result<usize, RtnlError> {
        let mut buf = vec![0u8; RECV_BUF_LEN];
        let mut seen = 0;
        loop {
            match recv(self.socket.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(len) => {
                    let messages = messages::messages(buf.get(..len).unwrap_or_default())?;
                    seen += messages.iter().filter(|m| m.kind == RTM_NEWLINK).count();
                }
                Err(Errno::EAGAIN) => return Ok(seen),
                Err(Errno::EINTR) => {}
                Err(Errno::ENOBUFS) => seen += 1,
                Err(errno) => return Err(errno.into()),
            }
        }
    }
}

impl AsFd for LinkEvents {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
