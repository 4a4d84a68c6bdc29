//! What `ipoib up` would change on each link, decided from one look at the links, their
//! addresses, the pool and the state: pure, so every rule is a unit test.
//!
//! For each link it asks the one lookup ([`crate::lookup()`]) by the link's MAC, then:
//! - the KVP address missing from the link: add it;
//! - an address this command set earlier (the state) that is not the KVP address any more:
//!   remove it, also when KVP lists no pair for the link at all;
//! - any other address: never touched;
//! - the link down: set it up.

use std::path::Path;

use kvp_core::{HwAddr, Mac};

use super::messages::{AddrInfo, Cidr, LinkInfo};
use super::state::Owned;
use crate::ipoib_child;
use crate::lookup::{lookup, Nic, Question, Source};
use crate::why::Why;

/// Which links to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every InfiniBand (IPoIB) link, found by type, never by name.
    Infiniband,
    /// These links by name, of any type (for tests, and for links of other types).
    Named(Vec<String>),
}

/// What to do with one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPlan {
    /// The link's name.
    pub name: String,
    /// Its ifindex (0 when it does not exist).
    pub index: i32,
    /// The MAC `IPoIB_Data` knows it by, when it has one.
    pub mac: Option<Mac>,
    /// The decision.
    pub action: Action,
}

/// The decision for one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make the link carry the KVP address.
    Apply {
        /// The KVP address and the configured prefix length.
        want: Cidr,
        /// Whether it is missing from the link.
        add: bool,
        /// Whether the link must be set up.
        set_up: bool,
        /// Addresses this command set earlier that KVP no longer lists for the link.
        remove: Vec<Cidr>,
    },
    /// KVP lists no pair for the link's MAC; `remove` are the addresses this command set earlier.
    NoPair {
        /// How many pairs `IPoIB_Data` lists.
        pairs: usize,
        /// Addresses this command set earlier, now to be removed.
        remove: Vec<Cidr>,
    },
    /// An IPoIB child (or, for a named link, a link stacked on one with the same MAC): it shares
    /// its parent's pair, so it is left alone.
    Child {
        /// The parent's name.
        parent: String,
    },
    /// Nothing can be done: no such link, no usable hardware address, or the lookup failed.
    Fail {
        /// Why.
        reason: String,
    },
}

impl LinkPlan {
    /// Whether carrying it out changes anything.
    pub fn changes(&self) -> bool {
        match &self.action {
            Action::Apply { add, set_up, remove, .. } => *add || *set_up || !remove.is_empty(),
            Action::NoPair { remove, .. } => !remove.is_empty(),
            Action::Child { .. } | Action::Fail { .. } => false,
        }
    }
}

/// What the plan is made from.
pub struct Inputs<'a> {
    /// Every link of the netns.
    pub links: &'a [LinkInfo],
    /// Every address of the netns.
    pub addresses: &'a [AddrInfo],
    /// The pool's bytes, read under its lock, and its path (for messages).
    pub pool: (&'a Path, &'a [u8]),
    /// The prefix length to give the KVP address.
    pub prefix_length: u8,
    /// The addresses this command set earlier.
    pub owned: &'a Owned,
}

/// The plan for `selection`, after the pool as a whole passed: a pool that is not ready, or a
/// malformed `IPoIB_Data`, is the caller's one answer for every link, and changes nothing.
pub fn plan(inputs: &Inputs<'_>, selection: &Selection) -> Result<Vec<LinkPlan>, Why> {
    let (path, bytes) = inputs.pool;
    crate::lookup::pool_ready(Source::Read { path, bytes })?;
    let chosen: Vec<(String, Option<&LinkInfo>)> = match selection {
        Selection::Infiniband => {
            inputs.links.iter().filter(|l| l.is_infiniband()).map(|l| (l.name.clone(), Some(l))).collect()
        }
        Selection::Named(names) => {
            names.iter().map(|name| (name.clone(), inputs.links.iter().find(|l| &l.name == name))).collect()
        }
    };
    Ok(chosen.into_iter().map(|(name, link)| plan_link(inputs, name, link)).collect())
}

