//! One function per CNI command. Each returns what goes to stdout on success (empty for the
//! commands the spec keeps silent) or the error the runtime gets.
//!
//! The plugin keeps no state: the host's KVP data is the allocation. So DEL and GC have nothing
//! to release, and CHECK is ADD's lookup compared with `prevResult`.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use kvp_core::{IpoibData, Mac, Pool};

use crate::call_log::CallLog;
use crate::cni::netconf::{self, NetConf};
use crate::cni::result;
use crate::cni::{CniError, CniVersion, Command, Env};
use crate::error_codes::{
    address_mismatch, empty_pool, no_pair, not_in_version, not_ready, pool_fault_report, prefix_too_long, resolve_error,
};
use crate::nic;
use crate::pool_file;
use crate::shown::Shown;

/// ADD: the NIC's address from KVP, as a result of the config's version. Warnings go to `stderr`.
pub fn add(env: &Env, conf: &NetConf<'_>, log: &mut CallLog, stderr: &mut dyn Write) -> Result<Vec<u8>, CniError> {
    let (addr, prefix) = assigned_address(env, conf, log, stderr)?;
    Ok(result::add_result(conf.cni_version, addr, prefix, &conf.ipam.routes))
}

/// DEL: nothing to release; succeeds whatever is gone.
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
pub fn status(_env: &Env, conf: &NetConf<'_>, stderr: &mut dyn Write) -> Result<Vec<u8>, CniError> {
    require(conf.cni_version.has_status_and_gc(), Command::Status, conf.cni_version, "1.1.0")?;
    let path = Path::new(conf.ipam.kvp_path.as_ref());
    let (checked, trailing) = {
        let file = open_pool(path, conf, Command::Status).map_err(not_ready)?;
        let pool = file.pool();
        let checked =
            non_empty(path, &pool).and_then(|()| IpoibData::from_pool(&pool).map_err(|e| resolve_error(e, path)));
        (checked.map(drop), pool.trailing_bytes().len())
    };
    warn_partial(stderr, path, trailing);
    checked.map_err(not_ready)?;
    Ok(Vec::new())
}

/// GC (1.1.0): nothing is held, so nothing is collected.
pub fn gc(_env: &Env, conf: &NetConf<'_>) -> Result<Vec<u8>, CniError> {
    require(conf.cni_version.has_status_and_gc(), Command::Gc, conf.cni_version, "1.1.0")?;
    Ok(Vec::new())
}

/// VERSION: every supported version, answered in the caller's version when it sent one.
pub fn version(stdin: &[u8]) -> Vec<u8> {
    result::version_result(netconf::declared_version(stdin).unwrap_or(CniVersion::LATEST))
}

/// The address and prefix length KVP assigns to the NIC `CNI_IFNAME` in `CNI_NETNS`.
///
/// The NIC is looked up first, with no lock held: the pool's read lock stalls every
/// hv_kvp_daemon write on the node, so it is held only while the pool is mapped and read, never
/// across the netns, netlink or sysfs work, whatever `CNI_NETNS` makes them do. The lookup's
/// error waits until the pool has been checked, so a pool that is not ready still fails first,
/// and the same way for every NIC.
fn assigned_address(
    env: &Env,
    conf: &NetConf<'_>,
    log: &mut CallLog,
    stderr: &mut dyn Write,
) -> Result<(IpAddr, u8), CniError> {
    let mark = log.mark();
    let mac = nic::mac(env, conf, Path::new(nic::SYSFS_ROOT), stderr);
    log.mac = mac.as_ref().ok().copied();
    log.debug(mark, || match &mac {
        Ok(mac) => format!("NIC's MAC {mac} read, with no pool lock held"),
        Err(e) => format!("NIC lookup failed (code {}); the pool is checked before that counts", e.code.number()),
    });
    let path = Path::new(conf.ipam.kvp_path.as_ref());
    // The lock lives as long as `file`: only this block, which does no I/O but the lookup.
    let mark = log.mark();
    let (found, trailing) = {
        let file = open_pool(path, conf, env.command)?;
        let pool = file.pool();
        (find_pair(path, &pool, mac), pool.trailing_bytes().len())
    };
    log.debug(mark, || format!("KVP pool {} locked (after any writer), read and unlocked", Shown::path(path)));
    warn_partial(stderr, path, trailing);
    let (ip, mac) = found?;
    let prefix = conf.ipam.prefix_length;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(prefix_too_long(prefix, mac, ip, max));
    }
    log.address = Some((ip, prefix));
    Ok((ip, prefix))
}

/// The address `pool` assigns to the NIC whose lookup gave `mac`. Pool errors come before the
/// lookup's own.
fn find_pair(path: &Path, pool: &Pool<'_>, mac: Result<Mac, CniError>) -> Result<(IpAddr, Mac), CniError> {
    non_empty(path, pool)?;
    let data = IpoibData::from_pool(pool).map_err(|e| resolve_error(e, path))?;
    let mac = mac?;
    let pair = data.find(mac).ok_or_else(|| no_pair(mac, data.len()))?;
    Ok((pair.ip, mac))
}

/// The pool at `path`, locked and mapped, with a fault inside the mapping answered as a CNI
/// error (code 11; 50 for STATUS) instead of a crash.
fn open_pool(path: &Path, conf: &NetConf<'_>, command: Command) -> Result<pool_file::LockedPool, CniError> {
    // Installed before the mapping exists; a process that cannot install it still reads the pool
    // (a fault then kills it, as before), so the install's error is not the runtime's concern.
    let _ = crate::sys::answer_on_sigbus(pool_fault_report(command, conf.cni_version));
    Ok(pool_file::open_locked(path, conf.ipam.lock_timeout)?)
}

/// "Try again later" when the pool holds no whole record yet.
fn non_empty(path: &Path, pool: &Pool<'_>) -> Result<(), CniError> {
    if pool.is_empty() {
        return Err(empty_pool(path, pool.trailing_bytes().len()));
    }
    Ok(())
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
