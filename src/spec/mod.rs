//! First stage of the pipeline: `cluster.yaml` text → validated `ClusterSpec`.
//!
//! `load` parses (YAML → generic tree → typed spec, so shape errors carry a field path) and then
//! runs `validate`, returning every problem at once. `check` is the same validation returning
//! the typed values (`Parsed`) a valid spec yields, which `plan` builds on. `read_files`
//! reads the files a spec names (`cloud.openstack.caFile`) through the caller's reader. It
//! must not read secrets, resolve addresses or talk to a cloud; that is `plan`'s and `up`'s
//! work.

mod checks;
mod egress;
mod files;
mod parsed;
mod types;
mod validate;

pub use checks::Problem;
pub use files::{ca_bundle, read_files};
pub use parsed::{Parsed, ParsedAdmin, TokenTtl};
pub use types::*;
pub use validate::{check, validate};

use std::fmt;

/// Why a spec could not be loaded. Every variant names the file it is about.
#[derive(Debug)]
pub enum SpecError {
    /// YAML syntax error (includes serde-saphyr's line/column excerpt).
    Syntax { file: String, detail: String },
    /// The YAML is well-formed but does not have the spec's shape.
    Shape {
        file: String,
        path: String,
        detail: String,
        hint: String,
    },
    /// The spec parsed but has semantic problems.
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Syntax { file, detail } => {
                write!(
                    f,
                    "{file} is not valid YAML\n  {}",
                    detail.trim_end().replace('\n', "\n  ")
                )
            }
            SpecError::Shape {
                file,
                path,
                detail,
                hint,
            } => write!(
                f,
                "{file} is not a cluster spec\n  {path}: {detail}\n    hint: {hint}"
            ),
            SpecError::Invalid { file, problems } => {
                let n = problems.len();
                write!(f, "{file} has {n} problem{}", if n == 1 { "" } else { "s" })?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SpecError {}

/// Parse and validate spec text. `file` is only used in messages.
pub fn load(file: &str, text: &str) -> Result<ClusterSpec, SpecError> {
    let tree: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| SpecError::Syntax {
        file: file.to_string(),
        detail: e.to_string(),
    })?;
    if !tree.is_object() {
        return Err(SpecError::Shape {
            file: file.into(),
            path: "(top level)".into(),
            detail: "expected a mapping of spec fields".into(),
            hint: "start from `k8sgen new DIR --profile openstack-ha`".into(),
        });
    }
    let spec: ClusterSpec = serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        let detail = e.inner().to_string();
        SpecError::Shape {
            file: file.into(),
            path: if path == "." {
                "(top level)".into()
            } else {
                path
            },
            hint: shape_hint(&detail),
            detail,
        }
    })?;
    let problems = validate(&spec);
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(SpecError::Invalid {
            file: file.into(),
            problems,
        })
    }
}

fn shape_hint(detail: &str) -> String {
    if detail.starts_with("unknown field") {
        "remove the field or fix its spelling; README.md lists every spec field".into()
    } else if detail.starts_with("missing field") {
        "add the field; README.md lists every spec field".into()
    } else if detail.contains("floating point") || detail.contains("expected a string") {
        "quote the value (e.g. version: \"1.36.4\")".into()
    } else if detail.starts_with("unknown variant") {
        "use one of the listed values".into()
    } else {
        "check the value's type against README.md's spec reference".into()
    }
}
