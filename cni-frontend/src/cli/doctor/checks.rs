//! The checks, in the order they print: the pool, `IPoIB_Data`, the daemon, the InfiniBand
//! ports and IPoIB netdevs with each one's pair, the installed plugin, the CNI configs. Each adds
//! its lines to a [`Checklist`]; none prints.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use ipoib_host::ipoib_child::{self, ARPHRD_INFINIBAND};
use ipoib_host::sysfs;
use ipoib_host::vm::messages::{AddrInfo, LinkInfo};
use ipoib_host::vm::plan::cidr_text;
use ipoib_host::vm::rtnl::Rtnl;

use crate::cli::args::DoctorOptions;
use crate::cli::check_config;
use crate::cli::escape::{self, text};
use crate::cli::node_file;
use crate::cli::pool::{mac_of_link_address, mac_of_port_gid, Snapshot};
use crate::cli::PLUGIN_NAME;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warning,
    Failure,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Failure => "failure",
        }
    }
}

/// One line of the checklist.
pub struct Check {
    pub status: Status,
    pub subject: String,
    pub message: String,
    /// What to do about it; empty for most ok lines.
    pub hint: String,
}

/// The checks' lines, in order.
#[derive(Default)]
pub struct Checklist(Vec<Check>);

/// How many checks came out each way.
pub struct Tally {
    pub ok: usize,
    pub warnings: usize,
    pub failures: usize,
}

impl Checklist {
    fn add(&mut self, status: Status, subject: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) {
        self.0.push(Check { status, subject: subject.into(), message: message.into(), hint: hint.into() });
    }

    fn ok(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.add(Status::Ok, subject, message, "");
    }

    /// The lines, in the order the checks added them.
    pub fn checks(&self) -> &[Check] {
        &self.0
    }

    /// The count of each status, in one pass.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally { ok: 0, warnings: 0, failures: 0 };
        for check in &self.0 {
            match check.status {
                Status::Ok => tally.ok += 1,
                Status::Warning => tally.warnings += 1,
                Status::Failure => tally.failures += 1,
            }
        }
        tally
    }
}

/// Every check, on the roots in `options`.
pub fn all(options: &DoctorOptions) -> Checklist {
    let mut list = Checklist::default();
    let snapshot = check_pool(&options.pool, &mut list);
    let data_ok = snapshot.as_ref().is_some_and(|s| check_ipoib_data(s, &mut list));
    check_daemon(&options.proc, &mut list);
    // A pair is looked up only in a pool whose `IPoIB_Data` passed.
    let usable = snapshot.as_ref().filter(|_| data_ok);
    check_ports(&options.sys, usable, &mut list);
    check_netdevs(&options.sys, usable, &mut list);
    check_installed(&options.cni_bin_dir, &mut list);
    check_configs(&options.cni_etc, &mut list);
    list
}

fn check_pool(path: &Path, list: &mut Checklist) -> Option<Snapshot> {
    let subject = format!("pool {}", escape::path(path));
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            list.add(
                Status::Failure,
                subject,
                format!("cannot stat: {e}"),
                "hv_kvp_daemon (package hyperv-daemons) creates it: is it installed and running?",
            );
            return None;
        }
    };
    if !meta.is_file() {
        list.add(
            Status::Failure,
            subject,
            "is not a regular file",
            "hv_kvp_daemon's pool is a plain file; check the path",
        );
        return None;
    }
    let snapshot = match Snapshot::read(path) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            list.add(Status::Failure, subject, format!("cannot read under the lock: {}", e.msg), e.hint);
            return None;
        }
    };
    let (records, trailing) = snapshot.record_count();
    let age = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok());
    let written = age.map_or("at an unknown time".to_string(), |a| format!("{} ago", human(a)));
    let message = format!(
        "regular file, read under the lock: {} bytes, {records} records, last written {written}",
        snapshot.len()
    );
    if records == 0 {
        list.add(
            Status::Failure,
            subject,
            message,
            "the host has not pushed KVP data yet; wait, or restart hv-kvp-daemon",
        );
    } else if trailing > 0 {
        list.add(
            Status::Warning,
            subject,
            format!("{message}, and {trailing} bytes of a partial record"),
            "something other than hv_kvp_daemon wrote this file; ADD ignores the partial record",
        );
    } else {
        list.ok(subject, message);
    }
    Some(snapshot)
}

