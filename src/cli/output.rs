//! Human and JSON renderings of plans, sizes, profiles and secrets summaries, and the one
//! `--output` format type every command takes. Pure string builders: must not print or
//! read files.

use crate::compile::Compiled;
use crate::pki::{self, PkiError, Secrets};
use crate::render::NOVA_USER_DATA_LIMIT;
use serde_json::json;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `--output`: what a command prints on stdout.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people: tables and aligned lines.
    Text,
    /// One JSON document.
    Json,
}

pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value serializes")
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

pub fn size_table(c: &Compiled) -> String {
    let mut s = String::new();
    let width = c
        .user_data
        .iter()
        .map(|u| u.node.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "{:<width$}  {:<13}  {:>10}  {:>10}  {:>9}",
        "NODE", "ROLE", "RAW", "BASE64", "NOVA"
    );
    for (u, b) in c.user_data.iter().zip(&c.bundles) {
        let _ = writeln!(
            s,
            "{:<width$}  {:<13}  {:>10}  {:>10}  {:>8.0}%{}",
            u.node,
            b.role.as_str(),
            kib(u.raw_size()),
            kib(u.base64_size()),
            100.0 * u.base64_size() as f64 / NOVA_USER_DATA_LIMIT as f64,
            if u.gzip {
                "  gzip"
            } else if u.replace_stub {
                "  ignition replace-stub (gzip)"
            } else {
                ""
            }
        );
    }
    s
}

pub fn plan_json(c: &Compiled) -> String {
    let mut value = serde_json::to_value(&c.plan).expect("plan serializes");
    value["userData"] = c
        .user_data
        .iter()
        .map(|u| {
            serde_json::json!({
                "node": u.node, "rawBytes": u.raw_size(), "base64Bytes": u.base64_size(),
                "novaLimit": NOVA_USER_DATA_LIMIT, "fits": u.fits_nova(),
            })
        })
        .collect();
    pretty(&value)
}

pub fn plan_text(c: &Compiled) -> String {
    let mut s = plan_header(&c.plan);
    plan_nodes(&mut s, &c.plan);
    let _ = writeln!(
        s,
        "\nuser-data sizes (Nova limit {NOVA_USER_DATA_LIMIT} bytes of base64):"
    );
    s.push_str(&size_table(c));
    s
}

/// `plan --artifacts --output json`: the list as JSON.
pub fn artifacts_json(list: &crate::plan::artifacts::ArtifactList) -> String {
    serde_json::to_string_pretty(list).expect("artifact list serializes")
}

/// `plan --artifacts`: one line per artifact, by kind, with what checks it and who fetches it.
pub fn artifacts_text(list: &crate::plan::artifacts::ArtifactList) -> String {
    let mut s = String::new();
    for (title, items) in [
        ("images", &list.images),
        ("downloads", &list.downloads),
        ("packages", &list.packages),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{title}:");
        for a in items.iter() {
            let _ = write!(s, "  {}", a.reference);
            if let Some(sha) = &a.sha256 {
                let _ = write!(s, "  sha256:{sha}");
            }
            let _ = writeln!(s, "  ({})", a.nodes);
        }
    }
    s
}

/// The cluster-wide decisions, one per line.
fn plan_header(p: &crate::plan::Plan) -> String {
    let user_data = match p.platform.user_data_format {
        crate::plan::UserDataFormat::CloudConfig => "#cloud-config",
        crate::plan::UserDataFormat::Ignition => "Ignition 3.3.0",
    };
    let deployable = if p.deployable {
        "yes"
    } else {
        "NO (see warnings)"
    };
    let rows = [
        ("cluster", p.cluster_name.to_string()),
        (
            "kubernetes",
            format!(
                "v{} (packages {}, kubeadm {})",
                p.kubernetes_version, p.package_version, p.kubeadm_api_version
            ),
        ),
        ("keys", p.key_algorithm.to_string()),
        ("os / image", format!("{} / {}", p.os, p.image)),
        (
            "runtime",
            match &p.runtime {
                Some(r) => format!("containerd: {} (sandbox {})", r.source, p.pause_image),
                None => format!("containerd: Flatcar's own (sandbox {})", p.pause_image),
            },
        ),
        ("etcd", p.etcd.version.clone()),
        ("user-data", user_data.to_string()),
        (
            "pods / services",
            format!(
                "{} / {} (cluster DNS {})",
                p.pod_subnet, p.service_subnet, p.cluster_dns
            ),
        ),
        (
            "API endpoint",
            format!(
                "https://{} (node-local load balancer on every node)",
                p.control_plane_endpoint
            ),
        ),
        ("admin kubeconfig", p.admin_server.to_string()),
        ("discovery hash", p.ca_cert_hash.to_string()),
        (
            "bootstrap token",
            format!("id {} (ttl {})", p.token_id, p.token_ttl),
        ),
        (
            "etcd",
            format!("v{} on the masters, external to kubeadm", p.etcd.version),
        ),
        ("kube-router", p.kube_router_image.to_string()),
        (
            "OCCM",
            format!("{} (DaemonSet on the masters)", p.occm_image),
        ),
    ];
    let mut rows = rows.to_vec();
    rows.extend(egress_rows(&p.egress));
    rows.push(("deployable", deployable.to_string()));
    let mut s = String::new();
    for (label, value) in rows {
        let _ = writeln!(s, "{label:<17} {value}");
    }
    s
}

