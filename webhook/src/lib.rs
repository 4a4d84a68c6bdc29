//! azure-ipoib-webhook: the DRANet profile-provider webhook. DRANet (kubernetes-sigs/dranet)
//! attaches NICs to pods through Dynamic Resource Allocation, so no CNI IPAM plugin runs; it asks
//! this webhook instead, over HTTP/1.1 on a unix socket or TCP, which address a NIC gets.
//!
//! The third face over the one core (see the README's architecture): the host crate's pool
//! reader ([`ipoib_host::pool_file::PoolReader`], under the plugin's OFD read lock) and its one
//! lookup ([`ipoib_host::lookup`]), re-run on every request, so an answer is never staler than
//! the pool. It depends on kvp-core and ipoib-host, never on the plugin's crate.
//!
//! Modules, in the order a request meets them: [`server`] (listeners, limits, signals),
//! [`request_clock`] and [`write_deadline`] (the read and write deadlines on each connection),
//! [`routes`] (paths and methods), [`request`] (the body decoder, fuzzed), [`lookup`] (the pool
//! read, then the host crate's one lookup), [`http_status`] (the one place a reason for "no
//! address" becomes an HTTP status), then [`metrics`] and [`log`].
//!
//! # Why hyper 1 on a current-thread tokio runtime
//! - One thread serves every connection, so a client that sends a byte a second holds one
//!   connection slot and nothing else. tiny_http, the smaller candidate, hands each connection
//!   to a pool thread: a few slow clients stall everyone unless the pool grows without bound.
//! - hyper enforces the limits itself or lets us: a head read timeout, a cap on the head buffer
//!   (431), a body read through `http_body_util::Limited` (413), graceful shutdown of each
//!   connection (hyper-util's `GracefulShutdown`), and a deadline on write progress through the
//!   stream it is given ([`write_deadline`]).
//! - It serves any `AsyncRead + AsyncWrite`, so TCP and unix sockets share one code path.
//! - Both are widely used and maintained (hyper underlies most Rust HTTP stacks), and with only
//!   the features used here the static binary is about 1 MB, answered its first request about
//!   20 ms after being spawned on a busy 2-core VM, and peaks at about 1.2 MiB RSS under the
//!   bench's load (README, "Webhook performance"); the Go original peaks at about 12 MiB.
//!
//! hyper, tokio and prometheus-client are behind the default `server` feature, so the fuzz crate
//! builds the request decoder without them.

pub mod request;

#[cfg(feature = "server")]
pub mod flags;
#[cfg(feature = "server")]
pub mod http_status;
#[cfg(feature = "server")]
pub mod listen;
#[cfg(feature = "server")]
pub mod log;
#[cfg(feature = "server")]
pub mod lookup;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod race;
#[cfg(feature = "server")]
pub mod request_clock;
#[cfg(feature = "server")]
pub mod routes;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod write_deadline;
