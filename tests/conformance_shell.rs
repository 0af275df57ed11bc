//! Conformance: every shell script the bundles carry passes `bash -n` and `shellcheck` with
//! no findings (inline disables in the templates say why), including the `sh -c` bodies of
//! unit files, for every profile and for a `bootstrap.stopAfter` variant.

mod common;

use common::*;
use k8sgen::bundle::NodeBundle;
use k8sgen::compile::compile;
use k8sgen::pki::SeededEntropy;
use std::path::Path;
use std::process::Command;

fn check(shell: &str, what: &str, script: &str, dir: &Path) -> Vec<String> {
    let file = dir.join("script");
    std::fs::write(&file, script).unwrap();
    let mut failures = Vec::new();
    let syntax = Command::new(if shell == "bash" { "bash" } else { "sh" })
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    if !syntax.status.success() {
        failures.push(format!(
            "{what}: {shell} -n: {}",
            String::from_utf8_lossy(&syntax.stderr)
        ));
    }
    let lint = Command::new("shellcheck")
        .args(["-s", shell, "-S", "style"])
        .arg(&file)
        .output()
        .unwrap();
    if !lint.status.success() {
        failures.push(format!(
            "{what}: shellcheck:\n{}",
            String::from_utf8_lossy(&lint.stdout)
        ));
    }
    failures
}

fn scripts(b: &NodeBundle) -> Vec<(String, &'static str, String)> {
    let mut out: Vec<_> = b
        .files
        .iter()
        .filter(|f| f.content.starts_with("#!/bin/bash"))
        .map(|f| (f.path.clone(), "bash", f.content.clone()))
        .collect();
    for u in &b.units {
        for line in u.content.lines() {
            if let Some(body) = line
                .split_once("/bin/sh -c '")
                .map(|(_, rest)| rest.trim_end_matches('\''))
            {
                out.push((format!("{} ExecStart", u.name), "sh", format!("{body}\n")));
            }
        }
    }
    out
}

/// openstack-ha with `bootstrap.stopAfter: etcd`.
fn stop_after_etcd() -> k8sgen::compile::Compiled {
    let text = replace_once(
        k8sgen::profiles::find("openstack-ha").unwrap().text,
        "  # stopAfter: etcd ",
        "  stopAfter: etcd ",
    );
    let spec = k8sgen::spec::load("stop", &text).unwrap();
    let mut secrets = fixture();
    let clock = fixture_clock(&secrets);
    compile(
        &spec,
        &mut secrets,
        &|_| None,
        &clock,
        &mut SeededEntropy(1),
        Default::default(),
    )
    .unwrap()
}

#[test]
fn every_script_passes_bash_n_and_shellcheck() {
    require("shellcheck");
    let dir = tempfile::tempdir().unwrap();
    let mut bundles = Vec::new();
    for profile in k8sgen::profiles::PROFILES {
        bundles.extend(compile_profile(profile.name, false).0.bundles);
    }
    // The stopAfter branch of the runner.
    bundles.extend(stop_after_etcd().bundles);
    // The proxy exports and the trusted-CA check of host-prep.
    for c in egress::variants() {
        bundles.extend(c.bundles);
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    for b in &bundles {
        let found = scripts(b);
        assert!(
            found.iter().any(|(p, _, _)| p.ends_with("bootstrap.sh")),
            "{}: no boot script",
            b.node
        );
        for (path, shell, body) in found {
            checked += 1;
            failures.extend(check(
                shell,
                &format!("{} {path}", b.node),
                &body,
                dir.path(),
            ));
        }
    }
    assert!(checked >= 2 * bundles.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shellcheck_flags_a_broken_script() {
    require("shellcheck");
    let dir = tempfile::tempdir().unwrap();
    let failures = check("bash", "broken", "#!/bin/bash\nrm -rf $DIR/*\n", dir.path());
    assert!(!failures.is_empty(), "the linter must be able to fail");
}

#[test]
fn stop_after_stops_after_the_named_step() {
    let compiled = stop_after_etcd();
    let init = &compiled.bundles[0];
    let script = &init
        .files
        .iter()
        .find(|f| f.path.ends_with("bootstrap.sh"))
        .unwrap()
        .content;
    let stop = script.find("stopped after etcd").expect("stop line");
    let etcd = script.find("run_step 5 etcd").unwrap();
    // The next step is the first one that needs Kubernetes binaries.
    let kubernetes = script.find("run_step 6 kubernetes").unwrap();
    assert!(
        etcd < stop && stop < kubernetes,
        "the stop must sit between etcd and kubernetes"
    );
}

#[test]
fn replace_once_refuses_a_missing_or_repeated_text() {
    assert_eq!(replace_once("a b c", "b", "x"), "a x c");
    for (text, message) in [("a c", "no longer contains"), ("b b", "occurs 2 times")] {
        let got = std::panic::catch_unwind(|| replace_once(text, "b", "x")).unwrap_err();
        let got = got.downcast_ref::<String>().unwrap();
        assert!(got.contains(message), "{got}");
    }
}
