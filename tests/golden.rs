//! Golden files: every profile × node rendered with the test-only fixture bundle and a fixed
//! clock, compared byte for byte with `golden/<profile>/`. The boot scripts and add-on
//! manifests, which the user-data carries gzipped, are also pinned readable in
//! `golden/<profile>/scripts/` and `golden/<profile>/addons/`.
//! Re-bless with K8SGEN_BLESS=1.

mod common;

use common::*;
use k8sgen::profiles::PROFILES;
use std::collections::BTreeSet;

#[test]
fn every_profile_matches_its_goldens() {
    let mut failures = Vec::new();
    for profile in PROFILES {
        let (compiled, bundle) = compile_profile(profile.name, false);
        assert!(
            compiled.issued_leaves.is_empty(),
            "the fixture lacks leaves for {}: {:?}; run `k8sgen render --profile {} --secrets tests/fixtures/secrets.yaml --out /tmp/x`",
            profile.name,
            compiled.issued_leaves,
            profile.name
        );
        assert_eq!(bundle, fixture(), "compiling must not change the fixture");
        let dir = root().join("golden").join(profile.name);
        let mut expected_files = BTreeSet::new();
        for ud in &compiled.user_data {
            let name = format!("{}.{}", ud.node, ud.format.extension());
            let text = String::from_utf8(ud.bytes.clone()).unwrap();
            if let Err(e) = check_golden(&dir.join(&name), &text) {
                failures.push(e);
            }
            expected_files.insert(name);
        }
        if let Err(e) = check_golden(&dir.join("admin.kubeconfig"), &compiled.admin_kubeconfig) {
            failures.push(e);
        }
        expected_files.insert("admin.kubeconfig".to_string());
        // The init master's add-ons as they are written on the node.
        let addons = dir.join("addons");
        let mut expected_addons = BTreeSet::new();
        for f in compiled.bundles[0]
            .files
            .iter()
            .filter(|f| f.path.starts_with("/etc/kubernetes/k8sgen/addons/"))
        {
            let name = f.path.rsplit('/').next().unwrap().to_string();
            if let Err(e) = check_golden(&addons.join(&name), &f.content) {
                failures.push(e);
            }
            expected_addons.insert(name);
        }
        expected_files.insert("addons".to_string());
        // Each node's boot script as it is written on the node (the user-data carries it
        // gzipped).
        let scripts = dir.join("scripts");
        let mut expected_scripts = BTreeSet::new();
        for b in &compiled.bundles {
            let script = b
                .files
                .iter()
                .find(|f| f.path == compiled.plan.platform.script_path)
                .unwrap();
            let name = format!("{}.sh", b.node);
            if let Err(e) = check_golden(&scripts.join(&name), &script.content) {
                failures.push(e);
            }
            expected_scripts.insert(name);
        }
        expected_files.insert("scripts".to_string());
        let scripts_on_disk: BTreeSet<String> = std::fs::read_dir(&scripts)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        for stale in scripts_on_disk.difference(&expected_scripts) {
            failures.push(format!(
                "golden/{}/scripts/{stale} is not rendered any more; delete it",
                profile.name
            ));
        }
        let addons_on_disk: BTreeSet<String> = std::fs::read_dir(&addons)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        for stale in addons_on_disk.difference(&expected_addons) {
            failures.push(format!(
                "golden/{}/addons/{stale} is not rendered any more; delete it",
                profile.name
            ));
        }
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        for stale in on_disk.difference(&expected_files) {
            failures.push(format!(
                "golden/{}/{stale} is not rendered any more; delete it",
                profile.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn rendering_is_deterministic() {
    for profile in PROFILES {
        for gzip in [false, true] {
            let (a, _) = compile_profile(profile.name, gzip);
            let (b, _) = compile_profile(profile.name, gzip);
            assert_eq!(a.user_data, b.user_data, "{} gzip={gzip}", profile.name);
            assert_eq!(a.admin_kubeconfig, b.admin_kubeconfig);
        }
    }
}

/// `--gzip` compresses the whole document, so its files go plain inside; without it the
/// packed files go gzipped alone. Either way cloud-init writes the same files.
#[test]
fn gzip_output_inflates_to_the_same_files() {
    use std::io::Read;
    let (plain, _) = compile_profile("openstack-ha", false);
    let (gz, _) = compile_profile("openstack-ha", true);
    for (p, g) in plain.user_data.iter().zip(&gz.user_data) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(g.bytes.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        let (inflated, plain_text) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(p.bytes.clone()).unwrap(),
        );
        assert!(
            !inflated.contains("encoding: gz+b64"),
            "{}: gzip inside gzip",
            p.node
        );
        assert_eq!(
            write_files(&inflated),
            write_files(&plain_text),
            "{}",
            p.node
        );
        assert!(
            g.raw_size() < p.raw_size() * 2 / 3,
            "{}: gzip saved too little",
            p.node
        );
    }
}