fn plan_link(inputs: &Inputs<'_>, name: String, link: Option<&LinkInfo>) -> LinkPlan {
    let Some(link) = link else {
        return LinkPlan { name, index: 0, mac: None, action: Action::Fail { reason: "no such link".into() } };
    };
    let mac = HwAddr::from_bytes(&link.address).map(|h| h.mac());
    let plan = |mac, action| LinkPlan { name: link.name.clone(), index: link.index, mac, action };
    if let Some(parent) = parent_of(link, inputs.links) {
        return plan(mac.ok(), Action::Child { parent });
    }
    let mac = match mac {
        Ok(mac) => mac,
        Err(e) => return plan(None, Action::Fail { reason: format!("hardware address: {e}") }),
    };
    let present: Vec<Cidr> = inputs.addresses.iter().filter(|a| a.index == link.index).map(|a| a.cidr).collect();
    let ours_present = |keep: &dyn Fn(&Cidr) -> bool| -> Vec<Cidr> {
        inputs.owned.of(&link.name).into_iter().filter(|c| present.contains(c) && keep(c)).collect()
    };
    let (path, bytes) = inputs.pool;
    let question = Question { nic: Nic::Mac(mac), prefix_length: inputs.prefix_length };
    let action = match lookup(Source::Read { path, bytes }, question, &mut |_| {}) {
        Ok(assigned) => {
            let want = (assigned.ip, assigned.prefix_length);
            Action::Apply {
                want,
                add: !present.contains(&want),
                set_up: !link.is_up(),
                remove: ours_present(&|c| *c != want),
            }
        }
        Err(Why::NoPair { pairs, .. }) => Action::NoPair { pairs, remove: ours_present(&|_| true) },
        Err(why) => Action::Fail { reason: why.to_string() },
    };
    plan(Some(mac), action)
}

/// The link `link` is a child of, if any: an IPoIB child ([`crate::ipoib_child`]'s rule), or a
/// link stacked on a link of this netns with the same hardware address (a VLAN, say), which
/// would map to the same pair.
fn parent_of(link: &LinkInfo, links: &[LinkInfo]) -> Option<String> {
    let lower = link.lower_index?;
    let lower_link = links.iter().find(|l| l.index == lower);
    if ipoib_child::parent_index(link.link_type, link.index, link.lower_index).is_some() {
        // A child even when its parent is in another netns.
        return Some(lower_link.map_or_else(|| format!("ifindex {lower}"), |l| l.name.clone()));
    }
    let lower_link = lower_link?;
    (lower_link.address == link.address && !link.address.is_empty()).then(|| lower_link.name.clone())
}

