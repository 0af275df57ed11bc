//! Creating the network objects that are missing, in dependency order: security groups and
//! their rules, the masters' server group, all ports (one bulk request, then tags), the API
//! floating IP; and what Neutron decided, as the plan's facts. Each create is preceded by a
//! look (inventory, or a fresh list after a failed create), so a rerun after any
//! interruption creates only what is still missing. Servers are `servers`' job.

use super::cloud::Inventory;
use super::design::{self, Group, Nic, PortPlace};
use super::preflight::Resolved;
use super::{Event, UpError, rules};
use crate::plan::facts::Facts;
use crate::plan::{NodePlan, Plan, Role};
use crate::providers::openstack::api::{Api, ApiError, Look, converge, converge_batch};
use crate::providers::openstack::neutron::{self, Filter, Kind, Port};
use crate::providers::openstack::nova;
use crate::up::pool::parallel;
use std::collections::BTreeMap;

/// Security groups with exactly the designed rules. Returns group → ID.
pub fn security_groups(
    api: &Api,
    plan: &Plan,
    inventory: &mut Inventory,
    report: &dyn Fn(Event),
) -> Result<BTreeMap<Group, String>, UpError> {
    let cluster = &plan.cluster_name;
    let marker = design::marker(cluster, &design::id_of(plan));
    let mut ids = BTreeMap::new();
    for group in Group::ALL {
        let name = group.name(cluster);
        let (sg, created) = match inventory.groups.get(&name) {
            Some(sg) => (sg.clone(), false),
            None => converge(
                &api.retry,
                || {
                    Ok(neutron::security_groups(api, Filter::Description(&marker))?
                        .into_iter()
                        .find(|g| g.name == name))
                },
                || {
                    let request = neutron::SecurityGroupRequest {
                        name: name.clone(),
                        description: marker.clone(),
                    };
                    neutron::create_security_group(api, &request)
                },
            )?,
        };
        if created {
            report(Event::Created {
                kind: "security group",
                name: name.clone(),
            });
        }
        tag(api, plan, Kind::SecurityGroup, &sg.id, &sg.tags)?;
        ids.insert(group, sg.id.clone());
        inventory.groups.insert(name, sg);
    }
    let id_of = |g: Group| ids[&g].clone();
    for group in Group::ALL {
        let sg = &inventory.groups[&group.name(cluster)];
        rules::reconcile(api, plan, group, sg, &id_of, report)?;
    }
    Ok(ids)
}

/// Tag a Neutron object for the cluster unless `tags` show it is already.
fn tag(api: &Api, plan: &Plan, kind: Kind, id: &str, tags: &[String]) -> Result<(), ApiError> {
    let want = design::tags(&plan.cluster_name, &design::id_of(plan));
    if want.iter().all(|t| tags.contains(t)) {
        return Ok(());
    }
    neutron::set_tags(api, kind, id, &want)
}

/// The masters' anti-affinity group; an existing one with another policy is an error.
pub fn server_group(
    api: &Api,
    plan: &Plan,
    inventory: &mut Inventory,
    report: &dyn Fn(Event),
) -> Result<String, UpError> {
    let name = design::server_group_name(&plan.cluster_name, &design::id_of(plan));
    let policy = design::server_group_policy(plan.openstack.servers.anti_affinity);
    let (group, created) = match &inventory.server_group {
        Some(g) => (g.clone(), false),
        None => converge(
            &api.retry,
            || {
                Ok(nova::server_groups(api)?
                    .into_iter()
                    .find(|g| g.name == name))
            },
            || {
                let request = nova::ServerGroupRequest {
                    name: name.clone(),
                    policy: policy.into(),
                };
                nova::create_server_group(api, &request)
            },
        )?,
    };
    if created {
        report(Event::Created {
            kind: "server group",
            name: name.clone(),
        });
    } else if group.policy != policy {
        return Err(UpError::Conflict {
            what: format!("server group {name} has policy {}, the spec asks for {policy}", group.policy),
            hint: "Nova cannot change a group's policy: run `k8sgen down` first, or set antiAffinity to match".into(),
        });
    }
    inventory.server_group = Some(group.clone());
    Ok(group.id)
}

