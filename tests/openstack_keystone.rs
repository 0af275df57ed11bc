//! The Keystone client against a real Keystone v3 on 127.0.0.1 (tests/openstack/rig.sh start-keystone:
//! Debian's keystone under uwsgi, MariaDB on a unix socket): password, token and
//! application-credential authentication, the catalog, and the errors an operator sees; then
//! the same Keystone over TLS (the rig's TLS front and private CA): trusted through
//! `OS_CACERT`, refused without it, reached with `OS_INSECURE` and a warning.

mod common;

use common::require;
use k8sgen::providers::openstack::Sensitive;
use k8sgen::providers::openstack::api::{Api, Endpoints, Service};
use k8sgen::providers::openstack::auth::{self, Cloud, Method, Named};
use k8sgen::providers::openstack::catalog;
use k8sgen::providers::openstack::keystone::{self, KeystoneError, Session};
use k8sgen::providers::openstack::renewal::Tokens;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

/// Keystone alone, its tokens living `token_seconds`, with a TLS front and one requiring a
/// client certificate; stopped when `rig` drops.
struct Started {
    rig: Rig,
    auth_url: String,
    tls_port: u16,
    mtls_port: u16,
}

fn start_keystone(dir: &Path, token_seconds: u32) -> Started {
    for tool in ["keystone-manage", "uwsgi", "mariadbd", "curl"] {
        require(tool);
    }
    let state = dir.join("keystone");
    let port = common::free_port();
    let tls_port = common::free_port();
    let mtls_port = common::free_port();
    let rig = Rig(state.clone());
    let started = Command::new("bash")
        .arg(script())
        .arg("start-keystone")
        .arg(&state)
        .arg(port.to_string())
        .arg(tls_port.to_string())
        .arg(mtls_port.to_string())
        .env("TOKEN_SECONDS", token_seconds.to_string())
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "rig ({}): {}{}",
        started.status,
        String::from_utf8_lossy(&started.stdout),
        String::from_utf8_lossy(&started.stderr)
    );
    Started {
        rig,
        auth_url: format!("http://127.0.0.1:{port}/v3"),
        tls_port,
        mtls_port,
    }
}

#[test]
fn keystone_v3_for_real() {
    let dir = tempfile::tempdir().unwrap();
    let keystone = start_keystone(dir.path(), 3600);
    let (state, auth_url) = (keystone.rig.0.clone(), keystone.auth_url.clone());

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

    over_tls(&state, keystone.tls_port);
    client_certificate(&state, keystone.mtls_port);
}

/// The rig's admin as `OS_*` variables against `auth_url`, with `extra` variables on top.
fn admin_over_tls(auth_url: &str, extra: &[(&str, &str)]) -> Cloud {
    let mut vars = vec![
        ("OS_AUTH_URL", auth_url),
        ("OS_USERNAME", "admin"),
        ("OS_PASSWORD", "adminpw"),
        ("OS_PROJECT_NAME", "admin"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
    ];
    vars.extend_from_slice(extra);
    from_env(&vars)
}

fn login(cloud: &Cloud) -> Result<Session, KeystoneError> {
    let http = keystone::http_client(cloud).unwrap();
    keystone::authenticate(&http, cloud)
}

/// Issue 12 (m6): Keystone behind the rig's TLS front, certified by the rig's own CA.
fn over_tls(state: &Path, tls_port: u16) {
    let auth_url = format!("https://127.0.0.1:{tls_port}/v3");
    let home = state.display().to_string();
    let with = |extra: &[(&str, &str)]| {
        admin_over_tls(&auth_url, &[&[("HOME", home.as_str())], extra].concat())
    };

    // The rig's CA, by a path under `~`: trusted, and nothing to warn about.
    let trusted = with(&[("OS_CACERT", "~/ca.pem")]);
    assert_eq!(
        trusted.tls.cacert.as_deref(),
        Some(state.join("ca.pem").as_path())
    );
    assert!(trusted.tls.warnings(&trusted.source).is_empty());
    let session = login(&trusted).unwrap();
    assert!(session.project_id.is_some());

    // Without it: the server's certificate is refused, and the hint says what to set.
    let err = login(&with(&[])).unwrap_err();
    assert!(matches!(err, KeystoneError::Untrusted { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot trust Keystone at {auth_url}/auth/tokens: "
        )),
        "{text}"
    );
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(
        err.hint()
            .starts_with("set cacert (clouds.yaml) or OS_CACERT to the CA")
    );
    assert!(!format!("{err} {err:?}").contains("adminpw"));

    // OS_INSECURE: reached without checking, and the warning says so.
    let insecure = with(&[("OS_INSECURE", "true")]);
    assert!(login(&insecure).is_ok());
    let warnings = insecure.tls.warnings(&insecure.source);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .starts_with("TLS certificate verification is off for OS_* variables (OS_INSECURE)"),
        "{warnings:?}"
    );
}

