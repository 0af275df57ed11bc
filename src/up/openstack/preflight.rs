//! Pre-flight: before `up` creates anything, check that the cloud has what the plan names
//! (image, flavors, networks, subnet, key pair, external network), the Neutron extensions
//! `up` relies on, room in the quotas for what is still missing, and that every node's
//! user-data fits Nova's limit. Every problem is collected and reported with what to change.

use super::cloud::Inventory;
use super::design::{self, Group};
use crate::plan::Plan;
use crate::providers::openstack::api::{Api, ApiError};
use crate::providers::openstack::neutron;
use crate::providers::openstack::nova;
use std::collections::BTreeMap;

/// IDs pre-flight looked up, for the creates that follow.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub image_id: String,
    pub flavor_ids: BTreeMap<String, String>,
    pub cluster_network_id: String,
    pub cluster_subnet_id: String,
    pub admin_network_id: Option<String>,
    pub admin_subnet_id: Option<String>,
    pub floating_network_id: Option<String>,
}

/// One thing that stops `up`, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub hint: String,
}

fn problem(what: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        what: what.into(),
        hint: hint.into(),
    }
}

/// What would put a default route, host routes or DNS servers on the admin NIC for good.
/// Nova describes a port on a subnet without DHCP as static in `network_data.json`, with the
/// subnet's gateway as default route, its host routes and DNS servers; cloud-init writes
/// them into netplan, and an override can only add to those lists, never remove from them.
/// (On a DHCP subnet the node's override drops what the DHCP server offers.)
pub fn admin_subnet_problems(subnet: &neutron::Subnet, dhcp_wanted: bool) -> Vec<Problem> {
    let name = if subnet.name.is_empty() {
        &subnet.id
    } else {
        &subnet.name
    };
    let mut problems = Vec::new();
    if dhcp_wanted && !subnet.enable_dhcp {
        problems.push(problem(
            format!("admin subnet `{name}` has DHCP disabled, but network.admin.addressing is dhcp"),
            format!("set addressing: static with a firstAddress, or `openstack subnet set --dhcp {name}`"),
        ));
    }
    if subnet.enable_dhcp {
        return problems;
    }
    if let Some(gateway) = subnet.gateway_ip.as_deref().filter(|g| !g.is_empty()) {
        problems.push(problem(
            format!("admin subnet `{name}` has gateway {gateway}: its static ports would get a second default route"),
            format!("`openstack subnet set --gateway none {name}`"),
        ));
    }
    if !subnet.host_routes.is_empty() {
        problems.push(problem(
            format!(
                "admin subnet `{name}` has {} host route(s), which its static ports would get",
                subnet.host_routes.len()
            ),
            format!("`openstack subnet set --no-host-route {name}`"),
        ));
    }
    if !subnet.dns_nameservers.is_empty() {
        problems.push(problem(
            format!("admin subnet `{name}` has DNS servers, which its static ports would add to the node's"),
            format!("`openstack subnet set --no-dns-nameservers {name}`"),
        ));
    }
    problems
}

/// The Neutron extensions `up` uses.
pub const REQUIRED_EXTENSIONS: [(&str, &str); 3] = [
    (
        "allowed-address-pairs",
        "pod and service CIDRs on the cluster ports",
    ),
    ("port-security", "security groups on ports"),
    (
        "standard-attr-tag",
        "tagging ports, security groups and floating IPs",
    ),
];

/// Numbers of objects `up` still has to create.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub servers: i64,
    pub cores: i64,
    pub ram_mb: i64,
    pub ports: i64,
    pub security_groups: i64,
    pub security_group_rules: i64,
    pub server_groups: i64,
    pub floating_ips: i64,
}

