//! Checks of the spec's `egress` section: the proxy's URLs, the `noProxy` additions and the
//! registry mirrors. Part of `spec::validate`; what the nodes get is decided in `plan`.

use super::checks::{Collector, is_dns_name, is_env_name};
use super::types::{Egress, Proxy};

/// Every problem in `egress`, pushed to `c`.
pub(super) fn check(c: &mut Collector, egress: &Egress) {
    if let Some(proxy) = &egress.proxy {
        check_proxy(c, proxy);
    }
    if let Some(mirror) = &egress.distribution_mirror {
        for (field, url) in [("primary", &mirror.primary), ("security", &mirror.security)] {
            check_url(
                c,
                &format!("egress.distributionMirror.{field}"),
                url,
                "give the archive's URL as apt takes it, e.g. http://mirror.example/ubuntu (security: the same on Ubuntu; http://mirror.example/debian-security on Debian)",
            );
        }
    }
    for (name, registry) in &egress.registries {
        let path = format!("egress.registries.{name}");
        if !is_registry_name(name) {
            c.push(
                path.clone(),
                format!("`{name}` is not a registry name"),
                "use the registry's host as images name it, e.g. docker.io, registry.k8s.io, ghcr.io or registry.example:5000",
            );
        }
        if let Some(cred) = &registry.credentials {
            for (field, var) in [
                ("usernameFrom", &cred.username_from),
                ("passwordFrom", &cred.password_from),
            ] {
                if !is_env_name(var) {
                    // Not echoed: a value written here by mistake may be the password.
                    c.push(
                        format!("{path}.credentials.{field}"),
                        "not an environment variable name",
                        "name the variable that holds it (e.g. MIRROR_USER), not the value: k8sgen reads it at render time",
                    );
                }
            }
        }
        check_url(
            c,
            &format!("{path}.mirror"),
            &registry.mirror,
            "give the mirror's URL, e.g. https://mirror.example:5000 (containerd adds /v2 to its path unless the path ends with /v2)",
        );
    }
}

fn check_proxy(c: &mut Collector, proxy: &Proxy) {
    if proxy.http.is_none() && proxy.https.is_none() {
        c.push(
            "egress.proxy",
            "neither http nor https is set",
            "give the proxy's URL for http, https or both, e.g. http: http://proxy.example:3128",
        );
    }
    for (field, value) in [("http", &proxy.http), ("https", &proxy.https)] {
        if let Some(url) = value {
            check_url(
                c,
                &format!("egress.proxy.{field}"),
                url,
                "write the proxy with its scheme and port, e.g. http://proxy.example:3128",
            );
        }
    }
    for (i, entry) in proxy.no_proxy.iter().enumerate() {
        // Written into shell, apt and systemd lines: no quoting, `%` or `\` either.
        if entry.is_empty()
            || entry.contains([',', ' ', '\t', '\n', '"', '\'', '`', '$', '%', '\\'])
        {
            c.push(
                format!("egress.proxy.noProxy[{i}]"),
                format!("`{entry}` is not a host name, domain suffix, address or CIDR"),
                "one entry per list item, e.g. .corp.example, registry.corp.example, 10.20.0.0/16",
            );
        }
    }
}

/// An `http://` or `https://` URL with a host and no credentials (they would be printed by
/// `plan` and readable in the user-data), query or fragment.
fn check_url(c: &mut Collector, path: &str, text: &str, hint: &str) {
    // Written into shell, TOML and systemd lines on the nodes: no quoting characters, and no
    // `%`, which systemd expands in Environment= (containerd's proxy drop-in).
    if text.contains(|ch: char| ch.is_whitespace() || "'\"`$\\%".contains(ch)) {
        c.push(
            path,
            "the URL holds whitespace, `%` or a quoting character",
            hint,
        );
        return;
    }
    let problem = match url::Url::parse(text) {
        _ if !text.contains("://") => Some(format!("`{text}` has no scheme (http:// or https://)")),
        Err(e) => Some(format!("`{text}` is not a URL ({e})")),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(format!(
            "`{text}` has the scheme `{}`, not http or https",
            u.scheme()
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some(format!("`{text}` has no host")),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            // Never echo the value: it holds a credential.
            c.push(
                path,
                "the URL carries a user name or password",
                "k8sgen does not put credentials in URLs (they would be printed and readable in the user-data); allow the nodes' addresses on the proxy or mirror instead",
            );
            return;
        }
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            Some(format!("`{text}` has a query or fragment"))
        }
        Ok(_) => None,
    };
    if let Some(message) = problem {
        c.push(path, message, hint);
    }
}

/// A registry host as image references name it: a DNS name, optionally with a port.
fn is_registry_name(name: &str) -> bool {
    let (host, port) = match name.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (name, None),
    };
    is_dns_name(host) && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names() {
        for good in ["docker.io", "registry.k8s.io", "localhost:5000", "ghcr.io"] {
            assert!(is_registry_name(good), "{good}");
        }
        for bad in [
            "",
            "https://docker.io",
            "docker.io/library",
            "a:0",
            "a:99999",
            "a b",
        ] {
            assert!(!is_registry_name(bad), "{bad}");
        }
    }
}
