//! The whole compiler in one call: spec + secrets → plan → bundles → user-data. Used by the
//! CLI, the golden tests and the benchmark so all three exercise the same path. Mutates the
//! secrets only to add missing leaf certificates (reported back so the caller can save).

use crate::bundle::{self, BundleError, NodeBundle};
use crate::pki::{self, Clock, Entropy, PkiError};
use crate::plan::{self, Plan, PlanError};
use crate::render::{self, Options, UserData};
use crate::spec::ClusterSpec;

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

pub struct Compiled {
    pub plan: Plan,
    pub bundles: Vec<NodeBundle>,
    pub user_data: Vec<UserData>,
    pub admin_kubeconfig: String,
    /// Leaf certificates added to the secrets during this run (save the secrets if non-empty).
    pub issued_leaves: Vec<String>,
}

pub fn compile(
    spec: &ClusterSpec,
    secrets: &mut pki::Secrets,
    env: &dyn Fn(&str) -> Option<String>,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
    options: Options,
) -> Result<Compiled, CompileError> {
    let plan = plan::plan(spec, secrets, env)?;
    build(plan, secrets, clock, entropy, options)
}

/// The stages after planning, for callers that fill provider-learned facts (addresses, MACs)
/// into the plan first, as `up` does; rendering itself never calls a provider.
pub fn build(
    plan: Plan,
    secrets: &mut pki::Secrets,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
    options: Options,
) -> Result<Compiled, CompileError> {
    let issued_leaves = pki::ensure_leaves(secrets, &plan.leaf_requests(), clock, entropy)?;
    let bundles = plan
        .nodes
        .iter()
        .map(|node| bundle::build(&plan, node, secrets))
        .collect::<Result<Vec<_>, _>>()?;
    let format = plan.platform.user_data_format;
    let user_data = bundles
        .iter()
        .map(|b| render::encode(b, format, options))
        .collect();
    let admin_kubeconfig = bundle::admin_kubeconfig(&plan, secrets)?;
    Ok(Compiled {
        plan,
        bundles,
        user_data,
        admin_kubeconfig,
        issued_leaves,
    })
}
