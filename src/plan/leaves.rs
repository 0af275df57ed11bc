//! The leaf certificates k8sgen issues for a plan (see `pki::issue` for why only these).
//!
//! Names follow kubeadm's pki layout so `secrets export-pki` writes a familiar tree:
//! per-master `<node>/etcd/{server,peer}`, shared `etcd/healthcheck-client` and
//! `apiserver-etcd-client`, and `k8sgen/admin` for the operator's kubeconfig.

use super::Plan;
use crate::pki::{LeafRequest, LeafSigner, LeafUsage};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ETCD_HEALTHCHECK_LEAF: &str = "etcd/healthcheck-client";
pub const ETCD_CLIENT_LEAF: &str = "apiserver-etcd-client";
pub const ADMIN_LEAF: &str = "k8sgen/admin";

pub fn etcd_server_leaf(node: &str) -> String {
    format!("{node}/etcd/server")
}
pub fn etcd_peer_leaf(node: &str) -> String {
    format!("{node}/etcd/peer")
}

pub(super) fn requests(plan: &Plan) -> Vec<LeafRequest> {
    let mut out = Vec::new();
    for node in plan.masters() {
        // kubeadm's etcd server/peer SANs: node name, localhost, advertise IP, loopbacks.
        let ips = vec![
            IpAddr::V4(node.address),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        for (name, usage) in [
            (etcd_server_leaf(&node.name), LeafUsage::ServerAndClient),
            (etcd_peer_leaf(&node.name), LeafUsage::ServerAndClient),
        ] {
            out.push(LeafRequest {
                name,
                signer: LeafSigner::EtcdCa,
                common_name: node.name.clone(),
                organizations: vec![],
                dns_names: vec![node.name.clone(), "localhost".into()],
                ip_addresses: ips.clone(),
                usage,
            });
        }
    }
    for (name, cn) in [
        (ETCD_HEALTHCHECK_LEAF, "kube-etcd-healthcheck-client"),
        (ETCD_CLIENT_LEAF, "kube-apiserver-etcd-client"),
    ] {
        out.push(LeafRequest {
            name: name.into(),
            signer: LeafSigner::EtcdCa,
            common_name: cn.into(),
            organizations: vec![],
            dns_names: vec![],
            ip_addresses: vec![],
            usage: LeafUsage::Client,
        });
    }
    out.push(LeafRequest {
        name: ADMIN_LEAF.into(),
        signer: LeafSigner::ClusterCa,
        common_name: "kubernetes-admin".into(),
        organizations: vec!["kubeadm:cluster-admins".into()],
        dns_names: vec![],
        ip_addresses: vec![],
        usage: LeafUsage::Client,
    });
    out
}
