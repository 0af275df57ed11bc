//! Preset cluster specs from `profiles/`, embedded in the binary. They are ordinary spec
//! files: `k8sgen new` copies one verbatim, comments included.

pub struct Profile {
    pub name: &'static str,
    pub summary: &'static str,
    pub text: &'static str,
}

pub const PROFILES: &[Profile] = &[
    Profile {
        name: "openstack-ha",
        summary: "3 control-plane nodes with etcd, 3 workers, kube-router, OCCM, admin NIC, Ubuntu 24.04",
        text: include_str!("../profiles/openstack-ha.yaml"),
    },
    Profile {
        name: "openstack-ha-flatcar",
        summary: "the openstack-ha topology on Flatcar, rendered as Ignition",
        text: include_str!("../profiles/openstack-ha-flatcar.yaml"),
    },
    Profile {
        name: "single",
        summary: "one schedulable control-plane node for a lab",
        text: include_str!("../profiles/single.yaml"),
    },
];

pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

pub fn names() -> String {
    PROFILES
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_profile_is_a_valid_spec() {
        for p in super::PROFILES {
            crate::spec::load(&format!("profile {}", p.name), p.text)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
