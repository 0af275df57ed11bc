//! A variant of a profile with an `egress` section (proxy, trusted CA, two registry mirrors),
//! its CA file read as if beside the spec: for the egress tests and the conformance checks.

use super::{compile_spec, edit_text, fixture};
use k8sgen::compile::Compiled;
use k8sgen::{profiles, spec};
use std::collections::BTreeMap;
use std::path::Path;

pub const CA_FILE: &str = "c/certs/proxy-ca.pem";

/// A certificate to stand for the proxy's CA: the fixture's front-proxy CA (any X.509 will do).
pub fn proxy_ca() -> String {
    fixture().front_proxy_ca.cert.as_str().to_string()
}

/// `profile` with an `egress` section through `proxy`, docker.io and registry.k8s.io mirrored.
pub fn proxied_text(profile: &str, proxy: &str, mirror: &str) -> String {
    edit_text(
        profiles::find(profile).unwrap().text,
        &[(
            "\nbootstrap:\n",
            &format!(
                "\negress:\n  proxy:\n    http: {proxy}\n    https: {proxy}\n    noProxy: [.corp.example, 10.20.0.0/16]\n  trustedCAFiles: [certs/proxy-ca.pem]\n  registries:\n    docker.io:\n      mirror: {mirror}\n    registry.k8s.io:\n      mirror: {mirror}/k8s\n      fallback: false\n  distributionMirror:\n    primary: {mirror}/ubuntu\n    security: {mirror}/security\n\nbootstrap:\n"
            ),
        )],
    )
}

/// The spec in `text`, its files read from `files` as if beside it in `c/`.
pub fn load(text: &str, files: &BTreeMap<&str, Vec<u8>>) -> Result<spec::ClusterSpec, String> {
    let mut s = spec::load("c/cluster.yaml", text).map_err(|e| e.to_string())?;
    let read = |p: &Path| {
        files
            .get(p.to_str().unwrap())
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    spec::read_files(&mut s, "c/cluster.yaml", Path::new("c"), &read).map_err(|e| e.to_string())?;
    Ok(s)
}

/// The proxied variant of `profile`, compiled with the fixture bundle.
pub fn proxied(profile: &str, proxy: &str, mirror: &str) -> Compiled {
    let files = BTreeMap::from([(CA_FILE, proxy_ca().into_bytes())]);
    let spec = load(&proxied_text(profile, proxy, mirror), &files).unwrap();
    compile_spec(profile, &spec, false).0
}

/// The proxied variants the conformance checks read, beside the profiles.
pub fn variants() -> Vec<Compiled> {
    ["openstack-ha", "openstack-ha-flatcar"]
        .iter()
        .map(|p| proxied(p, "http://proxy.example:3128", "https://mirror.example"))
        .collect()
}
