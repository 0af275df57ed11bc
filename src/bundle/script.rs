//! Boot steps and the boot script that runs them in order (DESIGN: on-node contract).
//! Each step body is a template under `src/templates/steps/`; the runner template wraps them
//! with retries, time limits, done-markers and the console progress lines.

use super::BundleError;
use crate::catalog::BootStep;
use crate::plan::{NodePlan, Plan};
use crate::templates;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Step {
    pub name: BootStep,
    /// Shell function name (`step_<function>`).
    pub function: String,
    pub timeout_seconds: u32,
    pub attempts: u32,
    pub body: String,
}

impl Step {
    /// Render `steps/<name>.sh` with `context` into a step.
    pub fn new(
        name: BootStep,
        timeout_seconds: u32,
        attempts: u32,
        context: impl Serialize,
    ) -> Result<Step, BundleError> {
        Step::from_template(name, name.as_str(), timeout_seconds, attempts, context)
    }

    /// Like `new`, with the body from `steps/<template>.sh` (an OS-specific variant).
    pub fn from_template(
        name: BootStep,
        template: &str,
        timeout_seconds: u32,
        attempts: u32,
        context: impl Serialize,
    ) -> Result<Step, BundleError> {
        let body = templates::render(&format!("steps/{template}.sh"), context)?;
        Ok(Step {
            name,
            function: name.as_str().replace('-', "_"),
            timeout_seconds,
            attempts,
            body: body.trim_start_matches('\n').trim_end().to_string(),
        })
    }
}

/// The step of *this* role after which `bootstrap.stopAfter` stops: the named step, or the
/// last of this role's steps that comes before it in the fixed order (a worker asked to stop
/// after `etcd`, which it does not run, stops after `runtime`). Empty: run to the end.
pub(super) fn stop_point(stop_after: Option<BootStep>, steps: &[Step]) -> String {
    let Some(limit) = stop_after else {
        return String::new();
    };
    steps
        .iter()
        .rev()
        .find(|s| s.name <= limit)
        .map(|s| s.name.to_string())
        .unwrap_or_default()
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
            "pkg_repo": plan.package_repository,
            "pause_image": plan.pause_image,
            "etcd": plan.etcd,
            "steps": steps,
            "stop_after": stop_point(plan.stop_after, steps),
            "flatcar": plan.platform.flatcar,
            "bin_dir": plan.platform.bin_dir,
            "proxy": plan.egress.proxy,
        }),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(names: &[BootStep]) -> Vec<Step> {
        names
            .iter()
            .map(|&name| Step {
                name,
                function: name.as_str().replace('-', "_"),
                timeout_seconds: 1,
                attempts: 1,
                body: String::new(),
            })
            .collect()
    }

    #[test]
    fn stop_point_follows_the_global_step_order() {
        let master = steps(&[
            BootStep::HostPrep,
            BootStep::Packages,
            BootStep::Runtime,
            BootStep::Etcd,
            BootStep::Kubernetes,
            BootStep::ControlPlane,
        ]);
        let worker = steps(&[
            BootStep::HostPrep,
            BootStep::Packages,
            BootStep::Runtime,
            BootStep::Kubernetes,
            BootStep::Join,
        ]);
        assert_eq!(stop_point(Some(BootStep::Etcd), &master), "etcd");
        assert_eq!(stop_point(Some(BootStep::Etcd), &worker), "runtime");
        assert_eq!(
            stop_point(Some(BootStep::ClusterAddons), &worker),
            "kubernetes"
        );
        assert_eq!(
            stop_point(Some(BootStep::AdminNetwork), &worker),
            "host-prep"
        );
        assert_eq!(stop_point(None, &worker), "");
    }
}
