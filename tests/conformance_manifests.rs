//! Conformance of every Kubernetes document the bundles carry: manifests deserialize into the
//! `k8s-openapi` types of the target Kubernetes version (1.36) with no ignored field (tracked
//! with `serde_ignored`), and kubeadm/kubelet configs into typed mirrors that deny unknown
//! fields. A misspelled field must fail both checks.

mod common;
mod kubeadm_types;

use common::*;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use kubeadm_types::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Deserialize `doc` as `T`; Err lists every field the type ignored.
fn strict<T: DeserializeOwned>(doc: &Value) -> Result<T, String> {
    let mut ignored = Vec::new();
    let value: T = serde_ignored::deserialize(doc.clone(), |path| ignored.push(path.to_string()))
        .map_err(|e| e.to_string())?;
    if ignored.is_empty() {
        Ok(value)
    } else {
        Err(format!("unknown fields: {}", ignored.join(", ")))
    }
}

fn check_manifest(doc: &Value) -> Result<(), String> {
    match doc["kind"].as_str().unwrap_or_default() {
        "ServiceAccount" => strict::<ServiceAccount>(doc).map(drop),
        "ClusterRole" => strict::<ClusterRole>(doc).map(drop),
        "ClusterRoleBinding" => strict::<ClusterRoleBinding>(doc).map(drop),
        "Role" => strict::<Role>(doc).map(drop),
        "RoleBinding" => strict::<RoleBinding>(doc).map(drop),
        "Namespace" => strict::<Namespace>(doc).map(drop),
        "ConfigMap" => strict::<ConfigMap>(doc).map(drop),
        "DaemonSet" => strict::<DaemonSet>(doc).map(drop),
        "Deployment" => strict::<Deployment>(doc).map(drop),
        "CSIDriver" => strict::<CSIDriver>(doc).map(drop),
        "StorageClass" => strict::<StorageClass>(doc).map(drop),
        "Pod" => strict::<Pod>(doc).map(drop),
        other => Err(format!("no type known for kind `{other}`")),
    }
}

fn check_kubeadm(doc: &Value) -> Result<(), String> {
    let de = |e: serde_json::Error| e.to_string();
    match doc["kind"].as_str().unwrap_or_default() {
        "InitConfiguration" => serde_json::from_value::<InitConfiguration>(doc.clone())
            .map(drop)
            .map_err(de),
        "ClusterConfiguration" => serde_json::from_value::<ClusterConfiguration>(doc.clone())
            .map(drop)
            .map_err(de),
        "JoinConfiguration" => serde_json::from_value::<JoinConfiguration>(doc.clone())
            .map(drop)
            .map_err(de),
        "KubeletConfiguration" => serde_json::from_value::<KubeletConfiguration>(doc.clone())
            .map(drop)
            .map_err(de),
        other => Err(format!("unexpected kind `{other}`")),
    }
}

const KUBEADM_FILES: &[&str] = &[
    "/etc/kubernetes/k8sgen/kubeadm.yaml",
    "/etc/kubernetes/k8sgen/kubeadm-join.yaml",
];

