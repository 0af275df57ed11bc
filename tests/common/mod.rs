//! Shared helpers for the integration tests: the test-only fixture bundle, a clock fixed
//! inside its validity, compiling a profile, and golden-file comparison with re-blessing.

#![allow(dead_code)]

pub mod egress;

use k8sgen::compile::{Compiled, compile};
use k8sgen::pki::{self, FixedClock, Secrets, SeededEntropy};
use k8sgen::render::Options;
use k8sgen::{profiles, spec};
use std::path::{Path, PathBuf};

pub const BLESS_VAR: &str = "K8SGEN_BLESS";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn blessing() -> bool {
    std::env::var(BLESS_VAR).is_ok_and(|v| v == "1")
}

pub fn fixture_path() -> PathBuf {
    root().join("tests/fixtures/secrets.yaml")
}

pub fn fixture() -> Secrets {
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let bundle = Secrets::from_yaml("tests/fixtures/secrets.yaml", &text).unwrap();
    assert!(
        bundle.test_only,
        "the fixture bundle must be marked testOnly"
    );
    bundle
}

/// A clock one day after the fixture's CA was made, so stored leaves stay valid forever.
pub fn fixture_clock(bundle: &Secrets) -> FixedClock {
    let ca = pki::summarize("ca", &bundle.cluster_ca.cert).unwrap();
    FixedClock(ca.not_before + time::Duration::days(1))
}

/// Compile an embedded profile with the fixture and no credentials in the environment.
pub fn compile_profile(name: &str, gzip: bool) -> (Compiled, Secrets) {
    let profile = profiles::find(name).unwrap();
    let spec = spec::load(name, profile.text).unwrap();
    compile_spec(name, &spec, gzip)
}

