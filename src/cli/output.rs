//! Human and JSON renderings of plans, sizes and secrets summaries. Pure string builders.

use crate::compile::Compiled;
use crate::pki::{self, Bundle, PkiError};
use crate::render::NOVA_USER_DATA_LIMIT;
use std::fmt::Write;

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
    serde_json::to_string_pretty(&value).expect("plan serializes")
}

pub fn plan_text(c: &Compiled) -> String {
    let p = &c.plan;
    let mut s = String::new();
    let _ = writeln!(s, "cluster           {}", p.cluster_name);
    let _ = writeln!(
        s,
        "kubernetes        v{} (packages {}, kubeadm {})",
        p.kubernetes_version, p.package_version, p.kubeadm_api_version
    );
    let _ = writeln!(s, "keys              {}", p.key_algorithm);
    let _ = writeln!(s, "os / image        {} / {}", p.os, p.image);
    let _ = writeln!(
        s,
        "user-data         {}",
        match p.platform.user_data_format {
            crate::plan::UserDataFormat::CloudConfig => "#cloud-config",
            crate::plan::UserDataFormat::Ignition => "Ignition 3.3.0",
        }
    );
    let _ = writeln!(
        s,
        "pods / services   {} / {} (cluster DNS {})",
        p.pod_subnet, p.service_subnet, p.cluster_dns
    );
    let _ = writeln!(
        s,
        "API endpoint      https://{} (node-local load balancer on every node)",
        p.control_plane_endpoint
    );
    let _ = writeln!(s, "admin kubeconfig  {}", p.admin_server);
    let _ = writeln!(s, "discovery hash    {}", p.ca_cert_hash);
    let _ = writeln!(
        s,
        "bootstrap token   id {} (ttl {})",
        p.token_id, p.token_ttl
    );
    let _ = writeln!(
        s,
        "etcd              v{} on the masters, external to kubeadm",
        p.etcd.version
    );
    let _ = writeln!(s, "kube-router       {}", p.kube_router_image);
    let _ = writeln!(s, "OCCM              {} (static pod)", p.occm_image);
    let _ = writeln!(
        s,
        "deployable        {}",
        if p.deployable {
            "yes"
        } else {
            "NO (see warnings)"
        }
    );
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
    let _ = writeln!(
        s,
        "\nuser-data sizes (Nova limit {NOVA_USER_DATA_LIMIT} bytes of base64):"
    );
    s.push_str(&size_table(c));
    s
}

pub fn secrets_summary(b: &Bundle) -> Result<String, PkiError> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "key algorithm    {}{}",
        b.key_algorithm.kubeadm_name(),
        if b.test_only { " (TEST ONLY)" } else { "" }
    );
    let _ = writeln!(s, "discovery hash   {}", b.discovery_hash()?);
    let _ = writeln!(
        s,
        "bootstrap token  id {} (secret not shown)",
        b.bootstrap_token.id
    );
    let mut show = |label: &str, pem: &str| -> Result<(), PkiError> {
        let c = pki::summarize(label, pem)?;
        let _ = writeln!(
            s,
            "{label}\n  subject CN   {}\n  expires      {}\n  sha256       {}",
            c.common_name,
            c.not_after.date(),
            c.fingerprint
        );
        Ok(())
    };
    show("cluster CA", &b.cluster_ca.cert)?;
    show("front-proxy CA", &b.front_proxy_ca.cert)?;
    show("etcd CA", &b.etcd_ca.cert)?;
    for (name, leaf) in &b.leaves {
        show(&format!("leaf {name}"), &leaf.cert)?;
    }
    Ok(s)
}
