//! Second stage: `ClusterSpec` + secrets bundle → `Plan`, with every decision resolved.
//!
//! Node names, roles and addresses; the API endpoint and SANs; pinned versions, images and
//! checksums; the discovery hash; which secrets each role carries; the leaf certificates the
//! bundle must hold. Pure: environment variables arrive through a lookup function and no file
//! or cloud is touched. `up` fills provider-learned facts (addresses, MACs) into the plan
//! before bundles are built.

mod addresses;
pub mod artifacts;
mod egress;
pub mod facts;
mod inert;
mod leaves;
mod types;

pub use types::*;

use crate::catalog::{self, Artifact, Os};
use crate::pki::{self, Secret};
use crate::spec::{self, Addressing, ClusterSpec, Parsed};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub use leaves::{
    ADMIN_LEAF, ETCD_CLIENT_LEAF, ETCD_HEALTHCHECK_LEAF, etcd_peer_leaf, etcd_server_leaf,
};

/// Why a plan could not be made: the spec was not valid (callers normally validate it when
/// loading; the plan checks again because a `ClusterSpec` can be built or edited in code), or
/// the secrets bundle could not serve it.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the spec has problems:{}", .0.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Spec(Vec<spec::Problem>),
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
}

impl Plan {
    pub fn masters(&self) -> impl Iterator<Item = &NodePlan> {
        self.nodes.iter().filter(|n| n.role.is_master())
    }
    /// Leaf certificates the secrets bundle must hold for this plan.
    pub fn leaf_requests(&self) -> Vec<pki::LeafRequest> {
        leaves::requests(self)
    }
}

