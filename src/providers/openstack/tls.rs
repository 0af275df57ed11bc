//! How a cloud's TLS is set up: whether the server's certificate is verified, which extra CA
//! it must chain to, and the client's own certificate. Resolved from a clouds.yaml entry
//! (`verify`, `insecure`, `cacert`, `cert`, `key`) or the `OS_*` variables (`OS_INSECURE`,
//! `OS_CACERT`, `OS_CERT`, `OS_KEY`) with openstacksdk's precedence
//! (`openstack/config/cloud_region.py`, `get_requests_verify_args`), then applied to a
//! reqwest client. Reads files only when applied; never prints (the caller shows `warnings`).

use std::path::{Path, PathBuf};

/// A cloud's TLS settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// Check the server's certificate. Off with `insecure: true`, `verify: false` or
    /// `OS_INSECURE=true`.
    pub verify: bool,
    /// Where `verify` was turned off, for the warning (`insecure`, `verify`, `OS_INSECURE`).
    pub off_by: Option<String>,
    /// CA bundle trusted besides the system's; unused when `verify` is off (a warning says so).
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM), and its key when that is a separate file.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// TLS variables set in the environment and ignored because the cloud is a clouds.yaml
    /// entry (openstacksdk ignores them too; the `openstack` CLI would apply `OS_CACERT`).
    pub ignored_env: Vec<&'static str>,
}

/// The `OS_*` TLS variables, which belong to a cloud made of `OS_*` variables only.
pub const ENV_VARIABLES: [&str; 4] = ["OS_CACERT", "OS_INSECURE", "OS_CERT", "OS_KEY"];

impl Default for Tls {
    fn default() -> Self {
        Tls {
            verify: true,
            off_by: None,
            cacert: None,
            cert: None,
            key: None,
            ignored_env: Vec::new(),
        }
    }
}

/// A value that is not a boolean where one is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFlag {
    pub field: String,
    pub value: String,
}

/// Where relative paths and `~` resolve: the working directory and `$HOME`.
pub struct Base<'a> {
    pub cwd: &'a Path,
    pub home: Option<String>,
}

impl Base<'_> {
    /// `~` and `~/…` from `$HOME` (`os.path.expanduser`); a relative path from the working
    /// directory, where openstacksdk's requests would open it, not from clouds.yaml's own.
    fn path(&self, given: &str) -> PathBuf {
        let expanded = match (given.strip_prefix('~'), &self.home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                PathBuf::from(format!("{home}{rest}"))
            }
            _ => PathBuf::from(given),
        };
        self.cwd.join(expanded)
    }
}

