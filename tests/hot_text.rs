//! The plugin binary's link map shows the ADD's code and data where `cni-frontend/hot-text.ld`
//! (aarch64: `hot-text-aarch64.ld`) puts them: every function and jump table of the plugin's
//! crate and of each workspace crate it depends on in the hot sections, but the operator CLI's,
//! which must be out of them, and the heap after the small variables. A module renamed or moved, a
//! new crate, a change of mangling scheme or a pattern that no longer matches fails here, not
//! only as a few more page faults in a perf run (README, Performance).
//!
//! The map is the one cni-frontend/build.rs has the linker write for the binary this test run
//! built (`PLUGIN_LINK_MAP`); GNU ld's and rust-lld's formats are both read.
// Test code: indexing, unwrapping and panicking are how a test fails.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

const HOT_TEXT: &str = ".text.hot_add";
const HOT_RODATA: &str = ".rodata.hot_add";
const HEAP_SECTION: &str = ".bss.heap";
/// The plugin's own crate.
const PLUGIN_CRATE: &str = "cni_frontend";
/// The operator CLI's code in those crates, which no ADD runs: the scripts match it first, into
/// cold sections. `ipoib_host::vm` holds `ipoib up`'s parts.
const CLI_MODULES: [(&str, &str); 2] = [(PLUGIN_CRATE, "cli"), ("ipoib_host", "vm")];

/// One input section as the map places it.
#[derive(Debug)]
struct Placed {
    output: String,
    input: String,
}

#[test]
fn the_adds_code_and_read_only_data_are_in_the_hot_sections_and_the_cli_is_not() {
    let placed = link_map();
    let crates = hot_crates();
    let mut misplaced = Vec::new();
    let (mut ours, mut cli) = (0, 0);
    for section in &placed {
        let (hot, symbol) = if let Some(symbol) = section_symbol(&section.input, ".text.") {
            (HOT_TEXT, symbol)
        } else if let Some(symbol) = section_symbol(&section.input, ".rodata.") {
            (HOT_RODATA, symbol)
        } else {
            continue;
        };
        let owners = owners(symbol, &crates);
        let is_cli = |(krate, module): &(String, Option<String>)| {
            CLI_MODULES.iter().any(|(k, m)| krate == k && module.as_deref() == Some(*m))
        };
        if owners.iter().any(is_cli) {
            cli += 1;
            if section.output == hot {
                misplaced.push(format!("CLI code in {hot}: {}", section.input));
            }
        } else if !owners.is_empty() {
            ours += 1;
            if section.output != hot {
                misplaced.push(format!("{} in {}, not {hot}", section.input, section.output));
            }
        }
    }
    assert!(
        misplaced.is_empty(),
        "{} input sections misplaced: update cni-frontend/hot-text*.ld's patterns (crates {crates:?}):\n{}",
        misplaced.len(),
        misplaced.join("\n")
    );
    assert!(ours > 100, "only {ours} sections of {crates:?} found in the map: is this the plugin's map?");
    assert!(
        cli > 0,
        "no code of {CLI_MODULES:?} in the map: if the CLI moved, move its cold patterns in hot-text*.ld and this test with it"
    );
}

#[test]
fn the_heap_comes_after_the_small_variables() {
    let placed = link_map();
    let heap: Vec<&Placed> = placed.iter().filter(|s| s.output == HEAP_SECTION).collect();
    assert!(
        heap.first().is_some_and(|s| s.input.contains("HEAP")),
        "the plugin's heap (main.rs's HEAP) is not the first thing in {HEAP_SECTION}: {heap:?}; \
         a renamed HEAP needs hot-text*.ld's pattern renamed too"
    );
}