/// A front that requires a client certificate: `OS_CERT` with `OS_KEY`, or both in one file,
/// get through; without one the handshake fails.
fn client_certificate(state: &Path, port: u16) {
    let tls = state.join("tls");
    let combined = state.join("client-with-key.pem");
    let (cert, key) = (tls.join("client.pem"), tls.join("client.key"));
    let pem = std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&key).unwrap();
    std::fs::write(&combined, pem).unwrap();
    let auth_url = format!("https://127.0.0.1:{port}/v3");
    let ca = state.join("ca.pem");
    let with = |extra: &[(&str, &str)]| {
        let cloud = admin_over_tls(
            &auth_url,
            &[&[("OS_CACERT", ca.to_str().unwrap())], extra].concat(),
        );
        login(&cloud)
    };
    let (cert, key, combined) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        combined.to_str().unwrap(),
    );
    assert!(with(&[("OS_CERT", cert), ("OS_KEY", key)]).is_ok());
    assert!(
        with(&[("OS_CERT", combined)]).is_ok(),
        "cert and key in one file"
    );
    let err = with(&[]).unwrap_err();
    assert!(
        matches!(err, KeystoneError::ClientCertificate { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "Keystone at {auth_url}/auth/tokens accepted no client certificate from here: error sending request for url ({auth_url}/auth/tokens): client error (SendRequest): connection error: received fatal alert: CertificateRequired"
        )
    );
    assert!(
        err.hint()
            .starts_with("set cert and key (clouds.yaml) or OS_CERT and OS_KEY")
    );
}

/// An `Api` whose "compute" endpoint is Keystone itself: `GET /auth/projects` needs a valid
/// token like any service call, and Keystone answers an expired one with 401 as Nova does.
fn api_on_keystone(http: reqwest::blocking::Client, tokens: Tokens, auth_url: &str) -> Api {
    Api::new(
        http,
        tokens,
        Endpoints::new(auth_url.into(), auth_url.into(), auth_url.into()),
    )
}

fn projects(api: &Api) -> Result<serde_json::Value, String> {
    api.get(Service::Compute, "/auth/projects")
        .map_err(|e| e.to_string())
}

/// Regression: one token served a whole run, so anything longer than Keystone's token life
/// (3600 s, `up`'s default --timeout) ended in 401. Here tokens live 8 s.
#[test]
fn a_run_outlives_keystones_token_life() {
    let dir = tempfile::tempdir().unwrap();
    let keystone = start_keystone(dir.path(), 8);
    let auth_url = keystone.auth_url.clone();
    let cloud = from_env(&[
        ("OS_AUTH_URL", &auth_url),
        ("OS_USERNAME", "admin"),
        ("OS_PASSWORD", "adminpw"),
        ("OS_PROJECT_NAME", "admin"),
    ]);
    let http = keystone::http_client(&cloud).unwrap();
    let session = keystone::authenticate(&http, &cloud).unwrap();
    let life = session.expires_at.unwrap() - session.issued_at.unwrap();
    assert_eq!(life.whole_seconds(), 8, "Keystone's [token] expiration");
    let renew = || {
        let (http, cloud) = (http.clone(), cloud.clone());
        Box::new(move || keystone::authenticate(&http, &cloud))
            as k8sgen::providers::openstack::renewal::Renew
    };

    // Before expiry: renewed at half its life, so no request is ever refused.
    let ahead = api_on_keystone(http.clone(), Tokens::renewing(&session, renew()), &auth_url);
    // Knowing no expiry: renewed only when a request is refused, then sent again.
    let unaware = Session {
        expires_at: None,
        ..session.clone()
    };
    let on_401 = api_on_keystone(http.clone(), Tokens::renewing(&unaware, renew()), &auth_url);
    // Never renewed: what every run did before.
    let fixed = api_on_keystone(
        http.clone(),
        Tokens::fixed(session.token.clone()),
        &auth_url,
    );

    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(12) {
        projects(&ahead).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(ahead.token_renewals() >= 2, "{}", ahead.token_renewals());

    projects(&on_401).unwrap();
    assert_eq!(on_401.token_renewals(), 1);
    assert_eq!(
        on_401.calls().0,
        2,
        "the refused request and its second try"
    );

    let refused = projects(&fixed).unwrap_err();
    assert!(refused.contains("answered 401"), "{refused}");
}
