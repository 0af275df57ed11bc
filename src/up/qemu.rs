//! `up --provider qemu`: one local VM per node, booted in parallel from the operator's image
//! the way Nova boots a server: an OpenStack config drive whose `network_data.json` lists
//! both NICs (the cluster NIC static with the plan's address and the gateway as default
//! route; the admin NIC as Neutron describes a DHCP subnet, or static without routes), and a
//! metadata service at 169.254.169.254. The VMs' MACs go into the plan before bundles are
//! built. The run is followed through the same console progress lines as on OpenStack.

use super::progress::{self, NodeState};
use crate::compile::{self, CompileError, Compiled};
use crate::pki::{self, Clock, Entropy};
use crate::plan::{Plan, UserDataFormat};
use crate::providers::qemu::{self as provider, Boot, Network, QemuError, Service, Started, Vm};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The guest port of the test image's etcd forwarder; see tests/vm/build-image.sh.
pub const ETCD_FORWARD_GUEST_PORT: u16 = 12379;
/// The guest port of the test image's shell; see tests/vm/build-image.sh.
pub const SHELL_GUEST_PORT: u16 = 12222;

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("the qemu provider boots cloud-init images; nodes.os `{0}` reads Ignition")]
    Format(String),
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    Qemu(#[from] QemuError),
    #[error("no free local port: {0}")]
    Port(std::io::Error),
}

pub fn mac_cluster(i: usize) -> String {
    format!("fa:16:3e:c0:{:02x}:{:02x}", i / 256, i % 256)
}
pub fn mac_admin(i: usize) -> String {
    format!("fa:16:3e:ad:{:02x}:{:02x}", i / 256, i % 256)
}

/// A UUID-shaped identifier derived from `seed`, so config drives are reproducible.
fn uuid(seed: &str) -> String {
    let h = hex(&Sha256::digest(seed.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn netmask(prefix: u8) -> String {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)).to_string()
}

/// Nova's `meta_data.json` for one server (the fields cloud-init reads, and a few more).
pub fn meta_data(plan: &Plan, index: usize) -> String {
    let node = &plan.nodes[index];
    serde_json::to_string_pretty(&json!({
        "uuid": uuid(&format!("server/{}/{}", plan.cluster_name, node.name)),
        "name": node.name,
        "hostname": node.name,
        "launch_index": 0,
        "availability_zone": "nova",
        "project_id": uuid("project/k8sgen-qemu").replace('-', ""),
        "meta": {},
        "devices": [],
    }))
    .expect("serializes")
}

/// Nova's `network_data.json` for one server (nova/virt/netutils.py): every port is a link;
/// the cluster subnet is static (`ipv4`) with its gateway as the default route, as Nova
/// writes a fixed IP; the admin subnet is `ipv4_dhcp` (Nova lists no routes for those: the
/// DHCP server hands out the gateway) or, for static addressing, `ipv4` without routes (a
/// subnet created with `--gateway none`).
pub fn network_data(
    plan: &Plan,
    index: usize,
    cluster: ipnet::Ipv4Net,
    gateway: Ipv4Addr,
) -> String {
    let node = &plan.nodes[index];
    let link = |kind: &str| format!("tap{}", &uuid(&format!("port/{kind}/{}", node.name))[..11]);
    let mut links = vec![json!({
        "id": link("cluster"),
        "vif_id": uuid(&format!("port/cluster/{}", node.name)),
        "type": "ovs",
        "mtu": 1500,
        "ethernet_mac_address": mac_cluster(index),
    })];
    let dns = json!([{"type": "dns", "address": gateway.to_string()}]);
    let mut networks = vec![json!({
        "id": "network0",
        "type": "ipv4",
        "link": link("cluster"),
        "ip_address": node.address.to_string(),
        "netmask": netmask(cluster.prefix_len()),
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": gateway.to_string()}],
        "network_id": uuid("network/cluster"),
        "services": dns,
    })];
    if let Some(admin) = &plan.admin_nic {
        links.push(json!({
            "id": link("admin"),
            "vif_id": uuid(&format!("port/admin/{}", node.name)),
            "type": "ovs",
            "mtu": 1500,
            "ethernet_mac_address": mac_admin(index),
        }));
        let network = match node.admin_address.filter(|_| !admin.dhcp) {
            Some(address) => json!({
                "id": "network1",
                "type": "ipv4",
                "link": link("admin"),
                "ip_address": address.addr().to_string(),
                "netmask": netmask(address.prefix_len()),
                "routes": [],
                "network_id": uuid("network/admin"),
                "services": [],
            }),
            None => json!({
                "id": "network1",
                "type": "ipv4_dhcp",
                "link": link("admin"),
                "network_id": uuid("network/admin"),
            }),
        };
        networks.push(network);
    }
    serde_json::to_string_pretty(&json!({"links": links, "networks": networks, "services": dns}))
        .expect("serializes")
}

/// The address qemu's user-mode DHCP server hands out first: the subnet's 15th.
pub fn dhcp_lease(subnet: ipnet::Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()) + 15)
}

