//! Worker nodes: the join configuration with the pre-computed token and CA pin. By design a
//! worker's user-data carries no private key (a test checks every rendered worker for that).

use super::script::Step;
use super::{Builder, BundleError, kubeadm};
use crate::catalog::BootStep;
use crate::pki::Secrets;
use crate::plan::{NodePlan, Plan};
use serde_json::json;

pub(super) fn build(
    b: &mut Builder,
    plan: &Plan,
    node: &NodePlan,
    secrets: &Secrets,
) -> Result<(), BundleError> {
    b.secret_file(
        "/etc/kubernetes/k8sgen/kubeadm-join.yaml",
        kubeadm::join_config(plan, node, &secrets.bootstrap_token.full()),
    );
    super::common::kubernetes(b, plan)?;
    // 3600 s of waiting for the token's signature, then the join itself.
    b.step(Step::new(
        BootStep::Join,
        4800,
        2,
        json!({"token_id": plan.token_id}),
    )?);
    Ok(())
}
