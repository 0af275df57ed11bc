//! Control-plane nodes. Every master gets the shared CAs (kubeadm mints its own leaves from
//! them), its own etcd member certificates, the etcd client certificates, the kubeadm config,
//! the etcd unit and the cloud's CA for OCCM (when the spec gives one). The init master alone
//! also carries the bootstrap token, cloud.conf (the OpenStack credential, which it turns into
//! the Secret OCCM and Cinder CSI read) and the cluster add-ons, and runs the cluster-wide
//! phases.

use super::script::Step;
use super::{Builder, BundleError, cinder_csi, fluo, kubeadm, manifests, occm};
use crate::catalog::BootStep;
use crate::pki::{CertKey, Secrets};
use crate::plan::{self, NodePlan, Plan, Role};
use crate::templates::render;
use serde_json::json;

const PKI: &str = "/etc/kubernetes/pki";

/// The cloud's CA bundle for OCCM (cloud.conf `ca-file`), beside cloud.conf. Not in `PKI`:
/// that directory is kubeadm's, and this CA signs nothing of the cluster's.
pub(super) const CLOUD_CA: &str = "/etc/kubernetes/cloud-ca.pem";

fn leaf<'a>(secrets: &'a Secrets, name: &str) -> Result<&'a CertKey, BundleError> {
    secrets
        .leaves
        .get(name)
        .ok_or_else(|| BundleError::MissingLeaf(name.into()))
}

fn pair(b: &mut Builder, base: &str, ck: &CertKey, with_key: bool) {
    b.file(&format!("{PKI}/{base}.crt"), 0o644, ck.cert.as_str());
    if with_key {
        b.secret_file(&format!("{PKI}/{base}.key"), ck.key.expose());
    }
}

pub(super) fn build(
    b: &mut Builder,
    plan: &Plan,
    node: &NodePlan,
    secrets: &Secrets,
) -> Result<(), BundleError> {
    let init = node.role == Role::Init;
    certificates(b, node, secrets)?;
    let token = init.then(|| secrets.bootstrap_token.full());
    b.secret_file(
        "/etc/kubernetes/k8sgen/kubeadm.yaml",
        kubeadm::master_config(plan, node, token.as_ref()),
    );
    etcd_unit(b, plan, node)?;
    if let Some(pem) = &plan.openstack.ca_pem {
        b.file(CLOUD_CA, 0o644, pem.as_str());
    }

    b.step(Step::new(BootStep::Etcd, 1800, 1, json!({}))?);
    super::common::kubernetes(b, plan)?;
    b.step(Step::new(BootStep::ControlPlane, 1800, 2, json!({}))?);
    if init {
        cloud_conf(b, plan)?;
        // One `kubectl apply -f DIR` (files in name order); each file holds its RBAC before
        // its workloads, and the Secret they read exists by then.
        b.packed_file(
            "/etc/kubernetes/k8sgen/addons/kube-router.yaml",
            0o644,
            manifests::kube_router(plan),
        );
        b.packed_file(
            "/etc/kubernetes/k8sgen/addons/openstack-cloud-controller-manager.yaml",
            0o644,
            occm::manifests(plan),
        );
        if plan.openstack.block_storage.csi {
            b.packed_file(
                "/etc/kubernetes/k8sgen/addons/cinder-csi.yaml",
                0o644,
                cinder_csi::manifests(plan),
            );
        }
        if plan.platform.flatcar {
            b.packed_file(fluo::PATH, 0o644, fluo::manifests());
        }
        b.step(Step::new(BootStep::ClusterAddons, 900, 3, json!({}))?);
    }
    Ok(())
}

/// The CAs every master shares and this master's own etcd certificates.
fn certificates(b: &mut Builder, node: &NodePlan, secrets: &Secrets) -> Result<(), BundleError> {
    // Shared CA material, identical on every master (kubeadm HA "manual certificates").
    pair(b, "ca", &secrets.cluster_ca, true);
    pair(b, "front-proxy-ca", &secrets.front_proxy_ca, true);
    b.secret_file(
        &format!("{PKI}/sa.key"),
        secrets.service_account.private_key.expose(),
    );
    b.file(
        &format!("{PKI}/sa.pub"),
        0o644,
        secrets.service_account.public_key.as_str(),
    );
    // etcd is external to kubeadm, so its CA key stays off the nodes: only k8sgen signs.
    pair(b, "etcd/ca", &secrets.etcd_ca, false);
    pair(
        b,
        "etcd/server",
        leaf(secrets, &plan::etcd_server_leaf(&node.name))?,
        true,
    );
    pair(
        b,
        "etcd/peer",
        leaf(secrets, &plan::etcd_peer_leaf(&node.name))?,
        true,
    );
    pair(
        b,
        "etcd/healthcheck-client",
        leaf(secrets, plan::ETCD_HEALTHCHECK_LEAF)?,
        true,
    );
    pair(
        b,
        "apiserver-etcd-client",
        leaf(secrets, plan::ETCD_CLIENT_LEAF)?,
        true,
    );
    Ok(())
}

fn etcd_unit(b: &mut Builder, plan: &Plan, node: &NodePlan) -> Result<(), BundleError> {
    b.unit(
        "k8sgen-etcd.service",
        render(
            "k8sgen-etcd.service",
            json!({
                "node": node.name,
                "node_ip": node.address.to_string(),
                "etcd": plan.etcd,
                "cluster": plan.cluster_name,
                "bin_dir": plan.platform.bin_dir,
            }),
        )?,
        false,
    );
    Ok(())
}

/// OCCM's cloud.conf, from which the cluster-addons step makes the Secret
/// `kube-system/cloud-config`; an unset credential variable leaves a visible placeholder.
fn cloud_conf(b: &mut Builder, plan: &Plan) -> Result<(), BundleError> {
    let os = &plan.openstack;
    let placeholder = |var: &str| format!("UNSET-{var}");
    b.secret_file(
        "/etc/kubernetes/cloud.conf",
        render(
            "cloud.conf",
            json!({
                "os": os,
                "ca_file": os.ca_pem.as_ref().map(|_| CLOUD_CA),
                "credential_id": os.credential_id.as_ref().map(|s| s.expose().to_string())
                    .unwrap_or_else(|| placeholder(&os.credential_id_from)),
                "credential_secret": os.credential_secret.as_ref().map(|s| s.expose().to_string())
                    .unwrap_or_else(|| placeholder(&os.credential_secret_from)),
            }),
        )?,
    );
    Ok(())
}
