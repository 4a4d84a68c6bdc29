//! `azure-ipoib-webhook`: parses the flags and runs the server (see the library docs).

use std::process::ExitCode;

use azure_ipoib_webhook::flags::{self, Parsed};

fn main() -> ExitCode {
    match flags::parse_os(std::env::args_os().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{}", flags::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(config)) => match azure_ipoib_webhook::server::run(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("azure-ipoib-webhook: level=error {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("azure-ipoib-webhook: {e}\n{}", flags::USAGE);
            ExitCode::from(2)
        }
    }
}
