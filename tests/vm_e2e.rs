//! First boot as OpenStack really does it. Two clusters boot at once under qemu from the
//! exact bytes k8sgen renders (`k8sgen up --provider qemu`):
//!
//! - `demo`: openstack-ha's 3 masters and a worker; the admin network as Neutron gives it by
//!   default, DHCP with a gateway (qemu's user-mode DHCP offers a router);
//! - `lab`: the `single` profile with a static admin network (a subnet without a gateway).
//!
//! Each VM reads an OpenStack config drive (`config-2`, `openstack/latest/` with
//! `meta_data.json`, `user_data`, `network_data.json` listing both NICs), so cloud-init's own
//! OpenStack code writes the netplan config for both NICs; a metadata service answers at
//! 169.254.169.254; kubelet, kubeadm and kubectl come from a package mirror laid out like
//! pkgs.k8s.io and signed by a test key; the test image resembles Debian 12's generic cloud
//! image (no gpg) and holds the dpkg lock right before the `kubernetes` step, as
//! unattended-upgrades does. Every node runs through `kubernetes` (`stopAfter: kubernetes`).
//!
//! The host then proves, without SSH (through the test image's host-forwarded shell): the
//! user-data each node's cloud-init consumed is byte for byte the config drive's and what
//! `k8sgen render` writes for it (given qemu's admin MACs, which `render` reads from the
//! record beside the spec); progress lines; etcd quorum with k8sgen's certificates; netplan from cloud-init for both
//! NICs and the admin NIC without default route or DNS although its DHCP offered both; the
//! packages from the signed mirror at the pinned version, the key readable by `_apt`, holds,
//! and the wait for the held lock; a "pod" network namespace (veth, pod CIDR address, routed
//! and masqueraded by the node, ACCEPTed at position 1 of FORWARD as kube-router does) that
//! reaches the mirror but not the metadata service, while the node reaches it; the block
//! coming back after it is removed. Every finding is collected, so one run names them all.
//!
//! Opt-in (needs root, ~15 minutes under TCG): build the image, then run
//!   K8SGEN_VM_IMAGE_DIR=$(tests/vm/build-image.sh /var/cache/k8sgen-vm | tail -n 1) \
//!     cargo test --test vm_e2e -- --ignored --nocapture
//! `.ci/run` does exactly that.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const MIRROR: &str = "192.0.2.80";
const POD_CIDR: &str = "10.244.0.0/16";

/// One cluster under test: its directory, spec and what `up` printed.
struct Cluster {
    dir: PathBuf,
    spec: PathBuf,
    masters: Vec<&'static str>,
    workers: Vec<&'static str>,
}

