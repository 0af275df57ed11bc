//! OpenStack provider: small hand-written clients for the calls `up`, `down` and `status`
//! make. `auth` finds credentials (clouds.yaml, secure.yaml, `OS_*`), `keystone` gets a token
//! and catalog (over the TLS `tls` sets up), `renewal` keeps that token valid for long runs,
//! `api` carries authenticated JSON with retries, `nova`, `neutron` and `cinder` name the
//! calls. Tested against a real control plane on loopback (tests/openstack/rig.sh). Knows
//! nothing of Kubernetes: user-data is opaque bytes here.

pub mod api;
pub mod auth;
pub mod catalog;
pub mod cinder;
pub mod keystone;
pub mod neutron;
pub mod nova;
pub mod renewal;
pub mod tls;

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
