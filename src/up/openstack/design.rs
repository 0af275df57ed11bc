//! What `up` wants to exist for a plan, as pure data: names, the cluster tag and description
//! marker, security-group rules, the provider's typed port, rule and server requests. No I/O, so every choice here
//! is unit-tested and `down`/`status` recognise exactly what `up` makes.

use crate::plan::{NodePlan, Plan, Role};
use crate::providers::openstack::neutron::{AddressPair, FixedIpRequest, PortRequest, RuleRequest};
use crate::providers::openstack::nova::{BlockDevice, PortAttachment, ServerRequest};
use crate::spec::AntiAffinity;

/// Tag on every server, port, security group and floating IP of the cluster, with
/// [`id_tag`]: this one finds every cluster of that name, the other tells which is this one.
pub fn cluster_tag(cluster: &str) -> String {
    format!("k8sgen-cluster={cluster}")
}

/// The cluster's ID: the first 12 hex digits of its CA's discovery hash (`sha256:<hex>`,
/// SHA-256 over the CA's public key, `Plan::ca_cert_hash`). Two clusters given the same
/// name (every profile's default is `demo`) have different CAs, so different IDs.
pub fn cluster_id(ca_cert_hash: &str) -> String {
    let hex = ca_cert_hash.strip_prefix("sha256:").unwrap_or(ca_cert_hash);
    hex.chars().take(12).collect()
}

/// The ID of `plan`'s cluster.
pub fn id_of(plan: &Plan) -> String {
    cluster_id(&plan.ca_cert_hash)
}

/// The second tag of every object of the cluster (Nova and Neutron take tags up to 60
/// characters: this one has 30).
pub fn id_tag(id: &str) -> String {
    format!("k8sgen-cluster-id={id}")
}

/// Both tags of the cluster's objects.
pub fn tags(cluster: &str, id: &str) -> Vec<String> {
    vec![cluster_tag(cluster), id_tag(id)]
}

/// Description of every Neutron object of the cluster: Neutron tags only after a create, so
/// an object whose tagging was interrupted is still recognised by this, ID included.
pub fn marker(cluster: &str, id: &str) -> String {
    format!("k8sgen cluster {cluster} id {id}")
}

/// The anti-affinity group of the masters (Nova server groups carry no tags, so the ID is in
/// the name).
pub fn server_group_name(cluster: &str, id: &str) -> String {
    format!("{cluster}-masters-{id}")
}

/// The prefix of every cluster's server-group name that goes by `cluster`.
pub fn server_group_prefix(cluster: &str) -> String {
    format!("{cluster}-masters")
}

pub fn server_group_policy(a: AntiAffinity) -> &'static str {
    match a {
        AntiAffinity::Hard => "anti-affinity",
        AntiAffinity::Soft => "soft-anti-affinity",
    }
}

/// A node's network interfaces, in the order the server gets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Nic {
    /// First NIC: node IP, default route, Kubernetes traffic.
    Cluster,
    /// Second NIC on the admin network.
    Admin,
}

impl Nic {
    pub fn suffix(self) -> &'static str {
        match self {
            Nic::Cluster => "cluster",
            Nic::Admin => "admin",
        }
    }
}

pub fn port_name(node: &str, nic: Nic) -> String {
    format!("{node}-{}", nic.suffix())
}

/// The NICs every node of this plan has.
pub fn nics(plan: &Plan) -> Vec<Nic> {
    if plan.admin_nic.is_some() {
        vec![Nic::Cluster, Nic::Admin]
    } else {
        vec![Nic::Cluster]
    }
}

/// The two security groups: every node's, and the masters' on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Node,
    Master,
}

impl Group {
    pub const ALL: [Group; 2] = [Group::Node, Group::Master];
    pub fn name(self, cluster: &str) -> String {
        match self {
            Group::Node => format!("{cluster}-node"),
            Group::Master => format!("{cluster}-master"),
        }
    }
}

/// Where a rule admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Remote {
    Any,
    Cidr(String),
    Group(Group),
}

/// One security-group rule as designed (Neutron adds nothing else but its two default
/// egress rules, which the design lists too, so "exactly these rules" can be checked).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleSpec {
    pub ingress: bool,
    pub ipv6: bool,
    /// `None`: any protocol. Otherwise Neutron's name or number (`tcp`, `icmp`, `4`).
    pub protocol: Option<&'static str>,
    pub ports: Option<(u16, u16)>,
    pub remote: Remote,
    pub why: &'static str,
}

