//! The secrets bundle: cluster CA, etcd CA, front-proxy CA, service-account key pair,
//! bootstrap token, and the leaf certificates k8sgen itself issued (etcd members, etcd
//! clients, the operator's admin client).
//!
//! Generated once (`generate`), saved as one YAML file (0600), reloaded on every later run,
//! importable from a kubeadm `/etc/kubernetes/pki` (`import`), exportable to that layout
//! (`export`). Leaves are persisted so that rendering is deterministic: ECDSA signatures are
//! randomized, so re-issuing on each run would change the bytes. This module imports nothing
//! internal; it knows no spec and no plan.

mod check;
mod entropy;
mod export;
mod generate;
mod import;
mod inspect;
mod issue;
mod load;

pub use check::Problem;
pub use entropy::{Clock, Entropy, FixedClock, OsEntropy, SeededEntropy, SystemClock};
pub use export::{ExportFile, export_kubeadm_layout};
pub use generate::{generate, generate_token};
pub use import::import_kubeadm_dir;
pub use inspect::{CertSummary, discovery_hash, summarize};
pub use issue::{LeafRequest, LeafSigner, LeafUsage, ensure_leaves};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub const BUNDLE_API_VERSION: &str = "k8sgen/v1";
pub const BUNDLE_KIND: &str = "SecretsBundle";

/// Key type for every key in the bundle; the names are kubeadm's `encryptionAlgorithm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    #[serde(rename = "ECDSA-P256")]
    EcdsaP256,
    #[serde(rename = "RSA-2048")]
    Rsa2048,
    #[serde(rename = "RSA-3072")]
    Rsa3072,
    #[serde(rename = "RSA-4096")]
    Rsa4096,
}

impl KeyAlgorithm {
    /// kubeadm's `ClusterConfiguration.encryptionAlgorithm` spelling.
    pub fn kubeadm_name(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
            KeyAlgorithm::Rsa2048 => "RSA-2048",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
            KeyAlgorithm::Rsa4096 => "RSA-4096",
        }
    }
}

/// A string that must never be printed: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret text, for writing into a file that is meant to hold it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A PEM certificate and its PEM private key (PKCS#8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertKey {
    pub cert: String,
    pub key: Secret,
}

/// The service-account signing key pair (`sa.key` / `sa.pub`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAccountKeys {
    pub public_key: String,
    pub private_key: Secret,
}

/// Bootstrap token `<id>.<secret>` (`[a-z0-9]{6}.[a-z0-9]{16}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapToken {
    pub id: String,
    pub secret: Secret,
}

impl BootstrapToken {
    /// The full token as kubeadm wants it. Secret: only for files that must carry it.
    pub fn full(&self) -> Secret {
        Secret(format!("{}.{}", self.id, self.secret.expose()))
    }

    pub fn is_well_formed(&self) -> bool {
        let ok = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        ok(&self.id, 6) && ok(self.secret.expose(), 16)
    }
}

/// Everything secret about one cluster, as stored in `secrets.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Secrets {
    pub api_version: String,
    pub kind: String,
    /// Set on fixtures: such a bundle's keys are public and must never protect a real cluster.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_only: bool,
    pub key_algorithm: KeyAlgorithm,
    pub cluster_ca: CertKey,
    pub front_proxy_ca: CertKey,
    pub etcd_ca: CertKey,
    pub service_account: ServiceAccountKeys,
    pub bootstrap_token: BootstrapToken,
    /// Leaf certificates issued by k8sgen, by name (e.g. `etcd-peer/demo-cp-0`).
    #[serde(default)]
    pub leaves: BTreeMap<String, CertKey>,
}

/// Errors about secrets; each names the file or part concerned.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{file} is not valid YAML\n  {}\n    hint: {hint}", indent(detail))]
    Syntax {
        file: String,
        detail: String,
        hint: String,
    },
    #[error("{file} is not a k8sgen secrets bundle\n  {path}: {detail}\n    hint: {hint}")]
    NotABundle {
        file: String,
        path: String,
        detail: String,
        hint: String,
    },
    #[error("{file} has {}", list(problems))]
    Problems {
        file: String,
        problems: Vec<Problem>,
    },
    #[error("{part}: {detail}")]
    Invalid { part: String, detail: String },
    #[error("cannot generate {part}: {detail}")]
    Crypto { part: String, detail: String },
}

fn indent(text: &str) -> String {
    text.trim_end().replace('\n', "\n  ")
}

/// `N problem(s)`, then each problem on its own indented lines.
fn list(problems: &[Problem]) -> String {
    let n = problems.len();
    let mut out = format!("{n} problem{}", if n == 1 { "" } else { "s" });
    for p in problems {
        out.push_str(&format!("\n  {p}"));
    }
    out
}

impl Secrets {
    /// Parse `secrets.yaml` text (`file` names it in messages) and check that its parts fit
    /// together.
    pub fn from_yaml(file: &str, text: &str) -> Result<Secrets, PkiError> {
        load::from_yaml(file, text)
    }

    /// The YAML text of the bundle, with a warning header.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from(
            "# k8sgen secrets bundle: private keys and the bootstrap token of one cluster.\n\
             # Keep it 0600, out of version control, and back it up: losing it means new CAs.\n",
        );
        if self.test_only {
            out.push_str(
                "# TEST ONLY: these keys are public; never use them for a real cluster.\n",
            );
        }
        out.push_str(&serde_saphyr::to_string(self).expect("bundle serializes"));
        out
    }

    /// Each CA's key matches its certificate, the token is well-formed, the SA pair matches:
    /// every problem at once, naming `file` (where the bundle came from).
    pub fn check(&self, file: &str) -> Result<(), PkiError> {
        load::check(file, self)
    }

    /// `sha256:<hex>` over the cluster CA's SubjectPublicKeyInfo (kubeadm discovery pin).
    pub fn discovery_hash(&self) -> Result<String, PkiError> {
        discovery_hash(&self.cluster_ca.cert)
    }
}
