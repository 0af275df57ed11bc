//! Second stage: `ClusterSpec` + secrets bundle → `Plan`, with every decision resolved.
//!
//! Node names, roles and addresses; the API endpoint and SANs; pinned versions, images and
//! checksums; the discovery hash; which secrets each role carries; the leaf certificates the
//! bundle must hold. Pure: environment variables arrive through a lookup function and no file
//! or cloud is touched. `up` fills provider-learned facts (addresses, MACs) into the plan
//! before bundles are built.

mod addresses;
pub mod facts;
mod leaves;
mod types;

pub use types::*;

use crate::catalog::{self, KubeVersion};
use crate::pki::{self, Secret};
use crate::spec::{Addressing, ClusterSpec};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub use leaves::{
    ADMIN_LEAF, ETCD_CLIENT_LEAF, ETCD_HEALTHCHECK_LEAF, etcd_peer_leaf, etcd_server_leaf,
};

/// Why a plan could not be made (the spec was validated, so these are about inputs the spec
/// cannot see: the secrets bundle).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("kubernetes.version: {0}")]
    Version(String),
    #[error("{0}")]
    Address(String),
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
}

impl Plan {
    pub fn masters(&self) -> impl Iterator<Item = &NodePlan> {
        self.nodes.iter().filter(|n| n.role.is_master())
    }
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.nodes.iter().find(|n| n.name == name)
    }
    /// Leaf certificates the secrets bundle must hold for this plan.
    pub fn leaf_requests(&self) -> Vec<pki::LeafRequest> {
        leaves::requests(self)
    }
}