fn ingress(
    protocol: Option<&'static str>,
    ports: Option<(u16, u16)>,
    remote: Remote,
    why: &'static str,
) -> RuleSpec {
    RuleSpec {
        ingress: true,
        ipv6: false,
        protocol,
        ports,
        remote,
        why,
    }
}

/// The rules of `group`: what this topology needs and nothing more.
pub fn rules(plan: &Plan, group: Group) -> Vec<RuleSpec> {
    let egress = |ipv6| RuleSpec {
        ingress: false,
        ipv6,
        protocol: None,
        ports: None,
        remote: Remote::Any,
        why: "Neutron's default egress rule",
    };
    let mut r = vec![egress(false), egress(true)];
    match group {
        Group::Node => node_rules(plan, &mut r),
        Group::Master => master_rules(&mut r),
    }
    r.sort();
    r
}

/// Every node's ingress: kubelet, pod traffic, kube-router, and what the spec opens.
fn node_rules(plan: &Plan, r: &mut Vec<RuleSpec>) {
    r.push(ingress(
        Some("icmp"),
        None,
        Remote::Any,
        "ping and path-MTU discovery",
    ));
    r.push(ingress(
        Some("tcp"),
        Some((10250, 10250)),
        Remote::Group(Group::Node),
        "kubelet API (logs, exec, metrics)",
    ));
    if plan.kube_router_bgp {
        r.push(ingress(
            Some("tcp"),
            Some((179, 179)),
            Remote::Group(Group::Node),
            "kube-router BGP between nodes",
        ));
        r.push(ingress(
            Some("4"),
            None,
            Remote::Group(Group::Node),
            "kube-router IP-in-IP tunnels across subnets",
        ));
    }
    r.push(ingress(
        None,
        None,
        Remote::Cidr(plan.pod_subnet.to_string()),
        "pod-to-pod traffic, routed without encapsulation inside the subnet",
    ));
    for cidr in &plan.openstack.servers.ssh_from {
        r.push(ingress(
            Some("tcp"),
            Some((22, 22)),
            Remote::Cidr(cidr.clone()),
            "SSH, as the spec asks",
        ));
    }
    if let Some(lb) = &plan.openstack.load_balancer {
        // Octavia's OVN provider keeps the client's address as the source of member traffic
        // (kubernetes-sigs/cluster-api-provider-openstack#2333), so its NodePorts must be
        // open to anywhere; amphorae connect from their address in the cluster's subnet.
        // UDP too: Services of type LoadBalancer may be UDP.
        let remote = if lb.provider == "ovn" {
            Remote::Any
        } else {
            Remote::Cidr(plan.openstack.cluster_cidr.to_string())
        };
        for protocol in ["tcp", "udp"] {
            r.push(ingress(
                Some(protocol),
                Some((30000, 32767)),
                remote.clone(),
                "NodePorts behind Octavia load balancers",
            ));
        }
    }
}

/// The masters' ingress on top: the API and etcd.
fn master_rules(r: &mut Vec<RuleSpec>) {
    r.push(ingress(
        Some("tcp"),
        Some((6443, 6443)),
        Remote::Any,
        "Kubernetes API",
    ));
    r.push(ingress(
        Some("tcp"),
        Some((2379, 2380)),
        Remote::Group(Group::Master),
        "etcd clients and peers between masters",
    ));
}

/// The Neutron request of a designed rule in group `group_id`.
pub fn rule_request(rule: &RuleSpec, group_id: &str, ids: &dyn Fn(Group) -> String) -> RuleRequest {
    let (remote_ip_prefix, remote_group_id) = match &rule.remote {
        Remote::Any => (None, None),
        Remote::Cidr(c) => (Some(c.clone()), None),
        Remote::Group(g) => (None, Some(ids(*g))),
    };
    RuleRequest {
        security_group_id: group_id.to_string(),
        direction: if rule.ingress { "ingress" } else { "egress" },
        ethertype: if rule.ipv6 { "IPv6" } else { "IPv4" },
        description: format!("{RULE_MARK}{}", rule.why),
        protocol: rule.protocol.map(str::to_string),
        port_range_min: rule.ports.map(|p| p.0),
        port_range_max: rule.ports.map(|p| p.1),
        remote_ip_prefix,
        remote_group_id,
    }
}

