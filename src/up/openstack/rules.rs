//! Makes a security group's rules the designed ones (`design::rules`): rules k8sgen made
//! that the design lacks are deleted (an operator's own rules stay), missing ones created in
//! one request, looking again after a create that may have happened. Touches only the rules
//! of the groups it is given.

use super::design::{self, Group};
use super::{Event, UpError};
use crate::plan::Plan;
use crate::providers::openstack::api::{Api, Look, converge_batch};
use crate::providers::openstack::neutron::{self, Filter, Kind, Rule, SecurityGroup};

/// Reconcile the rules of `sg`, the cluster's group `group`; `ids` names every group's ID.
pub fn reconcile(
    api: &Api,
    plan: &Plan,
    group: Group,
    sg: &SecurityGroup,
    ids: &dyn Fn(Group) -> String,
    report: &dyn Fn(Event),
) -> Result<(), UpError> {
    let designed = design::rules(plan, group);
    let extra = sg
        .security_group_rules
        .iter()
        .filter(|e| design::is_ours(e) && !designed.iter().any(|r| design::matches(e, r, ids)));
    for rule in extra {
        neutron::delete(api, Kind::SecurityGroupRule, &rule.id)?;
        report(Event::Note(format!(
            "removed a rule from {} that the design does not have",
            sg.name
        )));
    }
    let marker = design::marker(&plan.cluster_name, &design::id_of(plan));
    // The rules known to exist, and whether one create has already worked (all rules go in
    // one request, so one success is the end).
    let mut known: (Vec<Rule>, bool) = (sg.security_group_rules.clone(), false);
    converge_batch(
        &api.retry,
        &mut known,
        |(existing, done), look| {
            if *done {
                return Ok(Vec::new());
            }
            // Rules added since the inventory (a create that failed after Neutron did it)
            // are found by listing the group again.
            if look == Look::Again {
                *existing = neutron::security_groups(api, Filter::Description(&marker))?
                    .into_iter()
                    .find(|g| g.id == sg.id)
                    .map(|g| g.security_group_rules)
                    .unwrap_or_default();
            }
            Ok(designed
                .iter()
                .filter(|r| !existing.iter().any(|e| design::matches(e, r, ids)))
                .map(|r| design::rule_request(r, &sg.id, ids))
                .collect())
        },
        |(_, done), todo| {
            let made = neutron::create_rules(api, &todo)?;
            report(Event::Created {
                kind: "security group rules",
                name: format!("{} ({})", sg.name, made.len()),
            });
            *done = true;
            Ok(())
        },
        |_| false,
    )?;
    Ok(())
}
