"""ML2 mechanism driver for the k8sgen test rig (tests/openstack/rig.sh).

The rig runs Neutron without any L2 agent, so no shipped mechanism driver binds ports and Nova
would fail every boot with PortBindingFailed. This driver binds each port to the first segment
as an OVS port, which is all Nova's fake virt driver needs. Test rig only.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class RigMechanismDriver(api.MechanismDriver):
    def initialize(self):
        pass

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True, "ovs_hybrid_plug": False},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
