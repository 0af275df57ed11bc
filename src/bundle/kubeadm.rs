//! kubeadm v1beta4 configuration documents, built as structured values and serialized, never
//! concatenated as text. Field names follow kubernetes/kubernetes
//! `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go` (reference §3).

use crate::pki::Secret;
use crate::plan::{NodePlan, Plan};
use serde_json::{Value, json};

const CRI_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";

pub(super) fn to_yaml(doc: &Value) -> String {
    serde_saphyr::to_string(doc).expect("JSON values always serialize")
}

/// Several YAML documents in one file, as kubeadm reads them.
pub(super) fn multi_doc(docs: &[Value]) -> String {
    docs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

fn node_registration(plan: &Plan, node: &NodePlan) -> Value {
    let mut reg = json!({
        "name": node.name,
        "criSocket": CRI_SOCKET,
        "kubeletExtraArgs": [
            {"name": "cloud-provider", "value": "external"},
            {"name": "node-ip", "value": node.address.to_string()},
        ],
    });
    if node.role.is_master() && plan.schedulable_masters {
        // An empty list (not an absent field) tells kubeadm not to taint the master.
        reg["taints"] = json!([]);
    }
    reg
}

/// InitConfiguration + ClusterConfiguration + KubeletConfiguration for a master. Only the
/// init master's copy carries the bootstrap token (`token`).
pub(super) fn master_config(plan: &Plan, node: &NodePlan, token: Option<&Secret>) -> String {
    let mut init = json!({
        "apiVersion": plan.kubeadm_api_version,
        "kind": "InitConfiguration",
    });
    if let Some(token) = token {
        init["bootstrapTokens"] = json!([{
            "token": token.expose(),
            "description": "k8sgen pre-computed join token",
            "ttl": plan.token_ttl,
            "usages": ["signing", "authentication"],
            "groups": ["system:bootstrappers:kubeadm:default-node-token"],
        }]);
    }
    init["localAPIEndpoint"] =
        json!({"advertiseAddress": node.address.to_string(), "bindPort": 6443});
    init["nodeRegistration"] = node_registration(plan, node);
    init["skipPhases"] = json!(["addon/kube-proxy"]);

    // The local etcd member first: the API server prefers it, the others are failover.
    let mut endpoints = vec![format!("https://{}:2379", node.address)];
    endpoints.extend(
        plan.masters()
            .filter(|m| m.name != node.name)
            .map(|m| format!("https://{}:2379", m.address)),
    );
    let mut cert_sans: Vec<String> = plan.extra_sans.clone();
    cert_sans.extend(plan.masters().map(|m| m.address.to_string()));
    let cluster = json!({
        "apiVersion": plan.kubeadm_api_version,
        "kind": "ClusterConfiguration",
        "clusterName": plan.cluster_name,
        "kubernetesVersion": format!("v{}", plan.kubernetes_version),
        "controlPlaneEndpoint": plan.control_plane_endpoint,
        "certificatesDir": "/etc/kubernetes/pki",
        "encryptionAlgorithm": plan.key_algorithm,
        "networking": {
            "podSubnet": plan.pod_subnet.to_string(),
            "serviceSubnet": plan.service_subnet.to_string(),
            "dnsDomain": plan.dns_domain,
        },
        "etcd": {"external": {
            "endpoints": endpoints,
            "caFile": "/etc/kubernetes/pki/etcd/ca.crt",
            "certFile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
            "keyFile": "/etc/kubernetes/pki/apiserver-etcd-client.key",
        }},
        "apiServer": {"certSANs": cert_sans},
        "proxy": {"disabled": true},
    });
    // Flatcar needs no volumePluginDir of its own: since 3760 its default
    // /usr/libexec/kubernetes/kubelet-plugins/volume/exec is a link to a writable /var path.
    let kubelet = json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "containerRuntimeEndpoint": CRI_SOCKET,
        "clusterDNS": [plan.cluster_dns.to_string()],
        "clusterDomain": plan.dns_domain,
        "rotateCertificates": true,
    });
    multi_doc(&[init, cluster, kubelet])
}

/// JoinConfiguration for a worker: token discovery pinned to the CA hash, through the
/// node-local load balancer.
pub(super) fn join_config(plan: &Plan, node: &NodePlan, token: &Secret) -> String {
    to_yaml(&json!({
        "apiVersion": plan.kubeadm_api_version,
        "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {
            "apiServerEndpoint": plan.control_plane_endpoint,
            "token": token.expose(),
            "caCertHashes": [plan.ca_cert_hash],
        }},
        "nodeRegistration": node_registration(plan, node),
    }))
}
