//! Neutron v2.0 calls `up` and `down` need: networks, subnets, extensions, quotas, security
//! groups and rules, ports (created in bulk) and floating IPs, tags set after create (Neutron
//! before 2023.2 rejects `tags` in a POST body). Opaque to Kubernetes.

use super::api::{Api, ApiError, Service, field};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(rename = "router:external", default)]
    pub external: bool,
    /// The owner; fixed IPs, port security and address pairs on its ports are the owner's
    /// (and admin's) alone.
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub shared: bool,
    /// The default of its ports (`port-security` extension); `None` without the extension.
    #[serde(default)]
    pub port_security_enabled: Option<bool>,
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
    #[serde(default)]
    pub project_id: String,
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
    #[serde(default)]
    pub description: Option<String>,
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
    #[serde(default)]
    pub project_id: String,
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
    #[serde(default)]
    pub project_id: String,
}

/// The Neutron collections k8sgen creates, tags and deletes, with their names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Port,
    SecurityGroup,
    SecurityGroupRule,
    FloatingIp,
}

impl Kind {
    /// The URL collection: `/ports`, `/security-groups`, ...
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Port => "ports",
            Kind::SecurityGroup => "security-groups",
            Kind::SecurityGroupRule => "security-group-rules",
            Kind::FloatingIp => "floatingips",
        }
    }

    /// The key of one object in a body: `port`, `security_group`, ...
    pub fn one(self) -> &'static str {
        match self {
            Kind::Port => "port",
            Kind::SecurityGroup => "security_group",
            Kind::SecurityGroupRule => "security_group_rule",
            Kind::FloatingIp => "floatingip",
        }
    }

    /// The key of a list of them in a body: `ports`, `security_groups`, ...
    pub fn many(self) -> &'static str {
        match self {
            Kind::Port => "ports",
            Kind::SecurityGroup => "security_groups",
            Kind::SecurityGroupRule => "security_group_rules",
            Kind::FloatingIp => "floatingips",
        }
    }
}

/// A security group to create (Neutron adds its two default egress rules).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SecurityGroupRequest {
    pub name: String,
    pub description: String,
}

/// A floating IP to create on `floating_network_id`, bound to `port_id`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FloatingIpRequest {
    pub floating_network_id: String,
    pub port_id: String,
    pub description: String,
}

/// A fixed address asked of Neutron; without a subnet Neutron picks the subnet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FixedIpRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    pub ip_address: String,
}

/// A port to create. Fields left empty are not sent, so Neutron's defaults apply.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PortRequest {
    pub name: String,
    pub description: String,
    pub network_id: String,
    /// Sent only when the network's default is off (owner-only field on shared networks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_security_enabled: Option<bool>,
    pub security_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed_ips: Vec<FixedIpRequest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_address_pairs: Vec<AddressPair>,
}

/// A security-group rule to create; `None` fields are not sent (any protocol, any port,
/// any remote).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleRequest {
    pub security_group_id: String,
    pub direction: &'static str,
    pub ethertype: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_range_min: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_range_max: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_group_id: Option<String>,
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
///
/// `Tag` and `Description` find a cluster's own objects, so they are limited to the token's
/// project: Neutron scopes a list to the caller's project only when the caller is not an
/// admin (neutron-lib `db/utils.py` `model_query_scope_is_project` is `not
/// context.is_admin`), and with an admin role a same-named cluster of another project would
/// otherwise be adopted and deleted. `Network` (addresses taken on a possibly shared
/// network) stays unscoped: other projects' ports there matter.
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
    /// The query string, limited to `project_id` (when not empty) for the cluster's own
    /// objects.
    fn query(self, project_id: &str) -> String {
        let (name, value, owned) = match self {
            Filter::Tag(v) => ("tags", v, true),
            Filter::Description(v) => ("description", v, true),
            Filter::Network(v) => ("network_id", v, false),
        };
        let mut query = format!("{name}={}", q(value));
        if owned && !project_id.is_empty() {
            query.push_str(&format!("&project_id={}", q(project_id)));
        }
        query
    }
}

/// GET `kind`'s collection, filtered.
fn list<T: DeserializeOwned>(api: &Api, kind: Kind, filter: Filter) -> Result<Vec<T>, ApiError> {
    let path = format!("/{}?{}", kind.collection(), filter.query(api.project_id()));
    field(api.get(Service::Network, &path)?, kind.many(), &path)
}