fn free_port() -> Result<u16, UpError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(UpError::Port)?;
    Ok(l.local_addr().map_err(UpError::Port)?.port())
}

pub struct UpOptions<'a> {
    pub state_dir: &'a Path,
    pub boot: Boot,
    pub cluster_cidr: ipnet::Ipv4Net,
    pub memory_mib: u32,
    /// Static trees served inside the VMs' network (a package mirror, say).
    pub services: Vec<Service>,
}

/// The namespace name for a state directory: short (15 bytes for interface-like names is
/// not needed, but `ip netns` names show up in listings) and distinct per directory.
fn namespace_for(dir: &Path) -> String {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    format!(
        "k8sgen-{}",
        &hex(&Sha256::digest(abs.to_string_lossy().as_bytes()))[..10]
    )
}

/// Fill the VMs' MACs into the plan, build, and start one VM per node.
pub fn start(
    mut plan: Plan,
    secrets: &mut pki::Secrets,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
    options: &UpOptions,
) -> Result<(Compiled, Vec<Started>), UpError> {
    if plan.platform.user_data_format != UserDataFormat::CloudConfig {
        return Err(UpError::Format(plan.os.to_string()));
    }
    if plan.admin_nic.is_some() {
        for (i, node) in plan.nodes.iter_mut().enumerate() {
            node.admin_mac = Some(mac_admin(i));
        }
    }
    let compiled = compile::build(plan, secrets, clock, entropy, Default::default())?;
    let cidr = options.cluster_cidr;
    let gateway = cidr.hosts().next().unwrap_or(cidr.network());
    let mut vms = Vec::new();
    for (i, ud) in compiled.user_data.iter().enumerate() {
        vms.push(Vm {
            name: ud.node.clone(),
            address: compiled.plan.nodes[i].address,
            user_data: ud.bytes.clone(),
            meta_data: meta_data(&compiled.plan, i),
            network_data: network_data(&compiled.plan, i, cidr, gateway),
            mac_cluster: mac_cluster(i),
            admin: compiled
                .plan
                .admin_nic
                .as_ref()
                .map(|a| provider::AdminNic {
                    mac: mac_admin(i),
                    subnet: a.cidr,
                    address: compiled.plan.nodes[i]
                        .admin_address
                        .map(|n| n.addr())
                        .unwrap_or_else(|| dhcp_lease(a.cidr)),
                }),
            // Through the admin NIC: without one, the host has no way into the VM.
            forwards: match compiled.plan.admin_nic {
                Some(_) => vec![
                    (free_port()?, ETCD_FORWARD_GUEST_PORT),
                    (free_port()?, SHELL_GUEST_PORT),
                ],
                None => Vec::new(),
            },
            memory_mib: options.memory_mib,
        });
    }
    let network = Network {
        namespace: namespace_for(options.state_dir),
        gateway: format!("{gateway}/{}", cidr.prefix_len()),
        services: options.services.clone(),
    };
    let started = provider::start(
        options.state_dir,
        &options.boot,
        provider::detect_accel(),
        &network,
        &vms,
    )?;
    Ok((compiled, started))
}

/// Follow every node's console until all have finished (done, stopped or failed) or the
/// deadline passes. `report` receives each new progress line once, in order.
pub fn follow(
    started: &[Started],
    deadline: Duration,
    report: &mut dyn FnMut(&progress::ProgressLine),
) -> BTreeMap<String, NodeState> {
    let begin = Instant::now();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        let mut states = BTreeMap::new();
        for s in started {
            let console = std::fs::read_to_string(&s.console).unwrap_or_default();
            let lines: Vec<_> = progress::lines_for(&console, &s.name).collect();
            let count = seen.entry(s.name.clone()).or_default();
            for line in &lines[(*count).min(lines.len())..] {
                report(line);
            }
            *count = lines.len();
            states.insert(s.name.clone(), progress::state(&console, &s.name));
        }
        if states.values().all(NodeState::finished) || begin.elapsed() > deadline {
            return states;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}
