//! Whether a secrets bundle's parts fit together: each CA's key belongs to its certificate
//! and the certificate is a CA, the service-account pair matches, the token is well formed.
//! Every problem is reported at once, each with its field path in `secrets.yaml` and a
//! hint. Read-only: it must not repair, regenerate or print anything.

use super::inspect::{key_spki, summarize};
use super::{CertKey, PkiError, Secrets, ServiceAccountKeys};
use x509_parser::pem::parse_x509_pem;

pub use crate::problem::Problem;

/// A PEM block that no longer parses is almost always a damaged or hand-edited copy.
const RESTORE: &str =
    "restore secrets.yaml from its backup; a CA cannot be replaced without re-keying the cluster";

/// The detail of an inspection error, without the part name it repeats.
fn detail(e: PkiError) -> String {
    match e {
        PkiError::Invalid { detail, .. } => detail,
        other => other.to_string(),
    }
}

/// Every problem of `bundle`, in file order; empty when its parts fit together.
pub(super) fn problems(bundle: &Secrets) -> Vec<Problem> {
    let mut out = Vec::new();
    for (field, ca) in [
        ("clusterCa", &bundle.cluster_ca),
        ("frontProxyCa", &bundle.front_proxy_ca),
        ("etcdCa", &bundle.etcd_ca),
    ] {
        check_ca(field, ca, &mut out);
    }
    check_service_account(&bundle.service_account, &mut out);
    if !bundle.bootstrap_token.is_well_formed() {
        out.push(Problem::new(
            "bootstrapToken",
            "id must be 6 and secret 16 characters of [a-z0-9]",
            "write a token as `kubeadm token generate` prints it, split at the dot",
        ));
    }
    out
}

fn check_ca(field: &str, ca: &CertKey, out: &mut Vec<Problem>) {
    let cert = summarize(field, &ca.cert)
        .map_err(|e| out.push(Problem::new(format!("{field}.cert"), detail(e), RESTORE)))
        .ok();
    let key = key_spki(field, ca.key.expose())
        .map_err(|e| out.push(Problem::new(format!("{field}.key"), detail(e), RESTORE)))
        .ok();
    if let Some(cert) = &cert
        && !cert.is_ca
    {
        out.push(Problem::new(
            format!("{field}.cert"),
            "the certificate is not a CA (basicConstraints CA:FALSE)",
            "use the CA's certificate (kubeadm's ca.crt), not one it signed",
        ));
    }
    if let (Some(cert), Some(key)) = (&cert, &key)
        && cert.spki != *key
    {
        out.push(Problem::new(
            format!("{field}.key"),
            "the private key does not belong to the certificate",
            "take the certificate and key of this CA from the same backup or kubeadm directory",
        ));
    }
}

/// `publicKey` must be the PEM public half of `privateKey`.
fn check_service_account(sa: &ServiceAccountKeys, out: &mut Vec<Problem>) {
    let field = "serviceAccount";
    let public = match parse_x509_pem(sa.public_key.as_bytes()) {
        Err(e) => {
            let message = format!("not PEM ({e})");
            out.push(Problem::new(format!("{field}.publicKey"), message, RESTORE));
            None
        }
        Ok((_, pem)) if pem.label != "PUBLIC KEY" => {
            let message = format!("a {}, expected a PUBLIC KEY", pem.label);
            let hint = "use kubeadm's sa.pub here";
            out.push(Problem::new(format!("{field}.publicKey"), message, hint));
            None
        }
        Ok((_, pem)) => Some(pem.contents),
    };
    let private = key_spki(field, sa.private_key.expose())
        .map_err(|e| {
            out.push(Problem::new(
                format!("{field}.privateKey"),
                detail(e),
                RESTORE,
            ))
        })
        .ok();
    if let (Some(public), Some(private)) = (public, private)
        && public != private
    {
        out.push(Problem::new(
            format!("{field}.publicKey"),
            "does not belong to privateKey",
            "take sa.pub and sa.key from the same backup or kubeadm directory",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Secrets {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/secrets.yaml");
        Secrets::from_yaml("fixture", &std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn every_problem_is_reported_with_its_field_path() {
        let mut bundle = fixture();
        assert_eq!(problems(&bundle), vec![]);
        bundle.etcd_ca.key = bundle.cluster_ca.key.clone();
        bundle.front_proxy_ca.cert = "-----BEGIN CERTIFICATE-----\nMIIB".into();
        bundle.bootstrap_token.id = "ABCDEF".into();
        let paths: Vec<String> = problems(&bundle).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            ["frontProxyCa.cert", "etcdCa.key", "bootstrapToken"],
            "one problem per broken field, in file order, nothing stops at the first"
        );
    }
}
