//! Local VMs under qemu that boot the way Nova boots them, for trying a topology on a laptop
//! and for the end-to-end test.
//!
//! Each VM boots the operator's image through a throwaway qcow2 overlay and reads an
//! OpenStack config drive (an ISO labelled `config-2` with `openstack/latest/meta_data.json`,
//! `user_data` and `network_data.json`, attached as a cdrom as Nova does), so cloud-init's own
//! OpenStack code configures every NIC from `network_data.json`. Two NICs: the cluster NIC, a
//! tap on the namespace's bridge (`net`), and, when the cluster has an admin network, the admin
//! NIC, qemu user-mode networking on the admin subnet whose DHCP offers a router, as a Neutron
//! subnet with a gateway does. Host ports are forwarded to the admin NIC. A metadata service answers at 169.254.169.254:80 behind the bridge's router
//! (`http`). The serial console goes to a file. Everything `start` made is recorded, so `stop`
//! removes exactly that.

pub mod http;
pub mod net;
pub mod relay;

use serde::{Deserialize, Serialize};
use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Nova's metadata service address.
pub const METADATA_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// One VM to start. User-data is opaque bytes; meta_data and network_data are the config
/// drive's JSON documents.
#[derive(Debug, Clone)]
pub struct Vm {
    pub name: String,
    /// The cluster NIC's fixed address: the metadata service knows the VM by it.
    pub address: Ipv4Addr,
    pub user_data: Vec<u8>,
    pub meta_data: String,
    pub network_data: String,
    pub mac_cluster: String,
    /// The admin NIC, when the cluster has one.
    pub admin: Option<AdminNic>,
    /// (host port on 127.0.0.1 inside the namespace, guest port) pairs, to the admin NIC.
    pub forwards: Vec<(u16, u16)>,
    pub memory_mib: u32,
}

/// A VM's admin NIC: qemu user-mode networking on the admin subnet (its DHCP server hands
/// out `.15` and offers `.2` as router and `.3` as DNS server, like a Neutron subnet with a
/// gateway), reached from the host through port forwards to `address`.
#[derive(Debug, Clone)]
pub struct AdminNic {
    pub mac: String,
    pub subnet: ipnet::Ipv4Net,
    /// The guest's address on it (the DHCP lease, or its static address).
    pub address: Ipv4Addr,
}

/// The image to boot, and how.
#[derive(Debug, Clone)]
pub struct Boot {
    pub image: PathBuf,
    /// Direct kernel boot (images without a boot loader, such as the test image).
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
}

/// The VMs' network: a namespace, the cluster network's gateway (address/prefix on the
/// bridge), and static HTTP trees served beyond the router.
#[derive(Debug, Clone)]
pub struct Network {
    pub namespace: String,
    pub gateway: String,
    pub services: Vec<Service>,
}

/// A service at `address:port` inside the VMs' network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub address: Ipv4Addr,
    pub port: u16,
    pub backend: Backend,
}

/// What answers at a service's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// A static tree over HTTP (a package mirror, say).
    Files(PathBuf),
    /// Each connection relayed to this Unix socket on the machine: a service outside the
    /// namespace, such as a forward proxy the VMs must go through.
    UnixSocket(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// What `start` made for one VM, saved in `vms.json` in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub name: String,
    pub pid: u32,
    pub console: PathBuf,
    pub overlay: PathBuf,
    /// The config drive ISO.
    pub drive: PathBuf,
    pub forwards: Vec<(u16, u16)>,
}

