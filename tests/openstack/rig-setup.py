"""Seeds the k8sgen test rig (tests/openstack/rig.sh) through the real APIs with openstacksdk.

  rig-setup.py identity   service project, service users, services and endpoints (plain
                          HTTP in RegionOne; the same through rig.sh's TLS fronts, 10000
                          ports up, in RegionTwo); a second project `member-project` with
                          user `member` (role `member`), whose objects an admin's
                          `up`/`down` must not touch
  rig-setup.py resources  flavors (one with disk 0), an image, the networks and subnets the profiles name,
                          an external network with a router for floating IPs, a network
                          shared by the service project, member-project's own network

Test rig only; run by rig.sh with Debian's python3.
"""

import sys
from urllib.parse import urlsplit

import openstack

KEYSTONE = "http://127.0.0.1:5000/v3"
ENDPOINTS = {
    # service name: (type, url)
    "glance": ("image", "http://127.0.0.1:9292"),
    "placement": ("placement", "http://127.0.0.1:8778"),
    "nova": ("compute", "http://127.0.0.1:8774/v2.1"),
    "neutron": ("network", "http://127.0.0.1:9696"),
}


def tls(url):
    """The URL of rig.sh's TLS front for a plain-HTTP endpoint: https, 10000 ports up."""
    parts = urlsplit(url)
    return parts._replace(scheme="https", netloc=f"{parts.hostname}:{parts.port + 10000}").geturl()


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
    # RegionTwo: every endpoint again, over TLS (the identity service keystone-manage
    # bootstrap made has its RegionOne endpoints already).
    conn.identity.create_region(id="RegionTwo")
    identity = next(conn.identity.services(type="identity"))
    for interface in ("public", "internal", "admin"):
        conn.identity.create_endpoint(
            service_id=identity.id, interface=interface, url=tls(KEYSTONE), region_id="RegionTwo"
        )
    service_project = conn.identity.create_project(name="service", domain_id="default")
    admin_role = conn.identity.find_role("admin")
    for name, (service_type, url) in ENDPOINTS.items():
        user = conn.identity.create_user(
            name=name, password=name + "-pw", domain_id="default"
        )
        conn.identity.assign_project_role_to_user(service_project, user, admin_role)
        service = conn.identity.create_service(name=name, type=service_type)
        for interface in ("public", "internal", "admin"):
            for region, region_url in (("RegionOne", url), ("RegionTwo", tls(url))):
                conn.identity.create_endpoint(
                    service_id=service.id,
                    interface=interface,
                    url=region_url,
                    region_id=region,
                )
    member_project = conn.identity.create_project(name="member-project", domain_id="default")
    member = conn.identity.create_user(name="member", password="member-pw", domain_id="default")
    conn.identity.assign_project_role_to_user(
        member_project, member, conn.identity.find_role("member")
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
    # A flavor without a disk of its own, as boot-from-volume-only clouds offer.
    conn.compute.create_flavor(name="m1.diskless", ram=64, vcpus=1, disk=0)
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
    other_project_network(conn)
    member_network(conn)


def member_network(conn):
    """member-project's own network, on which its member (no admin role) runs `up`. Named
    apart from k8s-net: an admin sees every project's networks, and two k8s-net would make
    the admin's clusters ambiguous."""
    member = conn.identity.find_project("member-project")
    net = conn.network.create_network(name="member-net", project_id=member.id)
    conn.network.create_subnet(
        name="member-subnet",
        network_id=net.id,
        project_id=member.id,
        ip_version=4,
        cidr="10.0.0.0/24",
        gateway_ip="10.0.0.1",
        enable_dhcp=False,
    )


def other_project_network(conn):
    """A network another project (service) owns and shares, as public clouds offer: ports on
    it may not have fixed IPs, port security or address pairs set by anyone but its owner."""
    service = conn.identity.find_project("service")
    # Same CIDR as k8s-subnet (different networks may overlap): a spec needs only the
    # network and subnet names changed to land on it.
    shared = conn.network.create_network(
        name="shared-net", project_id=service.id, is_shared=True
    )
    conn.network.create_subnet(
        name="shared-subnet",
        network_id=shared.id,
        project_id=service.id,
        ip_version=4,
        cidr="10.0.0.0/24",
        enable_dhcp=False,
    )


if __name__ == "__main__":
    {"identity": identity, "resources": resources}[sys.argv[1]]()
