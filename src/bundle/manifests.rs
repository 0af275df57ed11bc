//! Kubernetes manifests the masters carry: kube-router (CNI, BGP, network policy, service
//! proxy) and the OpenStack cloud-controller-manager (static pod + RBAC). Structured values,
//! serialized; names and flags from reference §6 and §7.

use super::kubeadm::{multi_doc, to_yaml};
use crate::plan::Plan;
use serde_json::{Value, json};

pub(super) const OCCM_USER: &str = "system:cloud-controller-manager";

/// Everything kube-router needs, applied once by the init master.
pub(super) fn kube_router(plan: &Plan) -> String {
    let labels = json!({"k8s-app": "kube-router", "tier": "node"});
    let [service_account, role, binding] = kube_router_rbac();
    let config = kube_router_config(plan, &labels);
    let daemonset = kube_router_daemonset(plan, &labels);
    multi_doc(&[service_account, role, binding, config, daemonset])
}

/// kube-router's service account, its read access to the cluster, and the binding.
fn kube_router_rbac() -> [Value; 3] {
    let read = json!(["get", "list", "watch"]);
    let service_account = json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "kube-router", "namespace": "kube-system"},
    });
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "kube-router"},
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "nodes", "endpoints"], "verbs": read},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": read},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
            {"apiGroups": [""], "resources": ["services/status"], "verbs": ["update"]},
        ],
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "kube-router"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kube-router"},
        "subjects": [{"kind": "ServiceAccount", "name": "kube-router", "namespace": "kube-system"}],
    });
    [service_account, role, binding]
}

/// The CNI configuration the init container installs, and kube-router's kubeconfig.
fn kube_router_config(plan: &Plan, labels: &Value) -> Value {
    let cni_conf = serde_json::to_string_pretty(&json!({
        "cniVersion": "0.3.0",
        "name": "kubernetes",
        "plugins": [
            {"name": "kubernetes", "type": "bridge", "bridge": "kube-bridge",
             "isDefaultGateway": true, "hairpinMode": true, "ipam": {"type": "host-local"}},
            {"type": "portmap", "capabilities": {"snat": true, "portMappings": true}},
        ],
    }))
    .expect("JSON values always serialize");
    // kube-proxy is never installed, so nothing serves the API's ClusterIP before kube-router
    // runs: it talks to the node-local load balancer instead.
    let kubeconfig = to_yaml(&json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": {
            "certificate-authority": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
            "server": format!("https://{}", plan.control_plane_endpoint),
        }}],
        "users": [{"name": "kube-router", "user": {
            "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
        }}],
        "contexts": [{"name": "kube-router", "context": {"cluster": "cluster", "user": "kube-router"}}],
        "current-context": "kube-router",
    }));
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kube-router-cfg", "namespace": "kube-system", "labels": labels},
        "data": {"cni-conf.json": cni_conf + "\n", "kubeconfig": kubeconfig},
    })
}

/// One kube-router per node, host-networked and privileged (it programs routes, ipsets and
/// IPVS), with the CNI configuration copied in by an init container.
fn kube_router_daemonset(plan: &Plan, labels: &Value) -> Value {
    let args: Vec<String> = vec![
        format!("--run-router={}", plan.kube_router_bgp),
        format!("--run-firewall={}", plan.kube_router_network_policy),
        "--run-service-proxy=true".into(),
        "--bgp-graceful-restart=true".into(),
        format!("--service-cluster-ip-range={}", plan.service_subnet),
        "--kubeconfig=/var/lib/kube-router/kubeconfig".into(),
    ];
    let mount = |name: &str, path: &str, read_only: bool| json!({"name": name, "mountPath": path, "readOnly": read_only});
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-router", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-router",
                    "hostNetwork": true,
                    "hostPID": true,
                    // Runs before OCCM initializes nodes and on tainted masters.
                    "tolerations": [
                        {"effect": "NoSchedule", "operator": "Exists"},
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"effect": "NoExecute", "operator": "Exists"},
                    ],
                    "initContainers": [{
                        "name": "install-cni",
                        "image": plan.kube_router_image,
                        "command": ["/bin/sh", "-c",
                            "set -e; cp /etc/kube-router/cni-conf.json /etc/cni/net.d/.10-kuberouter.tmp; \
                             mv /etc/cni/net.d/.10-kuberouter.tmp /etc/cni/net.d/10-kuberouter.conflist"],
                        "volumeMounts": [mount("cni-conf-dir", "/etc/cni/net.d", false),
                                         mount("kube-router-cfg", "/etc/kube-router", true)],
                    }],
                    "containers": [{
                        "name": "kube-router",
                        "image": plan.kube_router_image,
                        "args": args,
                        "env": [
                            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "KUBE_ROUTER_CNI_CONF_FILE", "value": "/etc/cni/net.d/10-kuberouter.conflist"},
                        ],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 20244},
                                          "initialDelaySeconds": 10, "periodSeconds": 3},
                        "resources": {"requests": {"cpu": "250m", "memory": "250Mi"}},
                        "securityContext": {"privileged": true},
                        "volumeMounts": [
                            mount("lib-modules", "/lib/modules", true),
                            mount("cni-conf-dir", "/etc/cni/net.d", false),
                            mount("kubeconfig", "/var/lib/kube-router", true),
                            mount("xtables-lock", "/run/xtables.lock", false),
                        ],
                    }],
                    "volumes": [
                        {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                        {"name": "cni-conf-dir", "hostPath": {"path": "/etc/cni/net.d"}},
                        {"name": "kube-router-cfg", "configMap": {"name": "kube-router-cfg",
                            "items": [{"key": "cni-conf.json", "path": "cni-conf.json"}]}},
                        {"name": "kubeconfig", "configMap": {"name": "kube-router-cfg",
                            "items": [{"key": "kubeconfig", "path": "kubeconfig"}]}},
                        {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                    ],
                },
            },
        },
    })
}

