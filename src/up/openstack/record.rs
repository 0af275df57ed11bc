//! The state file's record of what the cluster has now (`up::state::Record`): names and IDs
//! from the inventory, the facts the plan got. Pure; the file itself is `up::state`'s.

use super::cloud::Inventory;
use super::design;
use crate::plan::Plan;
use crate::plan::facts::Facts;
use crate::up::state::{NodeRecord, Record};
use std::collections::BTreeMap;

/// The record of everything the cluster has now.
pub fn record(
    plan: &Plan,
    inventory: &Inventory,
    facts: &Facts,
    server_ids: &BTreeMap<String, String>,
) -> Record {
    let cluster = &plan.cluster_name;
    let nodes = plan
        .nodes
        .iter()
        .map(|n| {
            let ports = design::nics(plan)
                .into_iter()
                .filter_map(|nic| {
                    inventory
                        .ports
                        .get(&design::port_name(&n.name, nic))
                        .map(|p| (nic.suffix().to_string(), p.id.clone()))
                })
                .collect();
            (
                n.name.clone(),
                NodeRecord {
                    server_id: server_ids.get(&n.name).cloned(),
                    ports,
                },
            )
        })
        .collect();
    Record {
        cluster: cluster.clone(),
        tag: design::cluster_tag(cluster),
        facts: facts.clone(),
        nodes,
        security_groups: inventory
            .groups
            .iter()
            .map(|(n, g)| (n.clone(), g.id.clone()))
            .collect(),
        server_group: inventory.server_group.as_ref().map(|g| g.id.clone()),
        floating_ip: inventory.floating_ips.first().map(|f| f.id.clone()),
    }
}
