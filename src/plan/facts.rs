//! Facts only a provider learns (an admin port's MAC, the API floating IP), folded into a
//! plan before bundles are built, so the user-data carries them and `render` beside the
//! recorded facts writes the same bytes. Pure: it never asks a provider for them.

use super::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the cloud decided that the user-data must carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Node name → MAC of its admin-network port (netplan matches the NIC by it).
    #[serde(default)]
    pub admin_macs: BTreeMap<String, String>,
    /// Floating IP in front of the API: added to the API certificate's names.
    #[serde(rename = "apiFloatingIP", default)]
    pub api_floating_ip: Option<String>,
}

impl Plan {
    /// This plan with `facts`: the floating IP joins the API server's extra names (the first
    /// of which is where the admin kubeconfig points) and each admin NIC is matched by MAC.
    /// The same plan as planning a spec that listed the IP among `extraSANs`.
    pub fn with_facts(mut self, facts: &Facts) -> Plan {
        if let Some(ip) = &facts.api_floating_ip
            && !self.extra_sans.contains(ip)
        {
            if self.extra_sans.is_empty() {
                self.admin_server = format!("https://{ip}:6443");
            }
            self.extra_sans.push(ip.clone());
            for node in self.nodes.iter_mut().filter(|n| n.role.is_master()) {
                if !node.api_server_sans.contains(ip) {
                    node.api_server_sans.push(ip.clone());
                }
            }
        }
        if self.admin_nic.is_some() {
            for node in &mut self.nodes {
                if let Some(mac) = facts.admin_macs.get(&node.name) {
                    node.admin_mac = Some(mac.clone());
                }
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki;
    use crate::spec::ClusterSpec;

    fn inputs() -> (ClusterSpec, pki::Secrets) {
        let spec = crate::spec::load(
            "openstack-ha",
            crate::profiles::find("openstack-ha").unwrap().text,
        )
        .unwrap();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/secrets.yaml"
        ))
        .unwrap();
        (spec, pki::Secrets::from_yaml("fixture", &text).unwrap())
    }

    fn plan(spec: &ClusterSpec, bundle: &pki::Secrets) -> Plan {
        crate::plan::plan(spec, bundle, &|_| None).unwrap()
    }

    #[test]
    fn facts_reach_the_plan() {
        let (spec, bundle) = inputs();
        let facts = Facts {
            admin_macs: [("demo-cp-1".to_string(), "fa:16:3e:12:34:56".to_string())].into(),
            api_floating_ip: Some("203.0.113.9".into()),
        };
        let with = plan(&spec, &bundle).with_facts(&facts);
        assert_eq!(with.extra_sans, ["203.0.113.9"]);
        assert_eq!(with.admin_server, "https://203.0.113.9:6443");
        let cp1 = with.nodes.iter().find(|n| n.name == "demo-cp-1").unwrap();
        assert_eq!(cp1.admin_mac.as_deref(), Some("fa:16:3e:12:34:56"));
        assert!(cp1.api_server_sans.iter().any(|s| s == "203.0.113.9"));
        // No facts: exactly the spec's plan.
        let bare = plan(&spec, &bundle);
        assert_eq!(bare.clone().with_facts(&Facts::default()), bare);
    }

    /// The floating IP enters the plan as if the spec had listed it among `extraSANs`.
    #[test]
    fn a_floating_ip_is_an_extra_san() {
        let (mut spec, bundle) = inputs();
        for extra in [vec![], vec!["api.example.org".to_string()]] {
            spec.kubernetes.api_server.extra_sans = extra.clone();
            let facts = Facts {
                api_floating_ip: Some("203.0.113.9".into()),
                ..Facts::default()
            };
            let with = plan(&spec, &bundle).with_facts(&facts);
            spec.kubernetes
                .api_server
                .extra_sans
                .push("203.0.113.9".into());
            assert_eq!(with, plan(&spec, &bundle), "extraSANs {extra:?}");
        }
    }

    #[test]
    fn a_san_already_listed_is_not_added_twice() {
        let (mut spec, bundle) = inputs();
        spec.kubernetes.api_server.extra_sans =
            vec!["api.example.org".into(), "203.0.113.9".into()];
        let facts = Facts {
            api_floating_ip: Some("203.0.113.9".into()),
            ..Facts::default()
        };
        let with = plan(&spec, &bundle).with_facts(&facts);
        assert_eq!(with.extra_sans, ["api.example.org", "203.0.113.9"]);
        assert_eq!(with.admin_server, "https://api.example.org:6443");
    }
}
