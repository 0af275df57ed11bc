//! The phases of `up` over one context (`Run`): pre-flight, network, build, servers, prune,
//! follow. Each phase is one method that starts from what the ones before it learned; the
//! order and the result live in `up`. Never prints: progress goes out as `Event`s.

use super::{Event, Inputs, UpError, UpOptions, cloud, converge, follow, kube_client, preflight};
use super::{record, servers, teardown, token};
use crate::compile;
use crate::pki::{self, Clock, Entropy};
use crate::plan::facts::Facts;
use crate::plan::{Plan, Role};
use crate::providers::openstack::api::{Api, Purpose};
use crate::up::kube::Kube;
use std::collections::BTreeMap;

/// The context every phase works in.
pub(super) struct Run<'a> {
    pub(super) api: &'a Api,
    project_id: &'a str,
    secrets: &'a mut pki::Secrets,
    clock: &'a dyn Clock,
    entropy: &'a mut dyn Entropy,
    options: &'a UpOptions,
    report: &'a (dyn Fn(Event) + Sync),
    /// The spec's plan, before the cloud's facts.
    plan: Plan,
    pub(super) phases: Phases,
    pub(super) issued_leaves: Vec<String>,
}

/// What pre-flight found: the cluster's objects, the cloud's IDs for the spec's names, and
/// servers the spec no longer has.
pub(super) struct Cloud {
    inventory: cloud::Inventory,
    resolved: preflight::Resolved,
    pub(super) surplus: Vec<String>,
}

/// What the network phase made that the servers need.
pub(super) struct Network {
    server_group: String,
    pub(super) facts: Facts,
}

/// The plan with the cloud's facts, its user-data by node and the cluster's API.
pub(super) struct Built {
    pub(super) plan: Plan,
    user_data: BTreeMap<String, Vec<u8>>,
    pub(super) kube: Kube,
}

