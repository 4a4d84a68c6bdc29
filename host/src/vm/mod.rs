//! The VM's own IPoIB links: `ipoib up` gives each the address KVP lists for it and keeps it
//! so, over rtnetlink (the fourth face over the one lookup, beside the plugin, the CLI's
//! questions and the webhook).
//!
//! - [`messages`]: the rtnetlink messages, pure bytes;
//! - [`rtnl`]: the sockets;
//! - [`state`]: which addresses this command set, so it removes only those;
//! - [`plan`]: what to change, decided without I/O;
//! - [`apply`]: the changes made, and each link's report;
//! - [`up`]: one pass; [`watch`]: a pass after every change.
//!
//! None of it runs in the plugin's ADD; `hot-text.ld` keeps it out of the ADD's pages.

pub mod apply;
pub mod messages;
pub mod plan;
pub mod rtnl;
pub mod state;
pub mod up;
pub mod watch;