/// `spec` compiled with the fixture bundle, a fixed clock and seeded entropy; the bundle as
/// it is afterwards.
pub fn compile_spec(name: &str, spec: &spec::ClusterSpec, gzip: bool) -> (Compiled, Secrets) {
    let mut bundle = fixture();
    let clock = fixture_clock(&bundle);
    let compiled = compile(
        spec,
        &mut bundle,
        &|_| None,
        &clock,
        &mut SeededEntropy(42),
        Options { gzip },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    (compiled, bundle)
}

/// Compare `actual` with the golden file; with K8SGEN_BLESS=1 rewrite it instead.
/// Returns a readable diff on mismatch.
pub fn check_golden(path: &Path, actual: &str) -> Result<(), String> {
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (bless with {BLESS_VAR}=1 cargo test)",
            path.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(expected.as_str(), actual);
    Err(format!(
        "{} differs from what k8sgen renders now (bless with {BLESS_VAR}=1 cargo test after reviewing):\n{}",
        path.display(),
        diff.unified_diff()
            .context_radius(3)
            .header("golden", "rendered")
    ))
}

/// Fail with a clear message when a conformance tool is missing (`.ci/run` installs them).
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed; `.ci/run` installs the conformance tools (Debian packages)"
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run the built k8sgen binary.
pub fn k8sgen(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(args)
        .env_remove("OS_APPLICATION_CREDENTIAL_ID")
        .env_remove("OS_APPLICATION_CREDENTIAL_SECRET")
        .output()
        .unwrap()
}

/// Run a validator on `file`: Ok when it exits 0, else its output, naming the file.
pub fn run_validator(program: &str, args: &[&str], file: &Path) -> Result<(), String> {
    let out = std::process::Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// gzip-compressed bytes → text.
pub fn gunzip_text(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// `k8sgen render --profile P --secrets <fixture> --out DIR [--gzip]`, which must succeed.
pub fn render_profile(profile: &str, gzip: bool, dir: &Path) {
    let fixture = fixture_path();
    let mut args = vec![
        "render",
        "--profile",
        profile,
        "--secrets",
        fixture.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ];
    if gzip {
        args.push("--gzip");
    }
    let out = k8sgen(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `render_profile`, then (node, document text) for every user-data file written, inflated
/// when gzipped.
pub fn render_profile_files(profile: &str, gzip: bool, dir: &Path) -> Vec<(String, String)> {
    render_profile(profile, gzip, dir);
    let mut docs = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(node) = name.strip_suffix(".user-data") else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        let text = if gzip {
            gunzip_text(&bytes)
        } else {
            String::from_utf8(bytes).unwrap()
        };
        docs.push((node.to_string(), text));
    }
    docs
}

/// `write_files` of a cloud-config document: path → (permissions, content).
pub fn write_files(doc: &str) -> std::collections::BTreeMap<String, (String, String)> {
    let v: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
    v["write_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = f["content"].as_str().unwrap();
            // Packed files (`encoding: gz+b64`) as cloud-init writes them.
            let content = match f["encoding"].as_str() {
                None => text.to_string(),
                Some("gz+b64") => {
                    use base64::Engine;
                    let packed = base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .unwrap();
                    gunzip_text(&packed)
                }
                Some(other) => panic!("unexpected write_files encoding {other}"),
            };
            (
                f["path"].as_str().unwrap().to_string(),
                (f["permissions"].as_str().unwrap().to_string(), content),
            )
        })
        .collect()
}

/// One file of a decoded Ignition config: (mode, owner, content).
pub type IgnitionFile = (u32, String, String);

/// Decode a `data:` URL resource (`data:,<percent-encoded>` or `data:;base64,<b64>`, gzip
/// when `compression` says so) the way Ignition does.
pub fn decode_data_url(resource: &serde_json::Value) -> String {
    use base64::Engine;
    let source = resource["source"].as_str().unwrap();
    let bytes = if let Some(b64) = source.strip_prefix("data:;base64,") {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    } else {
        let text = source.strip_prefix("data:,").expect("a data: URL");
        percent_encoding::percent_decode_str(text).collect()
    };
    if resource["compression"] == "gzip" {
        gunzip_text(&bytes)
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// The full config behind an Ignition user-data (following a `config.replace` stub).
pub fn ignition_config(user_data: &[u8]) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(user_data).unwrap();
    match v["ignition"]["config"]["replace"].as_object() {
        Some(_) => {
            serde_json::from_str(&decode_data_url(&v["ignition"]["config"]["replace"])).unwrap()
        }
        None => v,
    }
}

/// Files of an Ignition config: path → (mode, "user:group", content).
pub fn ignition_files(
    config: &serde_json::Value,
) -> std::collections::BTreeMap<String, IgnitionFile> {
    config["storage"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let owner = format!(
                "{}:{}",
                f["user"]["name"].as_str().unwrap(),
                f["group"]["name"].as_str().unwrap()
            );
            (
                f["path"].as_str().unwrap().to_string(),
                (
                    f["mode"].as_u64().unwrap() as u32,
                    owner,
                    decode_data_url(&f["contents"]),
                ),
            )
        })
        .collect()
}

/// `text` with the one occurrence of `from` replaced by `to`. Panics when `from` is absent
/// or occurs more than once: a test that edits a profile must not lose its edit silently
/// when the profile's wording changes.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    match text.matches(from).count() {
        1 => text.replacen(from, to, 1),
        0 => panic!("the text to edit no longer contains `{from}`"),
        n => panic!("`{from}` occurs {n} times in the text to edit; quote more of it"),
    }
}

/// `replace_once` for each `(from, to)` in order.
pub fn edit_text(text: &str, edits: &[(&str, &str)]) -> String {
    edits
        .iter()
        .fold(text.to_string(), |t, (from, to)| replace_once(&t, from, to))
}

/// A process's stdout then stderr, as text (for assertion messages and matching).
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A shell function's definition (`name() {` to the closing `}` line), exactly as `script`
/// has it.
pub fn shell_function(script: &str, name: &str) -> String {
    let head = format!("{name}() {{");
    let start = script
        .match_indices(&head)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || script.as_bytes()[i - 1] == b'\n')
        .unwrap_or_else(|| panic!("the script defines no {name}"));
    let end = start
        + script[start..]
            .find("\n}\n")
            .unwrap_or_else(|| panic!("{name} in the script has no closing brace"))
        + 3;
    script[start..end].to_string()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `*.yaml` inputs under `tests/<dir>`, sorted, as (name relative to the package, path).
pub fn yaml_inputs(dir: &str) -> Vec<(String, PathBuf)> {
    let mut paths: Vec<_> = std::fs::read_dir(root().join("tests").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = format!("tests/{dir}/{}", p.file_name().unwrap().to_string_lossy());
            (name, p)
        })
        .collect()
}

