//! Boot steps taken from rendered user-data and run by bash on this machine, in a private
//! root: every absolute path under `/etc` and `/sys/class/net` in the step is moved under a
//! temporary directory, and the programs a node has but this machine cannot run for real
//! (kubeadm, the API behind curl, ip and resolvectl of a two-NIC VM) are small stand-ins on
//! PATH that behave as the real ones do in the case at hand (kubeadm: `reset -f` removes the
//! files a partial join leaves, `join` fails its preflight while they exist; cited from
//! cmd/kubeadm's reset cleanup and join preflight). The real netplan validates what the
//! admin step writes. What these tests prove is the step's own logic; the VM tier proves the
//! steps it can reach on a booting node.

mod common;

use common::{output_text, shell_function};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// The rendered boot script of `node` in `profile` (no MACs known: a plain render).
fn boot_script(profile: &str, node: &str) -> (k8sgen::plan::Plan, String) {
    let (compiled, _) = common::compile_profile(profile, false);
    let plan = compiled.plan.clone();
    let bundle = compiled.bundles.iter().find(|b| b.node == node).unwrap();
    let script = bundle
        .files
        .iter()
        .find(|f| f.path == plan.platform.script_path)
        .unwrap()
        .content
        .clone();
    (plan, script)
}

/// The step, moved under `$ROOT`.
fn rooted(text: &str) -> String {
    text.replace("/etc/", "$ROOT/etc/")
        .replace("/sys/class/net", "$ROOT/sys/class/net")
}

/// Debian sid's containerd 2 binary, which tests/all.sh unpacks (tests/fetch-containerd2.sh);
/// `K8SGEN_CONTAINERD2` names another.
fn containerd2() -> std::path::PathBuf {
    let path = std::path::PathBuf::from(
        std::env::var("K8SGEN_CONTAINERD2")
            .unwrap_or_else(|_| "/var/cache/k8sgen-containerd2/usr/bin/containerd".into()),
    );
    assert!(
        path.is_file(),
        "{} is missing: tests/all.sh unpacks it (tests/fetch-containerd2.sh)",
        path.display()
    );
    path
}

