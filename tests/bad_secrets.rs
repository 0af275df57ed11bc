//! Every file under `tests/bad-secrets/` must be refused as a secrets bundle with exactly
//! the message pinned in its `.err` file (re-bless with K8SGEN_BLESS=1 after reviewing the
//! wording): no input there makes k8sgen panic, each message names the file, and
//! `k8sgen secrets show` on it fails with that message and prints no secret.

mod common;

use common::*;

#[test]
fn bad_bundles_fail_with_pinned_messages() {
    check_pinned_errors("bad-secrets", 10, |file, text| {
        k8sgen::pki::Secrets::from_yaml(file, text)
            .map(drop)
            .map_err(|e| e.to_string())
    });
    for (file, path) in yaml_inputs("bad-secrets") {
        let pinned = std::fs::read_to_string(path.with_extension("err")).unwrap_or_default();
        assert!(pinned.contains("\n    hint: "), "{file}: no hint: {pinned}");
    }
}

#[test]
fn secrets_show_on_a_bad_bundle_says_which_file_and_why() {
    let fixture = fixture();
    let key_line = fixture
        .cluster_ca
        .key
        .expose()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    for (file, path) in yaml_inputs("bad-secrets") {
        let out = k8sgen(&["secrets", "show", "--secrets", &file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(out.stdout.is_empty(), "{file}");
        let pinned = std::fs::read_to_string(path.with_extension("err")).unwrap();
        assert!(
            stderr.contains(pinned.trim_end()),
            "{file}: `secrets show` must print the pinned message, printed:\n{stderr}"
        );
        // 10-key-before-syntax-error.yaml holds the fixture's cluster-CA key a few lines
        // above a YAML error: a parser's snippet of the lines around the error would quote
        // `key_line` (issue 12, item 9).
        for secret in [key_line.as_str(), fixture.bootstrap_token.secret.expose()] {
            assert!(!stderr.contains(secret), "{file}: a secret was printed");
        }
    }
}
