//! `ipoib`: the pairs of `IPoIB_Data`, or the answer for one NIC.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use kvp_core::HwAddr;

use super::args::Query;
use super::escape::{json_array, json_object, text};
use super::pool::Snapshot;
use super::report::CliError;
use crate::cni::netconf::DEFAULT_PREFIX_LENGTH;
use crate::error_codes;
use crate::link;

/// Answers `query` from the pool at `path`.
pub fn run(path: &Path, json: bool, query: &Query, stdout: &mut dyn Write) -> Result<i32, CliError> {
    // As ADD: the pool first, so a pool that is not ready fails the same way for every NIC.
    let snapshot = Snapshot::read(path)?;
    let out = match query {
        Query::All => {
            let pairs = snapshot.pairs()?;
            let rows: Vec<(String, String)> = pairs.iter().map(|p| (p.mac.to_string(), p.ip.to_string())).collect();
            if json {
                let items: Vec<String> = rows.iter().map(|(m, a)| json_object(&[("mac", m), ("address", a)])).collect();
                json_array(&items)
            } else {
                rows.iter().map(|(m, a)| format!("{m} {a}\n")).collect()
            }
        }
        Query::HwAddr(text_addr) => {
            let hwaddr = HwAddr::parse_text(text_addr.as_bytes()).map_err(|e| {
                CliError::new(
                    format!("{:?} is not a hardware address: {e}", text(text_addr.as_bytes())),
                    "give it as `ip link` prints it: 20 bytes (IPoIB) or 6 bytes, in colon hex",
                )
            })?;
            let mac = hwaddr.mac();
            let address = snapshot.address_of(mac)?;
            answer(json, &[("mac", &mac.to_string()), ("address", &address.to_string())], &address.to_string())
        }
        Query::Netns { netns, ifname } => {
            // ADD's own lookup and message, IPoIB child links refused (code 105) included.
            let hwaddr = link::hwaddr_in_netns(netns, ifname)
                .map_err(|e| CliError::from(error_codes::link_failure(&e, None)))?;
            let mac = hwaddr.mac();
            let address = snapshot.address_of(mac)?;
            let cidr = format!("{address}/{DEFAULT_PREFIX_LENGTH}");
            answer(json, &[("ifname", ifname), ("mac", &mac.to_string()), ("address", &cidr)], &cidr)
        }
    };
    let _ = stdout.write_all(out.as_bytes());
    Ok(0)
}

fn answer(json: bool, members: &[(&str, &str)], plain: &str) -> String {
    if json {
        format!("{}\n", json_object(members))
    } else {
        format!("{plain}\n")
    }
}
