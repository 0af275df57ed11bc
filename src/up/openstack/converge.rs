//! Creating what is missing, in dependency order: security groups and their rules, the
//! masters' server group, all ports (one bulk request, then tags), the API floating IP; then
//! the plan gets what Neutron decided, user-data is built, and the missing servers are created
//! in parallel. Each create is preceded by a look (inventory, or a fresh list after a failed
//! create), so a rerun after any interruption creates only what is still missing.

use super::cloud::Inventory;
use super::design::{self, Group, Nic, PortPlace, ServerPlace};
use super::preflight::Resolved;
use super::{Event, UpError, rules};
use crate::plan::facts::Facts;
use crate::plan::{NodePlan, Plan, Role};
use crate::providers::openstack::api::{Api, ApiError, Look, Purpose, converge, converge_batch};
use crate::providers::openstack::neutron::{self, Filter, Kind, Port};
use crate::providers::openstack::nova;
use crate::up::pool::parallel;
use crate::up::state::{NodeRecord, Record};
use std::collections::BTreeMap;

/// Security groups with exactly the designed rules. Returns group → ID.
pub fn security_groups(
    api: &Api,
    plan: &Plan,
    inventory: &mut Inventory,
    report: &dyn Fn(Event),
) -> Result<BTreeMap<Group, String>, UpError> {
    let cluster = &plan.cluster_name;
    let marker = design::marker(cluster);
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
    let tag = design::cluster_tag(&plan.cluster_name);
    if tags.contains(&tag) {
        return Ok(());
    }
    neutron::set_tags(api, kind, id, &[tag])
}

