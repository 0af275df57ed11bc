//! kube-router's manifests (CNI, BGP, network policy, service proxy), which the init master
//! applies. Structured values, serialized; names and flags from reference §6. OCCM's are in
//! `occm`.

use super::kubeadm::{multi_doc, to_yaml};
use crate::plan::Plan;
use serde_json::{Value, json};

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
                        // kube-router adds the node's pod CIDR to the file at each start, so
                        // it is copied only when missing or when the ConfigMap's version changed
                        // (kept beside it under a name CNI does not load): a copy at every
                        // restart would take the subnet away again for a moment.
                        "command": ["/bin/sh", "-c",
                            "set -e; src=/etc/kube-router/cni-conf.json; d=/etc/cni/net.d; \
                             f=$d/10-kuberouter.conflist; seen=$d/.kuberouter-src; \
                             if [ -f \"$f\" ] && cmp -s \"$src\" \"$seen\"; then exit 0; fi; \
                             cp \"$src\" $d/.10-kuberouter.tmp; mv $d/.10-kuberouter.tmp \"$f\"; \
                             cp \"$src\" $d/.kuberouter-src.tmp; mv $d/.kuberouter-src.tmp \"$seen\""],
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
