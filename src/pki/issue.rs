//! Leaf certificates k8sgen signs itself and keeps in the bundle.
//!
//! kubeadm mints most leaves on the node from the shipped CAs. k8sgen only issues what must
//! exist before kubeadm runs (the etcd members' server/peer certificates and the etcd client
//! certificates, since etcd is an external systemd service) and the operator's admin client
//! certificate. A stored leaf is reused while it still matches its request, so rendering
//! the same plan twice gives the same bytes.

use super::entropy::{Clock, Entropy};
use super::generate::{cert_key, new_key, stamp};
use super::inspect::{key_spki, summarize};
use super::{CertKey, PkiError, Secrets};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::net::IpAddr;
use time::Duration;

/// kubeadm's leaf validity (8760 h).
const LEAF_VALIDITY: Duration = Duration::days(365);
/// Re-issue a stored leaf this long before it expires.
const RENEW_BEFORE: Duration = Duration::days(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafUsage {
    Server,
    Client,
    /// serverAuth + clientAuth (etcd server and peer certificates).
    ServerAndClient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    ClusterCa,
    EtcdCa,
}

/// One leaf the plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRequest {
    /// Key in `Secrets::leaves`, e.g. `etcd-peer/demo-cp-0`.
    pub name: String,
    pub signer: Signer,
    pub common_name: String,
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub usage: LeafUsage,
}

pub use Signer as LeafSigner;

impl LeafRequest {
    fn signer_ca<'a>(&self, bundle: &'a Secrets) -> &'a CertKey {
        match self.signer {
            Signer::ClusterCa => &bundle.cluster_ca,
            Signer::EtcdCa => &bundle.etcd_ca,
        }
    }

    /// Does the stored leaf still say exactly what this request asks for?
    fn is_met_by(&self, leaf: &CertKey, ca: &CertKey, clock: &dyn Clock) -> bool {
        let (Ok(have), Ok(ca)) = (summarize(&self.name, &leaf.cert), summarize("ca", &ca.cert))
        else {
            return false;
        };
        let mut want_dns = self.dns_names.clone();
        let mut have_dns = have.dns_names.clone();
        want_dns.sort();
        have_dns.sort();
        let mut want_ips = self.ip_addresses.clone();
        let mut have_ips = have.ip_addresses.clone();
        want_ips.sort();
        have_ips.sort();
        have.common_name == self.common_name
            && have.organizations == self.organizations
            && have_dns == want_dns
            && have_ips == want_ips
            && have.authority_key_id.is_some()
            && have.authority_key_id == ca.subject_key_id
            && have.not_after > clock.now() + RENEW_BEFORE
            && key_spki(&self.name, leaf.key.expose()).ok() == Some(have.spki)
    }
}

/// Make sure the bundle holds a valid leaf for every request; returns the names (re)issued.
pub fn ensure_leaves(
    bundle: &mut Secrets,
    requests: &[LeafRequest],
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) -> Result<Vec<String>, PkiError> {
    let mut issued = Vec::new();
    for req in requests {
        let ca = req.signer_ca(bundle);
        if let Some(leaf) = bundle.leaves.get(&req.name)
            && req.is_met_by(leaf, ca, clock)
        {
            continue;
        }
        let leaf = issue(req, ca, bundle.key_algorithm, clock, entropy)?;
        bundle.leaves.insert(req.name.clone(), leaf);
        issued.push(req.name.clone());
    }
    Ok(issued)
}

fn issue(
    req: &LeafRequest,
    ca: &CertKey,
    alg: super::KeyAlgorithm,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) -> Result<CertKey, PkiError> {
    let crypto = |e: rcgen::Error| PkiError::Crypto {
        part: req.name.clone(),
        detail: e.to_string(),
    };
    let ca_key = KeyPair::from_pem(ca.key.expose()).map_err(crypto)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key).map_err(crypto)?;
    let sans: Vec<String> = req
        .dns_names
        .iter()
        .cloned()
        .chain(req.ip_addresses.iter().map(IpAddr::to_string))
        .collect();
    let mut params = CertificateParams::new(sans).map_err(crypto)?;
    params.distinguished_name = DistinguishedName::new();
    for org in &req.organizations {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org.as_str());
    }
    params
        .distinguished_name
        .push(DnType::CommonName, req.common_name.as_str());
    // kubeadm marks leaves CA:FALSE explicitly and gives them these key usages.
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = match req.usage {
        LeafUsage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        LeafUsage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        LeafUsage::ServerAndClient => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    };
    stamp(&mut params, LEAF_VALIDITY, clock, entropy);
    params.use_authority_key_identifier_extension = true;
    let key = new_key(alg, &req.name)?;
    let cert = params.signed_by(&key, &issuer).map_err(crypto)?;
    Ok(cert_key(&cert, &key))
}
