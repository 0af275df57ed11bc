//! `plan --artifacts`: the list an operator fills a mirror from must hold every image the
//! rendered manifests, units and containerd configuration name, every download the boot
//! scripts fetch with the sha256 they check, and (Ubuntu/Debian) the packages at the plan's
//! version; read from what is rendered, not from the list's own source.

mod common;

use common::*;
use k8sgen::plan::artifacts;
use std::collections::BTreeSet;
use std::process::Command;

/// Every `image:` value in the add-on manifests, `image = ` in units' `ctr` lines and the
/// sandbox image, across all nodes.
fn rendered_images(c: &k8sgen::compile::Compiled) -> BTreeSet<String> {
    let mut images = BTreeSet::new();
    for b in &c.bundles {
        for f in &b.files {
            for line in f.content.lines() {
                if let Some(image) = line.trim().strip_prefix("image: ") {
                    images.insert(image.trim_matches('"').to_string());
                }
            }
        }
        for u in &b.units {
            for word in u.content.split_whitespace() {
                if word.contains("@sha256:") || word.starts_with("docker.io/") {
                    let word = word.trim_matches(['"', '\'']);
                    images.insert(word.trim_start_matches("name==").to_string());
                }
            }
        }
    }
    images.insert(c.plan.pause_image.clone());
    images
}

/// Every `URL sha256` pair the boot scripts fetch and check.
fn rendered_downloads(c: &k8sgen::compile::Compiled) -> BTreeSet<(String, String)> {
    let mut downloads = BTreeSet::new();
    for b in &c.bundles {
        let script = &b
            .files
            .iter()
            .find(|f| f.path == c.plan.platform.script_path)
            .unwrap()
            .content;
        let words: Vec<&str> = script.split_whitespace().collect();
        for w in words.windows(3) {
            let url = w[1].trim_matches('"');
            if (w[0] == "fetch" || w[0] == "fetch_checked") && url.starts_with("http") {
                downloads.insert((url.to_string(), w[2].to_string()));
            }
        }
        let var = |name: &str| {
            script
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .map(str::to_string)
        };
        if let (Some(url), Some(sha)) = (var("ETCD_URL"), var("ETCD_SHA256")) {
            downloads.insert((url, sha));
        }
    }
    downloads
}

#[test]
fn the_artifact_list_holds_everything_the_nodes_fetch() {
    for profile in k8sgen::profiles::PROFILES {
        let (c, _) = compile_profile(profile.name, false);
        let list = artifacts::list(&c.plan);
        let listed: BTreeSet<&str> = list.images.iter().map(|a| a.reference.as_str()).collect();
        for image in rendered_images(&c) {
            assert!(
                listed.contains(image.as_str()),
                "{}: {image} not listed",
                profile.name
            );
        }
        // What each node pre-pulls is listed too.
        for b in &c.bundles {
            let prepull = &b
                .files
                .iter()
                .find(|f| f.path == "/etc/k8sgen/prepull.list")
                .unwrap()
                .content;
            for image in prepull.lines().filter(|l| !l.starts_with('#')) {
                assert!(
                    listed.contains(image),
                    "{} {}: {image}",
                    profile.name,
                    b.node
                );
            }
        }
        let v = c.plan.kubernetes_version;
        for component in [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ] {
            assert!(listed.contains(format!("registry.k8s.io/{component}:v{v}").as_str()));
        }
        assert!(
            !listed.iter().any(|i| i.contains("kube-proxy")),
            "kube-router replaces it"
        );
        let downloads = rendered_downloads(&c);
        // etcd, containerd and runc; on Flatcar etcd, kubeadm, kubelet, kubectl, crictl and
        // the CNI plugins (single has no other masters but the same kinds).
        let kinds = if c.plan.platform.flatcar { 6 } else { 3 };
        assert_eq!(downloads.len(), kinds, "{}: {downloads:?}", profile.name);
        for (url, sha) in downloads {
            assert!(
                list.downloads
                    .iter()
                    .any(|a| a.reference == url && a.sha256.as_deref() == Some(sha.as_str())),
                "{}: {url} {sha} not listed",
                profile.name
            );
        }
        if c.plan.platform.flatcar {
            assert!(list.packages.is_empty());
        } else {
            for name in ["kubelet", "kubeadm", "kubectl"] {
                let want = format!(
                    "{name}={} from {}",
                    c.plan.package_version, c.plan.package_repository
                );
                assert!(
                    list.packages.iter().any(|a| a.reference == want),
                    "{}: {want}",
                    profile.name
                );
            }
        }
    }
}

/// The JSON form parses and holds the same list as the library gives.
#[test]
fn plan_artifacts_prints_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let new = Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(["new", c.to_str().unwrap(), "--profile", "openstack-ha"])
        .output()
        .unwrap();
    assert!(new.status.success(), "{}", output_text(&new));
    let spec = c.join("cluster.yaml");
    let json = Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args([
            "plan",
            "-f",
            spec.to_str().unwrap(),
            "--artifacts",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(json.status.success(), "{}", output_text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let etcd = &v["downloads"][0];
    assert!(etcd["reference"].as_str().unwrap().contains("/etcd-v"));
    assert_eq!(etcd["sha256"].as_str().unwrap().len(), 64);
    assert!(v["images"].as_array().unwrap().len() >= 10);
    let text = Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(["plan", "-f", spec.to_str().unwrap(), "--artifacts"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.starts_with("images:\n  "), "{out}");
    assert!(
        out.contains("\ndownloads:\n") && out.contains("\npackages:\n"),
        "{out}"
    );
}
