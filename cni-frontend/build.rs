//! Links the plugin binary with `hot-text.ld`, which places the ADD path's code first so a fresh
//! process pages it in with few faults (see that file). Libraries, tests and fuzzers are linked
//! as usual: the argument applies to the `[[bin]]` only.

fn main() {
    println!("cargo:rerun-if-changed=hot-text.ld");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/hot-text.ld");
    }
}
