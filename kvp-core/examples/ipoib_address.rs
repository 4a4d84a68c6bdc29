//! What a VM agent or an initramfs hook would write: print the IPoIB address Azure assigned to a
//! network interface, from the KVP pool file and the interface's link address in sysfs.
//!
//! `cargo run -p kvp-core --example ipoib_address -- [--sysfs DIR] POOL IFACE`
//!
//! e.g. `ipoib_address /var/lib/hyperv/.kvp_pool_0 ib0` prints `172.16.1.2`. It reads
//! `DIR/class/net/IFACE/address` (`DIR` is `/sys` unless given; tests point it at a fake tree) and
//! uses kvp-core alone. Exit codes: 0 printed, 1 no address (pool or NIC not ready, or not
//! listed), 2 bad arguments or unreadable input.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kvp_core::{HwAddr, IpoibData, Pool, ResolveError};

const USAGE: &str = "usage: ipoib_address [--sysfs DIR] POOL IFACE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (sysfs, rest) = match args.as_slice() {
        [flag, dir, rest @ ..] if flag == "--sysfs" => (PathBuf::from(dir), rest),
        rest => (PathBuf::from("/sys"), rest),
    };
    let [pool, iface] = rest else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match ipoib_address(Path::new(pool), &sysfs, iface) {
        Ok(ip) => {
            println!("{ip}");
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("ipoib_address: {message}");
            ExitCode::from(code)
        }
    }
}

/// The interface's address, or an exit code and a message.
fn ipoib_address(pool_path: &Path, sysfs: &Path, iface: &str) -> Result<std::net::IpAddr, (u8, String)> {
    let address_path = sysfs.join("class/net").join(iface).join("address");
    let text = std::fs::read(&address_path).map_err(|e| (2, format!("{}: {e}", address_path.display())))?;
    let nic = HwAddr::parse_text(&text).map_err(|e| (2, format!("{}: {e}", address_path.display())))?;
    let bytes = std::fs::read(pool_path).map_err(|e| (2, format!("{}: {e}", pool_path.display())))?;
    let data = IpoibData::from_pool(&Pool::new(&bytes)).map_err(|e| match e {
        ResolveError::EmptyPool { .. } | ResolveError::NoIpoibData => {
            (1, format!("{}: {e} (yet)", pool_path.display()))
        }
        e => (2, format!("{}: {e}", pool_path.display())),
    })?;
    let mac = nic.mac();
    let pair =
        data.find(mac).ok_or_else(|| (1, format!("{iface}: {}", ResolveError::NoPair { mac, pairs: data.len() })))?;
    Ok(pair.ip)
}
