//! Files a spec names, read beside it: today `cloud.openstack.caFile`, the CA bundle OCCM on
//! the masters trusts. Read through a caller-supplied function (the CLI reads the disk, tests
//! a map), checked here so a bad file is a spec problem with its field path and a hint.
//! Reads nothing the spec does not name; never keeps or quotes a private key.

use super::SpecError;
use super::types::{CaBundle, ClusterSpec};
use crate::problem::Problem;
use base64::Engine;
use std::path::Path;
use x509_parser::pem::Pem;

const CA_FILE: &str = "cloud.openstack.caFile";

/// Read the files `spec` names, relative to `dir` (the spec file's directory), into it.
/// `file` names the spec in messages.
pub fn read_files(
    spec: &mut ClusterSpec,
    file: &str,
    dir: &Path,
    read: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<(), SpecError> {
    let os = &mut spec.cloud.openstack;
    let Some(ca_file) = &os.ca_file else {
        return Ok(());
    };
    let path = dir.join(ca_file);
    let shown = path.display().to_string();
    let problem = |message: String, hint: &str| SpecError::Invalid {
        file: file.into(),
        problems: vec![Problem::new(CA_FILE, message, hint)],
    };
    let bytes = read(&path).map_err(|e| {
        problem(
            format!("cannot read {shown}: {e}"),
            "name the PEM file of the CA that signed the cloud's endpoints, relative to the spec file",
        )
    })?;
    let pem = ca_bundle(&bytes).map_err(|m| {
        problem(
            format!("{shown}: {m}"),
            "give the CA certificate(s) alone, as PEM `CERTIFICATE` blocks (`openssl x509 -in FILE` shows one)",
        )
    })?;
    os.ca_bundle = Some(pem);
    Ok(())
}

/// Every block a `CERTIFICATE` holding an X.509 certificate, at least one; re-encoded
/// without headers. OCCM reads `ca-file` with client-go's `cert.NewPool` (`ParseCertsPEM`),
/// which takes such blocks only and refuses the whole file if Go's parser refuses one of
/// them (a certificate this parser accepts is not proof that Go will).
pub fn ca_bundle(bytes: &[u8]) -> Result<CaBundle, String> {
    let mut pem = String::new();
    for (n, block) in Pem::iter_from_buffer(bytes).enumerate() {
        let n = n + 1;
        let block = block.map_err(|e| format!("PEM block {n} is malformed ({e})"))?;
        if block.label.contains("PRIVATE KEY") {
            // Never on the nodes, never in a message.
            return Err(format!(
                "block {n} is a private key; only certificates belong in caFile"
            ));
        }
        if block.label != "CERTIFICATE" {
            return Err(format!(
                "block {n} is `{}`, not a `CERTIFICATE`",
                block.label
            ));
        }
        block
            .parse_x509()
            .map_err(|e| format!("block {n} is not an X.509 certificate ({e})"))?;
        pem.push_str(&encode(&block.contents));
    }
    if pem.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(CaBundle { pem })
}

fn encode(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
