//! Every spec under `tests/bad-specs/` must be rejected with exactly the message pinned in
//! its `.err` file (re-bless with K8SGEN_BLESS=1 after reviewing the wording). Also: no input
//! there makes k8sgen panic, and errors name the file. `plan` refuses an invalid spec too.

mod common;

#[test]
fn bad_specs_fail_with_pinned_messages() {
    common::check_pinned_errors("bad-specs", 30, |file, text| {
        k8sgen::spec::load(file, text)
            .map(drop)
            .map_err(|e| e.to_string())
    });
}

/// `plan` checks the spec again, because a `ClusterSpec` can be edited in code after loading
/// (as `up` does): a bad admin CIDR used to become 0.0.0.0/0 in the plan.
#[test]
fn plan_refuses_a_spec_edited_after_loading() {
    let profile = k8sgen::profiles::find("openstack-ha").unwrap();
    let mut spec = k8sgen::spec::load("openstack-ha", profile.text).unwrap();
    spec.network.admin.as_mut().unwrap().cidr = "192.168.50.0/33".into();
    let e = k8sgen::plan::plan(&spec, &common::fixture(), &|_| None).unwrap_err();
    assert!(matches!(e, k8sgen::plan::PlanError::Spec(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the spec has problems:\n  network.admin.cidr: `192.168.50.0/33` is not an IPv4 CIDR\n    \
         hint: write it as ADDRESS/PREFIX, e.g. `10.0.0.0/24`"
    );
}
