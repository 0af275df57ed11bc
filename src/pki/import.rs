//! Adopt an existing kubeadm PKI (`/etc/kubernetes/pki` layout) as a secrets bundle.
//!
//! The cluster CA is required; the front-proxy CA, etcd CA and service-account keys are taken
//! when present and generated when absent ("only missing parts are generated"). Reads through
//! a caller-supplied function so this module does no I/O of its own.

use super::entropy::{Clock, Entropy};
use super::generate::{
    ETCD_CA, FRONT_PROXY_CA, generate_token, self_signed_ca, service_account_keys,
};
use super::inspect::summarize;
use super::{
    BUNDLE_API_VERSION, BUNDLE_KIND, CertKey, KeyAlgorithm, PkiError, Secret, Secrets,
    ServiceAccountKeys,
};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use std::collections::BTreeMap;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Build a bundle from kubeadm files. `read("ca.crt")` returns the file's text or `None`.
/// Returns the bundle and the list of parts that had to be generated.
pub fn import_kubeadm_dir(
    read: &dyn Fn(&str) -> Option<String>,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) -> Result<(Secrets, Vec<&'static str>), PkiError> {
    let missing = |file: &str| PkiError::Invalid {
        part: file.into(),
        detail: "missing: the cluster CA certificate and key are required".into(),
    };
    let cluster_ca = CertKey {
        cert: read("ca.crt").ok_or_else(|| missing("ca.crt"))?,
        key: Secret::new(read("ca.key").ok_or_else(|| missing("ca.key"))?),
    };
    let alg = algorithm_of(&cluster_ca)?;
    let mut generated = Vec::new();
    let pair = |crt: &str, key: &str| -> Option<CertKey> {
        Some(CertKey {
            cert: read(crt)?,
            key: Secret::new(read(key)?),
        })
    };
    let front_proxy_ca = match pair("front-proxy-ca.crt", "front-proxy-ca.key") {
        Some(p) => p,
        None => {
            generated.push("front-proxy CA");
            self_signed_ca(FRONT_PROXY_CA, alg, clock, entropy)?
        }
    };
    let etcd_ca = match pair("etcd/ca.crt", "etcd/ca.key") {
        Some(p) => p,
        None => {
            generated.push("etcd CA");
            self_signed_ca(ETCD_CA, alg, clock, entropy)?
        }
    };
    let service_account = match read("sa.key") {
        Some(private) => {
            let key = KeyPair::from_pem(&private).map_err(|e| PkiError::Invalid {
                part: "sa.key".into(),
                detail: format!("cannot be read ({e})"),
            })?;
            ServiceAccountKeys {
                public_key: read("sa.pub").unwrap_or_else(|| key.public_key_pem()),
                private_key: Secret::new(private),
            }
        }
        None => {
            generated.push("service-account keys");
            service_account_keys(alg)?
        }
    };
    generated.push("bootstrap token");
    let bundle = Secrets {
        api_version: BUNDLE_API_VERSION.into(),
        kind: BUNDLE_KIND.into(),
        test_only: false,
        key_algorithm: alg,
        cluster_ca,
        front_proxy_ca,
        etcd_ca,
        service_account,
        bootstrap_token: generate_token(entropy),
        leaves: BTreeMap::new(),
    };
    bundle.check("the imported kubeadm PKI")?;
    Ok((bundle, generated))
}

/// The kubeadm `encryptionAlgorithm` that produced this CA.
fn algorithm_of(ca: &CertKey) -> Result<KeyAlgorithm, PkiError> {
    let key = KeyPair::from_pem(ca.key.expose()).map_err(|e| PkiError::Invalid {
        part: "ca.key".into(),
        detail: format!("cannot be read ({e})"),
    })?;
    if key.algorithm() == &PKCS_ECDSA_P256_SHA256 {
        return Ok(KeyAlgorithm::EcdsaP256);
    }
    let spki = summarize("ca.crt", &ca.cert)?.spki;
    let bits = SubjectPublicKeyInfo::from_der(&spki)
        .ok()
        .and_then(|(_, info)| match info.parsed() {
            Ok(PublicKey::RSA(rsa)) => Some(rsa.key_size()),
            _ => None,
        });
    match bits {
        Some(2048) => Ok(KeyAlgorithm::Rsa2048),
        Some(3072) => Ok(KeyAlgorithm::Rsa3072),
        Some(4096) => Ok(KeyAlgorithm::Rsa4096),
        _ => Err(PkiError::Invalid {
            part: "ca.key".into(),
            detail: "key type is not one kubeadm's encryptionAlgorithm names (RSA-2048/3072/4096, ECDSA-P256)".into(),
        }),
    }
}
