#!/bin/bash
# shellcheck disable=SC2317 # steps run through run_step (declare -f), which shellcheck cannot follow
# k8sgen boot script (init): idempotent, retried, time-limited steps; one console line each.
set -uo pipefail
umask 077

export NODE=demo-cp-0
export NODE_IP=10.0.0.11
export LB_PORT=7443
export K8S_VERSION=1.36.4
# An apt version pattern: the plan's version at the highest revision published.
export PKG_VERSION='1.36.4-*'
export PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
export PKG_REPO=https://pkgs.k8s.io/core:/stable:/v1.36/deb/
export ETCD_VERSION=3.6.14
export ETCD_SHA256=ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5
export ETCD_URL=https://github.com/etcd-io/etcd/releases/download/v3.6.14/etcd-v3.6.14-linux-amd64.tar.gz
export PATH=/opt/bin:$PATH
export KUBECONFIG=/etc/kubernetes/admin.conf
export STATE=/var/lib/k8sgen
export LOG=/var/log/k8sgen/bootstrap.log
STEPS_TOTAL=9
BOOT_START=$(date +%s)

mkdir -p "$STATE/steps" /var/log/k8sgen
chmod 0700 "$STATE" /var/log/k8sgen
# systemd restarts a failed run (finished steps are skipped); three runs, then it gives up
# for good with an exit status the unit does not restart on.
RUNS=$(($(cat "$STATE/runs" 2>/dev/null || echo 0) + 1))
echo "$RUNS" >"$STATE/runs"

# Nova's console log records the first serial port. systemd copies this unit's output to
# /dev/console, which is the last console= of the kernel command line (the last name in
# /sys/class/tty/console/active): ttyS0 on Ubuntu and Debian cloud images, but tty0, the
# screen, on Flatcar's (console=ttyS0,115200n8 console=tty0). So a console line also goes to
# ttyS0 when /dev/console is another device; never twice to the same one. A write that
# cannot finish (a port without a reader) is given up after 5 s.
console_line() { # text
  local active
  echo "$1"
  active=$(cat /sys/class/tty/console/active 2>/dev/null) || active=
  if [ -w /dev/ttyS0 ] && [ -n "$active" ] && [ "${active##* }" != ttyS0 ]; then
    # shellcheck disable=SC2016 # $1 is the inner shell's argument
    timeout 5 bash -c 'echo "$1" >>/dev/ttyS0' _ "$1" 2>/dev/null || true
  fi
}
if [ "$RUNS" -gt 3 ]; then # only when started by hand after the third failed run
  console_line "k8sgen: node=$NODE gave up after 3 runs; see $LOG (remove $STATE/runs to try again)"
  exit 75
fi

progress() { # index name status [detail]
  local line="k8sgen: node=$NODE step=$1/$STEPS_TOTAL $2 $3 elapsed=$(($(date +%s) - BOOT_START))s${4:+ $4}"
  console_line "$line"
  echo "$line" >>"$LOG"
}

last_log_line() {
  tail -n 1 "$LOG" | tr -d '"' | sed -E 's/[a-z0-9]{6}\.[a-z0-9]{16}/[token]/g' | cut -c1-160
}

run_step() { # index name timeout-seconds attempts function
  local index=$1 name=$2 limit=$3 attempts=$4 fn=$5 try
  if [ -e "$STATE/steps/$name.done" ]; then
    progress "$index" "$name" ok "already-done"
    return 0
  fi
  for ((try = 1; try <= attempts; try++)); do
    echo "== $(date -u +%FT%TZ) $name attempt $try/$attempts" >>"$LOG"
    if timeout --kill-after=10 "$limit" bash -euo pipefail -c "$(declare -f); $fn" >>"$LOG" 2>&1; then
      touch "$STATE/steps/$name.done"
      progress "$index" "$name" ok "$(cat "$STATE/steps/$name.detail" 2>/dev/null || true)"
      return 0
    fi
    [ "$try" -lt "$attempts" ] && sleep $((try * 10))
  done
  progress "$index" "$name" failed "run=$RUNS/3 attempts=$attempts log=$LOG last=\"$(last_log_line)\""
  exit 1
}

