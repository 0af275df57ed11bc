//! The cluster spec as an operator writes it (`cluster.yaml`).
//!
//! Pure data: serde types with `deny_unknown_fields` and defaults, holding values as the
//! operator wrote them. Semantic checks, and parsing versions, CIDRs, addresses, the OS, the
//! token lifetime and step names into types, live in `spec::validate`; nothing here resolves
//! addresses or versions (that is `plan`'s job).

use serde::{Deserialize, Serialize};

/// Root of `cluster.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// DNS-1123 label; prefixes node and cloud resource names.
    pub name: String,
    pub kubernetes: Kubernetes,
    pub control_plane: ControlPlane,
    #[serde(default)]
    pub workers: Vec<WorkerPool>,
    pub nodes: Nodes,
    pub network: Network,
    #[serde(default)]
    pub cni: Cni,
    pub cloud: Cloud,
    /// How nodes reach what they download: a proxy, CAs to trust, registry mirrors.
    #[serde(default, skip_serializing_if = "Egress::is_empty")]
    pub egress: Egress,
    #[serde(default)]
    pub bootstrap: Bootstrap,
}

/// `egress`: for clouds that reach the internet only through a proxy (often one that re-signs
/// TLS) or not at all. Applied to apt, every download and containerd's image pulls; never to
/// traffic that stays inside the cluster (`plan` shows the computed `no_proxy`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Egress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Proxy>,
    /// PEM files of CA certificates every node trusts before it downloads anything (a
    /// TLS-intercepting proxy, a private mirror), relative to the spec file.
    #[serde(
        default,
        rename = "trustedCAFiles",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub trusted_ca_files: Vec<String>,
    /// The certificates of `trusted_ca_files`, once read; never part of the YAML.
    #[serde(skip)]
    pub trusted_cas: Vec<CaBundle>,
    /// Container registries by name as images name them (`docker.io`, `registry.k8s.io`,
    /// `ghcr.io`, `quay.io`, ...), each pulled through a mirror.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub registries: std::collections::BTreeMap<String, RegistryMirror>,
    /// Ubuntu/Debian: the distribution's own archive (haproxy, curl, iptables, their
    /// dependencies) from a mirror; cloud-init's `apt` module writes the sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_mirror: Option<DistributionMirror>,
}

/// `egress.distributionMirror`: both archives, as their URLs differ on Debian
/// (`deb.debian.org/debian`, `security.debian.org/debian-security`) and may on Ubuntu.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DistributionMirror {
    pub primary: String,
    pub security: String,
}

impl Egress {
    pub fn is_empty(&self) -> bool {
        *self == Egress::default()
    }
}

/// `egress.proxy`: `http://` (or `https://`) URLs of the proxy for each scheme.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Proxy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    /// Added to what `plan` computes: host names, `.domain` suffixes, addresses or CIDRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_proxy: Vec<String>,
}

/// `egress.registries.<name>`: where containerd pulls that registry's images from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryMirror {
    /// `https://` (or `http://`) URL of the mirror, optionally with a path prefix.
    pub mirror: String,
    /// Fall back to the registry itself when the mirror fails (default); `false` for
    /// clouds that cannot reach it at all, so a missing image fails fast and names the mirror.
    #[serde(default = "default_true")]
    pub fallback: bool,
    /// For a mirror that wants a login: the **names** of the environment variables holding
    /// the user name and password, read at render time like the OpenStack credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<RegistryCredentials>,
}

/// `egress.registries.<name>.credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryCredentials {
    pub username_from: String,
    pub password_from: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kubernetes {
    /// Full `MAJOR.MINOR.PATCH` version, e.g. `1.36.4`.
    pub version: String,
    #[serde(default = "default_pod_subnet")]
    pub pod_subnet: String,
    #[serde(default = "default_service_subnet")]
    pub service_subnet: String,
    #[serde(default = "default_dns_domain")]
    pub dns_domain: String,
    #[serde(default)]
    pub api_server: ApiServer,
    #[serde(default)]
    pub packages: KubernetesPackages,
    /// sha256 of release downloads k8sgen has no confirmed pin for (a new Kubernetes or
    /// etcd release): `plan` refuses such a version until they are given here.
    #[serde(default, skip_serializing_if = "Checksums::is_empty")]
    pub checksums: Checksums,
}

/// `kubernetes.checksums`: one sha256 (64 hex digits) per release download, for the
/// versions the spec's Kubernetes version gets (see `k8sgen plan`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Checksums {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeadm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crictl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runc: Option<String>,
}

impl Checksums {
    pub fn is_empty(&self) -> bool {
        *self == Checksums::default()
    }