impl Cluster {
    fn nodes(&self) -> Vec<&'static str> {
        self.masters.iter().chain(&self.workers).copied().collect()
    }
    fn qemu(&self) -> PathBuf {
        self.dir.join("qemu")
    }
    fn console(&self, node: &str) -> String {
        std::fs::read_to_string(self.qemu().join(format!("{node}.console.log"))).unwrap_or_default()
    }
    fn namespace(&self) -> String {
        let n: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.qemu().join("network.json")).unwrap(),
        )
        .unwrap();
        n["namespace"].as_str().unwrap().to_string()
    }
    fn vms(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.qemu().join("vms.json")).unwrap())
                .unwrap();
        v.as_array().unwrap().clone()
    }
    /// The host port forwarded to `guest_port` of `node`.
    fn port(&self, node: &str, guest_port: u16) -> u16 {
        let vm = self.vms().into_iter().find(|v| v["name"] == node).unwrap();
        vm["forwards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f[1] == guest_port)
            .map(|f| f[0].as_u64().unwrap() as u16)
            .unwrap()
    }
    /// Run `script` with bash on `node` (the test image's shell) and return what it printed.
    fn sh(&self, node: &str, script: &str) -> String {
        let port = self.port(node, k8sgen::up::qemu::SHELL_GUEST_PORT);
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.namespace(),
                "socat",
                "-t",
                "600",
                "-",
            ])
            .arg(format!("TCP:127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    /// `k8sgen down` when the test ends, pass or fail, so no VM outlives it.
    fn drop(&mut self) {
        let _ = k8sgen(&[
            "down",
            "--provider",
            "qemu",
            "-f",
            self.spec.to_str().unwrap(),
        ]);
    }
}

/// `key=value` lines into a map.
fn facts(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn profile(name: &str) -> String {
    k8sgen::profiles::find(name).unwrap().text.to_string()
}

/// openstack-ha with 3 masters and one worker, the admin network on DHCP with a gateway
/// (10.0.2.0/24 is qemu's user-mode network), the test mirror, and raft timing an emulated
/// VM can keep (spec options, production defaults elsewhere).
fn ha_spec(runtime: &Runtime) -> String {
    let (nodes, checksums) = (runtime.nodes_edit(), runtime.checksums_edit());
    edit_text(
        &profile("openstack-ha"),
        &[
            (nodes.0, &nodes.1),
            (checksums.0, &checksums.1),
            (
                "    count: 3\n    flavor: m1.xlarge",
                "    count: 1\n    flavor: m1.xlarge",
            ),
            (
                "  dnsDomain: cluster.local\n",
                &format!("  dnsDomain: cluster.local\n  packages:\n    mirror: http://{MIRROR}/\n"),
            ),
            ("heartbeatIntervalMs: 100 ", "heartbeatIntervalMs: 500 "),
            ("electionTimeoutMs: 1000", "electionTimeoutMs: 5000"),
            ("cidr: 192.168.50.0/24", "cidr: 10.0.2.0/24"),
            ("  # stopAfter: etcd ", "  stopAfter: kubernetes "),
        ],
    )
}

/// `single` with a static admin network (no gateway, as `up` requires of static subnets).
fn static_spec(runtime: &Runtime) -> String {
    let (nodes, checksums) = (runtime.nodes_edit(), runtime.checksums_edit());
    edit_text(
        &profile("single"),
        &[
            (nodes.0, &nodes.1),
            (checksums.0, &checksums.1),
            (
                "  dnsDomain: cluster.local\n",
                &format!("  dnsDomain: cluster.local\n  packages:\n    mirror: http://{MIRROR}/\n"),
            ),
            (
                "  apiLoadBalancerPort:",
                "  admin:\n    network: admin-net\n    cidr: 10.0.2.0/24\n    addressing: static\n    firstAddress: 10.0.2.21\n  apiLoadBalancerPort:",
            ),
            (
                "  tokenTTL: 24h",
                "  tokenTTL: 24h\n  stopAfter: kubernetes",
            ),
        ],
    )
}

/// containerd 2 and runc as release files in the test mirror, in upstream's layout under
/// `<mirror>/github.com/...`: the image's containerd is Debian's 1.6, so every node installs
/// these. The real upstream files cannot be fetched here: containerd is Debian sid's 2.x
/// build (`tests/fetch-containerd2.sh`) packed as the release tarball is (`bin/...`), runc
/// is this machine's. The spec names their versions and sha256 (`nodes.runtime`,
/// `kubernetes.checksums`), as an operator does for versions k8sgen has no pin for.
struct Runtime {
    containerd: String,
    runc: String,
    containerd_sha256: String,
    runc_sha256: String,
}

impl Runtime {
    /// Stand-in values for a spec that is only loaded.
    fn placeholder() -> Runtime {
        Runtime {
            containerd: "2.1.9".into(),
            runc: "1.1.5".into(),
            containerd_sha256: "0".repeat(64),
            runc_sha256: "1".repeat(64),
        }
    }

    /// Writes the files into `mirror`.
    fn publish(mirror: &Path) -> Runtime {
        let containerd2 = PathBuf::from("/var/cache/k8sgen-containerd2/usr/bin");
        assert!(
            containerd2.join("containerd").is_file(),
            "tests/all.sh unpacks containerd 2 first (tests/fetch-containerd2.sh)"
        );
        let version_of = |program: &Path, args: &[&str], field: usize| -> String {
            let out = Command::new(program).args(args).output().unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            let word = text
                .split_whitespace()
                .nth(field)
                .unwrap_or_default()
                .to_string();
            word.trim_start_matches('v')
                .split(['+', '~'])
                .next()
                .unwrap()
                .to_string()
        };
        let containerd = version_of(&containerd2.join("containerd"), &["--version"], 2);
        let runc_bin = PathBuf::from("/usr/sbin/runc");
        let runc = version_of(&runc_bin, &["--version"], 2);
        let release = mirror.join(format!(
            "github.com/containerd/containerd/releases/download/v{containerd}"
        ));
        let staging = mirror.join(".containerd-staging");
        std::fs::create_dir_all(staging.join("bin")).unwrap();
        std::fs::create_dir_all(&release).unwrap();
        for bin in ["containerd", "containerd-shim-runc-v2", "ctr"] {
            std::fs::copy(containerd2.join(bin), staging.join("bin").join(bin)).unwrap();
        }
        let tarball = release.join(format!("containerd-{containerd}-linux-amd64.tar.gz"));
        let packed = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&staging)
            .arg("bin")
            .output()
            .unwrap();
        assert!(
            packed.status.success(),
            "{}",
            String::from_utf8_lossy(&packed.stderr)
        );
        std::fs::remove_dir_all(&staging).unwrap();
        let runc_release = mirror.join(format!(
            "github.com/opencontainers/runc/releases/download/v{runc}"
        ));
        std::fs::create_dir_all(&runc_release).unwrap();
        std::fs::copy(&runc_bin, runc_release.join("runc.amd64")).unwrap();
        Runtime {
            containerd_sha256: sha256_hex(&std::fs::read(&tarball).unwrap()),
            runc_sha256: sha256_hex(&std::fs::read(runc_release.join("runc.amd64")).unwrap()),
            containerd,
            runc,
        }
    }

    /// The spec's `nodes.runtime` and download mirror.
    fn nodes_edit(&self) -> (&'static str, String) {
        (
            "  image: ubuntu-24.04",
            format!(
                "  runtime: {{containerd: \"{}\", runc: \"{}\"}}\n  downloadMirror: http://{MIRROR}/\n  image: ubuntu-24.04",
                self.containerd, self.runc
            ),
        )
    }

    /// Their sha256 under `kubernetes.checksums`.
    fn checksums_edit(&self) -> (&'static str, String) {
        (
            "  podSubnet:",
            format!(
                "  checksums:\n    containerd: \"{}\"\n    runc: \"{}\"\n  podSubnet:",
                self.containerd_sha256, self.runc_sha256
            ),
        )
    }
}

fn etcdctl(
    ns: &str,
    endpoints: &str,
    pki: &Path,
    client: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, "etcdctl"])
        .env("ETCDCTL_API", "3")
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