impl<'a> Run<'a> {
    pub(super) fn new(inputs: Inputs<'a>) -> Result<Run<'a>, UpError> {
        let plan = crate::plan::plan(inputs.spec, inputs.secrets, inputs.env)?;
        if !plan.deployable {
            return Err(UpError::NotDeployable(plan.warnings.join("; ")));
        }
        Ok(Run {
            api: &inputs.conn.api,
            project_id: &inputs.conn.project_id,
            secrets: inputs.secrets,
            clock: inputs.clock,
            entropy: inputs.entropy,
            options: inputs.options,
            report: inputs.report,
            plan,
            phases: Phases::default(),
            issued_leaves: Vec::new(),
        })
    }

    pub(super) fn phase(&mut self, name: &'static str, announce: bool) {
        self.phases.start(name);
        if announce {
            (self.report)(Event::Phase(name));
        }
    }

    fn render_options(&self) -> crate::render::Options {
        crate::render::Options {
            gzip: self.options.gzip,
        }
    }

    /// The plan with `facts`, compiled; leaves it issues are remembered for the caller.
    fn compile(&mut self, facts: &Facts) -> Result<compile::Compiled, UpError> {
        let plan = self.plan.clone().with_facts(facts);
        let options = self.render_options();
        let compiled = compile::build(plan, self.secrets, self.clock, self.entropy, options)?;
        self.issued_leaves
            .extend(compiled.issued_leaves.iter().cloned());
        Ok(compiled)
    }

    /// Check the cloud before anything is created, user-data sizes included.
    pub(super) fn preflight(&mut self) -> Result<Cloud, UpError> {
        let (cluster, id) = (&self.plan.cluster_name, super::design::id_of(&self.plan));
        let inventory = cloud::inventory(self.api, cluster, &id, Purpose::Converge)?;
        if !inventory.others.is_empty() {
            return Err(UpError::Conflict {
                what: format!(
                    "another cluster named `{cluster}` (another CA) has objects in this project: {}",
                    inventory.others.join(", ")
                ),
                hint: format!(
                    "this cluster's ID is {id}, from the CA in its secrets bundle: give it another \
                     `name`, or run `up` with the other cluster's secrets.yaml"
                ),
            });
        }
        for other in &inventory.foreign {
            (self.report)(Event::Note(format!(
                "not adopting {other}: it is not in this token's project"
            )));
        }
        // The user-data's size must be checked before anything exists, but its real bytes
        // need facts only creating ports and the floating IP reveals: compile once with
        // placeholders as long as those facts.
        let sized = self.compile(&placeholder_facts(&self.plan))?;
        let sizes: Vec<(String, usize, bool)> = sized
            .user_data
            .iter()
            .map(|u| (u.node.clone(), u.base64_size(), u.gzip))
            .collect();
        let resolved = preflight::check(self.api, self.project_id, &self.plan, &inventory, &sizes)?;
        let surplus = inventory
            .servers
            .keys()
            .filter(|name| !self.plan.nodes.iter().any(|n| &n.name == *name))
            .cloned()
            .collect();
        Ok(Cloud {
            inventory,
            resolved,
            surplus,
        })
    }

    /// Security groups, the masters' server group, ports and the floating IP; what Neutron
    /// decided becomes the plan's facts.
    pub(super) fn network(&mut self, cloud: &mut Cloud) -> Result<Network, UpError> {
        let (api, plan, report) = (self.api, &self.plan, self.report);
        let inventory = &mut cloud.inventory;
        let groups = converge::security_groups(api, plan, inventory, report)?;
        let server_group = converge::server_group(api, plan, inventory, report)?;
        converge::ports(api, plan, &cloud.resolved, &groups, inventory, report)?;
        let fip = converge::floating_ip(api, plan, &cloud.resolved, inventory, report)?;
        Ok(Network {
            server_group,
            facts: converge::facts(plan, inventory, fip),
        })
    }

    /// The user-data from the plan with the cloud's facts; the state file and the admin
    /// kubeconfig written beside the spec before any server exists.
    pub(super) fn build(&mut self, cloud: &Cloud, facts: Facts) -> Result<Built, UpError> {
        let compiled = self.compile(&facts)?;
        let state = record::record(&compiled.plan, &cloud.inventory, &facts, &BTreeMap::new());
        self.save_state(&state)?;
        let kubeconfig = &self.options.kubeconfig_path;
        crate::fsio::write_atomic(kubeconfig, compiled.admin_kubeconfig.as_bytes(), 0o600)
            .map_err(write_error(kubeconfig))?;
        let kube = kube_client(&compiled.plan, self.secrets)?;
        let mut built = Built {
            user_data: by_node(compiled.user_data),
            plan: compiled.plan,
            kube,
        };
        self.refresh_token(cloud, &mut built)?;
        Ok(built)
    }

    /// Workers joining after the rendered token expired get a fresh one, made in the cluster
    /// and rendered into their user-data only.
    fn refresh_token(&mut self, cloud: &Cloud, built: &mut Built) -> Result<(), UpError> {
        let new_workers: Vec<&str> = built
            .plan
            .nodes
            .iter()
            .filter(|n| n.role == Role::Worker && !cloud.inventory.servers.contains_key(&n.name))
            .map(|n| n.name.as_str())
            .collect();
        if new_workers.is_empty() || !token::expired(&built.plan, &cloud.inventory, self.clock) {
            return Ok(());
        }
        (self.report)(Event::Note(
            "the rendered bootstrap token has expired: creating a fresh one for the new workers"
                .into(),
        ));
        let mut fresh = self.secrets.clone();
        fresh.bootstrap_token = pki::generate_token(self.entropy);
        let expiration = token::fresh_expiration(&built.plan, self.clock);
        built.kube.create_bootstrap_token(
            &fresh.bootstrap_token.id,
            fresh.bootstrap_token.secret.expose(),
            expiration.as_deref(),
        )?;
        let mut plan = built.plan.clone();
        plan.token_id = fresh.bootstrap_token.id.clone();
        // The compiler builds whole clusters; only the new workers' documents are kept.
        let options = self.render_options();
        let rebuilt = compile::build(plan, &mut fresh, self.clock, self.entropy, options)?;
        for (node, data) in by_node(rebuilt.user_data) {
            if new_workers.contains(&node.as_str()) {
                built.user_data.insert(node, data);
            }
        }
        Ok(())
    }

    /// The missing servers, while the ports are finished; the state file gets their IDs.
    pub(super) fn servers(
        &mut self,
        cloud: &Cloud,
        net: &Network,
        built: &Built,
    ) -> Result<usize, UpError> {
        let (api, plan, inventory) = (self.api, &built.plan, &cloud.inventory);
        let concurrency = self.options.concurrency;
        let (servers, ports) = std::thread::scope(|scope| {
            let ports = scope.spawn(|| converge::finish_ports(api, plan, inventory, concurrency));
            let servers = servers::servers(
                api,
                &servers::Placement {
                    plan,
                    resolved: &cloud.resolved,
                    server_group_id: &net.server_group,
                    inventory,
                },
                &built.user_data,
                concurrency,
                self.report,
            );
            (servers, ports.join().expect("port finishing thread"))
        });
        ports?;
        let (server_ids, created) = servers?;
        self.save_state(&record::record(plan, inventory, &net.facts, &server_ids))?;
        Ok(created)
    }

    /// Servers the spec no longer has, drained and deleted when asked to.
    pub(super) fn prune(&mut self, cloud: &Cloud, kube: &Kube) -> Result<Vec<String>, UpError> {
        if !self.options.prune || cloud.surplus.is_empty() {
            return Ok(Vec::new());
        }
        self.phase("prune", true);
        teardown::prune(
            self.api,
            kube,
            &cloud.inventory,
            &cloud.surplus,
            self.report,
        )
    }

    /// Only polls, until the nodes reach `options.until` or the timeout.
    pub(super) fn follow(&mut self, built: &Built) -> Result<follow::Followed, UpError> {
        let o = self.options;
        let watch = follow::Watch {
            until: o.until,
            timeout: o.timeout,
            interval: o.poll_interval,
        };
        Ok(follow::follow(
            self.api,
            &built.plan,
            Some(&built.kube),
            watch,
            self.report,
        )?)
    }

    fn save_state(&self, state: &crate::up::state::Record) -> Result<(), UpError> {
        let path = &self.options.record_path;
        crate::up::state::save(path, state).map_err(write_error(path))
    }
}

/// Placeholders as long as the real facts, so pre-flight's size check holds for them.
fn placeholder_facts(plan: &Plan) -> Facts {
    Facts {
        admin_macs: if plan.admin_nic.is_some() {
            plan.nodes
                .iter()
                .map(|n| (n.name.clone(), "fa:16:3e:00:00:00".into()))
                .collect()
        } else {
            BTreeMap::new()
        },
        api_floating_ip: plan
            .openstack
            .api_floating_ip
            .then(|| "255.255.255.255".into()),
    }
}

/// Each node's user-data bytes, by name.
fn by_node(user_data: Vec<crate::render::UserData>) -> BTreeMap<String, Vec<u8>> {
    user_data.into_iter().map(|u| (u.node, u.bytes)).collect()
}

/// Wall time per phase.
#[derive(Default)]
pub(super) struct Phases {
    done: Vec<(&'static str, f64)>,
    current: Option<(&'static str, std::time::Instant)>,
}

impl Phases {
    fn start(&mut self, name: &'static str) {
        self.close();
        self.current = Some((name, std::time::Instant::now()));
    }
    fn close(&mut self) {
        if let Some((name, t)) = self.current.take() {
            self.done.push((name, t.elapsed().as_secs_f64()));
        }
    }
    pub(super) fn finish(mut self) -> Vec<(&'static str, f64)> {
        self.close();
        self.done
    }
}

fn write_error(path: &std::path::Path) -> impl Fn(std::io::Error) -> UpError + '_ {
    move |e| UpError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}