fn human(age: Duration) -> String {
    match age.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// Whether `IPoIB_Data` is present and well-formed.
fn check_ipoib_data(snapshot: &Snapshot, list: &mut Checklist) -> bool {
    match snapshot.ipoib_data() {
        Ok(data) if data.is_empty() => {
            list.add(
                Status::Warning,
                "IPoIB_Data",
                "well-formed, but lists no pair",
                "no NIC of this VM has an address yet",
            );
            true
        }
        Ok(data) => {
            list.ok("IPoIB_Data", format!("present and well-formed, {} pairs", data.len()));
            true
        }
        Err(e) => {
            list.add(Status::Failure, "IPoIB_Data", e.msg, e.hint);
            false
        }
    }
}

fn check_daemon(proc_root: &Path, list: &mut Checklist) {
    let entries = match fs::read_dir(proc_root) {
        Ok(entries) => entries,
        Err(e) => {
            let msg = format!("cannot scan {}: {e}", escape::path(proc_root));
            list.add(Status::Warning, "hv_kvp_daemon", msg, "is /proc mounted?");
            return;
        }
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            read_small(&proc_root.join(pid.to_string()).join("comm")).is_some_and(|c| c.trim() == "hv_kvp_daemon")
        })
        .collect();
    pids.sort_unstable();
    match pids.first() {
        Some(pid) => list.ok("hv_kvp_daemon", format!("running (pid {pid})")),
        None => list.add(
            Status::Failure,
            "hv_kvp_daemon",
            format!("not running (no process of that name in {})", escape::path(proc_root)),
            "install hyperv-daemons and run `systemctl enable --now hv-kvp-daemon`; without it the pool goes stale",
        ),
    }
}

/// A small text file (sysfs attribute, `comm`), or `None` (not readable, not a regular file,
/// not UTF-8).
fn read_small(path: &Path) -> Option<String> {
    read_text(path).ok()
}

/// A text file through [`node_file::read`], or why it cannot be read.
fn read_text(path: &Path) -> Result<String, String> {
    let bytes = node_file::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())
}

fn sorted_entries(dir: &Path) -> Option<Vec<(String, PathBuf)>> {
    let mut entries: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| (text(e.file_name().as_encoded_bytes()), e.path()))
        .collect();
    entries.sort();
    Some(entries)
}

/// The pair line for a NIC: its address, or why there is none.
fn pair_of(snapshot: Option<&Snapshot>, mac: kvp_core::Mac) -> Result<String, (Status, String, String)> {
    let Some(snapshot) = snapshot else {
        return Err((Status::Warning, "not looked up: IPoIB_Data unusable (see above)".into(), String::new()));
    };
    let question =
        ipoib_host::Question { nic: ipoib_host::Nic::Mac(mac), prefix_length: ipoib_host::defaults::PREFIX_LENGTH };
    snapshot.lookup(question).map(|a| a.ip.to_string()).map_err(|e| (Status::Failure, e.msg, e.hint))
}

fn check_ports(sys: &Path, snapshot: Option<&Snapshot>, list: &mut Checklist) {
    let ib_dir = sysfs::infiniband_class_dir(sys);
    let devices = sorted_entries(&ib_dir).unwrap_or_default();
    let mut ports = 0;
    for (device, device_path) in devices {
        for (port, port_path) in sorted_entries(&sysfs::ports_dir(&device_path)).unwrap_or_default() {
            ports += 1;
            let subject = format!("{device} port {port}");
            let gid_path = sysfs::gid0_path(&port_path);
            let gid = match read_text(&gid_path) {
                Ok(gid) => gid,
                Err(e) => {
                    let msg = format!("cannot read {}: {e}", escape::path(&gid_path));
                    list.add(Status::Warning, subject, msg, "is the port up? `ibstat`");
                    continue;
                }
            };
            let (mac, guid) = match mac_of_port_gid(gid.as_bytes()) {
                Ok(found) => found,
                Err(e) => {
                    let msg = format!("{}: {e}", escape::path(&gid_path));
                    list.add(Status::Warning, subject, msg, "the port has no GID yet; is it up? `ibstat`");
                    continue;
                }
            };
            match pair_of(snapshot, mac) {
                Ok(address) => list.ok(subject, format!("GUID {guid}, MAC {mac}, address {address}")),
                Err((status, msg, hint)) => list.add(status, subject, format!("GUID {guid}, MAC {mac}: {msg}"), hint),
            }
        }
    }
    if ports == 0 {
        list.add(
            Status::Warning,
            "InfiniBand ports",
            format!("none under {}", escape::path(&ib_dir)),
            "not an InfiniBand VM size, or the mlx5_ib driver is not loaded (`lsmod | grep mlx5_ib`)",
        );
    }
}