/// A boolean setting. YAML booleans, and `true`/`false`, `yes`/`no`, `1`/`0` in any case.
/// openstacksdk reads only `true` as true (`loader.py`, `get_boolean`) and every other
/// string as false, so `OS_INSECURE=1` silently keeps verifying there; a silent guess about
/// TLS is worse than an error, so anything else is refused.
pub fn flag(field: &str, value: &serde_json::Value) -> Result<Option<bool>, BadFlag> {
    use serde_json::Value;
    let bad = || BadFlag {
        field: field.into(),
        value: value.to_string(),
    };
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(bad()),
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "yes" | "1" => Ok(Some(true)),
            "false" | "no" | "0" => Ok(Some(false)),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// The raw settings, as found, before precedence.
#[derive(Debug, Default)]
pub struct Given {
    pub insecure: Option<bool>,
    pub verify: Option<bool>,
    /// `verify` given as a path: requests takes it as the CA bundle.
    pub verify_path: Option<String>,
    pub cacert: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    /// The names the settings had where they were found, for messages.
    pub insecure_name: &'static str,
}

/// openstacksdk's precedence: `insecure` wins and turns verification off; else `verify`
/// (default on); `cacert` counts only while verifying; `cert` with `key` when both are given.
pub fn resolve(given: Given, base: &Base) -> Tls {
    let off_by = if given.insecure == Some(true) {
        Some(given.insecure_name.to_string())
    } else if given.verify == Some(false) {
        Some("verify: false".to_string())
    } else {
        None
    };
    let cacert = given.cacert.or(given.verify_path);
    Tls {
        verify: off_by.is_none(),
        off_by,
        cacert: cacert.as_deref().map(|p| base.path(p)),
        cert: given.cert.as_deref().map(|p| base.path(p)),
        key: given
            .cert
            .as_ref()
            .and(given.key.as_deref())
            .map(|p| base.path(p)),
        ignored_env: Vec::new(),
    }
}

impl Tls {
    /// What the operator must hear once: verification off (and a CA given for nothing).
    /// Also: `OS_*` TLS variables that a clouds.yaml cloud ignores, because the `openstack`
    /// CLI applies `OS_CACERT` on top of clouds.yaml and an operator expects the same.
    pub fn warnings(&self, source: &str) -> Vec<String> {
        let mut w = Vec::new();
        if !self.ignored_env.is_empty() {
            w.push(format!(
                "{} ignored: {source} is a clouds.yaml entry, whose own cacert / verify / cert / \
                 key settings count (as in openstacksdk); set them in the entry",
                self.ignored_env.join(", ")
            ));
        }
        let Some(by) = &self.off_by else {
            return w;
        };
        w.push(format!(
            "TLS certificate verification is off for {source} ({by}): the cloud's identity is \
             not checked, so whoever sits between here and it can read the credentials"
        ));
        if let Some(ca) = &self.cacert {
            w.push(format!(
                "{source}: cacert {} is ignored while verification is off",
                ca.display()
            ));
        }
        w
    }
}

/// Why the TLS settings could not be applied.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}: cannot use {what} {path}: {detail}")]
pub struct TlsFileError {
    /// Where the setting came from (`clouds.yaml: mycloud`, `OS_* variables`).
    pub source_name: String,
    /// `cacert`, `cert` or `key`.
    pub what: &'static str,
    pub path: String,
    pub detail: String,
}

impl TlsFileError {
    pub fn hint(&self) -> &'static str {
        match self.what {
            "cacert" => {
                "cacert / OS_CACERT must name a PEM file holding the CA certificate(s) that signed the cloud's endpoints"
            }
            _ => {
                "cert / OS_CERT must name a PEM file with the client certificate, and its private key unless key / OS_KEY names that"
            }
        }
    }
}

