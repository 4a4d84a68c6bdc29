//! The crate's only `unsafe` code, one concern per file: the pool file's memory mapping and the
//! SIGBUS answer that guards it, the raw standard streams, the command line from C's `main`, the
//! way back to the plugin's own netns, and the binary's allocator.
//!
//! Everything else that talks to the kernel (open, fcntl locks, fstat, setns, netlink sockets)
//! goes through nix's safe wrappers, and the rest of the crate denies `unsafe_code`. Every block
//! needs a `// SAFETY:` note (`clippy::undocumented_unsafe_blocks`, a workspace lint).

mod arena;
pub mod args;
mod mapping;
mod netns;
mod sigbus;
pub mod stdio;

pub use arena::Arena;
pub use mapping::ReadOnlyMapping;
pub use netns::current_netns;
pub use sigbus::{answer_on_sigbus, FaultReport};