/// What is missing compared with the inventory.
pub fn needs(
    plan: &Plan,
    inventory: &Inventory,
    flavors: &BTreeMap<String, nova::Flavor>,
) -> Needs {
    let mut n = Needs::default();
    let cluster = &plan.cluster_name;
    for node in &plan.nodes {
        if !inventory.servers.contains_key(&node.name) {
            n.servers += 1;
            if let Some(f) = flavors.get(&node.flavor) {
                n.cores += i64::from(f.vcpus);
                n.ram_mb += f.ram as i64;
            }
        }
        for nic in design::nics(plan) {
            if !inventory
                .ports
                .contains_key(&design::port_name(&node.name, nic))
            {
                n.ports += 1;
            }
        }
    }
    for group in Group::ALL {
        if !inventory.groups.contains_key(&group.name(cluster)) {
            n.security_groups += 1;
            // Neutron's two default egress rules come with the group for free.
            n.security_group_rules += design::rules(plan, group)
                .iter()
                .filter(|r| r.ingress)
                .count() as i64;
        }
    }
    n.server_groups = i64::from(inventory.server_group.is_none());
    n.floating_ips = i64::from(plan.openstack.api_floating_ip && inventory.floating_ips.is_empty());
    n
}

/// Check everything; `Ok(Err(problems))` when the cloud is reachable but not ready.
pub fn check(
    api: &Api,
    project_id: &str,
    plan: &Plan,
    inventory: &Inventory,
    user_data_sizes: &[(String, usize)],
) -> Result<Result<Resolved, Vec<Problem>>, ApiError> {
    let mut problems = Vec::new();
    let mut resolved = Resolved::default();

    let version = nova::max_microversion(api)?;
    let (major, minor) = version.split_once('.').unwrap_or(("2", "1"));
    if major == "2" && minor.parse::<u32>().unwrap_or(0) < 64 {
        problems.push(problem(
            format!("Nova offers compute microversions up to {version}; up needs 2.64"),
            "this cloud's Nova predates Rocky; render the user-data and create servers by hand",
        ));
    }

    // Image: by name, or by ID.
    let images = nova::images_named(api, &plan.image)?;
    match images.as_slice() {
        [one] if one.status == "active" => resolved.image_id = one.id.clone(),
        [one] => problems.push(problem(
            format!("image `{}` is {}, not active", plan.image, one.status),
            "wait for the upload to finish or pick another image in `nodes.image`",
        )),
        [] => problems.push(problem(
            format!("no image named `{}`", plan.image),
            "upload it (`openstack image create`) or set `nodes.image` to an existing name",
        )),
        several => problems.push(problem(
            format!("{} images are named `{}`", several.len(), plan.image),
            "rename all but one, or give a unique name in `nodes.image`",
        )),
    }

    let flavors: BTreeMap<String, nova::Flavor> = nova::flavors(api)?
        .into_iter()
        .map(|f| (f.name.clone(), f))
        .collect();
    let mut wanted: Vec<&str> = plan.nodes.iter().map(|n| n.flavor.as_str()).collect();
    wanted.sort();
    wanted.dedup();
    for name in wanted {
        match flavors.get(name) {
            Some(f) => {
                resolved.flavor_ids.insert(name.into(), f.id.clone());
            }
            None => problems.push(problem(
                format!("no flavor named `{name}`"),
                format!(
                    "pick one of: {}",
                    flavors.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    // Networks and subnets.
    let os = &plan.openstack;
    match network_by_name(api, &os.internal_network)? {
        Ok(net) => {
            resolved.cluster_network_id = net.id.clone();
            let subnets = neutron::subnets_of(api, &net.id)?;
            match subnets
                .iter()
                .find(|s| s.name == os.internal_subnet || s.id == os.internal_subnet)
            {
                Some(s) if s.cidr == os.cluster_cidr.to_string() => {
                    resolved.cluster_subnet_id = s.id.clone()
                }
                Some(s) => problems.push(problem(
                    format!(
                        "subnet `{}` is {}, but network.cluster.cidr says {}",
                        s.name, s.cidr, os.cluster_cidr
                    ),
                    "make network.cluster.cidr match the subnet: node addresses come from it",
                )),
                None => problems.push(problem(
                    format!(
                        "network `{}` has no subnet `{}`",
                        net.name, os.internal_subnet
                    ),
                    format!(
                        "its subnets: {}",
                        subnets
                            .iter()
                            .map(|s| format!("{} ({})", s.name, s.cidr))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        Err(p) => problems.push(p),
    }
    if let Some(admin) = &plan.admin_nic {
        match network_by_name(api, &admin.network)? {
            Ok(net) => {
                resolved.admin_network_id = Some(net.id.clone());
                let subnets = neutron::subnets_of(api, &net.id)?;
                match subnets.iter().find(|s| s.cidr == admin.cidr.to_string()) {
                    Some(s) => {
                        resolved.admin_subnet_id = Some(s.id.clone());
                        problems.extend(admin_subnet_problems(s, admin.dhcp));
                    }
                    None => problems.push(problem(
                        format!(
                            "network `{}` has no subnet with CIDR {}",
                            net.name, admin.cidr
                        ),
                        "make network.admin.cidr match the admin network's subnet",
                    )),
                }
            }
            Err(p) => problems.push(p),
        }
    }
    if os.api_floating_ip {
        let name = os.servers.floating_network.clone().unwrap_or_default();
        match network_by_name(api, &name)? {
            Ok(net) if net.external => resolved.floating_network_id = Some(net.id.clone()),
            Ok(_) => problems.push(problem(
                format!("network `{name}` is not external"),
                "floatingNetwork must name an external network (`openstack network list --external`)",
            )),
            Err(p) => problems.push(p),
        }
    }
    if let Some(key) = &os.servers.key_pair
        && !nova::keypair_exists(api, key)?
    {
        problems.push(problem(
            format!("no key pair named `{key}`"),
            "create it (`openstack keypair create --public-key FILE NAME`) or remove cloud.openstack.servers.keyPair",
        ));
    }

    // Extensions.
    let extensions = neutron::extensions(api)?;
    for (alias, why) in REQUIRED_EXTENSIONS {
        if !extensions.iter().any(|e| e == alias) {
            problems.push(problem(
                format!("Neutron lacks the `{alias}` extension ({why})"),
                "ask the cloud's operators to enable it; up cannot work around it",
            ));
        }
    }

    // Fixed IPs taken by someone else.
    if !resolved.cluster_network_id.is_empty() {
        let taken = neutron::ports(api, neutron::Filter::Network(&resolved.cluster_network_id))?;
        for node in &plan.nodes {
            let ip = node.address.to_string();
            let ours = design::port_name(&node.name, design::Nic::Cluster);
            if let Some(p) = taken.iter().find(|p| {
                // A port of this cluster by name and marker is ours even if the inventory
                // missed it (a create still landing from an interrupted run).
                let ours_by_marker =
                    p.name == ours && p.description == design::marker(&plan.cluster_name);
                p.fixed_ips.iter().any(|f| f.ip_address == ip)
                    && !ours_by_marker
                    && inventory.ports.get(&ours).is_none_or(|o| o.id != p.id)
            }) {
                problems.push(problem(
                    format!("{ip}, planned for {}, is taken by port `{}` ({})", node.name, p.name, p.id),
                    "free the address or move the nodes (controlPlane.firstAddress / workers[].firstAddress)",
                ));
            }
        }
    }

    // Quotas, for what is still missing.
    let need = needs(plan, inventory, &flavors);
    let limits = nova::limits(api)?;
    let room = |max: &str, used: &str| -> Option<i64> {
        let max = *limits.get(max)?;
        (max >= 0).then(|| max - limits.get(used).copied().unwrap_or(0))
    };
    for (what, need, max, used) in [
        (
            "instances",
            need.servers,
            "maxTotalInstances",
            "totalInstancesUsed",
        ),
        ("cores", need.cores, "maxTotalCores", "totalCoresUsed"),
        ("RAM (MB)", need.ram_mb, "maxTotalRAMSize", "totalRAMUsed"),
        (
            "server groups",
            need.server_groups,
            "maxServerGroups",
            "totalServerGroupsUsed",
        ),
    ] {
        if let Some(left) = room(max, used)
            && need > left
        {
            problems.push(problem(
                format!("Nova quota: {need} more {what} needed, {left} left"),
                "raise the project's quota or make the cluster smaller",
            ));
        }
    }
    if let Ok(quota) = neutron::quota_details(api, project_id) {
        for (what, need) in [
            ("port", need.ports),
            ("security_group", need.security_groups),
            ("security_group_rule", need.security_group_rules),
            ("floatingip", need.floating_ips),
        ] {
            if let Some(q) = quota.get(what)
                && q.limit >= 0
                && need > q.limit - q.used - q.reserved
            {
                problems.push(problem(
                    format!(
                        "Neutron quota: {need} more {what} needed, {} left",
                        q.limit - q.used - q.reserved
                    ),
                    "raise the project's quota or make the cluster smaller",
                ));
            }
        }
    }

    for (node, size) in user_data_sizes {
        if *size > crate::render::NOVA_USER_DATA_LIMIT {
            problems.push(problem(
                format!(
                    "{node}'s user-data is {size} bytes of base64; Nova takes at most {}",
                    crate::render::NOVA_USER_DATA_LIMIT
                ),
                "run `up --gzip` (cloud-init inflates it), about 3x smaller",
            ));
        }
    }

    Ok(if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    })
}

fn network_by_name(api: &Api, name: &str) -> Result<Result<neutron::Network, Problem>, ApiError> {
    let mut found = neutron::networks_named(api, name)?;
    if found.is_empty()
        && name.len() == 36
        && let Ok(net) = neutron::network(api, name)
    {
        found.push(net);
    }
    Ok(match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(problem(
            format!("no network named `{name}`"),
            "create it or name an existing one (`openstack network list`)",
        )),
        n => Err(problem(
            format!("{n} networks are named `{name}`"),
            "give the network's ID instead of its name",
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(dhcp: bool, gateway: Option<&str>, routes: usize, dns: usize) -> neutron::Subnet {
        neutron::Subnet {
            id: "id".into(),
            name: "admin-subnet".into(),
            network_id: "net".into(),
            cidr: "192.168.50.0/24".into(),
            enable_dhcp: dhcp,
            gateway_ip: gateway.map(str::to_string),
            host_routes: (0..routes)
                .map(|i| neutron::HostRoute {
                    destination: format!("10.{i}.0.0/16"),
                    nexthop: "192.168.50.1".into(),
                })
                .collect(),
            dns_nameservers: (0..dns).map(|i| format!("192.168.50.{}", i + 2)).collect(),
        }
    }

    #[test]
    fn a_dhcp_admin_subnet_with_a_gateway_is_fine() {
        // Neutron's default subnet: the node's DHCP override drops gateway and DNS.
        assert!(admin_subnet_problems(&subnet(true, Some("192.168.50.1"), 1, 1), true).is_empty());
        assert!(admin_subnet_problems(&subnet(true, Some("192.168.50.1"), 0, 0), false).is_empty());
    }

    #[test]
    fn static_ports_refuse_what_no_override_can_remove() {
        let p = admin_subnet_problems(&subnet(false, Some("192.168.50.1"), 2, 1), false);
        let text: Vec<_> = p
            .iter()
            .map(|p| format!("{} | {}", p.what, p.hint))
            .collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        assert!(
            text[0].contains("gateway 192.168.50.1")
                && text[0].contains("--gateway none admin-subnet")
        );
        assert!(text[1].contains("2 host route(s)") && text[1].contains("--no-host-route"));
        assert!(text[2].contains("DNS servers") && text[2].contains("--no-dns-nameservers"));
        assert!(admin_subnet_problems(&subnet(false, None, 0, 0), false).is_empty());
        assert!(admin_subnet_problems(&subnet(false, Some(""), 0, 0), false).is_empty());
    }

    #[test]
    fn dhcp_wanted_on_a_subnet_without_dhcp() {
        let p = admin_subnet_problems(&subnet(false, None, 0, 0), true);
        assert_eq!(p.len(), 1);
        assert!(p[0].what.contains("DHCP disabled"), "{p:?}");
    }
}