/// Every node's ports: missing ones in one bulk create, then tagged; existing ones checked
/// against the plan (a port with another address than planned is a conflict, never mended
/// silently).
pub fn ports(
    api: &Api,
    plan: &Plan,
    resolved: &Resolved,
    groups: &BTreeMap<Group, String>,
    inventory: &mut Inventory,
    report: &dyn Fn(Event),
) -> Result<(), UpError> {
    let wanted: Vec<(&NodePlan, Nic)> = plan
        .nodes
        .iter()
        .flat_map(|n| design::nics(plan).into_iter().map(move |nic| (n, nic)))
        .collect();
    for (node, nic) in &wanted {
        if let (Nic::Cluster, Some(port)) = (
            nic,
            inventory.ports.get(&design::port_name(&node.name, *nic)),
        ) {
            check_address(port, node)?;
        }
    }
    let marker = design::marker(&plan.cluster_name, &design::id_of(plan));
    let group_id = |g: Group| groups[&g].clone();
    let request = |node: &NodePlan, nic: Nic| {
        let place = match nic {
            Nic::Cluster => PortPlace {
                network_id: &resolved.cluster_network_id,
                subnet_id: Some(&resolved.cluster_subnet_id),
                enable_port_security: resolved.cluster_port_security_off,
            },
            Nic::Admin => PortPlace {
                network_id: resolved.admin_network_id.as_deref().unwrap_or_default(),
                subnet_id: resolved.admin_subnet_id.as_deref(),
                enable_port_security: resolved.admin_port_security_off,
            },
        };
        design::port_request(plan, node, nic, &place, &group_id)
    };
    // Bulk create in chunks; after a failed chunk, look again and send only what is missing.
    const CHUNK: usize = 50;
    converge_batch(
        &api.retry,
        inventory,
        |inventory, look| {
            if look == Look::Again {
                for p in neutron::ports(api, Filter::Description(&marker))? {
                    inventory.ports.entry(p.name.clone()).or_insert(p);
                }
            }
            Ok(wanted
                .iter()
                .filter(|(n, nic)| {
                    let name = design::port_name(&n.name, *nic);
                    !inventory.ports.contains_key(&name)
                })
                .take(CHUNK)
                .map(|(n, nic)| request(n, *nic))
                .collect())
        },
        |inventory, chunk| {
            let made = neutron::create_ports(api, &chunk)?;
            report(Event::Created {
                kind: "ports",
                name: format!("{} in one request", made.len()),
            });
            for p in made {
                inventory.ports.insert(p.name.clone(), p);
            }
            Ok(())
        },
        // An address is taken, possibly by this cluster's own port from a create of an
        // interrupted run that landed after our inventory: look again, then retry.
        address_conflict,
    )?;
    Ok(())
}

/// A 409 worth a fresh look and a retry: an address already taken (neutron/ipam/exceptions.py:34
/// `IpAddressAlreadyAllocated`, what the rig's Zed Neutron answers to a taken fixed IP;
/// neutron_lib/exceptions/__init__.py:330 `IpAddressInUse`). Any other conflict, a quota
/// (`OverQuota`, neutron_lib/exceptions/__init__.py:435) above all, stays the same however
/// often it is retried.
fn address_conflict(e: &ApiError) -> bool {
    e.status() == Some(409)
        && matches!(
            e.kind(),
            Some("IpAddressAlreadyAllocated" | "IpAddressInUse")
        )
}

/// An existing cluster port must have the node's planned address.
fn check_address(port: &Port, node: &NodePlan) -> Result<(), UpError> {
    let ip = node.address.to_string();
    if port.fixed_ips.iter().any(|f| f.ip_address == ip) {
        return Ok(());
    }
    let has: Vec<&str> = port
        .fixed_ips
        .iter()
        .map(|f| f.ip_address.as_str())
        .collect();
    Err(UpError::Conflict {
        what: format!(
            "port {} has {}, the plan gives {} {ip}",
            port.name,
            has.join(", "),
            node.name
        ),
        hint: "addresses cannot move under a running node: restore the spec's addresses or `k8sgen down` first".into(),
    })
}

