//! `ipoib`: the pairs of `IPoIB_Data`, or the answer for one NIC.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use ipoib_host::lookup::SYSFS_ROOT;
use ipoib_host::{lookup, Nic, Question, Source};

use super::args::Query;
use super::check_config::Settings;
use super::escape::{json_array, json_object, text};
use super::pool::{mac_of_link_address, Snapshot};
use super::report::CliError;

/// Answers `query` from the pool at `path`, with `settings` (a config's, or the defaults).
pub fn run(
    path: &Path,
    settings: &Settings,
    json: bool,
    query: &Query,
    stdout: &mut dyn Write,
) -> Result<i32, CliError> {
    let out = match query {
        Query::All => {
            let pairs = Snapshot::read(path)?.pairs()?;
            let rows: Vec<(String, String)> = pairs.iter().map(|p| (p.mac.to_string(), p.ip.to_string())).collect();
            if json {
                let items: Vec<String> = rows.iter().map(|(m, a)| json_object(&[("mac", m), ("address", a)])).collect();
                json_array(&items)
            } else {
                rows.iter().map(|(m, a)| format!("{m} {a}\n")).collect()
            }
        }
        Query::HwAddr(text_addr) => {
            // As ADD: the pool first, so a pool that is not ready fails the same way for every NIC.
            let snapshot = Snapshot::read(path)?;
            let mac = mac_of_link_address(text_addr.as_bytes()).map_err(|e| {
                CliError::new(
                    format!("{:?} is not a hardware address: {e}", text(text_addr.as_bytes())),
                    "give it as `ip link` prints it: 20 bytes (IPoIB) or 6 bytes, in colon hex",
                )
            })?;
            let question = Question { nic: Nic::Mac(mac), prefix_length: settings.prefix_length };
            let assigned = snapshot.lookup(question)?;
            let (mac, address) = (assigned.mac.to_string(), assigned.ip.to_string());
            answer(json, &[("mac", &mac), ("address", &address)], &address)
        }
        Query::Netns { netns, ifname } => {
            // ADD's own lookup: the NIC first with no lock held, the sysfs fallback by the
            // config's PCI address, the pool under the lock, the config's prefix length.
            let nic =
                Nic::Link { netns, ifname, pci: settings.device_id.as_deref(), sysfs_root: Path::new(SYSFS_ROOT) };
            let question = Question { nic, prefix_length: settings.prefix_length };
            let source = Source::Copied { path, timeout: settings.lock_timeout };
            let assigned = lookup(source, question, &mut |_| {})?;
            let cidr = format!("{}/{}", assigned.ip, assigned.prefix_length);
            let mut members =
                vec![("ifname", ifname.clone()), ("mac", assigned.mac.to_string()), ("address", cidr.clone())];
            if let Some(link_error) = &assigned.fallback {
                members.push(("fallback", format!("{link_error}; used the port GID of the PCI device instead")));
            }
            let members: Vec<(&str, &str)> = members.iter().map(|(k, v)| (*k, v.as_str())).collect();
            answer(json, &members, &cidr)
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
