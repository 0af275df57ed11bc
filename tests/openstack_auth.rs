//! OpenStack credentials without a network: clouds.yaml lookup order and secure.yaml overlay,
//! `OS_*` variables, the three Keystone v3 token request bodies (reference §8 shapes),
//! catalog endpoint selection, and the error texts an operator sees.

use k8sgen::providers::openstack::auth::{
    self, AuthError, Domain, Method, Named, Origin, Selection,
};
use k8sgen::providers::openstack::catalog::{self, Service};
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
    assert_eq!(cloud.region.as_deref(), Some("RegionTwo"));
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
        (cloud.region.as_deref(), cloud.interface.as_str()),
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
         compute/internal/RegionOne, compute/public/RegionOne, compute/public/RegionTwo, network/public/-"
    );
}
