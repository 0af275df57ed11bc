//! Cinder volumes for PersistentVolumes: the cinder-csi-plugin controller (a Deployment on the
//! control-plane nodes) and node plugin (a DaemonSet on every node) with their sidecars,
//! their RBAC, the CSIDriver object and a default StorageClass. Shapes, flags and rules follow
//! cloud-provider-openstack's `manifests/cinder-csi-plugin/` at v1.36.0; the credential is
//! OCCM's, from the same Secret (`kube-system/cloud-config`). Applied by the init master after
//! that Secret exists (`cluster-addons`), when `cloud.openstack.blockStorage.csi` is on.

use super::kubeadm::multi_doc;
use super::occm::CLOUD_CONFIG_SECRET;
use crate::catalog;
use crate::plan::Plan;
use serde_json::{Value, json};

const NAMESPACE: &str = "kube-system";
pub(super) const DRIVER: &str = "cinder.csi.openstack.org";
const CONTROLLER_SA: &str = "csi-cinder-controller-sa";
const NODE_SA: &str = "csi-cinder-node-sa";
/// The StorageClass PersistentVolumeClaims get when they name none.
pub(super) const STORAGE_CLASS: &str = "cinder";

/// Every object, RBAC before the workloads that use it.
pub(super) fn manifests(plan: &Plan) -> String {
    let mut docs = vec![service_account(CONTROLLER_SA), service_account(NODE_SA)];
    docs.extend(controller_rbac());
    docs.extend(node_rbac());
    docs.push(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
        "metadata": {"name": DRIVER},
        "spec": {"attachRequired": true, "podInfoOnMount": true,
                 "volumeLifecycleModes": ["Persistent", "Ephemeral"]},
    }));
    docs.push(controller(plan));
    docs.push(node_plugin(plan));
    docs.push(storage_class(plan));
    multi_doc(&docs)
}

fn service_account(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": name, "namespace": NAMESPACE}})
}

fn role_and_binding(role: &str, subject: &str, rules: Value) -> [Value; 2] {
    [
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": role}, "rules": rules}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": role.replace("-role", "-binding")},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               "subjects": [{"kind": "ServiceAccount", "name": subject, "namespace": NAMESPACE}]}),
    ]
}

