//! Files a spec names, read beside it: `cloud.openstack.caFile`, the CA bundle OCCM on the
//! masters trusts, and `egress.trustedCAFiles`, the CAs every node trusts. Read through a
//! caller-supplied function (the CLI reads the disk, tests a map), checked here so a bad file
//! is a spec problem with its field path and a hint; every bad file is reported at once.
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
    let mut problems = Vec::new();
    if let Some(ca_file) = spec.cloud.openstack.ca_file.clone() {
        match read_ca(
            dir,
            &ca_file,
            CA_FILE,
            read,
            "name the PEM file of the CA that signed the cloud's endpoints, relative to the spec file",
        ) {
            Ok(pem) => spec.cloud.openstack.ca_bundle = Some(pem),
            Err(p) => problems.push(p),
        }
    }
    let mut trusted = Vec::new();
    for (i, ca_file) in spec.egress.trusted_ca_files.iter().enumerate() {
        let field = format!("egress.trustedCAFiles[{i}]");
        match read_ca(
            dir,
            ca_file,
            &field,
            read,
            "name a PEM file of CA certificates the nodes must trust (the proxy's or the mirror's), relative to the spec file",
        ) {
            Ok(pem) => trusted.push(pem),
            Err(p) => problems.push(p),
        }
    }
    spec.egress.trusted_cas = trusted;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SpecError::Invalid {
            file: file.into(),
            problems,
        })
    }
}

/// One CA file: read, checked, re-encoded; or the problem, at `field`.
fn read_ca(
    dir: &Path,
    name: &str,
    field: &str,
    read: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
    read_hint: &str,
) -> Result<CaBundle, Problem> {
    let path = dir.join(name);
    let shown = path.display().to_string();
    let bytes = read(&path)
        .map_err(|e| Problem::new(field, format!("cannot read {shown}: {e}"), read_hint))?;
    ca_bundle(&bytes).map_err(|m| {
        Problem::new(
            field,
            format!("{shown}: {m}"),
            "give the CA certificate(s) alone, as PEM `CERTIFICATE` blocks (`openssl x509 -in FILE` shows one)",
        )
    })
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
                "block {n} is a private key; only certificates belong in a CA file"
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
