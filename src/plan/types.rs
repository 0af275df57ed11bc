//! The plan's data types: everything `plan::plan` resolves, serializable for
//! `k8sgen plan --output json`. No logic beyond small accessors.

pub use crate::catalog::UserDataFormat;
use crate::catalog::{BootStep, KubeVersion, Os};
use crate::pki::Secret;
use crate::spec::TokenTtl;
use ipnet::Ipv4Net;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// What a node does in the cluster. The init master is the first control-plane node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Init,
    ControlPlane,
    Worker,
}

impl Role {
    pub fn is_master(self) -> bool {
        self != Role::Worker
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Init => "init",
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePlan {
    /// Nova server name = Kubernetes node name = hostname.
    pub name: String,
    pub role: Role,
    pub pool: String,
    pub flavor: String,
    /// The node IP on the cluster network (kubelet `node-ip`, etcd and API advertise address).
    pub address: Ipv4Addr,
    /// Static admin-network address with prefix, when the admin NIC is static.
    pub admin_address: Option<Ipv4Net>,
    /// The admin port's MAC, when known (`up` learns it from Neutron).
    pub admin_mac: Option<String>,
    /// Names in this node's API server certificate (masters; informational).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_server_sans: Vec<String>,
}

/// What differs between operating systems, resolved once so bundles only read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    pub user_data_format: UserDataFormat,
    /// Flatcar: read-only `/usr`, no package manager, systemd-networkd, containerd shipped.
    pub flatcar: bool,
    /// Where binaries k8sgen downloads go (etcd everywhere; Kubernetes too on Flatcar).
    pub bin_dir: String,
    pub script_path: String,
}

/// A pinned download the packages step fetches and checks (Flatcar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Download {
    pub name: String,
    pub url: String,
    pub sha256: String,
}

