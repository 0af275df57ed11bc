//! Every spec under `tests/bad-specs/` must be rejected with exactly the message pinned in
//! its `.err` file (re-bless with K8SGEN_BLESS=1 after reviewing the wording). Also: no input
//! there makes k8sgen panic, and errors name the file. `plan` refuses an invalid spec too.

mod common;

use common::*;

#[test]
fn bad_specs_fail_with_pinned_messages() {
    let dir = root().join("tests/bad-specs");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "only {} bad specs", names.len());
    let mut failures = Vec::new();
    for path in names {
        let file = format!(
            "tests/bad-specs/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| k8sgen::spec::load(&file, &text));
        let message = match outcome {
            Err(_) => {
                failures.push(format!("{file}: k8sgen panicked"));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!("{file}: accepted, but it is a bad spec"));
                continue;
            }
            Ok(Err(e)) => format!("{e}\n"),
        };
        assert!(
            message.starts_with(&file),
            "{file}: the error must name the file: {message}"
        );
        if let Err(e) = check_golden(&path.with_extension("err"), &message) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `plan` checks the spec again, because a `ClusterSpec` can be edited in code after loading
/// (as `up` does): a bad admin CIDR used to become 0.0.0.0/0 in the plan.
#[test]
fn plan_refuses_a_spec_edited_after_loading() {
    let profile = k8sgen::profiles::find("openstack-ha").unwrap();
    let mut spec = k8sgen::spec::load("openstack-ha", profile.text).unwrap();
    spec.network.admin.as_mut().unwrap().cidr = "192.168.50.0/33".into();
    let e = k8sgen::plan::plan(&spec, &fixture(), &|_| None).unwrap_err();
    assert!(matches!(e, k8sgen::plan::PlanError::Spec(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the spec has problems:\n  network.admin.cidr: `192.168.50.0/33` is not an IPv4 CIDR\n    \
         hint: write it as ADDRESS/PREFIX, e.g. `10.0.0.0/24`"
    );
}
