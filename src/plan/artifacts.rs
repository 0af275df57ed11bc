//! Every image, package and download a plan's nodes fetch, with its version and digest or
//! sha256 where one is pinned: what an operator puts into a mirror before the first boot of
//! an air-gapped cluster (`k8sgen plan --artifacts`). Read from the plan and the catalog, the
//! same values the bundles are rendered from.

use super::Plan;
use crate::catalog;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactList {
    pub images: Vec<Artifact>,
    pub downloads: Vec<Artifact>,
    /// Ubuntu/Debian packages; empty on Flatcar.
    pub packages: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// An image reference, a URL, or `package=version` with its repository.
    pub reference: String,
    /// The sha256 a download is checked against (images carry theirs in the reference when
    /// pinned by digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Which nodes fetch it.
    pub nodes: &'static str,
}

fn item(reference: impl Into<String>, nodes: &'static str) -> Artifact {
    Artifact {
        reference: reference.into(),
        sha256: None,
        nodes,
    }
}

const EVERY: &str = "every node";
const MASTERS: &str = "masters";
const ANY: &str = "any node (a Deployment)";

pub fn list(plan: &Plan) -> ArtifactList {
    let flatcar = plan.platform.flatcar;
    // kubeadm's own first: the sandbox on every node, CoreDNS wherever it is scheduled, the
    // control plane on the masters.
    let mut images: Vec<Artifact> = kubeadm_images(plan)
        .into_iter()
        .map(|image| {
            let nodes = if image == plan.pause_image {
                EVERY
            } else if image == plan.coredns_image {
                ANY
            } else {
                MASTERS
            };
            item(image, nodes)
        })
        .collect();
    images.push(item(plan.kube_router_image.clone(), EVERY));
    images.push(item(plan.occm_image.clone(), MASTERS));
    if plan.openstack.block_storage.csi {
        images.push(item(plan.cinder_csi_image.clone(), EVERY));
        for sidecar in [
            catalog::CSI_ATTACHER_IMAGE,
            catalog::CSI_PROVISIONER_IMAGE,
            catalog::CSI_RESIZER_IMAGE,
        ] {
            images.push(item(sidecar, MASTERS));
        }
        images.push(item(catalog::CSI_LIVENESS_PROBE_IMAGE, EVERY));
        images.push(item(catalog::CSI_NODE_REGISTRAR_IMAGE, EVERY));
    }
    if flatcar {
        images.push(item(plan.haproxy_image.clone(), EVERY));
        images.push(item(catalog::FLUO_IMAGE, EVERY));
    }

    let mut downloads = vec![Artifact {
        reference: plan.etcd.tarball_url.clone(),
        sha256: Some(plan.etcd.tarball_sha256.clone()),
        nodes: MASTERS,
    }];
    if let Some(runtime) = &plan.runtime {
        for d in [&runtime.containerd, &runtime.runc] {
            downloads.push(Artifact {
                reference: d.url.clone(),
                sha256: Some(d.sha256.clone()),
                nodes: "nodes whose image has no containerd 2",
            });
        }
    }
    for d in &plan.downloads {
        downloads.push(Artifact {
            reference: d.url.clone(),
            sha256: Some(d.sha256.clone()),
            nodes: EVERY,
        });
    }

    let mut packages = Vec::new();
    if !flatcar {
        let repo = &plan.package_repository;
        if plan.package_key.is_none() {
            downloads.push(item(format!("{repo}Release.key"), EVERY));
        }
        for name in ["kubelet", "kubeadm", "kubectl"] {
            packages.push(item(
                format!("{name}={} from {repo}", plan.package_version),
                EVERY,
            ));
        }
        packages.push(item(
            format!("cri-tools, kubernetes-cni (kubelet's dependency) from {repo}"),
            EVERY,
        ));
        packages.push(item(
            "curl, haproxy, iptables from the distribution's archive (when the image lacks them)",
            EVERY,
        ));
    }
    ArtifactList {
        images,
        downloads,
        packages,
    }
}

/// The images a node of this kind runs or may run, for its background pre-pull: every
/// image listed for every node, for any node, and on masters the masters' own. Flatcar's
/// load balancer image is left out: its unit pulls it into a namespace of its own.
pub fn images_for(plan: &Plan, master: bool) -> Vec<String> {
    list(plan)
        .images
        .into_iter()
        .filter(|a| a.nodes != MASTERS || master)
        .map(|a| a.reference)
        .filter(|r| *r != plan.haproxy_image)
        .collect()
}

/// The images kubeadm itself pulls on a master (its preflight): the sandbox, the control
/// plane and CoreDNS; kube-proxy is off and etcd runs outside kubeadm.
pub fn kubeadm_images(plan: &Plan) -> Vec<String> {
    let v = plan.kubernetes_version;
    vec![
        plan.pause_image.clone(),
        format!("registry.k8s.io/kube-apiserver:v{v}"),
        format!("registry.k8s.io/kube-controller-manager:v{v}"),
        format!("registry.k8s.io/kube-scheduler:v{v}"),
        plan.coredns_image.clone(),
    ]
}
