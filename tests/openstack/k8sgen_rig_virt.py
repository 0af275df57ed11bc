"""Nova virt driver for the k8sgen test rig (tests/openstack/rig.sh): Nova's fake driver that a
test can make misbehave the way real drivers do, through files in the rig's `nova/` directory.

- `console-off` exists: the driver has no console log, as Ironic's has none; Nova's API then
  answers `os-getConsoleOutput` with 501 (nova/api/openstack/compute/console_output.py
  catches NotImplementedError and raises feature-not-supported).
- `fail-spawn` lists server names, one a line: building one of them fails for good (no
  reschedule), so the server goes to ERROR with this driver's reason as its fault.

rig.sh loads it as `compute_driver = k8sgen_rig_virt.RigDriver`: Nova prefixes the name with
`nova.virt.` (nova/virt/driver.py, load_compute_driver), so rig.sh makes the module importable
under that name before nova-compute starts. Test rig only.
"""

import os

from nova import exception
from nova.virt import fake

def _flag(name):
    # nova.conf's state_path is the rig's nova directory.
    from nova import conf

    return os.path.join(conf.CONF.state_path, name)


def _failing_names():
    try:
        with open(_flag("fail-spawn")) as f:
            return {line.strip() for line in f if line.strip()}
    except FileNotFoundError:
        return set()


class RigDriver(fake.FakeDriver):
    def get_console_output(self, context, instance):
        if os.path.exists(_flag("console-off")):
            raise NotImplementedError("k8sgen rig: console-off")
        return super().get_console_output(context, instance)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        if instance.display_name in _failing_names():
            # BuildAbortException ends the build without trying another host.
            raise exception.BuildAbortException(
                instance_uuid=instance.uuid,
                reason="k8sgen rig: %s is listed in fail-spawn" % instance.display_name)
        return super().spawn(context, instance, image_meta, injected_files,
                             admin_password, allocations, network_info=network_info,
                             block_device_info=block_device_info, power_on=power_on,
                             accel_info=accel_info)