pub fn ports(api: &Api, filter: Filter) -> Result<Vec<Port>, ApiError> {
    list(api, Kind::Port, filter)
}

pub fn security_groups(api: &Api, filter: Filter) -> Result<Vec<SecurityGroup>, ApiError> {
    list(api, Kind::SecurityGroup, filter)
}

pub fn floating_ips(api: &Api, filter: Filter) -> Result<Vec<FloatingIp>, ApiError> {
    list(api, Kind::FloatingIp, filter)
}

/// Everything but RFC 3986's unreserved characters is escaped in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one query value.
pub fn q(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
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
pub fn create_ports(api: &Api, ports: &[PortRequest]) -> Result<Vec<Port>, ApiError> {
    create(
        api,
        Kind::Port,
        json!({ "ports": ports }),
        Kind::Port.many(),
    )
}

/// Create rules in one request.
pub fn create_rules(api: &Api, rules: &[RuleRequest]) -> Result<Vec<Rule>, ApiError> {
    let body = json!({ "security_group_rules": rules });
    create(
        api,
        Kind::SecurityGroupRule,
        body,
        Kind::SecurityGroupRule.many(),
    )
}

pub fn create_security_group(
    api: &Api,
    group: &SecurityGroupRequest,
) -> Result<SecurityGroup, ApiError> {
    let body = json!({ "security_group": group });
    create(api, Kind::SecurityGroup, body, Kind::SecurityGroup.one())
}

pub fn create_floating_ip(api: &Api, ip: &FloatingIpRequest) -> Result<FloatingIp, ApiError> {
    create(
        api,
        Kind::FloatingIp,
        json!({ "floatingip": ip }),
        Kind::FloatingIp.one(),
    )
}

/// POST `body` to `kind`'s collection; the answer under `key`.
fn create<T: DeserializeOwned>(
    api: &Api,
    kind: Kind,
    body: serde_json::Value,
    key: &str,
) -> Result<T, ApiError> {
    let path = format!("/{}", kind.collection());
    field(api.create(Service::Network, &path, &body)?, key, &path)
}

/// Replace the tags of a port, security group or floating IP.
pub fn set_tags(api: &Api, kind: Kind, id: &str, tags: &[String]) -> Result<(), ApiError> {
    let path = format!("/{}/{id}/tags", kind.collection());
    api.put(Service::Network, &path, &json!({ "tags": tags }))?;
    Ok(())
}

/// Set the address pairs a port admits traffic from.
pub fn set_address_pairs(api: &Api, port_id: &str, pairs: &[AddressPair]) -> Result<(), ApiError> {
    let body = json!({"port": {"allowed_address_pairs": pairs}});
    api.put(Service::Network, &format!("/ports/{port_id}"), &body)?;
    Ok(())
}

/// Move a floating IP to `port_id`.
pub fn associate_floating_ip(api: &Api, id: &str, port_id: &str) -> Result<(), ApiError> {
    let body = json!({"floatingip": {"port_id": port_id}});
    api.put(Service::Network, &format!("/floatingips/{id}"), &body)?;
    Ok(())
}

/// Delete one object; `Ok(false)` when it was already gone.
pub fn delete(api: &Api, kind: Kind, id: &str) -> Result<bool, ApiError> {
    api.delete(Service::Network, &format!("/{}/{id}", kind.collection()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_keep_only_unreserved_characters() {
        assert_eq!(q("k8sgen-cluster=demo"), "k8sgen-cluster%3Ddemo");
        assert_eq!(q("a b/c_d.e~é"), "a%20b%2Fc_d.e~%C3%A9");
        assert_eq!(Filter::Tag("x&y").query(""), "tags=x%26y");
    }

    #[test]
    fn own_objects_are_listed_in_the_token_project_only() {
        assert_eq!(Filter::Tag("t").query("p1"), "tags=t&project_id=p1");
        assert_eq!(
            Filter::Description("k8sgen cluster a").query("p1"),
            "description=k8sgen%20cluster%20a&project_id=p1"
        );
        // Addresses taken on a (maybe shared) network count whoever holds them.
        assert_eq!(Filter::Network("n").query("p1"), "network_id=n");
    }
}
