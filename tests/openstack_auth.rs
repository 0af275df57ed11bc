//! OpenStack credentials without a network: clouds.yaml lookup order and secure.yaml overlay,
//! `OS_*` variables, the three Keystone v3 token request bodies (reference §8 shapes),
//! catalog endpoint selection, TLS settings (verify, insecure, cacert, cert, key) and the error
//! texts an operator sees.

use k8sgen::providers::openstack::auth::{
    self, AuthError, Domain, Method, Named, Origin, Selection,
};
use k8sgen::providers::openstack::catalog::{self, Service};
use k8sgen::providers::openstack::tls::Tls;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct World {
    env: BTreeMap<String, String>,
    files: BTreeMap<PathBuf, String>,
}

impl World {
    fn new() -> World {
        let mut env = BTreeMap::new();
        env.insert("HOME".into(), "/home/op".into());
        World {
            env,
            files: BTreeMap::new(),
        }
    }
    fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }
    fn file(mut self, p: &str, text: &str) -> Self {
        self.files.insert(p.into(), text.into());
        self
    }
    fn resolve(&self, cloud: Option<&str>) -> Result<auth::Cloud, AuthError> {
        auth::resolve(
            cloud,
            &|k| self.env.get(k).cloned(),
            &|p: &Path| self.files.get(p).cloned(),
            Path::new("/work/cluster"),
        )
    }
}

const CLOUDS: &str = "
clouds:
  mycloud:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: alice
      project_name: k8s
      user_domain_name: Users
      project_domain_id: default
    region_name: RegionTwo
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org:5000/v3
      application_credential_id: 0123abcd
      application_credential_secret: s3cr3t
";

#[test]
fn clouds_yaml_in_home_with_secure_yaml_overlay() {
    let w = World::new()
        .file("/home/op/.config/openstack/clouds.yaml", CLOUDS)
        .file(
            "/etc/openstack/secure.yaml",
            "clouds:\n  mycloud:\n    auth:\n      password: hunter2\n",
        );
    let cloud = w.resolve(Some("mycloud")).unwrap();
    assert_eq!(cloud.auth_url, "https://keystone.example.org:5000/v3");
    assert_eq!(cloud.region.known, ["RegionTwo"]);
    assert_eq!(cloud.interface, "public");
    let body = auth::token_request(&cloud.method);
    assert_eq!(
        body,
        json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "alice", "domain": {"name": "Users"}, "password": "hunter2"}}},
            "scope": {"project": {"name": "k8s", "domain": {"id": "default"}}},
        }})
    );
    assert!(
        !format!("{cloud:?}").contains("hunter2"),
        "Debug must not show the password"
    );
}

#[test]
fn lookup_order_and_os_cloud() {
    // OS_CLIENT_CONFIG_FILE comes first, then ./clouds.yaml, then ~/.config, then /etc.
    let w = World::new()
        .env("OS_CLOUD", "appcred")
        .env("OS_CLIENT_CONFIG_FILE", "/srv/custom.yaml")
        .file("/srv/custom.yaml", CLOUDS)
        .file("/work/cluster/clouds.yaml", "clouds: {}\n");
    let cloud = w.resolve(None).unwrap();
    assert!(
        cloud.source.starts_with("/srv/custom.yaml: appcred"),
        "{}",
        cloud.source
    );
    // An application credential carries no scope: Keystone rejects one.
    assert_eq!(
        auth::token_request(&cloud.method),
        json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": "0123abcd", "secret": "s3cr3t"}}}})
    );
    let local = World::new()
        .file("/work/cluster/clouds.yaml", CLOUDS)
        .file("/etc/openstack/clouds.yaml", "clouds: {}\n");
    assert!(
        local
            .resolve(Some("appcred"))
            .unwrap()
            .source
            .starts_with("/work/cluster/clouds.yaml")
    );
}

