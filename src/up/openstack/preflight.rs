//! Pre-flight: before `up` creates anything, check that the cloud has what the plan names
//! (image, flavors, networks, subnet, key pair, external network), that the image fits each
//! flavor's disk or the root volume (and Cinder is there for one), that the networks are the
//! project's own, the Neutron extensions `up` relies on, room in the quotas for what is still
//! missing, and that every node's user-data fits Nova's limit. Every problem is collected and
//! reported with what to change; only a cloud that does not answer ends the check early (its
//! error, not a problem). One method per section over one `Check`. It must not create or
//! change anything in the cloud.

mod admin_subnet;
mod disks;
mod quota;

use super::UpError;
use super::cloud::Inventory;
use super::design;
use crate::plan::Plan;
use crate::providers::openstack::api::{Api, ApiError};
use crate::providers::openstack::cinder;
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
    /// The network's ports default to port security off, so `up` asks for it.
    pub cluster_port_security_off: bool,
    pub admin_port_security_off: bool,
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
    user_data_sizes: &[(String, usize, bool)],
) -> Result<Resolved, UpError> {
    let mut c = Check {
        api,
        project_id,
        plan,
        inventory,
        problems: Vec::new(),
        resolved: Resolved::default(),
    };
    c.compute_microversion()?;
    let image = c.image()?;
    let flavors = c.flavors()?;
    if let Some(image) = &image {
        c.disks(&flavors, image);
    }
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
    c.volumes(&need)?;
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
    /// The token's project, owner of what `up` creates.
    project_id: &'a str,
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
        let minor = if major == "2" {
            minor.parse::<u32>().unwrap_or(0)
        } else {
            u32::MAX
        };
        if minor < 64 {
            self.problem(
                format!("Nova offers compute microversions up to {version}; up needs 2.64"),
                "this cloud's Nova predates Rocky; render the user-data and create servers by hand",
            );
        } else if minor < 67 && self.root_volume().is_some_and(|v| v.volume_type.is_some()) {
            self.problem(
                format!(
                    "Nova offers compute microversions up to {version}; a root volume type needs {}",
                    crate::providers::openstack::api::VOLUME_TYPE_MICROVERSION
                ),
                "remove cloud.openstack.servers.rootVolume.type: the volumes get Cinder's default type",
            );
        }
        Ok(())
    }

    fn root_volume(&self) -> Option<&crate::spec::RootVolume> {
        self.plan.openstack.servers.root_volume.as_ref()
    }

    /// The image, by ID or by name, as `openstack server create --image` takes it: an ID
    /// first (Glance IDs are UUIDs, and a name filter never matches one), then the name.
    /// `None` when it is missing or unusable (a problem).
    fn image(&mut self) -> Result<Option<nova::Image>, ApiError> {
        let name = &self.plan.image;
        let by_id = match looks_like_uuid(name) {
            true => nova::image_by_id(self.api, name)?,
            false => None,
        };
        let images = match by_id {
            Some(image) => vec![image],
            None => nova::images_named(self.api, name)?,
        };
        match images.as_slice() {
            [one] if one.status == "active" => {
                self.resolved.image_id = one.id.clone();
                return Ok(Some(one.clone()));
            }
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
        Ok(None)
    }

    /// Each wanted flavor against the image: its disk, or the root volume replacing it.
    fn disks(&mut self, flavors: &BTreeMap<String, nova::Flavor>, image: &nova::Image) {
        let root = self.plan.openstack.servers.root_volume.as_ref();
        let wanted: std::collections::BTreeSet<&str> =
            self.plan.nodes.iter().map(|n| n.flavor.as_str()).collect();
        for flavor in wanted.into_iter().filter_map(|name| flavors.get(name)) {
            let problems = disks::disk_problems(flavor, image, root);
            self.problems.extend(problems);
        }
    }

    /// With a root volume: Cinder in the catalog, and room in its quotas. One call, and none
    /// without a root volume.
    fn volumes(&mut self, need: &Needs) -> Result<(), ApiError> {
        let Some(volume) = self.root_volume().cloned() else {
            return Ok(());
        };
        if self.api.endpoints.block_storage.is_none() {
            self.problem(
                "cloud.openstack.servers.rootVolume asks for volumes, but the catalog has no Cinder (`block-storage` or `volumev3`) endpoint",
                "remove rootVolume and pick a flavor with a disk, or ask the cloud's operators which region offers volumes",
            );
            return Ok(());
        }
        let quota = cinder::quota_usage(self.api, self.project_id);
        let problems = quota::cinder_room(quota, need, &volume)?;
        self.problems.extend(problems);
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
        self.resolved.cluster_port_security_off = net.port_security_enabled == Some(false);
        self.owned("network.cluster.network", &net);
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

    /// A network of another project (shared, or a provider network) takes ports from us, but
    /// not with fixed IPs, port security or address pairs, which `up` sets: Neutron leaves
    /// those to the network's owner and admins (neutron/conf/policies/port.py,
    /// `ADMIN_OR_NET_OWNER_MEMBER`).
    fn owned(&mut self, field: &str, net: &neutron::Network) {
        if net.project_id.is_empty()
            || self.project_id.is_empty()
            || net.project_id == self.project_id
        {
            return;
        }
        self.problem(
            format!(
                "network `{}` belongs to project {}{}, not to this project ({}): Neutron leaves fixed IPs, port security and address pairs on its ports to its owner and cloud admins, and `up` sets all three",
                net.name,
                net.project_id,
                if net.shared { " (shared)" } else { "" },
                self.project_id
            ),
            format!("create a network and subnet in this project (`openstack network create`, `openstack subnet create`) and name them in {field}"),
        );
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
        self.resolved.admin_port_security_off = net.port_security_enabled == Some(false);
        self.owned("network.admin.network", &net);
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
        let marker = design::marker(&self.plan.cluster_name, &design::id_of(self.plan));
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

    /// `sizes`: node, base64 length, gzipped.
    fn user_data_sizes(&mut self, sizes: &[(String, usize, bool)]) {
        let limit = crate::render::NOVA_USER_DATA_LIMIT;
        let ca_file = self.plan.openstack.ca_file.is_some();
        for (node, size, gzipped) in sizes.iter().filter(|(_, size, _)| *size > limit) {
            self.problem(
                format!("{node}'s user-data is {size} bytes of base64; Nova takes at most {limit}"),
                crate::render::over_limit_hint(*gzipped, ca_file),
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

/// `8-4-4-4-12` hex digits, the form of a Glance image ID.
fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::looks_like_uuid;

    #[test]
    fn glance_ids_are_told_from_names() {
        assert!(looks_like_uuid("0f3c9a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
        assert!(looks_like_uuid("0F3C9A9E-1B2C-4D5E-8F90-A1B2C3D4E5F6"));
        for name in [
            "ubuntu-24.04",
            "0f3c9a9e-1b2c-4d5e-8f90-a1b2c3d4e5f",
            "0f3c9a9e1b2c4d5e8f90a1b2c3d4e5f6",
            "0f3c9a9e-1b2c-4d5e-8f90-a1b2c3d4e5fg",
            "",
        ] {
            assert!(!looks_like_uuid(name), "{name}");
        }
    }
}