/// How the description of every rule k8sgen makes begins: `up` removes only rules that
/// carry it, and leaves an operator's own rules in the cluster's groups alone.
pub const RULE_MARK: &str = "k8sgen: ";

/// Whether k8sgen made `existing` (its description carries the mark).
pub fn is_ours(existing: &crate::providers::openstack::neutron::Rule) -> bool {
    existing
        .description
        .as_deref()
        .is_some_and(|d| d.starts_with(RULE_MARK))
}

/// The designed rule an existing Neutron rule is, if any (protocol names as Neutron returns
/// them; `0.0.0.0/0` is the same as no prefix).
pub fn matches(
    existing: &crate::providers::openstack::neutron::Rule,
    rule: &RuleSpec,
    ids: &dyn Fn(Group) -> String,
) -> bool {
    let prefix = existing
        .remote_ip_prefix
        .as_deref()
        .filter(|p| *p != "0.0.0.0/0" && *p != "::/0");
    let remote_ok = match &rule.remote {
        Remote::Any => prefix.is_none() && existing.remote_group_id.is_none(),
        Remote::Cidr(c) => prefix == Some(c.as_str()) && existing.remote_group_id.is_none(),
        Remote::Group(g) => {
            prefix.is_none() && existing.remote_group_id.as_deref() == Some(ids(*g).as_str())
        }
    };
    let protocol_ok = match (rule.protocol, existing.protocol.as_deref()) {
        (None, None) => true,
        (Some("4"), Some(p)) => p == "4" || p == "ipip",
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    let ports = existing.port_range_min.zip(existing.port_range_max);
    remote_ok
        && protocol_ok
        && (existing.direction == "ingress") == rule.ingress
        && (existing.ethertype == "IPv6") == rule.ipv6
        && ports == rule.ports
}

/// Security groups a node's NIC belongs to.
pub fn port_groups(node: &NodePlan, nic: Nic) -> Vec<Group> {
    match (nic, node.role.is_master()) {
        (Nic::Cluster, true) => vec![Group::Node, Group::Master],
        _ => vec![Group::Node],
    }
}

/// Where a port goes: its network and, for a fixed address, subnet.
pub struct PortPlace<'a> {
    pub network_id: &'a str,
    pub subnet_id: Option<&'a str>,
    /// The network's ports default to port security off: ask for it (security groups need
    /// it). Otherwise the field is left out: Neutron refuses it to anyone but the network's
    /// owner (neutron/conf/policies/port.py, `create_port:port_security_enabled`), as CAPO
    /// sends it only when set (pkg/cloud/services/networking/port.go).
    pub enable_port_security: bool,
}

/// The address pairs of a cluster NIC: kube-router routes pod subnets and service IPs
/// through it.
pub fn address_pairs(plan: &Plan) -> Vec<AddressPair> {
    [plan.pod_subnet.to_string(), plan.service_subnet.to_string()]
        .into_iter()
        .map(|ip_address| AddressPair { ip_address })
        .collect()
}

/// The Neutron request of one port. The cluster NIC carries the node IP the plan chose and
/// admits the pod and service CIDRs; the admin NIC gets the static address when the plan has
/// one, else Neutron's pick.
pub fn port_request(
    plan: &Plan,
    node: &NodePlan,
    nic: Nic,
    place: &PortPlace,
    groups: &dyn Fn(Group) -> String,
) -> PortRequest {
    let fixed = |ip: String| FixedIpRequest {
        subnet_id: place.subnet_id.map(str::to_string),
        ip_address: ip,
    };
    let (fixed_ips, allowed_address_pairs) = match nic {
        Nic::Cluster => (vec![fixed(node.address.to_string())], address_pairs(plan)),
        Nic::Admin => (
            node.admin_address
                .map(|a| fixed(a.addr().to_string()))
                .into_iter()
                .collect(),
            Vec::new(),
        ),
    };
    PortRequest {
        name: port_name(&node.name, nic),
        description: marker(&plan.cluster_name, &id_of(plan)),
        network_id: place.network_id.to_string(),
        port_security_enabled: place.enable_port_security.then_some(true),
        security_groups: port_groups(node, nic).into_iter().map(groups).collect(),
        fixed_ips,
        allowed_address_pairs,
    }
}

