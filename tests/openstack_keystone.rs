//! The Keystone client against a real Keystone v3 on 127.0.0.1 (tests/openstack/rig.sh start-keystone:
//! Debian's keystone under uwsgi, MariaDB on a unix socket): password, token and
//! application-credential authentication, the catalog, and the errors an operator sees.

mod common;

use common::require;
use k8sgen::providers::openstack::Sensitive;
use k8sgen::providers::openstack::auth::{self, Cloud, Method, Named};
use k8sgen::providers::openstack::catalog;
use k8sgen::providers::openstack::keystone::{self, KeystoneError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Rig(PathBuf);

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.0)
            .status();
    }
}

fn script() -> PathBuf {
    common::root().join("tests/openstack/rig.sh")
}

fn from_env(vars: &[(&str, &str)]) -> Cloud {
    let env: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    auth::resolve(
        None,
        &|k| env.get(k).cloned(),
        &|_: &Path| None,
        Path::new("/nonexistent"),
    )
    .unwrap()
}

#[test]
fn keystone_v3_for_real() {
    for tool in ["keystone-manage", "uwsgi", "mariadbd", "curl"] {
        require(tool);
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("keystone");
    let port = common::free_port();
    let _rig = Rig(state.clone());
    let started = Command::new("bash")
        .arg(script())
        .arg("start-keystone")
        .arg(&state)
        .arg(port.to_string())
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "rig: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let auth_url = format!("http://127.0.0.1:{port}/v3");

    // Password, from OS_* variables as an openrc file sets them.
    let admin = from_env(&[
        ("OS_AUTH_URL", &auth_url),
        ("OS_USERNAME", "admin"),
        ("OS_PASSWORD", "adminpw"),
        ("OS_PROJECT_NAME", "admin"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
        ("OS_REGION_NAME", "RegionOne"),
    ]);
    let http = keystone::http_client(&admin).unwrap();
    let session = keystone::authenticate(&http, &admin).unwrap();
    assert!(session.token.expose().len() > 20);
    assert!(session.project_id.is_some());
    assert_eq!(
        catalog::endpoint(&session.catalog, "identity", Some("RegionOne"), "public").unwrap(),
        auth_url
    );
    let missing =
        catalog::endpoint(&session.catalog, "compute", Some("RegionOne"), "public").unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("no public `compute` endpoint in region RegionOne; it offers: identity/"),
        "{missing}"
    );

    // The token method, scoped to the same project.
    let project = session.project_id.clone().unwrap();
    let by_token = Cloud {
        method: Method::Token {
            token: session.token.clone(),
            project: Named::Id(project.clone()),
        },
        ..admin.clone()
    };
    assert_eq!(
        keystone::authenticate(&http, &by_token)
            .unwrap()
            .project_id
            .as_deref(),
        Some(project.as_str())
    );

    // An application credential, made through the API, then used as clouds.yaml would.
    let created = http
        .post(format!(
            "{auth_url}/users/{}/application_credentials",
            session.user_id
        ))
        .header("X-Auth-Token", session.token.expose())
        .json(&serde_json::json!({"application_credential": {"name": "k8sgen-test"}}))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: serde_json::Value = created.json().unwrap();
    let clouds = format!(
        "clouds:\n  test:\n    auth_type: v3applicationcredential\n    region_name: RegionOne\n    auth:\n      auth_url: {auth_url}\n      application_credential_id: {}\n      application_credential_secret: {}\n",
        created["application_credential"]["id"].as_str().unwrap(),
        created["application_credential"]["secret"]
            .as_str()
            .unwrap()
    );
    let cloud = auth::resolve(
        Some("test"),
        &|_| None,
        &|p: &Path| (p == Path::new("/cluster/clouds.yaml")).then(|| clouds.clone()),
        Path::new("/cluster"),
    )
    .unwrap();
    let app = keystone::authenticate(&http, &cloud).unwrap();
    assert_eq!(
        app.project_id.as_deref(),
        Some(project.as_str()),
        "scoped to the credential's project"
    );

    // A wrong password: 401, named by its source, and the password is not in the message.
    let wrong = Cloud {
        method: match &admin.method {
            Method::Password { user, project, .. } => Method::Password {
                user: user.clone(),
                password: Sensitive::new("not-the-password"),
                project: project.clone(),
            },
            other => other.clone(),
        },
        ..admin.clone()
    };
    let err = keystone::authenticate(&http, &wrong).unwrap_err();
    assert!(matches!(err, KeystoneError::Unauthorized { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "Keystone refused the credentials from OS_* variables (401 Unauthorized)"
    );
    assert!(!format!("{err} {err:?} {}", err.hint()).contains("not-the-password"));

    // Nothing listening: a clear "cannot reach".
    let closed = Cloud {
        auth_url: format!("http://127.0.0.1:{}/v3", common::free_port()),
        ..admin.clone()
    };
    let err = keystone::authenticate(&http, &closed).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot reach Keystone at http://127.0.0.1:"),
        "{err}"
    );
}
