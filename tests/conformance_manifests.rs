//! Conformance of every Kubernetes document the bundles carry: manifests deserialize into the
//! `k8s-openapi` types of the target Kubernetes version (1.36) with no ignored field (tracked
//! with `serde_ignored`), and kubeadm/kubelet configs into typed mirrors that deny unknown
//! fields. A misspelled field must fail both checks.

mod common;
mod kubeadm_types;

use common::*;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
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
        "RoleBinding" => strict::<RoleBinding>(doc).map(drop),
        "ConfigMap" => strict::<ConfigMap>(doc).map(drop),
        "DaemonSet" => strict::<DaemonSet>(doc).map(drop),
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
        "DaemonSet",
        "Pod",
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
    let mut pod: Value = serde_saphyr::from_str(&occm.content).unwrap();
    pod["spec"]["hostNetwrok"] = Value::Bool(true);
    let err = check_manifest(&pod).unwrap_err();
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
