//! The OpenStack cloud-controller-manager as upstream deploys it (cloud-provider-openstack
//! `manifests/controller-manager/` at v1.36.0): a DaemonSet on the control-plane nodes with a
//! ServiceAccount of its own, per-controller service-account credentials, its RBAC, and
//! `cloud.conf` from the Secret `kube-system/cloud-config` (key `cloud.conf`), which the init
//! master's cluster-addons step creates from its own file before applying this. No client
//! certificate of its own, so nothing expires a year later. Applied in one `kubectl apply`,
//! RBAC before the DaemonSet, so OCCM never starts without its permissions.

use super::kubeadm::multi_doc;
use crate::plan::Plan;
use serde_json::{Value, json};

const NAMESPACE: &str = "kube-system";
/// OCCM's own ServiceAccount (upstream's name).
const SERVICE_ACCOUNT: &str = "cloud-controller-manager";
/// The Secret the cluster-addons step makes from the init master's cloud.conf; Cinder CSI
/// reads the same one (upstream's name and key).
pub(super) const CLOUD_CONFIG_SECRET: &str = "cloud-config";
/// Where pods mount that Secret (upstream's path).
const CLOUD_CONFIG_DIR: &str = "/etc/config";

/// Every object, in the order they must exist.
pub(super) fn manifests(plan: &Plan) -> String {
    let mut docs = vec![json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE},
    })];
    docs.extend(rbac());
    docs.push(daemonset(plan));
    multi_doc(&docs)
}

fn service_account_subject(name: &str) -> Value {
    json!([{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}])
}

fn cluster_role_binding(name: &str, role: &str, subjects: Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

/// Upstream's two ClusterRoles and bindings (`cloud-controller-manager-roles.yaml`,
/// `-role-bindings.yaml`). With `--use-service-account-credentials` (which the issue asks for
/// and upstream's DaemonSet leaves off) each controller acts as a ServiceAccount OCCM creates:
/// cloud-node and cloud-node-lifecycle as `node-controller`, service as `service-controller`
/// (route, which needs `[Route] router-id`, as `route-controller`); their roles and bindings
/// are the API server's bootstrap policy (k8s.io/cloud-provider `app/controllermanager.go`).
/// `system:cloud-node-controller` is kept as upstream ships it. Plus what upstream leaves to
/// its Helm chart and `docs/metrics.md`: the delegated authentication of OCCM's secure port,
/// `system:auth-delegator` (TokenReviews, SubjectAccessReviews), and the
/// `extension-apiserver-authentication-reader` Role, without which OCCM exits.
fn rbac() -> Vec<Value> {
    let all = json!(["*"]);
    let manager = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "system:cloud-controller-manager"},
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
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "get", "watch"]},
        ],
    });
    let node_controller = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "system:cloud-node-controller"},
        "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": all},
            {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        ],
    });
    let auth_reader = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "k8sgen:cloud-controller-manager:auth-reader", "namespace": NAMESPACE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "extension-apiserver-authentication-reader"},
        "subjects": service_account_subject(SERVICE_ACCOUNT),
    });
    vec![
        manager,
        node_controller,
        cluster_role_binding(
            "system:cloud-controller-manager",
            "system:cloud-controller-manager",
            service_account_subject(SERVICE_ACCOUNT),
        ),
        cluster_role_binding(
            "system:cloud-node-controller",
            "system:cloud-node-controller",
            service_account_subject("cloud-node-controller"),
        ),
        cluster_role_binding(
            "k8sgen:cloud-controller-manager:auth-delegator",
            "system:auth-delegator",
            service_account_subject(SERVICE_ACCOUNT),
        ),
        auth_reader,
    ]
}

/// One OCCM per control-plane node (leader-elected), host-networked: it must run before any
/// node is initialized, when no pod network exists yet. kube-proxy is never installed and
/// kube-router may not serve the API's ClusterIP yet, so the in-cluster client is pointed at
/// the node-local API load balancer (`KUBERNETES_SERVICE_HOST/PORT`, which client-go's
/// in-cluster configuration reads; 127.0.0.1 is in the API certificate).
fn daemonset(plan: &Plan) -> Value {
    let labels = json!({"k8s-app": "openstack-cloud-controller-manager"});
    let (lb_host, lb_port) = plan
        .control_plane_endpoint
        .rsplit_once(':')
        .expect("the plan's control-plane endpoint is HOST:PORT");
    let mut mounts = vec![
        json!({"name": "cloud-config", "mountPath": CLOUD_CONFIG_DIR, "readOnly": true}),
        json!({"name": "ca-certs", "mountPath": "/etc/ssl/certs", "readOnly": true}),
    ];
    let mut volumes = vec![
        json!({"name": "cloud-config", "secret": {"secretName": CLOUD_CONFIG_SECRET}}),
        json!({"name": "ca-certs", "hostPath": {"path": "/etc/ssl/certs", "type": "DirectoryOrCreate"}}),
    ];
    // The cloud's own CA (cloud.conf `ca-file`) is on every master, at the path cloud.conf
    // names.
    if plan.openstack.ca_pem.is_some() {
        let ca = super::master::CLOUD_CA;
        mounts.push(json!({"name": "cloud-ca", "mountPath": ca, "readOnly": true}));
        volumes.push(json!({"name": "cloud-ca", "hostPath": {"path": ca, "type": "File"}}));
    }
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "openstack-cloud-controller-manager", "namespace": NAMESPACE,
                     "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
                    "securityContext": {"runAsUser": 1001},
                    "tolerations": [
                        {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true", "effect": "NoSchedule"},
                        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoExecute"},
                        {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                    ],
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "priorityClassName": "system-cluster-critical",
                    "hostNetwork": true,
                    "containers": [{
                        "name": "openstack-cloud-controller-manager",
                        "image": plan.occm_image,
                        "command": ["/bin/openstack-cloud-controller-manager"],
                        "args": [
                            "--v=1",
                            "--cloud-provider=openstack",
                            format!("--cloud-config={CLOUD_CONFIG_DIR}/cloud.conf"),
                            format!("--cluster-name={}", plan.cluster_name),
                            "--use-service-account-credentials=true",
                            "--leader-elect=true",
                            "--bind-address=127.0.0.1",
                        ],
                        "env": [
                            {"name": "KUBERNETES_SERVICE_HOST", "value": lb_host},
                            {"name": "KUBERNETES_SERVICE_PORT", "value": lb_port},
                        ],
                        "resources": {"requests": {"cpu": "200m"}},
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    })
}
