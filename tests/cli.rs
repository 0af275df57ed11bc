//! End-to-end runs of the built binary: the newcomer's render, determinism, `--check`,
//! file modes, secrets commands that must never print secrets, and secrets placement.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn k8sgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(args)
        .env_remove("OS_APPLICATION_CREDENTIAL_ID")
        .env_remove("OS_APPLICATION_CREDENTIAL_SECRET")
        .output()
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

use common::output_text as text;

#[test]
fn render_profile_twice_is_identical_and_check_detects_drift() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let first = k8sgen(&["render", "--profile", "openstack-ha", "--out", o]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("generating a new secrets bundle"));
    assert!(text(&first).contains("OS_APPLICATION_CREDENTIAL_ID is not set"));
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("secrets.yaml")), 0o600);
    assert_eq!(mode(&out.join("admin.kubeconfig")), 0o600);
    let node = out.join("demo-cp-0.user-data");
    let before = std::fs::read(&node).unwrap();
    assert!(before.starts_with(b"#cloud-config\n"));

    let second = k8sgen(&["render", "--profile", "openstack-ha", "--out", o]);
    assert!(text(&second).contains("reusing the secrets bundle"));
    assert_eq!(
        std::fs::read(&node).unwrap(),
        before,
        "same spec + same secrets ⇒ same bytes"
    );

    let check = k8sgen(&["render", "--profile", "openstack-ha", "--out", o, "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    std::fs::write(&node, b"#cloud-config\n").unwrap();
    let check = k8sgen(&["render", "--profile", "openstack-ha", "--out", o, "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check).contains("demo-cp-0.user-data"));
    assert_eq!(
        std::fs::read(&node).unwrap(),
        b"#cloud-config\n",
        "--check writes nothing"
    );
}

#[test]
fn new_never_overwrites_and_plan_reports_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let cs = c.to_str().unwrap();
    assert!(k8sgen(&["new", cs, "--profile", "single"]).status.success());
    assert_eq!(mode(&c), 0o700);
    assert_eq!(mode(&c.join("secrets.yaml")), 0o600);
    let secrets_before = std::fs::read(c.join("secrets.yaml")).unwrap();
    let again = k8sgen(&["new", cs, "--profile", "single"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        std::fs::read(c.join("secrets.yaml")).unwrap(),
        secrets_before
    );

    let spec = c.join("cluster.yaml");
    let plan = k8sgen(&["plan", "-f", spec.to_str().unwrap(), "--output", "json"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert!(v["caCertHash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["kubeadmApiVersion"], "kubeadm.k8s.io/v1beta4");
    assert_eq!(v["deployable"], false);
    assert_eq!(v["nodes"][0]["role"], "init");
    assert!(v["userData"][0]["base64Bytes"].as_u64().unwrap() > 0);
}

#[test]
fn secrets_show_and_errors_never_print_secrets() {
    let fixture = common::fixture();
    let path = common::fixture_path();
    let show = k8sgen(&["secrets", "show", "--secrets", path.to_str().unwrap()]);
    assert!(show.status.success());
    let out = text(&show);
    assert!(out.contains(&fixture.bootstrap_token.id));
    assert!(out.contains(&fixture.discovery_hash().unwrap()));
    assert!(!out.contains(fixture.bootstrap_token.secret.expose()));
    assert!(!out.contains("PRIVATE KEY"));
    let plan = k8sgen(&[
        "plan",
        "-f",
        "profiles/openstack-ha.yaml",
        "--secrets",
        path.to_str().unwrap(),
    ]);
    let out = text(&plan);
    assert!(plan.status.success(), "{out}");
    assert!(!out.contains(fixture.bootstrap_token.secret.expose()) && !out.contains("PRIVATE KEY"));
}

#[test]
fn export_then_import_keeps_the_cas() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let fixture = common::fixture_path();
    let export = k8sgen(&[
        "secrets",
        "export-pki",
        pki.to_str().unwrap(),
        "--secrets",
        fixture.to_str().unwrap(),
    ]);
    assert!(export.status.success(), "{}", text(&export));
    for f in [
        "ca.crt",
        "ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "etcd/ca.crt",
        "etcd/ca.key",
        "sa.key",
        "sa.pub",
        "apiserver-etcd-client.crt",
        "demo-cp-0/etcd/peer.key",
    ] {
        assert!(pki.join(f).exists(), "{f}");
    }
    assert_eq!(mode(&pki.join("ca.key")), 0o600);
    let imported = dir.path().join("imported.yaml");
    let import = k8sgen(&[
        "secrets",
        "import",
        pki.to_str().unwrap(),
        "--out",
        imported.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", text(&import));
    let a = common::fixture();
    let b =
        k8sgen::pki::Secrets::from_yaml("x", &std::fs::read_to_string(&imported).unwrap()).unwrap();
    assert_eq!(a.cluster_ca, b.cluster_ca);
    assert_eq!(a.etcd_ca, b.etcd_ca);
    assert_eq!(a.service_account, b.service_account);
    assert_eq!(a.discovery_hash().unwrap(), b.discovery_hash().unwrap());
}

#[test]
fn workers_carry_no_private_key_and_only_the_init_master_has_the_token() {
    for profile in k8sgen::profiles::PROFILES {
        let (compiled, secrets) = common::compile_profile(profile.name, false);
        let token = secrets.bootstrap_token.full();
        for (ud, bundle) in compiled.user_data.iter().zip(&compiled.bundles) {
            // What the node will actually see: Ignition file contents are data: URLs.
            let doc = match ud.format {
                k8sgen::catalog::UserDataFormat::CloudConfig => {
                    String::from_utf8(ud.bytes.clone()).unwrap()
                }
                k8sgen::catalog::UserDataFormat::Ignition => {
                    common::ignition_files(&common::ignition_config(&ud.bytes))
                        .values()
                        .map(|(_, _, c)| c.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            };
            let role = bundle.role;
            match role {
                k8sgen::plan::Role::Worker => {
                    assert!(
                        !doc.contains("PRIVATE KEY"),
                        "{}: a worker got a private key",
                        ud.node
                    );
                    assert!(doc.contains(token.expose()), "{}", ud.node);
                }
                k8sgen::plan::Role::ControlPlane => {
                    assert!(!doc.contains(token.expose()), "{}", ud.node)
                }
                k8sgen::plan::Role::Init => assert!(doc.contains(token.expose())),
            }
            if role.is_master() {
                assert!(
                    !doc.contains(secrets.etcd_ca.key.expose().lines().nth(1).unwrap()),
                    "etcd CA key leaked"
                );
            }
            for f in bundle.files.iter().filter(|f| f.secret) {
                assert_eq!(f.mode, 0o600, "{}: {}", ud.node, f.path);
            }
        }
    }
}

#[test]
fn over_limit_and_bad_input_are_clear_errors() {
    let bad = k8sgen(&[
        "render",
        "-f",
        "tests/bad-specs/02-even-control-plane.yaml",
        "--out",
        "/nonexistent",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let out = text(&bad);
    assert!(
        out.starts_with("error: tests/bad-specs/02-even-control-plane.yaml has 1 problem"),
        "{out}"
    );
    assert!(out.contains("hint:"));
    let unknown = k8sgen(&["render", "--profile", "nope", "--out", "/nonexistent"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown).contains("embedded profiles: openstack-ha, openstack-ha-flatcar, single")
    );
}

/// `up` on OpenStack fails early and clearly when the cloud cannot be used, before touching
/// anything: an unknown clouds.yaml entry, and a Keystone nobody answers for.
#[test]
fn up_names_the_cloud_problem_and_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("c");
    let out = k8sgen(&["new", cluster.to_str().unwrap(), "--profile", "single"]);
    assert!(out.status.success());
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  lab:\n    auth:\n      auth_url: http://127.0.0.1:1/v3\n      username: u\n      password: very-secret-pw\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n",
    )
    .unwrap();
    let up = |cloud: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_k8sgen"))
            .args([
                "up",
                "-f",
                cluster.join("cluster.yaml").to_str().unwrap(),
                "--cloud",
                cloud,
            ])
            .env("OS_CLIENT_CONFIG_FILE", &clouds)
            .env("OS_APPLICATION_CREDENTIAL_ID", "id")
            .env("OS_APPLICATION_CREDENTIAL_SECRET", "secret")
            .output()
            .unwrap()
    };
    let unknown = up("nope");
    assert_eq!(unknown.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("no cloud named `nope`"), "{err}");
    assert!(err.contains("hint: clouds defined there: lab"), "{err}");
    let unreachable = up("lab");
    assert_eq!(unreachable.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        err.contains("cannot reach Keystone at http://127.0.0.1:1/v3/auth/tokens"),
        "{err}"
    );
    assert!(err.contains("hint: check auth_url"), "{err}");
    assert!(!err.contains("very-secret-pw"));
    assert!(
        !cluster.join("openstack-state.json").exists(),
        "nothing may be recorded"
    );
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 1 is bad input, clap's own errors included (clap alone would exit 2, which means an
/// internal error here); `--help` and `--version` succeed, and `--help` lists the codes.
#[test]
fn clap_errors_are_bad_input_and_help_lists_the_exit_codes() {
    let typo = k8sgen(&["render", "--profile", "single", "--outt", "x"]);
    assert_eq!(typo.status.code(), Some(1), "{}", text(&typo));
    assert!(stderr(&typo).starts_with("error: unexpected argument '--outt'"));
    let missing = k8sgen(&["plan"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).starts_with("error: "));
    let help = k8sgen(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for line in [
        "Exit status:",
        "  0  success",
        "  1  bad input",
        "  2  internal error",
    ] {
        assert!(help.contains(line), "{line} missing from:\n{help}");
    }
    assert_eq!(k8sgen(&["--version"]).status.code(), Some(0));
}

/// Each provider's flags are its own: the other provider's, typed on the command line, are
/// refused before anything runs; OS_CLOUD in the environment is not a typed flag.
#[test]
fn the_other_providers_flags_are_refused() {
    let image_on_openstack = k8sgen(&["up", "-f", "c.yaml", "--image", "i.qcow2"]);
    assert_eq!(image_on_openstack.status.code(), Some(1));
    assert!(
        stderr(&image_on_openstack).starts_with(
            "error: --image is a flag of --provider qemu; this `up` runs --provider openstack"
        ),
        "{}",
        stderr(&image_on_openstack)
    );
    let cloud_on_qemu = k8sgen(&[
        "up",
        "--provider",
        "qemu",
        "-f",
        "c.yaml",
        "--image",
        "i",
        "--cloud",
        "lab",
    ]);
    assert_eq!(cloud_on_qemu.status.code(), Some(1));
    assert!(stderr(&cloud_on_qemu).starts_with("error: --cloud is a flag of --provider openstack"));
    let json_down_on_qemu = k8sgen(&[
        "down",
        "--provider",
        "qemu",
        "-f",
        "c.yaml",
        "--output",
        "json",
    ]);
    assert_eq!(json_down_on_qemu.status.code(), Some(1));
    assert!(stderr(&json_down_on_qemu).contains("--output is a flag of --provider openstack"));
    let no_image = k8sgen(&["up", "--provider", "qemu", "-f", "c.yaml"]);
    assert_eq!(no_image.status.code(), Some(1));
    assert!(stderr(&no_image).contains("--image <FILE.qcow2>"));
    let env_cloud = Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(["status", "--provider", "qemu", "-f", "/nonexistent/c.yaml"])
        .env("OS_CLOUD", "lab")
        .output()
        .unwrap();
    assert_eq!(env_cloud.status.code(), Some(0), "{}", text(&env_cloud));
}

#[test]
fn key_algorithm_lists_its_values_and_refuses_others() {
    let help = k8sgen(&["secrets", "generate", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("ECDSA-P256") && help.contains("RSA-2048") && help.contains("RSA-4096"),
        "{help}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let p = path.to_str().unwrap();
    let wrong = k8sgen(&[
        "secrets",
        "generate",
        "--secrets",
        p,
        "--key-algorithm",
        "RSA-1024",
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("invalid value 'RSA-1024' for '--key-algorithm"));
    assert!(!path.exists());
    // Case does not matter, as before; `--out` is the older spelling of `--secrets`.
    let ok = k8sgen(&[
        "secrets",
        "generate",
        "--out",
        p,
        "--key-algorithm",
        "ecdsa-p256",
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert_eq!(mode(&path), 0o600);
}

/// A spec's problems each carry their hint, in spec validation's format and nothing else;
/// a YAML syntax error, which has none, gets one top-level hint.
#[test]
fn spec_errors_print_one_kind_of_hint() {
    let file = "tests/bad-specs/02-even-control-plane.yaml";
    let bad = k8sgen(&["plan", "-f", file]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stderr(&bad),
        format!(
            "error: {}",
            std::fs::read_to_string("tests/bad-specs/02-even-control-plane.err").unwrap()
        )
    );
    let syntax = k8sgen(&["plan", "-f", "tests/bad-specs/36-yaml-syntax.yaml"]);
    let err = stderr(&syntax);
    assert_eq!(syntax.status.code(), Some(1));
    assert_eq!(err.matches("hint:").count(), 1, "{err}");
    assert!(
        err.ends_with("\nhint: fix the YAML above; `k8sgen profiles` lists commented examples\n")
    );
}

#[test]
fn json_outputs_parse() {
    let profiles = k8sgen(&["profiles", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&profiles.stdout).unwrap();
    assert_eq!(v[0]["name"], "openstack-ha");
    assert!(v[0]["summary"].as_str().is_some_and(|s| !s.is_empty()));

    let fixture = common::fixture();
    let path = common::fixture_path();
    let show = k8sgen(&[
        "secrets",
        "show",
        "--secrets",
        path.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert!(show.status.success(), "{}", text(&show));
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["bootstrapTokenId"], fixture.bootstrap_token.id);
    assert_eq!(v["discoveryHash"], fixture.discovery_hash().unwrap());
    assert_eq!(v["certificates"][0]["name"], "cluster CA");
    assert!(!text(&show).contains(fixture.bootstrap_token.secret.expose()));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let render = k8sgen(&[
        "render",
        "--profile",
        "single",
        "--out",
        out.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert!(render.status.success(), "{}", text(&render));
    let v: serde_json::Value = serde_json::from_slice(&render.stdout).unwrap();
    let files = v.as_array().unwrap();
    assert!(!files.is_empty());
    for f in files {
        let path = Path::new(f["path"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(path).unwrap().len(),
            f["bytes"].as_u64().unwrap()
        );
        assert!(f["base64Bytes"].as_u64().unwrap() > f["bytes"].as_u64().unwrap());
        assert_eq!(f["novaLimit"], 65535);
        assert!(f["node"].as_str().is_some());
    }
}

/// `status --provider qemu` reads what `up --provider qemu` recorded and looks at each pid.
#[test]
fn qemu_status_lists_the_recorded_vms() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("qemu")).unwrap();
    let vm = |name: &str, pid: u32| {
        serde_json::json!({"name": name, "pid": pid, "console": "c", "overlay": "o",
                           "drive": "d", "forwards": [[2222, 22]]})
    };
    // This test's own pid runs; a pid above the kernel's maximum never does.
    let record = serde_json::json!([
        vm("a-cp-0", std::process::id()),
        vm("a-worker-0", 4_194_305)
    ]);
    std::fs::write(dir.path().join("qemu/vms.json"), record.to_string()).unwrap();
    let spec = dir.path().join("cluster.yaml");
    let s = spec.to_str().unwrap();
    let out = k8sgen(&["status", "--provider", "qemu", "-f", s]);
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert!(
        lines[0].starts_with("a-cp-0") && lines[0].ends_with("running"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("a-worker-0") && lines[1].ends_with("stopped"),
        "{lines:?}"
    );
    let json = k8sgen(&["status", "--provider", "qemu", "-f", s, "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["running"], true);
    assert_eq!(v[1]["running"], false);
}

/// Completions and the man page come from the same clap definition as `--help`.
#[test]
fn completions_and_man_page_name_the_real_commands() {
    let bash = k8sgen(&["completions", "bash"]);
    assert!(bash.status.success());
    let script = String::from_utf8_lossy(&bash.stdout);
    for word in [
        "render",
        "secrets",
        "--provider",
        "--key-algorithm",
        "RSA-3072",
        "qemu",
    ] {
        assert!(
            script.contains(word),
            "{word} missing from the bash completions"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k8sgen.bash");
    std::fs::write(&file, &bash.stdout).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(syntax.status.success(), "{}", text(&syntax));

    let man = k8sgen(&["man"]);
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains("\n.TH k8sgen 1 "), "{page}");
    for word in [
        ".SH SUBCOMMANDS",
        "render",
        "profiles",
        "completions",
        "Exit status:",
    ] {
        assert!(page.contains(word), "{word} missing from the man page");
    }
}

/// When neither `--cloud` nor `OS_CLOUD` names the cloud, the spec did: the error says so
/// instead of blaming `OS_CLOUD`/--cloud. (Assumes no /etc/openstack/clouds.yaml here.)
#[test]
fn a_cloud_named_by_the_spec_is_blamed_on_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("c");
    assert!(
        k8sgen(&["new", cluster.to_str().unwrap(), "--profile", "single"])
            .status
            .success()
    );
    let spec = cluster.join("cluster.yaml");
    let up = Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(["up", "-f", spec.to_str().unwrap()])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env_remove("OS_CLOUD")
        .env_remove("OS_AUTH_URL")
        .env_remove("OS_CLIENT_CONFIG_FILE")
        .output()
        .unwrap();
    assert_eq!(up.status.code(), Some(1));
    let err = stderr(&up);
    assert!(
        err.starts_with(&format!(
            "error: `cloud.openstack.cloud` in {} names `mycloud`, but no clouds.yaml was found\n",
            spec.display()
        )),
        "{err}"
    );
    assert!(!err.contains("OS_CLOUD`/--cloud"), "{err}");
}

/// A setting that changes nothing for this cluster is named on stderr, once, by its field
/// path; the plan still succeeds.
#[test]
fn plan_names_settings_that_do_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let cs = c.to_str().unwrap();
    assert!(
        k8sgen(&["new", cs, "--profile", "openstack-ha-flatcar"])
            .status
            .success()
    );
    let spec = c.join("cluster.yaml");
    let text_before = std::fs::read_to_string(&spec).unwrap();
    let quiet = k8sgen(&["plan", "-f", spec.to_str().unwrap()]);
    assert!(quiet.status.success(), "{}", text(&quiet));
    assert!(
        !stderr(&quiet).contains("does nothing"),
        "{}",
        stderr(&quiet)
    );

    let edited = common::edit_text(
        &text_before,
        &[(
            "  image: flatcar-stable              # Glance image name for up\n",
            "  image: flatcar-stable\n  runtime:\n    containerd: 2.3.4\n",
        )],
    )
    .replace(
        "\nkubernetes:\n",
        "\nkubernetes:\n  checksums:\n    containerd: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
    );
    std::fs::write(&spec, edited).unwrap();
    let loud = k8sgen(&["plan", "-f", spec.to_str().unwrap()]);
    assert!(loud.status.success(), "{}", text(&loud));
    let warned = |field: &str| {
        stderr(&loud)
            .lines()
            .filter(|l| {
                l.starts_with("warning: ") && l.contains(field) && l.contains("does nothing")
            })
            .count()
    };
    assert_eq!(warned("nodes.runtime.containerd"), 1, "{}", stderr(&loud));
    assert_eq!(
        warned("kubernetes.checksums.containerd"),
        1,
        "{}",
        stderr(&loud)
    );
}
