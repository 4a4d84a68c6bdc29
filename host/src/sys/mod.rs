//! The host layer's only `unsafe` code, one concern per file: the pool file's memory mapping and
//! the SIGBUS answer that guards it, and the way back to the caller's own netns.
//!
//! Everything else that talks to the kernel (open, fcntl locks, fstat, setns, netlink sockets)
//! goes through nix's safe wrappers, and the rest of the crate denies `unsafe_code`. Every block
//! needs a `// SAFETY:` note (`clippy::undocumented_unsafe_blocks`, a workspace lint).

mod mapping;
mod netns;
mod sigbus;

pub use mapping::ReadOnlyMapping;
pub use netns::current_netns;
pub use sigbus::{answer_on_sigbus, FaultReport};
