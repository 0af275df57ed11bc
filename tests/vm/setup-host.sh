#!/usr/bin/env bash
# Installs what the VM end-to-end test needs on a Debian 12 host: debootstrap (image build),
# xorriso (config drives), qemu-system-x86, iproute2 (the VMs' network namespace), socat (the
# test's way into a guest), and gpg + dpkg-deb + apt-ftparchive (the signed package mirror).
# qemu-system-x86 must come from the same suite as the machine's qemu-utils
# (bookworm-backports here), so a private sources list adds that suite for this one install
# instead of editing /etc/apt.
set -euo pipefail

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v xorriso >/dev/null || need+=(xorriso)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v ip >/dev/null || need+=(iproute2)
command -v socat >/dev/null || need+=(socat)
command -v gpg >/dev/null || need+=(gpg)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v apt-ftparchive >/dev/null || need+=(apt-utils)
[ "${#need[@]}" -eq 0 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
utils_version=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
if [[ "$utils_version" == *bpo12* ]]; then
  # Same mirror as the machine's own sources, plus the backports suite.
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  lists=$(mktemp -d)
  cat >"$lists/k8sgen-vm.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main
LIST
  apt_opts=(-o "Dir::Etc::sourcelist=$lists/k8sgen-vm.list" -o "Dir::Etc::sourceparts=-" -o "APT::Get::List-Cleanup=0")
  apt-get "${apt_opts[@]}" update -q
  apt-get "${apt_opts[@]}" install -y -q --no-install-recommends -t bookworm-backports "${need[@]}"
  rm -rf "$lists"
else
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
