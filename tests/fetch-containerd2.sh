#!/usr/bin/env bash
# Unpacks Debian sid's containerd 2 package into DIR (DIR/usr/bin/containerd) for the tests
# that read back the runtime step's configuration in containerd 2's layout (config version 3).
# Only its binary is used, from a private apt state: nothing is installed on this machine.
# Usage: fetch-containerd2.sh DIR
set -euo pipefail
dir=${1:?usage: fetch-containerd2.sh DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" \
  >"$work/sources.list"
apt=(apt-get -q -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State=$work/state" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null)
"${apt[@]}" update >/dev/null
# apt warns that it downloads as root (its _apt user cannot write here); harmless.
(cd "$work" && "${apt[@]}" download containerd/sid 2>/dev/null)
deb=$(ls "$work"/containerd_*.deb)
rm -rf "$dir.new"
dpkg-deb -x "$deb" "$dir.new"
version=$("$dir.new/usr/bin/containerd" --version)
case "$version" in
  *" 2."*) ;;
  *) echo "fetch-containerd2.sh: sid's containerd is not 2.x: $version" >&2; exit 1 ;;
esac
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "$version"