/// IPoIB netdevs (sysfs `type` 32): each parent's pair, and a warning for each child link, told
/// apart by [`ipoib_child`]'s rule as ADD tells them apart.
fn check_netdevs(sys: &Path, snapshot: Option<&Snapshot>, list: &mut Checklist) {
    let attr = |path: &Path, name: &str| read_small(&path.join(name));
    let number = |path: &Path, name: &str| attr(path, name).and_then(|s| ipoib_child::sysfs_number::<i32>(&s));
    let netdevs: Vec<(String, PathBuf)> = sorted_entries(&sys.join("class/net"))
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, path)| attr(path, "type").and_then(|t| ipoib_child::sysfs_number(&t)) == Some(ARPHRD_INFINIBAND))
        .collect();
    let host = (!netdevs.is_empty()).then(host_addresses);
    for (name, path) in &netdevs {
        let subject = format!("IPoIB netdev {name}");
        let parent = number(path, "ifindex")
            .and_then(|ifindex| ipoib_child::parent_index(ARPHRD_INFINIBAND, ifindex, number(path, "iflink")));
        if let Some(parent) = parent {
            let parent = netdevs
                .iter()
                .find(|(_, p)| number(p, "ifindex") == Some(parent))
                .map_or_else(|| format!("ifindex {parent}"), |(n, _)| n.clone());
            list.add(
                Status::Warning,
                subject,
                format!("child link of {parent} (ipoib-cni creates these); it shares its parent's GUID"),
                "do not serve it with this plugin, which would hand out the parent's address: use whereabouts for ipoib-cni",
            );
            continue;
        }
        let Some(mac) = attr(path, "address").and_then(|a| mac_of_link_address(a.trim().as_bytes()).ok()) else {
            list.add(Status::Warning, subject, "no readable 20-byte address", "check `ip link show`");
            continue;
        };
        match pair_of(snapshot, mac) {
            Ok(address) => {
                list.ok(subject, format!("MAC {mac}, address {address}"));
                check_carried(name, &address, host.as_ref(), list);
            }
            // The port line above carries the failure; here it is context.
            Err((_, msg, hint)) => list.add(Status::Warning, subject, format!("MAC {mac}: {msg}"), hint),
        }
    }
}

/// The links and addresses of this netns, over rtnetlink, or why they could not be listed.
type HostAddresses = Result<(Vec<LinkInfo>, Vec<AddrInfo>), String>;

fn host_addresses() -> HostAddresses {
    let mut rtnl = Rtnl::open().map_err(|e| e.to_string())?;
    Ok((rtnl.links().map_err(|e| e.to_string())?, rtnl.addresses().map_err(|e| e.to_string())?))
}

/// The host side of an IPoIB netdev: whether the link of that name in this netns carries its
/// KVP address (`ipoib up` sets it). A netdev that sysfs lists but rtnetlink does not (a fake
/// sysfs tree) gets no line.
fn check_carried(name: &str, kvp_address: &str, host: Option<&HostAddresses>, list: &mut Checklist) {
    let subject = format!("IPoIB netdev {name} addresses");
    let (links, addresses) = match host {
        Some(Ok(found)) => found,
        Some(Err(e)) => return list.add(Status::Warning, subject, format!("cannot list them: {e}"), "run as root"),
        None => return,
    };
    let Some(link) = links.iter().find(|l| l.name == name) else { return };
    let carried: Vec<String> = addresses.iter().filter(|a| a.index == link.index).map(|a| cidr_text(a.cidr)).collect();
    if carried.iter().any(|c| c.split('/').next() == Some(kvp_address)) {
        list.ok(subject, format!("carries its KVP address ({})", carried.join(", ")));
        return;
    }
    let has = if carried.is_empty() { "none".to_string() } else { carried.join(", ") };
    list.add(
        Status::Warning,
        subject,
        format!("does not carry its KVP address {kvp_address} (it has: {has})"),
        format!(
            "fine if pods get this NIC; for the VM itself run `{PLUGIN_NAME} ipoib up`, \
             or `systemctl enable --now azure-ipoib-up.service` to keep it so"
        ),
    );
}

