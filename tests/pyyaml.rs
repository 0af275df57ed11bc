//! cloud-init reads user-data with PyYAML (YAML 1.1). Every rendered cloud-config, and every
//! YAML file embedded in it, must load there to exactly the intended strings: the top level
//! is compared with the IR, embedded documents with a YAML-1.2 parse of the same text (the two
//! disagree precisely where a `yes`/`on`/`0644`/date scalar was left unquoted).

mod common;

use common::*;
use k8sgen::profiles::PROFILES;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

const LOADER: &str = r##"
import base64, gzip, json, sys, yaml
text = sys.stdin.read()
assert text.startswith("#cloud-config\n"), "first line must be #cloud-config"
doc = yaml.safe_load(text)
embedded = {}
for f in doc["write_files"]:
    content = f["content"]
    if f.get("encoding") == "gz+b64":  # as cloud-init's write_files inflates it
        content = gzip.decompress(base64.b64decode(content)).decode()
    if f["path"].endswith((".yaml", ".yml")):
        embedded[f["path"]] = list(yaml.safe_load_all(content))
json.dump({"doc": doc, "embedded": embedded}, sys.stdout)
"##;

fn pyyaml(text: &str) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", LOADER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with PyYAML is needed (.ci/run installs python3-yaml)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML rejected the document");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pyyaml_reads_every_document_as_intended() {
    for profile in PROFILES {
        let (compiled, _) = compile_profile(profile.name, false);
        for (ud, bundle) in compiled.user_data.iter().zip(&compiled.bundles) {
            if ud.format != k8sgen::catalog::UserDataFormat::CloudConfig {
                continue; // Ignition is JSON; tests/conformance_ignition.rs reads it back
            }
            let text = std::str::from_utf8(&ud.bytes).unwrap();
            let loaded = pyyaml(text);
            let mut doc = loaded["doc"].clone();
            // Packed files as cloud-init writes them: base64 of gzip, inflated.
            for wf in doc["write_files"].as_array_mut().unwrap() {
                if let Some(encoding) = wf.as_object_mut().unwrap().remove("encoding") {
                    assert_eq!(encoding, "gz+b64");
                    use base64::Engine;
                    let packed = base64::engine::general_purpose::STANDARD
                        .decode(wf["content"].as_str().unwrap())
                        .unwrap();
                    wf["content"] = Value::String(common::gunzip_text(&packed));
                }
            }
            let doc = &doc;
            let mut expected: Vec<Value> = bundle
                .files
                .iter()
                .map(|f| json!({"path": f.path, "owner": f.owner, "permissions": format!("0{:o}", f.mode), "content": f.content}))
                .chain(bundle.units.iter().map(|u| json!({
                    "path": format!("/etc/systemd/system/{}", u.name), "owner": "root:root",
                    "permissions": "0644", "content": u.content})))
                .collect();
            expected.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
            assert_eq!(
                doc["write_files"],
                Value::Array(expected),
                "{}: write_files",
                ud.node
            );
            assert_eq!(
                doc["runcmd"].as_array().unwrap().last().unwrap(),
                &json!([
                    "systemctl",
                    "start",
                    "--no-block",
                    "k8sgen-bootstrap.service"
                ]),
                "{}",
                ud.node
            );
            let embedded = loaded["embedded"].as_object().unwrap();
            assert!(!embedded.is_empty());
            for (path, docs) in embedded {
                let file = bundle.files.iter().find(|f| &f.path == path).unwrap();
                let strict: Vec<Value> = serde_saphyr::from_multiple(&file.content).unwrap();
                assert_eq!(
                    docs,
                    &Value::Array(strict),
                    "{}: {path} reads differently in PyYAML",
                    ud.node
                );
            }
        }
    }
}

#[test]
fn yaml_1_1_traps_are_quoted() {
    // The same encoder, fed the scalars PyYAML would misread if they were left bare.
    let traps = [
        "yes",
        "on",
        "no",
        "off",
        "0644",
        "010",
        "1.30",
        "2026-01-01",
        "~",
        "null",
        "10.0.0.14",
    ];
    let yaml = serde_saphyr::to_string(&traps.to_vec()).unwrap();
    let text = format!(
        "#cloud-config\nwrite_files: []\nruncmd: []\ntraps:\n{}",
        yaml.lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    let loaded = pyyaml(&text);
    assert_eq!(loaded["doc"]["traps"], json!(traps));
}