#[test]
fn every_document_matches_its_upstream_type() {
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for profile in k8sgen::profiles::PROFILES {
        let (compiled, _) = compile_profile(profile.name, false);
        for b in &compiled.bundles {
            for f in b
                .files
                .iter()
                .filter(|f| f.path.ends_with(".yaml") && f.path.starts_with("/etc/kubernetes/"))
            {
                let docs: Vec<Value> = serde_saphyr::from_multiple(&f.content).unwrap();
                for doc in docs {
                    let kind = doc["kind"].as_str().unwrap_or("?").to_string();
                    let result = if KUBEADM_FILES.contains(&f.path.as_str()) {
                        check_kubeadm(&doc)
                    } else {
                        check_manifest(&doc)
                    };
                    if let Err(e) = result {
                        failures.push(format!("{} {} ({kind}): {e}", b.node, f.path));
                    }
                    kinds.insert(kind);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for want in [
        "Namespace",
        "Role",
        "DaemonSet",
        "Deployment",
        "CSIDriver",
        "StorageClass",
        "ClusterRole",
        "InitConfiguration",
        "ClusterConfiguration",
        "JoinConfiguration",
        "KubeletConfiguration",
    ] {
        assert!(kinds.contains(want), "no {want} was checked");
    }
}

#[test]
fn a_misspelled_field_fails_both_checks() {
    let (compiled, _) = compile_profile("openstack-ha", false);
    let init = &compiled.bundles[0];
    let occm = init
        .files
        .iter()
        .find(|f| f.path.ends_with("openstack-cloud-controller-manager.yaml"))
        .unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&occm.content).unwrap();
    let mut ds = docs.into_iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    ds["spec"]["template"]["spec"]["hostNetwrok"] = Value::Bool(true);
    let err = check_manifest(&ds).unwrap_err();
    assert!(err.contains("hostNetwrok"), "{err}");

    let kubeadm = init
        .files
        .iter()
        .find(|f| f.path == KUBEADM_FILES[0])
        .unwrap();
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(&kubeadm.content).unwrap();
    docs[1]["networking"]["podSubnett"] = Value::String("10.0.0.0/8".into());
    assert!(check_kubeadm(&docs[1]).unwrap_err().contains("podSubnett"));
    // v1beta3's map form of kubeletExtraArgs is rejected like kubeadm rejects it.
    docs[0]["nodeRegistration"]["kubeletExtraArgs"] =
        serde_json::json!({"cloud-provider": "external"});
    assert!(check_kubeadm(&docs[0]).is_err());
}

/// kubeadm's configuration at every supported minor passes the same typed checks.
#[test]
fn every_supported_minor_passes_the_typed_checks() {
    let mut failures = Vec::new();
    for release in k8sgen::catalog::RELEASES {
        let compiled = compile_profile_at("openstack-ha", release.minor, false);
        for b in &compiled.bundles {
            for f in b
                .files
                .iter()
                .filter(|f| KUBEADM_FILES.contains(&f.path.as_str()))
            {
                let docs: Vec<Value> = serde_saphyr::from_multiple(&f.content).unwrap();
                for doc in docs {
                    if let Err(e) = check_kubeadm(&doc) {
                        failures.push(format!("1.{} {} {}: {e}", release.minor, b.node, f.path));
                    }
                    if doc["kind"] == "ClusterConfiguration" {
                        let want = format!("v1.{}.{}", release.minor, release.latest_patch);
                        assert_eq!(doc["kubernetesVersion"], want.as_str());
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// OCCM the upstream way (cloud-provider-openstack `manifests/controller-manager/` v1.36.0):
/// a DaemonSet on the masters with its own ServiceAccount and per-controller credentials,
/// cloud.conf from the Secret the init master makes, the API through the node-local load
/// balancer, RBAC (auth-delegator included) before the DaemonSet in the one file applied;
/// no client certificate of its own anywhere, and kubelet-finalize on every master.
#[test]
fn occm_runs_as_a_daemonset_with_service_account_credentials() {
    let (compiled, _) = compile_profile("openstack-ha", false);
    let plan = &compiled.plan;
    let init = &compiled.bundles[0];
    let file = init
        .files
        .iter()
        .find(|f| f.path == "/etc/kubernetes/k8sgen/addons/openstack-cloud-controller-manager.yaml")
        .unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&file.content).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"ServiceAccount"));
    assert_eq!(kinds.last(), Some(&"DaemonSet"), "RBAC first: {kinds:?}");
    let delegator = docs
        .iter()
        .find(|d| d["roleRef"]["name"] == "system:auth-delegator")
        .expect("a system:auth-delegator binding");
    assert_eq!(delegator["subjects"][0]["name"], "cloud-controller-manager");
    let ds = docs.last().unwrap();
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "cloud-controller-manager");
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(
        pod["nodeSelector"]["node-role.kubernetes.io/control-plane"],
        ""
    );
    let tolerated: Vec<&str> = pod["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    for key in [
        "node.cloudprovider.kubernetes.io/uninitialized",
        "node-role.kubernetes.io/control-plane",
    ] {
        assert!(
            tolerated.contains(&key),
            "{key} not tolerated: {tolerated:?}"
        );
    }
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for arg in [
        "--use-service-account-credentials=true",
        "--cloud-config=/etc/config/cloud.conf",
    ] {
        assert!(args.contains(&arg), "{args:?}");
    }
    assert!(
        !args.iter().any(|a| a.starts_with("--kubeconfig")),
        "{args:?}"
    );
    let env: Vec<(String, String)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    let (host, port) = plan.control_plane_endpoint.rsplit_once(':').unwrap();
    assert_eq!(
        env,
        [
            ("KUBERNETES_SERVICE_HOST".into(), host.into()),
            ("KUBERNETES_SERVICE_PORT".into(), port.into())
        ]
    );
    assert!(pod["volumes"].as_array().unwrap().contains(
        &serde_json::json!({"name": "cloud-config", "secret": {"secretName": "cloud-config"}})
    ));
    // The init master makes that Secret from its cloud.conf before applying the add-ons.
    let script = &init
        .files
        .iter()
        .find(|f| f.path == plan.platform.script_path)
        .unwrap()
        .content;
    let secret = script
        .find("create secret generic cloud-config")
        .expect("the Secret is made");
    let apply = script
        .find("kubectl apply --server-side --force-conflicts -f /etc/kubernetes/k8sgen/addons/")
        .unwrap();
    assert!(secret < apply);
    for b in &compiled.bundles {
        assert!(
            b.files
                .iter()
                .all(|f| !f.path.contains("cloud-controller-manager.conf")
                    && !f.content.contains("kubeadm kubeconfig user")),
            "{}: OCCM has a certificate of its own",
            b.node
        );
        let script = &b
            .files
            .iter()
            .find(|f| f.path == plan.platform.script_path)
            .unwrap()
            .content;
        assert_eq!(
            script.contains("kubeadm init phase kubelet-finalize all"),
            b.role != k8sgen::plan::Role::Worker,
            "{}: kubelet-finalize on every master and no worker",
            b.node
        );
        assert_eq!(
            b.files
                .iter()
                .any(|f| f.path == "/etc/kubernetes/cloud.conf"),
            b.role == k8sgen::plan::Role::Init,
            "{}: only the init master holds the credential",
            b.node
        );
    }
}

/// Cinder CSI (cloud-provider-openstack `manifests/cinder-csi-plugin/` v1.36.0): on by
/// default, with the OCCM Secret, a default StorageClass that expands and waits for its
/// consumer, cloud.conf's `[BlockStorage]`; the spec's switch removes all of it.
#[test]
fn cinder_csi_is_on_by_default_and_off_by_the_spec() {
    let addons = "/etc/kubernetes/k8sgen/addons/cinder-csi.yaml";
    let (compiled, _) = compile_profile("openstack-ha", false);
    let init = &compiled.bundles[0];
    let file = init
        .files
        .iter()
        .find(|f| f.path == addons)
        .expect("Cinder CSI by default");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&file.content).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    let first_workload = kinds.iter().position(|k| *k == "Deployment").unwrap();
    assert!(
        kinds[..first_workload]
            .iter()
            .filter(|k| k.contains("Role"))
            .count()
            >= 8,
        "RBAC before the workloads: {kinds:?}"
    );
    let class = docs.iter().find(|d| d["kind"] == "StorageClass").unwrap();
    assert_eq!(class["provisioner"], "cinder.csi.openstack.org");
    assert_eq!(class["allowVolumeExpansion"], true);
    assert_eq!(class["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(
        class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    assert!(
        class.get("parameters").is_none(),
        "the cloud's default volume type"
    );
    let images: Vec<String> = docs
        .iter()
        .filter(|d| d["kind"] == "Deployment" || d["kind"] == "DaemonSet")
        .flat_map(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|c| c["image"].as_str().unwrap().to_string())
        .collect();
    assert!(
        images.contains(&compiled.plan.cinder_csi_image),
        "{images:?}"
    );
    assert!(
        images.iter().all(|i| !i.contains("snapshotter")),
        "no snapshot CRDs installed"
    );
    // The credential reaches the controller on the masters only: the node plugin, on every
    // node, never builds an OpenStack client and gets no cloud.conf.
    let secret =
        serde_json::json!({"name": "cloud-config", "secret": {"secretName": "cloud-config"}});
    for d in docs
        .iter()
        .filter(|d| d["kind"] == "Deployment" || d["kind"] == "DaemonSet")
    {
        let pod = &d["spec"]["template"]["spec"];
        let volumes = pod["volumes"].as_array().unwrap();
        let on_masters = pod["nodeSelector"]["node-role.kubernetes.io/control-plane"] == "";
        assert_eq!(
            volumes.contains(&secret),
            on_masters,
            "{}",
            d["metadata"]["name"]
        );
        let text = serde_json::to_string(pod).unwrap();
        assert_eq!(
            text.contains("cloud-config"),
            on_masters,
            "{}",
            d["metadata"]["name"]
        );
    }

    // The volumes carry the cluster's name, which `down` lists them by.
    let controller = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let plugin = controller["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cinder-csi-plugin")
        .unwrap();
    assert!(
        plugin["env"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"name": "CLUSTER_NAME", "value": "demo"}))
    );
    let conf = &init
        .files
        .iter()
        .find(|f| f.path == "/etc/kubernetes/cloud.conf")
        .unwrap()
        .content;
    assert!(
        conf.ends_with("\n[BlockStorage]\nignore-volume-az = false\n"),
        "{conf}"
    );

    // Off: no driver, no StorageClass, no [BlockStorage]; a volume type and the AZ switch
    // reach the StorageClass and cloud.conf when on.
    let profile = k8sgen::profiles::find("openstack-ha").unwrap();
    let compile_with = |edits: &[(&str, &str)]| {
        compile_text("openstack-ha", &common::edit_text(profile.text, edits))
    };
    let cloud_conf = |c: &k8sgen::compile::Compiled| -> String {
        c.bundles[0]
            .files
            .iter()
            .find(|f| f.path == "/etc/kubernetes/cloud.conf")
            .unwrap()
            .content
            .clone()
    };
    let off = compile_with(&[("      csi: true ", "      csi: false")]);
    assert!(off.bundles[0].files.iter().all(|f| f.path != addons));
    let conf = cloud_conf(&off);
    assert!(!conf.contains("[BlockStorage]"), "{conf}");
    let tuned = compile_with(&[
        (
            "      # availabilityZone: nova ",
            "      availabilityZone: nova   ",
        ),
        ("      # volumeType: ssd ", "      volumeType: ssd   "),
    ]);
    let conf = cloud_conf(&tuned);
    assert!(
        conf.ends_with("\n[BlockStorage]\nignore-volume-az = true\n"),
        "{conf}"
    );
    let file = tuned.bundles[0]
        .files
        .iter()
        .find(|f| f.path == addons)
        .unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&file.content).unwrap();
    let class = docs.iter().find(|d| d["kind"] == "StorageClass").unwrap();
    assert_eq!(
        class["parameters"],
        serde_json::json!({"type": "ssd", "availability": "nova"})
    );
    assert!(
        tuned
            .plan
            .warnings
            .iter()
            .all(|w| !w.contains("blockStorage"))
    );

    // Settings that would do nothing with the driver off are said so, not silently dropped.
    let inert = compile_with(&[
        ("      csi: true ", "      csi: false"),
        ("      # volumeType: ssd ", "      volumeType: ssd   "),
    ]);
    let said: Vec<&String> = inert
        .plan
        .warnings
        .iter()
        .filter(|w| w.contains("cloud.openstack.blockStorage.volumeType"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", inert.plan.warnings);
    assert!(said[0].contains("csi: false"), "{said:?}");
}

/// Flatcar's updates are rebooted by FLUO, one drained node at a time (flatcar-linux-update-
/// operator `examples/deploy/` v0.9.0), not by locksmithd on every node at once: the agent on
/// every node, masters included, with the host paths it reads; the operator; each account's
/// role bound; locksmithd off on every node. Ubuntu clusters get none of it.
#[test]
fn flatcar_reboots_are_coordinated_by_fluo() {
    let (compiled, _) = compile_profile("openstack-ha-flatcar", false);
    let path = "/etc/kubernetes/k8sgen/addons/flatcar-update-operator.yaml";
    for b in &compiled.bundles {
        let has = b.files.iter().any(|f| f.path == path);
        assert_eq!(has, b.role == k8sgen::plan::Role::Init, "{}", b.node);
        let conf = b
            .files
            .iter()
            .find(|f| f.path == "/etc/flatcar/update.conf")
            .unwrap_or_else(|| panic!("{}: no update.conf", b.node));
        assert!(conf.content.lines().any(|l| l == "REBOOT_STRATEGY=off"));
        let script = &b
            .files
            .iter()
            .find(|f| f.path == compiled.plan.platform.script_path)
            .unwrap()
            .content;
        assert!(script.contains("  systemctl mask --now locksmithd.service\n"));
    }
    let file = compiled.bundles[0]
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&file.content).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "Namespace");
    let first_workload = kinds.iter().position(|k| *k == "DaemonSet").unwrap();
    // Every binding names a role the file defines (upstream's dangling RoleBinding is left out).
    for binding in docs
        .iter()
        .filter(|d| d["kind"].as_str().is_some_and(|k| k.ends_with("Binding")))
    {
        let role = &binding["roleRef"];
        assert!(
            docs[..first_workload]
                .iter()
                .any(|d| d["kind"] == role["kind"] && d["metadata"]["name"] == role["name"]),
            "{binding}"
        );
        let account = &binding["subjects"][0];
        assert!(
            docs.iter().any(|d| d["kind"] == "ServiceAccount"
                && d["metadata"]["name"] == account["name"]
                && d["metadata"]["namespace"] == account["namespace"]),
            "{binding}"
        );
    }
    let agent = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let pod = &agent["spec"]["template"]["spec"];
    assert!(
        pod["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "node-role.kubernetes.io/control-plane"),
        "masters are rebooted through FLUO too"
    );
    let mounts: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["hostPath"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        mounts,
        [
            "/var/run/dbus",
            "/etc/flatcar",
            "/usr/share/flatcar",
            "/etc/os-release"
        ]
    );
    assert_eq!(pod["containers"][0]["image"], k8sgen::catalog::FLUO_IMAGE);
    assert!(docs.iter().any(|d| d["kind"] == "Deployment"));

    let (ubuntu, _) = compile_profile("openstack-ha", false);
    for b in &ubuntu.bundles {
        assert!(
            b.files
                .iter()
                .all(|f| f.path != path && !f.path.starts_with("/etc/flatcar/"))
        );
    }
}