fn check_installed(bin_dir: &Path, list: &mut Checklist) {
    let path = bin_dir.join(PLUGIN_NAME);
    let subject = format!("installed plugin {}", escape::path(&path));
    let install_hint = format!(
        "run `{PLUGIN_NAME} install --dest {}`, or deploy the DaemonSet (kubectl apply -k deploy/)",
        escape::path(bin_dir)
    );
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) => return list.add(Status::Failure, subject, format!("cannot stat: {e}"), install_hint),
    };
    if !meta.is_file() {
        return list.add(Status::Failure, subject, "is not a regular file", install_hint);
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return list.add(Status::Failure, subject, "is not executable", install_hint);
    }
    let this = std::env::current_exe().and_then(fs::read);
    // One byte more than this binary is enough to tell that the installed one differs.
    let limit = this.as_ref().map_or(node_file::MAX_READ, |b| b.len().saturating_add(1));
    let installed = match node_file::read_at_most(&path, limit) {
        Err(node_file::NodeFileError::TooLarge(_)) => Ok(Vec::new()),
        other => other,
    };
    match (installed, this) {
        (Ok(a), Ok(b)) if a == b => {
            list.ok(subject, format!("present, executable, identical to this binary ({})", crate::cli::VERSION))
        }
        (Ok(_), Ok(_)) => list.add(
            Status::Warning,
            subject,
            format!("differs from this binary ({}); it says: {}", crate::cli::VERSION, version_of(&path)),
            install_hint,
        ),
        (Err(e), _) => list.add(Status::Failure, subject, format!("cannot read: {e}"), "check its permissions"),
        (_, Err(e)) => {
            list.add(Status::Warning, subject, format!("cannot read this binary to compare: {e}"), "is /proc mounted?")
        }
    }
}

/// The first line of `path --version`, waiting at most 2 s.
fn version_of(path: &Path) -> String {
    let Ok(mut child) = Command::new(path)
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return "(cannot run it)".into();
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => {
                let mut out = Vec::new();
                if let Some(mut stdout) = child.stdout.take() {
                    let _ = stdout.by_ref().take(4096).read_to_end(&mut out);
                }
                let first = out.split(|&b| b == b'\n').next().unwrap_or_default();
                return if first.is_empty() { "(nothing on --version)".into() } else { format!("{:?}", text(first)) };
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    "(no answer to --version within 2 s)".into()
}

fn check_configs(cni_etc: &Path, list: &mut Checklist) {
    let mut found = 0;
    for dir in [cni_etc.join("net.d"), cni_etc.join("multus/net.d")] {
        for (_, path) in sorted_entries(&dir).unwrap_or_default() {
            let is_config = path.extension().is_some_and(|e| e == "conf" || e == "conflist" || e == "json");
            if !is_config {
                continue;
            }
            let subject = format!("CNI config {}", escape::path(&path));
            let bytes = match node_file::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    list.add(
                        Status::Warning,
                        subject,
                        format!("cannot read: {e}"),
                        "the runtime reads every .conf, .conflist and .json file here: make it a readable regular file, or remove it",
                    );
                    continue;
                }
            };
            if memchr::memmem::find(&bytes, PLUGIN_NAME.as_bytes()).is_none() {
                continue;
            }
            found += 1;
            match check_config::check(&bytes, &check_config::dirs_from_env()) {
                Ok(decoded) => {
                    let summary: Vec<String> = decoded.into_iter().map(|d| d.summary).collect();
                    list.ok(subject, format!("passes check-config ({})", summary.join("; ")));
                }
                Err(problems) => {
                    let text: Vec<String> = problems
                        .iter()
                        .map(|p| if p.path.is_empty() { p.msg.clone() } else { format!("{}: {}", p.path, p.msg) })
                        .collect();
                    let hint =
                        format!("ADD fails with this config; run `{PLUGIN_NAME} check-config {}`", escape::path(&path));
                    list.add(Status::Failure, subject, text.join("; "), hint);
                }
            }
        }
    }
    if found == 0 {
        list.ok(
            "CNI configs",
            format!(
                "none under {} or {} uses {PLUGIN_NAME} (Multus and network-operator keep theirs in the API server)",
                escape::path(&cni_etc.join("net.d")),
                escape::path(&cni_etc.join("multus/net.d"))
            ),
        );
    }
}