#[test]
fn os_variables_for_each_method() {
    let w = World::new()
        .env("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
        .env("OS_USERNAME", "admin")
        .env("OS_PASSWORD", "pw")
        .env("OS_PROJECT_NAME", "admin")
        .env("OS_USER_DOMAIN_NAME", "Default")
        .env("OS_PROJECT_DOMAIN_NAME", "Default")
        .env("OS_REGION_NAME", "RegionOne")
        .env("OS_INTERFACE", "internal");
    let cloud = w.resolve(None).unwrap();
    assert_eq!(
        (cloud.region.requested.as_deref(), cloud.interface.as_str()),
        (Some("RegionOne"), "internal")
    );
    assert!(
        matches!(&cloud.method, Method::Password { user: Named::Name { domain: Domain::Name(d), .. }, .. } if d == "Default")
    );

    let token = World::new()
        .env("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
        .env("OS_AUTH_TYPE", "v3token")
        .env("OS_TOKEN", "gAAAA")
        .env("OS_PROJECT_ID", "p-1");
    assert_eq!(
        auth::token_request(&token.resolve(None).unwrap().method),
        json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "gAAAA"}},
                        "scope": {"project": {"id": "p-1"}}}})
    );
}

#[test]
fn errors_say_what_is_wrong_and_what_to_do() {
    let w = World::new().file("/work/cluster/clouds.yaml", CLOUDS);
    let e = w.resolve(Some("nope")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no cloud named `nope` in /work/cluster/clouds.yaml (the name comes from --cloud)"
    );
    assert_eq!(
        e.hint(),
        "clouds defined there: appcred, mycloud; pass one of them to --cloud"
    );

    let e = World::new().resolve(Some("mycloud")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--cloud names `mycloud`, but no clouds.yaml was found"
    );

    let e = World::new().resolve(None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "OS_* variables: OS_AUTH_URL is not set (and no OS_CLOUD either)"
    );

    let e = World::new()
        .env("OS_AUTH_URL", "http://x/v3")
        .env("OS_USERNAME", "a")
        .resolve(None)
        .unwrap_err();
    assert_eq!(e.to_string(), "OS_* variables: password is missing");

    let e = World::new()
        .env("OS_AUTH_URL", "http://x/v3")
        .env("OS_AUTH_TYPE", "v3oidcpassword")
        .resolve(None)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("auth_type `v3oidcpassword` is not supported")
    );

    let bad = World::new().file("/work/cluster/clouds.yaml", "clouds: [\n");
    assert!(matches!(
        bad.resolve(Some("x")),
        Err(AuthError::BadFile { .. })
    ));
}

/// Each way of naming a cloud is blamed by its own name when the name is wrong, with a hint
/// about that place: `OS_CLOUD`, and the spec's field in its file (issue 11: a name from the
/// spec used to blame `OS_CLOUD`/--cloud).
#[test]
fn a_wrong_cloud_name_blames_where_the_name_came_from() {
    let w = World::new()
        .file("/work/cluster/clouds.yaml", CLOUDS)
        .env("OS_CLOUD", "nope");
    let e = w.resolve(None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no cloud named `nope` in /work/cluster/clouds.yaml (the name comes from OS_CLOUD)"
    );
    assert_eq!(
        e.hint(),
        "clouds defined there: appcred, mycloud; set OS_CLOUD to one of them"
    );
    let e = World::new()
        .env("OS_CLOUD", "mycloud")
        .resolve(None)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "OS_CLOUD names `mycloud`, but no clouds.yaml was found"
    );
    assert!(
        e.hint()
            .ends_with("or unset OS_CLOUD to use the OS_* variables")
    );

    let from_spec = |w: &World, name: &str| {
        auth::resolve_selected(
            Some(Selection {
                name: name.into(),
                origin: Origin::Field {
                    file: "c/cluster.yaml".into(),
                    field: "cloud.openstack.cloud".into(),
                },
            }),
            &|k| w.env.get(k).cloned(),
            &|p: &Path| w.files.get(p).cloned(),
            Path::new("/work/cluster"),
        )
        .unwrap_err()
    };
    let e = from_spec(
        &World::new().file("/work/cluster/clouds.yaml", CLOUDS),
        "nope",
    );
    assert_eq!(
        e.to_string(),
        "no cloud named `nope` in /work/cluster/clouds.yaml (the name comes from `cloud.openstack.cloud` in c/cluster.yaml)"
    );
    assert_eq!(
        e.hint(),
        "clouds defined there: appcred, mycloud; set `cloud.openstack.cloud` in c/cluster.yaml to one of them, or pick one with --cloud or OS_CLOUD"
    );
    let e = from_spec(&World::new(), "openstack");
    assert_eq!(
        e.to_string(),
        "`cloud.openstack.cloud` in c/cluster.yaml names `openstack`, but no clouds.yaml was found"
    );
    assert_eq!(
        e.hint(),
        "put it in ./clouds.yaml or ~/.config/openstack/clouds.yaml, or set OS_CLIENT_CONFIG_FILE; or source your openrc (OS_AUTH_URL and the rest): `cloud.openstack.cloud` is used only without --cloud, OS_CLOUD and OS_AUTH_URL"
    );
}

