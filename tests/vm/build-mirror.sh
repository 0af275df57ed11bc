#!/usr/bin/env bash
# Builds a package mirror laid out like pkgs.k8s.io for the VM end-to-end test:
#   OUTDIR/core:/stable:/vMAJOR.MINOR/deb/{InRelease,Release,Release.gpg,Release.key,Packages*,*.deb}
# signed by a key made for this run only (its private half is deleted at the end).
#
# The packages are named kubelet, kubeadm and kubectl at DEB_VERSION, but they are TEST
# PACKAGES: each installs one script that only prints the version the way the real binary
# does (`kubelet --version`, `kubeadm version -o short`, `kubectl version --client`). The
# real binaries cannot be fetched on this machine. What the test proves with them is the
# node's apt path: key, signature, pinning, holds, the dpkg lock.
#
# Usage: build-mirror.sh OUTDIR KUBE_VERSION DEB_VERSION...   (e.g. out 1.36.4 1.36.4-1.1 1.36.4-2.1)
# Several revisions of the version are all published, as pkgs.k8s.io has done.
# Needs gpg, dpkg-deb, apt-ftparchive (apt-utils).
set -euo pipefail
out=${1:?usage: build-mirror.sh OUTDIR KUBE_VERSION DEB_VERSION...}
kube=${2:?}
debs=("${@:3}")
[ "${#debs[@]}" -gt 0 ] || { echo "build-mirror.sh: no DEB_VERSION" >&2; exit 2; }
minor=v$(echo "$kube" | cut -d. -f1,2)
repo="$out/core:/stable:/$minor/deb"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$repo"

for deb in "${debs[@]}"; do
for name in kubelet kubeadm kubectl cri-tools; do
  pkg="$work/$name-$deb"
  mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin"
  version=$deb bin=$name
  case $name in
    kubelet) say="Kubernetes v$kube" ;;
    kubeadm) say="v$kube" ;;
    kubectl) say="Client Version: v$kube" ;;
    cri-tools) say="crictl version v${kube%.*}.0" version="${kube%.*}.0-1.1" bin=crictl ;;
  esac
  printf '#!/bin/sh\n# k8sgen VM test package: prints its version only.\necho "%s"\n' "$say" >"$pkg/usr/bin/$bin"
  chmod 0755 "$pkg/usr/bin/$bin"
  cat >"$pkg/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: amd64
Maintainer: k8sgen tests <tests@k8sgen.invalid>
Section: admin
Priority: optional
Description: k8sgen VM test package standing in for $name $kube
 Test package only: its $name prints the version and does nothing else. The real
 Kubernetes binaries cannot be fetched on the machine that runs k8sgen's tests.
CONTROL
  dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$repo/${name}_${version}_amd64.deb" >/dev/null
done
done

export GNUPGHOME="$work/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-gen-key "k8sgen VM test mirror (test only) <tests@k8sgen.invalid>" ed25519 sign never
(
  cd "$repo"
  apt-ftparchive packages . >Packages
  gzip -9kn Packages
  apt-ftparchive -o APT::FTPArchive::Release::Origin="k8sgen-test" \
    -o APT::FTPArchive::Release::Label="k8sgen-test" release . >Release
  gpg --batch --yes --armor --detach-sign -o Release.gpg Release
  gpg --batch --yes --clearsign -o InRelease Release
  gpg --batch --yes --armor --export >Release.key
)
echo "$repo"