/// The user-data a VM booted, read back from its config drive.
fn booted_user_data(vm: &serde_json::Value, out: &Path) -> String {
    let x = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev", vm["drive"].as_str().unwrap()])
        .args(["-extract", "/openstack/latest/user_data"])
        .arg(out)
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    std::fs::read_to_string(out).unwrap()
}

/// The user-data cloud-init consumed on `node`, as it stored it (raw, before any processing).
fn consumed_user_data(c: &Cluster, node: &str) -> Vec<u8> {
    use base64::Engine;
    let b64 = c.sh(
        node,
        "base64 -w0 /var/lib/cloud/instance/user-data.txt 2>/dev/null\n",
    );
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap_or_default()
}

/// `k8sgen render` for a cluster `up --provider qemu` built: node → user-data bytes.
/// `render` learns what a provider decided only from the record beside the spec, and
/// `up --provider qemu` writes none, so the admin MACs qemu gives the VMs (node order) are
/// recorded there first, unless `up` already recorded facts.
fn rendered_user_data(spec: &Path, secrets: &Path, out: &Path) -> BTreeMap<String, Vec<u8>> {
    let text = std::fs::read_to_string(spec).unwrap();
    let loaded = k8sgen::spec::load("cluster.yaml", &text).unwrap();
    let bundle = k8sgen::pki::Secrets::from_yaml(
        &secrets.display().to_string(),
        &std::fs::read_to_string(secrets).unwrap(),
    )
    .unwrap();
    let plan = k8sgen::plan::plan(&loaded, &bundle, &|_| None).unwrap();
    let record = k8sgen::up::state::path_for(spec);
    if !record.exists() {
        let admin_macs = plan
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), k8sgen::up::qemu::mac_admin(i)))
            .collect();
        let facts = k8sgen::plan::facts::Facts {
            admin_macs,
            api_floating_ip: None,
        };
        let recorded = k8sgen::up::state::Record {
            cluster: loaded.name.clone(),
            facts,
            ..Default::default()
        };
        k8sgen::up::state::save(&record, &recorded).unwrap();
    }
    render_spec(spec, secrets, out);
    plan.nodes
        .iter()
        .map(|n| {
            let bytes = std::fs::read(out.join(format!("{}.user-data", n.name))).unwrap();
            (n.name.clone(), bytes)
        })
        .collect()
}

/// `None` when `booted` and `rendered` are the same bytes; otherwise both sizes and sha256s
/// and the first line that differs (user-data carries secrets: no other content).
fn user_data_difference(booted: &[u8], rendered: &[u8]) -> Option<String> {
    if booted == rendered {
        return None;
    }
    let line = booted
        .split(|b| *b == b'\n')
        .zip(rendered.split(|b| *b == b'\n'))
        .position(|(a, b)| a != b)
        .map_or("past the shorter one's end".to_string(), |i| {
            format!("{}", i + 1)
        });
    Some(format!(
        "booted {} bytes sha256 {}, rendered {} bytes sha256 {}; first differing line {line}",
        booted.len(),
        sha256_hex(booted),
        rendered.len(),
        sha256_hex(rendered)
    ))
}

/// What the test image's shell reports about a node (see the script for each key).
const INSPECT: &str = r#"set +e
dev_of() { ip -o link | awk -v mac="$1" 'tolower($0) ~ mac { sub(":", "", $2); print $2; exit }'; }
admin=$(dev_of "$ADMIN_MAC"); cluster=$(dev_of "$CLUSTER_MAC")
echo "admin_dev=$admin"
echo "cluster_dev=$cluster"
echo "admin_addr=$(ip -4 -o addr show dev "$admin" | awk '{print $4}' | head -n 1)"
echo "default_routes=$(ip -4 route show default | tr '\n' ';')"
echo "admin_routes=$(ip -4 route show dev "$admin" | grep -v 'proto kernel' | tr '\n' ';')"
echo "admin_dns=$(resolvectl dns "$admin" 2>&1 | sed 's/^[^:]*://' | xargs)"
echo "admin_lease_router=$(grep -h '^ROUTER=' /run/systemd/netif/leases/"$(cat /sys/class/net/"$admin"/ifindex)" 2>/dev/null | cut -d= -f2)"
echo "admin_lease_dns=$(grep -h '^DNS=' /run/systemd/netif/leases/"$(cat /sys/class/net/"$admin"/ifindex)" 2>/dev/null | cut -d= -f2)"
echo "netplan_admin_mac=$(grep -ci "$ADMIN_MAC" /etc/netplan/50-cloud-init.yaml)"
echo "netplan_cluster_mac=$(grep -ci "$CLUSTER_MAC" /etc/netplan/50-cloud-init.yaml)"
echo "datasource=$(cat /run/cloud-init/cloud-id 2>/dev/null; grep -ho 'DataSourceConfigDrive' /var/log/cloud-init.log | head -n 1)"
echo "cloudinit_errors=$(python3 -c 'import json; print(len(json.load(open("/var/lib/cloud/data/result.json"))["v1"]["errors"]))' 2>&1)"
echo "cloudinit_invalid=$(grep -c 'Invalid cloud-config' /var/log/cloud-init.log)"
echo "keyring=$(stat -c '%a' /etc/apt/keyrings/kubernetes-apt-keyring.* 2>&1 | xargs)"
for k in /etc/apt/keyrings/kubernetes-apt-keyring.*; do
  runuser -u _apt -- test -r "$k" && echo "keyring_apt_readable=yes" || echo "keyring_apt_readable=no"