/// Image, flavor and key pair resolved by pre-flight.
pub struct ServerPlace<'a> {
    pub image_id: &'a str,
    pub flavor_id: &'a str,
    pub port_ids: Vec<String>,
    pub server_group_id: Option<&'a str>,
}

/// The Nova request of one node and the server group it joins (masters only).
pub fn server_request<'a>(
    plan: &Plan,
    node: &NodePlan,
    place: &ServerPlace<'a>,
    user_data: &[u8],
) -> (ServerRequest, Option<&'a str>) {
    let servers = &plan.openstack.servers;
    let metadata = [
        ("k8sgen-cluster", plan.cluster_name.as_str()),
        ("k8sgen-role", node.role.as_str()),
        ("k8sgen-pool", node.pool.as_str()),
    ];
    // A root volume carries the image; Nova then wants no `imageRef` beside it.
    let (image_ref, block_device_mapping_v2) = match &servers.root_volume {
        Some(volume) => (
            None,
            vec![BlockDevice::root_volume(
                place.image_id,
                volume.size,
                volume.volume_type.clone(),
            )],
        ),
        None => (Some(place.image_id.to_string()), Vec::new()),
    };
    let request = ServerRequest {
        name: node.name.clone(),
        image_ref,
        block_device_mapping_v2,
        flavor_ref: place.flavor_id.to_string(),
        networks: place
            .port_ids
            .iter()
            .map(|p| PortAttachment { port: p.clone() })
            .collect(),
        user_data: user_data.to_vec(),
        tags: tags(&plan.cluster_name, &id_of(plan)),
        metadata: metadata
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        key_name: servers.key_pair.clone(),
        config_drive: servers.config_drive,
    };
    let group = match node.role {
        Role::Init | Role::ControlPlane => place.server_group_id,
        Role::Worker => None,
    };
    (request, group)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// The plan of a built-in profile with the fixture secrets (also for pre-flight's tests).
    pub fn plan_of(profile: &str) -> Plan {
        let spec =
            crate::spec::load("p.yaml", crate::profiles::find(profile).unwrap().text).unwrap();
        let bundle = crate::pki::Secrets::from_yaml(
            "fixture",
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/secrets.yaml"
            ))
            .unwrap(),
        )
        .unwrap();
        crate::plan::plan(&spec, &bundle, &|_| None).unwrap()
    }

    #[test]
    fn masters_get_api_and_etcd_rules_nodes_the_rest() {
        let plan = plan_of("openstack-ha");
        let master: Vec<_> = rules(&plan, Group::Master)
            .into_iter()
            .filter(|r| r.ingress)
            .map(|r| (r.protocol, r.ports, r.remote))
            .collect();
        assert_eq!(
            master,
            [
                (
                    Some("tcp"),
                    Some((2379, 2380)),
                    Remote::Group(Group::Master)
                ),
                (Some("tcp"), Some((6443, 6443)), Remote::Any),
            ]
        );
        let node = rules(&plan, Group::Node);
        assert!(
            node.iter()
                .any(|r| r.protocol == Some("tcp") && r.ports == Some((179, 179)))
        );
        assert!(node.iter().any(|r| r.protocol == Some("4")));
        assert!(
            !node.iter().any(|r| r.ports == Some((22, 22))),
            "no SSH unless asked"
        );
    }

    #[test]
    fn cluster_port_has_the_planned_ip_and_pod_and_service_pairs() {
        let plan = plan_of("openstack-ha");
        let node = &plan.nodes[0];
        let mut place = PortPlace {
            network_id: "net",
            subnet_id: Some("sub"),
            enable_port_security: false,
        };
        let port = port_request(&plan, node, Nic::Cluster, &place, &|g| format!("sg-{g:?}"));
        let body = serde_json::to_value(&port).unwrap();
        assert_eq!(body["fixed_ips"][0]["ip_address"], node.address.to_string());
        assert_eq!(body["fixed_ips"][0]["subnet_id"], "sub");
        assert_eq!(
            body["allowed_address_pairs"][0]["ip_address"],
            "10.244.0.0/16"
        );
        assert_eq!(
            body["allowed_address_pairs"][1]["ip_address"],
            "10.96.0.0/12"
        );
        assert_eq!(body["security_groups"], json!(["sg-Node", "sg-Master"]));
        let id = cluster_id(&plan.ca_cert_hash);
        assert_eq!(body["description"], format!("k8sgen cluster demo id {id}"));
        assert!(
            body.get("port_security_enabled").is_none(),
            "left to the network's default unless that is off"
        );
        place.enable_port_security = true;
        let port = port_request(&plan, node, Nic::Cluster, &place, &|g| format!("sg-{g:?}"));
        let body = serde_json::to_value(&port).unwrap();
        assert_eq!(body["port_security_enabled"], true);
        let admin = port_request(&plan, node, Nic::Admin, &place, &|g| format!("sg-{g:?}"));
        let admin = serde_json::to_value(&admin).unwrap();
        assert!(admin.get("allowed_address_pairs").is_none());
        assert!(
            admin.get("fixed_ips").is_none(),
            "DHCP admin network: Neutron picks"
        );
    }

    #[test]
    fn only_masters_join_the_server_group() {
        let plan = plan_of("openstack-ha");
        let place = ServerPlace {
            image_id: "img",
            flavor_id: "fl",
            port_ids: vec!["p1".into(), "p2".into()],
            server_group_id: Some("g"),
        };
        let (server, group) = server_request(&plan, &plan.nodes[0], &place, b"ud");
        assert_eq!(group, Some("g"));
        let server = serde_json::to_value(&server).unwrap();
        let id = cluster_id(&plan.ca_cert_hash);
        assert_eq!(
            server["tags"],
            json!(["k8sgen-cluster=demo", format!("k8sgen-cluster-id={id}")])
        );
        assert_eq!(server["networks"], json!([{"port": "p1"}, {"port": "p2"}]));
        assert_eq!(
            server["metadata"]["k8sgen-role"],
            plan.nodes[0].role.as_str()
        );
        let worker = plan.nodes.iter().find(|n| n.role == Role::Worker).unwrap();
        assert_eq!(server_request(&plan, worker, &place, b"").1, None);
    }

    #[test]
    fn a_root_volume_moves_the_image_into_the_block_device_mapping() {
        let mut plan = plan_of("openstack-ha");
        let place = ServerPlace {
            image_id: "img",
            flavor_id: "fl",
            port_ids: vec!["p1".into()],
            server_group_id: None,
        };
        let (server, _) = server_request(&plan, &plan.nodes[0], &place, b"ud");
        let body = serde_json::to_value(&server).unwrap();
        assert_eq!(body["imageRef"], "img");
        assert!(body.get("block_device_mapping_v2").is_none());
        plan.openstack.servers.root_volume = Some(crate::spec::RootVolume {
            size: 30,
            volume_type: Some("ssd".into()),
            availability_zone: None,
        });
        // The body's shape is pinned in nova.rs; here only what the plan decides.
        let (server, _) = server_request(&plan, &plan.nodes[0], &place, b"ud");
        assert_eq!(server.image_ref, None);
        assert_eq!(
            server.block_device_mapping_v2,
            [crate::providers::openstack::nova::BlockDevice::root_volume(
                "img",
                30,
                Some("ssd".into())
            )]
        );
    }

    #[test]
    fn the_cluster_id_is_the_start_of_the_ca_hash_and_in_every_name() {
        let plan = plan_of("openstack-ha");
        let id = cluster_id(&plan.ca_cert_hash);
        assert_eq!(id.len(), 12);
        assert!(plan.ca_cert_hash.starts_with(&format!("sha256:{id}")));
        assert_eq!(cluster_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(id_tag("0123456789ab"), "k8sgen-cluster-id=0123456789ab");
        assert_eq!(
            tags("demo", "0123456789ab"),
            ["k8sgen-cluster=demo", "k8sgen-cluster-id=0123456789ab"]
        );
        assert_eq!(
            marker("demo", "0123456789ab"),
            "k8sgen cluster demo id 0123456789ab"
        );
        assert_eq!(
            server_group_name("demo", "0123456789ab"),
            "demo-masters-0123456789ab"
        );
        assert!(server_group_name("demo", "x").starts_with(&server_group_prefix("demo")));
        // Nova's and Neutron's tag limit.
        assert!(id_tag(&id).len() <= 60);
    }
}
