//! What the workspace's tests share, in one dev-only crate (publish = false) that each package
//! takes as a dev-dependency, instead of each test binary compiling these files through `#[path]`.
//!
//! - [`plugin`]: run the built plugin as a runtime does, and build its inputs;
//! - [`netns`]: throwaway network namespaces and veth links (root);
//! - [`kvp_daemon`]: the real `hv_kvp_daemon`, driven as the kernel driver would (root);
//! - [`root`]: the one rule for tests that need root or a tool: run, skip, or fail under `CI`;
//! - [`cli`]: run the built binary as an operator does (no `CNI_COMMAND`, arguments);
//! - [`podman`]: build and run the project's images with a private podman;
//! - [`webhook`]: run the built webhook and talk HTTP to it over TCP and its unix socket.

pub mod cli;
pub mod kvp_daemon;
pub mod netns;
pub mod plugin;
pub mod podman;
pub mod root;
pub mod webhook;
