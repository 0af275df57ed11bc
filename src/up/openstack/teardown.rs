//! `down` and `status`: both start from the same inventory `up` uses (objects carrying the
//! cluster's tag, Neutron objects with its description marker, the masters' server group by
//! name), so `down` removes exactly what `up` made and nothing else in the project; what the
//! cluster made for itself (load balancers, volumes) it lists (`leftovers`).

use super::cloud::{self, Inventory};
use super::leftovers::{self, Leftover};
use super::{Event, UpError};
use crate::providers::openstack::api::{Api, ApiError, Purpose};
use crate::providers::openstack::neutron::{self, Kind};
use crate::providers::openstack::nova;
use crate::up::progress;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How many objects of each kind `down` deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub servers: usize,
    pub floating_ips: usize,
    pub ports: usize,
    pub server_groups: usize,
    pub security_groups: usize,
    /// What the cluster made for itself and `down` leaves to the operator.
    pub left: Vec<Leftover>,
}

impl Removed {
    pub fn total(&self) -> usize {
        self.servers + self.floating_ips + self.ports + self.server_groups + self.security_groups
    }
}

/// Delete the cluster's servers (and wait until Nova has let go of their ports), then its
/// floating IPs, ports, server group and security groups. Safe to run again at any point.
pub fn down(
    api: &Api,
    cluster: &str,
    id: &str,
    wait: Duration,
    report: &dyn Fn(Event),
) -> Result<Removed, UpError> {
    let inventory = cloud::inventory(api, cluster, id, Purpose::Converge)?;
    for other in &inventory.others {
        report(Event::Note(format!(
            "not deleting {other}: it belongs to another cluster named {cluster} (not ID {id})"
        )));
    }
    for other in &inventory.foreign {
        report(Event::Note(format!(
            "not deleting {other}: it is not in this token's project"
        )));
    }
    for dup in &inventory.duplicates {
        report(Event::Note(format!("also removing duplicate {dup}")));
    }
    // Read before the servers go: Nova forgets their attachments with them.
    let attached = leftovers::attached(&inventory.servers.values().collect::<Vec<_>>());
    let mut removed = Removed {
        servers: delete_each(
            "server",
            &ids(&inventory.servers, |s| &s.id),
            report,
            |id| nova::delete_server(api, id),
        )?,
        ..Removed::default()
    };
    servers_gone(api, cluster, id, wait)?;
    let fips: Vec<(&str, &str)> = (inventory.floating_ips.iter())
        .map(|f| (f.floating_ip_address.as_str(), f.id.as_str()))
        .collect();
    removed.floating_ips = delete_each("floating IP", &fips, report, |id| {
        neutron::delete(api, Kind::FloatingIp, id)
    })?;
    removed.ports = delete_each("port", &ids(&inventory.ports, |p| &p.id), report, |id| {
        neutron::delete(api, Kind::Port, id)
    })?;
    for dup in duplicate_ports(api, cluster, id, &inventory)? {
        neutron::delete(api, Kind::Port, &dup.id)?;
        removed.ports += 1;
    }
    if let Some(group) = &inventory.server_group {
        // A group of that name that still holds servers is not this cluster's.
        let now = nova::server_groups(api)?
            .into_iter()
            .find(|g| g.id == group.id);
        if now.is_some_and(|g| g.members.is_empty()) && nova::delete_server_group(api, &group.id)? {
            removed.server_groups += 1;
            report(Event::Deleted {
                kind: "server group",
                name: group.name.clone(),
            });
        }
    }
    let groups = ids(&inventory.groups, |g| &g.id);
    removed.security_groups = delete_each("security group", &groups, report, |id| {
        neutron::delete(api, Kind::SecurityGroup, id)
    })?;
    let (left, unread) = leftovers::find(api, cluster, attached);
    for l in &left {
        report(Event::Note(format!(
            "left in the cloud: {} {} ({}, {}); remove it with `{}`",
            l.kind, l.name, l.id, l.why, l.remove
        )));
    }
    for what in unread {
        report(Event::Note(format!(
            "could not look for the cluster's {what}: check for them by hand"
        )));
    }
    removed.left = left;
    Ok(removed)
}

/// (name, ID) of each object in `by_name`.
fn ids<T>(by_name: &BTreeMap<String, T>, id: impl Fn(&T) -> &String) -> Vec<(&str, &str)> {
    by_name
        .iter()
        .map(|(name, t)| (name.as_str(), id(t).as_str()))
        .collect()
}

/// Delete each (name, ID), a few at a time; how many were still there to delete.
fn delete_each(
    kind: &'static str,
    items: &[(&str, &str)],
    report: &dyn Fn(Event),
    delete: impl Fn(&str) -> Result<bool, ApiError> + Sync,
) -> Result<usize, UpError> {
    let deleted = crate::up::pool::parallel(items, 8, |(_, id)| delete(id));
    let mut count = 0;
    for ((name, _), r) in items.iter().zip(deleted) {
        if r? {
            count += 1;
            report(Event::Deleted {
                kind,
                name: name.to_string(),
            });
        }
    }
    Ok(count)
}

