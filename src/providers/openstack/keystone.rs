//! Keystone v3 over HTTP: `POST {auth_url}/auth/tokens` with the body `auth::token_request`
//! builds, the token from the `X-Subject-Token` header and the catalog from the body. Errors
//! say which credentials source was refused and never echo a secret.

use super::Sensitive;
use super::auth::Cloud;
use super::catalog::Service;
use serde::Deserialize;
use std::time::Duration;

/// A scoped token and what came with it.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: Sensitive,
    pub project_id: Option<String>,
    pub user_id: String,
    pub catalog: Vec<Service>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    #[error("cannot reach Keystone at {url}: {detail}")]
    Unreachable { url: String, detail: String },
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
    #[error("cannot read {path}: {detail}")]
    CaFile { path: String, detail: String },
}

impl KeystoneError {
    pub fn hint(&self) -> &'static str {
        match self {
            KeystoneError::Unreachable { .. } => {
                "check auth_url / OS_AUTH_URL and that this machine can reach it"
            }
            KeystoneError::Unauthorized { .. } => {
                "check the user, password and domains, or the application credential id and secret (not shown here)"
            }
            KeystoneError::Forbidden { .. } => "the user lacks a role on the requested project",
            KeystoneError::Other { .. } => "see Keystone's message above",
            KeystoneError::CaFile { .. } => "cacert / OS_CACERT must name a PEM file",
        }
    }
}

/// An HTTP client for this cloud: its CA added when given, bounded timeouts.
pub fn http_client(cloud: &Cloud) -> Result<reqwest::blocking::Client, KeystoneError> {
    let mut builder = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60));
    if let Some(path) = &cloud.cacert {
        let ca_error = |detail: String| KeystoneError::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
        builder = builder.tls_certs_merge([cert]);
    }
    builder.build().map_err(|e| KeystoneError::Unreachable {
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
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// `auth_url` as given, with `/v3` added when it names only the server.
pub fn identity_v3(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
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
        .map_err(|e| KeystoneError::Unreachable {
            url: url.clone(),
            detail: e.to_string(),
        })?;
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