/// The masters' anti-affinity group; an existing one with another policy is an error.
pub fn server_group(
    api: &Api,
    plan: &Plan,
    inventory: &mut Inventory,
    report: &dyn Fn(Event),
) -> Result<String, UpError> {
    let name = design::server_group_name(&plan.cluster_name);
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
    let marker = design::marker(&plan.cluster_name);
    let group_id = |g: Group| groups[&g].clone();
    let request = |node: &NodePlan, nic: Nic| {
        let place = match nic {
            Nic::Cluster => PortPlace {
                network_id: &resolved.cluster_network_id,
                subnet_id: Some(&resolved.cluster_subnet_id),
            },
            Nic::Admin => PortPlace {
                network_id: resolved.admin_network_id.as_deref().unwrap_or_default(),
                subnet_id: resolved.admin_subnet_id.as_deref(),
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
        // 409: an address is taken, possibly by this cluster's own port from a create of an
        // interrupted run that landed after our inventory: look again, then retry.
        |e| e.status() == Some(409),
    )?;
    Ok(())
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
    let tag = design::cluster_tag(&plan.cluster_name);
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
                if !p.tags.contains(&tag) {
                    work.push((p, false));
                }
            }
        }
    }
    let results = parallel(&work, concurrency, |(p, pairs)| {
        if *pairs {
            neutron::set_address_pairs(api, &p.id, &want_pairs)
        } else {
            neutron::set_tags(api, Kind::Port, &p.id, std::slice::from_ref(&tag))
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
    let marker = design::marker(cluster);
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

/// Where the servers go: the plan, the cloud's IDs for its names, the masters' server
/// group and the ports already made.
pub struct Placement<'a> {
    pub plan: &'a Plan,
    pub resolved: &'a Resolved,
    pub server_group_id: &'a str,
    pub inventory: &'a Inventory,
}

/// Create the servers that do not exist yet, at most `concurrency` at a time. A create that
/// fails transiently is retried only after listing the cluster's servers again.
pub fn servers(
    api: &Api,
    placement: &Placement,
    user_data: &BTreeMap<String, Vec<u8>>,
    concurrency: usize,
    report: &(dyn Fn(Event) + Sync),
) -> Result<(BTreeMap<String, String>, usize), UpError> {
    let plan = placement.plan;
    let tag = design::cluster_tag(&plan.cluster_name);
    // One fresh look just before creating: a create sent by an interrupted run may have
    // landed since the inventory was read.
    let existing: BTreeMap<String, String> = nova::servers_tagged(api, &tag, Purpose::Converge)?
        .into_iter()
        .map(|s| (s.name, s.id))
        .collect();
    // Masters first: each waits for the scheduler to place the one before it (below).
    let mut missing: Vec<&NodePlan> = plan
        .nodes
        .iter()
        .filter(|n| !existing.contains_key(&n.name))
        .collect();
    missing.sort_by_key(|n| !n.role.is_master());
    let master_gate = std::sync::Mutex::new(());
    report(Event::ServersToCreate {
        total: missing.len(),
    });
    let results = parallel(&missing, concurrency, |node| {
        // Group members scheduled at the same moment can both pick a host, fail Nova's
        // late anti-affinity check and run out of retries; one at a time they cannot.
        let _gate = node
            .role
            .is_master()
            .then(|| master_gate.lock().expect("gate"));
        let id = create_server(api, placement, node, &user_data[&node.name])?;
        if node.role.is_master() && !wait_placed(api, &id)? {
            report(Event::Note(format!(
                "Nova has not placed {} after {} s; the next master is sent anyway and \
                 may be refused by the anti-affinity check",
                node.name,
                PLACE_WAIT.as_secs()
            )));
        }
        report(Event::ServerCreated {
            node: node.name.clone(),
        });
        Ok::<_, ApiError>((node.name.clone(), id))
    });
    let created = results.len();
    let mut ids = existing;
    for r in results {
        let (name, id) = r?;
        ids.insert(name, id);
    }
    Ok((ids, created))
}

/// Create `node`'s server unless a look after a failed create finds it; its ID.
fn create_server(
    api: &Api,
    placement: &Placement,
    node: &NodePlan,
    user_data: &[u8],
) -> Result<String, ApiError> {
    let Placement {
        plan,
        resolved,
        server_group_id,
        inventory,
    } = *placement;
    let port_ids: Vec<String> = design::nics(plan)
        .into_iter()
        .map(|nic| {
            inventory.ports[&design::port_name(&node.name, nic)]
                .id
                .clone()
        })
        .collect();
    let place = ServerPlace {
        image_id: &resolved.image_id,
        flavor_id: &resolved.flavor_ids[&node.flavor],
        port_ids,
        server_group_id: Some(server_group_id),
    };
    let (request, group) = design::server_request(plan, node, &place, user_data);
    let tag = design::cluster_tag(&plan.cluster_name);
    // The first look is the list `servers` made; only after a failed create look again.
    let first_look = std::cell::Cell::new(true);
    let (id, _) = converge(
        &api.retry,
        || {
            if first_look.replace(false) {
                return Ok(None);
            }
            Ok(nova::servers_tagged(api, &tag, Purpose::Converge)?
                .into_iter()
                .find(|s| s.name == node.name)
                .map(|s| s.id))
        },
        || nova::create_server(api, &request, group),
    )?;
    Ok(id)
}

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

/// How long a master may stay in Nova's scheduler before the next one is sent anyway.
const PLACE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Wait until Nova has placed a server on a host: it left the `scheduling` task state, or
/// the BUILD status altogether. `false` when it still was not placed at `PLACE_WAIT`.
fn wait_placed(api: &Api, id: &str) -> Result<bool, ApiError> {
    let placed = || -> Result<bool, ApiError> {
        let s = nova::server(api, id, Purpose::Poll)?;
        let scheduling = s.task_state.as_deref().is_none_or(|t| t == "scheduling");
        Ok(s.status != "BUILD" || !scheduling)
    };
    poll_until(PLACE_WAIT, std::time::Duration::from_millis(500), placed)
}

/// Ask `done` every `interval` until it says yes (`true`) or `wait` has passed (`false`).
fn poll_until<E>(
    wait: std::time::Duration,
    interval: std::time::Duration,
    mut done: impl FnMut() -> Result<bool, E>,
) -> Result<bool, E> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if done()? {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn polling_says_when_its_deadline_passed() {
        let mut asked = 0;
        let never = poll_until(Duration::from_millis(30), Duration::from_millis(5), || {
            asked += 1;
            Ok::<_, ()>(false)
        });
        assert_eq!(never, Ok(false));
        assert!(asked > 1, "asked {asked} times");
        let mut left = 3;
        let soon = poll_until(Duration::from_secs(60), Duration::from_millis(1), || {
            left -= 1;
            Ok::<_, ()>(left == 0)
        });
        assert_eq!(soon, Ok(true));
        assert_eq!(
            poll_until(Duration::from_secs(60), Duration::ZERO, || Err::<bool, _>(
                "down"
            )),
            Err("down")
        );
    }
}