/// Wait until Nova no longer lists the cluster's servers (their ports stay bound until then).
fn servers_gone(api: &Api, cluster: &str, id: &str, wait: Duration) -> Result<(), UpError> {
    let tag = super::design::cluster_tag(cluster);
    let id_tag = super::design::id_tag(id);
    let deadline = Instant::now() + wait;
    let ours = |s: &nova::Server| s.tags.contains(&id_tag);
    while (nova::servers_tagged(api, &tag, Purpose::Poll)?.iter()).any(ours) {
        if Instant::now() > deadline {
            return Err(UpError::Conflict {
                what: "servers are still being deleted".into(),
                hint: "run `k8sgen down` again in a minute".into(),
            });
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

/// Servers the spec no longer has: drained through the Kubernetes API (nothing is deleted
/// if that fails), then the server and its ports. Returns the names removed.
pub fn prune(
    api: &Api,
    kube: &crate::up::kube::Kube,
    inventory: &Inventory,
    names: &[String],
    report: &dyn Fn(Event),
) -> Result<Vec<String>, UpError> {
    let mut pruned = Vec::new();
    for name in names {
        kube.drain_and_delete(name, Duration::from_secs(300))?;
        nova::delete_server(api, &inventory.servers[name].id)?;
        for nic in [super::design::Nic::Cluster, super::design::Nic::Admin] {
            if let Some(p) = inventory.ports.get(&super::design::port_name(name, nic)) {
                // Nova may still hold the port for a moment; Neutron detaches it.
                neutron::delete(api, Kind::Port, &p.id)?;
            }
        }
        report(Event::Deleted {
            kind: "server",
            name: name.clone(),
        });
        pruned.push(name.clone());
    }
    Ok(pruned)
}

/// Ports of the cluster that share a name with another (left by an interrupted bulk create
/// on a cloud that does not roll back): the inventory keeps one per name.
fn duplicate_ports(
    api: &Api,
    cluster: &str,
    id: &str,
    inventory: &Inventory,
) -> Result<Vec<neutron::Port>, UpError> {
    if inventory.duplicates.is_empty() {
        return Ok(Vec::new());
    }
    let kept: std::collections::BTreeSet<&str> =
        inventory.ports.values().map(|p| p.id.as_str()).collect();
    Ok(neutron::ports(
        api,
        neutron::Filter::Description(&super::design::marker(cluster, id)),
    )?
    .into_iter()
    .filter(|p| !kept.contains(p.id.as_str()) && cloud::owned(api.project_id(), &p.project_id))
    .collect())
}

/// One line of `status` per object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub kind: &'static str,
    pub name: String,
    pub id: String,
    pub detail: String,
}

/// Everything the cluster has, with each server's status, host and last progress line.
pub fn status(api: &Api, cluster: &str, id: &str) -> Result<(Vec<StatusLine>, Inventory), UpError> {
    let inventory = cloud::inventory(api, cluster, id, Purpose::Poll)?;
    let mut lines = Vec::new();
    for (name, s) in &inventory.servers {
        let boot = if s.status == "ACTIVE" {
            let console =
                nova::console_log(api, &s.id, super::follow::CONSOLE_LINES).unwrap_or_default();
            progress::state(&console, name).to_string()
        } else {
            s.fault
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default()
        };
        // The host's name is admin-only; its hash (`hostId`), shown to every user, is
        // enough to see the masters apart.
        let host = format!(
            "{} {}",
            s.host.as_deref().unwrap_or_default(),
            s.host_id
                .get(..12)
                .map(|id| format!("hostId={id}"))
                .unwrap_or_default()
        );
        lines.push(StatusLine {
            kind: "server",
            name: name.clone(),
            id: s.id.clone(),
            detail: format!("{} {host} {boot}", s.status)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
    for (name, p) in &inventory.ports {
        let ips: Vec<&str> = p.fixed_ips.iter().map(|f| f.ip_address.as_str()).collect();
        lines.push(StatusLine {
            kind: "port",
            name: name.clone(),
            id: p.id.clone(),
            detail: format!("{} {}", ips.join(","), p.mac_address),
        });
    }
    for (name, g) in &inventory.groups {
        lines.push(StatusLine {
            kind: "security group",
            name: name.clone(),
            id: g.id.clone(),
            detail: format!("{} rules", g.security_group_rules.len()),
        });
    }
    if let Some(g) = &inventory.server_group {
        lines.push(StatusLine {
            kind: "server group",
            name: g.name.clone(),
            id: g.id.clone(),
            detail: format!("{}, {} members", g.policy, g.members.len()),
        });
    }
    for f in &inventory.floating_ips {
        lines.push(StatusLine {
            kind: "floating IP",
            name: f.floating_ip_address.clone(),
            id: f.id.clone(),
            detail: f.port_id.clone().unwrap_or_default(),
        });
    }
    Ok((lines, inventory))
}