/// Resolve `spec` against `bundle`. `env` looks up environment variables (credentials).
pub fn plan(
    spec: &ClusterSpec,
    bundle: &pki::Bundle,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, PlanError> {
    let version = KubeVersion::parse(&spec.kubernetes.version).ok_or_else(|| {
        PlanError::Version(format!("`{}` is not a version", spec.kubernetes.version))
    })?;
    let release = version
        .release()
        .ok_or_else(|| PlanError::Version(format!("{version} is not supported")))?;
    let net = |text: &str| {
        text.parse::<Ipv4Net>()
            .map_err(|_| PlanError::Address(format!("`{text}` is not a CIDR")))
    };
    let pod_subnet = net(&spec.kubernetes.pod_subnet)?;
    let service_subnet = net(&spec.kubernetes.service_subnet)?;
    let cluster_cidr = net(&spec.network.cluster.cidr)?;
    let nodes = addresses::nodes(spec)?;
    let service_base = u32::from(service_subnet.network());
    let api_service_ip = Ipv4Addr::from(service_base + 1);
    let cluster_dns = Ipv4Addr::from(service_base + 10);
    let port = spec.network.api_load_balancer_port;
    let first_master = nodes[0].address;
    let extra_sans = spec.kubernetes.api_server.extra_sans.clone();
    let admin_server = format!(
        "https://{}:6443",
        extra_sans
            .first()
            .cloned()
            .unwrap_or_else(|| first_master.to_string())
    );

    let etcd = EtcdPlan {
        version: release.etcd_version.into(),
        tarball_url: format!(
            "https://github.com/etcd-io/etcd/releases/download/v{v}/etcd-v{v}-linux-amd64.tar.gz",
            v = release.etcd_version
        ),
        tarball_sha256: release.etcd_sha256.into(),
        heartbeat_interval_ms: spec.control_plane.etcd.heartbeat_interval_ms,
        election_timeout_ms: spec.control_plane.etcd.election_timeout_ms,
        initial_cluster: nodes
            .iter()
            .filter(|n| n.role.is_master())
            .map(|n| format!("{}=https://{}:2380", n.name, n.address))
            .collect::<Vec<_>>()
            .join(","),
    };

    let os = &spec.cloud.openstack;
    let mut warnings = Vec::new();
    let mut read_secret = |var: &str| match env(var).filter(|v| !v.is_empty()) {
        Some(v) => Some(Secret::new(v)),
        None => {
            warnings.push(format!(
                "environment variable {var} is not set: the masters' cloud.conf gets a placeholder, \
                 OCCM cannot reach OpenStack, and `up` will refuse this plan"
            ));
            None
        }
    };
    let credential_id = read_secret(&os.application_credential.id_from);
    let credential_secret = read_secret(&os.application_credential.secret_from);
    let deployable = credential_id.is_some() && credential_secret.is_some();

    let mut plan = Plan {
        cluster_name: spec.name.clone(),
        kubernetes_version: version.to_string(),
        package_version: version.deb_version(),
        package_minor: format!("v{}.{}", version.major, version.minor),
        package_repository: format!(
            "{}/core:/stable:/v{}.{}/deb/",
            spec.kubernetes.packages.mirror.trim_end_matches('/'),
            version.major,
            version.minor
        ),
        package_key: spec.kubernetes.packages.key.clone(),
        kubeadm_api_version: catalog::KUBEADM_API_VERSION.into(),
        key_algorithm: bundle.key_algorithm.kubeadm_name().into(),
        os: spec.nodes.os.clone(),
        image: spec.nodes.image.clone(),
        platform: platform(&spec.nodes.os),
        downloads: downloads(&spec.nodes.os, version, release),
        haproxy_image: catalog::HAPROXY_IMAGE.into(),
        pod_subnet,
        service_subnet,
        dns_domain: spec.kubernetes.dns_domain.clone(),
        cluster_dns,
        control_plane_endpoint: format!("127.0.0.1:{port}"),
        api_load_balancer_port: port,
        extra_sans: extra_sans.clone(),
        admin_server,
        ca_cert_hash: bundle.discovery_hash()?,
        token_id: bundle.bootstrap_token.id.clone(),
        token_ttl: spec.bootstrap.token_ttl.clone(),
        schedulable_masters: spec.control_plane.schedulable,
        nodes,
        etcd,
        kube_router_image: catalog::KUBE_ROUTER_IMAGE.into(),
        kube_router_bgp: spec.cni.kube_router.bgp,
        kube_router_network_policy: spec.cni.kube_router.network_policy,
        occm_image: release.occm_image.into(),
        admin_nic: spec.network.admin.as_ref().map(|a| AdminNicPlan {
            network: a.network.clone().unwrap_or_default(),
            cidr: a.cidr.parse().unwrap_or_default(),
            dhcp: a.addressing == Addressing::Dhcp,
            interface: a.interface.clone(),
        }),
        openstack: OpenStackPlan {
            cloud: os.cloud.clone(),
            auth_url: os.auth_url.clone(),
            region: os.region.clone(),
            internal_network: spec.network.cluster.network.clone(),
            internal_subnet: spec.network.cluster.subnet.clone(),
            cluster_cidr,
            api_floating_ip: spec.kubernetes.api_server.floating_ip,
            servers: os.servers.clone(),
            credential_id_from: os.application_credential.id_from.clone(),
            credential_secret_from: os.application_credential.secret_from.clone(),
            load_balancer: os.load_balancer.as_ref().map(|lb| LoadBalancerPlan {
                floating_network_id: lb.floating_network_id.clone(),
                subnet_id: lb.subnet_id.clone(),
                provider: lb.provider.clone(),
            }),
            credential_id,
            credential_secret,
        },
        stop_after: spec.bootstrap.stop_after.clone(),
        secrets_by_role: secrets_by_role(),
        deployable,
        warnings,
    };
    for node in plan.nodes.iter_mut().filter(|n| n.role.is_master()) {
        node.api_server_sans = api_server_sans(
            &node.name,
            node.address,
            api_service_ip,
            &spec.kubernetes.dns_domain,
            &extra_sans,
        );
    }
    Ok(plan)
}

fn platform(os: &str) -> Platform {
    let flatcar = catalog::IGNITION_OS.contains(&os);
    Platform {
        user_data_format: if flatcar {
            UserDataFormat::Ignition
        } else {
            UserDataFormat::CloudConfig
        },
        flatcar,
        // Flatcar's /usr is read-only; /opt/bin is its place for added binaries.
        bin_dir: if flatcar {
            "/opt/bin"
        } else {
            "/usr/local/bin"
        }
        .into(),
        script_path: if flatcar {
            "/opt/k8sgen/bootstrap.sh"
        } else {
            "/usr/local/lib/k8sgen/bootstrap.sh"
        }
        .into(),
    }
}

/// Release binaries with their pinned sha256, for OSes without a package manager.
fn downloads(os: &str, v: KubeVersion, r: &catalog::MinorRelease) -> Vec<Download> {
    if !catalog::IGNITION_OS.contains(&os) {
        return Vec::new();
    }
    let k8s = |name: &str, sha: &str| Download {
        name: name.into(),
        url: format!("https://dl.k8s.io/release/v{v}/bin/linux/amd64/{name}"),
        sha256: sha.into(),
    };
    vec![
        k8s("kubeadm", r.kubeadm_sha256),
        k8s("kubelet", r.kubelet_sha256),
        k8s("kubectl", r.kubectl_sha256),
        Download {
            name: "crictl".into(),
            url: format!(
                "https://github.com/kubernetes-sigs/cri-tools/releases/download/v{c}/crictl-v{c}-linux-amd64.tar.gz",
                c = r.crictl_version
            ),
            sha256: r.crictl_sha256.into(),
        },
        Download {
            name: "cni-plugins".into(),
            url: format!(
                "https://github.com/containernetworking/plugins/releases/download/v{c}/cni-plugins-linux-amd64-v{c}.tgz",
                c = catalog::CNI_PLUGINS_VERSION
            ),
            sha256: catalog::CNI_PLUGINS_SHA256.into(),
        },
    ]
}

/// The names kubeadm puts in a master's API server certificate (reference §1.1).
fn api_server_sans(
    node: &str,
    address: Ipv4Addr,
    api_service_ip: Ipv4Addr,
    dns_domain: &str,
    extra: &[String],
) -> Vec<String> {
    let mut sans: Vec<String> = [
        node.to_string(),
        "kubernetes".into(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        format!("kubernetes.default.svc.{dns_domain}"),
        api_service_ip.to_string(),
        address.to_string(),
        "127.0.0.1".into(),
    ]
    .into_iter()
    .collect();
    for san in extra {
        if !sans.contains(san) {
            sans.push(san.clone());
        }
    }
    sans
}

/// The DESIGN's secrets-placement rule, stated once. `bundle::build` follows it and a test
/// checks the rendered files against it.
fn secrets_by_role() -> BTreeMap<Role, Vec<&'static str>> {
    let master = [
        "cluster CA key (ca.key)",
        "front-proxy CA key",
        "service-account signing key (sa.key)",
        "own etcd server and peer keys",
        "apiserver-etcd-client key",
        "etcd healthcheck-client key",
        "OpenStack application credential (cloud.conf)",
    ];
    let mut init: Vec<&'static str> = master.to_vec();
    init.push("bootstrap token");
    BTreeMap::from([
        (Role::Init, init),
        (Role::ControlPlane, master.to_vec()),
        (Role::Worker, vec!["bootstrap token (no private key)"]),
    ])
}
