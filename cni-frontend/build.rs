//! Links the plugin binary with a linker script that places what an ADD touches together, so a
//! fresh process pages it in with few faults: `hot-text.ld` on x86_64, `hot-text-aarch64.ld` on
//! aarch64 (musl, the compiler builtins and the linker differ; see those files). Libraries, tests
//! and fuzzers are linked as usual: the arguments apply to the `[[bin]]` only.
//!
//! - `-z norelro`: RELRO would make `.got` and `.init_array` read-only after start-up, but only a
//!   dynamic loader applies it (the kernel does not, and musl's static start-up has no
//!   `mprotect`), so in this static binary it protected nothing. What it did do is page-align the
//!   end of that part, which put the writable data on one more page than it needs: a page fault.
//! - `-Map`: the link's map (which input section went to which output section), in `OUT_DIR`,
//!   named to the package's tests by `PLUGIN_LINK_MAP`: `tests/hot_text.rs` reads it to check that
//!   the ADD's code stayed in the hot section.

fn main() {
    println!("cargo:rerun-if-changed=hot-text.ld");
    println!("cargo:rerun-if-changed=hot-text-aarch64.ld");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") != "linux" {
        return;
    }
    let script = match target("CARGO_CFG_TARGET_ARCH").as_str() {
        "aarch64" => "hot-text-aarch64.ld",
        _ => "hot-text.ld",
    };
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let map = format!("{out_dir}/azure-ipoib-ipam-cni.map");
    for (option, value) in [("-T", format!("{dir}/{script}")), ("-Map", map.clone()), ("-z", "norelro".into())] {
        if links_directly() {
            println!("cargo:rustc-link-arg-bins={option}");
            println!("cargo:rustc-link-arg-bins={value}");
        } else {
            println!("cargo:rustc-link-arg-bins=-Wl,{option},{value}");
        }
    }
    println!("cargo:rustc-env=PLUGIN_LINK_MAP={map}");
}

/// Whether the target's linker is `ld` itself (rust-lld, which `.cargo/config.toml` sets for
/// aarch64), which takes its options as they are, rather than a C compiler driver (the default
/// `cc`), which needs them wrapped in `-Wl,`. Cargo names a configured linker in `RUSTC_LINKER`.
fn links_directly() -> bool {
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = std::path::Path::new(&linker).file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "rust-lld" | "ld.lld" | "lld" | "ld" | "ld.bfd" | "ld.gold")
}
