//! The `azure-ipoib-ipam-cni` executable: runtime in, runtime out. All logic is in the library.

fn main() {
    let code = cni_frontend::run::run(
        |name| std::env::var_os(name),
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
