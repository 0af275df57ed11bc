//! Neutron v2.0 calls `up` and `down` need: networks, subnets, extensions, quotas, security
//! groups and rules, ports (created in bulk) and floating IPs, tags set after create (Neutron
//! before 2023.2 rejects `tags` in a POST body). Opaque to Kubernetes.

use super::api::{Api, ApiError, Service, field};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(rename = "router:external", default)]
    pub external: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub cidr: String,
    #[serde(default)]
    pub enable_dhcp: bool,
    #[serde(default)]
    pub gateway_ip: Option<String>,
    #[serde(default)]
    pub host_routes: Vec<HostRoute>,
    #[serde(default)]
    pub dns_nameservers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct HostRoute {
    pub destination: String,
    pub nexthop: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AddressPair {
    pub ip_address: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub mac_address: String,
    #[serde(default)]
    pub fixed_ips: Vec<FixedIp>,
    #[serde(default)]
    pub allowed_address_pairs: Vec<AddressPair>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub device_id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u16>,
    pub port_range_max: Option<u16>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub security_group_rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FloatingIp {
    pub id: String,
    pub floating_ip_address: String,
    pub floating_network_id: String,
    pub port_id: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Limit and use of one quota resource (`-1` = unlimited).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct QuotaUse {
    pub limit: i64,
    pub used: i64,
    #[serde(default)]
    pub reserved: i64,
}

/// Which objects of a collection to list.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Carrying this tag.
    Tag(&'a str),
    /// With exactly this description (k8sgen marks everything it creates this way, so an
    /// object whose tagging was interrupted is still found).
    Description(&'a str),
    /// On this network (ports).
    Network(&'a str),
}

impl Filter<'_> {
    fn query(self) -> String {
        let (name, value) = match self {
            Filter::Tag(v) => ("tags", v),
            Filter::Description(v) => ("description", v),
            Filter::Network(v) => ("network_id", v),
        };
        format!("{name}={}", q(value))
    }
}

/// GET `/{collection}?{filter}` and the list under `key`.
fn list<T: DeserializeOwned>(
    api: &Api,
    collection: &str,
    key: &str,
    filter: Filter,
) -> Result<Vec<T>, ApiError> {
    let path = format!("/{collection}?{}", filter.query());
    field(api.get(Service::Network, &path)?, key, &path)
}

pub fn ports(api: &Api, filter: Filter) -> Result<Vec<Port>, ApiError> {
    list(api, "ports", "ports", filter)
}

pub fn security_groups(api: &Api, filter: Filter) -> Result<Vec<SecurityGroup>, ApiError> {
    list(api, "security-groups", "security_groups", filter)
}

pub fn floating_ips(api: &Api, filter: Filter) -> Result<Vec<FloatingIp>, ApiError> {
    list(api, "floatingips", "floatingips", filter)
}

/// Percent-encode one query value.
pub fn q(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn networks_named(api: &Api, name: &str) -> Result<Vec<Network>, ApiError> {
    let path = format!("/networks?name={}", q(name));
    field(api.get(Service::Network, &path)?, "networks", &path)
}

pub fn network(api: &Api, id: &str) -> Result<Network, ApiError> {
    let path = format!("/networks/{id}");
    field(api.get(Service::Network, &path)?, "network", &path)
}

pub fn subnets_of(api: &Api, network_id: &str) -> Result<Vec<Subnet>, ApiError> {
    let path = format!("/subnets?network_id={}", q(network_id));
    field(api.get(Service::Network, &path)?, "subnets", &path)
}

/// The aliases of the extensions this Neutron offers.
pub fn extensions(api: &Api) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Ext {
        alias: String,
    }
    let exts: Vec<Ext> = field(
        api.get(Service::Network, "/extensions")?,
        "extensions",
        "/extensions",
    )?;
    Ok(exts.into_iter().map(|e| e.alias).collect())
}

/// Per resource (`port`, `security_group`, ...) limit and use in a project.
pub fn quota_details(api: &Api, project_id: &str) -> Result<BTreeMap<String, QuotaUse>, ApiError> {
    let path = format!("/quotas/{project_id}/details");
    field(api.get(Service::Network, &path)?, "quota", &path)
}

/// Create many ports in one request (ML2 creates all or none).
pub fn create_ports(api: &Api, ports: &[Value]) -> Result<Vec<Port>, ApiError> {
    let body = json!({ "ports": ports });
    field(
        api.create(Service::Network, "/ports", &body)?,
        "ports",
        "/ports",
    )
}

/// Replace the tags of a port, security group or floating IP (`kind` is the URL collection).
pub fn set_tags(api: &Api, kind: &str, id: &str, tags: &[String]) -> Result<(), ApiError> {
    api.put(
        Service::Network,
        &format!("/{kind}/{id}/tags"),
        &json!({ "tags": tags }),
    )?;
    Ok(())
}

pub fn create_security_group(
    api: &Api,
    name: &str,
    description: &str,
) -> Result<SecurityGroup, ApiError> {
    let body = json!({"security_group": {"name": name, "description": description}});
    field(
        api.create(Service::Network, "/security-groups", &body)?,
        "security_group",
        "/security-groups",
    )
}

/// Create rules in one request.
pub fn create_rules(api: &Api, rules: &[Value]) -> Result<Vec<Rule>, ApiError> {
    let body = json!({ "security_group_rules": rules });
    field(
        api.create(Service::Network, "/security-group-rules", &body)?,
        "security_group_rules",
        "/security-group-rules",
    )
}

pub fn create_floating_ip(
    api: &Api,
    network_id: &str,
    port_id: &str,
    description: &str,
) -> Result<FloatingIp, ApiError> {
    let body = json!({"floatingip": {
        "floating_network_id": network_id, "port_id": port_id, "description": description,
    }});
    field(
        api.create(Service::Network, "/floatingips", &body)?,
        "floatingip",
        "/floatingips",
    )
}

/// Delete `/{kind}/{id}`; `Ok(false)` when it was already gone.
pub fn delete(api: &Api, kind: &str, id: &str) -> Result<bool, ApiError> {
    api.delete(Service::Network, &format!("/{kind}/{id}"))
}