/// Finish the ports: address pairs where Neutron dropped them, and the cluster tag. Runs
/// while the servers are created (a server needs its port to exist, not to be tagged), in
/// one request per port that needs it.
pub fn finish_ports(
    api: &Api,
    plan: &Plan,
    inventory: &Inventory,
    concurrency: usize,
) -> Result<(), UpError> {
    let tags = design::tags(&plan.cluster_name, &design::id_of(plan));
    // Some Neutron releases (Zed's ML2 among them) drop `allowed_address_pairs` from ports
    // created in bulk: set them again wherever they are not what the design says.
    let want_pairs = design::address_pairs(plan);
    let pairs_ok = |p: &Port| p.allowed_address_pairs == want_pairs;
    let mut work: Vec<(&Port, bool)> = Vec::new();
    for node in &plan.nodes {
        for nic in design::nics(plan) {
            if let Some(p) = inventory.ports.get(&design::port_name(&node.name, nic)) {
                if nic == Nic::Cluster && !pairs_ok(p) {
                    work.push((p, true));
                }
                if !tags.iter().all(|t| p.tags.contains(t)) {
                    work.push((p, false));
                }
            }
        }
    }
    let results = parallel(&work, concurrency, |(p, pairs)| {
        if *pairs {
            neutron::set_address_pairs(api, &p.id, &want_pairs)
        } else {
            neutron::set_tags(api, Kind::Port, &p.id, &tags)
        }
    });
    for r in results {
        r?;
    }
    Ok(())
}

/// The API floating IP on the init master's cluster port; its address.
pub fn floating_ip(
    api: &Api,
    plan: &Plan,
    resolved: &Resolved,
    inventory: &mut Inventory,
    report: &dyn Fn(Event),
) -> Result<Option<String>, UpError> {
    if !plan.openstack.api_floating_ip {
        return Ok(None);
    }
    let cluster = &plan.cluster_name;
    let marker = design::marker(cluster, &design::id_of(plan));
    let init = plan
        .nodes
        .iter()
        .find(|n| n.role == Role::Init)
        .expect("plan has an init master");
    let port = &inventory.ports[&design::port_name(&init.name, Nic::Cluster)];
    let network = resolved.floating_network_id.clone().unwrap_or_default();
    let (fip, created) = match inventory.floating_ips.first() {
        Some(f) => (f.clone(), false),
        None => converge(
            &api.retry,
            || {
                Ok(neutron::floating_ips(api, Filter::Description(&marker))?
                    .into_iter()
                    .next())
            },
            || {
                let request = neutron::FloatingIpRequest {
                    floating_network_id: network.clone(),
                    port_id: port.id.clone(),
                    description: marker.clone(),
                };
                neutron::create_floating_ip(api, &request)
            },
        )?,
    };
    if created {
        report(Event::Created {
            kind: "floating IP",
            name: fip.floating_ip_address.clone(),
        });
    }
    if fip.port_id.as_deref() != Some(port.id.as_str()) {
        neutron::associate_floating_ip(api, &fip.id, &port.id)?;
    }
    tag(api, plan, Kind::FloatingIp, &fip.id, &fip.tags)?;
    inventory.floating_ips = vec![fip.clone()];
    Ok(Some(fip.floating_ip_address))
}

/// What Neutron decided, for the plan.
pub fn facts(plan: &Plan, inventory: &Inventory, floating_ip: Option<String>) -> Facts {
    let admin_macs = if plan.admin_nic.is_some() {
        plan.nodes
            .iter()
            .filter_map(|n| {
                inventory
                    .ports
                    .get(&design::port_name(&n.name, Nic::Admin))
                    .map(|p| (n.name.clone(), p.mac_address.to_lowercase()))
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    Facts {
        admin_macs,
        api_floating_ip: floating_ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(kind: Option<&str>) -> ApiError {
        ApiError::Status {
            method: "POST".into(),
            url: "/ports".into(),
            status: 409,
            message: "m".into(),
            kind: kind.map(str::to_string),
            retry_after: None,
        }
    }

    #[test]
    fn only_a_taken_address_is_retried_not_a_quota() {
        assert!(address_conflict(&conflict(Some(
            "IpAddressAlreadyAllocated"
        ))));
        assert!(address_conflict(&conflict(Some("IpAddressInUse"))));
        assert!(!address_conflict(&conflict(Some("OverQuota"))));
        assert!(!address_conflict(&conflict(None)));
    }
}
