#!/usr/bin/env bash
# Every test k8sgen has, on a fresh Debian 12 machine of the project's kind, as root. This is
# the README's test command, and what .ci/run calls after format, lint and the speed report.
#
#  1. system packages the tiers need (Debian's own validators and services), when missing;
#  2. `cargo test`: unit, golden, bad-spec, CLI, conformance (cloud-init, netplan, shellcheck,
#     openssl, etcd, ignition-validate, PyYAML) and a real Keystone;
#  3. the OpenStack tier: up/down/status against a real OpenStack control plane on loopback;
#  4. the VM tier: five VMs boot from config drives through the kubernetes step.
#
# Nothing is skipped: a tier whose tool is missing fails and names it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "tests/all.sh installs Debian packages and starts VMs in network namespaces: run it as root" >&2
  exit 1
fi

echo "== system packages"
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v cloud-init >/dev/null || need+=(cloud-init)
command -v netplan >/dev/null || need+=(netplan.io)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v ignition-validate >/dev/null || need+=(ignition)
# containerd reads back the runtime step's config edits (Debian's 1.6; not started).
command -v containerd >/dev/null || need+=(containerd)
if [ "${#need[@]}" -gt 0 ]; then
  # Installed only to run their validators: keep cloud-init inert on this machine and keep
  # package scripts from starting daemons (etcd) on their default configuration.
  mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
# containerd 2 (Debian sid's package, unpacked, never installed) reads back the runtime
# step's edits in containerd 2's configuration layout.
[ -x /var/cache/k8sgen-containerd2/usr/bin/containerd ] ||
  bash tests/fetch-containerd2.sh /var/cache/k8sgen-containerd2
# The tests read user-data with PyYAML, the parser cloud-init uses.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
# qemu, debootstrap, xorriso, socat, gpg, apt-ftparchive for the VM tier.
bash tests/vm/setup-host.sh
# A real OpenStack control plane on loopback (Debian's Zed: Keystone, Glance, Placement, Nova
# with fake hosts, Neutron). It starts in the background now (about 75 s) and is used after
# `cargo test`; the VM image builds meanwhile (cached per machine).
bash tests/openstack/rig.sh install
rig_dir=$(mktemp -d /tmp/k8sgen-rig.XXXXXX)/rig
bash tests/openstack/rig.sh start "$rig_dir" >"$rig_dir.log" 2>&1 &
rig_pid=$!
trap 'bash tests/openstack/rig.sh stop "$rig_dir" >/dev/null 2>&1 || true' EXIT
image_dir=$(bash tests/vm/build-image.sh /var/cache/k8sgen-vm | tail -n 1)

echo "== cargo test"
cargo test

echo "== OpenStack tier: up/down/status against the rig"
if ! wait "$rig_pid"; then
  cat "$rig_dir.log" >&2
  exit 1
fi
tail -n 1 "$rig_dir.log"
K8SGEN_OPENSTACK_RIG="$rig_dir" cargo test --test openstack_up -- --ignored --test-threads=1 --nocapture
bash tests/openstack/rig.sh stop "$rig_dir"

# First boot as OpenStack does it: five TCG VMs from config drives, with a metadata service
# and a signed package mirror, through the kubernetes step (~15 min).
echo "== VM tier: first boot from config drives (qemu)"
K8SGEN_VM_IMAGE_DIR="$image_dir" cargo test --test vm_e2e -- --ignored --nocapture