fn stub(bin: &Path, name: &str, body: &str) {
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn run(root: &Path, env: &[(&str, &str)], script: &str) -> Output {
    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", script])
        .env("ROOT", root)
        .env("PATH", path)
        .env("STATE", root.join("state"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn write(root: &Path, path: &str, content: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn a_worker_waits_for_the_token_signature_and_resets_a_partial_join() {
    let (plan, script) = boot_script("openstack-ha", "demo-general-0");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("bin")).unwrap();
    std::fs::create_dir_all(r.join("state/steps")).unwrap();
    write(r, "/etc/k8sgen/ca.crt", "ca");
    write(r, "/etc/kubernetes/k8sgen/kubeadm-join.yaml", "join config");
    // What a first join attempt that failed after discovery leaves behind.
    write(r, "/etc/kubernetes/pki/ca.crt", "ca");
    write(r, "/etc/kubernetes/bootstrap-kubelet.conf", "bootstrap");
    // The API: cluster-info without the token's signature first (the init master has not run
    // its bootstrap-token phase yet), with it from the third request on.
    stub(
        &r.join("bin"),
        "curl",
        &format!(
            "n=$(( $(cat \"$ROOT/curl.count\" 2>/dev/null || echo 0) + 1 )); echo $n >\"$ROOT/curl.count\"\n\
             case \"$*\" in *configmaps/cluster-info*) ;; */readyz*) echo ok; exit 0 ;; *) exit 22 ;; esac\n\
             if [ $n -ge 3 ]; then echo '{{\"data\":{{\"kubeconfig\":\"x\",\"jws-kubeconfig-{}\":\"sig\"}}}}'; \
             else echo '{{\"data\":{{\"kubeconfig\":\"x\"}}}}'; fi",
            plan.token_id
        ),
    );
    stub(
        &r.join("bin"),
        "kubeadm",
        "echo \"$*\" >>\"$ROOT/kubeadm.log\"\n\
         k=\"$ROOT/etc/kubernetes\"\n\
         case \"$1\" in\n\
           reset) rm -rf \"$k/pki\" \"$k/bootstrap-kubelet.conf\" \"$k/kubelet.conf\" ;;\n\
           join)\n\
             [ -e \"$k/k8sgen/kubeadm-join.yaml\" ] || { echo \"no join config\" >&2; exit 1; }\n\
             [ -e \"$ROOT/join-fails\" ] && { echo \"[discovery] timed out\" >&2; exit 1; }\n\
             for f in \"$k/pki/ca.crt\" \"$k/bootstrap-kubelet.conf\"; do\n\
               [ -e \"$f\" ] && { echo \"[preflight] FileAvailable: $f already exists\" >&2; exit 1; }\n\
             done\n\
             touch \"$k/kubelet.conf\" ;;\n\
         esac",
    );
    let step = rooted(&shell_function(&script, "step_join"));
    let join = || {
        run(
            r,
            &[("LB_PORT", "7443")],
            &format!(
                "{}\n{}\n{step}\nstep_join",
                shell_function(&script, "retry_until"),
                // The background pulls' report: a stand-in (tested on its own below).
                "prepull_report() { echo images=0/7 pulling; }"
            ),
        )
    };
    // A join that fails keeps the join configuration for the next attempt.
    write(r, "/join-fails", "");
    let out = join();
    assert!(!out.status.success(), "{}", output_text(&out));
    assert!(r.join("etc/kubernetes/k8sgen/kubeadm-join.yaml").exists());
    std::fs::remove_file(r.join("join-fails")).unwrap();
    std::fs::remove_file(r.join("kubeadm.log")).unwrap();
    write(r, "/etc/kubernetes/pki/ca.crt", "ca");
    write(r, "/etc/kubernetes/bootstrap-kubelet.conf", "bootstrap");
    let out = join();
    assert!(out.status.success(), "{}", output_text(&out));
    let calls: u32 = std::fs::read_to_string(r.join("curl.count"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        calls >= 3,
        "joined before the token was signed ({calls} polls)"
    );
    let log = std::fs::read_to_string(r.join("kubeadm.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[0], "reset -f");
    assert!(lines[1].starts_with("join --config "), "{log}");
    assert!(r.join("etc/kubernetes/kubelet.conf").exists());
    // The join configuration survived the reset (the stub's join needs it); once joined,
    // the bootstrap token in it is removed from the node.
    assert!(!r.join("etc/kubernetes/k8sgen/kubeadm-join.yaml").exists());
    assert!(r.join("etc/k8sgen/ca.crt").exists());
}

/// A two-NIC VM as the admin step sees it, with no MAC known at render time.
fn two_nic_node(r: &Path, nics: &[&str], cluster_ip: &str) {
    std::fs::create_dir_all(r.join("bin")).unwrap();
    std::fs::create_dir_all(r.join("state/steps")).unwrap();
    std::fs::create_dir_all(r.join("sys/class/net/lo")).unwrap();
    // As netplan.io's package leaves it.
    std::fs::create_dir_all(r.join("etc/netplan")).unwrap();
    for nic in nics {
        std::fs::create_dir_all(r.join(format!("sys/class/net/{nic}/device"))).unwrap();
    }
    stub(
        &r.join("bin"),
        "ip",
        &format!(
            "case \"$*\" in\n\
               '-4 -o addr show') echo '1: lo    inet 127.0.0.1/8 scope host lo'; \
                 echo '2: {c}    inet {cluster_ip}/24 brd 10.0.0.255 scope global {c}' ;;\n\
               '-4 -o addr show dev {a}') echo '3: {a}    inet 192.168.50.15/24 brd 192.168.50.255 scope global dynamic {a}' ;;\n\
               '-4 route show default') echo 'default via 10.0.0.1 dev {c} proto static' ;;\n\
               *) exit 1 ;;\n\
             esac",
            c = nics[0],
            a = nics[1],
        ),
    );
    // netplan validates for real, under the private root.
    stub(
        &r.join("bin"),
        "netplan",
        "[ \"$1\" = apply ] && exit 0\nexec /usr/sbin/netplan \"$@\" --root-dir \"$ROOT\"",
    );
    stub(&r.join("bin"), "resolvectl", "echo \"Link 3 ($2):\"");
}

#[test]
fn the_admin_nic_is_found_at_boot_without_a_mac() {
    common::require("netplan");
    let (plan, script) = boot_script("openstack-ha", "demo-general-0");
    assert!(
        plan.nodes.iter().all(|n| n.admin_mac.is_none()),
        "a plain render knows no MAC"
    );
    let (compiled, _) = common::compile_profile("openstack-ha", false);
    let bundle = compiled
        .bundles
        .iter()
        .find(|b| b.node == "demo-general-0")
        .unwrap();
    let node_ip = plan
        .nodes
        .iter()
        .find(|n| n.name == "demo-general-0")
        .unwrap()
        .address
        .to_string();
    let step = rooted(&shell_function(&script, "step_admin_network"));
    let program = format!(
        "{}\n{step}\nstep_admin_network",
        shell_function(&script, "retry_until")
    );
    let prepare = |r: &Path, nics: &[&str]| {
        two_nic_node(r, nics, &node_ip);
        for f in &bundle.files {
            if f.path.starts_with("/etc/k8sgen/") {
                write(r, &f.path, &f.content);
            }
        }
    };

    // Named as q35 machines name them: no `ens4` anywhere.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    prepare(r, &["enp0s2", "enp0s3"]);
    let out = run(r, &[("NODE_IP", &node_ip)], &program);
    assert!(out.status.success(), "{}", output_text(&out));
    let netplan = std::fs::read_to_string(r.join("etc/netplan/60-k8sgen-admin.yaml")).unwrap();
    assert!(netplan.contains("\n    \"enp0s3\":\n"), "{netplan}");
    assert!(
        r.join("etc/systemd/network/10-netplan-enp0s3.network.d/60-k8sgen-admin.conf")
            .exists()
    );
    let detail = std::fs::read_to_string(r.join("state/steps/admin-network.detail")).unwrap();
    assert!(
        detail.starts_with("dev=enp0s3 address=192.168.50.15/24"),
        "{detail}"
    );
    let generated =
        std::fs::read_to_string(r.join("run/systemd/network/10-netplan-enp0s3.network")).unwrap();
    assert!(generated.contains("UseRoutes=false"), "{generated}");

    // Three NICs: no guess, a hint.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    prepare(r, &["enp0s2", "enp0s3", "enp0s4"]);
    let out = run(r, &[("NODE_IP", &node_ip)], &program);
    assert!(!out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("set network.admin.interface"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn shell_function_takes_the_definition_only() {
    let script = "f() {\n  g\n}\nxf() {\n}\ng() {\n  f\n}\nrest\n";
    assert_eq!(shell_function(script, "f"), "f() {\n  g\n}\n");
    assert_eq!(shell_function(script, "g"), "g() {\n  f\n}\n");
}

/// The runtime step's `set_sandbox_image` makes containerd's sandbox image kubeadm's pause
/// for the version, in both config layouts, and the real containerd of each layout reads the
/// file back, as the function itself has it do: Debian's 1.6 (whose own default says
/// `pause:3.6`) for config version 2, Debian sid's containerd 2 (`tests/fetch-containerd2.sh`)
/// for version 3 and later, where the key is `pinned_images.sandbox` (cri `sandbox_run.go`).
/// Inputs: each one's own default, a file with the table (indented, as containerd writes it)
/// but no key, a file with neither, containerd 2.3's version 4 (no containerd here loads it),
/// and a file containerd cannot load, which must fail.
#[test]
fn the_sandbox_image_is_kubeadms_pause_in_either_containerd_layout() {
    common::require("containerd");
    let containerd2 = containerd2();
    let (plan, script) = boot_script("openstack-ha", "demo-cp-0");
    let pause = plan.pause_image.clone();
    assert_eq!(
        pause, "registry.k8s.io/pause:3.10.2",
        "kubeadm 1.36's pause"
    );
    let function = common::shell_function(&script, "set_sandbox_image");
    let dir = tempfile::tempdir().unwrap();
    // A root whose PATH finds containerd 2 first.
    let with_v2 = dir.path().join("containerd-2");
    std::fs::create_dir_all(with_v2.join("bin")).unwrap();
    std::os::unix::fs::symlink(&containerd2, with_v2.join("bin/containerd")).unwrap();
    let set = |name: &str, config: &str, root: &Path| -> (bool, String) {
        let file = dir.path().join(name);
        std::fs::write(&file, config).unwrap();
        let out = run(
            root,
            &[],
            &format!("{function}\nset_sandbox_image {} {pause}", file.display()),
        );
        (
            out.status.success(),
            std::fs::read_to_string(&file).unwrap(),
        )
    };
    let dump = |containerd: &Path, name: &str| -> String {
        let out = Command::new(containerd)
            .args(["--config"])
            .arg(dir.path().join(name))
            .args(["config", "dump"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", output_text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let default_of = |containerd: &Path| -> String {
        let out = Command::new(containerd)
            .args(["config", "default"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };

    let containerd1 = Path::new("containerd");
    let default = default_of(containerd1);
    assert!(default.contains("sandbox_image = \"registry.k8s.io/pause:3.6\""));
    let wanted = format!("sandbox_image = \"{pause}\"");
    for (name, config) in [
        ("default.toml", default.as_str()),
        (
            "cri-table.toml",
            "version = 2\n\n[plugins]\n\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    enable_selinux = false\n",
        ),
        ("bare.toml", "version = 2\n"),
    ] {
        let (ok, _) = set(name, config, dir.path());
        assert!(ok, "{name}");
        let dumped = dump(containerd1, name);
        assert_eq!(dumped.matches(&wanted).count(), 1, "{name}:\n{dumped}");
        assert!(!dumped.contains("pause:3.6"), "{name}");
    }

    let default2 = default_of(&containerd2);
    assert!(default2.starts_with("version = 3\n"), "{default2}");
    assert!(
        default2.contains("sandbox = 'registry.k8s.io/pause:"),
        "{default2}"
    );
    let read_v3 = |name: &str| -> String {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys, tomllib; c = tomllib.load(open(sys.argv[1], 'rb')); \
                 print(c['plugins']['io.containerd.cri.v1.images']['pinned_images']['sandbox'])",
            ])
            .arg(dir.path().join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", output_text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let wanted2 = format!("sandbox = '{pause}'");
    for (name, config) in [
        ("v3-default.toml", default2.as_str()),
        ("v3-bare.toml", "version = 3\n"),
        // The table exists without the key: it must not be defined twice.
        (
            "v3-pinned-table.toml",
            "version = 3\n\n[plugins]\n  [plugins.'io.containerd.cri.v1.images'.pinned_images]\n",
        ),
    ] {
        let (ok, text) = set(name, config, &with_v2);
        assert!(ok, "{name}:\n{text}");
        assert_eq!(read_v3(name), pause, "{name}:\n{text}");
        let dumped = dump(&containerd2, name);
        assert_eq!(dumped.matches(&wanted2).count(), 1, "{name}:\n{dumped}");
    }
    // containerd 2.3 writes version 4, which 2.1 cannot load: the key goes in the same table
    // (Python's TOML parser reads it there); a stand-in containerd prints the file back for
    // the function's own check.
    let with_v4 = dir.path().join("containerd-2.3");
    std::fs::create_dir_all(with_v4.join("bin")).unwrap();
    stub(
        &with_v4.join("bin"),
        "containerd",
        "[ \"$1 $3 $4\" = \"--config config dump\" ] && exec cat \"$2\"; exit 2",
    );
    let (ok, text) = set("v4-bare.toml", "version = 4\n", &with_v4);
    assert!(ok, "{text}");
    assert_eq!(read_v3("v4-bare.toml"), pause, "{text}");
    // A file containerd cannot load fails the step, even when it names the image.
    let (ok, _) = set(
        "duplicate.toml",
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"x\"\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  enable_selinux = false\n",
        dir.path(),
    );
    assert!(!ok, "a duplicated table passed");
}

/// kube-router's `install-cni` init container, run by sh as the container would (paths moved
/// under a temporary directory): it installs the CNI configuration when there is none, leaves
/// an existing one alone (kube-router adds the node's pod CIDR to it at each start, and a copy
/// at every restart would take the subnet away again), and installs it again only when the
/// ConfigMap's version changed.
#[test]
fn install_cni_writes_the_cni_configuration_only_once() {
    let (compiled, _) = common::compile_profile("openstack-ha", false);
    let addons = compiled.bundles[0]
        .files
        .iter()
        .find(|f| f.path == "/etc/kubernetes/k8sgen/addons/kube-router.yaml")
        .unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&addons.content).unwrap();
    let ds = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let init = &ds["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["name"], "install-cni");
    let command: Vec<&str> = init["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(&command[..2], ["/bin/sh", "-c"]);
    let dir = tempfile::tempdir().unwrap();
    let (net_d, cfg) = (dir.path().join("net.d"), dir.path().join("kube-router"));
    std::fs::create_dir_all(&net_d).unwrap();
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("cni-conf.json"), "{\"from\": \"configmap\"}\n").unwrap();
    let script = command[2]
        .replace("/etc/cni/net.d", net_d.to_str().unwrap())
        .replace("/etc/kube-router", cfg.to_str().unwrap());
    let install = || {
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        assert!(out.status.success(), "{}", output_text(&out));
    };
    let conflist = net_d.join("10-kuberouter.conflist");
    install();
    assert_eq!(
        std::fs::read_to_string(&conflist).unwrap(),
        "{\"from\": \"configmap\"}\n"
    );
    let with_subnet = "{\"from\": \"configmap\", \"subnet\": \"10.244.1.0/24\"}\n";
    std::fs::write(&conflist, with_subnet).unwrap();
    install();
    assert_eq!(std::fs::read_to_string(&conflist).unwrap(), with_subnet);
    let mut names: Vec<String> = std::fs::read_dir(&net_d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // CNI loads only *.conf, *.conflist and *.json: the saved source is not one of them.
    assert_eq!(
        names,
        [".kuberouter-src", "10-kuberouter.conflist"],
        "no temporary left"
    );
    std::fs::write(cfg.join("cni-conf.json"), "{\"from\": \"configmap v2\"}\n").unwrap();
    install();
    assert_eq!(
        std::fs::read_to_string(&conflist).unwrap(),
        "{\"from\": \"configmap v2\"}\n"
    );
}

/// The runtime step's configuration part, taken from the rendered step up to its sandbox
/// image line and run in a private root, against each real containerd: Debian's 1.6 and sid's
/// containerd 2 (config version 3). Each then loads the file and reports systemd cgroups for
/// runc, kubeadm's pause and the registry hosts directory.
#[test]
fn the_runtime_step_configures_containerd_1_and_2_alike() {
    common::require("containerd");
    let containerd2 = containerd2();
    let (plan, script) = boot_script("openstack-ha", "demo-cp-0");
    let step = shell_function(&script, "step_runtime");
    let body: Vec<&str> = step.lines().skip(1).collect();
    let last = body
        .iter()
        .position(|l| l.contains("set_sandbox_image /etc/containerd/config.toml"))
        .expect("the step sets the sandbox image");
    let part = rooted(&body[..=last].join("\n"));
    let function = shell_function(&script, "set_sandbox_image");
    let containerd1 = String::from_utf8(
        Command::new("bash")
            .args(["-c", "command -v containerd"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    for (containerd, cgroup, sandbox) in [
        (
            std::path::PathBuf::from(containerd1),
            "SystemdCgroup = true",
            format!("sandbox_image = \"{}\"", plan.pause_image),
        ),
        (
            containerd2,
            "SystemdCgroup = true",
            format!("sandbox = '{}'", plan.pause_image),
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("bin")).unwrap();
        std::os::unix::fs::symlink(&containerd, r.join("bin/containerd")).unwrap();
        let out = run(
            r,
            &[("PAUSE_IMAGE", plan.pause_image.as_str())],
            &format!("{function}\n{part}"),
        );
        assert!(
            out.status.success(),
            "{}: {}",
            containerd.display(),
            output_text(&out)
        );
        let dumped = Command::new(&containerd)
            .arg("--config")
            .arg(r.join("etc/containerd/config.toml"))
            .args(["config", "dump"])
            .output()
            .unwrap();
        assert!(dumped.status.success(), "{}", output_text(&dumped));
        let text = String::from_utf8(dumped.stdout).unwrap();
        assert!(text.contains(cgroup), "{}:\n{text}", containerd.display());
        // Registry hosts from certs.d. The step writes the path in single quotes, so in this
        // private root it reads `$ROOT/etc/...` literally: the step's /etc/containerd/certs.d.
        assert!(r.join("etc/containerd/certs.d").is_dir());
        let written = "$ROOT/etc/containerd/certs.d";
        assert!(
            text.contains(&format!("config_path = \"{written}\""))
                || text.contains(&format!("config_path = '{written}'")),
            "{}:\n{text}",
            containerd.display()
        );
        assert!(!text.contains("config_path = \"\"") && !text.contains("config_path = ''"));
        assert_eq!(
            text.matches(&sandbox).count(),
            1,
            "{}:\n{text}",
            containerd.display()
        );
        assert!(!text.contains("SystemdCgroup = false"), "{text}");
    }
}

/// The packages step's containerd part, from rendered user-data, in a private root where the
/// machine's containerd is Debian's 1.6: it fetches the release files the spec names (a
/// stand-in `curl` serves them from a local mirror), checks their sha256, unpacks containerd
/// and runc under /usr/local with containerd's unit, and then the containerd that answers is
/// the new one. A tarball whose sha256 differs fails the step with nothing installed.
#[test]
fn containerd_2_is_installed_from_its_release_files_when_the_image_has_1_x() {
    common::require("containerd");
    let containerd2 = containerd2();
    let containerd2 = containerd2.parent().unwrap();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // The release files, as upstream lays them out.
    let version = "2.1.9";
    let staging = r.join("staging");
    std::fs::create_dir_all(staging.join("bin")).unwrap();
    for bin in ["containerd", "containerd-shim-runc-v2", "ctr"] {
        std::fs::copy(containerd2.join(bin), staging.join("bin").join(bin)).unwrap();
    }
    let release = r.join(format!(
        "mirror/github.com/containerd/containerd/releases/download/v{version}"
    ));
    std::fs::create_dir_all(&release).unwrap();
    let tarball = release.join(format!("containerd-{version}-linux-amd64.tar.gz"));
    assert!(
        Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&staging)
            .arg("bin")
            .status()
            .unwrap()
            .success()
    );
    let runc_dir = r.join("mirror/github.com/opencontainers/runc/releases/download/v1.1.5");
    std::fs::create_dir_all(&runc_dir).unwrap();
    std::fs::write(
        runc_dir.join("runc.amd64"),
        "#!/bin/sh\necho runc version 1.1.5\n",
    )
    .unwrap();
    let sha = |p: &Path| common::sha256_hex(&std::fs::read(p).unwrap());
    let (runc_sha, tarball_sha) = (sha(&runc_dir.join("runc.amd64")), sha(&tarball));
    let spec_with = |containerd_sha: &str| {
        let text = common::edit_text(
            k8sgen::profiles::find("single").unwrap().text,
            &[
                (
                    "  image: ubuntu-24.04",
                    "  runtime: {containerd: \"2.1.9\", runc: \"1.1.5\"}\n  image: ubuntu-24.04",
                ),
                (
                    "  podSubnet:",
                    &format!(
                        "  checksums:\n    containerd: \"{containerd_sha}\"\n    runc: \"{runc_sha}\"\n  podSubnet:"
                    ),
                ),
            ],
        );
        let compiled = common::compile_text("single", &text);
        let plan = &compiled.plan;
        let script = compiled.bundles[0]
            .files
            .iter()
            .find(|f| f.path == plan.platform.script_path)
            .unwrap()
            .content
            .clone();
        let step = shell_function(&script, "step_packages");
        let lines: Vec<&str> = step.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.contains("# containerd 2 or later"))
            .unwrap();
        let end = lines
            .iter()
            .position(|l| l.contains("packages.detail"))
            .unwrap();
        lines[start..=end]
            .join("\n")
            .replace("/usr/local", "$ROOT/usr/local")
            .replace("/var/lib/k8sgen", "$ROOT/var/lib/k8sgen")
            .replace("/etc/", "$ROOT/etc/")
    };
    let bin = r.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // curl -fsSL --retry 3 -o FILE URL: the URL's host and path under the local mirror.
    stub(
        &bin,
        "curl",
        "out=; while [ $# -gt 1 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n\
         cp \"$ROOT/mirror/${1#https://}\" \"$out\"",
    );
    stub(
        &bin,
        "systemctl",
        "echo \"systemctl $*\" >>\"$ROOT/systemctl.log\"",
    );
    for d in [
        "usr/local/bin",
        "usr/local/sbin",
        "etc/k8sgen",
        "etc/systemd/system",
        "state/steps",
    ] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("etc/k8sgen/containerd.service"), "[Unit]\n").unwrap();
    let path = format!(
        "{}:{}:{}",
        r.join("usr/local/bin").display(),
        r.join("usr/local/sbin").display(),
        std::env::var("PATH").unwrap()
    );
    let run_part = |part: &str| {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", part])
            .env("ROOT", r)
            .env("STATE", r.join("state"))
            .env("PATH", format!("{}:{path}", bin.display()))
            .output()
            .unwrap()
    };

    // A tarball that is not the one the spec pins: refused, nothing installed.
    let out = run_part(&spec_with(&"0".repeat(64)));
    assert!(!out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("FAILED"),
        "{}",
        output_text(&out)
    );
    assert!(!r.join("usr/local/bin/containerd").exists());

    let out = run_part(&spec_with(&tarball_sha));
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(r.join("usr/local/bin/containerd-shim-runc-v2").is_file());
    assert!(r.join("usr/local/sbin/runc").is_file());
    assert!(r.join("etc/systemd/system/containerd.service").is_file());
    assert!(
        !r.join("var/lib/k8sgen/downloads").exists(),
        "downloads left behind"
    );
    let detail = std::fs::read_to_string(r.join("state/steps/packages.detail")).unwrap();
    assert!(detail.starts_with("containerd=2.1.9"), "{detail}");
    let log = std::fs::read_to_string(r.join("systemctl.log")).unwrap();
    assert!(log.contains("daemon-reload"), "{log}");
    // An attempt cut short after containerd was unpacked but before its unit was in place
    // is installed again, not taken for the image's.
    std::fs::remove_file(r.join("etc/systemd/system/containerd.service")).unwrap();
    let out = run_part(&spec_with(&tarball_sha));
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        !output_text(&out).contains("using the image's"),
        "{}",
        output_text(&out)
    );
    assert!(r.join("etc/systemd/system/containerd.service").is_file());
    // Run again: the containerd now found is 2.x with its unit, so nothing is fetched.
    std::fs::remove_dir_all(r.join("mirror")).unwrap();
    let out = run_part(&spec_with(&tarball_sha));
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("containerd 2.1.9+unknown already installed (2.x or later)"),
        "{}",
        output_text(&out)
    );
}

/// Nova's console log is the first serial port, and `up` follows a boot by it. A progress line
/// reaches a stand-in for ttyS0 when /dev/console is another device (Flatcar's kernel command
/// line ends with `console=tty0`), and not a second time when /dev/console is ttyS0 (Ubuntu
/// and Debian cloud images), where systemd's copy of the unit's output already lands.
#[test]
fn progress_lines_reach_the_serial_port_whatever_dev_console_is() {
    for profile in ["openstack-ha-flatcar", "openstack-ha"] {
        let node = if profile.ends_with("flatcar") {
            "demo-cp-0"
        } else {
            "demo-general-0"
        };
        let (_, script) = boot_script(profile, node);
        let console_line = common::shell_function(&script, "console_line")
            .replace("/dev/ttyS0", "$ROOT/dev/ttyS0")
            .replace("/sys/class/tty", "$ROOT/sys/class/tty");
        for (active, on_serial) in [
            ("ttyS0 tty0", true),  // Flatcar: console=ttyS0,115200n8 console=tty0
            ("tty1 ttyS0", false), // Ubuntu: console=tty1 console=ttyS0
            ("tty0", true),        // no serial console configured at all
        ] {
            let root = tempfile::tempdir().unwrap();
            let r = root.path();
            write(r, "/dev/ttyS0", "");
            write(r, "/sys/class/tty/console/active", &format!("{active}\n"));
            let out = run(
                r,
                &[],
                &format!("{console_line}\nconsole_line 'k8sgen: node=x step=1/9 host-prep ok'"),
            );
            assert!(out.status.success(), "{}", output_text(&out));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "k8sgen: node=x step=1/9 host-prep ok\n",
                "stdout, which systemd copies to /dev/console"
            );
            let serial = std::fs::read_to_string(r.join("dev/ttyS0")).unwrap();
            assert_eq!(
                serial,
                if on_serial {
                    "k8sgen: node=x step=1/9 host-prep ok\n"
                } else {
                    ""
                },
                "{profile}, consoles [{active}]"
            );
        }
        // Progress and failure lines (run_step's go through progress) take that way.
        assert!(
            common::shell_function(&script, "progress").contains("console_line \"$line\""),
            "{profile}"
        );
    }
}

/// host-prep on a node without /etc/fstab (Flatcar's baselayout has none): it must not fail
/// there, and must still turn swap lines off where the file exists.
#[test]
fn host_prep_runs_with_and_without_an_fstab() {
    for profile in ["openstack-ha-flatcar", "openstack-ha"] {
        let (_, script) = boot_script(profile, "demo-cp-1");
        let step = rooted(&common::shell_function(&script, "step_host_prep"));
        let retry = common::shell_function(&script, "retry_until");
        for fstab in [
            None,
            Some("/swap.img none swap sw 0 0\nUUID=1 / ext4 defaults 0 1\n"),
        ] {
            let root = tempfile::tempdir().unwrap();
            let r = root.path();
            let bin = r.join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for tool in [
                "modprobe",
                "sysctl",
                "swapoff",
                "systemctl",
                "iptables",
                "apt-get",
            ] {
                stub(&bin, tool, "echo \"$0 $*\" >>\"$ROOT/calls\"");
            }
            write(r, "/etc/modules-load.d/k8sgen.conf", "# modules\noverlay\n");
            if let Some(text) = fstab {
                write(r, "/etc/fstab", text);
            }
            let out = run(r, &[], &format!("{retry}\n{step}\nstep_host_prep"));
            assert!(out.status.success(), "{profile}: {}", output_text(&out));
            let calls = std::fs::read_to_string(r.join("calls")).unwrap();
            assert!(calls.contains("modprobe overlay"), "{calls}");
            assert!(calls.contains("swapoff -a"), "{calls}");
            match fstab {
                None => assert!(!r.join("etc/fstab").exists(), "no fstab is made"),
                Some(_) => assert_eq!(
                    std::fs::read_to_string(r.join("etc/fstab")).unwrap(),
                    "#/swap.img none swap sw 0 0\nUUID=1 / ext4 defaults 0 1\n"
                ),
            }
        }
    }
}

/// Flatcar's containerd configuration as its system extension ships it
/// (flatcar/scripts `coreos/sysext/containerd/usr/share/containerd/config.toml`, comments
/// dropped), plus a sandbox image it does not set today, to show whose value wins.
const FLATCAR_CONTAINERD_CONFIG: &str = r#"version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
subreaper = true
oom_score = -999
disabled_plugins = []
[grpc]
address = "/run/containerd/containerd.sock"
uid = 0
gid = 0
[plugins."io.containerd.runtime.v1.linux"]
shim = "containerd-shim"
runtime = "runc"
no_shim = false
[plugins."io.containerd.grpc.v1.cri"]
enable_selinux = true
sandbox_image = "registry.k8s.io/pause:3.6"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
SystemdCgroup = true
"#;

/// Flatcar: k8sgen's /etc/containerd/config.toml imports Flatcar's file, then k8sgen's, and a
/// real containerd 2 merges them: Flatcar's settings stay (systemd cgroups, SELinux labels),
/// kubeadm's pause and the registry hosts directory win. The runtime step's own check reads
/// the merged configuration back.
#[test]
fn flatcar_keeps_its_containerd_configuration_and_k8sgen_adds_to_it() {
    let containerd2 = containerd2();
    let (compiled, _) = common::compile_profile("openstack-ha-flatcar", false);
    let plan = &compiled.plan;
    let bundle = &compiled.bundles[0];
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let rpath = |p: &str| r.join(p.trim_start_matches('/'));
    for f in bundle
        .files
        .iter()
        .filter(|f| f.path.starts_with("/etc/containerd/"))
    {
        write(
            r,
            &f.path,
            &f.content
                .replace(
                    "\"/usr/share/containerd/",
                    &format!("\"{}/usr/share/containerd/", r.display()),
                )
                .replace(
                    "\"/etc/containerd/k8sgen.toml",
                    &format!("\"{}/etc/containerd/k8sgen.toml", r.display()),
                ),
        );
    }
    write(
        r,
        "/usr/share/containerd/config.toml",
        FLATCAR_CONTAINERD_CONFIG,
    );
    let dropin = &bundle
        .files
        .iter()
        .find(|f| f.path == "/etc/systemd/system/containerd.service.d/10-k8sgen.conf")
        .unwrap()
        .content;
    assert!(
        dropin.contains("\n[Service]\nEnvironment=CONTAINERD_CONFIG=/etc/containerd/config.toml\n"),
        "Flatcar's unit runs containerd --config ${{CONTAINERD_CONFIG}}: {dropin}"
    );
    assert!(!dropin.contains("ExecStart"), "Flatcar's ExecStart stays");

    let (_, script) = boot_script("openstack-ha-flatcar", "demo-cp-0");
    let step = shell_function(&script, "step_runtime");
    let body: Vec<&str> = step.lines().skip(1).collect();
    let end = body.iter().position(|l| l.trim() == "done").unwrap();
    let part = body[..=end]
        .join("\n")
        .replace("--config /etc/", "--config $ROOT/etc/")
        .replace(" /usr/share/containerd/", " $ROOT/usr/share/containerd/")
        .replace("install -d -m 0755 /etc/", "install -d -m 0755 $ROOT/etc/");
    assert!(
        part.contains("$ROOT/usr/share/containerd/config.toml"),
        "{part}"
    );
    std::fs::create_dir_all(r.join("bin")).unwrap();
    std::os::unix::fs::symlink(&containerd2, r.join("bin/containerd")).unwrap();
    stub(&r.join("bin"), "systemctl", "true");
    let out = run(r, &[("PAUSE_IMAGE", plan.pause_image.as_str())], &part);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(rpath("/etc/containerd/certs.d").is_dir());

    let dumped = Command::new(&containerd2)
        .arg("--config")
        .arg(rpath("/etc/containerd/config.toml"))
        .args(["config", "dump"])
        .output()
        .unwrap();
    assert!(dumped.status.success(), "{}", output_text(&dumped));
    let text = String::from_utf8(dumped.stdout).unwrap().replace('"', "'");
    for want in [
        "SystemdCgroup = true".to_string(),
        "enable_selinux = true".to_string(),
        format!("sandbox = '{}'", plan.pause_image),
        "config_path = '/etc/containerd/certs.d'".to_string(),
    ] {
        assert!(text.contains(&want), "{want}:\n{text}");
    }
    assert!(!text.contains("pause:3.6"), "{text}");

    // A Flatcar whose own file moved to another layout is named, not merged blindly.
    write(
        r,
        "/usr/share/containerd/config.toml",
        &FLATCAR_CONTAINERD_CONFIG.replace("version = 2\n", "version = 3\n"),
    );
    let out = run(r, &[("PAUSE_IMAGE", plan.pause_image.as_str())], &part);
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("/usr/share/containerd/config.toml is version 3"),
        "{}",
        output_text(&out)
    );
    write(
        r,
        "/usr/share/containerd/config.toml",
        FLATCAR_CONTAINERD_CONFIG,
    );

    // The step's check fails when k8sgen's settings do not reach the merged configuration.
    std::fs::write(rpath("/etc/containerd/k8sgen.toml"), "version = 2\n").unwrap();
    let out = run(r, &[("PAUSE_IMAGE", plan.pause_image.as_str())], &part);
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("containerd's merged configuration lacks: sandbox = "),
        "{}",
        output_text(&out)
    );
}

/// Flatcar's API load balancer unit (haproxy through containerd): the image is pulled only when
/// it is missing, by digest; one cleanup step kills and waits for a task a killed `ctr run`
/// left, then removes its container; containerd restarts do not stop it, and systemd never
/// gives up restarting it. The `ExecStartPre=` bodies run here with a stand-in `ctr` that
/// behaves as containerd's does in each case (`image ls -q` prints matching names and exits 0
/// either way; `task delete` and `container delete` fail on a missing object).
#[test]
fn flatcar_api_load_balancer_pulls_once_and_cleans_up_in_order() {
    let (compiled, _) = common::compile_profile("openstack-ha-flatcar", false);
    let unit = &compiled.bundles[3]
        .units
        .iter()
        .find(|u| u.name == "k8sgen-apiserver-lb.service")
        .unwrap()
        .content;
    let image = &compiled.plan.haproxy_image;
    assert!(image.contains("-alpine@sha256:"), "{image}");
    assert!(!unit.contains("Requires="), "{unit}");
    assert!(unit.contains("\nWants=containerd.service"), "{unit}");
    assert!(unit.contains("\nStartLimitIntervalSec=0\n"), "{unit}");
    let pre: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStartPre="))
        .collect();
    assert_eq!(pre.len(), 2, "a pull and one cleanup step: {pre:?}");
    assert!(!pre[0].starts_with('-'), "a failed pull fails the start");
    assert!(
        pre[1].starts_with("-/bin/sh -c '"),
        "cleanup of nothing is fine"
    );
    let body = |line: &str| {
        let line = line.trim_start_matches('-');
        line.strip_prefix("/bin/sh -c '")
            .and_then(|l| l.strip_suffix('\''))
            .unwrap()
            .to_string()
    };
    let ctr = "echo \"ctr $*\" >>\"$ROOT/ctr.log\"\n\
               case \"$3 $4\" in\n\
                 'image ls') [ -e \"$ROOT/have-image\" ] && echo \"${6#name==}\"; exit 0 ;;\n\
                 'image pull') touch \"$ROOT/have-image\" ;;\n\
                 'task delete') [ -e \"$ROOT/task\" ] || exit 1; rm \"$ROOT/task\" ;;\n\
                 'container delete') [ -e \"$ROOT/task\" ] && exit 1; [ -e \"$ROOT/container\" ] || exit 1; rm \"$ROOT/container\" ;;\n\
               esac";
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("bin")).unwrap();
    stub(&r.join("bin"), "ctr", ctr);
    let log = || std::fs::read_to_string(r.join("ctr.log")).unwrap_or_default();
    let pulls = || log().matches(" image pull ").count();

    // First start: pulled. Later starts: not again.
    for _ in 0..3 {
        let out = run(r, &[], &body(pre[0]));
        assert!(out.status.success(), "{}", output_text(&out));
    }
    assert_eq!(pulls(), 1, "{}", log());
    assert!(
        log().contains(&format!(
            "image pull --hosts-dir /etc/containerd/certs.d {image}"
        )),
        "{}",
        log()
    );

    // A run cut short left a task and its container: killed and waited for, then removed.
    std::fs::write(r.join("task"), "").unwrap();
    std::fs::write(r.join("container"), "").unwrap();
    std::fs::remove_file(r.join("ctr.log")).unwrap();
    let out = run(r, &[], &body(pre[1]));
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        !r.join("task").exists() && !r.join("container").exists(),
        "{}",
        log()
    );
    let calls: Vec<String> = log().lines().map(str::to_string).collect();
    assert!(
        calls[0].contains("task delete --force k8sgen-apiserver-lb"),
        "{calls:?}"
    );
    assert!(
        calls[1].contains("container delete k8sgen-apiserver-lb"),
        "{calls:?}"
    );
}

/// On Flatcar haproxy runs under `ctr run`, as the image's unprivileged user, with the open-file
/// limit of ctr's default OCI spec, which it cannot raise; haproxy 3 refuses to start when
/// `maxconn` needs more (two descriptors per proxied connection, plus its own). The limit is
/// read from the real ctr of containerd 2 (`ctr oci spec`), the config from rendered Ignition.
#[test]
fn flatcar_haproxy_fits_ctrs_open_file_limit() {
    let ctr = containerd2().with_file_name("ctr");
    let out = Command::new(&ctr).args(["oci", "spec"]).output().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nofile = spec["process"]["rlimits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "RLIMIT_NOFILE")
        .expect("ctr's default spec sets RLIMIT_NOFILE");
    let hard = nofile["hard"].as_u64().unwrap();
    for (profile, under_ctr) in [("openstack-ha-flatcar", true), ("openstack-ha", false)] {
        let (compiled, _) = common::compile_profile(profile, false);
        let cfg = &compiled.bundles[0]
            .files
            .iter()
            .find(|f| f.path == "/etc/k8sgen/haproxy.cfg")
            .unwrap()
            .content;
        let maxconn: u64 = cfg
            .lines()
            .find_map(|l| l.trim().strip_prefix("maxconn "))
            .unwrap()
            .parse()
            .unwrap();
        // haproxy's own descriptors: listeners, health checks, pollers, logs; 100 is ample
        // for one frontend and three servers.
        let needed = 2 * maxconn + 100;
        assert_eq!(
            needed <= hard,
            under_ctr,
            "{profile}: maxconn {maxconn} needs about {needed} descriptors; ctr gives {hard}"
        );
    }
}

/// The background pre-pull (`k8sgen-prepull.service`, started by the runtime step): each image
/// of the node's list that containerd lacks is pulled into the kubelet's namespace through the
/// registry hosts, one already there is not pulled again, a failed pull is counted and named,
/// and the result is what the control-plane step's console line says (`prepull_report`).
/// `ctr` is a stand-in that behaves as containerd's does (`image ls -q` exits 0 with or
/// without a match).
#[test]
fn images_are_pulled_in_the_background_once_and_reported() {
    let (compiled, _) = common::compile_profile("openstack-ha", false);
    let master = &compiled.bundles[1];
    let find = |path: &str| {
        master
            .files
            .iter()
            .find(|f| f.path == path)
            .unwrap()
            .content
            .clone()
    };
    let list = find("/etc/k8sgen/prepull.list");
    let images: Vec<&str> = list.lines().filter(|l| !l.starts_with('#')).collect();
    // kubeadm's images first, then the mark the control-plane step waits for.
    let mark = list.lines().position(|l| l.starts_with('#')).unwrap();
    assert_eq!(mark, 5, "{list}");
    let v = compiled.plan.kubernetes_version;
    assert!(images.contains(&format!("registry.k8s.io/kube-apiserver:v{v}").as_str()));
    assert!(images.contains(&compiled.plan.pause_image.as_str()));
    let worker_list = compiled.bundles[3]
        .files
        .iter()
        .find(|f| f.path == "/etc/k8sgen/prepull.list")
        .unwrap()
        .content
        .clone();
    assert!(!worker_list.contains("kube-apiserver"), "{worker_list}");
    assert!(worker_list.contains("kube-router"), "{worker_list}");

    let script = find("/usr/local/lib/k8sgen/prepull.sh")
        .replace("/var/lib/k8sgen", "$ROOT/var/lib/k8sgen")
        .replace("/etc/k8sgen", "$ROOT/etc/k8sgen");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("bin")).unwrap();
    write(r, "/etc/k8sgen/prepull.list", &list);
    // containerd has the pause image already; the OCCM pull fails.
    write(r, "have", &format!("{}\n", compiled.plan.pause_image));
    stub(
        &r.join("bin"),
        "systemctl",
        "echo \"$*\" >>\"$ROOT/systemctl.log\"; [ \"$1\" != is-active ] || echo inactive",
    );
    stub(
        &r.join("bin"),
        "ctr",
        &format!(
            "echo \"$*\" >>\"$ROOT/ctr.log\"\n\
             case \"$3 $4\" in\n\
               'image ls') grep -qxF \"${{6#name==}}\" \"$ROOT/have\" && echo \"${{6#name==}}\"; exit 0 ;;\n\
               'image pull') [ \"${{@: -1}}\" = {occm} ] && {{ echo 'failed to resolve' >&2; exit 1; }}; echo \"${{@: -1}}\" >>\"$ROOT/have\" ;;\n\
             esac",
            occm = compiled.plan.occm_image
        ),
    );
    let out = run(r, &[], &script);
    assert!(out.status.success(), "{}", output_text(&out));
    let total = images.len();
    assert_eq!(
        std::fs::read_to_string(r.join("var/lib/k8sgen/prepull/kubeadm")).unwrap(),
        "kubeadm-images=5/5\n"
    );
    let done = std::fs::read_to_string(r.join("var/lib/k8sgen/prepull/result")).unwrap();
    assert_eq!(
        done,
        format!(
            "images={}/{total} failed=1 (see $ROOT/var/lib/k8sgen/prepull/failed)\n",
            total - 1
        )
        .replace("$ROOT", r.to_str().unwrap())
    );
    let log = std::fs::read_to_string(r.join("ctr.log")).unwrap();
    assert_eq!(log.matches(" image pull ").count(), total - 1, "{log}");
    assert!(log.contains(
        "--namespace k8s.io image pull --skip-metadata --hosts-dir /etc/containerd/certs.d "
    ));
    assert!(!log.contains(&format!(
        "image pull --skip-metadata --hosts-dir /etc/containerd/certs.d {}",
        compiled.plan.pause_image
    )));

    // A second run pulls only what failed.
    std::fs::remove_file(r.join("ctr.log")).unwrap();
    let out = run(r, &[], &script);
    assert!(out.status.success(), "{}", output_text(&out));
    let log = std::fs::read_to_string(r.join("ctr.log")).unwrap();
    assert_eq!(log.matches(" image pull ").count(), 1, "{log}");

    // What the control-plane step reports.
    let (_, boot) = boot_script("openstack-ha", "demo-cp-1");
    let report =
        shell_function(&boot, "prepull_report").replace("/var/lib/k8sgen", "$ROOT/var/lib/k8sgen");
    let retry = shell_function(&boot, "retry_until");
    let out = run(
        r,
        &[],
        &format!("{retry}\n{report}\nprepull_report 0 result"),
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(&format!("images={}/{total} failed=1", total - 1))
    );
    let out = run(
        r,
        &[],
        &format!("{retry}\n{report}\nprepull_report 0 kubeadm"),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "kubeadm-images=5/5\n");
    assert!(
        !r.join("systemctl.log").exists(),
        "nothing started again when the result is there"
    );
    // Pulls cut short (a reboot: no result, the service not running) are started again.
    std::fs::remove_file(r.join("var/lib/k8sgen/prepull/result")).unwrap();
    let out = run(
        r,
        &[],
        &format!("{retry}\n{report}\nprepull_report 0 result"),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pulling"),
        "{}",
        output_text(&out)
    );
    assert!(
        std::fs::read_to_string(r.join("systemctl.log"))
            .unwrap()
            .contains("start --no-block k8sgen-prepull.service")
    );
    assert!(
        shell_function(&boot, "step_control_plane").contains("pulls=$(prepull_report 900 kubeadm)")
    );
}
