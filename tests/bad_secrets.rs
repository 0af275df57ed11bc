//! Every file under `tests/bad-secrets/` must be refused as a secrets bundle with exactly
//! the message pinned in its `.err` file (re-bless with K8SGEN_BLESS=1 after reviewing the
//! wording): no input there makes k8sgen panic, each message names the file, and
//! `k8sgen secrets show` on it fails with that message and prints no secret.

mod common;

use common::*;

fn bad_bundles() -> Vec<(String, std::path::PathBuf)> {
    let dir = root().join("tests/bad-secrets");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "only {} bad bundles", paths.len());
    paths
        .into_iter()
        .map(|p| {
            let name = format!(
                "tests/bad-secrets/{}",
                p.file_name().unwrap().to_string_lossy()
            );
            (name, p)
        })
        .collect()
}

#[test]
fn bad_bundles_fail_with_pinned_messages() {
    let mut failures = Vec::new();
    for (file, path) in bad_bundles() {
        let text = std::fs::read_to_string(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| k8sgen::pki::Bundle::from_yaml(&file, &text));
        let message = match outcome {
            Err(_) => {
                failures.push(format!("{file}: k8sgen panicked"));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!("{file}: accepted, but it is a bad bundle"));
                continue;
            }
            Ok(Err(e)) => format!("{e}\n"),
        };
        assert!(
            message.starts_with(&file),
            "{file}: the error must name the file: {message}"
        );
        assert!(message.contains("hint: "), "{file}: no hint: {message}");
        if let Err(e) = check_golden(&path.with_extension("err"), &message) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
    for (file, path) in bad_bundles() {
        let out = k8sgen(&["secrets", "show", "--secrets", &file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(out.stdout.is_empty(), "{file}");
        let pinned = std::fs::read_to_string(path.with_extension("err")).unwrap();
        assert!(
            stderr.contains(pinned.trim_end()),
            "{file}: `secrets show` must print the pinned message, printed:\n{stderr}"
        );
        for secret in [key_line.as_str(), fixture.bootstrap_token.secret.expose()] {
            assert!(!stderr.contains(secret), "{file}: a secret was printed");
        }
    }
}