# Helpers shared by the steps.
retry_until() { # seconds command... : poll every 5 s until the command succeeds
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 5
  done
}
# The background pulls (k8sgen-prepull.service, started by the runtime step): waits up to $1
# seconds for $2 (`kubeadm`: kubeadm's images on a master; `result`: all), starting the pulls
# again when a reboot or crash cut them short, and prints how they went or how far they are.
prepull_report() { # seconds kubeadm|result
  local dir=/var/lib/k8sgen/prepull
  if [ ! -e "$dir/$2" ] && [ "$(systemctl is-active k8sgen-prepull.service)" != activating ]; then
    systemctl start --no-block k8sgen-prepull.service
  fi
  retry_until "$1" test -e "$dir/$2" || true
  if [ -e "$dir/$2" ]; then
    cat "$dir/$2"
  else
    echo "images=$(cat "$dir/progress" 2>/dev/null || echo 0/?) pulling"
  fi
}
# containerd's sandbox image, in either config layout: `sandbox_image` in the CRI table
# (config version 2, containerd 1.x; 2.x migrates it) or `sandbox` under the images plugin's
# pinned_images (version 3 and later, 2.x). A file without the key gets it in its layout's
# table, inserted under an existing header (TOML refuses a table defined twice). containerd
# itself must then read the image back.
set_sandbox_image() { # config-file image
  local config=$1 image=$2 version header table key
  version=$(sed -nE 's/^version *= *([0-9]+).*/\1/p' "$config" | head -n 1)
  if grep -qE '^\s*sandbox(_image)? = ' "$config"; then
    sed -i -E "s#^(\s*)(sandbox(_image)?) = .*#\1\2 = \"$image\"#" "$config"
  else
    if [ "${version:-1}" -ge 3 ]; then
      header="\[plugins\.['\"]io\.containerd\.cri\.v1\.images['\"]\.pinned_images\]"
      table="[plugins.'io.containerd.cri.v1.images'.pinned_images]" key=sandbox
    else
      header="\[plugins\.['\"]io\.containerd\.grpc\.v1\.cri['\"]\]"
      table='[plugins."io.containerd.grpc.v1.cri"]' key=sandbox_image
    fi
    if grep -qE "^\s*$header\s*$" "$config"; then
      sed -i -E "/^\s*$header\s*$/a\\  $key = \"$image\"" "$config"
    else
      printf '\n%s\n  %s = "%s"\n' "$table" "$key" "$image" >>"$config"
    fi
  fi
  containerd --config "$config" config dump 2>/dev/null |
    grep -qE "^\s*sandbox(_image)? = ['\"]${image}['\"]"
}

step_host_prep() {
  # Modules, sysctls, swap off.
  while read -r module; do
    case "$module" in ''|'#'*) continue ;; esac
    modprobe "$module"
  done </etc/modules-load.d/k8sgen.conf
  sysctl --system >/dev/null
  swapoff -a
  # Flatcar ships no /etc/fstab (its mounts are systemd units).
  if [ -e /etc/fstab ]; then
    sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/#/' /etc/fstab
  fi
  # locksmithd would reboot this node as soon as an update is staged; /etc/flatcar/update.conf
  # (REBOOT_STRATEGY=off) makes it exit, and FLUO, which replaces it, asks for it masked.
  systemctl mask --now locksmithd.service
  # Pods must not read this node's user-data from the metadata service.
  systemctl enable --now k8sgen-metadata-block.service
  retry_until 60 iptables -w -t raw -C PREROUTING -s 10.244.0.0/16 -d 169.254.169.254/32 -j DROP
}

step_admin_network() {
  # Only the admin NIC; the cluster NIC keeps the default route and the node IP.
  admin_dev=eth1
  test -n "$admin_dev"
  networkctl reload
  retry_until 60 bash -c "ip -4 -o addr show dev $admin_dev | grep -q ' inet '"
  # netplan apply re-runs DHCP; what the old lease installed takes a moment to go.
  admin_default_route() { ip -4 route show default | grep -qE "dev $admin_dev( |\$)"; }
  admin_dns() { command -v resolvectl >/dev/null && [ -n "$(resolvectl dns "$admin_dev" 2>/dev/null | sed 's/^[^:]*://' | tr -d ' ')" ]; }
  if ! retry_until 30 eval '! admin_default_route'; then
    echo "the default route goes through the admin NIC $admin_dev: its subnet's gateway or static" \
      "routes reached it (a static port's routes cannot be overridden); create the admin subnet" \
      "with --gateway none and no host routes"
    exit 1
  fi
  if ! retry_until 30 eval '! admin_dns'; then
    echo "the admin NIC $admin_dev contributes DNS servers: create the admin subnet without dns_nameservers"
    exit 1
  fi
  address=$(ip -4 -o addr show dev "$admin_dev" | awk '{print $4; exit}')
  echo "dev=$admin_dev address=$address default-route=no" >"$STATE/steps/admin-network.detail"
}

