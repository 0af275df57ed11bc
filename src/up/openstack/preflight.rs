//! Pre-flight: before `up` creates anything, check that the cloud has what the plan names
//! (image, flavors, networks, subnet, key pair, external network), the Neutron extensions
//! `up` relies on, room in the quotas for what is still missing, and that every node's
//! user-data fits Nova's limit. Every problem is collected and reported with what to change;
//! only a cloud that does not answer ends the check early (its error, not a problem). One
//! method per section over one `Check`. It must not create or change anything in the cloud.

mod admin_subnet;
mod quota;

use super::UpError;
use super::cloud::Inventory;
use super::design;
use crate::plan::Plan;
use crate::providers::openstack::api::{Api, ApiError};
use crate::providers::openstack::neutron;
use crate::providers::openstack::nova;
use std::collections::BTreeMap;

pub use admin_subnet::admin_subnet_problems;
pub use quota::{Needs, needs};

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

impl Problem {
    fn new(what: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem {
            what: what.into(),
            hint: hint.into(),
        }
    }
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

/// Check everything: the IDs for the creates that follow, or every problem found
/// (`UpError::Preflight`), or the first error from a cloud that did not answer.
pub fn check(
    api: &Api,
    project_id: &str,
    plan: &Plan,
    inventory: &Inventory,
    user_data_sizes: &[(String, usize)],
) -> Result<Resolved, UpError> {
    let mut c = Check {
        api,
        plan,
        inventory,
        problems: Vec::new(),
        resolved: Resolved::default(),
    };
    c.compute_microversion()?;
    c.image()?;
    let flavors = c.flavors()?;
    c.cluster_network()?;
    c.admin_network()?;
    c.floating_network()?;
    c.key_pair()?;
    c.extensions()?;
    c.taken_addresses()?;
    let need = needs(plan, inventory, &flavors);
    c.problems
        .extend(quota::nova_room(&nova::limits(api)?, &need));
    c.problems.extend(quota::neutron_room(
        neutron::quota_details(api, project_id),
        &need,
    )?);
    c.user_data_sizes(user_data_sizes);
    if c.problems.is_empty() {
        Ok(c.resolved)
    } else {
        Err(UpError::Preflight(c.problems))
    }
}

/// One pre-flight run: each section reads what it needs from the cloud, records the IDs it
/// resolved and collects its problems; only a cloud that fails to answer ends the run early.
struct Check<'a> {
    api: &'a Api,
    plan: &'a Plan,
    inventory: &'a Inventory,
    problems: Vec<Problem>,
    resolved: Resolved,
}

