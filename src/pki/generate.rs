//! Fresh secrets: the three CAs, the service-account key pair and the bootstrap token.
//!
//! Matches kubeadm's own choices (reference §1.1): CA CNs `kubernetes`, `front-proxy-ca`,
//! `etcd-ca`, the CN repeated as a DNS SAN, 10-year validity backdated 5 minutes, random
//! 127-bit serials, one key algorithm for every key.

use super::entropy::{Clock, Entropy};
use super::{
    BUNDLE_API_VERSION, BUNDLE_KIND, BootstrapToken, CertKey, KeyAlgorithm, PkiError, Secret,
    Secrets, ServiceAccountKeys,
};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize, SerialNumber,
};
use std::collections::BTreeMap;
use time::Duration;

pub(super) const CA_VALIDITY: Duration = Duration::days(3650);
const BACKDATE: Duration = Duration::minutes(5);

/// A new private key of the bundle's algorithm.
pub(super) fn new_key(alg: KeyAlgorithm, part: &str) -> Result<KeyPair, PkiError> {
    let size = match alg {
        KeyAlgorithm::EcdsaP256 => None,
        KeyAlgorithm::Rsa2048 => Some(RsaKeySize::_2048),
        KeyAlgorithm::Rsa3072 => Some(RsaKeySize::_3072),
        KeyAlgorithm::Rsa4096 => Some(RsaKeySize::_4096),
    };
    let key = match size {
        None => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        Some(size) => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size),
    };
    key.map_err(|e| PkiError::Crypto {
        part: part.into(),
        detail: e.to_string(),
    })
}

/// A positive serial of 127 random bits, like kubeadm's (never zero).
fn random_serial(entropy: &mut dyn Entropy) -> SerialNumber {
    let mut bytes = [0u8; 16];
    entropy.fill(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// What every certificate k8sgen makes shares: a validity from the injected clock,
/// backdated like kubeadm's against clock skew, and a random serial.
pub(super) fn stamp(
    params: &mut CertificateParams,
    validity: Duration,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) {
    let now = clock.now();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
    params.serial_number = Some(random_serial(entropy));
}

/// A signed certificate and its key, as the bundle stores them.
pub(super) fn cert_key(cert: &Certificate, key: &KeyPair) -> CertKey {
    CertKey {
        cert: cert.pem(),
        key: Secret::new(key.serialize_pem()),
    }
}

/// The CAs' common names, kubeadm's.
pub(super) const CLUSTER_CA: &str = "kubernetes";
pub(super) const FRONT_PROXY_CA: &str = "front-proxy-ca";
pub(super) const ETCD_CA: &str = "etcd-ca";

pub(super) fn self_signed_ca(
    common_name: &str,
    alg: KeyAlgorithm,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) -> Result<CertKey, PkiError> {
    let crypto = |e: rcgen::Error| PkiError::Crypto {
        part: common_name.into(),
        detail: e.to_string(),
    };
    let key = new_key(alg, common_name)?;
    let mut params = CertificateParams::new(vec![common_name.to_string()]).map_err(crypto)?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    stamp(&mut params, CA_VALIDITY, clock, entropy);
    let cert = params.self_signed(&key).map_err(crypto)?;
    Ok(cert_key(&cert, &key))
}

/// A bootstrap token from `entropy`, `[a-z0-9]{6}.[a-z0-9]{16}` without modulo bias.
pub fn generate_token(entropy: &mut dyn Entropy) -> BootstrapToken {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut chars = String::with_capacity(22);
    let mut byte = [0u8; 1];
    while chars.len() < 22 {
        entropy.fill(&mut byte);
        // 252 = 7 × 36: rejecting 252..=255 keeps every character equally likely.
        if byte[0] < 252 {
            chars.push(ALPHABET[(byte[0] % 36) as usize] as char);
        }
    }
    BootstrapToken {
        id: chars[..6].to_string(),
        secret: Secret::new(&chars[6..]),
    }
}

pub(super) fn service_account_keys(alg: KeyAlgorithm) -> Result<ServiceAccountKeys, PkiError> {
    let key = new_key(alg, "service-account key")?;
    Ok(ServiceAccountKeys {
        public_key: key.public_key_pem(),
        private_key: Secret::new(key.serialize_pem()),
    })
}

/// A complete new bundle with no leaves yet.
pub fn generate(
    alg: KeyAlgorithm,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) -> Result<Secrets, PkiError> {
    Ok(Secrets {
        api_version: BUNDLE_API_VERSION.into(),
        kind: BUNDLE_KIND.into(),
        test_only: false,
        key_algorithm: alg,
        cluster_ca: self_signed_ca(CLUSTER_CA, alg, clock, entropy)?,
        front_proxy_ca: self_signed_ca(FRONT_PROXY_CA, alg, clock, entropy)?,
        etcd_ca: self_signed_ca(ETCD_CA, alg, clock, entropy)?,
        service_account: service_account_keys(alg)?,
        bootstrap_token: generate_token(entropy),
        leaves: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{FixedClock, SeededEntropy};
    use time::macros::datetime;

    #[test]
    fn token_is_well_formed_and_seeded_tokens_repeat() {
        let a = generate_token(&mut SeededEntropy(7));
        let b = generate_token(&mut SeededEntropy(7));
        assert!(a.is_well_formed());
        assert_eq!(a, b);
        assert_ne!(a, generate_token(&mut SeededEntropy(8)));
    }

    #[test]
    fn generated_bundle_passes_its_own_checks_and_round_trips() {
        let clock = FixedClock(datetime!(2026-01-01 0:00 UTC));
        let bundle = generate(KeyAlgorithm::EcdsaP256, &clock, &mut SeededEntropy(1)).unwrap();
        bundle.check("mem").unwrap();
        let text = bundle.to_yaml();
        let back = Secrets::from_yaml("mem", &text).unwrap();
        assert_eq!(back, bundle);
        assert!(bundle.discovery_hash().unwrap().starts_with("sha256:"));
    }
}
