//! OpenStack provider (issue in progress): today the Keystone v3 side that needs no network:
//! where credentials come from (clouds.yaml, secure.yaml, `OS_*`) and what the token request
//! and the catalog lookup look like. The HTTP client and Nova/Neutron calls come next, tested
//! against a real control plane on loopback. Knows nothing of Kubernetes.

pub mod auth;
pub mod catalog;
pub mod keystone;

use std::fmt;

/// A password, secret or token: `Debug` never shows it. (Like `pki::Secret`, kept separate on
/// purpose: providers import nothing internal, DESIGN's dependency rule.)
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(s: impl Into<String>) -> Self {
        Sensitive(s.into())
    }
    /// The value, for the one request body that must carry it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive([redacted])")
    }
}
