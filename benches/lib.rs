//! Nothing here: the package exists for its benchmarks (see `spawn.rs`).