impl Check<'_> {
    fn problem(&mut self, what: impl Into<String>, hint: impl Into<String>) {
        self.problems.push(Problem::new(what, hint));
    }

    fn compute_microversion(&mut self) -> Result<(), ApiError> {
        let version = nova::max_microversion(self.api)?;
        let (major, minor) = version.split_once('.').unwrap_or(("2", "1"));
        if major == "2" && minor.parse::<u32>().unwrap_or(0) < 64 {
            self.problem(
                format!("Nova offers compute microversions up to {version}; up needs 2.64"),
                "this cloud's Nova predates Rocky; render the user-data and create servers by hand",
            );
        }
        Ok(())
    }

    /// The image, by name or by ID.
    fn image(&mut self) -> Result<(), ApiError> {
        let name = &self.plan.image;
        let images = nova::images_named(self.api, name)?;
        match images.as_slice() {
            [one] if one.status == "active" => self.resolved.image_id = one.id.clone(),
            [one] => self.problem(
                format!("image `{name}` is {}, not active", one.status),
                "wait for the upload to finish or pick another image in `nodes.image`",
            ),
            [] => self.problem(
                format!("no image named `{name}`"),
                "upload it (`openstack image create`) or set `nodes.image` to an existing name",
            ),
            several => self.problem(
                format!("{} images are named `{name}`", several.len()),
                "rename all but one, or give a unique name in `nodes.image`",
            ),
        }
        Ok(())
    }

    /// Every flavor of the cloud by name (the quota sums need their sizes).
    fn flavors(&mut self) -> Result<BTreeMap<String, nova::Flavor>, ApiError> {
        let flavors: BTreeMap<String, nova::Flavor> = nova::flavors(self.api)?
            .into_iter()
            .map(|f| (f.name.clone(), f))
            .collect();
        let wanted: std::collections::BTreeSet<&str> =
            self.plan.nodes.iter().map(|n| n.flavor.as_str()).collect();
        for name in wanted {
            match flavors.get(name) {
                Some(f) => {
                    self.resolved.flavor_ids.insert(name.into(), f.id.clone());
                }
                None => self.problem(
                    format!("no flavor named `{name}`"),
                    format!(
                        "pick one of: {}",
                        flavors.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        Ok(flavors)
    }

    /// The cluster network and its subnet, whose CIDR must be the plan's.
    fn cluster_network(&mut self) -> Result<(), ApiError> {
        let os = &self.plan.openstack;
        let Some(net) = self.network_by_name(&os.internal_network)? else {
            return Ok(());
        };
        self.resolved.cluster_network_id = net.id.clone();
        let subnets = neutron::subnets_of(self.api, &net.id)?;
        let wanted = &os.internal_subnet;
        match subnets
            .iter()
            .find(|s| &s.name == wanted || &s.id == wanted)
        {
            Some(s) if s.cidr == os.cluster_cidr.to_string() => {
                self.resolved.cluster_subnet_id = s.id.clone()
            }
            Some(s) => self.problem(
                format!(
                    "subnet `{}` is {}, but network.cluster.cidr says {}",
                    s.name, s.cidr, os.cluster_cidr
                ),
                "make network.cluster.cidr match the subnet: node addresses come from it",
            ),
            None => self.problem(
                format!("network `{}` has no subnet `{wanted}`", net.name),
                format!(
                    "its subnets: {}",
                    subnets
                        .iter()
                        .map(|s| format!("{} ({})", s.name, s.cidr))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
        Ok(())
    }

    /// The admin network, when the plan has an admin NIC, and its subnet by CIDR.
    fn admin_network(&mut self) -> Result<(), ApiError> {
        let Some(admin) = &self.plan.admin_nic else {
            return Ok(());
        };
        let Some(net) = self.network_by_name(&admin.network)? else {
            return Ok(());
        };
        self.resolved.admin_network_id = Some(net.id.clone());
        let subnets = neutron::subnets_of(self.api, &net.id)?;
        match subnets.iter().find(|s| s.cidr == admin.cidr.to_string()) {
            Some(s) => {
                self.resolved.admin_subnet_id = Some(s.id.clone());
                self.problems.extend(admin_subnet_problems(s, admin.dhcp));
            }
            None => self.problem(
                format!(
                    "network `{}` has no subnet with CIDR {}",
                    net.name, admin.cidr
                ),
                "make network.admin.cidr match the admin network's subnet",
            ),
        }
        Ok(())
    }

    /// The external network the API's floating IP comes from, when the plan wants one.
    fn floating_network(&mut self) -> Result<(), ApiError> {
        let os = &self.plan.openstack;
        if !os.api_floating_ip {
            return Ok(());
        }
        let name = os.servers.floating_network.clone().unwrap_or_default();
        match self.network_by_name(&name)? {
            Some(net) if net.external => self.resolved.floating_network_id = Some(net.id),
            Some(_) => self.problem(
                format!("network `{name}` is not external"),
                "floatingNetwork must name an external network (`openstack network list --external`)",
            ),
            None => {}
        }
        Ok(())
    }

    fn key_pair(&mut self) -> Result<(), ApiError> {
        if let Some(key) = &self.plan.openstack.servers.key_pair
            && !nova::keypair_exists(self.api, key)?
        {
            self.problem(
                format!("no key pair named `{key}`"),
                "create it (`openstack keypair create --public-key FILE NAME`) or remove cloud.openstack.servers.keyPair",
            );
        }
        Ok(())
    }

    fn extensions(&mut self) -> Result<(), ApiError> {
        let extensions = neutron::extensions(self.api)?;
        for (alias, why) in REQUIRED_EXTENSIONS {
            if !extensions.iter().any(|e| e == alias) {
                self.problem(
                    format!("Neutron lacks the `{alias}` extension ({why})"),
                    "ask the cloud's operators to enable it; up cannot work around it",
                );
            }
        }
        Ok(())
    }

    /// Planned fixed IPs held by ports that are not this cluster's.
    fn taken_addresses(&mut self) -> Result<(), ApiError> {
        if self.resolved.cluster_network_id.is_empty() {
            return Ok(());
        }
        let network = neutron::Filter::Network(&self.resolved.cluster_network_id);
        let taken = neutron::ports(self.api, network)?;
        let marker = design::marker(&self.plan.cluster_name);
        for node in &self.plan.nodes {
            let ip = node.address.to_string();
            let ours = design::port_name(&node.name, design::Nic::Cluster);
            let theirs = taken.iter().find(|p| {
                // A port of this cluster by name and marker is ours even if the inventory
                // missed it (a create still landing from an interrupted run).
                let ours_by_marker = p.name == ours && p.description == marker;
                p.fixed_ips.iter().any(|f| f.ip_address == ip)
                    && !ours_by_marker
                    && self.inventory.ports.get(&ours).is_none_or(|o| o.id != p.id)
            });
            if let Some(p) = theirs {
                self.problems.push(Problem::new(
                    format!("{ip}, planned for {}, is taken by port `{}` ({})", node.name, p.name, p.id),
                    "free the address or move the nodes (controlPlane.firstAddress / workers[].firstAddress)",
                ));
            }
        }
        Ok(())
    }

    fn user_data_sizes(&mut self, sizes: &[(String, usize)]) {
        let limit = crate::render::NOVA_USER_DATA_LIMIT;
        for (node, size) in sizes.iter().filter(|(_, size)| *size > limit) {
            self.problem(
                format!("{node}'s user-data is {size} bytes of base64; Nova takes at most {limit}"),
                "run `up --gzip` (cloud-init inflates it), about 3x smaller",
            );
        }
    }

    /// The one network by that name (or ID); none, or several, is a problem.
    fn network_by_name(&mut self, name: &str) -> Result<Option<neutron::Network>, ApiError> {
        let mut found = neutron::networks_named(self.api, name)?;
        if found.is_empty()
            && name.len() == 36
            && let Ok(net) = neutron::network(self.api, name)
        {
            found.push(net);
        }
        match found.len() {
            1 => return Ok(found.pop()),
            0 => self.problem(
                format!("no network named `{name}`"),
                "create it or name an existing one (`openstack network list`)",
            ),
            n => self.problem(
                format!("{n} networks are named `{name}`"),
                "give the network's ID instead of its name",
            ),
        }
        Ok(None)
    }
}