    /// The value given for `artifact`.
    pub fn get(&self, artifact: crate::catalog::Artifact) -> Option<&str> {
        use crate::catalog::Artifact;
        match artifact {
            Artifact::Etcd => &self.etcd,
            Artifact::Kubeadm => &self.kubeadm,
            Artifact::Kubelet => &self.kubelet,
            Artifact::Kubectl => &self.kubectl,
            Artifact::Crictl => &self.crictl,
            Artifact::Containerd => &self.containerd,
            Artifact::Runc => &self.runc,
        }
        .as_deref()
    }
}

/// Where Ubuntu/Debian nodes get kubelet, kubeadm and kubectl: pkgs.k8s.io or a mirror with
/// its layout (`<mirror>/core:/stable:/v1.XX/deb/`), as air-gapped clouds need.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesPackages {
    #[serde(default = "default_package_mirror")]
    pub mirror: String,
    /// The repository's ASCII-armored signing key. Default: the repository's own
    /// `Release.key`, fetched at boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Default for KubernetesPackages {
    fn default() -> Self {
        KubernetesPackages {
            mirror: default_package_mirror(),
            key: None,
        }
    }
}

fn default_package_mirror() -> String {
    "https://pkgs.k8s.io".into()
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServer {
    /// Extra names/IPs for the API server certificate; the first one (if any) is also the
    /// server written into the operator's admin kubeconfig.
    #[serde(default, rename = "extraSANs")]
    pub extra_sans: Vec<String>,
    /// `up`: put a floating IP in front of the API.
    #[serde(default, rename = "floatingIP")]
    pub floating_ip: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlane {
    pub count: u32,
    pub flavor: String,
    /// Address of the first master on the cluster network; the others follow it.
    pub first_address: Option<String>,
    /// Let ordinary pods run on the masters (no control-plane taint).
    #[serde(default)]
    pub schedulable: bool,
    #[serde(default)]
    pub etcd: EtcdTuning,
}

/// Raft timing. Production defaults; a slow emulated VM needs larger values.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdTuning {
    #[serde(default = "default_heartbeat")]
    pub heartbeat_interval_ms: u32,
    #[serde(default = "default_election")]
    pub election_timeout_ms: u32,
}

impl Default for EtcdTuning {
    fn default() -> Self {
        EtcdTuning {
            heartbeat_interval_ms: default_heartbeat(),
            election_timeout_ms: default_election(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkerPool {
    pub pool: String,
    pub count: u32,
    pub flavor: String,
    /// Address of the pool's first worker; default: right after the previous pool (or masters).
    pub first_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Nodes {
    /// Operating system of every node: `ubuntu-24.04`, `ubuntu-22.04`, `debian-12` or
    /// `flatcar` (`catalog::Os`).
    pub os: String,
    /// Glance image name used by `up`.
    pub image: String,
    /// The container runtime installed when the image has no containerd 2 (Ubuntu, Debian).
    #[serde(default)]
    pub runtime: Runtime,
    /// Base URL of a mirror of the release downloads (etcd, containerd, runc; Flatcar's
    /// Kubernetes binaries), laid out as `<mirror>/<upstream host>/<upstream path>`, e.g.
    /// `http://mirror.example/github.com/etcd-io/etcd/releases/download/...`. The same
    /// sha256 checks apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_mirror: Option<String>,
}

/// `nodes.runtime`: the versions of containerd and runc k8sgen installs from their release
/// files. Defaults: the catalog's, with pinned sha256; others need `kubernetes.checksums`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runc: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    pub cluster: ClusterNetwork,
    pub admin: Option<AdminNetwork>,
    #[serde(default = "default_lb_port")]
    pub api_load_balancer_port: u16,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterNetwork {
    /// Neutron network name; also OCCM's `internal-network-name`.
    pub network: String,
    pub subnet: String,
    pub cidr: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdminNetwork {
    /// Neutron network name (required).
    pub network: Option<String>,
    pub cidr: String,
    pub addressing: Addressing,
    /// Static addressing: the first node's address; the others follow in node order.
    pub first_address: Option<String>,
    /// Guest interface name of the second NIC, for renders without the port's MAC. Default:
    /// found at boot (by MAC when known, else the one NIC that is not the cluster NIC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Addressing {
    Dhcp,
    Static,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cni {
    #[serde(default)]
    pub kube_router: KubeRouter,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeRouter {
    #[serde(default = "yes")]
    pub bgp: bool,
    #[serde(default = "yes")]
    pub service_proxy: bool,
    #[serde(default = "yes")]
    pub network_policy: bool,
}

impl Default for KubeRouter {
    fn default() -> Self {
        KubeRouter {
            bgp: true,
            service_proxy: true,
            network_policy: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cloud {
    pub openstack: OpenStack,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OpenStack {
    /// clouds.yaml entry used by `up`.
    pub cloud: String,
    /// Keystone v3 URL written into OCCM's cloud.conf.
    #[serde(rename = "authURL")]
    pub auth_url: String,
    pub region: String,
    pub application_credential: ApplicationCredential,
    pub load_balancer: Option<LoadBalancer>,
    /// What `up` creates around the servers.
    #[serde(default)]
    pub servers: Servers,
    /// PEM file of the CA certificate(s) OCCM trusts for the cloud's endpoints (cloud.conf
    /// `ca-file`), relative to the spec file. Read with the spec (`spec::read_files`). OCCM
    /// then trusts these alone, not the system's (its TLS config's `RootCAs` is this pool).
    pub ca_file: Option<String>,
    /// The certificates `ca_file` holds, once read; never part of the YAML.
    #[serde(skip)]
    pub ca_bundle: Option<CaBundle>,
    /// Cinder volumes for PersistentVolumes.
    #[serde(default)]
    pub block_storage: BlockStorage,
}

/// `cloud.openstack.blockStorage`: the Cinder CSI driver, with the same application
/// credential as OCCM, and a default StorageClass.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlockStorage {
    /// Install the driver and the StorageClass (on by default).
    #[serde(default = "default_true")]
    pub csi: bool,
    /// The Cinder availability zone volumes are made in, for clouds whose Cinder zones are
    /// not Nova's (by default a volume is asked for in its pod's node's Nova zone). Sets the
    /// StorageClass's `availability` and cloud.conf's `[BlockStorage] ignore-volume-az`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Cinder volume type of the default StorageClass; none: the cloud's default type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
}

impl Default for BlockStorage {
    fn default() -> Self {
        BlockStorage {
            csi: true,
            availability_zone: None,
            volume_type: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// The certificates of `caFile`, checked and re-encoded as plain PEM blocks (no comments or
/// other text), so the bytes on the nodes depend only on the certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaBundle {
    pub pem: String,
}

/// `up`'s choices for servers: SSH access, placement, config drive, API floating IP.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Servers {
    /// Nova key pair injected into every server; none by default (no SSH needed).
    pub key_pair: Option<String>,
    /// CIDRs allowed to reach port 22; empty: no SSH rule at all.
    #[serde(default)]
    pub ssh_from: Vec<String>,
    /// Masters on distinct hosts: `hard` fails a boot that cannot be placed, `soft` prefers.
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    #[serde(default)]
    pub config_drive: bool,
    /// External network for the API floating IP (`kubernetes.apiServer.floatingIP`).
    pub floating_network: Option<String>,
    /// Boot every server from a Cinder volume made from the image; none: the flavor's own
    /// disk. Clouds whose flavors have no disk (`disk: 0`) need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
}

/// The root volume Nova creates for each server from the image, deleted with the server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RootVolume {
    /// GiB; at least the image's `min_disk` and its size.
    pub size: u32,
    /// Cinder volume type; none: Cinder's default type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// Read only to be refused with a reason (`spec::validate`): Nova makes the volume and
    /// takes no zone for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    #[default]
    Hard,
    Soft,
}

/// Names of environment variables holding the credential, read at render time.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationCredential {
    pub id_from: String,
    pub secret_from: String,
}

/// Octavia settings for Services of type LoadBalancer (`[LoadBalancer]` in cloud.conf).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(rename = "floatingNetworkID")]
    pub floating_network_id: String,
    #[serde(rename = "subnetID")]
    pub subnet_id: String,
    #[serde(default = "default_lb_provider")]
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bootstrap {
    /// Bootstrap token lifetime, e.g. `24h`, `90m`; `0` never expires.
    #[serde(default = "default_token_ttl", rename = "tokenTTL")]
    pub token_ttl: String,
    /// Debugging: stop the boot script after the named step.
    pub stop_after: Option<String>,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            token_ttl: default_token_ttl(),
            stop_after: None,
        }
    }
}

fn default_pod_subnet() -> String {
    "10.244.0.0/16".into()
}
fn default_service_subnet() -> String {
    "10.96.0.0/12".into()
}
fn default_dns_domain() -> String {
    "cluster.local".into()
}
fn default_heartbeat() -> u32 {
    100
}
fn default_election() -> u32 {
    1000
}
fn default_lb_port() -> u16 {
    7443
}
fn default_lb_provider() -> String {
    "amphora".into()
}
fn default_token_ttl() -> String {
    "24h".into()
}
fn yes() -> bool {
    true
}