step_packages() {
  # Flatcar ships containerd and has no package manager. Masters get etcd from its release
  # tarball, checked against the pinned sha256; Kubernetes comes in the `kubernetes` step.
  install -d -m 0755 /opt/bin /var/lib/k8sgen/downloads
  fetch() { # url sha256 file
    curl -fsSL --retry 3 -o "$3.part" "$1"
    echo "$2  $3.part" | sha256sum -c -
    mv "$3.part" "$3"
  }
  if [ -x /opt/bin/etcd ] && /opt/bin/etcd --version | grep -q "etcd Version: $ETCD_VERSION"; then
    :
  else
    fetch "$ETCD_URL" "$ETCD_SHA256" /var/lib/k8sgen/downloads/etcd.tar.gz
    tar -xzf /var/lib/k8sgen/downloads/etcd.tar.gz -C /opt/bin --strip-components=1 --no-same-owner \
      "etcd-v$ETCD_VERSION-linux-amd64/etcd" "etcd-v$ETCD_VERSION-linux-amd64/etcdctl"
  fi
  rm -rf /var/lib/k8sgen/downloads
}

step_runtime() {
  # containerd with systemd cgroups (1.x and 2.x layouts), then the local API load balancer.
  # Flatcar: its own configuration stays where its system extension updates it. k8sgen's
  # /etc/containerd/config.toml imports it, then /etc/containerd/k8sgen.toml (kubeadm's pause,
  # registry hosts from /etc/containerd/certs.d), which wins where both set a key: containerd
  # merges imports in order. The unit reads it through CONTAINERD_CONFIG (k8sgen's drop-in).
  install -d -m 0755 /etc/containerd/certs.d
  # containerd 2.3 refuses an import of a higher version than the main file, and 2.1-2.2 would
  # merge k8sgen's version 2 settings into a later layout unmigrated.
  flatcar_version=$(sed -nE 's/^version *= *([0-9]+).*/\1/p' /usr/share/containerd/config.toml | head -n 1)
  if [ "${flatcar_version:-2}" != 2 ]; then
    echo "Flatcar's /usr/share/containerd/config.toml is version $flatcar_version; k8sgen's import layout is for version 2"
    exit 1
  fi
  systemctl daemon-reload
  dump=$(containerd --config /etc/containerd/config.toml config dump)
  for want in 'SystemdCgroup = true' "sandbox = '$PAUSE_IMAGE'" "config_path = '/etc/containerd/certs.d'"; do
    if ! grep -qF -- "$want" <<<"${dump//\"/\'}"; then
      echo "containerd's merged configuration lacks: $want"
      exit 1
    fi
  done
  systemctl enable containerd.service
  systemctl restart containerd.service
  retry_until 60 test -S /run/containerd/containerd.sock
  # This node's images, in the background, while the next steps run (k8sgen-prepull.service).
  systemctl daemon-reload
  systemctl start --no-block k8sgen-prepull.service
  systemctl daemon-reload
  systemctl enable k8sgen-apiserver-lb.service
  systemctl restart k8sgen-apiserver-lb.service
  retry_until 30 bash -c "echo >/dev/tcp/127.0.0.1/$LB_PORT"
}

step_etcd() {
  # All masters start etcd together from the static initial cluster; --no-block because a
  # member's start only completes once a quorum of peers is up.
  install -d -m 0700 /var/lib/etcd
  systemctl daemon-reload
  systemctl enable k8sgen-etcd.service
  systemctl start --no-block k8sgen-etcd.service
  etcd_healthy() {
    curl -fsS --max-time 5 --cacert /etc/kubernetes/pki/etcd/ca.crt \
      --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
      --key /etc/kubernetes/pki/etcd/healthcheck-client.key \
      https://127.0.0.1:2379/health | grep -q '"health":"true"'
  }
  retry_until 1500 etcd_healthy
}

