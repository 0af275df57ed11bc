//! Typed mirrors of the kubeadm v1beta4 and kubelet v1beta1 configuration documents, with
//! `deny_unknown_fields`, so a misspelled or misplaced field in a rendered config fails.
//!
//! Field names cross-checked with kubernetes/kubernetes
//! `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go` (InitConfiguration, ClusterConfiguration,
//! JoinConfiguration, NodeRegistrationOptions, APIEndpoint, Networking, Etcd/ExternalEtcd,
//! APIServer, Discovery/BootstrapTokenDiscovery, Arg) and
//! `cmd/kubeadm/app/apis/bootstraptoken/v1/types.go` (BootstrapToken), plus the v1beta4
//! additions listed in kubernetes/website
//! `content/en/docs/reference/config-api/kubeadm-config.v1beta4.md` (encryptionAlgorithm,
//! certificateValidityPeriod, caCertificateValidityPeriod, dns/proxy `disabled`, extraEnvs,
//! timeouts, imagePullSerial). Only the fields k8sgen may write are modelled; any other key is
//! an error by design.
#![allow(dead_code)]

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Arg {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeRegistrationOptions {
    pub name: String,
    #[serde(rename = "criSocket")]
    pub cri_socket: String,
    pub taints: Option<Vec<Taint>>,
    #[serde(default)]
    pub kubelet_extra_args: Vec<Arg>,
    #[serde(default)]
    pub ignore_preflight_errors: Vec<String>,
    pub image_pull_policy: Option<String>,
    pub image_pull_serial: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiEndpoint {
    pub advertise_address: String,
    pub bind_port: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapToken {
    pub token: String,
    pub description: Option<String>,
    pub ttl: Option<String>,
    pub expires: Option<String>,
    #[serde(default)]
    pub usages: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitConfiguration {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub bootstrap_tokens: Vec<BootstrapToken>,
    pub dry_run: Option<bool>,
    pub node_registration: NodeRegistrationOptions,
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: ApiEndpoint,
    pub certificate_key: Option<String>,
    #[serde(default)]
    pub skip_phases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    pub service_subnet: String,
    pub pod_subnet: String,
    pub dns_domain: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalEtcd {
    pub endpoints: Vec<String>,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Etcd {
    pub external: ExternalEtcd,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServer {
    #[serde(rename = "certSANs", default)]
    pub cert_sans: Vec<String>,
    #[serde(default)]
    pub extra_args: Vec<Arg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disabled {
    pub disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlaneComponent {
    #[serde(default)]
    pub extra_args: Vec<Arg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfiguration {
    pub api_version: String,
    pub kind: String,
    pub cluster_name: String,
    pub kubernetes_version: String,
    pub control_plane_endpoint: String,
    pub certificates_dir: String,
    pub encryption_algorithm: String,
    pub certificate_validity_period: Option<String>,
    pub ca_certificate_validity_period: Option<String>,
    pub networking: Networking,
    pub etcd: Etcd,
    #[serde(rename = "apiServer")]
    pub api_server: ApiServer,
    pub controller_manager: Option<ControlPlaneComponent>,
    pub dns: Option<Disabled>,
    pub proxy: Option<Disabled>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapTokenDiscovery {
    pub api_server_endpoint: String,
    pub token: String,
    #[serde(default)]
    pub ca_cert_hashes: Vec<String>,
    pub unsafe_skip_ca_verification: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Discovery {
    pub bootstrap_token: BootstrapTokenDiscovery,
    pub tls_bootstrap_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinConfiguration {
    pub api_version: String,
    pub kind: String,
    pub node_registration: NodeRegistrationOptions,
    pub ca_cert_path: Option<String>,
    pub discovery: Discovery,
    #[serde(default)]
    pub skip_phases: Vec<String>,
}

/// kubelet.config.k8s.io/v1beta1 KubeletConfiguration, the fields k8sgen sets
/// (kubernetes/kubernetes `staging/src/k8s.io/kubelet/config/v1beta1/types.go`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeletConfiguration {
    pub api_version: String,
    pub kind: String,
    pub cgroup_driver: String,
    pub container_runtime_endpoint: String,
    #[serde(rename = "clusterDNS")]
    pub cluster_dns: Vec<String>,
    pub cluster_domain: String,
    pub rotate_certificates: bool,
    pub volume_plugin_dir: Option<String>,
}