/// RBAC for OCCM's own client identity (a certificate minted on each master).
pub(super) fn occm_rbac() -> String {
    let all = json!(["*"]);
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": OCCM_USER},
        "rules": [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": all},
            {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["list", "patch", "update", "watch"]},
            {"apiGroups": [""], "resources": ["services/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["create", "get"]},
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": all},
            {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["create", "get", "list", "watch", "update"]},
            {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]},
        ],
    });
    let user =
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OCCM_USER}]);
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": OCCM_USER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": OCCM_USER},
        "subjects": user,
    });
    // Delegated authentication of its secure port reads this ConfigMap-backed role.
    let auth_reader = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "k8sgen:cloud-controller-manager:auth-reader", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "extension-apiserver-authentication-reader"},
        "subjects": user,
    });
    multi_doc(&[role, binding, auth_reader])
}

/// OCCM as a static pod: static pods cannot mount Secrets, so cloud.conf and the kubeconfig
/// come from hostPath files (root-only, hence `runAsUser: 0`); so does the cloud's CA bundle
/// when the spec gives one, at the path cloud.conf's `ca-file` names.
pub(super) fn occm_static_pod(plan: &Plan) -> String {
    let kubeconfig = "/etc/kubernetes/cloud-controller-manager.conf";
    let file =
        |name: &str, path: &str| json!({"name": name, "hostPath": {"path": path, "type": "File"}});
    let mut pod: Value = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "openstack-cloud-controller-manager", "namespace": "kube-system",
                     "labels": {"component": "openstack-cloud-controller-manager", "tier": "control-plane"}},
        "spec": {
            "hostNetwork": true,
            "priorityClassName": "system-node-critical",
            "securityContext": {"runAsUser": 0},
            "containers": [{
                "name": "openstack-cloud-controller-manager",
                "image": plan.occm_image,
                "command": ["/bin/openstack-cloud-controller-manager"],
                "args": [
                    "--v=1",
                    "--cloud-provider=openstack",
                    "--cloud-config=/etc/kubernetes/cloud.conf",
                    format!("--cluster-name={}", plan.cluster_name),
                    format!("--kubeconfig={kubeconfig}"),
                    format!("--authentication-kubeconfig={kubeconfig}"),
                    format!("--authorization-kubeconfig={kubeconfig}"),
                    "--use-service-account-credentials=false",
                    "--leader-elect=true",
                    "--bind-address=127.0.0.1",
                ],
                "resources": {"requests": {"cpu": "200m"}},
                "volumeMounts": [
                    {"name": "cloud-config", "mountPath": "/etc/kubernetes/cloud.conf", "readOnly": true},
                    {"name": "kubeconfig", "mountPath": kubeconfig, "readOnly": true},
                    {"name": "ca-certs", "mountPath": "/etc/ssl/certs", "readOnly": true},
                ],
            }],
            "volumes": [
                file("cloud-config", "/etc/kubernetes/cloud.conf"),
                file("kubeconfig", kubeconfig),
                {"name": "ca-certs", "hostPath": {"path": "/etc/ssl/certs", "type": "DirectoryOrCreate"}},
            ],
        },
    });
    if plan.openstack.ca_pem.is_some() {
        let ca = super::master::CLOUD_CA;
        let spec = &mut pod["spec"];
        if let Some(mounts) = spec["containers"][0]["volumeMounts"].as_array_mut() {
            mounts.push(json!({"name": "cloud-ca", "mountPath": ca, "readOnly": true}));
        }
        if let Some(volumes) = spec["volumes"].as_array_mut() {
            volumes.push(file("cloud-ca", ca));
        }
    }
    to_yaml(&pod)
}
