//! Whether a link is an IPoIB child (`ip link add link ib0 name ib0.8001 type ipoib`, as
//! ipoib-cni creates them): the one rule, for rtnetlink's answers (ADD's [`crate::link`], and
//! `ipoib up`'s link dump in [`crate::vm`]) and for a netdev's sysfs attributes (the CLI's
//! `doctor`).
//!
//! A child shares its parent's port GUID, hence the MAC `IPoIB_Data` names, so it cannot have an
//! address of its own there. The kernel tells them apart by the link's lower link, its
//! "iflink": `ipoib_get_iflink` returns a child's parent ifindex and a parent's own ifindex.
//! rtnetlink sends it as `IFLA_LINK` only when it differs from the link's index (so a reply
//! without one is no child), while sysfs always prints it as `iflink` beside `ifindex` and
//! `type`. Veths have a lower link too (their peer), so only an InfiniBand link is judged by it.
#![forbid(unsafe_code)]

/// `ARPHRD_INFINIBAND`: the link type of an IPoIB link (rtnetlink's `ifi_type`, sysfs's `type`).
pub const ARPHRD_INFINIBAND: u16 = 32;

/// The parent's ifindex when the link of `link_type` and `ifindex`, whose lower link is `iflink`
/// (`None` when none was given), is an IPoIB child; `None` for every other link.
#[must_use]
pub fn parent_index(link_type: u16, ifindex: i32, iflink: Option<i32>) -> Option<i32> {
    let lower = iflink?;
    (link_type == ARPHRD_INFINIBAND && lower != ifindex).then_some(lower)
}

/// A number as sysfs prints a link's `type`, `ifindex` or `iflink`: decimal, one line.
pub fn sysfs_number<T: std::str::FromStr>(attribute: &str) -> Option<T> {
    attribute.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARPHRD_ETHER: u16 = 1;

    #[test]
    fn only_an_infiniband_link_on_another_link_is_a_child() {
        assert_eq!(parent_index(ARPHRD_INFINIBAND, 9, Some(5)), Some(5));
        // A parent: rtnetlink leaves IFLA_LINK out, sysfs prints its own index.
        assert_eq!(parent_index(ARPHRD_INFINIBAND, 5, None), None);
        assert_eq!(parent_index(ARPHRD_INFINIBAND, 5, Some(5)), None);
        // A veth's lower link is its peer.
        assert_eq!(parent_index(ARPHRD_ETHER, 9, Some(5)), None);
    }

    #[test]
    fn sysfs_numbers() {
        assert_eq!(sysfs_number::<i32>("5\n"), Some(5));
        assert_eq!(sysfs_number::<u16>("32\n"), Some(ARPHRD_INFINIBAND));
        assert_eq!(sysfs_number::<i32>(""), None);
        assert_eq!(sysfs_number::<i32>("ib0\n"), None);
    }
}
