//! Links the plugin binary with a linker script that places the ADD path's code first, so a fresh
//! process pages it in with few faults: `hot-text.ld` on x86_64, `hot-text-aarch64.ld` on aarch64
//! (musl, the compiler builtins and the linker differ; see those files). Libraries, tests and
//! fuzzers are linked as usual: the argument applies to the `[[bin]]` only.

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
    if links_directly() {
        println!("cargo:rustc-link-arg-bins=-T{dir}/{script}");
    } else {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/{script}");
    }
}

/// Whether the target's linker is `ld` itself (rust-lld, which `.cargo/config.toml` sets for
/// aarch64), which takes `-T` as is, rather than a C compiler driver (the default `cc`), which
/// needs it wrapped in `-Wl,`. Cargo names a configured linker in `RUSTC_LINKER`.
fn links_directly() -> bool {
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = std::path::Path::new(&linker).file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "rust-lld" | "ld.lld" | "lld" | "ld" | "ld.bfd" | "ld.gold")
}
