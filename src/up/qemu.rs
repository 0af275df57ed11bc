//! `up --provider qemu`: one local VM per node, booted in parallel from the operator's image
//! with a NoCloud seed. NIC2 is the cluster network (the plan's node addresses, static);
//! NIC1 is user-mode with no route out: the admin NIC when the spec has one (its MAC goes
//! into the plan, so the admin netplan file matches by MAC), otherwise plain DHCP for host
//! access. The run is followed through the same console progress lines as on OpenStack.

use super::progress::{self, NodeState};
use crate::compile::{self, CompileError, Compiled};
use crate::pki::{self, Clock, Entropy};
use crate::plan::{Plan, UserDataFormat};
use crate::providers::qemu::{self as provider, Boot, QemuError, Started, Vm};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The guest port of the test image's etcd forwarder; see tests/vm/build-image.sh.
pub const ETCD_FORWARD_GUEST_PORT: u16 = 12379;

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

pub fn mac_nic1(i: usize) -> String {
    format!("52:54:00:a1:{:02x}:{:02x}", i / 256, i % 256)
}
pub fn mac_nic2(i: usize) -> String {
    format!("52:54:00:a2:{:02x}:{:02x}", i / 256, i % 256)
}

fn free_port() -> Result<u16, UpError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(UpError::Port)?;
    Ok(l.local_addr().map_err(UpError::Port)?.port())
}

/// network-config (v2) for one VM: the cluster NIC static with the plan's address and the
/// cluster network's first host as gateway (as the cloud would give it); NIC1 DHCP without
/// routes only when no admin NIC is planned (then nothing else would configure it).
pub fn network_config(
    plan: &Plan,
    index: usize,
    cluster_prefix: u8,
    gateway: std::net::Ipv4Addr,
) -> String {
    let node = &plan.nodes[index];
    let mut ethernets = json!({
        "cluster": {
            "match": {"macaddress": mac_nic2(index)},
            "addresses": [format!("{}/{cluster_prefix}", node.address)],
            "routes": [{"to": "default", "via": gateway.to_string()}],
        }
    });
    if plan.admin_nic.is_none() {
        ethernets["host"] = json!({
            "match": {"macaddress": mac_nic1(index)},
            "dhcp4": true,
            "dhcp4-overrides": {"use-routes": false, "use-dns": false},
        });
    }
    serde_saphyr::to_string(&json!({"version": 2, "ethernets": ethernets})).expect("serializes")
}

pub struct UpOptions<'a> {
    pub state_dir: &'a Path,
    pub boot: Boot,
    pub cluster_cidr: ipnet::Ipv4Net,
    pub memory_mib: u32,
}

/// Fill the VMs' MACs into the plan, build, and start one VM per node.
pub fn start(
    mut plan: Plan,
    secrets: &mut pki::Bundle,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
    options: &UpOptions,
) -> Result<(Compiled, Vec<Started>), UpError> {
    if plan.platform.user_data_format != UserDataFormat::CloudConfig {
        return Err(UpError::Format(plan.os.clone()));
    }
    if plan.admin_nic.is_some() {
        for (i, node) in plan.nodes.iter_mut().enumerate() {
            node.admin_mac = Some(mac_nic1(i));
        }
    }
    let compiled = compile::build(plan, secrets, clock, entropy, Default::default())?;
    let gateway = options
        .cluster_cidr
        .hosts()
        .next()
        .unwrap_or(options.cluster_cidr.network());
    let mut vms = Vec::new();
    for (i, ud) in compiled.user_data.iter().enumerate() {
        vms.push(Vm {
            name: ud.node.clone(),
            user_data: ud.bytes.clone(),
            network_config: network_config(
                &compiled.plan,
                i,
                options.cluster_cidr.prefix_len(),
                gateway,
            ),
            mac_nic1: mac_nic1(i),
            mac_nic2: mac_nic2(i),
            forwards: vec![(free_port()?, ETCD_FORWARD_GUEST_PORT)],
            memory_mib: options.memory_mib,
        });
    }
    // One multicast segment per run, so two clusters on one host never share a wire.
    let segment = format!("230.0.75.1:{}", 20_000 + std::process::id() % 20_000);
    let started = provider::start(
        options.state_dir,
        &options.boot,
        provider::detect_accel(),
        &segment,
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
