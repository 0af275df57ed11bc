//! Every spec under `tests/bad-specs/` must be rejected with exactly the message pinned in
//! its `.err` file (re-bless with K8SGEN_BLESS=1 after reviewing the wording). Also: no input
//! there makes k8sgen panic, and errors name the file.

mod common;

#[test]
fn bad_specs_fail_with_pinned_messages() {
    common::check_pinned_errors("bad-specs", 30, |file, text| {
        k8sgen::spec::load(file, text)
            .map(drop)
            .map_err(|e| e.to_string())
    });
}
