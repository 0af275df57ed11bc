//! Node names and addresses: masters first (the first one is the init master), then each
//! worker pool in spec order, each node on consecutive cluster-network addresses.

use super::{NodePlan, Role};
use crate::spec::{ClusterSpec, Parsed};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

pub(super) fn nodes(spec: &ClusterSpec, parsed: &Parsed) -> Vec<NodePlan> {
    let cp = &spec.control_plane;
    let mut next = u32::from(parsed.masters_first_address);
    let mut nodes = Vec::new();
    let mut add = |next: &mut u32, name: String, role: Role, pool: &str, flavor: &str| {
        nodes.push(NodePlan {
            name,
            role,
            pool: pool.into(),
            flavor: flavor.into(),
            address: Ipv4Addr::from(*next),
            admin_address: None,
            admin_mac: None,
            api_server_sans: Vec::new(),
        });
        *next += 1;
    };
    for i in 0..cp.count {
        let role = if i == 0 {
            Role::Init
        } else {
            Role::ControlPlane
        };
        let name = format!("{}-cp-{i}", spec.name);
        add(&mut next, name, role, "control-plane", &cp.flavor);
    }
    for (pool, first) in spec.workers.iter().zip(&parsed.pools_first_address) {
        if let Some(start) = first {
            next = u32::from(*start);
        }
        for i in 0..pool.count {
            let name = format!("{}-{}-{i}", spec.name, pool.pool);
            add(&mut next, name, Role::Worker, &pool.pool, &pool.flavor);
        }
    }
    if let Some(admin) = &parsed.admin
        && let Some(first) = admin.first_address
    {
        for (address, node) in (u32::from(first)..).zip(nodes.iter_mut()) {
            node.admin_address =
                Ipv4Net::new(Ipv4Addr::from(address), admin.cidr.prefix_len()).ok();
        }
    }
    nodes
}