/// The proxy and what bypasses it, the CAs the nodes trust, the mirrored registries.
fn egress_rows(e: &crate::plan::EgressPlan) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if let Some(proxy) = &e.proxy {
        let scheme =
            |label: &str, url: &Option<String>| url.as_ref().map(|u| format!("{label} {u}"));
        let urls: Vec<String> = [scheme("http", &proxy.http), scheme("https", &proxy.https)]
            .into_iter()
            .flatten()
            .collect();
        rows.push((
            "proxy",
            format!("{} (apt, downloads, containerd)", urls.join(", ")),
        ));
        rows.push(("no_proxy", proxy.no_proxy.join(",")));
    }
    if !e.trusted_ca_files.is_empty() {
        rows.push(("trusted CAs", e.trusted_ca_files.join(", ")));
    }
    if let Some(m) = &e.distribution_mirror {
        rows.push((
            "apt archives",
            format!("{} (security: {})", m.primary, m.security),
        ));
    }
    for r in &e.registries {
        let then = if r.fallback {
            format!(", then {}", r.upstream)
        } else {
            " only".to_string()
        };
        rows.push(("registry", format!("{} via {}{then}", r.name, r.mirror)));
    }
    rows
}

/// Nodes, the first master's SANs and the secrets each role carries.
fn plan_nodes(s: &mut String, p: &crate::plan::Plan) {
    let _ = writeln!(s, "\nnodes:");
    for n in &p.nodes {
        let admin = match (&p.admin_nic, n.admin_address) {
            (Some(_), Some(a)) => format!("  admin {a}"),
            (Some(_), None) => "  admin dhcp".into(),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  {:<20} {:<13} {:<15} {}{}",
            n.name,
            n.role.as_str(),
            n.address,
            n.flavor,
            admin
        );
    }
    if let Some(m) = p.masters().next() {
        let _ = writeln!(
            s,
            "\nAPI server SANs ({}): {}",
            m.name,
            m.api_server_sans.join(", ")
        );
    }
    let _ = writeln!(s, "\nsecrets by role:");
    for (role, items) in &p.secrets_by_role {
        let _ = writeln!(s, "  {:<13} {}", role.as_str(), items.join("; "));
    }
}

/// What `secrets show` prints: public facts only, never a key or the token secret.
pub fn secrets_summary(b: &Secrets, format: OutputFormat) -> Result<String, PkiError> {
    let mut parts = vec![
        ("cluster CA".to_string(), &b.cluster_ca.cert),
        ("front-proxy CA".into(), &b.front_proxy_ca.cert),
        ("etcd CA".into(), &b.etcd_ca.cert),
    ];
    parts.extend(
        b.leaves
            .iter()
            .map(|(n, leaf)| (format!("leaf {n}"), &leaf.cert)),
    );
    let certs = parts
        .iter()
        .map(|(label, pem)| Ok((label, pki::summarize(label, pem)?)))
        .collect::<Result<Vec<_>, PkiError>>()?;
    let hash = b.discovery_hash()?;
    Ok(match format {
        OutputFormat::Json => pretty(&json!({
            "keyAlgorithm": b.key_algorithm.kubeadm_name(),
            "testOnly": b.test_only,
            "discoveryHash": hash,
            "bootstrapTokenId": b.bootstrap_token.id,
            "certificates": certs.iter().map(|(label, c)| json!({
                "name": label, "subjectCN": c.common_name,
                "notAfter": c.not_after.date().to_string(), "sha256": c.fingerprint,
            })).collect::<Vec<_>>(),
        })),
        OutputFormat::Text => {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "key algorithm    {}{}",
                b.key_algorithm.kubeadm_name(),
                if b.test_only { " (TEST ONLY)" } else { "" }
            );
            let _ = writeln!(s, "discovery hash   {hash}");
            let _ = writeln!(
                s,
                "bootstrap token  id {} (secret not shown)",
                b.bootstrap_token.id
            );
            for (label, c) in &certs {
                let _ = writeln!(
                    s,
                    "{label}\n  subject CN   {}\n  expires      {}\n  sha256       {}",
                    c.common_name,
                    c.not_after.date(),
                    c.fingerprint
                );
            }
            s
        }
    })
}

/// `profiles`: the embedded profiles and what each is for.
pub fn profiles(format: OutputFormat) -> String {
    let all = crate::profiles::PROFILES;
    match format {
        OutputFormat::Json => {
            let list: Vec<_> = all
                .iter()
                .map(|p| json!({"name": p.name, "summary": p.summary}))
                .collect();
            pretty(&json!(list)) + "\n"
        }
        OutputFormat::Text => all
            .iter()
            .map(|p| format!("{:<14} {}\n", p.name, p.summary))
            .collect(),
    }
}

/// Where `render` writes a node's user-data: `DIR/<node>.user-data` or `DIR/<node>.ign`.
pub fn user_data_path(out: &Path, u: &crate::render::UserData) -> PathBuf {
    out.join(format!("{}.{}", u.node, u.format.extension()))
}

/// `render --output json`: each user-data file written, with its size against Nova's limit.
pub fn rendered_json(c: &Compiled, out: &Path) -> String {
    let files: Vec<_> = c
        .user_data
        .iter()
        .map(|u| {
            json!({
                "node": u.node, "path": user_data_path(out, u), "bytes": u.raw_size(),
                "base64Bytes": u.base64_size(), "novaLimit": NOVA_USER_DATA_LIMIT,
            })
        })
        .collect();
    pretty(&json!(files))
}