step_kubernetes() {
  # Kubernetes on Flatcar: pinned release binaries go to /opt/bin (and CNI plugins to
  # /opt/cni/bin), each checked against its sha256 before it is moved into place, and skipped
  # when present at the plan's version.
  install -d -m 0755 /opt/bin /opt/cni/bin /var/lib/k8sgen/downloads
  fetch() { # url sha256 file
    curl -fsSL --retry 3 -o "$3.part" "$1"
    echo "$2  $3.part" | sha256sum -c -
    mv "$3.part" "$3"
  }
  if ! /opt/bin/kubeadm version -o short 2>/dev/null | grep -qx "v$K8S_VERSION"; then
    fetch https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubeadm 10d054585907f2c8bb823c84f6a66b3bd2a474c3d795475f04e9a44f78650fe6 /opt/bin/kubeadm
    chmod 0755 /opt/bin/kubeadm
  fi
  if ! /opt/bin/kubelet --version 2>/dev/null | grep -q "v$K8S_VERSION\$"; then
    fetch https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubelet cf2562db46c48ab84cc3791540778ee7fb1a0a008529adbb434723dd02ed8b4b /opt/bin/kubelet
    chmod 0755 /opt/bin/kubelet
  fi
  if ! /opt/bin/kubectl version --client 2>/dev/null | grep -q "v$K8S_VERSION\$"; then
    fetch https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubectl 8b8f088da2dab964f853b38464033b1be15ede2839eca751482357c45abdd05a /opt/bin/kubectl
    chmod 0755 /opt/bin/kubectl
  fi
  if [ ! -x /opt/bin/crictl ]; then
    fetch https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz 83855e114566a8a8c44c548d515670f51de3a5e1da8b2effb59870e2f10c25a3 /var/lib/k8sgen/downloads/crictl.tar.gz
    tar -xzf /var/lib/k8sgen/downloads/crictl.tar.gz -C /opt/bin --no-same-owner crictl
  fi
  if [ ! -x /opt/cni/bin/bridge ]; then
    fetch https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz b98f74a0f8522f0a83867178729c1aa70f2158f90c45a2ca8fa791db1c76b303 /var/lib/k8sgen/downloads/cni-plugins.tgz
    tar -xzf /var/lib/k8sgen/downloads/cni-plugins.tgz -C /opt/cni/bin --no-same-owner
  fi
  systemctl daemon-reload
  systemctl enable kubelet.service
  rm -rf /var/lib/k8sgen/downloads
}

step_control_plane() {
  # The control-plane phases, run locally with the shipped CAs; kubeadm mints the API server,
  # front-proxy and kubeconfig certificates itself. No phase here needs another master's data.
  config=/etc/kubernetes/k8sgen/kubeadm.yaml
  pulls=
  if [ ! -e /etc/kubernetes/manifests/kube-apiserver.yaml ]; then
    # kubeadm's preflight would pull its images itself: let the background pulls of those
    # finish first (up to 15 minutes), and say how they went on this step's console line.
    pulls=$(prepull_report 900 kubeadm)
    kubeadm init phase preflight --config "$config"
  fi
  kubeadm init phase certs all --config "$config"
  kubeadm init phase kubeconfig all --config "$config"
  kubeadm init phase control-plane all --config "$config"
  kubeadm init phase kubelet-start --config "$config"
  kubeadm init phase wait-control-plane --config "$config"
  # kubelet.conf was written with an embedded client certificate that expires in a year: point
  # it at the kubelet's rotating one, on every master as kubeadm init does on its one.
  kubeadm init phase kubelet-finalize all --config "$config"
  # The phase does nothing, successfully, when the kubelet has not written its certificate yet.
  grep -q 'client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem' /etc/kubernetes/kubelet.conf
  retry_until 600 kubectl get --raw /readyz
  retry_until 300 kubeadm init phase mark-control-plane --config "$config"
  echo "$pulls" >"$STATE/steps/control-plane.detail"
}

step_cluster_addons() {
  # Cluster-wide phases, on the init master only: shared configuration, the pre-computed
  # bootstrap token, CoreDNS, the cloud.conf Secret, then kube-router, OCCM and Cinder CSI
  # (RBAC before each workload). kube-proxy is never installed: kube-router is the service proxy.
  config=/etc/kubernetes/k8sgen/kubeadm.yaml
  kubectl get clusterrolebinding kubeadm:cluster-admins >/dev/null 2>&1 ||
    kubectl --kubeconfig /etc/kubernetes/super-admin.conf create clusterrolebinding \
      kubeadm:cluster-admins --clusterrole=cluster-admin --group=kubeadm:cluster-admins
  kubeadm init phase upload-config all --config "$config"
  kubeadm init phase bootstrap-token --config "$config" >/dev/null
  kubeadm init phase addon coredns --config "$config"
  # OCCM (and Cinder CSI) read cloud.conf from this Secret. Piped, so the credential is never
  # printed; applied, so a rerun updates it.
  kubectl -n kube-system create secret generic cloud-config \
    --from-file=cloud.conf=/etc/kubernetes/cloud.conf --dry-run=client -o yaml |
    kubectl apply --server-side --force-conflicts -f - >/dev/null
  kubectl apply --server-side --force-conflicts -f /etc/kubernetes/k8sgen/addons/
}

run_step 1 host-prep 2400 3 step_host_prep
run_step 2 admin-network 300 3 step_admin_network
run_step 3 packages 2400 3 step_packages
run_step 4 runtime 300 3 step_runtime
run_step 5 etcd 1800 1 step_etcd
run_step 6 kubernetes 2400 3 step_kubernetes
run_step 7 control-plane 1800 2 step_control_plane
run_step 8 cluster-addons 900 3 step_cluster_addons

touch "$STATE/bootstrap.done"
progress 9 "done" ok