/// `builder` with these settings (from `source`, for messages): the CA bundle added to the
/// trusted roots, verification off, the client identity.
pub fn apply(
    tls: &Tls,
    source: &str,
    mut builder: reqwest::blocking::ClientBuilder,
) -> Result<reqwest::blocking::ClientBuilder, TlsFileError> {
    let read = |what: &'static str, path: &Path| {
        std::fs::read(path).map_err(|e| TlsFileError {
            source_name: source.into(),
            what,
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    };
    if !tls.verify {
        builder = builder.danger_accept_invalid_certs(true);
    } else if let Some(path) = &tls.cacert {
        let error = |detail: String| TlsFileError {
            source_name: source.into(),
            what: "cacert",
            path: path.display().to_string(),
            detail,
        };
        let pem = read("cacert", path)?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| error(e.to_string()))?;
        if certs.is_empty() {
            return Err(error("no PEM certificate in it".into()));
        }
        builder = builder.tls_certs_merge(certs);
    }
    if let Some(cert) = &tls.cert {
        let mut pem = read("cert", cert)?;
        if let Some(key) = &tls.key {
            pem.push(b'\n');
            pem.extend(read("key", key)?);
        }
        // The parser's message names what is missing, never the key's bytes.
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| TlsFileError {
            source_name: source.into(),
            what: "cert",
            path: cert.display().to_string(),
            detail: crate::providers::http_error::error_chain(&e),
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Base<'static> {
        Base {
            cwd: Path::new("/work"),
            home: Some("/home/op".into()),
        }
    }

    #[test]
    fn tilde_is_home_and_relative_is_the_working_directory() {
        let b = base();
        assert_eq!(b.path("~/ca.pem"), Path::new("/home/op/ca.pem"));
        assert_eq!(b.path("~"), Path::new("/home/op"));
        assert_eq!(b.path("certs/ca.pem"), Path::new("/work/certs/ca.pem"));
        assert_eq!(b.path("/etc/ca.pem"), Path::new("/etc/ca.pem"));
        // `~user` is not expanded: left as a relative name.
        assert_eq!(b.path("~bob/ca.pem"), Path::new("/work/~bob/ca.pem"));
    }

    #[test]
    fn booleans_in_their_usual_spellings_and_nothing_else() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("True"), Some(true)),
            (json!("yes"), Some(true)),
            (json!("1"), Some(true)),
            (json!(1), Some(true)),
            (json!("NO"), Some(false)),
            (json!(0), Some(false)),
            (json!(null), None),
            (json!(""), None),
        ] {
            assert_eq!(flag("insecure", &v), Ok(want), "{v}");
        }
        assert_eq!(
            flag("OS_INSECURE", &json!("maybe")),
            Err(BadFlag {
                field: "OS_INSECURE".into(),
                value: "\"maybe\"".into()
            })
        );
    }

    #[test]
    fn insecure_wins_and_cacert_counts_only_while_verifying() {
        let given = |insecure, verify| Given {
            insecure,
            verify,
            cacert: Some("~/ca.pem".into()),
            insecure_name: "insecure: true",
            ..Given::default()
        };
        let on = resolve(given(None, None), &base());
        assert!(on.verify);
        assert_eq!(on.cacert.as_deref(), Some(Path::new("/home/op/ca.pem")));
        assert!(on.warnings("c").is_empty());
        let off = resolve(given(Some(true), Some(true)), &base());
        assert!(!off.verify, "insecure wins over verify");
        assert_eq!(off.off_by.as_deref(), Some("insecure: true"));
        let w = off.warnings("clouds.yaml: c");
        assert_eq!(w.len(), 2);
        assert!(w[0].starts_with(
            "TLS certificate verification is off for clouds.yaml: c (insecure: true)"
        ));
        assert_eq!(
            w[1],
            "clouds.yaml: c: cacert /home/op/ca.pem is ignored while verification is off"
        );
        let verify_off = resolve(given(Some(false), Some(false)), &base());
        assert_eq!(verify_off.off_by.as_deref(), Some("verify: false"));
    }

    #[test]
    fn a_key_goes_with_a_cert_only() {
        let tls = resolve(
            Given {
                key: Some("client.key".into()),
                ..Given::default()
            },
            &base(),
        );
        assert_eq!((tls.cert, tls.key), (None, None));
        let tls = resolve(
            Given {
                cert: Some("client.pem".into()),
                key: Some("client.key".into()),
                ..Given::default()
            },
            &base(),
        );
        assert_eq!(tls.cert.as_deref(), Some(Path::new("/work/client.pem")));
        assert_eq!(tls.key.as_deref(), Some(Path::new("/work/client.key")));
    }

    #[test]
    fn verify_as_a_path_is_the_ca_bundle_and_cacert_wins_over_it() {
        let tls = resolve(
            Given {
                verify_path: Some("/etc/ssl/cloud.pem".into()),
                ..Given::default()
            },
            &base(),
        );
        assert!(tls.verify);
        assert_eq!(tls.cacert.as_deref(), Some(Path::new("/etc/ssl/cloud.pem")));
        let tls = resolve(
            Given {
                verify_path: Some("/etc/ssl/cloud.pem".into()),
                cacert: Some("/etc/ssl/other.pem".into()),
                ..Given::default()
            },
            &base(),
        );
        assert_eq!(tls.cacert.as_deref(), Some(Path::new("/etc/ssl/other.pem")));
    }
}
