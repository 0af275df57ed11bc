//! Read-only questions about PEM material: which public key a private key has, what is the
//! discovery hash, what does a certificate say (for `secrets show` and leaf reuse).

use super::PkiError;
use rcgen::{KeyPair, PublicKeyData};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;

/// What `secrets show` prints and leaf reuse compares. No key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub is_ca: bool,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// `sha256` of the DER certificate, lower-case hex with colons like openssl prints it.
    pub fingerprint: String,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    pub authority_key_id: Option<Vec<u8>>,
    pub subject_key_id: Option<Vec<u8>>,
}

pub(super) fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn invalid(part: &str, detail: impl ToString) -> PkiError {
    PkiError::Invalid {
        part: part.into(),
        detail: detail.to_string(),
    }
}

/// Parse the first certificate of a PEM text.
pub fn summarize(part: &str, cert_pem: &str) -> Result<CertSummary, PkiError> {
    let (_, pem) = parse_x509_pem(cert_pem.as_bytes())
        .map_err(|e| invalid(part, format!("not a PEM certificate ({e})")))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| invalid(part, format!("not an X.509 certificate ({e})")))?;
    let subject = cert.subject();
    let first = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue>| {
        it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
    };
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_names.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => {
                        ip_addresses.push(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default()))
                    }
                    16 => ip_addresses
                        .push(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let mut authority_key_id = None;
    let mut subject_key_id = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                authority_key_id = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                subject_key_id = Some(k.0.to_vec());
            }
            _ => {}
        }
    }
    Ok(CertSummary {
        common_name: first(&mut subject.iter_common_name()).unwrap_or_default(),
        organizations: subject
            .iter_organization()
            .filter_map(|a| a.as_str().ok().map(str::to_string))
            .collect(),
        dns_names,
        ip_addresses,
        is_ca: cert.is_ca(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        fingerprint: hex(&Sha256::digest(&pem.contents), ":"),
        spki: cert.tbs_certificate.subject_pki.raw.to_vec(),
        authority_key_id,
        subject_key_id,
    })
}

/// kubeadm's discovery pin: `sha256:` + hex SHA-256 of the CA's DER SubjectPublicKeyInfo.
pub fn discovery_hash(ca_pem: &str) -> Result<String, PkiError> {
    let summary = summarize("clusterCA", ca_pem)?;
    Ok(format!(
        "sha256:{}",
        hex(&Sha256::digest(&summary.spki), "")
    ))
}

/// The DER SubjectPublicKeyInfo of a PEM private key.
pub(super) fn key_spki(part: &str, key_pem: &str) -> Result<Vec<u8>, PkiError> {
    let key = KeyPair::from_pem(key_pem)
        .map_err(|e| invalid(part, format!("private key cannot be read ({e})")))?;
    Ok(key.subject_public_key_info())
}
