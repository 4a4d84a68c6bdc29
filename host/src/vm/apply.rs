//! Carrying a plan out over rtnetlink, link by link, and what each link's line says.
//!
//! Stale addresses of ours go first, then the link is set up, then the KVP address is added:
//! an IPv6 address cannot be added again with another prefix while the old one is there. A
//! change the kernel refuses fails that link only; the state records only what was done.

use kvp_core::Mac;
use nix::errno::Errno;

use super::messages::{Cidr, MessageError};
use super::plan::{Action, LinkPlan};
use super::rtnl::{Rtnl, RtnlError};
use super::state::Owned;

/// What a link's line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Already right: nothing changed.
    Ok,
    /// The KVP address was added, or the link set up.
    Set,
    /// Only an address of ours that KVP no longer lists was removed.
    Removed,
    /// KVP lists no pair for the link (any address of ours is removed too).
    NoPair,
    /// An IPoIB child, left alone.
    Child,
    /// Nothing could be done, or the kernel refused a change.
    Failed,
}

impl Status {
    /// The word the report prints.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Set => "set",
            Status::Removed => "removed",
            Status::NoPair => "no pair",
            Status::Child => "child",
            Status::Failed => "failed",
        }
    }
}

/// One link's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReport {
    /// The link's name.
    pub name: String,
    /// Its MAC, when it has one.
    pub mac: Option<Mac>,
    /// What the line says.
    pub status: Status,
    /// The KVP address, when there is one.
    pub address: Option<Cidr>,
    /// Addresses of ours removed.
    pub removed: Vec<Cidr>,
    /// Whether the link was set up.
    pub set_up: bool,
    /// Anything more to say (the parent of a child, why it failed).
    pub note: String,
    /// KVP lists no pair for the link (the command then exits 1, whatever it removed).
    pub pair_missing: bool,
}

/// Carries `plans` out through `rtnl` (`None`: a dry run, which changes nothing and reports what
/// it would do), recording in `owned` each address added or removed.
pub fn apply(mut rtnl: Option<&mut Rtnl>, plans: &[LinkPlan], owned: &mut Owned) -> Vec<LinkReport> {
    plans.iter().map(|plan| apply_link(rtnl.as_deref_mut(), plan, owned)).collect()
}

fn apply_link(mut rtnl: Option<&mut Rtnl>, plan: &LinkPlan, owned: &mut Owned) -> LinkReport {
    let mut report = LinkReport {
        name: plan.name.clone(),
        mac: plan.mac,
        status: Status::Ok,
        address: None,
        removed: Vec::new(),
        set_up: false,
        note: String::new(),
        pair_missing: matches!(plan.action, Action::NoPair { .. }),
    };
    let (want, add, set_up, remove) = match &plan.action {
        Action::Apply { want, add, set_up, remove } => (Some(*want), *add, *set_up, remove.as_slice()),
        Action::NoPair { pairs, remove } => {
            report.note = format!("IPoIB_Data lists no pair for this MAC ({pairs} pairs listed)");
            (None, false, false, remove.as_slice())
        }
        Action::Child { parent } => {
            report.status = Status::Child;
            report.note = format!("child of {parent}, which shares its port GUID: left alone");
            return report;
        }
        Action::Fail { reason } => {
            report.status = Status::Failed;
            report.note.clone_from(reason);
            return report;
        }
    };
    report.address = want;
    let failed = |report: &mut LinkReport, what: &str, e: RtnlError| {
        report.status = Status::Failed;
        report.note = format!("{what}: {e}");
    };
    for &cidr in remove {
        if let Some(rtnl) = rtnl.as_deref_mut() {
            match rtnl.remove_address(plan.index, cidr) {
                // Already gone: the same outcome.
                Ok(()) => {}
                Err(RtnlError::Reply(MessageError::Kernel { errno })) if errno == Errno::EADDRNOTAVAIL as i32 => {}
                Err(e) => {
                    failed(&mut report, "removing an address", e);
                    return report;
                }
            }
            owned.remove(&plan.name, cidr);
        }
        report.removed.push(cidr);
    }
    if set_up {
        if let Some(rtnl) = rtnl.as_deref_mut() {
            if let Err(e) = rtnl.set_up(plan.index) {
                failed(&mut report, "setting the link up", e);
                return report;
            }
        }
        report.set_up = true;
    }
    if let (Some(cidr), true) = (want, add) {
        if let Some(rtnl) = rtnl {
            match rtnl.add_address(plan.index, cidr) {
                Ok(()) => owned.insert(&plan.name, cidr),
                // Added by someone else since the look: theirs, not ours.
                Err(RtnlError::Reply(MessageError::Kernel { errno })) if errno == Errno::EEXIST as i32 => {}
                Err(e) => {
                    failed(&mut report, "adding the address", e);
                    return report;
                }
            }
        }
    }
    report.status = match (&plan.action, add || report.set_up, report.removed.is_empty()) {
        (Action::NoPair { .. }, _, true) => Status::NoPair,
        (_, true, _) => Status::Set,
        (_, false, false) => Status::Removed,
        (_, false, true) => Status::Ok,
    };
    report
}
