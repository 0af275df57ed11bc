//! Typed mirrors of the kubeadm v1beta4 configuration documents and the kubelet v1beta1 one,
//! with `deny_unknown_fields`, so a field kubeadm does not know fails as kubeadm's strict
//! decoding fails.
//!
//! The kubeadm types are transcribed field by field from kubernetes/kubernetes
//! `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go` at commit
//! 1329935739c3aa007d23cb9a4dadfee9d59ff79b and `cmd/kubeadm/app/apis/bootstraptoken/v1/types.go`
//! at commit 95f08499d652a6211121d8af35f470609217c730 (v1beta4 has only grown by optional
//! fields since 1.31; k8sgen's default is 1.36.4). Every upstream field of the documents
//! k8sgen writes is here, under its json name, whether k8sgen writes it or not. A field
//! tagged `omitempty` upstream is an `Option` here; a field without
//! `omitempty` that kubeadm's validation needs (`discovery`, `token`, the external etcd
//! files, `Arg`'s name and value) is required. Go's decoder itself never requires a field,
//! so `taints` (no `omitempty`, but nil means "default taints") is optional.
//! Types follow upstream: `int32` is `i32`, `metav1.Duration` and `metav1.Time` are
//! strings, `corev1` values are their JSON shape.
#![allow(dead_code)]

use serde::Deserialize;
use std::collections::BTreeMap;

/// Every mirror derives `Deserialize` with upstream's camelCase json names and refuses
/// unknown fields, as kubeadm's strict decoding does; one place, so none can forget it.
macro_rules! mirror {
    ($($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* })*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Deserialize)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            pub struct $name { $($body)* }
        )*
    };
}

