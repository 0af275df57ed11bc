//! Pre-flight's check of the admin subnet: the settings Neutron would hand to a node's
//! admin NIC that no override on the node can take back. Pure; it must not call the cloud.

use super::Problem;
use crate::providers::openstack::neutron;

/// What would put a default route, host routes or DNS servers on the admin NIC for good.
/// Nova describes a port on a subnet without DHCP as static in `network_data.json`, with the
/// subnet's gateway as default route, its host routes and DNS servers; cloud-init writes
/// them into netplan, and an override can only add to those lists, never remove from them.
/// (On a DHCP subnet the node's override drops what the DHCP server offers.)
pub fn admin_subnet_problems(subnet: &neutron::Subnet, dhcp_wanted: bool) -> Vec<Problem> {
    let name = if subnet.name.is_empty() {
        &subnet.id
    } else {
        &subnet.name
    };
    let mut problems = Vec::new();
    if dhcp_wanted && !subnet.enable_dhcp {
        problems.push(Problem::new(
            format!("admin subnet `{name}` has DHCP disabled, but network.admin.addressing is dhcp"),
            format!("set addressing: static with a firstAddress, or `openstack subnet set --dhcp {name}`"),
        ));
    }
    if subnet.enable_dhcp {
        return problems;
    }
    if let Some(gateway) = subnet.gateway_ip.as_deref().filter(|g| !g.is_empty()) {
        problems.push(Problem::new(
            format!("admin subnet `{name}` has gateway {gateway}: its static ports would get a second default route"),
            format!("`openstack subnet set --gateway none {name}`"),
        ));
    }
    if !subnet.host_routes.is_empty() {
        problems.push(Problem::new(
            format!(
                "admin subnet `{name}` has {} host route(s), which its static ports would get",
                subnet.host_routes.len()
            ),
            format!("`openstack subnet set --no-host-route {name}`"),
        ));
    }
    if !subnet.dns_nameservers.is_empty() {
        problems.push(Problem::new(
            format!("admin subnet `{name}` has DNS servers, which its static ports would add to the node's"),
            format!("`openstack subnet set --no-dns-nameservers {name}`"),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(dhcp: bool, gateway: Option<&str>, routes: usize, dns: usize) -> neutron::Subnet {
        neutron::Subnet {
            id: "id".into(),
            name: "admin-subnet".into(),
            network_id: "net".into(),
            cidr: "192.168.50.0/24".into(),
            enable_dhcp: dhcp,
            gateway_ip: gateway.map(str::to_string),
            host_routes: (0..routes)
                .map(|i| neutron::HostRoute {
                    destination: format!("10.{i}.0.0/16"),
                    nexthop: "192.168.50.1".into(),
                })
                .collect(),
            dns_nameservers: (0..dns).map(|i| format!("192.168.50.{}", i + 2)).collect(),
        }
    }

    #[test]
    fn a_dhcp_admin_subnet_with_a_gateway_is_fine() {
        // Neutron's default subnet: the node's DHCP override drops gateway and DNS.
        assert!(admin_subnet_problems(&subnet(true, Some("192.168.50.1"), 1, 1), true).is_empty());
        assert!(admin_subnet_problems(&subnet(true, Some("192.168.50.1"), 0, 0), false).is_empty());
    }

    #[test]
    fn static_ports_refuse_what_no_override_can_remove() {
        let p = admin_subnet_problems(&subnet(false, Some("192.168.50.1"), 2, 1), false);
        let text: Vec<_> = p
            .iter()
            .map(|p| format!("{} | {}", p.what, p.hint))
            .collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        assert!(
            text[0].contains("gateway 192.168.50.1")
                && text[0].contains("--gateway none admin-subnet")
        );
        assert!(text[1].contains("2 host route(s)") && text[1].contains("--no-host-route"));
        assert!(text[2].contains("DNS servers") && text[2].contains("--no-dns-nameservers"));
        assert!(admin_subnet_problems(&subnet(false, None, 0, 0), false).is_empty());
        assert!(admin_subnet_problems(&subnet(false, Some(""), 0, 0), false).is_empty());
    }

    #[test]
    fn dhcp_wanted_on_a_subnet_without_dhcp() {
        let p = admin_subnet_problems(&subnet(false, None, 0, 0), true);
        assert_eq!(p.len(), 1);
        assert!(p[0].what.contains("DHCP disabled"), "{p:?}");
    }
}
