"""Seeds the k8sgen test rig (tests/openstack/rig.sh) through the real APIs with openstacksdk.

  rig-setup.py identity   service project, service users, services and endpoints
  rig-setup.py resources  flavors, an image, the networks and subnets the profiles name,
                          an external network with a router for floating IPs

Test rig only; run by rig.sh with Debian's python3.
"""

import sys

import openstack

KEYSTONE = "http://127.0.0.1:5000/v3"
ENDPOINTS = {
    # service name: (type, url)
    "glance": ("image", "http://127.0.0.1:9292"),
    "placement": ("placement", "http://127.0.0.1:8778"),
    "nova": ("compute", "http://127.0.0.1:8774/v2.1"),
    "neutron": ("network", "http://127.0.0.1:9696"),
}


def admin():
    return openstack.connect(
        auth_url=KEYSTONE,
        username="admin",
        password="adminpw",
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
    )


def identity():
    conn = admin()
    service_project = conn.identity.create_project(name="service", domain_id="default")
    admin_role = conn.identity.find_role("admin")
    for name, (service_type, url) in ENDPOINTS.items():
        user = conn.identity.create_user(
            name=name, password=name + "-pw", domain_id="default"
        )
        conn.identity.assign_project_role_to_user(service_project, user, admin_role)
        service = conn.identity.create_service(name=name, type=service_type)
        for interface in ("public", "internal", "admin"):
            conn.identity.create_endpoint(
                service_id=service.id,
                interface=interface,
                url=url,
                region_id="RegionOne",
            )


def resources():
    conn = admin()
    # Room for the benchmark's 51 servers and the tests' clusters side by side; the tests
    # set tighter quotas themselves where they check pre-flight.
    project = conn.identity.find_project("admin")
    conn.set_compute_quotas(project.id, instances=200, cores=400, ram=200 * 1024, server_groups=50, server_group_members=200)
    conn.set_network_quotas(project.id, port=1000, security_group=100, security_group_rule=1000, floatingip=50)
    # Flavors named like the profiles', tiny so many fit on the fake hosts.
    for name in ("m1.small", "m1.medium", "m1.large", "m1.xlarge"):
        conn.compute.create_flavor(name=name, ram=64, vcpus=1, disk=1)
    image = conn.image.create_image(
        name="ubuntu-24.04",
        disk_format="raw",
        container_format="bare",
        data=b"k8sgen test rig image\n",
        visibility="public",
    )
    image = conn.image.get_image(image)
    assert image.status == "active", f"image upload left status {image.status}"
    # The admin subnet as `up` requires of a DHCP admin network: DHCP on (the rig runs no
    # DHCP agent; Neutron records the setting), no gateway.
    for name, subnet, cidr, gateway, dhcp in (
        ("k8s-net", "k8s-subnet", "10.0.0.0/24", "10.0.0.1", False),
        ("admin-net", "admin-subnet", "192.168.50.0/24", None, True),
    ):
        net = conn.network.create_network(name=name)
        conn.network.create_subnet(
            name=subnet,
            network_id=net.id,
            ip_version=4,
            cidr=cidr,
            gateway_ip=gateway,
            enable_dhcp=dhcp,
        )
    public = conn.network.create_network(
        name="public",
        is_router_external=True,
        provider_network_type="flat",
        provider_physical_network="public",
    )
    public_subnet = conn.network.create_subnet(
        name="public-subnet",
        network_id=public.id,
        ip_version=4,
        cidr="203.0.113.0/24",
        enable_dhcp=False,
    )
    router = conn.network.create_router(
        name="k8s-router", external_gateway_info={"network_id": public.id}
    )
    k8s_subnet = conn.network.find_subnet("k8s-subnet")
    conn.network.add_interface_to_router(router, subnet_id=k8s_subnet.id)
    del public_subnet


if __name__ == "__main__":
    {"identity": identity, "resources": resources}[sys.argv[1]]()
