//! Conformance: every systemd unit and drop-in the bundles carry, for every profile, passes
//! `systemd-analyze verify` (systemd's own parser: unknown keys, bad values, missing
//! dependencies) with no finding. Each node's units are laid out in a private root beside a
//! copy of this machine's system units (Debian's `containerd.service` stands in for the
//! image's, under k8sgen's drop-ins), and every program an `Exec*=` line names is a stand-in
//! there: what is checked is the unit files, not the programs.

mod common;

use k8sgen::bundle::NodeBundle;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const SYSTEM_UNITS: &str = "/usr/lib/systemd/system";

/// The units and drop-ins of `bundle`: (path under the root, content).
fn unit_files(bundle: &NodeBundle) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = bundle
        .units
        .iter()
        .map(|u| (format!("/etc/systemd/system/{}", u.name), u.content.clone()))
        .collect();
    files.extend(
        bundle
            .files
            .iter()
            .filter(|f| f.path.starts_with("/etc/systemd/system/"))
            .map(|f| (f.path.clone(), f.content.clone())),
    );
    files
}

/// The absolute programs `Exec*=` lines name (prefixes `-@:+!` dropped).
fn programs(unit: &str) -> Vec<String> {
    unit.lines()
        .filter(|l| l.starts_with("Exec"))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.trim()))
        .filter_map(|v| {
            v.trim_start_matches(['-', '@', ':', '+', '!'])
                .split_whitespace()
                .next()
        })
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .collect()
}

/// A program that does nothing at `program` under `root`, unless one is there.
fn stand_in(root: &Path, program: &str) {
    let path = root.join(program.trim_start_matches('/'));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// `systemd-analyze verify` of `files` in a fresh root; its findings, one per line.
fn verify(files: &[(String, String)]) -> Vec<String> {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
    let copied = Command::new("cp")
        .args(["-a", SYSTEM_UNITS])
        .arg(r.join("usr/lib/systemd"))
        .status()
        .unwrap();
    assert!(copied.success(), "copying {SYSTEM_UNITS}");
    let mut units = Vec::new();
    for (path, content) in files {
        let on_disk = r.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(on_disk.parent().unwrap()).unwrap();
        std::fs::write(&on_disk, content).unwrap();
        programs(content).iter().for_each(|p| stand_in(r, p));
        if !path.contains(".d/") {
            units.push(path.clone());
        }
    }
    // A drop-in is verified through the unit it extends: the bundle's, or where k8sgen ships
    // none (containerd, kubelet from packages), this machine's in its place.
    for (path, _) in files {
        let Some((unit, _)) = path.split_once(".d/") else {
            continue;
        };
        let name = Path::new(unit).file_name().unwrap().to_str().unwrap();
        if units.iter().any(|u| u.ends_with(&format!("/{name}"))) {
            continue;
        }
        let theirs = Path::new(SYSTEM_UNITS).join(name);
        if !theirs.exists() {
            // kubelet's unit comes with the Kubernetes packages on Ubuntu and Debian, and
            // update-engine's with Flatcar, neither of which this machine has: the drop-in is
            // written as a unit of its own (with a stand-in ExecStart= where it has none).
            let unit_path = format!("/etc/systemd/system/{name}");
            let content = files.iter().find(|(p, _)| p == path).unwrap().1.clone();
            let content = content.replace("[Service]\nExecStart=\n", "[Service]\n");
            let exec = if content.contains("\nExecStart=") {
                ""
            } else {
                stand_in(r, "/bin/true");
                "ExecStart=/bin/true\n"
            };
            let stand_alone = format!("{content}\n[Service]\nType=simple\n{exec}");
            std::fs::write(r.join(unit_path.trim_start_matches('/')), stand_alone).unwrap();
            units.push(unit_path);
            continue;
        }
        programs(&std::fs::read_to_string(&theirs).unwrap())
            .iter()
            .for_each(|p| stand_in(r, p));
        units.push(format!("/usr/lib/systemd/system/{name}"));
    }
    units.sort();
    units.dedup();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .arg("--man=no")
        .args(&units)
        .output()
        .unwrap();
    let mut findings: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&out.stdout).lines())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if !out.status.success() && findings.is_empty() {
        findings.push(format!("systemd-analyze verify exited {}", out.status));
    }
    findings
}

#[test]
fn systemd_accepts_every_unit_of_every_profile() {
    common::require("systemd-analyze");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut compiled: Vec<(String, k8sgen::compile::Compiled)> = k8sgen::profiles::PROFILES
        .iter()
        .map(|p| (p.name.to_string(), common::compile_profile(p.name, false).0))
        .collect();
    // The proxied variants add containerd's proxy drop-in.
    for (i, c) in common::egress::variants().into_iter().enumerate() {
        compiled.push((format!("egress variant {i}"), c));
    }
    for (name, compiled) in &compiled {
        for bundle in &compiled.bundles {
            let files = unit_files(bundle);
            assert!(!files.is_empty(), "{}: no unit", bundle.node);
            checked += files.len();
            for finding in verify(&files) {
                failures.push(format!("{name} {}: {finding}", bundle.node));
            }
        }
    }
    assert!(checked > 20, "only {checked} unit files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check above can fail: systemd reports a misspelt value and an unknown key.
#[test]
fn systemd_analyze_reports_a_broken_unit() {
    common::require("systemd-analyze");
    let broken = "[Unit]\nDescription=broken\n\n[Service]\nExecStart=/opt/x/run\nRestart=alwayz\nRestartt=always\n";
    let findings = verify(&[("/etc/systemd/system/x.service".into(), broken.into())]);
    assert!(
        findings.iter().any(|f| f.contains("alwayz")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|f| f.contains("Restartt")),
        "{findings:?}"
    );
}