done
echo "sources=$(cat /etc/apt/sources.list.d/kubernetes.list 2>&1)"
echo "versions=$(dpkg-query -W -f '${Package}=${Version} ' kubelet kubeadm kubectl cri-tools 2>&1)"
echo "crictl=$(crictl --version 2>&1)"
echo "sandbox=$(containerd config dump 2>&1 | grep -E '^\s*sandbox(_image)? = ' | xargs)"
echo "containerd_version=$(containerd --version 2>&1 | awk '{print $3}')"
echo "containerd_path=$(command -v containerd)"
echo "containerd_active=$(systemctl is-active containerd 2>&1)"
echo "containerd_unit=$(systemctl show -p FragmentPath --value containerd 2>&1)"
echo "config_version=$(sed -nE 's/^version *= *([0-9]+).*/\1/p' /etc/containerd/config.toml | head -n 1)"
echo "registry_hosts=$(containerd config dump 2>&1 | grep -E '^\s*config_path = ' | xargs)"
echo "holds=$(apt-mark showhold | sort | xargs)"
echo "inrelease=$(ls /var/lib/apt/lists/ | grep -c 'core:_stable:_v1.36_deb_InRelease$')"
echo "unauthenticated=$(cat /etc/apt/sources.list.d/* /etc/apt/apt.conf.d/* /var/log/k8sgen/bootstrap.log 2>/dev/null | grep -ci -e 'trusted=yes' -e 'allow-unauthenticated' -e 'AllowInsecureRepositories')"
echo "lock=$(cat /var/log/k8sgen-test-lock.log 2>&1)"
started=$(grep -m 1 ' kubernetes attempt 1/' /var/log/k8sgen/bootstrap.log | awk '{print $2}')
echo "kubernetes_started=$([ -n "$started" ] && date +%s -d "$started")"
installed=$(grep -m 1 ' install kubelet' /var/log/dpkg.log | awk '{print $1" "$2}')
echo "kubelet_installed=$([ -n "$installed" ] && date +%s -d "$installed")"
echo "node_metadata=$(curl -sS -m 10 http://169.254.169.254/openstack/latest/meta_data.json | tr -d '\n ')"
echo "bootstrap_tail=$(tail -n 5 /var/log/k8sgen/bootstrap.log | tr '\n' '|' | tr -d '=' | cut -c1-600)"
"#;

/// A pod as a CNI makes one: a network namespace with a veth, an address from the pod CIDR,
/// routed and masqueraded by the node; and kube-router's firewall's effect, an ACCEPT for
/// pod traffic at position 1 of FORWARD. Then: can it reach the mirror, the metadata service?
const POD: &str = r#"set +e
if ! ip netns list | grep -q '^pod'; then
  ip netns add pod
  ip link add k8sgen-pod type veth peer name eth0 netns pod
  ip -n pod link set lo up
  ip -n pod addr add "$POD_IP/24" dev eth0
  ip -n pod link set eth0 up
  ip addr add "$POD_GW/24" dev k8sgen-pod
  ip link set k8sgen-pod up
  ip -n pod route add default via "$POD_GW"
  iptables -w -I FORWARD 1 -s "$POD_CIDR" -j ACCEPT
  iptables -w -I FORWARD 1 -d "$POD_CIDR" -j ACCEPT
  iptables -w -t nat -I POSTROUTING 1 -s "$POD_CIDR" ! -d "$POD_CIDR" -j MASQUERADE
fi
echo "pod_mirror=$(ip netns exec pod curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://$MIRROR/core:/stable:/v1.36/deb/Release.key" 2>/dev/null)"
echo "pod_metadata=$(ip netns exec pod curl -sS -m 10 -o /dev/null -w '%{http_code}' http://169.254.169.254/openstack/latest/user_data 2>/dev/null)"
"#;

/// Remove every iptables rule that names the metadata address, in every table.
const UNBLOCK: &str = r#"set +e
for table in raw mangle filter nat; do
  iptables-save -t "$table" | grep -- '169.254.169.254' | grep '^-A ' | sed 's/^-A /-D /' |
    while read -r rule; do eval "iptables -w -t $table $rule" && echo "removed=$table $rule"; done
