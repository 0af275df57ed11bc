//! DESIGN.md's dependency rule, checked on the source: which top-level modules each module
//! may name (`crate::x`). Unit tests (from a file's `#[cfg(test)]` on) may reach further, for
//! fixtures. A new module must be added to `allowed`, with what it may use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The compiler's stages and their leaves, which `up` drives.
const COMPILER: &[&str] = &[
    "catalog", "fsio", "spec", "pki", "plan", "bundle", "render", "compile",
];

/// Module → the modules it may use besides itself.
fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
    let up: Vec<&str> = COMPILER.iter().copied().chain(["providers"]).collect();
    let cli: Vec<&str> = up
        .iter()
        .copied()
        .chain(["up", "profiles", "templates"])
        .collect();
    BTreeMap::from([
        ("catalog", vec![]),
        ("fsio", vec![]),
        ("spec", vec!["catalog"]),
        ("pki", vec!["catalog"]),
        ("templates", vec!["catalog"]),
        ("providers", vec!["catalog"]),
        ("profiles", vec!["spec"]),
        ("plan", vec!["catalog", "spec", "pki"]),
        ("bundle", vec!["catalog", "plan", "pki", "templates"]),
        ("render", vec!["bundle"]),
        ("compile", vec!["spec", "pki", "plan", "bundle", "render"]),
        ("up", up),
        ("cli", cli),
    ])
}

/// The top-level modules `text` names as `crate::x` or in `use crate::{x, ...}`, before
/// its unit tests.
fn used(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').filter_map(|p| {
                let name = p.trim().split("::").next()?.trim();
                (!name.is_empty()).then(|| name.to_string())
            }));
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_what_design_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed = allowed();
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut broken = Vec::new();
    for path in &all {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs");
        if matches!(module, "lib" | "main") {
            continue;
        }
        let Some(may) = allowed.get(module) else {
            panic!("src/{module} is not in allowed(): add it with what it may use");
        };
        let text = std::fs::read_to_string(path).unwrap();
        for used in used(&text) {
            if used != module && !may.contains(&used.as_str()) {
                broken.push(format!("src/{} uses crate::{used}", relative.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The check itself can fail: an import the rule forbids is caught, in both spellings.
#[test]
fn a_forbidden_import_is_seen() {
    let text = "use crate::up::kube;\nuse crate::{cli, spec::X};\nfn f() { crate::render::x(); }\n#[cfg(test)]\nuse crate::profiles;";
    let want: BTreeSet<String> = ["up", "cli", "spec", "render"].map(String::from).into();
    assert_eq!(used(text), want);
}
