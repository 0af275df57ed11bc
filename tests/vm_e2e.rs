//! First boot for real: the openstack-ha masters and a worker boot under qemu from the exact bytes k8sgen
//! renders (through `k8sgen up --provider qemu`), real cloud-init runs them, and the host
//! proves what happened without SSH: cloud-init's verdict, file modes and owners on the disks,
//! the admin NIC's address and routes, the progress lines in order, and a 3-member etcd with
//! mutual TLS over the cluster NIC using k8sgen's certificates. The run stops after the etcd
//! step through `bootstrap.stopAfter` (no registry here serves Kubernetes binaries).
//!
//! Opt-in (needs root, ~7 minutes under TCG): build the image, then run
//!   K8SGEN_VM_IMAGE_DIR=$(tests/vm/build-image.sh /var/cache/k8sgen-vm | tail -n 1) \
//!     cargo test --test vm_e2e -- --ignored --nocapture
//! `.ci/run` does exactly that.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MASTERS: [&str; 3] = ["demo-cp-0", "demo-cp-1", "demo-cp-2"];
const WORKER: &str = "demo-general-0";

/// `k8sgen down` when the test ends, pass or fail, so no VM outlives it.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = k8sgen(&["down", "--provider", "qemu", "-f", self.0.to_str().unwrap()]);
    }
}

/// openstack-ha's three masters and one worker, stopping after etcd (the worker, which runs
/// no etcd, after the last step before it), with raft timing an emulated VM can keep (spec
/// options, production defaults elsewhere).
fn vm_spec() -> String {
    let mut s = k8sgen::profiles::find("openstack-ha")
        .unwrap()
        .text
        .to_string();
    for (a, b) in [
        (
            "    count: 3\n    flavor: m1.xlarge",
            "    count: 1\n    flavor: m1.xlarge",
        ),
        ("heartbeatIntervalMs: 100 ", "heartbeatIntervalMs: 500 "),
        ("electionTimeoutMs: 1000", "electionTimeoutMs: 5000"),
        ("  # stopAfter: etcd ", "  stopAfter: etcd "),
    ] {
        assert!(s.contains(a), "{a}");
        s = s.replacen(a, b, 1);
    }
    s
}