/// The attacher's, provisioner's and resizer's rules (upstream's
/// `cinder-csi-controllerplugin-rbac.yaml`, without the snapshotter's).
fn controller_rbac() -> Vec<Value> {
    let read = json!(["get", "list", "watch"]);
    let leases = json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                        "verbs": ["get", "watch", "list", "delete", "update", "create"]});
    let events = json!({"apiGroups": [""], "resources": ["events"],
                        "verbs": ["list", "watch", "create", "update", "patch"]});
    let attacher = json!([
        {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["csinodes"], "verbs": read},
        {"apiGroups": ["storage.k8s.io"], "resources": ["volumeattachments"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["volumeattachments/status"], "verbs": ["patch"]},
        leases,
    ]);
    let provisioner = json!([
        {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch", "update"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": read},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": read},
        {"apiGroups": ["storage.k8s.io"], "resources": ["csinodes"], "verbs": read},
        events,
        {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"], "verbs": ["get", "list"]},
        {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshotcontents"], "verbs": ["get", "list"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["volumeattachments"], "verbs": read},
        leases,
    ]);
    let resizer = json!([
        {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": read},
        {"apiGroups": [""], "resources": ["pods"], "verbs": read},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims/status"], "verbs": ["patch"]},
        events,
        leases,
    ]);
    [
        role_and_binding("csi-attacher-role", CONTROLLER_SA, attacher),
        role_and_binding("csi-provisioner-role", CONTROLLER_SA, provisioner),
        role_and_binding("csi-resizer-role", CONTROLLER_SA, resizer),
    ]
    .concat()
}

fn node_rbac() -> Vec<Value> {
    role_and_binding(
        "csi-nodeplugin-role",
        NODE_SA,
        json!([{"apiGroups": [""], "resources": ["events"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"]}]),
    )
    .to_vec()
}

fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn mount(name: &str, path: &str) -> Value {
    json!({"name": name, "mountPath": path})
}

fn healthz(period: u32, timeout: u32) -> Value {
    json!({"failureThreshold": 5, "httpGet": {"path": "/healthz", "port": "healthz"},
           "initialDelaySeconds": 10, "timeoutSeconds": timeout, "periodSeconds": period})
}

/// One controller, leader-elected sidecars, on a control-plane node: there, with the spec's
/// `caFile`, the cloud's CA is at the path cloud.conf's `ca-file` names, as for OCCM.
fn controller(plan: &Plan) -> Value {
    let labels = json!({"app": "csi-cinder-controllerplugin"});
    let socket = "/var/lib/csi/sockets/pluginproxy/";
    let sidecar = |name: &str, image: &str, extra: &[&str]| {
        let mut args = vec!["--csi-address=$(ADDRESS)".to_string()];
        args.extend(extra.iter().map(|a| a.to_string()));
        json!({"name": name, "image": image, "args": args,
               "env": [env("ADDRESS", &format!("{socket}csi.sock"))],
               "volumeMounts": [mount("socket-dir", socket)]})
    };
    let mut plugin_mounts = vec![
        mount("socket-dir", "/csi"),
        json!({"name": "cloud-config", "mountPath": "/etc/config", "readOnly": true}),
    ];
    let mut volumes = vec![
        json!({"name": "socket-dir", "emptyDir": {}}),
        json!({"name": "cloud-config", "secret": {"secretName": CLOUD_CONFIG_SECRET}}),
    ];
    if plan.openstack.ca_pem.is_some() {
        let ca = super::master::CLOUD_CA;
        plugin_mounts.push(json!({"name": "cloud-ca", "mountPath": ca, "readOnly": true}));
        volumes.push(json!({"name": "cloud-ca", "hostPath": {"path": ca, "type": "File"}}));
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "csi-cinder-controllerplugin", "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": CONTROLLER_SA,
                    "priorityClassName": "system-cluster-critical",
                    "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
                    "tolerations": [
                        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                    ],
                    "containers": [
                        sidecar("csi-attacher", catalog::CSI_ATTACHER_IMAGE,
                                &["--timeout=3m", "--leader-election=true", "--default-fstype=ext4"]),
                        sidecar("csi-provisioner", catalog::CSI_PROVISIONER_IMAGE,
                                &["--timeout=3m", "--default-fstype=ext4", "--feature-gates=Topology=true",
                                  "--extra-create-metadata", "--leader-election=true"]),
                        sidecar("csi-resizer", catalog::CSI_RESIZER_IMAGE,
                                &["--timeout=3m", "--handle-volume-inuse-error=false", "--leader-election=true"]),
                        sidecar("liveness-probe", catalog::CSI_LIVENESS_PROBE_IMAGE, &[]),
                        {
                            "name": "cinder-csi-plugin",
                            "image": plan.cinder_csi_image,
                            "args": ["/bin/cinder-csi-plugin", "--endpoint=$(CSI_ENDPOINT)",
                                     "--cloud-config=$(CLOUD_CONFIG)", "--cluster=$(CLUSTER_NAME)",
                                     "--pvc-annotations", "--v=1"],
                            "env": [env("CSI_ENDPOINT", "unix://csi/csi.sock"),
                                    env("CLOUD_CONFIG", "/etc/config/cloud.conf"),
                                    env("CLUSTER_NAME", &plan.cluster_name)],
                            "ports": [{"containerPort": 9808, "name": "healthz", "protocol": "TCP"}],
                            "livenessProbe": healthz(60, 10),
                            "volumeMounts": plugin_mounts,
                        },
                    ],
                    "volumes": volumes,
                },
            },
        },
    })
}

/// The node plugin on every node (it tolerates every taint), privileged, with the kubelet's
/// directory shared both ways so the mounts it makes reach the pods. Unlike upstream's it is
/// given no cloud.conf: with `--provide-controller-service=false` it never builds an
/// OpenStack client (v1.36.0 `cmd/cinder-csi-plugin/main.go`) and reads only the metadata
/// service, so the credential stays off the workers; `[BlockStorage]` keeps its defaults.
fn node_plugin(plan: &Plan) -> Value {
    let labels = json!({"app": "csi-cinder-nodeplugin"});
    let host = |name: &str, path: &str, kind: &str| json!({"name": name, "hostPath": {"path": path, "type": kind}});
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "csi-cinder-nodeplugin", "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "tolerations": [{"operator": "Exists"}],
                    "serviceAccountName": NODE_SA,
                    "priorityClassName": "system-node-critical",
                    "hostNetwork": true,
                    "containers": [
                        {
                            "name": "node-driver-registrar",
                            "image": catalog::CSI_NODE_REGISTRAR_IMAGE,
                            "args": ["--csi-address=$(ADDRESS)",
                                     "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)"],
                            "env": [env("ADDRESS", "/csi/csi.sock"),
                                    env("DRIVER_REG_SOCK_PATH",
                                        &format!("/var/lib/kubelet/plugins/{DRIVER}/csi.sock")),
                                    {"name": "KUBE_NODE_NAME",
                                     "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                            "volumeMounts": [mount("socket-dir", "/csi"),
                                             mount("registration-dir", "/registration")],
                        },
                        {
                            "name": "liveness-probe",
                            "image": catalog::CSI_LIVENESS_PROBE_IMAGE,
                            "args": ["--csi-address=/csi/csi.sock"],
                            "volumeMounts": [mount("socket-dir", "/csi")],
                        },
                        {
                            "name": "cinder-csi-plugin",
                            "image": plan.cinder_csi_image,
                            "securityContext": {"privileged": true,
                                                "capabilities": {"add": ["SYS_ADMIN"]},
                                                "allowPrivilegeEscalation": true},
                            "args": ["/bin/cinder-csi-plugin", "--endpoint=$(CSI_ENDPOINT)",
                                     "--provide-controller-service=false", "--v=1"],
                            "env": [env("CSI_ENDPOINT", "unix://csi/csi.sock")],
                            "ports": [{"containerPort": 9808, "name": "healthz", "protocol": "TCP"}],
                            "livenessProbe": healthz(10, 3),
                            "volumeMounts": [
                                mount("socket-dir", "/csi"),
                                {"name": "kubelet-dir", "mountPath": "/var/lib/kubelet",
                                 "mountPropagation": "Bidirectional"},
                                {"name": "pods-probe-dir", "mountPath": "/dev",
                                 "mountPropagation": "HostToContainer"},
                            ],
                        },
                    ],
                    "volumes": [
                        host("socket-dir", &format!("/var/lib/kubelet/plugins/{DRIVER}"), "DirectoryOrCreate"),
                        host("registration-dir", "/var/lib/kubelet/plugins_registry/", "Directory"),
                        host("kubelet-dir", "/var/lib/kubelet", "Directory"),
                        host("pods-probe-dir", "/dev", "Directory"),
                    ],
                },
            },
        },
    })
}

/// The default StorageClass: expandable volumes, deleted with their claim, made when a pod
/// needs one: in the pod's node's availability zone, or in `availabilityZone` (a Cinder zone;
/// then cloud.conf's `ignore-volume-az` keeps Cinder's zone name off the volume's topology,
/// so any node may attach it: upstream's fix for clouds whose Cinder and Nova zones differ,
/// `docs/cinder-csi-plugin/troubleshooting.md`). Its parameters cannot change once created.
fn storage_class(plan: &Plan) -> Value {
    let mut class = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": DRIVER,
        "allowVolumeExpansion": true,
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Delete",
    });
    let storage = &plan.openstack.block_storage;
    let mut parameters = serde_json::Map::new();
    if let Some(t) = &storage.volume_type {
        parameters.insert("type".into(), json!(t));
    }
    if let Some(zone) = &storage.availability_zone {
        parameters.insert("availability".into(), json!(zone));
    }
    if !parameters.is_empty() {
        class["parameters"] = Value::Object(parameters);
    }
    class
}
