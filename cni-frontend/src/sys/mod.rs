//! The plugin's only `unsafe` code, one concern per file: the raw standard streams, the command
//! line from C's `main`, and the binary's allocator. (The pool mapping, its SIGBUS answer and the
//! netns return live in `ipoib_host::sys`.)
//!
//! Every block needs a `// SAFETY:` note (`clippy::undocumented_unsafe_blocks`, a workspace lint).

mod arena;
pub mod args;
pub mod stdio;

pub use arena::Arena;