/// Every input of `yaml_inputs(dir)` (at least `min` of them) must be refused by `load`,
/// without a panic, with a message that names the file and equals the one pinned beside
/// it in `.err` (re-bless with K8SGEN_BLESS=1 after reviewing the wording).
pub fn check_pinned_errors(dir: &str, min: usize, load: impl Fn(&str, &str) -> Result<(), String>) {
    let inputs = yaml_inputs(dir);
    assert!(inputs.len() >= min, "only {} inputs in {dir}", inputs.len());
    let mut failures = Vec::new();
    for (file, path) in inputs {
        let text = std::fs::read_to_string(&path).unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(&file, &text)));
        let message = match outcome {
            Err(_) => {
                failures.push(format!("{file}: k8sgen panicked"));
                continue;
            }
            Ok(Ok(())) => {
                failures.push(format!("{file}: accepted, but it is bad input"));
                continue;
            }
            Ok(Err(e)) => format!("{e}\n"),
        };
        if !message.starts_with(&file) {
            failures.push(format!("{file}: the error must name the file: {message}"));
        }
        if let Err(e) = check_golden(&path.with_extension("err"), &message) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `profile` compiled at Kubernetes `1.<minor>.<latest patch>`. Checksums k8sgen has no pin
/// for (`kubernetes.checksums`) are filled with stand-ins made for this test, plainly not
/// upstream's: what is checked is the rendered configuration, not a download.
pub fn compile_profile_at(name: &str, minor: u32, gzip: bool) -> Compiled {
    use k8sgen::catalog::{Artifact, KubeVersion, RELEASES};
    let release = RELEASES.iter().find(|r| r.minor == minor).unwrap();
    let version = KubeVersion::parse(&format!("1.{minor}.{}", release.latest_patch)).unwrap();
    let profile = profiles::find(name).unwrap();
    let mut spec = spec::load(name, profile.text).unwrap();
    spec.kubernetes.version = version.to_string();
    let os = k8sgen::catalog::Os::parse(&spec.nodes.os).unwrap();
    for &artifact in Artifact::needed_on(os) {
        let versions = k8sgen::catalog::Versions {
            kube: version,
            release,
            containerd: k8sgen::catalog::CONTAINERD_VERSION,
            runc: k8sgen::catalog::RUNC_VERSION,
        };
        if artifact.pinned_sha256(&versions).is_none() {
            let stand_in = sha256_hex(format!("test stand-in for {artifact:?}").as_bytes());
            let c = &mut spec.kubernetes.checksums;
            *match artifact {
                Artifact::Etcd => &mut c.etcd,
                Artifact::Kubeadm => &mut c.kubeadm,
                Artifact::Kubelet => &mut c.kubelet,
                Artifact::Kubectl => &mut c.kubectl,
                Artifact::Crictl => &mut c.crictl,
                Artifact::Containerd => &mut c.containerd,
                Artifact::Runc => &mut c.runc,
            } = Some(stand_in);
        }
    }
    compile_spec(&format!("{name} at 1.{minor}"), &spec, gzip).0
}

/// A spec's text compiled with the fixture bundle and clock, as `compile_profile` does.
pub fn compile_text(name: &str, text: &str) -> Compiled {
    let spec = spec::load(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
    compile_spec(name, &spec, false).0
}
