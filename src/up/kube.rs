//! The few Kubernetes API calls `up` makes once the nodes have booted, with the admin client
//! certificate and only the cluster CA trusted: `/readyz`, the nodes' Ready condition, a fresh
//! bootstrap token for late workers, and cordon/evict/delete for pruned ones.

use crate::providers::http_error::{self, error_chain};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot reach the Kubernetes API at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the Kubernetes API answered {status} to {url}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("cannot use the cluster credentials: {0}")]
    Credentials(String),
}

pub struct Kube {
    http: Client,
    server: String,
}

/// A node's name and whether its Ready condition is True.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReady {
    pub name: String,
    pub ready: bool,
}

impl Kube {
    /// `server` like `https://10.0.0.11:6443`; PEM texts of the cluster CA and the admin
    /// client certificate and key.
    pub fn new(server: &str, ca: &str, cert: &str, key: &str) -> Result<Kube, KubeError> {
        let bad = |e: reqwest::Error| KubeError::Credentials(error_chain(&e));
        let ca = reqwest::Certificate::from_pem(ca.as_bytes()).map_err(bad)?;
        let identity =
            reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).map_err(bad)?;
        let http = Client::builder()
            .tls_certs_only([ca])
            .identity(identity)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(bad)?;
        Ok(Kube {
            http,
            server: server.trim_end_matches('/').to_string(),
        })
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<String, KubeError> {
        let url = format!("{}{path}", self.server);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        let response = request.send().map_err(|e| KubeError::Unreachable {
            url: url.clone(),
            detail: error_chain(&e),
        })?;
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(KubeError::Status {
                url,
                status,
                message: http_error::message(&text),
            })
        }
    }

    fn get(&self, path: &str) -> Result<String, KubeError> {
        self.send(reqwest::Method::GET, path, None, "")
    }

    /// Ok when `/readyz` answers 200 `ok`.
    pub fn readyz(&self) -> Result<(), KubeError> {
        let body = self.get("/readyz")?;
        if body.trim() == "ok" {
            Ok(())
        } else {
            Err(KubeError::Status {
                url: format!("{}/readyz", self.server),
                status: 200,
                message: body.chars().take(200).collect(),
            })
        }
    }

    pub fn nodes(&self) -> Result<Vec<NodeReady>, KubeError> {
        let text = self.get("/api/v1/nodes")?;
        let list: Value = serde_json::from_str(&text).map_err(|e| KubeError::Status {
            url: format!("{}/api/v1/nodes", self.server),
            status: 200,
            message: format!("unreadable node list: {e}"),
        })?;
        Ok(list["items"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|n| NodeReady {
                name: n["metadata"]["name"].as_str().unwrap_or_default().into(),
                ready: n["status"]["conditions"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True"),
            })
            .collect())
    }

    /// Create a bootstrap token Secret the way `kubeadm token create` does, for workers that
    /// join after the rendered token expired. `expiration` is RFC 3339;
    /// `None` never expires.
    pub fn create_bootstrap_token(
        &self,
        id: &str,
        secret: &str,
        expiration: Option<&str>,
    ) -> Result<(), KubeError> {
        let mut body = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("bootstrap-token-{id}"), "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "stringData": {
                "token-id": id, "token-secret": secret,
                "description": "k8sgen up: workers added after the first token expired",
                "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
                "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
            },
        });
        // No `expiration` is how kubeadm writes a token that never expires (`tokenTTL: 0`).
        if let Some(expiration) = expiration {
            body["stringData"]["expiration"] = json!(expiration);
        }
        self.send(
            reqwest::Method::POST,
            "/api/v1/namespaces/kube-system/secrets",
            Some(&body),
            "application/json",
        )
        .map(drop)
    }

    /// Cordon `node`, evict its pods (DaemonSet pods stay, as `kubectl drain` leaves them),
    /// wait up to `wait` for them to go, then delete the Node object.
    pub fn drain_and_delete(&self, node: &str, wait: Duration) -> Result<(), KubeError> {
        let cordon = json!({"spec": {"unschedulable": true}});
        self.send(
            reqwest::Method::PATCH,
            &format!("/api/v1/nodes/{node}"),
            Some(&cordon),
            "application/strategic-merge-patch+json",
        )?;
        let evictable = || -> Result<Vec<(String, String)>, KubeError> {
            let text = self.get(&format!(
                "/api/v1/pods?fieldSelector=spec.nodeName%3D{node}"
            ))?;
            let list: Value = serde_json::from_str(&text).unwrap_or_default();
            Ok(list["items"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|p| {
                    !p["metadata"]["ownerReferences"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .any(|o| o["kind"] == "DaemonSet")
                        && p["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null()
                })
                .map(|p| {
                    (
                        p["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or_default()
                            .into(),
                        p["metadata"]["name"].as_str().unwrap_or_default().into(),
                    )
                })
                .collect())
        };
        let deadline = std::time::Instant::now() + wait;
        loop {
            let pods = evictable()?;
            if pods.is_empty() || std::time::Instant::now() > deadline {
                break;
            }
            for (ns, name) in &pods {
                let eviction = json!({
                    "apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": name, "namespace": ns},
                });
                // 429: a PodDisruptionBudget says not yet; try again next round.
                match self.send(
                    reqwest::Method::POST,
                    &format!("/api/v1/namespaces/{ns}/pods/{name}/eviction"),
                    Some(&eviction),
                    "application/json",
                ) {
                    Ok(_)
                    | Err(KubeError::Status {
                        status: 404 | 429, ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
            std::thread::sleep(Duration::from_secs(2));
        }
        match self.send(
            reqwest::Method::DELETE,
            &format!("/api/v1/nodes/{node}"),
            None,
            "",
        ) {
            Ok(_) | Err(KubeError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