/// An address and prefix as `ip` prints it.
pub fn cidr_text((ip, prefix): Cidr) -> String {
    format!("{ip}/{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::ARPHRD_INFINIBAND;
    use std::net::IpAddr;
    use std::net::Ipv4Addr;

    const MAC_A: [u8; 6] = [0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b];
    const MAC_B: [u8; 6] = [0x00, 0x15, 0x5d, 0x33, 0xff, 0x0c];

    fn link(index: i32, name: &str, address: [u8; 6], up: bool) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            link_type: 1,
            flags: u32::from(up),
            address: address.to_vec(),
            lower_index: None,
        }
    }

    fn v4(d: u8, prefix: u8) -> Cidr {
        (IpAddr::V4(Ipv4Addr::new(172, 16, 1, d)), prefix)
    }

    fn pool(value: &str) -> Vec<u8> {
        let mut bytes = vec![0u8; kvp_core::RECORD_LEN];
        kvp_core::encode_pool(&[("IPoIB_Data", value)], &mut bytes).unwrap();
        bytes
    }

    fn run(links: &[LinkInfo], addresses: &[AddrInfo], owned: &Owned, value: &str) -> Result<Vec<LinkPlan>, Why> {
        let bytes = pool(value);
        let inputs = Inputs { links, addresses, pool: (Path::new("pool"), &bytes), prefix_length: 16, owned };
        plan(&inputs, &Selection::Named(links.iter().map(|l| l.name.clone()).collect()))
    }

    #[test]
    fn a_missing_address_is_added_and_a_down_link_set_up() {
        let plans =
            run(&[link(2, "ib0", MAC_A, false)], &[], &Owned::default(), "NUMPAIRS:1|00155D33FF0B:172.16.1.2").unwrap();
        assert_eq!(plans[0].action, Action::Apply { want: v4(2, 16), add: true, set_up: true, remove: vec![] });
    }

    #[test]
    fn a_second_run_changes_nothing_and_a_foreign_address_is_kept() {
        let addresses = [AddrInfo { index: 2, cidr: v4(2, 16) }, AddrInfo { index: 2, cidr: v4(99, 24) }];
        let mut owned = Owned::default();
        owned.insert("ib0", v4(2, 16));
        let plans =
            run(&[link(2, "ib0", MAC_A, true)], &addresses, &owned, "NUMPAIRS:1|00155D33FF0B:172.16.1.2").unwrap();
        assert!(!plans[0].changes(), "{plans:?}");
    }

    #[test]
    fn an_address_kvp_dropped_is_removed_only_if_we_set_it() {
        let addresses = [AddrInfo { index: 2, cidr: v4(2, 16) }, AddrInfo { index: 3, cidr: v4(3, 16) }];
        let mut owned = Owned::default();
        owned.insert("ib0", v4(2, 16));
        let links = [link(2, "ib0", MAC_A, true), link(3, "ib1", MAC_B, true)];
        let plans = run(&links, &addresses, &owned, "NUMPAIRS:1|00155D33FF0D:172.16.1.4").unwrap();
        assert_eq!(plans[0].action, Action::NoPair { pairs: 1, remove: vec![v4(2, 16)] });
        assert_eq!(plans[1].action, Action::NoPair { pairs: 1, remove: vec![] });
    }

    #[test]
    fn a_changed_address_replaces_ours() {
        let addresses = [AddrInfo { index: 2, cidr: v4(2, 16) }];
        let mut owned = Owned::default();
        owned.insert("ib0", v4(2, 16));
        let plans =
            run(&[link(2, "ib0", MAC_A, true)], &addresses, &owned, "NUMPAIRS:1|00155D33FF0B:172.16.1.7").unwrap();
        assert_eq!(
            plans[0].action,
            Action::Apply { want: v4(7, 16), add: true, set_up: false, remove: vec![v4(2, 16)] }
        );
    }

    #[test]
    fn children_are_skipped() {
        let mut child = link(4, "ib0.8001", MAC_A, true);
        child.lower_index = Some(2);
        let mut ib_child = link(5, "ib9", [0; 6], true);
        (ib_child.link_type, ib_child.lower_index) = (ARPHRD_INFINIBAND, Some(2));
        // An IPoIB child whose parent is in another netns is a child all the same.
        let mut orphan = link(6, "ib8", MAC_A, true);
        (orphan.link_type, orphan.lower_index) = (ARPHRD_INFINIBAND, Some(40));
        let links = [link(2, "ib0", MAC_A, true), child, ib_child, orphan];
        let plans = run(&links, &[], &Owned::default(), "NUMPAIRS:1|00155D33FF0B:172.16.1.2").unwrap();
        assert_eq!(plans[1].action, Action::Child { parent: "ib0".into() });
        assert_eq!(plans[2].action, Action::Child { parent: "ib0".into() });
        assert_eq!(plans[3].action, Action::Child { parent: "ifindex 40".into() });
    }

    #[test]
    fn a_malformed_pool_changes_nothing() {
        let links = [link(2, "ib0", MAC_A, false)];
        assert!(matches!(
            run(&links, &[], &Owned::default(), "NUMPAIRS:2|00155D33FF0B:172.16.1.2"),
            Err(Why::Malformed { .. })
        ));
    }
}