/// `debugfs` answers about a disk image without mounting it.
fn debugfs(raw: &Path, commands: &str) -> String {
    let cmdfile = raw.with_extension("cmds");
    std::fs::write(&cmdfile, commands).unwrap();
    let out = Command::new("debugfs")
        .arg("-f")
        .arg(&cmdfile)
        .arg(raw)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (mode, uid, gid) per path from the `stat` answers in debugfs output (`debugfs -f` echoes
/// each command as `debugfs: stat <path>`; a missing file has no `Inode:` line).
fn parse_stats(out: &str) -> BTreeMap<String, (u32, u32, u32)> {
    let mut found = BTreeMap::new();
    for answer in out.split("debugfs: stat ").skip(1) {
        let path = answer.lines().next().unwrap_or_default().trim().to_string();
        let field = |name: &str| {
            answer
                .split(name)
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        };
        if let (Some(mode), Some(user), Some(group)) =
            (field("Mode:"), field("User:"), field("Group:"))
        {
            let mode = u32::from_str_radix(&mode, 8).unwrap_or(u32::MAX) & 0o7777;
            found.insert(
                path,
                (
                    mode,
                    user.parse().unwrap_or(u32::MAX),
                    group.parse().unwrap_or(u32::MAX),
                ),
            );
        }
    }
    found
}

fn etcdctl(
    endpoints: &str,
    pki: &Path,
    client: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new("etcdctl");
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg(format!("--cacert={}", pki.join("etcd-ca.crt").display()))
        .args(["--dial-timeout=5s", "--command-timeout=15s"]);
    if let Some(name) = client {
        cmd.arg(format!(
            "--cert={}",
            pki.join(format!("{name}.crt")).display()
        ))
        .arg(format!(
            "--key={}",
            pki.join(format!("{name}.key")).display()
        ));
    }
    cmd.args(args).output().unwrap()
}

#[test]
#[ignore = "boots 3 VMs (~7 min under TCG); run with --ignored after tests/vm/build-image.sh"]
fn masters_boot_for_real_and_form_etcd() {
    for tool in [
        "qemu-system-x86_64",
        "qemu-img",
        "xorriso",
        "etcdctl",
        "debugfs",
        "e2fsck",
    ] {
        require(tool);
    }
    let images = PathBuf::from(
        std::env::var("K8SGEN_VM_IMAGE_DIR")
            .expect("K8SGEN_VM_IMAGE_DIR must name the directory tests/vm/build-image.sh printed"),
    );
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("cluster.yaml");
    std::fs::write(&spec, vm_spec()).unwrap();
    std::fs::copy(fixture_path(), tmp.path().join("secrets.yaml")).unwrap();
    let _down = Down(spec.clone());

    let up = k8sgen(&[
        "up",
        "--provider",
        "qemu",
        "-f",
        spec.to_str().unwrap(),
        "--image",
        images.join("base.qcow2").to_str().unwrap(),
        "--kernel",
        images.join("vmlinuz").to_str().unwrap(),
        "--initrd",
        images.join("initrd.img").to_str().unwrap(),
        "--timeout",
        "1500",
    ]);
    let up_out = String::from_utf8_lossy(&up.stdout).into_owned();
    eprintln!("{up_out}");
    let qemu_dir = tmp.path().join("qemu");
    let console = |node: &str| {
        std::fs::read_to_string(qemu_dir.join(format!("{node}.console.log"))).unwrap_or_default()
    };
    assert!(
        up.status.success(),
        "up failed: {}\n{}\nlast console lines of demo-cp-0:\n{}",
        String::from_utf8_lossy(&up.stderr),
        up_out,
        console("demo-cp-0")
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let boot_secs = started.elapsed().as_secs();

    // Progress lines: the documented order, then a clean stop after etcd (the worker: after
    // runtime, its last step before the first that needs Kubernetes binaries).
    let expected = |node: &str| {
        let mut steps = vec![
            "host-prep true",
            "admin-network true",
            "packages true",
            "runtime true",
        ];
        if node != WORKER {
            steps.push("etcd true");
        }
        steps
    };
    for node in MASTERS.iter().copied().chain([WORKER]) {
        let text = console(node);
        let steps: Vec<String> = k8sgen::up::progress::lines_for(&text, node)
            .map(|p| format!("{} {}", p.step, p.ok))
            .collect();
        assert_eq!(steps, expected(node), "{node}: progress lines");
        let last = if node == WORKER { "runtime" } else { "etcd" };
        assert!(
            text.contains(&format!("k8sgen: node={node} stopped after {last}")),
            "{node}"
        );
        let admin = k8sgen::up::progress::lines_for(&text, node)
            .find(|p| p.step == "admin-network")
            .unwrap();
        assert!(
            admin.detail.contains("address=10.0.2.15/24")
                && admin.detail.contains("default-route=no"),
            "{node}: {}",
            admin.detail
        );
        assert!(
            !text.contains("Invalid cloud-config"),
            "{node}: cloud-init warned about its user-data"
        );
    }

    // The exact user-data each VM booted, out of its seed ISO, and the certificates in it.
    let vms: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(qemu_dir.join("vms.json")).unwrap()).unwrap();
    let mut ports = BTreeMap::new();
    let mut booted = BTreeMap::new();
    for vm in vms.as_array().unwrap() {
        let name = vm["name"].as_str().unwrap().to_string();
        ports.insert(name.clone(), vm["forwards"][0][0].as_u64().unwrap());
        let out = tmp.path().join(format!("{name}.user-data"));
        let x = Command::new("xorriso")
            .args([
                "-osirrox",
                "on",
                "-indev",
                vm["seed"].as_str().unwrap(),
                "-extract",
                "/user-data",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
        booted.insert(name, std::fs::read_to_string(&out).unwrap());
    }
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let files0 = write_files(&booted["demo-cp-0"]);
    for (from, to) in [
        ("/etc/kubernetes/pki/etcd/ca.crt", "etcd-ca.crt"),
        (
            "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
            "healthcheck-client.crt",
        ),
        (
            "/etc/kubernetes/pki/etcd/healthcheck-client.key",
            "healthcheck-client.key",
        ),
        (
            "/etc/kubernetes/pki/apiserver-etcd-client.crt",
            "apiserver-etcd-client.crt",
        ),
        (
            "/etc/kubernetes/pki/apiserver-etcd-client.key",
            "apiserver-etcd-client.key",
        ),
    ] {
        std::fs::write(pki.join(to), &files0[from].1).unwrap();
    }

    // etcd from the host through the forwarded ports, mutual TLS with k8sgen's certificates.
    let endpoints = MASTERS
        .iter()
        .map(|m| format!("https://127.0.0.1:{}", ports[*m]))
        .collect::<Vec<_>>()
        .join(",");
    let health = etcdctl(
        &endpoints,
        &pki,
        Some("healthcheck-client"),
        &["endpoint", "health"],
    );
    assert!(
        health.status.success(),
        "{}{}",
        String::from_utf8_lossy(&health.stdout),
        String::from_utf8_lossy(&health.stderr)
    );
    let members = etcdctl(
        &endpoints,
        &pki,
        Some("healthcheck-client"),
        &["member", "list", "-w", "json"],
    );
    let members: serde_json::Value = serde_json::from_slice(&members.stdout).unwrap();
    let mut peers: Vec<String> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["peerURLs"][0].as_str().unwrap().to_string())
        .collect();
    peers.sort();
    assert_eq!(
        peers,
        [
            "https://10.0.0.11:2380",
            "https://10.0.0.12:2380",
            "https://10.0.0.13:2380"
        ],
        "peers talk over the cluster NIC"
    );
    let status = etcdctl(
        &endpoints,
        &pki,
        Some("healthcheck-client"),
        &["endpoint", "status", "-w", "json"],
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let leaders = status
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Status"]["leader"] == r["Status"]["header"]["member_id"])
        .count();
    assert_eq!(leaders, 1);
    let first = format!("https://127.0.0.1:{}", ports["demo-cp-0"]);
    let second = format!("https://127.0.0.1:{}", ports["demo-cp-2"]);
    assert!(
        etcdctl(
            &first,
            &pki,
            Some("apiserver-etcd-client"),
            &["put", "k8sgen-vm", "formed"]
        )
        .status
        .success()
    );
    let get = etcdctl(
        &second,
        &pki,
        Some("apiserver-etcd-client"),
        &["get", "k8sgen-vm", "--print-value-only"],
    );
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "formed");
    assert!(
        !etcdctl(&first, &pki, None, &["get", "k8sgen-vm"])
            .status
            .success(),
        "a client without a certificate was served"
    );

    // On each disk: cloud-init's verdict and every planned file with its mode and owner.
    for node in MASTERS.iter().copied().chain([WORKER]) {
        let vm = vms
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == node)
            .unwrap();
        let raw = tmp.path().join(format!("{node}.raw"));
        let c = Command::new("qemu-img")
            .args([
                "convert",
                "-U",
                "-O",
                "raw",
                vm["overlay"].as_str().unwrap(),
            ])
            .arg(&raw)
            .output()
            .unwrap();
        assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
        // The VM is still running: replay the ext4 journal on this copy, as a boot would,
        // so recent writes are where debugfs looks (exit 0/1: clean or fixed).
        let fsck = Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(&raw)
            .output()
            .unwrap();
        assert!(
            fsck.status.code().is_some_and(|c| c <= 1),
            "{node}: e2fsck: {}",
            String::from_utf8_lossy(&fsck.stdout)
        );
        let files = write_files(&booted[node]);
        let paths: Vec<String> = files.keys().cloned().collect();
        let stats = parse_stats(&debugfs(
            &raw,
            &paths
                .iter()
                .map(|p| format!("stat {p}\n"))
                .collect::<String>(),
        ));
        for (path, (permissions, _)) in &files {
            let want = u32::from_str_radix(permissions, 8).unwrap();
            assert_eq!(
                stats.get(path),
                Some(&(want, 0, 0)),
                "{node}: {path} mode/owner"
            );
        }
        let answer = debugfs(&raw, "cat /var/lib/cloud/data/result.json\n");
        // debugfs echoes the command first; the file starts at its first brace.
        let result = &answer[answer.find('{').unwrap_or(0)..];
        let result: serde_json::Value = serde_json::from_str(result.trim())
            .unwrap_or_else(|e| panic!("{node}: result.json: {e}: {result}"));
        assert_eq!(
            result["v1"]["errors"],
            serde_json::json!([]),
            "{node}: cloud-init errors"
        );
        let log = debugfs(&raw, "cat /var/log/cloud-init.log\n");
        assert!(log.contains("Cloud-init v."), "{node}: no cloud-init log");
        assert!(
            !log.contains("Invalid cloud-config"),
            "{node}: cloud-init found the user-data invalid"
        );
        std::fs::remove_file(&raw).unwrap();
    }

    let down = k8sgen(&["down", "--provider", "qemu", "-f", spec.to_str().unwrap()]);
    assert!(down.status.success());
    for vm in vms.as_array().unwrap() {
        assert!(
            !Path::new(&format!("/proc/{}", vm["pid"])).exists(),
            "{} still running",
            vm["name"]
        );
        assert!(
            !Path::new(vm["overlay"].as_str().unwrap()).exists(),
            "overlay left behind"
        );
    }
    eprintln!(
        "VM e2e: boot to etcd quorum {boot_secs} s, whole test {} s",
        started.elapsed().as_secs()
    );
}