done
"#;

fn with_env(vars: &[(&str, String)], script: &str) -> String {
    let mut s: String = vars.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
    s.push_str(script);
    s
}

#[test]
#[ignore = "boots 5 VMs (~15 min under TCG); run with --ignored after tests/vm/build-image.sh"]
fn nodes_boot_from_a_config_drive_through_the_kubernetes_step() {
    for tool in [
        "qemu-system-x86_64",
        "qemu-img",
        "xorriso",
        "etcdctl",
        "socat",
        "ip",
        "gpg",
        "dpkg-deb",
        "apt-ftparchive",
    ] {
        require(tool);
    }
    let images = PathBuf::from(
        std::env::var("K8SGEN_VM_IMAGE_DIR")
            .expect("K8SGEN_VM_IMAGE_DIR must name the directory tests/vm/build-image.sh printed"),
    );
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    let built = Command::new("bash")
        .arg(root().join("tests/vm/build-mirror.sh"))
        .arg(&mirror)
        // Two revisions, as pkgs.k8s.io has published: nodes must take the highest.
        .args(["1.36.4", "1.36.4-1.1", "1.36.4-2.1"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );

    let make = |name: &str, text: String, masters, workers| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let spec = dir.join("cluster.yaml");
        std::fs::write(&spec, text).unwrap();
        std::fs::copy(fixture_path(), dir.join("secrets.yaml")).unwrap();
        Cluster {
            dir,
            spec,
            masters,
            workers,
        }
    };
    let runtime = Runtime::publish(&mirror);
    let demo = make(
        "demo",
        ha_spec(&runtime),
        vec!["demo-cp-0", "demo-cp-1", "demo-cp-2"],
        vec!["demo-general-0"],
    );
    let lab = make("lab", static_spec(&runtime), vec!["lab-cp-0"], vec![]);

    // Both clusters boot at once: one VM run for both admin-network variants.
    let serve = format!("{MIRROR}:80={}", mirror.display());
    let up = |c: &Cluster| {
        let spec = c.spec.to_str().unwrap().to_string();
        let serve = serve.clone();
        let (kernel, initrd, image) = (
            images.join("vmlinuz"),
            images.join("initrd.img"),
            images.join("base.qcow2"),
        );
        std::thread::spawn(move || {
            k8sgen(&[
                "up",
                "--provider",
                "qemu",
                "-f",
                &spec,
                "--image",
                image.to_str().unwrap(),
                "--kernel",
                kernel.to_str().unwrap(),
                "--initrd",
                initrd.to_str().unwrap(),
                "--serve",
                &serve,
                "--timeout",
                "2700",
            ])
        })
    };
    let (demo_up, lab_up) = (up(&demo), up(&lab));
    let outputs = [
        (&demo, demo_up.join().unwrap()),
        (&lab, lab_up.join().unwrap()),
    ];
    let boot_secs = started.elapsed().as_secs();

    let mut problems: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            eprintln!("PROBLEM: {what}");
            problems.push(what);
        }
    };
    for (c, out) in &outputs {
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        check(
            out.status.success(),
            format!(
                "up of {} failed: {}",
                c.dir.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
        );
    }

    let rendered: BTreeMap<PathBuf, BTreeMap<String, Vec<u8>>> = outputs
        .iter()
        .map(|(c, _)| {
            let out = c.dir.join("rendered");
            let user_data = rendered_user_data(&c.spec, &c.dir.join("secrets.yaml"), &out);
            (c.dir.clone(), user_data)
        })
        .collect();
    for (c, _) in &outputs {
        for node in c.nodes() {
            let worker = c.workers.contains(&node);
            let index = c.nodes().iter().position(|n| *n == node).unwrap();
            let text = c.console(node);
            let steps: Vec<String> = k8sgen::up::progress::lines_for(&text, node)
                .map(|p| format!("{} {}", p.step, p.ok))
                .collect();
            let mut expected = vec![
                "host-prep true",
                "admin-network true",
                "packages true",
                "runtime true",
            ];
            if !worker {
                expected.push("etcd true");
            }
            expected.push("kubernetes true");
            check(
                steps == expected,
                format!("{node}: progress lines {steps:?}, expected {expected:?}"),
            );
            check(
                text.contains(&format!("k8sgen: node={node} stopped after kubernetes")),
                format!("{node}: no clean stop after kubernetes"),
            );

            let vm = c.vms().into_iter().find(|v| v["name"] == node).unwrap();
            let user_data = booted_user_data(&vm, &tmp.path().join(format!("{node}.user-data")));
            // cloud-init consumed exactly the config drive's bytes, and they are `render`'s.
            let consumed = consumed_user_data(c, node);
            if let Some(d) = user_data_difference(&consumed, user_data.as_bytes()) {
                check(false, format!("{node}: consumed vs config drive: {d}"));
            }
            if let Some(d) = user_data_difference(&consumed, &rendered[&c.dir][node]) {
                check(false, format!("{node}: consumed vs `k8sgen render`: {d}"));
            }
            let files = write_files(&user_data);
            let mut inspect = INSPECT.to_string();
            for path in files.keys() {
                inspect.push_str(&format!(
                    "echo \"mode:{path}=$(stat -c '%a %u %g' {path} 2>&1)\"\n"
                ));
            }
            // Packed files (`encoding: gz+b64`): what cloud-init wrote is the inflated text.
            let packed: Vec<&String> = files
                .keys()
                .filter(|p| {
                    p.starts_with("/etc/kubernetes/k8sgen/addons/")
                        || p.as_str() == "/usr/local/lib/k8sgen/bootstrap.sh"
                })
                .collect();
            for path in &packed {
                inspect.push_str(&format!(
                    "echo \"sha:{path}=$(sha256sum {path} 2>&1 | cut -d' ' -f1)\"\n"
                ));
            }
            let f = facts(&c.sh(
                node,
                &with_env(
                    &[
                        ("ADMIN_MAC", k8sgen::up::qemu::mac_admin(index)),
                        ("CLUSTER_MAC", k8sgen::up::qemu::mac_cluster(index)),
                    ],
                    &inspect,
                ),
            ));
            let get = |k: &str| f.get(k).cloned().unwrap_or_default();
            eprintln!("{node}: {f:#?}");

            // cloud-init read the config drive and rendered netplan for both NICs.
            check(
                get("datasource").to_lowercase().contains("configdrive"),
                format!("{node}: datasource `{}`", get("datasource")),
            );
            check(
                get("netplan_cluster_mac") == "1" && get("netplan_admin_mac") == "1",
                format!(
                    "{node}: cloud-init's netplan does not list both NICs' MACs ({} / {})",
                    get("netplan_cluster_mac"),
                    get("netplan_admin_mac")
                ),
            );
            check(
                get("cloudinit_errors") == "0" && get("cloudinit_invalid") == "0",
                format!(
                    "{node}: cloud-init errors {} / invalid {}",
                    get("cloudinit_errors"),
                    get("cloudinit_invalid")
                ),
            );
            let is_init = rendered[&c.dir][node].windows(6).any(|w| w == b"(init)");
            check(
                packed.len() == if is_init { 4 } else { 1 },
                format!("{node}: boot script and add-ons {packed:?}"),
            );
            for path in &packed {
                let want = k8sgen_sha256(&files[*path].1);
                check(
                    get(&format!("sha:{path}")) == want,
                    format!(
                        "{node}: {path} on disk has sha256 `{}`, its text `{want}`: cloud-init did not inflate it",
                        get(&format!("sha:{path}"))
                    ),
                );
            }
            for (path, (permissions, _)) in &files {
                let want = format!(
                    "{} 0 0",
                    u32::from_str_radix(permissions, 8)
                        .map(|m| format!("{m:o}"))
                        .unwrap()
                );
                check(
                    get(&format!("mode:{path}")) == want,
                    format!(
                        "{node}: {path} is `{}`, want `{want}`",
                        get(&format!("mode:{path}"))
                    ),
                );
            }

            // The admin NIC: configured, never the default route, no DNS; with DHCP its
            // server offered both (so the check can fail).
            let admin_dev = get("admin_dev");
            let want_addr = if c.workers.is_empty() && c.masters == ["lab-cp-0"] {
                "10.0.2.21/24"
            } else {
                "10.0.2.15/24"
            };
            check(
                get("admin_addr") == want_addr,
                format!(
                    "{node}: admin address `{}`, want {want_addr}",
                    get("admin_addr")
                ),
            );
            check(
                !admin_dev.is_empty()
                    && !get("default_routes").contains(&format!("dev {admin_dev} "))
                    && get("default_routes").contains(&format!("dev {} ", get("cluster_dev"))),
                format!(
                    "{node}: default routes `{}` (admin {admin_dev})",
                    get("default_routes")
                ),
            );
            check(
                get("admin_routes").is_empty(),
                format!(
                    "{node}: the admin NIC holds routes `{}`",
                    get("admin_routes")
                ),
            );
            check(
                get("admin_dns").is_empty(),
                format!(
                    "{node}: the admin NIC contributes DNS `{}`",
                    get("admin_dns")
                ),
            );
            if want_addr == "10.0.2.15/24" {
                check(
                    get("admin_lease_router") == "10.0.2.2",
                    format!(
                        "{node}: the admin DHCP lease offered no router (`{}`): the check proves nothing",
                        get("admin_lease_router")
                    ),
                );
            }

            // Packages: from the signed mirror, pinned, held, key readable by _apt, after the
            // held dpkg lock was released.
            check(
                get("keyring") == "644" && get("keyring_apt_readable") == "yes",
                format!(
                    "{node}: keyring mode `{}`, readable by _apt: {}",
                    get("keyring"),
                    get("keyring_apt_readable")
                ),
            );
            check(
                get("sources").contains("signed-by=/etc/apt/keyrings/")
                    && get("sources")
                        .contains(&format!("http://{MIRROR}/core:/stable:/v1.36/deb/")),
                format!("{node}: sources `{}`", get("sources")),
            );
            check(
                get("versions")
                    == "cri-tools=1.36.0-1.1 kubeadm=1.36.4-2.1 kubectl=1.36.4-2.1 kubelet=1.36.4-2.1",
                format!("{node}: versions `{}`", get("versions")),
            );
            check(
                get("crictl") == "crictl version v1.36.0",
                format!("{node}: crictl `{}`", get("crictl")),
            );
            // The packages step replaced the image's containerd 1.6 with the release files
            // from the mirror (sha256-checked), the runtime step configured it (config
            // version 3, kubeadm's pause) and it runs from k8sgen's unit.
            check(
                get("containerd_version").starts_with(&runtime.containerd)
                    && get("containerd_path") == "/usr/local/bin/containerd"
                    && get("containerd_active") == "active"
                    && get("containerd_unit") == "/etc/systemd/system/containerd.service",
                format!(
                    "{node}: containerd {} at {} ({}, unit {})",
                    get("containerd_version"),
                    get("containerd_path"),
                    get("containerd_active"),
                    get("containerd_unit")
                ),
            );
            check(
                get("registry_hosts").starts_with("config_path = /etc/containerd/certs.d")
                    && !get("registry_hosts").contains("config_path = config_path"),
                format!("{node}: registry hosts `{}`", get("registry_hosts")),
            );
            check(
                get("config_version") == "3"
                    && get("sandbox") == "sandbox = registry.k8s.io/pause:3.10.2",
                format!(
                    "{node}: containerd config version {}, sandbox image `{}`",
                    get("config_version"),
                    get("sandbox")
                ),
            );
            check(
                get("holds") == "kubeadm kubectl kubelet",
                format!("{node}: holds `{}`", get("holds")),
            );
            check(
                get("inrelease") == "1" && get("unauthenticated") == "0",
                format!(
                    "{node}: verified InRelease {} / unauthenticated mentions {}",
                    get("inrelease"),
                    get("unauthenticated")
                ),
            );
            let lock: Vec<u64> = get("lock")
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            let (k_start, installed) = (
                get("kubernetes_started").parse::<u64>().ok(),
                get("kubelet_installed").parse::<u64>().ok(),
            );
            check(
                lock.len() == 2
                    && k_start.is_some_and(|s| s <= lock[1])
                    && installed.is_some_and(|i| i >= lock[1]),
                format!(
                    "{node}: the kubernetes step did not wait out the held lock (lock {:?}, step started {k_start:?}, kubelet installed {installed:?})",
                    get("lock")
                ),
            );
            check(
                get("node_metadata").contains(&format!("\"name\":\"{node}\"")),
                format!(
                    "{node}: the node cannot read its metadata: `{}`",
                    get("node_metadata")
                ),
            );
            if !get("bootstrap_tail").is_empty() && steps != expected {
                eprintln!("{node}: bootstrap log tail: {}", get("bootstrap_tail"));
            }

            // A pod reaches the mirror but not the metadata service.
            let pod_vars = [
                ("POD_IP", format!("10.244.{}.2", index + 1)),
                ("POD_GW", format!("10.244.{}.1", index + 1)),
                ("POD_CIDR", POD_CIDR.to_string()),
                ("MIRROR", MIRROR.to_string()),
            ];
            let pod = facts(&c.sh(node, &with_env(&pod_vars, POD)));
            check(
                pod.get("pod_mirror").map(String::as_str) == Some("200"),
                format!(
                    "{node}: the pod cannot reach the mirror ({:?}): the metadata check proves nothing",
                    pod.get("pod_mirror")
                ),
            );
            check(
                pod.get("pod_metadata").is_some_and(|c| c != "200"),
                format!(
                    "{node}: a pod read the metadata service (HTTP {:?})",
                    pod.get("pod_metadata")
                ),
            );
            if node == c.masters[0] {
                // The block comes back when something removes it.
                let removed = c.sh(node, UNBLOCK);
                eprintln!("{node}: {removed}");
                std::thread::sleep(std::time::Duration::from_secs(25));
                let again = facts(&c.sh(node, &with_env(&pod_vars, POD)));
                check(
                    again.get("pod_metadata").is_some_and(|c| c != "200"),
                    format!(
                        "{node}: after `{}` the pod read the metadata service (HTTP {:?})",
                        removed.trim(),
                        again.get("pod_metadata")
                    ),
                );
            }
        }
    }

    // etcd from the host (inside the VMs' namespace), mutual TLS with k8sgen's certificates.
    let ns = demo.namespace();
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let cp0 = demo
        .vms()
        .into_iter()
        .find(|v| v["name"] == "demo-cp-0")
        .unwrap();
    let files0 = write_files(&booted_user_data(&cp0, &tmp.path().join("cp0.user-data")));
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
    let etcd_port = |m: &str| demo.port(m, k8sgen::up::qemu::ETCD_FORWARD_GUEST_PORT);
    let endpoints = demo
        .masters
        .iter()
        .map(|m| format!("https://127.0.0.1:{}", etcd_port(m)))
        .collect::<Vec<_>>()
        .join(",");
    let health = etcdctl(
        &ns,
        &endpoints,
        &pki,
        Some("healthcheck-client"),
        &["endpoint", "health"],
    );
    check(
        health.status.success(),
        format!(
            "etcd health: {}{}",
            String::from_utf8_lossy(&health.stdout),
            String::from_utf8_lossy(&health.stderr)
        ),
    );
    let members = etcdctl(
        &ns,
        &endpoints,
        &pki,
        Some("healthcheck-client"),
        &["member", "list", "-w", "json"],
    );
    let members: serde_json::Value = serde_json::from_slice(&members.stdout).unwrap_or_default();
    let mut peers: Vec<String> = members["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["peerURLs"][0].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    peers.sort();
    check(
        peers
            == [
                "https://10.0.0.11:2380",
                "https://10.0.0.12:2380",
                "https://10.0.0.13:2380",
            ],
        format!("etcd peers {peers:?}: not over the cluster NIC"),
    );
    let first = format!("https://127.0.0.1:{}", etcd_port("demo-cp-0"));
    let second = format!("https://127.0.0.1:{}", etcd_port("demo-cp-2"));
    let put = etcdctl(
        &ns,
        &first,
        &pki,
        Some("apiserver-etcd-client"),
        &["put", "k8sgen-vm", "formed"],
    );
    let get = etcdctl(
        &ns,
        &second,
        &pki,
        Some("apiserver-etcd-client"),
        &["get", "k8sgen-vm", "--print-value-only"],
    );
    check(
        put.status.success() && String::from_utf8_lossy(&get.stdout).trim() == "formed",
        "etcd put/get across members".into(),
    );
    check(
        !etcdctl(&ns, &first, &pki, None, &["get", "k8sgen-vm"])
            .status
            .success(),
        "etcd served a client without a certificate".into(),
    );

    // down removes the VMs, their servers and the namespace.
    for (c, _) in &outputs {
        let ns = c.namespace();
        let vms = c.vms();
        let down = k8sgen(&["down", "--provider", "qemu", "-f", c.spec.to_str().unwrap()]);
        check(
            down.status.success(),
            format!("down: {}", String::from_utf8_lossy(&down.stderr)),
        );
        for vm in &vms {
            check(
                !Path::new(&format!("/proc/{}", vm["pid"])).exists(),
                format!("{} still running", vm["name"]),
            );
            check(
                !Path::new(vm["overlay"].as_str().unwrap()).exists(),
                "overlay left behind".into(),
            );
            check(
                !Path::new(vm["drive"].as_str().unwrap()).exists(),
                "config drive left behind".into(),
            );
        }
        let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
        check(
            !String::from_utf8_lossy(&listed.stdout).contains(&ns),
            format!("namespace {ns} left behind"),
        );
        check(
            !c.qemu().join("metadata").exists(),
            "metadata (user-data) left behind".into(),
        );
    }
    eprintln!(
        "VM e2e: 5 VMs through the kubernetes step {boot_secs} s, whole test {} s",
        started.elapsed().as_secs()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The VM clusters' specs are edits of the profiles: each edit must still apply once (or
/// the VM run would silently test something else) and the result must be a valid spec.
#[test]
fn the_vm_specs_apply_every_edit_and_load() {
    let runtime = Runtime::placeholder();
    for (name, text) in [("demo", ha_spec(&runtime)), ("lab", static_spec(&runtime))] {
        k8sgen::spec::load(name, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Without booting: `render` beside a record of qemu's MACs writes each node's admin MAC
/// into its user-data (plain `render` does not: `up --provider qemu` records no facts), and
/// a difference between two user-data documents is named by line and checksum.
#[test]
fn render_reproduces_qemus_facts_and_differences_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, ha_spec(&Runtime::placeholder())).unwrap();
    let plain = dir.path().join("plain");
    render_spec(&spec, &fixture_path(), &plain);
    let with_facts = rendered_user_data(&spec, &fixture_path(), &dir.path().join("rendered"));
    let nodes = ["demo-cp-0", "demo-cp-1", "demo-cp-2", "demo-general-0"];
    assert_eq!(with_facts.keys().collect::<Vec<_>>(), nodes);
    for (i, node) in nodes.iter().enumerate() {
        let bytes = &with_facts[*node];
        let mac = k8sgen::up::qemu::mac_admin(i).to_lowercase();
        let text = String::from_utf8_lossy(bytes);
        assert!(text.contains(&mac), "{node}: no admin MAC {mac}");
        let without = std::fs::read(plain.join(format!("{node}.user-data"))).unwrap();
        assert!(!String::from_utf8_lossy(&without).contains(&mac), "{node}");
        let difference = user_data_difference(&without, bytes).expect("the MAC differs");
        assert!(difference.contains("first differing line"), "{difference}");
        assert_eq!(user_data_difference(bytes, &bytes.clone()), None);
    }
}

/// `k8sgen render -f SPEC --secrets SECRETS --out DIR`, which must succeed.
fn render_spec(spec: &Path, secrets: &Path, out: &Path) {
    let rendered = k8sgen(&[
        "render",
        "-f",
        spec.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(rendered.status.success(), "{}", output_text(&rendered));
}

/// sha256 of a file's text, as `sha256sum` prints it.
fn k8sgen_sha256(text: &str) -> String {
    common::sha256_hex(text.as_bytes())
}
