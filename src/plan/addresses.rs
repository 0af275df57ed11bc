//! Node names and addresses: masters first (the first one is the init master), then each
//! worker pool in spec order, each node on consecutive cluster-network addresses.

use super::{NodePlan, PlanError, Role};
use crate::spec::{Addressing, ClusterSpec};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

fn parse_addr(text: &str) -> Result<u32, PlanError> {
    text.parse::<Ipv4Addr>()
        .map(u32::from)
        .map_err(|_| PlanError::Address(format!("`{text}` is not an IPv4 address")))
}

pub(super) fn nodes(spec: &ClusterSpec) -> Result<Vec<NodePlan>, PlanError> {
    let cp = &spec.control_plane;
    let first = cp.first_address.as_deref().ok_or_else(|| {
        PlanError::Address("controlPlane.firstAddress is required to render".into())
    })?;
    let mut next = parse_addr(first)?;
    let mut nodes = Vec::new();
    for i in 0..cp.count {
        nodes.push(NodePlan {
            name: format!("{}-cp-{i}", spec.name),
            role: if i == 0 {
                Role::Init
            } else {
                Role::ControlPlane
            },
            pool: "control-plane".into(),
            flavor: cp.flavor.clone(),
            address: Ipv4Addr::from(next),
            admin_address: None,
            admin_mac: None,
            api_server_sans: Vec::new(),
        });
        next += 1;
    }
    for pool in &spec.workers {
        if let Some(start) = &pool.first_address {
            next = parse_addr(start)?;
        }
        for i in 0..pool.count {
            nodes.push(NodePlan {
                name: format!("{}-{}-{i}", spec.name, pool.pool),
                role: Role::Worker,
                pool: pool.pool.clone(),
                flavor: pool.flavor.clone(),
                address: Ipv4Addr::from(next),
                admin_address: None,
                admin_mac: None,
                api_server_sans: Vec::new(),
            });
            next += 1;
        }
    }
    if let Some(admin) = &spec.network.admin
        && admin.addressing == Addressing::Static
    {
        let cidr: Ipv4Net = admin
            .cidr
            .parse()
            .map_err(|_| PlanError::Address(format!("`{}` is not a CIDR", admin.cidr)))?;
        let first = parse_addr(admin.first_address.as_deref().unwrap_or_default())?;
        for (address, node) in (first..).zip(nodes.iter_mut()) {
            node.admin_address = Ipv4Net::new(Ipv4Addr::from(address), cidr.prefix_len()).ok();
        }
    }
    Ok(nodes)
}