/// What `start` made around the VMs, saved in `network.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub namespace: String,
    /// pids of the HTTP servers (metadata service first).
    pub servers: Vec<u32>,
    pub metadata_root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error("{what}: {detail}")]
    Command { what: String, detail: String },
    #[error("{path}: {detail}")]
    Io { path: String, detail: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> QemuError + '_ {
    move |e| QemuError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

pub(crate) fn run(what: &str, cmd: &mut Command) -> Result<(), QemuError> {
    let out = cmd.output().map_err(|e| QemuError::Command {
        what: what.into(),
        detail: format!("cannot run it ({e}); is it installed?"),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(QemuError::Command {
            what: what.into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// KVM only when it can really run a guest: this kind of host exposes /dev/kvm backed by
/// `kvm_pvm`, under which normal guest kernels hang, so that counts as no KVM.
pub fn detect_accel() -> Accel {
    let usable = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if usable && !Path::new("/sys/module/kvm_pvm").exists() {
        Accel::Kvm
    } else {
        Accel::Tcg
    }
}

const RECORD: &str = "vms.json";
const NETWORK_RECORD: &str = "network.json";

fn load<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, QemuError> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| QemuError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(io(path)(e)),
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), QemuError> {
    let text = serde_json::to_string_pretty(value).expect("record serializes");
    fs::write(path, text).map_err(io(path))
}

pub fn load_started(dir: &Path) -> Result<Vec<Started>, QemuError> {
    load(&dir.join(RECORD))
}

pub fn load_network(dir: &Path) -> Result<NetworkRecord, QemuError> {
    load(&dir.join(NETWORK_RECORD))
}

/// A file only root can read (user-data holds private keys).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), QemuError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    std::io::Write::write_all(&mut f, bytes).map_err(io(path))
}

/// The three documents of an OpenStack config drive, under `openstack/latest/` of `root`.
fn write_openstack_tree(root: &Path, vm: &Vm) -> Result<(), QemuError> {
    let latest = root.join("openstack/latest");
    write_private(&latest.join("meta_data.json"), vm.meta_data.as_bytes())?;
    write_private(&latest.join("user_data"), &vm.user_data)?;
    write_private(
        &latest.join("network_data.json"),
        vm.network_data.as_bytes(),
    )
}

/// The config drive as Nova builds it: ISO 9660 (Joliet, Rock Ridge) labelled `config-2`.
fn config_drive(dir: &Path, vm: &Vm) -> Result<PathBuf, QemuError> {
    let iso = dir.join(format!("{}.config-2.iso", vm.name));
    let tree = dir.join(format!("{}.config-2", vm.name));
    let _ = fs::remove_dir_all(&tree);
    write_openstack_tree(&tree, vm)?;
    let _ = fs::remove_file(&iso);
    run(
        "xorriso",
        Command::new("xorriso")
            .args([
                "-as", "mkisofs", "-quiet", "-V", "config-2", "-J", "-r", "-o",
            ])
            .arg(&iso)
            .arg(&tree),
    )?;
    // The tree holds the user-data (secrets): only the ISO (0600) is kept.
    fs::remove_dir_all(&tree).map_err(io(&tree))?;
    fs::set_permissions(&iso, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(io(&iso))?;
    Ok(iso)
}

/// Start `k8sgen qemu-http` inside the namespace, detached from our process group so it
/// outlives `up`; its output goes to `log`.
fn start_server(
    ns: &str,
    listen: &str,
    backend: &Backend,
    per_client: bool,
    log: &Path,
) -> Result<u32, QemuError> {
    let exe = std::env::current_exe().map_err(io(Path::new("k8sgen")))?;
    let out = fs::File::create(log).map_err(io(log))?;
    let err = out.try_clone().map_err(io(log))?;
    let mut cmd = net::exec_in(ns, &exe.to_string_lossy());
    cmd.args(["qemu-http", "--listen", listen]);
    match backend {
        Backend::Files(root) => cmd.arg("--root").arg(root),
        Backend::UnixSocket(socket) => cmd.arg("--relay-to").arg(socket),
    };
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    if per_client {
        cmd.arg("--per-client");
    }
    let child = cmd.spawn().map_err(|e| QemuError::Command {
        what: "k8sgen qemu-http".into(),
        detail: e.to_string(),
    })?;
    Ok(child.id())
}

/// Build the namespace and its services, then start every VM (all at once; they boot in
/// parallel).
pub fn start(
    dir: &Path,
    boot: &Boot,
    accel: Accel,
    network: &Network,
    vms: &[Vm],
) -> Result<Vec<Started>, QemuError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    start_network(dir, network, vms)?;
    let image = fs::canonicalize(&boot.image).map_err(io(&boot.image))?;
    let mut started = load_started(dir)?;
    for (i, vm) in vms.iter().enumerate() {
        let overlay = dir.join(format!("{}.qcow2", vm.name));
        let _ = fs::remove_file(&overlay);
        run(
            "qemu-img create",
            Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
                .arg(&image)
                .arg(&overlay),
        )?;
        let files = VmFiles {
            overlay,
            console: dir.join(format!("{}.console.log", vm.name)),
            pidfile: dir.join(format!("{}.pid", vm.name)),
            drive: config_drive(dir, vm)?,
        };
        let tap = format!("tap{i}");
        net::add_tap(&network.namespace, &tap)?;
        let _ = fs::remove_file(&files.console);
        let mut cmd = qemu_command(&network.namespace, boot, accel, vm, &tap, &files);
        run("qemu-system-x86_64", &mut cmd)?;
        let pid: u32 = fs::read_to_string(&files.pidfile)
            .map_err(io(&files.pidfile))?
            .trim()
            .parse()
            .map_err(|_| QemuError::Io {
                path: files.pidfile.display().to_string(),
                detail: "no pid".into(),
            })?;
        started.retain(|s| s.name != vm.name);
        started.push(Started {
            name: vm.name.clone(),
            pid,
            console: files.console,
            overlay: files.overlay,
            drive: files.drive,
            forwards: vm.forwards.clone(),
        });
        save(&dir.join(RECORD), &started)?;
    }
    Ok(started)
}

/// The namespace, the metadata service with each VM's tree, and the other HTTP services,
/// recorded so `stop` can take them down.
fn start_network(dir: &Path, network: &Network, vms: &[Vm]) -> Result<(), QemuError> {
    let mut addresses = vec![METADATA_ADDRESS];
    addresses.extend(network.services.iter().map(|s| s.address));
    addresses.sort();
    addresses.dedup();
    net::create(&network.namespace, &network.gateway, &addresses)?;

    let metadata_root = dir.join("metadata");
    let _ = fs::remove_dir_all(&metadata_root);
    for vm in vms {
        write_openstack_tree(&metadata_root.join(vm.address.to_string()), vm)?;
    }
    let mut record = NetworkRecord {
        namespace: network.namespace.clone(),
        servers: Vec::new(),
        metadata_root: metadata_root.clone(),
    };
    record.servers.push(start_server(
        &network.namespace,
        &format!("{METADATA_ADDRESS}:80"),
        &Backend::Files(metadata_root.clone()),
        true,
        &dir.join("metadata.log"),
    )?);
    for (i, s) in network.services.iter().enumerate() {
        record.servers.push(start_server(
            &network.namespace,
            &format!("{}:{}", s.address, s.port),
            &s.backend,
            false,
            &dir.join(format!("http-{i}.log")),
        )?);
    }
    save(&dir.join(NETWORK_RECORD), &record)
}

/// A VM's files beside the cluster: its disk overlay, serial console, pid file and config
/// drive.
struct VmFiles {
    overlay: PathBuf,
    console: PathBuf,
    pidfile: PathBuf,
    drive: PathBuf,
}

/// The qemu command line of one VM, run inside the namespace.
fn qemu_command(
    namespace: &str,
    boot: &Boot,
    accel: Accel,
    vm: &Vm,
    tap: &str,
    files: &VmFiles,
) -> Command {
    let mut cmd = net::exec_in(namespace, "qemu-system-x86_64");
    cmd.args([
        "-machine",
        "q35",
        "-m",
        &vm.memory_mib.to_string(),
        "-smp",
        "1",
    ]);
    match accel {
        Accel::Kvm => cmd.args(["-accel", "kvm", "-cpu", "host"]),
        Accel::Tcg => cmd.args(["-accel", "tcg,thread=multi", "-cpu", "max"]),
    };
    // Cluster NIC first (the guest's first interface, as on Nova), admin NIC second.
    cmd.args(["-display", "none", "-monitor", "none", "-daemonize"])
        .arg("-serial")
        .arg(format!("file:{}", files.console.display()))
        .arg("-pidfile")
        .arg(&files.pidfile)
        .arg("-drive")
        .arg(format!(
            "file={},if=virtio,format=qcow2",
            files.overlay.display()
        ))
        .arg("-drive")
        .arg(format!(
            "file={},media=cdrom,readonly=on,format=raw",
            files.drive.display()
        ))
        .arg("-netdev")
        .arg(format!(
            "tap,id=cluster,ifname={tap},script=no,downscript=no"
        ))
        .arg("-device")
        .arg(format!(
            "virtio-net-pci,netdev=cluster,mac={},addr=0x2",
            vm.mac_cluster
        ));
    if let Some(admin) = &vm.admin {
        let forwards: String = vm
            .forwards
            .iter()
            .map(|(host, guest)| format!(",hostfwd=tcp:127.0.0.1:{host}-{}:{guest}", admin.address))
            .collect();
        // Unrestricted, so its DHCP offers a router and a DNS server like a Neutron
        // subnet with a gateway; the namespace has no way out.
        cmd.arg("-netdev")
            .arg(format!(
                "user,id=admin,restrict=off,net={}{forwards}",
                admin.subnet
            ))
            .arg("-device")
            .arg(format!(
                "virtio-net-pci,netdev=admin,mac={},addr=0x3",
                admin.mac
            ));
    }
    if let (Some(kernel), Some(initrd)) = (&boot.kernel, &boot.initrd) {
        cmd.arg("-kernel")
            .arg(kernel)
            .arg("-initrd")
            .arg(initrd)
            .args(["-append", "root=/dev/vda rw console=ttyS0"]);
    }
    cmd
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Is `pid` still a process of ours whose command line holds `marker` (not a recycled pid)?
fn is_ours(pid: u32, program: &str, marker: &Path) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains(program) && c.contains(&*marker.to_string_lossy())
        })
        .unwrap_or(false)
}

/// SIGTERM, then SIGKILL after `grace`.
fn terminate(pid: u32, grace: Duration) {
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = Instant::now() + grace;
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if alive(pid) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// Stop exactly the VMs and servers recorded in `dir`, delete their overlays, config drives
/// and metadata, and remove the namespace. Consoles stay for reading. Returns the VMs stopped.
pub fn stop(dir: &Path, grace: Duration) -> Result<Vec<String>, QemuError> {
    let started = load_started(dir)?;
    let mut stopped = Vec::new();
    for s in &started {
        if is_ours(s.pid, "qemu-system", &s.overlay) {
            terminate(s.pid, grace);
            stopped.push(s.name.clone());
        }
        for file in [&s.overlay, &s.drive] {
            let _ = fs::remove_file(file);
        }
        let _ = fs::remove_file(dir.join(format!("{}.pid", s.name)));
    }
    let network = load_network(dir)?;
    for pid in &network.servers {
        if is_ours(*pid, "qemu-http", Path::new("--root")) {
            terminate(*pid, grace);
        }
    }
    if !network.metadata_root.as_os_str().is_empty() {
        let _ = fs::remove_dir_all(&network.metadata_root);
    }
    if !network.namespace.is_empty() {
        let _ = net::destroy(&network.namespace);
    }
    let _ = fs::remove_file(dir.join(RECORD));
    let _ = fs::remove_file(dir.join(NETWORK_RECORD));
    Ok(stopped)
}
