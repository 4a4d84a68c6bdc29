//! The CNI protocol: environment, network config, results and errors. Nothing here touches the
//! host; the commands in [`crate::commands`] do.

pub mod allowed_dirs;
pub mod env;
pub mod error;
pub mod json;
pub mod netconf;
pub mod result;
pub mod version;

pub use allowed_dirs::AllowedDirs;
pub use env::{Command, Env};
pub use error::{CniError, Code};
pub use netconf::NetConf;
pub use version::CniVersion;