/// Resolve `spec` against `bundle`. `env` looks up environment variables (credentials).
pub fn plan(
    spec: &ClusterSpec,
    bundle: &pki::Secrets,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, PlanError> {
    let parsed = spec::check(spec).map_err(PlanError::Spec)?;
    unread_files(spec)?;
    let (version, release, os) = (parsed.version, parsed.release, parsed.os);
    let nodes = addresses::nodes(spec, &parsed);
    let port = spec.network.api_load_balancer_port;
    let extra_sans = spec.kubernetes.api_server.extra_sans.clone();
    let admin_server = format!(
        "https://{}:6443",
        extra_sans
            .first()
            .cloned()
            .unwrap_or_else(|| nodes[0].address.to_string())
    );
    let mut warnings = inert::warnings(spec, os);
    let openstack = openstack(spec, &parsed, env, &mut warnings);
    let egress = egress::plan(spec, &parsed, env, &mut warnings);
    let registry_logins_shipped = egress.registries.iter().any(|r| r.authorization.is_some());
    let registry_logins = egress
        .registries
        .iter()
        .all(|r| r.credentials_from.is_none() || r.authorization.is_some());
    let mut plan = Plan {
        cluster_name: spec.name.clone(),
        kubernetes_version: version,
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
        os,
        image: spec.nodes.image.clone(),
        platform: platform(os),
        downloads: downloads(&parsed),
        runtime: runtime(&parsed),
        haproxy_image: catalog::HAPROXY_IMAGE.into(),
        pod_subnet: parsed.pod_subnet,
        service_subnet: parsed.service_subnet,
        dns_domain: spec.kubernetes.dns_domain.clone(),
        // The service network's 10th address, as kubeadm's own default.
        cluster_dns: Ipv4Addr::from(u32::from(parsed.service_subnet.network()) + 10),
        control_plane_endpoint: format!("127.0.0.1:{port}"),
        api_load_balancer_port: port,
        extra_sans,
        admin_server,
        ca_cert_hash: bundle.discovery_hash()?,
        token_id: bundle.bootstrap_token.id.clone(),
        token_ttl: parsed.token_ttl.clone(),
        schedulable_masters: spec.control_plane.schedulable,
        etcd: etcd(spec, &parsed, &nodes),
        nodes,
        kube_router_image: catalog::KUBE_ROUTER_IMAGE.into(),
        kube_router_bgp: spec.cni.kube_router.bgp,
        kube_router_network_policy: spec.cni.kube_router.network_policy,
        occm_image: release.occm_image.into(),
        cinder_csi_image: release.cinder_csi_image.into(),
        pause_image: release.pause_image.into(),
        coredns_image: release.coredns_image.into(),
        admin_nic: admin_nic(spec, &parsed),
        egress,
        deployable: openstack.credential_id.is_some()
            && openstack.credential_secret.is_some()
            && registry_logins,
        openstack,
        stop_after: parsed.stop_after,
        secrets_by_role: secrets_by_role(registry_logins_shipped),
        warnings,
    };
    add_api_server_sans(&mut plan, &parsed);
    Ok(plan)
}

/// A spec that names a file must come with it (`spec::read_files`): the plan reads nothing.
fn unread_files(spec: &ClusterSpec) -> Result<(), PlanError> {
    let os = &spec.cloud.openstack;
    if spec.egress.trusted_cas.len() != spec.egress.trusted_ca_files.len() {
        return Err(PlanError::Spec(vec![spec::Problem::new(
            "egress.trustedCAFiles",
            "the files were not read with the spec",
            "load the spec from its file (`-f cluster.yaml`), which reads the files it names",
        )]));
    }
    if os.ca_file.is_some() && os.ca_bundle.is_none() {
        return Err(PlanError::Spec(vec![spec::Problem::new(
            "cloud.openstack.caFile",
            "the file was not read with the spec",
            "load the spec from its file (`-f cluster.yaml`), which reads the files it names",
        )]));
    }
    Ok(())
}

fn etcd(spec: &ClusterSpec, parsed: &Parsed, nodes: &[NodePlan]) -> EtcdPlan {
    EtcdPlan {
        version: parsed.release.etcd_version.into(),
        tarball_url: parsed.download_url(Artifact::Etcd),
        tarball_sha256: sha256_of(parsed, Artifact::Etcd),
        heartbeat_interval_ms: spec.control_plane.etcd.heartbeat_interval_ms,
        election_timeout_ms: spec.control_plane.etcd.election_timeout_ms,
        initial_cluster: nodes
            .iter()
            .filter(|n| n.role.is_master())
            .map(|n| format!("{}=https://{}:2380", n.name, n.address))
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn admin_nic(spec: &ClusterSpec, parsed: &Parsed) -> Option<AdminNicPlan> {
    let (admin, parsed) = (spec.network.admin.as_ref()?, parsed.admin.as_ref()?);
    Some(AdminNicPlan {
        network: parsed.network.clone(),
        cidr: parsed.cidr,
        dhcp: admin.addressing == Addressing::Dhcp,
        interface: admin.interface.clone(),
    })
}

/// What `up` and OCCM need of OpenStack. The application credential is read from the
/// environment here; a missing variable becomes a warning and an undeployable plan.
fn openstack(
    spec: &ClusterSpec,
    parsed: &Parsed,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> OpenStackPlan {
    let os = &spec.cloud.openstack;
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
    OpenStackPlan {
        cloud: os.cloud.clone(),
        auth_url: os.auth_url.clone(),
        region: os.region.clone(),
        internal_network: spec.network.cluster.network.clone(),
        internal_subnet: spec.network.cluster.subnet.clone(),
        cluster_cidr: parsed.cluster_cidr,
        api_floating_ip: spec.kubernetes.api_server.floating_ip,
        servers: os.servers.clone(),
        credential_id_from: os.application_credential.id_from.clone(),
        credential_secret_from: os.application_credential.secret_from.clone(),
        load_balancer: os.load_balancer.as_ref().map(|lb| LoadBalancerPlan {
            floating_network_id: lb.floating_network_id.clone(),
            subnet_id: lb.subnet_id.clone(),
            provider: lb.provider.clone(),
        }),
        ca_file: os.ca_file.clone(),
        block_storage: os.block_storage.clone(),
        ca_pem: os.ca_bundle.as_ref().map(|b| b.pem.clone()),
        credential_id: read_secret(&os.application_credential.id_from),
        credential_secret: read_secret(&os.application_credential.secret_from),
    }
}

fn add_api_server_sans(plan: &mut Plan, parsed: &Parsed) {
    let api_service_ip = Ipv4Addr::from(u32::from(parsed.service_subnet.network()) + 1);
    for node in plan.nodes.iter_mut().filter(|n| n.role.is_master()) {
        node.api_server_sans = api_server_sans(
            &node.name,
            node.address,
            api_service_ip,
            &plan.dns_domain,
            &plan.extra_sans,
        );
    }
}

fn platform(os: Os) -> Platform {
    let flatcar = os.reads_ignition();
    Platform {
        user_data_format: os.user_data_format(),
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
/// Flatcar's release downloads (Ubuntu and Debian get theirs from signed package
/// repositories), each with its sha256 as `spec::check` resolved it.
fn downloads(parsed: &Parsed) -> Vec<Download> {
    if parsed.os != Os::Flatcar {
        return Vec::new();
    }
    let mut downloads: Vec<Download> = [
        Artifact::Kubeadm,
        Artifact::Kubelet,
        Artifact::Kubectl,
        Artifact::Crictl,
    ]
    .into_iter()
    .map(|a| Download {
        name: a.as_str().into(),
        url: parsed.download_url(a),
        sha256: sha256_of(parsed, a),
    })
    .collect();
    downloads.push(Download {
        name: "cni-plugins".into(),
        url: parsed.mirrored(format!(
            "https://github.com/containernetworking/plugins/releases/download/v{c}/cni-plugins-linux-amd64-v{c}.tgz",
            c = catalog::CNI_PLUGINS_VERSION
        )),
        sha256: catalog::CNI_PLUGINS_SHA256.into(),
    });
    downloads
}

/// Ubuntu and Debian: containerd 2 and runc from their release files unless the image has
/// containerd 2 (Flatcar ships its own).
fn runtime(parsed: &Parsed) -> Option<RuntimePlan> {
    (parsed.os != Os::Flatcar).then(|| RuntimePlan {
        source: format!(
            "the image's containerd if it is 2.x or later, else containerd {} and runc {} from their release files (sha256-checked)",
            parsed.containerd_version, parsed.runc_version
        ),
        containerd: Download {
            name: "containerd".into(),
            url: parsed.download_url(Artifact::Containerd),
            sha256: sha256_of(parsed, Artifact::Containerd),
        },
        containerd_version: parsed.containerd_version.clone(),
        runc: Download {
            name: "runc".into(),
            url: parsed.download_url(Artifact::Runc),
            sha256: sha256_of(parsed, Artifact::Runc),
        },
    })
}

/// The artifact's sha256. `spec::check` refuses a spec lacking one its OS needs, so the
/// empty fallback is never rendered.
fn sha256_of(parsed: &Parsed, artifact: Artifact) -> String {
    parsed.checksums.get(&artifact).cloned().unwrap_or_default()
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
fn secrets_by_role(registry_logins: bool) -> BTreeMap<Role, Vec<&'static str>> {
    let master = [
        "cluster CA key (ca.key)",
        "front-proxy CA key",
        "service-account signing key (sa.key)",
        "own etcd server and peer keys",
        "apiserver-etcd-client key",
        "etcd healthcheck-client key",
    ];
    let mut init: Vec<&'static str> = master.to_vec();
    init.push("bootstrap token");
    // Made into the Secret OCCM and Cinder CSI read; the other masters need no copy.
    init.push("OpenStack application credential (cloud.conf)");
    let mut by_role = BTreeMap::from([
        (Role::Init, init),
        (Role::ControlPlane, master.to_vec()),
        (Role::Worker, vec!["bootstrap token (no private key)"]),
    ]);
    if registry_logins {
        // Every node pulls images, so every node holds the mirrors' logins.
        for items in by_role.values_mut() {
            items.push("registry mirror logins (containerd hosts.toml)");
        }
    }
    by_role
}