#[test]
fn catalog_endpoint_by_type_region_and_interface() {
    let services: Vec<Service> = serde_json::from_value(json!([
        {"type": "compute", "endpoints": [
            {"interface": "public", "region": "RegionOne", "url": "http://127.0.0.1:8774/v2.1/"},
            {"interface": "internal", "region": "RegionOne", "url": "http://10.0.0.5:8774/v2.1"},
            {"interface": "public", "region": "RegionTwo", "url": "https://two.example:8774/v2.1"}]},
        {"type": "network", "endpoints": [
            {"interface": "public", "region_id": "RegionOne", "url": "http://127.0.0.1:9696"}]},
    ]))
    .unwrap();
    assert_eq!(
        catalog::endpoint(&services, "compute", Some("RegionOne"), "public").unwrap(),
        "http://127.0.0.1:8774/v2.1"
    );
    assert_eq!(
        catalog::endpoint(&services, "compute", Some("RegionOne"), "internal").unwrap(),
        "http://10.0.0.5:8774/v2.1"
    );
    assert_eq!(
        catalog::endpoint(&services, "compute", Some("RegionTwo"), "public").unwrap(),
        "https://two.example:8774/v2.1"
    );
    assert_eq!(
        catalog::endpoint(&services, "network", Some("RegionOne"), "public").unwrap(),
        "http://127.0.0.1:9696"
    );
    let e = catalog::endpoint(&services, "load-balancer", Some("RegionOne"), "public").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the catalog has no public `load-balancer` endpoint in region RegionOne; it offers: \
         compute/internal/RegionOne, compute/public/RegionOne, compute/public/RegionTwo, network/public/RegionOne"
    );
}

