//! Conformance: cloud-init's own schema validator accepts every golden and every document
//! `render` writes, for every profile, plain and gzipped (judged by the exit status of the
//! plain `cloud-init schema -c FILE` run; reference test-rigs §C).

mod common;

use common::*;
use std::path::Path;

fn schema_ok(file: &Path) -> Result<(), String> {
    run_validator("cloud-init", &["schema", "-c"], file)
}

/// cloud-init's verdict on each file, four at a time (it starts slowly): the rejections.
fn schema_failures(files: &[std::path::PathBuf]) -> Vec<String> {
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(files.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|f| schema_ok(f).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

#[test]
fn cloud_init_accepts_every_document() {
    require("cloud-init");
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root().join("golden")).unwrap() {
        for f in std::fs::read_dir(entry.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "user-data") {
                files.push(p);
            }
        }
    }
    for profile in k8sgen::profiles::PROFILES {
        for gzip in [false, true] {
            let out = tmp.path().join(format!("{}-{gzip}", profile.name));
            for (node, text) in render_profile_files(profile.name, gzip, &out) {
                let file = tmp
                    .path()
                    .join(format!("{}-{node}-gzip-{gzip}.yaml", profile.name));
                std::fs::write(&file, text).unwrap();
                files.push(file);
            }
        }
    }
    assert!(files.len() >= 2 * 7 + 7);
    // cloud-init starts slowly; check the documents in parallel.
    let failures = schema_failures(&files);
    assert!(
        failures.is_empty(),
        "cloud-init rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn cloud_init_rejects_a_broken_document() {
    require("cloud-init");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("broken.yaml");
    // write_files entries need a path; permissions must be a string.
    std::fs::write(
        &file,
        "#cloud-config\nwrite_files:\n- content: hello\n  permissions: 0644\n",
    )
    .unwrap();
    assert!(
        schema_ok(&file).is_err(),
        "the validator must be able to fail"
    );
}

/// Every supported Kubernetes minor, not only the profiles' own: each cloud-config profile
/// rendered at each minor's newest patch passes cloud-init's schema (one node per role), and
/// every node carries that minor's version, package pattern, etcd and pause image.
#[test]
fn cloud_init_accepts_every_supported_minor() {
    require("cloud-init");
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for release in k8sgen::catalog::RELEASES {
        for profile in k8sgen::profiles::PROFILES {
            let compiled = compile_profile_at(profile.name, release.minor, false);
            let plan = &compiled.plan;
            if plan.os.reads_ignition() {
                continue;
            }
            let version = format!("1.{}.{}", release.minor, release.latest_patch);
            let mut roles = std::collections::BTreeSet::new();
            for (u, node) in compiled.user_data.iter().zip(&plan.nodes) {
                assert_eq!(u.node, node.name);
                let text = String::from_utf8(u.bytes.clone()).unwrap();
                let script = &write_files(&text)[&plan.platform.script_path].1;
                for line in [
                    format!("export K8S_VERSION={version}\n"),
                    format!("export PKG_VERSION='{version}-*'\n"),
                    format!("export PAUSE_IMAGE={}\n", release.pause_image),
                ] {
                    assert!(script.contains(&line), "{}: no {line}", u.node);
                }
                if node.role.is_master() {
                    let etcd = format!("export ETCD_VERSION={}\n", release.etcd_version);
                    assert!(script.contains(&etcd), "{}: no {etcd}", u.node);
                }
                if roles.insert(node.role.as_str()) {
                    let file = tmp.path().join(format!(
                        "{}-{}-{}.yaml",
                        profile.name, release.minor, u.node
                    ));
                    std::fs::write(&file, text).unwrap();
                    files.push(file);
                }
            }
        }
    }
    let failures = schema_failures(&files);
    assert!(
        failures.is_empty(),
        "cloud-init rejected:\n{}",
        failures.join("\n")
    );
}
