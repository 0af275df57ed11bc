//! The spec's values that have a type beyond their text (versions, CIDRs, addresses, the OS,
//! the token lifetime, a boot step), parsed once by `spec::check` so later stages never parse
//! or default them again. The spec itself keeps the text as written, so every bad value is
//! reported with the others instead of stopping deserialization at the first. Values only:
//! the checks that produce them live in `validate`, and nothing here decides a plan.

use crate::catalog::{Artifact, BootStep, KubeVersion, MinorRelease, Os, Versions};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Everything `spec::check` parsed from a valid spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub version: KubeVersion,
    /// The pinned artifacts of `version`'s minor.
    pub release: &'static MinorRelease,
    pub os: Os,
    /// sha256 of every release download the nodes make (`catalog::Artifact::needed_on`),
    /// pinned or from `kubernetes.checksums`.
    pub checksums: BTreeMap<Artifact, String>,
    /// containerd and runc versions k8sgen installs where the image has no containerd 2.
    pub containerd_version: String,
    pub runc_version: String,
    /// `nodes.downloadMirror`, without a trailing `/`.
    pub download_mirror: Option<String>,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    pub cluster_cidr: Ipv4Net,
    /// The first master's cluster-network address.
    pub masters_first_address: Ipv4Addr,
    /// Per worker pool in spec order: its first address, when the spec gives one.
    pub pools_first_address: Vec<Option<Ipv4Addr>>,
    pub admin: Option<ParsedAdmin>,
    pub token_ttl: TokenTtl,
    pub stop_after: Option<BootStep>,
}

/// The second NIC's network, its CIDR and, with static addressing, the first node's address on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAdmin {
    /// The Neutron network's name.
    pub network: String,
    pub cidr: Ipv4Net,
    pub first_address: Option<Ipv4Addr>,
}

/// `bootstrap.tokenTTL`: a Go-style duration as kubeadm's `ttl` accepts it (`0`, or any of
/// `NNh`, `NNm`, `NNs` in that order). Keeps the text as written, which kubeadm receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTtl {
    text: String,
    seconds: u64,
}

impl Parsed {
    /// The versions the nodes' downloads are at.
    pub fn versions(&self) -> Versions<'_> {
        Versions {
            kube: self.version,
            release: self.release,
            containerd: &self.containerd_version,
            runc: &self.runc_version,
        }
    }

    /// Where a node fetches `artifact`: upstream, or the same path under the mirror.
    pub fn download_url(&self, artifact: Artifact) -> String {
        self.mirrored(artifact.url(&self.versions()))
    }

    /// An upstream `https://` URL, or the same host and path under `nodes.downloadMirror`.
    pub fn mirrored(&self, upstream: String) -> String {
        match &self.download_mirror {
            Some(mirror) => format!(
                "{mirror}/{}",
                upstream.strip_prefix("https://").unwrap_or(&upstream)
            ),
            None => upstream,
        }
    }
}

impl TokenTtl {
    pub fn parse(text: &str) -> Option<TokenTtl> {
        Some(TokenTtl {
            seconds: seconds(text)?,
            text: text.to_string(),
        })
    }

    /// The lifetime in seconds; 0 means the token never expires.
    pub fn seconds(&self) -> u64 {
        self.seconds
    }
}

impl std::fmt::Display for TokenTtl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for TokenTtl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

fn seconds(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut total: Option<u64> = None;
    for (unit, factor) in [('h', 3600), ('m', 60), ('s', 1)] {
        let digits = rest.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && rest[digits..].starts_with(unit) {
            let n: u64 = rest[..digits].parse().ok()?;
            total = Some(total.unwrap_or(0) + n.checked_mul(factor)?);
            rest = &rest[digits + 1..];
        }
    }
    total.filter(|_| rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_forms() {
        for (ok, secs) in [
            ("24h", 86400),
            ("1h30m", 5400),
            ("90m", 5400),
            ("45s", 45),
            ("0", 0),
            ("2h0m0s", 7200),
        ] {
            let ttl = TokenTtl::parse(ok).unwrap_or_else(|| panic!("{ok}"));
            assert_eq!((ttl.seconds(), ttl.to_string()), (secs, ok.to_string()));
        }
        for bad in ["", "h", "24", "24x", "1m1h", "-1h"] {
            assert!(TokenTtl::parse(bad).is_none(), "{bad}");
        }
    }
}
