//! One function per CNI command. Each returns what goes to stdout on success (empty for the
//! commands the spec keeps silent) or the error the runtime gets.
//!
//! The plugin keeps no state: the host's KVP data is the allocation. So DEL and GC have nothing
//! to release, and CHECK is ADD's lookup compared with `prevResult`.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use ipoib_host::lookup::SYSFS_ROOT;
use ipoib_host::{lookup, pool_ready, Nic, Question, Source, Step};

use crate::call_log::CallLog;
use crate::cni::netconf::{self, NetConf};
use crate::cni::result;
use crate::cni::{CniError, CniVersion, Command, Env};
use crate::cni_errors::{address_mismatch, nic_env_missing, not_in_version, not_ready, pool_fault_report};
use crate::outside_value::Shown;

/// ADD: the NIC's address from KVP, as a result of the config's version. Warnings go to `stderr`.
pub fn add(env: &Env, conf: &NetConf<'_>, log: &mut CallLog, stderr: &mut dyn Write) -> Result<Vec<u8>, CniError> {
    let (addr, prefix) = assigned_address(env, conf, log, stderr)?;
    Ok(result::add_result(conf.cni_version, addr, prefix, &conf.ipam.routes))
}

/// DEL: nothing to release; succeeds whatever is gone.
// Not ADD: kept out of the ADD's two fault-around windows (see `cni_errors`).
#[cold]
pub fn del(_env: &Env, _conf: &NetConf<'_>) -> Result<Vec<u8>, CniError> {
    Ok(Vec::new())
}

/// CHECK (0.4.0+): the address in `prevResult` must be the one KVP assigns now.
pub fn check(env: &Env, conf: &NetConf<'_>, log: &mut CallLog, stderr: &mut dyn Write) -> Result<Vec<u8>, CniError> {
    require(conf.cni_version.has_check(), Command::Check, conf.cni_version, "0.4.0")?;
    let previous = netconf::prev_result_addresses(conf)?;
    let (addr, prefix) = assigned_address(env, conf, log, stderr)?;
    if previous.contains(&(addr, prefix)) {
        return Ok(Vec::new());
    }
    let had = match previous.as_slice() {
        [] => "no address".to_string(),
        list => list.iter().map(|(a, p)| format!("{a}/{p}")).collect::<Vec<_>>().join(", "),
    };
    Err(address_mismatch(&had, addr, prefix, ifname(env)))
}

/// STATUS (1.1.0): ready when the pool holds a well-formed `IPoIB_Data`.
// Not ADD: kept out of the ADD's two fault-around windows (see `cni_errors`).
#[cold]
pub fn status(_env: &Env, conf: &NetConf<'_>, stderr: &mut dyn Write) -> Result<Vec<u8>, CniError> {
    require(conf.cni_version.has_status_and_gc(), Command::Status, conf.cni_version, "1.1.0")?;
    let path = Path::new(conf.ipam.kvp_path.as_ref());
    guard_mapping(conf, Command::Status);
    let trailing =
        pool_ready(Source::Mapped { path, timeout: conf.ipam.lock_timeout }).map_err(|why| not_ready(why.into()))?;
    warn_partial(stderr, path, trailing);
    Ok(Vec::new())
}

/// GC (1.1.0): nothing is held, so nothing is collected.
// Not ADD: kept out of the ADD's two fault-around windows (see `cni_errors`).
#[cold]
pub fn gc(_env: &Env, conf: &NetConf<'_>) -> Result<Vec<u8>, CniError> {
    require(conf.cni_version.has_status_and_gc(), Command::Gc, conf.cni_version, "1.1.0")?;
    Ok(Vec::new())
}

/// VERSION: every supported version, answered in the caller's version when it sent one.
// Not ADD: kept out of the ADD's two fault-around windows (see `cni_errors`).
#[cold]
pub fn version(stdin: &[u8]) -> Vec<u8> {
    result::version_result(netconf::declared_version(stdin).unwrap_or(CniVersion::LATEST))
}

/// The address and prefix length KVP assigns to the NIC `CNI_IFNAME` in `CNI_NETNS`: the host
/// crate's one lookup (the NIC first, with no lock held, then the pool), with the sysfs fallback
/// by the config's PCI address. A fallback that answered is noted on `stderr`.
fn assigned_address(
    env: &Env,
    conf: &NetConf<'_>,
    log: &mut CallLog,
    stderr: &mut dyn Write,
) -> Result<(IpAddr, u8), CniError> {
    let (Some(netns), Some(ifname)) = (env.netns.as_deref(), env.ifname.as_deref()) else {
        return Err(nic_env_missing());
    };
    let path = Path::new(conf.ipam.kvp_path.as_ref());
    let nic = Nic::Link { netns, ifname, pci: conf.device_id.as_deref(), sysfs_root: Path::new(SYSFS_ROOT) };
    let question = Question { nic, prefix_length: conf.ipam.prefix_length };
    guard_mapping(conf, env.command);
    let mut trailing = 0;
    let mut mark = log.mark();
    let answer = lookup(Source::Mapped { path, timeout: conf.ipam.lock_timeout }, question, &mut |step| match step {
        Step::NicLookedUp(mac) => {
            log.mac = mac;
            log.debug(mark, || match mac {
                Some(mac) => format!("NIC's MAC {mac} read, with no pool lock held"),
                None => "NIC lookup failed; the pool is checked before that counts".into(),
            });
            mark = log.mark();
        }
        Step::PoolRead { trailing: t } => {
            trailing = t;
            log.debug(mark, || format!("KVP pool {} locked (after any writer), read and unlocked", Shown::path(path)));
        }
    });
    warn_partial(stderr, path, trailing);
    let assigned = answer?;
    if let Some(link_error) = &assigned.fallback {
        let _ = writeln!(stderr, "azure-ipoib-ipam-cni: {link_error}; using the port GID of the PCI device instead");
    }
    log.address = Some((assigned.ip, assigned.prefix_length));
    Ok((assigned.ip, assigned.prefix_length))
}

/// Installs the SIGBUS answer before the pool is mapped, so a fault inside the mapping ends in a
/// CNI error (code 11; 50 for STATUS) instead of a crash. A process that cannot install it still
/// reads the pool (a fault then kills it, as before), so the install's error is not the
/// runtime's concern.
fn guard_mapping(conf: &NetConf<'_>, command: Command) {
    let _ = ipoib_host::sys::answer_on_sigbus(pool_fault_report(command, conf.cni_version));
}

/// Notes a partial record at the pool's end; called after the lock is gone, since stderr is a
/// pipe that can block.
fn warn_partial(stderr: &mut dyn Write, path: &Path, trailing: usize) {
    if trailing > 0 {
        let _ = writeln!(
            stderr,
            "azure-ipoib-ipam-cni: warning: KVP pool {} ends in a partial record ({trailing} bytes), ignored",
            Shown::path(path)
        );
    }
}

fn require(ok: bool, command: Command, version: CniVersion, since: &str) -> Result<(), CniError> {
    if ok {
        return Ok(());
    }
    Err(not_in_version(command, version, since))
}

fn ifname(env: &Env) -> &str {
    env.ifname.as_deref().unwrap_or("")
}
