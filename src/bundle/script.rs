//! Boot steps and the boot script that runs them in order (DESIGN: on-node contract).
//! Each step body is a template under `src/templates/steps/`; the runner template wraps them
//! with retries, time limits, done-markers and the console progress lines.

use super::BundleError;
use crate::plan::{NodePlan, Plan};
use crate::templates;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Step {
    pub name: &'static str,
    /// Shell function name (`step_<function>`).
    pub function: String,
    pub timeout_seconds: u32,
    pub attempts: u32,
    pub body: String,
}

impl Step {
    /// Render `steps/<name>.sh` with `context` into a step.
    pub fn new(
        name: &'static str,
        timeout_seconds: u32,
        attempts: u32,
        context: impl Serialize,
    ) -> Result<Step, BundleError> {
        Step::from_template(name, name, timeout_seconds, attempts, context)
    }

    /// Like `new`, with the body from `steps/<template>.sh` (an OS-specific variant).
    pub fn from_template(
        name: &'static str,
        template: &str,
        timeout_seconds: u32,
        attempts: u32,
        context: impl Serialize,
    ) -> Result<Step, BundleError> {
        let body = templates::render(&format!("steps/{template}.sh"), context)?;
        Ok(Step {
            name,
            function: name.replace('-', "_"),
            timeout_seconds,
            attempts,
            body: body.trim_end().to_string(),
        })
    }
}

pub(super) fn render(plan: &Plan, node: &NodePlan, steps: &[Step]) -> Result<String, BundleError> {
    Ok(templates::render(
        "bootstrap.sh",
        serde_json::json!({
            "node": node.name,
            "role": node.role.as_str(),
            "node_ip": node.address.to_string(),
            "lb_port": plan.api_load_balancer_port,
            "k8s_version": plan.kubernetes_version,
            "pkg_version": plan.package_version,
            "pkg_minor": plan.package_minor,
            "etcd": plan.etcd,
            "steps": steps,
            "stop_after": plan.stop_after.clone().unwrap_or_default(),
            "flatcar": plan.platform.flatcar,
            "bin_dir": plan.platform.bin_dir,
        }),
    )?)
}