/// A YAML error in clouds.yaml or secure.yaml names file:line:column and the kind of error,
/// never the parser's snippet of the lines around it, which would show the password
/// (issue 12, item 9). Through the library and through the binary's stderr.
#[test]
fn a_yaml_error_never_shows_the_password_around_it() {
    const PASSWORD: &str = "SuperSecretPw123";
    let clouds = format!(
        "clouds:\n  x:\n    auth:\n      auth_url: http://127.0.0.1:1/v3\n      username: u\n      password: \"{PASSWORD}\n      project_name: p\n"
    );
    let secure = format!("clouds:\n  x:\n    auth:\n      password: \"{PASSWORD}\n");
    let good = "clouds:\n  x:\n    auth:\n      auth_url: http://127.0.0.1:1/v3\n      username: u\n      project_name: p\n";
    for (name, world, file) in [
        (
            "clouds.yaml",
            World::new().file("/work/cluster/clouds.yaml", &clouds),
            "/work/cluster/clouds.yaml",
        ),
        (
            "secure.yaml",
            World::new()
                .file("/work/cluster/clouds.yaml", good)
                .file("/work/cluster/secure.yaml", &secure),
            "/work/cluster/secure.yaml",
        ),
    ] {
        let e = world.resolve(Some("x")).unwrap_err();
        let text = format!("{e}\n{}", e.hint());
        assert!(matches!(e, AuthError::BadFile { .. }), "{name}: {e:?}");
        assert!(
            !text.contains(PASSWORD),
            "{name}: the password was shown:\n{text}"
        );
        assert!(
            names_line_and_column(&text, file),
            "{name}: must name file:line:column:\n{text}"
        );
    }

    // The binary, from a directory holding the files, prints the same on stderr.
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("c");
    let new = std::process::Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(["new", spec.to_str().unwrap(), "--profile", "openstack-ha"])
        .output()
        .unwrap();
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
    for (clouds_text, secure_text, bad) in [
        (clouds.as_str(), None, "clouds.yaml"),
        (good, Some(secure.as_str()), "secure.yaml"),
    ] {
        std::fs::write(dir.path().join("clouds.yaml"), clouds_text).unwrap();
        let _ = std::fs::remove_file(dir.path().join("secure.yaml"));
        if let Some(s) = secure_text {
            std::fs::write(dir.path().join("secure.yaml"), s).unwrap();
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_k8sgen"))
            .current_dir(dir.path())
            .args(["status", "--provider", "openstack", "--cloud", "x", "-f"])
            .arg(spec.join("cluster.yaml"))
            .env("HOME", dir.path())
            .env_remove("OS_CLOUD")
            .env_remove("OS_AUTH_URL")
            .env_remove("OS_CLIENT_CONFIG_FILE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad}: {stderr}");
        assert!(
            !stderr.contains(PASSWORD),
            "{bad}: the password was printed:\n{stderr}"
        );
        let path = dir.path().join(bad);
        assert!(
            names_line_and_column(&stderr, path.to_str().unwrap()),
            "{bad}: stderr must name the file, line and column:\n{stderr}"
        );
    }
}

/// Whether `text` holds `file:LINE:COLUMN:`.
fn names_line_and_column(text: &str, file: &str) -> bool {
    text.match_indices(&format!("{file}:")).any(|(at, m)| {
        let rest = &text[at + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let digits = |s: Option<&str>| {
            s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        };
        digits(parts.next()) && digits(parts.next()) && parts.next().is_some()
    })
}

/// Issue 12 item 5: `up` works in the spec's region, which OCCM on the nodes uses too.
/// Whatever the client configuration names must agree with it, as openstacksdk checks a
/// requested region against a cloud's `regions`/`region_name` ("Region X is not a valid
/// region name for cloud Y"), and `OS_REGION_NAME` counts with `OS_CLOUD` as it does for
/// python-openstackclient (`--os-region-name` defaults to it).
#[test]
fn the_region_is_the_specs_and_the_client_configuration_must_agree() {
    let secure = "clouds:\n  mycloud:\n    auth:\n      password: pw\n";
    let w = World::new()
        .file("/work/cluster/clouds.yaml", CLOUDS)
        .file("/etc/openstack/secure.yaml", secure);
    let mycloud = w.resolve(Some("mycloud")).unwrap();
    assert_eq!(auth::check_region(&mycloud, "RegionTwo"), Ok(()));
    let e = auth::check_region(&mycloud, "RegionOne").unwrap_err();
    assert_eq!(
        e.to_string(),
        "`region_name` of /work/cluster/clouds.yaml: mycloud is RegionTwo, but the spec's \
         cloud.openstack.region is RegionOne"
    );
    assert!(e.hint().contains("OCCM"), "{}", e.hint());

    // OS_REGION_NAME with OS_CLOUD, and a cloud entry that names no region.
    let w = World::new()
        .env("OS_REGION_NAME", "RegionOne")
        .file("/work/cluster/clouds.yaml", CLOUDS)
        .file("/etc/openstack/secure.yaml", secure);
    // secure.yaml holds only mycloud: appcred stays as clouds.yaml has it. (Regression: an
    // overlay without the cloud's entry wiped it: "username is missing".)
    let appcred = w.resolve(Some("appcred")).unwrap();
    assert_eq!(auth::check_region(&appcred, "RegionOne"), Ok(()));
    assert_eq!(
        auth::check_region(&appcred, "RegionTwo")
            .unwrap_err()
            .to_string(),
        "OS_REGION_NAME is RegionOne, but the spec's cloud.openstack.region is RegionTwo"
    );
    // ... and against a clouds.yaml region_name: both must be the spec's.
    let both = w.resolve(Some("mycloud")).unwrap();
    assert!(auth::check_region(&both, "RegionOne").is_err());
    assert!(auth::check_region(&both, "RegionTwo").is_err());

    // A `regions` list, of names or of mappings with a name.
    let listed = World::new()
        .file(
            "/work/cluster/clouds.yaml",
            "clouds:\n  multi:\n    regions: [RegionOne, {name: RegionTwo, values: {}}]\n    \
             auth: {auth_url: 'https://k.example/v3', application_credential_id: a, \
             application_credential_secret: b}\n    auth_type: v3applicationcredential\n",
        )
        .resolve(Some("multi"))
        .unwrap();
    assert_eq!(auth::check_region(&listed, "RegionTwo"), Ok(()));
    assert_eq!(
        auth::check_region(&listed, "RegionThree")
            .unwrap_err()
            .to_string(),
        "`regions` of /work/cluster/clouds.yaml: multi is RegionOne, RegionTwo, but the spec's \
         cloud.openstack.region is RegionThree"
    );

    // OS_* variables alone.
    let openrc = World::new()
        .env("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
        .env("OS_APPLICATION_CREDENTIAL_ID", "a")
        .env("OS_APPLICATION_CREDENTIAL_SECRET", "b")
        .env("OS_AUTH_TYPE", "v3applicationcredential")
        .env("OS_REGION_NAME", "RegionTwo")
        .resolve(None)
        .unwrap();
    assert!(auth::check_region(&openrc, "RegionOne").is_err());
    assert_eq!(auth::check_region(&openrc, "RegionTwo"), Ok(()));
}

/// The legacy spellings clouds.yaml and openrc files still carry: `publicURL`,
/// `endpoint_type`, `OS_ENDPOINT_TYPE` (openstacksdk accepts them all).
#[test]
fn legacy_interface_spellings_are_understood() {
    let entry = |extra: &str| {
        format!(
            "clouds:\n  c:\n{extra}    auth_type: v3applicationcredential\n    auth: {{auth_url: 'https://k.example/v3', application_credential_id: a, application_credential_secret: b}}\n"
        )
    };
    let interface = |extra: &str, env: &[(&str, &str)]| {
        let mut w = World::new().file("/work/cluster/clouds.yaml", &entry(extra));
        for (k, v) in env {
            w = w.env(k, v);
        }
        w.resolve(Some("c")).unwrap().interface
    };
    assert_eq!(interface("", &[]), "public");
    assert_eq!(interface("    interface: publicURL\n", &[]), "public");
    assert_eq!(interface("    interface: internal\n", &[]), "internal");
    assert_eq!(
        interface("    endpoint_type: internalURL\n", &[]),
        "internal"
    );
    assert_eq!(interface("    interface: adminURL\n", &[]), "admin");
    let openrc = |vars: &[(&str, &str)]| {
        let mut w = World::new()
            .env("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
            .env("OS_AUTH_TYPE", "v3applicationcredential")
            .env("OS_APPLICATION_CREDENTIAL_ID", "a")
            .env("OS_APPLICATION_CREDENTIAL_SECRET", "b");
        for (k, v) in vars {
            w = w.env(k, v);
        }
        w.resolve(None).unwrap().interface
    };
    assert_eq!(openrc(&[("OS_ENDPOINT_TYPE", "internalURL")]), "internal");
    assert_eq!(openrc(&[("OS_INTERFACE", "admin")]), "admin");
}

/// With no region to go by, a catalog offering a service in several regions is ambiguous:
/// the first one listed is not an answer. Nor is one region listing two URLs for one service.
#[test]
fn an_ambiguous_catalog_is_refused_with_what_it_offers() {
    let services: Vec<Service> = serde_json::from_value(json!([
        {"type": "compute", "endpoints": [
            {"interface": "public", "region": "RegionOne", "url": "http://one:8774/v2.1"},
            {"interface": "public", "region": "RegionTwo", "url": "https://two:8774/v2.1"}]},
        {"type": "network", "endpoints": [
            {"interface": "public", "region": "RegionOne", "url": "http://one:9696"},
            {"interface": "public", "region": "RegionOne", "url": "http://other:9696"},
            {"interface": "public", "region": "RegionTwo", "url": "http://two:9696/"},
            {"interface": "public", "region": "RegionTwo", "url": "http://two:9696"}]},
    ]))
    .unwrap();
    let e = catalog::endpoint(&services, "compute", None, "public").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the catalog has 2 public `compute` endpoints: http://one:8774/v2.1 (RegionOne), \
         https://two:8774/v2.1 (RegionTwo)"
    );
    let e = catalog::endpoint(&services, "network", Some("RegionOne"), "public").unwrap_err();
    assert!(
        e.to_string()
            .contains("2 public `network` endpoints in region RegionOne"),
        "{e}"
    );
    // The same URL twice (with and without a slash) is one endpoint.
    assert_eq!(
        catalog::endpoint(&services, "network", Some("RegionTwo"), "public").unwrap(),
        "http://two:9696"
    );
}

const TLS_CLOUDS: &str = "
clouds:
  private-ca:
    auth: {auth_url: https://k:5000/v3, application_credential_id: a, application_credential_secret: s}
    auth_type: v3applicationcredential
    cacert: ~/certs/ca.pem
    cert: client.pem
    key: /etc/k8sgen/client.key
  off:
    auth: {auth_url: https://k:5000/v3, application_credential_id: a, application_credential_secret: s}
    auth_type: v3applicationcredential
    verify: false
  insecure-wins:
    auth: {auth_url: https://k:5000/v3, application_credential_id: a, application_credential_secret: s}
    auth_type: v3applicationcredential
    verify: true
    insecure: 'True'
    cacert: /etc/ca.pem
  verify-path:
    auth: {auth_url: https://k:5000/v3, application_credential_id: a, application_credential_secret: s}
    auth_type: v3applicationcredential
    verify: /etc/ssl/cloud.pem
  typo:
    auth: {auth_url: https://k:5000/v3, application_credential_id: a, application_credential_secret: s}
    auth_type: v3applicationcredential
    insecure: treu
";

/// Issue 12 (m6): `cacert` with `~`, `cert`/`key`, `verify: false` and `insecure` as
/// openstacksdk's `get_requests_verify_args` has them; relative paths from the working
/// directory, where requests opens them.
#[test]
fn clouds_yaml_tls_settings() {
    let w = World::new().file("/work/cluster/clouds.yaml", TLS_CLOUDS);
    let tls = w.resolve(Some("private-ca")).unwrap().tls;
    assert!(tls.verify);
    assert_eq!(
        tls.cacert.as_deref(),
        Some(Path::new("/home/op/certs/ca.pem"))
    );
    assert_eq!(
        tls.cert.as_deref(),
        Some(Path::new("/work/cluster/client.pem"))
    );
    assert_eq!(
        tls.key.as_deref(),
        Some(Path::new("/etc/k8sgen/client.key"))
    );
    assert!(tls.warnings("x").is_empty());

    let off = w.resolve(Some("off")).unwrap();
    assert!(!off.tls.verify);
    assert_eq!(
        off.tls.warnings(&off.source),
        vec![
            "TLS certificate verification is off for /work/cluster/clouds.yaml: off (verify: false): \
             the cloud's identity is not checked, so whoever sits between here and it can read the credentials"
        ]
    );

    let wins = w.resolve(Some("insecure-wins")).unwrap();
    assert!(!wins.tls.verify, "insecure wins over verify: true");
    let warnings = wins.tls.warnings(&wins.source);
    assert!(warnings[0].contains("(insecure: true)"), "{warnings:?}");
    assert_eq!(
        warnings[1],
        "/work/cluster/clouds.yaml: insecure-wins: cacert /etc/ca.pem is ignored while verification is off"
    );

    let path = w.resolve(Some("verify-path")).unwrap().tls;
    assert!(path.verify);
    assert_eq!(
        path.cacert.as_deref(),
        Some(Path::new("/etc/ssl/cloud.pem"))
    );

    let e = w.resolve(Some("typo")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/work/cluster/clouds.yaml: typo: `insecure` is \"treu\", not a boolean"
    );
    assert_eq!(e.hint(), "write true or false");
}

/// `OS_INSECURE`, `OS_CACERT`, `OS_CERT`, `OS_KEY` with the `OS_*` cloud; like openstacksdk,
/// not with a clouds.yaml entry (its own keys say how).
#[test]
fn os_variables_tls_settings() {
    let base = || {
        World::new()
            .env("OS_AUTH_URL", "https://k:5000/v3")
            .env("OS_AUTH_TYPE", "v3applicationcredential")
            .env("OS_APPLICATION_CREDENTIAL_ID", "a")
            .env("OS_APPLICATION_CREDENTIAL_SECRET", "s")
    };
    let tls = base()
        .env("OS_CACERT", "ca.pem")
        .env("OS_CERT", "~/c.pem")
        .env("OS_KEY", "~/c.key")
        .resolve(None)
        .unwrap()
        .tls;
    assert!(tls.verify);
    assert_eq!(
        tls.cacert.as_deref(),
        Some(Path::new("/work/cluster/ca.pem"))
    );
    assert_eq!(tls.cert.as_deref(), Some(Path::new("/home/op/c.pem")));
    assert_eq!(tls.key.as_deref(), Some(Path::new("/home/op/c.key")));
    for yes in ["true", "1", "yes", "TRUE"] {
        let cloud = base().env("OS_INSECURE", yes).resolve(None).unwrap();
        assert!(!cloud.tls.verify, "OS_INSECURE={yes}");
        assert!(cloud.tls.warnings(&cloud.source)[0].contains("OS_* variables (OS_INSECURE)"));
    }
    for no in ["false", "0", "no", ""] {
        assert!(
            base()
                .env("OS_INSECURE", no)
                .resolve(None)
                .unwrap()
                .tls
                .verify,
            "OS_INSECURE={no}"
        );
    }
    let e = base().env("OS_INSECURE", "on").resolve(None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "OS_* variables: `OS_INSECURE` is \"on\", not a boolean"
    );

    let from_file = World::new()
        .file("/work/cluster/clouds.yaml", CLOUDS)
        .env("OS_INSECURE", "true")
        .env("OS_CACERT", "/etc/ca.pem")
        .resolve(Some("appcred"))
        .unwrap();
    assert_eq!(
        from_file.tls,
        Tls {
            ignored_env: vec!["OS_CACERT", "OS_INSECURE"],
            ..Tls::default()
        },
        "OS_* TLS variables stay with the OS_* cloud"
    );
    // ...and the operator hears so: the `openstack` CLI would have applied OS_CACERT.
    assert_eq!(
        from_file.tls.warnings(&from_file.source),
        [
            "OS_CACERT, OS_INSECURE ignored: /work/cluster/clouds.yaml: appcred is a clouds.yaml \
          entry, whose own cacert / verify / cert / key settings count (as in openstacksdk); set \
          them in the entry"
        ]
    );
}

/// A TLS file that cannot be used is named, with the field it came from and a hint; a key's
/// bytes never show.
#[test]
fn unusable_tls_files_are_named() {
    use k8sgen::providers::openstack::keystone::{self, KeystoneError};
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let key = dir.path().join("client.key");
    // Not a real key (assembled, so no tracked file holds a key block).
    let block = |edge: &str| format!("-----{edge} {} KEY-----\n", "PRIVATE");
    let fake_key = format!(
        "{}c2VjcmV0LWtleS1ieXRlcw==\n{}",
        block("BEGIN"),
        block("END")
    );
    std::fs::write(&key, fake_key).unwrap();
    let cloud = |tls: &str| {
        let clouds = format!(
            "clouds:\n  c:\n    auth_type: v3applicationcredential\n    auth: {{auth_url: https://k/v3, application_credential_id: a, application_credential_secret: s}}\n{tls}"
        );
        World::new()
            .file("/work/cluster/clouds.yaml", &clouds)
            .resolve(Some("c"))
            .unwrap()
    };
    let error = |tls: &str| match keystone::http_client(&cloud(tls)) {
        Err(KeystoneError::TlsFile(e)) => (e.to_string(), e.hint()),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted {tls}"),
    };
    let (missing, hint) = error("    cacert: /nonexistent/ca.pem\n");
    assert!(
        missing.starts_with(
            "/work/cluster/clouds.yaml: c: cannot use cacert /nonexistent/ca.pem: No such file"
        ),
        "{missing}"
    );
    assert!(hint.starts_with("cacert / OS_CACERT must name a PEM file"));
    let (empty, _) = error(&format!("    cacert: {}\n", not_pem.display()));
    assert_eq!(
        empty,
        format!(
            "/work/cluster/clouds.yaml: c: cannot use cacert {}: no PEM certificate in it",
            not_pem.display()
        )
    );
    // A certificate file without a certificate: refused, and the key is not quoted.
    let (bad_cert, hint) = error(&format!(
        "    cert: {}\n    key: {}\n",
        not_pem.display(),
        key.display()
    ));
    assert!(
        bad_cert.starts_with(&format!(
            "/work/cluster/clouds.yaml: c: cannot use cert {}: ",
            not_pem.display()
        )),
        "{bad_cert}"
    );
    assert!(!bad_cert.contains("c2VjcmV0"), "{bad_cert}");
    assert!(hint.starts_with("cert / OS_CERT must name a PEM file"));
    // Verification off: the CA file is not even read.
    assert!(
        keystone::http_client(&cloud(
            "    cacert: /nonexistent/ca.pem\n    verify: false\n"
        ))
        .is_ok()
    );
}
