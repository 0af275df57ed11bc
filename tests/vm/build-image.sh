#!/usr/bin/env bash
# Builds the Debian 12 guest image for the VM end-to-end test from Debian packages only
# (debootstrap), and caches it: the result lives in OUTDIR/<hash of this script>/ and a
# later run with the same script prints that directory at once.
#
# What it resembles: the official Debian 12 generic cloud image (debian-cloud-images,
# classes SYSTEM_BOOT, CLOUD, GENERIC, EXTRAS): minbase, cloud-init choosing its datasource
# itself (no datasource_list, as the official image sets none; ds-identify finds the
# `config-2` drive), netplan.io + systemd-networkd + systemd-resolved, iptables,
# unattended-upgrades, curl, ca-certificates, socat; no gnupg, no nftables, no Kubernetes.
# The build fails if gpg or any Kubernetes binary ends up in it.
#
# What it adds, as a pre-baked node image would: containerd, haproxy and etcd (the guest has
# no Debian mirror; k8sgen's `packages` step skips what the image has). kubelet, kubeadm and
# kubectl are NOT baked in: nodes install them from the test's signed package mirror.
#
# Test-only additions, reachable only from the host through qemu port forwarding:
#  - socat forwards guest port 12379 to etcd's 127.0.0.1:2379 (TLS stays end to end);
#  - a shell on guest port 12222, so the test can look at a running node without SSH;
#  - k8sgen-test-dpkg-lock.service holds the dpkg and apt locks for 120 s right before the
#    node's `kubernetes` step, as unattended-upgrades/apt-daily do on a first boot.
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
  # as in the official generic cloud image
  systemd-sysv udev dbus kmod procps iproute2 iptables e2fsprogs
  cloud-init python3-cffi-backend netplan.io systemd-resolved
  unattended-upgrades curl ca-certificates socat
  linux-image-amd64
  # pre-baked runtime parts (see above)
  etcd-server containerd haproxy
)
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" >&2

for absent in gpg kubeadm kubelet kubectl nft; do
  if chroot "$root" sh -c "command -v $absent" >/dev/null 2>&1; then
    echo "build-image: $absent must not be in the image" >&2
    exit 1
  fi
done

cat >"$root/etc/fstab" <<'FSTAB'
/dev/vda / ext4 rw,errors=remount-ro 0 1
FSTAB
echo debian >"$root/etc/hostname"
# The official image's sources; unreachable from the guest, as on an isolated cloud.
cat >"$root/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
cat >"$root/etc/cloud/cloud.cfg.d/90-k8sgen-vm.cfg" <<'CFG'
# No locales package in this minimal image: use the C.UTF-8 locale glibc always has.
locale: C.UTF-8
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
cat >"$root/etc/systemd/system/k8sgen-vm-shell.service" <<'UNIT'
[Unit]
Description=Test image only: a shell for the VM test on guest port 12222 (host-forwarded)
After=network.target

[Service]
ExecStart=/usr/bin/socat -t 600 TCP-LISTEN:12222,fork,reuseaddr EXEC:/bin/bash,stderr
Restart=always

[Install]
WantedBy=multi-user.target
UNIT
cat >"$root/usr/local/sbin/k8sgen-test-dpkg-lock" <<'PY'
#!/usr/bin/python3
"""Test image only: hold the locks unattended-upgrades (dpkg) and apt-daily (lists) hold,
for 120 s, starting right before this node's `kubernetes` step (after etcd on a master,
after runtime on a worker). Writes when it held them to /var/log/k8sgen-test-lock.log."""
import fcntl, os, time

steps = "/var/lib/k8sgen/steps"
master = os.path.exists("/etc/systemd/system/k8sgen-etcd.service")
trigger = os.path.join(steps, "etcd.done" if master else "runtime.done")
while not os.path.exists(trigger):
    time.sleep(0.2)
held = []
for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock"):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    held.append(fd)
start = time.time()
with open("/dev/console", "w") as console:
    print("k8sgen-test: dpkg and apt locks held", file=console, flush=True)
time.sleep(120)
for fd in held:
    os.close(fd)
with open("/var/log/k8sgen-test-lock.log", "w") as log:
    log.write(f"held {start:.0f} released {time.time():.0f}\n")
PY
chmod 0755 "$root/usr/local/sbin/k8sgen-test-dpkg-lock"
cat >"$root/etc/systemd/system/k8sgen-test-dpkg-lock.service" <<'UNIT'
[Unit]
Description=Test image only: hold the dpkg lock as a first-boot unattended-upgrades run does

# Not oneshot: multi-user.target would wait for it, and cloud-final (which starts k8sgen's
# boot unit, the trigger) waits for multi-user.target.
[Service]
Type=simple
ExecStart=/usr/local/sbin/k8sgen-test-dpkg-lock

[Install]
WantedBy=multi-user.target
UNIT

chroot "$root" systemctl disable etcd.service containerd.service haproxy.service >&2
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service \
  k8sgen-vm-etcd-forward.service k8sgen-vm-shell.service k8sgen-test-dpkg-lock.service >&2
rm -f "$root/etc/resolv.conf"
ln -s /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

kernel=$(find "$root/boot" -name 'vmlinuz-*' | sort | tail -n 1)
cp "$kernel" "$work/vmlinuz"
cp "$root/boot/initrd.img-${kernel##*/vmlinuz-}" "$work/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_dists_*
mkfs.ext4 -q -L root -d "$root" "$work/disk.raw" 3G >&2
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/base.qcow2"
mkdir -p "$dest"
mv "$work/base.qcow2" "$work/vmlinuz" "$work/initrd.img" "$dest/"
echo "$dest"
