#!/usr/bin/env bash
# Builds the Debian 12 guest image for the VM end-to-end test from Debian packages only
# (debootstrap), and caches it: the result lives in OUTDIR/<hash of this script>/ and a
# later run with the same script prints that directory at once.
#
# The image carries what a pre-baked k8sgen node image would (cloud-init, netplan, etcd,
# containerd, haproxy), all installed but disabled: k8sgen's boot script starts them. It has no
# Kubernetes binaries (no registry here has them), so the test stops after the etcd step.
# One test-only addition: socat forwards guest port 12379 to etcd's 127.0.0.1:2379, so the
# host can reach etcd through qemu's user-mode port forwarding (TLS stays end to end).
#
# Output: base.qcow2, vmlinuz, initrd.img. Needs root, debootstrap, qemu-img.
set -euo pipefail

out=${1:?usage: build-image.sh OUTDIR}
hash=$(sha256sum "$0" | cut -c1-16)
dest="$out/$hash"
if [ -f "$dest/base.qcow2" ] && [ -f "$dest/vmlinuz" ] && [ -f "$dest/initrd.img" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$out"
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"

mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
packages=(
  systemd-sysv udev dbus kmod procps iproute2 iptables e2fsprogs
  cloud-init python3-cffi-backend netplan.io systemd-resolved
  etcd-server etcd-client containerd haproxy curl ca-certificates openssl socat
  linux-image-amd64
)
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" >&2

cat >"$root/etc/fstab" <<'FSTAB'
/dev/vda / ext4 rw,errors=remount-ro 0 1
FSTAB
echo k8sgen-vm >"$root/etc/hostname"
cat >"$root/etc/cloud/cloud.cfg.d/90-k8sgen-vm.cfg" <<'CFG'
# NoCloud seed ISO only; network config rendered by netplan, as on Debian cloud images.
# No locales package in this minimal image: use the C.UTF-8 locale glibc always has.
datasource_list: [NoCloud, None]
locale: C.UTF-8
system_info:
  network:
    renderers: [netplan]
CFG
cat >"$root/etc/systemd/system/k8sgen-vm-etcd-forward.service" <<'UNIT'
[Unit]
Description=Test image only: host access to etcd through qemu user-mode forwarding
After=network.target

[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:12379,fork,reuseaddr TCP:127.0.0.1:2379
Restart=always

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl disable etcd.service containerd.service haproxy.service >&2
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service \
  k8sgen-vm-etcd-forward.service >&2
# The DHCP client of the minbase variant is absent; cloud-init's netplan output uses networkd.
rm -f "$root/etc/resolv.conf"
ln -s /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

kernel=$(find "$root/boot" -name 'vmlinuz-*' | sort | tail -n 1)
cp "$kernel" "$work/vmlinuz"
cp "$root/boot/initrd.img-${kernel##*/vmlinuz-}" "$work/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb
mkfs.ext4 -q -L root -d "$root" "$work/disk.raw" 3G >&2
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/base.qcow2"
mkdir -p "$dest"
mv "$work/base.qcow2" "$work/vmlinuz" "$work/initrd.img" "$dest/"
echo "$dest"
