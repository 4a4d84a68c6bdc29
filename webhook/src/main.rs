//! `azure-ipoib-webhook`: parses the flags and runs the server (see the library docs).

use std::process::ExitCode;

use azure_ipoib_webhook::flags::{self, Parsed};
use azure_ipoib_webhook::listen;
use ipoib_host::outside_value::Shown;

fn main() -> ExitCode {
    match flags::parse_os(std::env::args_os().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{}", flags::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Parsed::PrepareSocketDir(config)) => match listen::prepare_socket_dir(&config.bind) {
            Ok(dir) => {
                eprintln!(
                    "azure-ipoib-webhook: level=info prepared {} for group {} (mode {:o})",
                    Shown::path(&dir),
                    nix::unistd::getegid(),
                    listen::SOCKET_DIR_MODE
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "azure-ipoib-webhook: level=error cannot prepare the socket directory of {}: {e}",
                    config.bind
                );
                ExitCode::FAILURE
            }
        },
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