mirror! {
    pub struct Arg {
        pub name: String,
        pub value: String,
    }

    /// `corev1.Taint`.
    pub struct Taint {
        pub key: String,
        pub value: Option<String>,
        pub effect: String,
        pub time_added: Option<String>,
    }

    /// `EnvVar`, which inlines `corev1.EnvVar`.
    pub struct EnvVar {
        pub name: String,
        pub value: Option<String>,
        pub value_from: Option<serde_json::Value>,
    }

    pub struct HostPathMount {
        pub name: String,
        pub host_path: String,
        pub mount_path: String,
        pub read_only: Option<bool>,
        pub path_type: Option<String>,
    }

    pub struct Patches {
        pub directory: Option<String>,
    }

    /// Each a `metav1.Duration` (`"4m0s"`).
    pub struct Timeouts {
        pub control_plane_component_health_check: Option<String>,
        pub kubelet_health_check: Option<String>,
        #[serde(rename = "kubernetesAPICall")]
        pub kubernetes_api_call: Option<String>,
        #[serde(rename = "etcdAPICall")]
        pub etcd_api_call: Option<String>,
        #[serde(rename = "tlsBootstrap")]
        pub tls_bootstrap: Option<String>,
        pub discovery: Option<String>,
        pub upgrade_manifests: Option<String>,
    }

    pub struct NodeRegistrationOptions {
        pub name: Option<String>,
        #[serde(rename = "criSocket")]
        pub cri_socket: Option<String>,
        pub taints: Option<Vec<Taint>>,
        pub kubelet_extra_args: Option<Vec<Arg>>,
        pub ignore_preflight_errors: Option<Vec<String>>,
        pub image_pull_policy: Option<String>,
        pub image_pull_serial: Option<bool>,
    }

    pub struct ApiEndpoint {
        pub advertise_address: Option<String>,
        pub bind_port: Option<i32>,
    }

    /// bootstraptoken/v1 `BootstrapToken`.
    pub struct BootstrapToken {
        pub token: String,
        pub description: Option<String>,
        pub ttl: Option<String>,
        pub expires: Option<String>,
        pub usages: Option<Vec<String>>,
        pub groups: Option<Vec<String>>,
    }

    pub struct InitConfiguration {
        pub api_version: String,
        pub kind: String,
        pub bootstrap_tokens: Option<Vec<BootstrapToken>>,
        pub dry_run: Option<bool>,
        pub node_registration: Option<NodeRegistrationOptions>,
        #[serde(rename = "localAPIEndpoint")]
        pub local_api_endpoint: Option<ApiEndpoint>,
        pub certificate_key: Option<String>,
        pub skip_phases: Option<Vec<String>>,
        pub patches: Option<Patches>,
        pub timeouts: Option<Timeouts>,
    }

    pub struct Networking {
        pub service_subnet: Option<String>,
        pub pod_subnet: Option<String>,
        #[serde(rename = "dnsDomain")]
        pub dns_domain: Option<String>,
    }

    pub struct LocalEtcd {
        pub image_repository: Option<String>,
        pub image_tag: Option<String>,
        pub data_dir: Option<String>,
        pub extra_args: Option<Vec<Arg>>,
        pub extra_envs: Option<Vec<EnvVar>>,
        #[serde(rename = "serverCertSANs")]
        pub server_cert_sans: Option<Vec<String>>,
        #[serde(rename = "peerCertSANs")]
        pub peer_cert_sans: Option<Vec<String>>,
    }

    pub struct ExternalEtcd {
        pub endpoints: Vec<String>,
        #[serde(rename = "caFile")]
        pub ca_file: String,
        pub cert_file: String,
        pub key_file: String,
    }

    pub struct Etcd {
        pub local: Option<LocalEtcd>,
        pub external: Option<ExternalEtcd>,
    }

    pub struct ControlPlaneComponent {
        pub extra_args: Option<Vec<Arg>>,
        pub extra_volumes: Option<Vec<HostPathMount>>,
        pub extra_envs: Option<Vec<EnvVar>>,
    }

    /// `APIServer`: `ControlPlaneComponent` inlined, plus `certSANs`.
    pub struct ApiServer {
        pub extra_args: Option<Vec<Arg>>,
        pub extra_volumes: Option<Vec<HostPathMount>>,
        pub extra_envs: Option<Vec<EnvVar>>,
        #[serde(rename = "certSANs")]
        pub cert_sans: Option<Vec<String>>,
    }

    /// `DNS`: `ImageMeta` inlined, plus `disabled`.
    pub struct Dns {
        pub image_repository: Option<String>,
        pub image_tag: Option<String>,
        pub disabled: Option<bool>,
    }

    pub struct Proxy {
        pub disabled: Option<bool>,
    }

    pub struct ClusterConfiguration {
        pub api_version: String,
        pub kind: String,
        pub etcd: Option<Etcd>,
        pub networking: Option<Networking>,
        pub kubernetes_version: Option<String>,
        pub control_plane_endpoint: Option<String>,
        #[serde(rename = "apiServer")]
        pub api_server: Option<ApiServer>,
        pub controller_manager: Option<ControlPlaneComponent>,
        pub scheduler: Option<ControlPlaneComponent>,
        pub dns: Option<Dns>,
        pub proxy: Option<Proxy>,
        pub certificates_dir: Option<String>,
        pub image_repository: Option<String>,
        pub feature_gates: Option<BTreeMap<String, bool>>,
        pub cluster_name: Option<String>,
        pub encryption_algorithm: Option<String>,
        pub certificate_validity_period: Option<String>,
        #[serde(rename = "caCertificateValidityPeriod")]
        pub ca_certificate_validity_period: Option<String>,
    }

    pub struct BootstrapTokenDiscovery {
        pub token: String,
        #[serde(rename = "apiServerEndpoint")]
        pub api_server_endpoint: Option<String>,
        #[serde(rename = "caCertHashes")]
        pub ca_cert_hashes: Option<Vec<String>>,
        #[serde(rename = "unsafeSkipCAVerification")]
        pub unsafe_skip_ca_verification: Option<bool>,
    }

    pub struct FileDiscovery {
        pub kube_config_path: String,
    }

    pub struct Discovery {
        pub bootstrap_token: Option<BootstrapTokenDiscovery>,
        pub file: Option<FileDiscovery>,
        #[serde(rename = "tlsBootstrapToken")]
        pub tls_bootstrap_token: Option<String>,
    }

    pub struct JoinControlPlane {
        #[serde(rename = "localAPIEndpoint")]
        pub local_api_endpoint: Option<ApiEndpoint>,
        pub certificate_key: Option<String>,
    }

    pub struct JoinConfiguration {
        pub api_version: String,
        pub kind: String,
        pub dry_run: Option<bool>,
        pub node_registration: Option<NodeRegistrationOptions>,
        #[serde(rename = "caCertPath")]
        pub ca_cert_path: Option<String>,
        pub discovery: Discovery,
        pub control_plane: Option<JoinControlPlane>,
        pub skip_phases: Option<Vec<String>>,
        pub patches: Option<Patches>,
        pub timeouts: Option<Timeouts>,
    }

    /// kubelet.config.k8s.io/v1beta1 KubeletConfiguration: only the fields k8sgen sets, so any
    /// other field fails until it is added here from upstream
    /// (kubernetes/kubernetes `staging/src/k8s.io/kubelet/config/v1beta1/types.go`).
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
}
