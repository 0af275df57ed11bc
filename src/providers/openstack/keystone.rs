//! Keystone v3 over HTTP: `POST {auth_url}/auth/tokens` with the body `auth::token_request`
//! builds, the token from the `X-Subject-Token` header and the catalog from the body. Errors
//! say which credentials source was refused and never echo a secret. The HTTP client carries
//! the cloud's TLS settings (`tls`), for Keystone and every endpoint of its catalog.

use super::Sensitive;
use super::auth::Cloud;
use super::catalog::Service;
use super::tls::TlsFileError;
use serde::Deserialize;
use std::time::Duration;

/// A scoped token and what came with it.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: Sensitive,
    pub project_id: Option<String>,
    pub user_id: String,
    pub catalog: Vec<Service>,
    /// When Keystone issued the token and when it stops accepting it (`None` when the
    /// answer lacks or garbles them: the token is then renewed only on a 401).
    pub issued_at: Option<time::OffsetDateTime>,
    pub expires_at: Option<time::OffsetDateTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    #[error("cannot reach Keystone at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// The TLS handshake failed on the server's certificate.
    #[error("cannot trust Keystone at {url}: {detail}")]
    Untrusted { url: String, detail: String },
    /// The TLS handshake failed on this client's certificate (none, or one refused).
    #[error("Keystone at {url} accepted no client certificate from here: {detail}")]
    ClientCertificate { url: String, detail: String },
    #[error("Keystone refused the credentials from {origin} (401 Unauthorized)")]
    Unauthorized { origin: String },
    #[error("Keystone denied the request from {origin} (403 Forbidden): {message}")]
    Forbidden { origin: String, message: String },
    #[error("Keystone answered {status} to {url}: {message}")]
    Other {
        url: String,
        status: u16,
        message: String,
    },
    #[error(transparent)]
    TlsFile(#[from] TlsFileError),
}

impl KeystoneError {
    pub fn hint(&self) -> &'static str {
        match self {
            KeystoneError::Unreachable { .. } => {
                "check auth_url / OS_AUTH_URL and that this machine can reach it"
            }
            KeystoneError::ClientCertificate { .. } => {
                "set cert and key (clouds.yaml) or OS_CERT and OS_KEY to a client certificate and key the cloud accepts"
            }
            KeystoneError::Untrusted { .. } => {
                "set cacert (clouds.yaml) or OS_CACERT to the CA that signed the cloud's certificate; verify: false or OS_INSECURE=true skips the check, for tests only"
            }
            KeystoneError::Unauthorized { .. } => {
                "check the user, password and domains, or the application credential id and secret (not shown here)"
            }
            KeystoneError::Forbidden { .. } => "the user lacks a role on the requested project",
            KeystoneError::Other { .. } => "see Keystone's message above",
            KeystoneError::TlsFile(e) => e.hint(),
        }
    }
}

/// An HTTP client for this cloud: its TLS settings, bounded timeouts.
pub fn http_client(cloud: &Cloud) -> Result<reqwest::blocking::Client, KeystoneError> {
    let builder = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60));
    super::tls::apply(&cloud.tls, &cloud.source, builder)?
        .build()
        .map_err(|e| KeystoneError::Unreachable {
            url: cloud.auth_url.clone(),
            detail: e.to_string(),
        })
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct TokenInfo {
    user: Id,
    #[serde(default)]
    project: Option<Id>,
    #[serde(default)]
    catalog: Vec<Service>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// Keystone's time stamps (`2026-12-02T01:00:00.000000Z`) are RFC 3339.
fn instant(text: Option<&str>) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text?, &time::format_description::well_known::Rfc3339).ok()
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// A request that got no answer. rustls names a refused server certificate in the error's
/// sources ("invalid peer certificate: UnknownIssuer"), and the server's refusal of ours by
/// its alert ("received fatal alert: CertificateRequired", `BadCertificate`, `UnknownCA`);
/// reqwest gives no typed way to either.
fn unreachable(url: &str, e: &reqwest::Error) -> KeystoneError {
    let detail = crate::providers::http_error::error_chain(e);
    let url = url.to_string();
    let alert = detail
        .split("received fatal alert: ")
        .nth(1)
        .unwrap_or_default();
    if alert.starts_with("Certificate")
        || alert.starts_with("BadCertificate")
        || alert.starts_with("UnsupportedCertificate")
        || alert.starts_with("UnknownCA")
    {
        KeystoneError::ClientCertificate { url, detail }
    } else if detail.contains("certificate") {
        KeystoneError::Untrusted { url, detail }
    } else {
        KeystoneError::Unreachable { url, detail }
    }
}

/// `auth_url` as given, with `/v3` added when it names only the server, or in place of the
/// `/v2.0` old openrc files still carry (Keystone serves both versions from one root).
pub fn identity_v3(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    let base = base.strip_suffix("/v2.0").unwrap_or(base);
    if base.ends_with("/v3") {
        base.to_string()
    } else {
        format!("{base}/v3")
    }
}

/// Get a scoped token. A connection that fails before any answer is retried once (proxies
/// and uwsgi drop idle connections); an answer, even an error, is final.
pub fn authenticate(
    http: &reqwest::blocking::Client,
    cloud: &Cloud,
) -> Result<Session, KeystoneError> {
    let url = format!("{}/auth/tokens", identity_v3(&cloud.auth_url));
    let body = super::auth::token_request(&cloud.method);
    let send = || http.post(&url).json(&body).send();
    let response = send()
        .or_else(|_| send())
        .map_err(|e| unreachable(&url, &e))?;
    let status = response.status().as_u16();
    let token = response
        .headers()
        .get("X-Subject-Token")
        .and_then(|v| v.to_str().ok())
        .map(Sensitive::new);
    let text = response.text().unwrap_or_default();
    let origin = cloud.source.clone();
    match (status, token) {
        (200 | 201, Some(token)) => {
            let parsed: TokenBody =
                serde_json::from_str(&text).map_err(|e| KeystoneError::Other {
                    url: url.clone(),
                    status,
                    message: format!("unreadable token body ({e})"),
                })?;
            Ok(Session {
                token,
                project_id: parsed.token.project.map(|p| p.id),
                user_id: parsed.token.user.id,
                issued_at: instant(parsed.token.issued_at.as_deref()),
                expires_at: instant(parsed.token.expires_at.as_deref()),
                catalog: parsed.token.catalog,
            })
        }
        (200 | 201, None) => Err(KeystoneError::Other {
            url,
            status,
            message: "no X-Subject-Token header in the answer".into(),
        }),
        (401, _) => Err(KeystoneError::Unauthorized { origin }),
        (403, _) => Err(KeystoneError::Forbidden {
            origin,
            message: crate::providers::http_error::message(&text),
        }),
        (status, _) => Err(KeystoneError::Other {
            url,
            status,
            message: crate::providers::http_error::message(&text),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::identity_v3;

    #[test]
    fn the_v3_root_from_what_operators_write() {
        for (given, v3) in [
            ("https://k.example:5000", "https://k.example:5000/v3"),
            ("https://k.example:5000/", "https://k.example:5000/v3"),
            ("https://k.example:5000/v3/", "https://k.example:5000/v3"),
            (
                "https://k.example/identity/v3",
                "https://k.example/identity/v3",
            ),
            ("https://k.example:5000/v2.0", "https://k.example:5000/v3"),
            ("https://k.example:5000/v2.0/", "https://k.example:5000/v3"),
        ] {
            assert_eq!(identity_v3(given), v3, "{given}");
        }
    }
}
