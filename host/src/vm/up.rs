//! One pass of `ipoib up`: look at the netns's links and addresses, read the pool under its
//! lock, decide ([`super::plan`]), carry it out ([`super::apply`]) and keep the state.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::apply::{apply, LinkReport};
use super::plan::{plan, Inputs, Selection};
use super::rtnl::{Rtnl, RtnlError};
use super::state::{self, StateError};
use crate::pool_file;
use crate::why::Why;

/// A pass's outcome: one report per link, or why nothing changed.
pub type Outcome = Result<Vec<LinkReport>, UpError>;

/// What a pass is asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The KVP pool file.
    pub pool: PathBuf,
    /// The prefix length given to each KVP address.
    pub prefix_length: u8,
    /// How long to wait for hv_kvp_daemon's write lock.
    pub lock_timeout: Duration,
    /// Where the addresses this command set are recorded.
    pub state: PathBuf,
    /// Which links.
    pub selection: Selection,
    /// Decide and report, change nothing.
    pub dry_run: bool,
}

/// Why a pass changed nothing at all.
#[derive(Debug)]
pub enum UpError {
    /// The pool is not ready, or its `IPoIB_Data` is malformed: one answer for every link.
    Pool(Why),
    /// The links or addresses could not be listed.
    Netlink(RtnlError),
    /// The state file could not be read or written.
    State(StateError),
}

impl fmt::Display for UpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpError::Pool(why) => write!(f, "{why}"),
            UpError::Netlink(e) => write!(f, "cannot list the links: {e}"),
            UpError::State(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for UpError {}

impl From<RtnlError> for UpError {
    fn from(e: RtnlError) -> UpError {
        UpError::Netlink(e)
    }
}

impl From<StateError> for UpError {
    fn from(e: StateError) -> UpError {
        UpError::State(e)
    }
}

/// One pass; its report, one entry per link.
pub fn once(settings: &Settings) -> Outcome {
    let mut rtnl = Rtnl::open()?;
    let links = rtnl.links()?;
    let addresses = rtnl.addresses()?;
    // The lock is held for the copy only, never across the netlink work.
    let pool =
        pool_file::read_locked(&settings.pool, settings.lock_timeout).map_err(|e| UpError::Pool(Why::Pool(e)))?;
    let mut owned = state::load(&settings.state)?;
    let inputs = Inputs {
        links: &links,
        addresses: &addresses,
        pool: (&settings.pool, &pool),
        prefix_length: settings.prefix_length,
        owned: &owned,
    };
    let plans = plan(&inputs, &settings.selection).map_err(UpError::Pool)?;
    if settings.dry_run {
        return Ok(apply(None, &plans, &mut owned.clone()));
    }
    let before = owned.clone();
    let reports = apply(Some(&mut rtnl), &plans, &mut owned);
    // A link that is gone took its addresses with it.
    owned.retain_links(|name| links.iter().any(|l| l.name == name));
    if owned != before {
        state::save(&settings.state, &owned)?;
    }
    Ok(reports)
}