/// The container runtime of Ubuntu and Debian nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlan {
    /// In words, for `plan`.
    pub source: String,
    pub containerd_version: String,
    pub containerd: Download,
    pub runc: Download,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdPlan {
    pub version: String,
    pub tarball_url: String,
    pub tarball_sha256: String,
    pub heartbeat_interval_ms: u32,
    pub election_timeout_ms: u32,
    /// `name=https://ip:2380,…` over all masters.
    pub initial_cluster: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminNicPlan {
    pub network: String,
    pub cidr: Ipv4Net,
    pub dhcp: bool,
    /// The guest's name for the NIC when the spec gives one (else found at boot).
    pub interface: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerPlan {
    pub floating_network_id: String,
    pub subnet_id: String,
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenStackPlan {
    pub cloud: String,
    pub auth_url: String,
    pub region: String,
    pub internal_network: String,
    pub internal_subnet: String,
    pub cluster_cidr: Ipv4Net,
    /// `up` puts a floating IP on the init master and into the API certificate and kubeconfig.
    #[serde(rename = "apiFloatingIP")]
    pub api_floating_ip: bool,
    pub servers: crate::spec::Servers,
    pub credential_id_from: String,
    pub credential_secret_from: String,
    pub load_balancer: Option<LoadBalancerPlan>,
    /// The spec's `caFile`, as written: the masters get its certificates for OCCM.
    pub ca_file: Option<String>,
    /// Cinder CSI and its StorageClass (`cloud.openstack.blockStorage`).
    pub block_storage: crate::spec::BlockStorage,
    /// Those certificates as PEM (`spec::CaBundle`); shown by `caFile` alone.
    #[serde(skip)]
    pub ca_pem: Option<String>,
    /// Read from the environment at plan time; never serialized.
    #[serde(skip)]
    pub credential_id: Option<Secret>,
    #[serde(skip)]
    pub credential_secret: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub cluster_name: String,
    pub kubernetes_version: KubeVersion,
    /// pkgs.k8s.io package version as an apt pattern, e.g. `1.36.4-*` (highest revision).
    pub package_version: String,
    /// pkgs.k8s.io repository minor, e.g. `v1.36`.
    pub package_minor: String,
    /// The apt repository of that minor, e.g. `https://pkgs.k8s.io/core:/stable:/v1.36/deb/`.
    pub package_repository: String,
    /// Its armored signing key when the spec gives one (else fetched from the repository).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_key: Option<String>,
    pub kubeadm_api_version: String,
    pub key_algorithm: String,
    pub os: Os,
    pub image: String,
    pub platform: Platform,
    /// Pinned binaries for OSes without packages (empty on Ubuntu/Debian).
    pub downloads: Vec<Download>,
    /// Where Ubuntu and Debian nodes get containerd; none on Flatcar (its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimePlan>,
    /// Image of the node-local API load balancer where no haproxy package exists.
    pub haproxy_image: String,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    pub dns_domain: String,
    pub cluster_dns: Ipv4Addr,
    /// Where every node's kubelet and add-ons reach the API: the node-local load balancer.
    pub control_plane_endpoint: String,
    pub api_load_balancer_port: u16,
    pub extra_sans: Vec<String>,
    /// Server URL written into the operator's admin kubeconfig.
    pub admin_server: String,
    #[serde(rename = "caCertHash")]
    pub ca_cert_hash: String,
    pub token_id: String,
    #[serde(rename = "tokenTTL")]
    pub token_ttl: TokenTtl,
    pub schedulable_masters: bool,
    pub nodes: Vec<NodePlan>,
    pub etcd: EtcdPlan,
    pub kube_router_image: String,
    pub kube_router_bgp: bool,
    pub kube_router_network_policy: bool,
    pub occm_image: String,
    /// `registry.k8s.io/provider-os/cinder-csi-plugin` at the OCCM release's tag.
    pub cinder_csi_image: String,
    /// kubeadm's pause image for the version, which containerd must use as its sandbox
    /// image (containerd 1.6 defaults to pause 3.6, 1.7 to 3.8).
    pub pause_image: String,
    /// kubeadm's CoreDNS for the version (installed by the cluster-addons step).
    pub coredns_image: String,
    pub admin_nic: Option<AdminNicPlan>,
    pub openstack: OpenStackPlan,
    /// Proxy, trusted CAs and registry mirrors (`egress`); empty: direct access.
    #[serde(skip_serializing_if = "EgressPlan::is_empty")]
    pub egress: EgressPlan,
    pub stop_after: Option<BootStep>,
    /// Per role, what secret material its user-data carries.
    pub secrets_by_role: BTreeMap<Role, Vec<&'static str>>,
    /// False when something `up` needs is missing (e.g. an unset credential variable).
    pub deployable: bool,
    pub warnings: Vec<String>,
}

/// How the nodes reach what they download (`spec.egress`, resolved).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EgressPlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyPlan>,
    /// The CA certificates every node trusts, one PEM bundle per `trustedCAFiles` entry.
    #[serde(skip)]
    pub trusted_cas: Vec<String>,
    /// The spec's `trustedCAFiles`, as written.
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "trustedCAFiles")]
    pub trusted_ca_files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<RegistryPlan>,
    /// Ubuntu/Debian's archives from a mirror (cloud-init's `apt` module).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution_mirror: Option<AptMirror>,
}

/// The distribution's archive and its security archive, as apt takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AptMirror {
    pub primary: String,
    pub security: String,
}

impl EgressPlan {
    pub fn is_empty(&self) -> bool {
        *self == EgressPlan::default()
    }
}

/// The proxy for apt, downloads and containerd, and what bypasses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyPlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    /// Everything inside the cluster and the cloud's metadata service, then the spec's.
    pub no_proxy: Vec<String>,
}

/// One registry pulled through a mirror: containerd's `certs.d/<name>/hosts.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryPlan {
    pub name: String,
    pub mirror: String,
    /// The registry's own endpoint, tried after the mirror when `fallback`.
    pub upstream: String,
    pub fallback: bool,
    /// "username from VAR, password from VAR" when the mirror wants a login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_from: Option<String>,
    /// `Basic` authorization for the mirror (base64 of `user:password`), from the
    /// environment at plan time; never serialized.
    #[serde(skip)]
    pub authorization: Option<Secret>,
}
