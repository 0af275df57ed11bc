//! Flatcar's reboot coordinator, as flatcar-linux-update-operator (FLUO) deploys itself
//! (`examples/deploy/` at v0.9.0): an update-agent DaemonSet on every node, masters included,
//! that reports when update_engine has staged an update and reboots its node when told, and
//! one update-operator that lets one node at a time drain and reboot. Flatcar's own
//! locksmithd would otherwise reboot every node minutes after an update lands, all three etcd
//! members together; k8sgen turns it off (`REBOOT_STRATEGY=off`, masked) on Flatcar nodes and
//! the init master applies this in its cluster-addons step.

use super::kubeadm::multi_doc;
use crate::catalog;
use serde_json::{Value, json};

const NAMESPACE: &str = "reboot-coordinator";
const AGENT: &str = "flatcar-linux-update-agent";
const OPERATOR: &str = "flatcar-linux-update-operator";
const OPERATOR_ACCOUNT: &str = "flatcar-linux-update-operator-sa";

/// Where the add-on's manifests go on the init master.
pub(super) const PATH: &str = "/etc/kubernetes/k8sgen/addons/flatcar-update-operator.yaml";

/// `/etc/flatcar/update.conf` on every Flatcar node: update_engine still downloads and stages
/// updates; locksmithd, which would reboot at once (after 5 minutes when someone is logged
/// in: locksmith `locksmithctl/daemon.go`), exits at start instead.
pub(super) const UPDATE_CONF: &str = "# k8sgen: FLUO (reboot-coordinator namespace) reboots one node at a time, drained\n\
REBOOT_STRATEGY=off\n";

/// Every object, in the order they must exist.
pub(super) fn manifests() -> String {
    let mut docs = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        service_account(AGENT),
        service_account(OPERATOR_ACCOUNT),
    ];
    docs.extend(rbac());
    docs.push(agent());
    docs.push(operator());
    multi_doc(&docs)
}

fn service_account(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": name, "namespace": NAMESPACE}})
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
}

/// Upstream's `rbac/`: the two ClusterRoles and their bindings, and the operator's Role for its
/// leader-election lock. Upstream's second RoleBinding names a Role `flatcar-linux-update-agent`
/// that it never defines; it grants nothing and is left out.
fn rbac() -> Vec<Value> {
    let node_rw = ["get", "list", "watch", "update"];
    let lock = "flatcar-linux-update-operator-lock";
    vec![
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": OPERATOR},
               "rules": [rule("", &["nodes"], &node_rw)]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": AGENT},
        "rules": [
            rule("", &["nodes"], &node_rw),
            rule("", &["pods"], &["get", "list", "delete"]),
            rule("", &["pods/eviction"], &["create"]),
            rule("apps", &["daemonsets"], &["get"]),
        ]}),
        cluster_role_binding(OPERATOR, OPERATOR_ACCOUNT),
        cluster_role_binding(AGENT, AGENT),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": OPERATOR, "namespace": NAMESPACE},
        "rules": [
            rule("", &["configmaps"], &["create"]),
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [lock],
             "verbs": ["get", "update"]},
            rule("", &["events"], &["create", "watch"]),
            rule("coordination.k8s.io", &["leases"], &["create"]),
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "resourceNames": [lock], "verbs": ["get", "update"]},
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": OPERATOR, "namespace": NAMESPACE},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": OPERATOR},
               "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_ACCOUNT, "namespace": NAMESPACE}]}),
    ]
}

fn cluster_role_binding(role: &str, account: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
           "metadata": {"name": role},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
           "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]})
}

/// Both run on the masters too: their etcd members are rebooted one at a time like any node.
fn tolerations() -> Value {
    json!([
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
    ])
}

fn namespace_env() -> Value {
    json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
}

/// The agent talks to update_engine and logind over the system bus and reads the update group
/// and OS version from the host, as root (the image's default user may not reboot through
/// logind).
fn agent() -> Value {
    let host = [
        ("var-run-dbus", "/var/run/dbus", false),
        ("etc-flatcar", "/etc/flatcar", true),
        ("usr-share-flatcar", "/usr/share/flatcar", true),
        ("etc-os-release", "/etc/os-release", true),
    ];
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": AGENT, "namespace": NAMESPACE},
        "spec": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": {"app": AGENT}},
            "template": {
                "metadata": {"labels": {"app": AGENT}},
                "spec": {
                    "serviceAccountName": AGENT,
                    "containers": [{
                        "name": "update-agent",
                        "image": catalog::FLUO_IMAGE,
                        "command": ["/bin/update-agent"],
                        "volumeMounts": host.iter().map(|(name, path, ro)| json!(
                            {"name": name, "mountPath": path, "readOnly": ro})).collect::<Vec<_>>(),
                        "env": [
                            {"name": "UPDATE_AGENT_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                            namespace_env(),
                        ],
                        "securityContext": {"runAsUser": 0},
                    }],
                    "tolerations": tolerations(),
                    "volumes": host.iter().map(|(name, path, _)| json!(
                        {"name": name, "hostPath": {"path": path}})).collect::<Vec<_>>(),
                },
            },
        },
    })
}

fn operator() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": OPERATOR, "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": OPERATOR}},
            "template": {
                "metadata": {"labels": {"app": OPERATOR}},
                "spec": {
                    "serviceAccountName": OPERATOR_ACCOUNT,
                    "containers": [{
                        "name": "update-operator",
                        "image": catalog::FLUO_IMAGE,
                        "command": ["/bin/update-operator"],
                        "env": [namespace_env()],
                    }],
                    "tolerations": tolerations(),
                },
            },
        },
    })
}