fn link_map() -> Vec<Placed> {
    let path = env!("PLUGIN_LINK_MAP");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (the plugin binary's link map)"));
    let placed = if text.trim_start().starts_with("VMA") { lld_map(&text) } else { gnu_ld_map(&text) };
    assert!(!placed.is_empty(), "{path}: no input sections read");
    placed
}

/// GNU ld: after "Linker script and memory map", an output section at column 0 and its input
/// sections at column 1, the address and size on the same line or, for a long name, the next.
fn gnu_ld_map(text: &str) -> Vec<Placed> {
    let body = text.split_once("\nLinker script and memory map").map_or("", |(_, body)| body);
    let mut placed = Vec::new();
    let mut output = String::new();
    for line in body.lines() {
        if !line.is_empty() && !line.starts_with(' ') {
            output = line.split_whitespace().next().unwrap_or_default().to_string();
        } else if let Some(rest) = line.strip_prefix(' ') {
            if rest.starts_with('.') {
                let input = rest.split_whitespace().next().unwrap_or_default().to_string();
                placed.push(Placed { output: output.clone(), input });
            }
        }
    }
    placed
}

/// rust-lld: "VMA LMA Size Align" columns, then the output section, an input section
/// (`file:(section)`) indented by 8 and a symbol by 16.
fn lld_map(text: &str) -> Vec<Placed> {
    let mut placed = Vec::new();
    let mut output = String::new();
    for line in text.lines().skip(1) {
        let mut rest = line;
        for _ in 0..4 {
            rest = rest.trim_start();
            rest = rest.find(' ').map_or("", |end| &rest[end..]);
        }
        let Some(rest) = rest.strip_prefix(' ') else { continue };
        let indent = rest.len() - rest.trim_start().len();
        match indent {
            0 => output = rest.trim().to_string(),
            8 => {
                if let Some((_, section)) = rest.trim().rsplit_once(":(") {
                    placed.push(Placed { output: output.clone(), input: section.trim_end_matches(')').to_string() });
                }
            }
            _ => {}
        }
    }
    placed
}

/// The crates whose code an ADD runs and the scripts place whole: the plugin's own and each
/// workspace crate it depends on (path dependencies), as `cargo metadata` lists them.
fn hot_crates() -> BTreeSet<String> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path", manifest])
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plugin = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cni-frontend")
        .expect("cni-frontend in the workspace");
    let mut crates: BTreeSet<String> = plugin["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null() && d["path"].is_string())
        .map(|d| d["name"].as_str().unwrap().replace('-', "_"))
        .collect();
    crates.insert(PLUGIN_CRATE.to_string());
    crates
}

/// The symbol an input section is named after: `.text.<symbol>`, `.text.unlikely.<symbol>`,
/// `.rodata..Lswitch.table.<symbol>.3` and the like; `None` for a section of another kind or
/// named after no Rust symbol.
fn section_symbol<'a>(section: &'a str, kind: &str) -> Option<&'a str> {
    let name = section.strip_prefix(kind)?;
    let start = name.find("_ZN").or_else(|| name.find("_R"))?;
    let prefix = &name[..start];
    let known = ["", "unlikely.", "hot.", "startup.", ".Lswitch.table.", "unlikely..Lswitch.table."];
    known.contains(&prefix).then_some(&name[start..])
}

/// Which of `crates` the symbol names as a path, each with the module that follows the crate
/// (`None` when nothing does): both manglings, legacy (`_ZN12cni_frontend3cli...`, and
/// `cni_frontend..cli..` inside another path, as in `<cni_frontend::cli::X as Trait>`) and v0
/// (a crate root `C...12cni_frontend` followed by the module's identifier `3cli`).
fn owners(symbol: &str, crates: &BTreeSet<String>) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    if let Some(path) = symbol.strip_prefix("_ZN") {
        let components = legacy_components(path);
        if let Some(first) = components.first() {
            if crates.contains(*first) {
                found.push((first.to_string(), components.get(1).map(|m| m.to_string())));
            }
        }
        for component in &components {
            for krate in crates {
                let pattern = format!("{krate}..");
                for (at, _) in component.match_indices(&pattern) {
                    if at == 0 || component[..at].ends_with('$') {
                        let module = component[at + pattern.len()..].split(['.', '$']).next().unwrap_or_default();
                        found.push((krate.clone(), Some(module.to_string()).filter(|m| !m.is_empty())));
                    }
                }
            }
        }
    } else if let Some(path) = symbol.strip_prefix("_R") {
        for krate in crates {
            let root = format!("{}{krate}", krate.len());
            for (at, _) in path.match_indices(&root) {
                let before = &path[..at];
                // A crate root is `C`, then an optional `s<disambiguator>_`, then the name.
                let is_root = before.ends_with('C')
                    || before.rfind("Cs").is_some_and(|s| {
                        before[s + 2..].strip_suffix('_').is_some_and(|d| d.bytes().all(|b| b.is_ascii_alphanumeric()))
                    });
                if is_root {
                    found.push((krate.clone(), v0_next_identifier(&path[at + root.len()..])));
                }
            }
        }
    }
    found
}

/// The length-prefixed components of a legacy symbol's path, up to its closing `E`.
fn legacy_components(mut path: &str) -> Vec<&str> {
    let mut components = Vec::new();
    loop {
        let digits = path.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(len) = path[..digits].parse::<usize>() else { break };
        let Some(component) = path.get(digits..digits + len) else { break };
        components.push(component);
        path = &path[digits + len..];
    }
    components
}

/// The identifier at the start of a v0 path's rest (`3cli...` → `cli`), if one is there: an
/// optional disambiguator `s<base62>_`, a decimal length, an optional `_`, the bytes.
fn v0_next_identifier(mut rest: &str) -> Option<String> {
    if let Some(after) = rest.strip_prefix('s') {
        let end = after.find('_')?;
        rest = &after[end + 1..];
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let len: usize = rest[..digits].parse().ok()?;
    let rest = &rest[digits..];
    let rest = rest.strip_prefix('_').unwrap_or(rest);
    rest.get(..len).map(str::to_string)
}
