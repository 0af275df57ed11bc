//! No secret is tracked in git. The only private keys and bootstrap token a tracked file may
//! hold are the test fixture's (`tests/fixtures/secrets.yaml`, marked `testOnly`), which the
//! goldens are rendered from. Everything else — a committed render output, a real secrets
//! bundle, a kubeconfig — fails this test, also when the secret is hidden inside base64,
//! gzip+base64 or a percent-encoded data URL (as kubeconfigs and Ignition files carry them).

mod common;

use base64::Engine;
use std::collections::BTreeSet;
use std::io::Read;
use std::process::Command;

/// Every text reachable from `text` by the encodings k8sgen writes: itself, its
/// percent-decoding, and the base64 (optionally gzip) payloads inside it, recursively.
fn views(text: &str, depth: u32, out: &mut Vec<String>) {
    out.push(text.to_string());
    if depth == 0 {
        return;
    }
    if text.contains('%') {
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
        if decoded != text {
            views(&decoded, depth - 1, out);
        }
    }
    for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c))) {
        if run.len() < 64 {
            continue;
        }
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(run) else {
            continue;
        };
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            if flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut plain)
                .is_err()
            {
                continue;
            }
            plain
        } else {
            bytes
        };
        if let Ok(inner) = String::from_utf8(bytes) {
            views(&inner, depth - 1, out);
        }
    }
}

/// PEM private-key bodies (whitespace removed) found in `text`.
fn private_keys(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(header_end) = after.find("-----") else {
            break;
        };
        let label = &after[..header_end];
        let body = &after[header_end + 5..];
        let Some(end) = body.find("-----END ") else {
            break;
        };
        if label.ends_with("PRIVATE KEY") {
            found.insert(body[..end].split_whitespace().collect::<String>());
        }
        rest = &body[end..];
    }
    found
}

/// Strings of the bootstrap-token shape `[a-z0-9]{6}.[a-z0-9]{16}` standing alone.
fn tokens(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let is_tok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut found = BTreeSet::new();
    for i in 0..b.len() {
        if b[i] != b'.' || i < 6 || i + 17 > b.len() {
            continue;
        }
        let (id, secret) = (&b[i - 6..i], &b[i + 1..i + 17]);
        let before = i.checked_sub(7).map(|j| b[j]);
        let after = b.get(i + 17).copied();
        if id.iter().all(|c| is_tok(*c))
            && secret.iter().all(|c| is_tok(*c))
            && !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            found.insert(text[i - 6..i + 17].to_string());
        }
    }
    found
}

fn secrets_in(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut all = Vec::new();
    views(text, 3, &mut all);
    let mut keys = BTreeSet::new();
    let mut toks = BTreeSet::new();
    for v in &all {
        keys.extend(private_keys(v));
        toks.extend(tokens(v));
    }
    (keys, toks)
}

#[test]
fn the_scanner_finds_keys_and_tokens_however_they_are_encoded() {
    // Built from parts, so this file itself holds no key or token for the scan to find.
    let label = ["EC PRIVATE", "KEY"].join(" ");
    let pem = format!("-----BEGIN {label}-----\nMHcCAQEEIabc\n-----END {label}-----\n");
    let token = ["abcdef", "0123456789abcdef"].join(".");
    let b64 = base64::engine::general_purpose::STANDARD.encode(pem.repeat(2));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, format!("token: {token}\n{pem}").as_bytes()).unwrap();
    let gz64 = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    for text in [
        pem.clone(),
        format!("client-key-data: {b64}\n"),
        format!("\"source\": \"data:;base64,{gz64}\""),
        format!("data:,{}", pem.replace('\n', "%0A").replace(' ', "%20")),
    ] {
        let (keys, _) = secrets_in(&text);
        assert_eq!(keys.len(), 1, "{text}");
    }
    let (_, toks) = secrets_in(&format!("x: {gz64}"));
    assert!(toks.contains(&token));
    assert!(tokens("v1.36.4-1.1 sha256:0123456789abcdef").is_empty());
}

#[test]
fn no_tracked_file_holds_a_secret_but_the_fixtures() {
    let root = common::root();
    let listed = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git must be installed: this test reads the tracked files");
    assert!(
        listed.status.success(),
        "git ls-files failed (is this a git checkout?): {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let fixture_text = std::fs::read_to_string(common::fixture_path()).unwrap();
    let fixture = common::fixture();
    let allowed_keys = private_keys(&fixture_text);
    assert!(allowed_keys.len() >= 5, "the fixture's keys were not found");
    let allowed_token = format!(
        "{}.{}",
        fixture.bootstrap_token.id,
        fixture.bootstrap_token.secret.expose()
    );

    let mut problems = Vec::new();
    let mut scanned = 0;
    for path in String::from_utf8(listed.stdout).unwrap().split('\0') {
        if path.is_empty() || path.starts_with("tests/fixtures/") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(path)) else {
            continue; // binary or deleted in the work tree
        };
        scanned += 1;
        let (keys, toks) = secrets_in(&text);
        let foreign_keys = keys.difference(&allowed_keys).count();
        if foreign_keys > 0 {
            problems.push(format!(
                "{path}: {foreign_keys} private key(s) not from the fixture"
            ));
        }
        for t in toks.iter().filter(|t| **t != allowed_token) {
            // Name the token by its public id only.
            problems.push(format!("{path}: bootstrap token {}.****", &t[..6]));
        }
    }
    assert!(scanned > 50, "only {scanned} tracked files read");
    assert!(
        problems.is_empty(),
        "secrets are tracked in git; remove them (and rotate them if they were real):\n{}",
        problems.join("\n")
    );
}
