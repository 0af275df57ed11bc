//! `secrets.yaml` text → `Secrets`: YAML, then the bundle's identity (`apiVersion`, `kind`),
//! then its shape, then whether its parts fit together (`check`). Each failure names the
//! file, the field path and a hint, never a parser's type names. It must not read files
//! (the caller passes the text) nor fill in missing parts.

use super::check::{Problem, problems};
use super::{BUNDLE_API_VERSION, BUNDLE_KIND, PkiError, Secrets};
use serde_json::Value;

const GENERATE: &str =
    "pass the secrets.yaml that `k8sgen secrets generate --out FILE` wrote, or create one with it";

/// Parse `secrets.yaml` text and check that its parts fit together.
pub(super) fn from_yaml(file: &str, text: &str) -> Result<Secrets, PkiError> {
    let tree: Value = serde_saphyr::from_str(text).map_err(|e| PkiError::Syntax {
        file: file.into(),
        detail: crate::problem::yaml_syntax(&e),
        hint: GENERATE.into(),
    })?;
    identity(&tree).map_err(|(path, detail, hint)| PkiError::NotABundle {
        file: file.into(),
        path,
        detail,
        hint,
    })?;
    let bundle: Secrets = serde_path_to_error::deserialize(tree).map_err(|e| {
        let detail = e.inner().to_string();
        PkiError::NotABundle {
            file: file.into(),
            path: e.path().to_string(),
            hint: shape_hint(&detail).into(),
            detail,
        }
    })?;
    check(file, &bundle)?;
    Ok(bundle)
}

/// `Err` with every problem of `bundle`, naming `file`.
pub(super) fn check(file: &str, bundle: &Secrets) -> Result<(), PkiError> {
    let problems: Vec<Problem> = problems(bundle);
    if problems.is_empty() {
        return Ok(());
    }
    Err(PkiError::Problems {
        file: file.into(),
        problems,
    })
}

/// Is this a secrets bundle at all? Asked before its shape, so a cluster spec or an empty
/// file is named as such rather than by its first unexpected field.
fn identity(tree: &Value) -> Result<(), (String, String, String)> {
    let Some(map) = tree.as_object() else {
        let detail = match tree {
            Value::Null => "the file is empty".to_string(),
            _ => "expected a mapping of bundle fields".to_string(),
        };
        return Err(("(top level)".into(), detail, GENERATE.into()));
    };
    for (field, expected) in [("apiVersion", BUNDLE_API_VERSION), ("kind", BUNDLE_KIND)] {
        let detail = match map.get(field) {
            Some(Value::String(found)) if found == expected => continue,
            Some(found) => format!("expected `{expected}`, found {found}"),
            None => format!("missing; a secrets bundle says `{field}: {expected}`"),
        };
        let hint = if map.contains_key("controlPlane") || map.contains_key("nodes") {
            "this is a cluster spec; its secrets bundle is a separate file (secrets.yaml beside it)"
        } else {
            GENERATE
        };
        return Err((field.into(), detail, hint.into()));
    }
    Ok(())
}

fn shape_hint(detail: &str) -> &'static str {
    if detail.starts_with("unknown field") {
        "remove the field or fix its spelling; k8sgen writes every field it reads"
    } else if detail.starts_with("unknown variant") {
        "use one of the values listed"
    } else if detail.starts_with("missing field") {
        "the file is incomplete; restore secrets.yaml from its backup"
    } else {
        "restore secrets.yaml from its backup; `k8sgen secrets show` reads a good one"
    }
}
