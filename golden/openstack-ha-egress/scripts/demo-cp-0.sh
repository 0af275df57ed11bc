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
export DEBIAN_FRONTEND=noninteractive
# egress.proxy for apt, curl and kubeadm (containerd has its own drop-in); what stays inside
# the cluster or the cloud does not go through it.
export http_proxy='http://proxy.example:3128' HTTP_PROXY='http://proxy.example:3128'
export https_proxy='http://proxy.example:3128' HTTPS_PROXY='http://proxy.example:3128'
export no_proxy='localhost,127.0.0.1,10.0.0.0/24,10.244.0.0/16,10.96.0.0/12,.svc,.cluster.local,169.254.169.254,192.168.50.0/24,.corp.example,10.20.0.0/16' NO_PROXY='localhost,127.0.0.1,10.0.0.0/24,10.244.0.0/16,10.96.0.0/12,.svc,.cluster.local,169.254.169.254,192.168.50.0/24,.corp.example,10.20.0.0/16'
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
# An apt command that outlasts first-boot package jobs: dpkg's locks are waited for through
# DPkg::Lock::Timeout (/etc/apt/apt.conf.d/90k8sgen-lock-timeout), but neither the lists lock
# (apt-get update) nor dpkg itself (apt-mark) waits, so a failure naming a lock is retried for
# up to 15 minutes; a dpkg run cut short (a killed attempt) is finished first. Messages are
# matched in the C locale.
with_apt_lock() { # command...
  local deadline=$(($(date +%s) + 900)) err
  err=$(mktemp)
  until LC_ALL=C "$@" 2>"$err"; do
    cat "$err" >&2
    if grep -q 'dpkg was interrupted' "$err"; then
      LC_ALL=C dpkg --configure -a >&2 || true
    elif ! grep -qE 'Could not get lock|Unable to lock|Unable to acquire|locked by another process' "$err"; then
      rm -f "$err"
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      rm -f "$err"
      return 1
    fi
    echo "$1: another package manager holds a lock; waiting" >&2
    sleep 10
  done
  cat "$err" >&2
  rm -f "$err"
}

step_host_prep() {
  # egress.trustedCAFiles into the system store first: everything after this downloads through
  # a proxy or from a mirror that may present a certificate of those CAs.
  update-ca-certificates >/dev/null
  # The bundle every tool reads (curl, apt, Go) must now hold every certificate of each file
  # (each one's first line of base64 stands for it).
  firsts=$(grep -A1 -- '-----BEGIN CERTIFICATE-----' /usr/local/share/ca-certificates/k8sgen-egress-0.crt | grep -v -- '^-')
  while read -r line; do
    if ! grep -qF -- "$line" /etc/ssl/certs/ca-certificates.crt; then
      echo "a certificate of /usr/local/share/ca-certificates/k8sgen-egress-0.crt is not in /etc/ssl/certs/ca-certificates.crt after update-ca-certificates"
      exit 1
    fi
  done <<<"$firsts"
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
  # The metadata block below and kube-router need iptables; kubelet only recommends it.
  if ! command -v iptables >/dev/null; then
    with_apt_lock apt-get update -q
    with_apt_lock apt-get install -y -q --no-install-recommends iptables
  fi
  # Pods must not read this node's user-data from the metadata service.
  systemctl enable --now k8sgen-metadata-block.service
  retry_until 60 iptables -w -t raw -C PREROUTING -s 10.244.0.0/16 -d 169.254.169.254/32 -j DROP
}

step_admin_network() {
  # Only the admin NIC; the cluster NIC keeps the default route and the node IP.
  # No MAC known at render time: the admin NIC is the one network device that does not hold
  # the node IP.
  cluster_dev=$(ip -4 -o addr show | awk -v ip="$NODE_IP" '$4 ~ "^" ip "/" { print $2; exit }')
  candidates=""
  for dev in /sys/class/net/*; do
    dev=${dev##*/}
    if [ -e "/sys/class/net/$dev/device" ] && [ "$dev" != "$cluster_dev" ]; then
      candidates="$candidates $dev"
    fi
  done
  # shellcheck disable=SC2086 # one word per device name
  set -- $candidates
  if [ "$#" -ne 1 ]; then
    echo "cannot tell the admin NIC: candidates [${candidates# }] beside the cluster NIC ${cluster_dev:-?};" \
      "set network.admin.interface, or render through k8sgen up (it records the admin port's MAC)"
    exit 1
  fi
  admin_dev=$1
  test -n "$admin_dev"
  # Under the id cloud-init gave this NIC (its name), so netplan merges both definitions;
  # under any other id networkd would apply only cloud-init's, gateway and DNS included.
  sed "s/@ADMIN_IFNAME@/$admin_dev/" /etc/k8sgen/netplan-admin.yaml.in >/etc/netplan/60-k8sgen-admin.yaml.new
  chmod 0600 /etc/netplan/60-k8sgen-admin.yaml.new
  mv /etc/netplan/60-k8sgen-admin.yaml.new /etc/netplan/60-k8sgen-admin.yaml
  # netplan names its networkd file after that id; this drop-in clears the DNS servers
  # cloud-init puts on every static NIC.
  install -D -m 0644 /etc/k8sgen/networkd-admin-dropin.conf "/etc/systemd/network/10-netplan-$admin_dev.network.d/60-k8sgen-admin.conf"
  netplan generate
  netplan apply
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
  # Everything but Kubernetes (its own step, after etcd).
  missing=()
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v curl >/dev/null || missing+=(curl)
  if [ -n "${missing[*]:-}" ]; then
    with_apt_lock apt-get update -q
    with_apt_lock apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # k8sgen runs its own haproxy unit.
  systemctl disable --now haproxy.service 2>/dev/null || true
  # containerd 2 or later: the image's, else the release files (containerd 2.3.4
  # and runc), checked against their sha256. Distributions' 1.6 and 1.7 are past their end of
  # life; theirs stays installed but unused (/usr/local comes first, and the unit is ours).
  # containerd in /usr/local without k8sgen's unit is an attempt cut short: installed again.
  containerd_version=$(containerd --version 2>/dev/null | awk '{print $3}' || true)
  containerd_major=${containerd_version#v}
  containerd_major=${containerd_major%%.*}
  if [ "${containerd_major:-0}" -ge 2 ] 2>/dev/null &&
    { [ "$(command -v containerd)" != /usr/local/bin/containerd ] || [ -e /etc/systemd/system/containerd.service ]; }; then
    # Said so that a nodes.runtime version this node does not install is not a silent no-op.
    echo "containerd $containerd_version already installed (2.x or later): containerd 2.3.4 from the release files not needed"
  else
    downloads=/var/lib/k8sgen/downloads
    rm -rf "$downloads"
    install -d -m 0700 "$downloads/unpacked"
    fetch_checked() { # url sha256 file
      curl -fsSL --retry 5 --retry-connrefused --connect-timeout 20 --max-time 900 -o "$3" "$1"
      echo "$2  $3" | sha256sum -c -
    }
    fetch_checked "https://github.com/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-amd64.tar.gz" 9d68969855fbf676cdb8ed758e420fb048d61f984f61de3e53eddfebe484d168 "$downloads/containerd.tar.gz"
    fetch_checked "https://github.com/opencontainers/runc/releases/download/v1.4.3/runc.amd64" f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60 "$downloads/runc"
    tar -xzf "$downloads/containerd.tar.gz" -C "$downloads/unpacked" --no-same-owner bin/
    install -m 0755 "$downloads/runc" /usr/local/sbin/runc
    install -m 0644 /etc/k8sgen/containerd.service /etc/systemd/system/containerd.service
    # containerd itself last: once it is in place, everything it needs is.
    for bin in "$downloads"/unpacked/bin/*; do
      [ "${bin##*/}" = containerd ] || install -m 0755 "$bin" /usr/local/bin/
    done
    install -m 0755 "$downloads/unpacked/bin/containerd" /usr/local/bin/containerd
    rm -rf "$downloads"
    systemctl daemon-reload
    containerd_version=$(/usr/local/bin/containerd --version | awk '{print $3}')
    case "$containerd_version" in
      v2.3.4 | 2.3.4 | 2.3.4[+~-]*) ;;
      *) echo "containerd $containerd_version answers, not the 2.3.4 just installed"; exit 1 ;;
    esac
  fi
  echo "containerd=$containerd_version" >"$STATE/steps/packages.detail"
  # etcd from the release tarball, checked against its pinned sha256, unless present.
  if [ -x /usr/local/bin/etcd ] && /usr/local/bin/etcd --version | grep -q "etcd Version: $ETCD_VERSION"; then
    :
  elif command -v etcd >/dev/null; then
    echo "using the image's etcd: $(etcd --version | head -n 1)"
    ln -sf "$(command -v etcd)" /usr/local/bin/etcd
  else
    tarball=/var/lib/k8sgen/etcd.tar.gz
    curl -fsSL -o "$tarball" "$ETCD_URL"
    echo "$ETCD_SHA256  $tarball" | sha256sum -c -
    tar -xzf "$tarball" -C /usr/local/bin --strip-components=1 --no-same-owner \
      "etcd-v$ETCD_VERSION-linux-amd64/etcd" "etcd-v$ETCD_VERSION-linux-amd64/etcdctl"
    rm -f "$tarball"
  fi
}

step_runtime() {
  # containerd with systemd cgroups (1.x and 2.x layouts), then the local API load balancer.
  install -d -m 0755 /etc/containerd
  containerd config default >/etc/containerd/config.toml
  sed -i -E 's/SystemdCgroup = false/SystemdCgroup = true/; s/^disabled_plugins = \["cri"\]/disabled_plugins = []/' \
    /etc/containerd/config.toml
  grep -q 'SystemdCgroup = true' /etc/containerd/config.toml
  # Registry hosts (a hosts.toml per registry) come from /etc/containerd/certs.d for the CRI's
  # pulls; `ctr` pulls (the pre-pull, Flatcar's load balancer) name the directory themselves.
  sed -i -E 's#^(\s*)config_path = .*#\1config_path = "/etc/containerd/certs.d"#' /etc/containerd/config.toml
  install -d -m 0755 /etc/containerd/certs.d
  # kubeadm's pause for this Kubernetes, not containerd's own default (3.6 in 1.6, 3.8 in 1.7).
  set_sandbox_image /etc/containerd/config.toml "$PAUSE_IMAGE"
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
  # Kubernetes packages pinned to the plan, from pkgs.k8s.io or its mirror, unless the image has them.
  have_version() { # binary args... : the output names the plan's version
    command -v "$1" >/dev/null && "$@" 2>/dev/null | grep -q "v$K8S_VERSION"
  }
  need_kube=0
  have_version kubeadm version -o short || need_kube=1
  have_version kubelet --version || need_kube=1
  have_version kubectl version --client || need_kube=1
  # crictl (cri-tools, same repository) is what /etc/crictl.yaml configures: installed on its
  # own when missing, and only a warning if the repository lacks it (pkgs.k8s.io has opened
  # new minors without it); nothing in the boot needs it.
  need_crictl=0
  command -v crictl >/dev/null || need_crictl=1
  add_kubernetes_repository() { # each line checked: callers may run it where -e is ignored
    # apt verifies signatures as the unprivileged _apt user: the key must be world-readable
    # whatever this script's umask. An armored .asc key needs no gpg (not in every image).
    local keyring=/etc/apt/keyrings/kubernetes-apt-keyring.asc
    install -d -m 0755 /etc/apt/keyrings || return 1
    curl -fsSL -o "$keyring.part" "${PKG_REPO}Release.key" || return 1
    chmod 0644 "$keyring.part" && mv "$keyring.part" "$keyring" || return 1
    grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$keyring" || return 1
    echo "deb [signed-by=$keyring] $PKG_REPO /" >/etc/apt/sources.list.d/kubernetes.list &&
      chmod 0644 /etc/apt/sources.list.d/kubernetes.list || return 1
    # Every source, for dependencies; but a source this node cannot reach must not stop it: a
    # proxy that refuses the image's own archives (403, which apt takes as final) is common
    # (egress.distributionMirror points them elsewhere). Then the Kubernetes repository alone,
    # which must work; dependencies come from what the image's lists already hold.
    with_apt_lock apt-get update -q && return 0
    echo "apt-get update failed for some source; refreshing the Kubernetes repository alone" >&2
    with_apt_lock apt-get update -q -o Dir::Etc::sourcelist=sources.list.d/kubernetes.list \
      -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  }
  if [ "$need_kube" = 1 ]; then
    add_kubernetes_repository
    # The plan's version wins over an image's held other version (apt would stop at the hold).
    with_apt_lock apt-get install -y -q --no-install-recommends --allow-change-held-packages \
      "kubelet=$PKG_VERSION" "kubeadm=$PKG_VERSION" "kubectl=$PKG_VERSION"
    with_apt_lock apt-mark hold kubelet kubeadm kubectl
  fi
  if [ "$need_crictl" = 1 ]; then
    if { [ "$need_kube" = 1 ] || add_kubernetes_repository; } &&
      with_apt_lock apt-get install -y -q --no-install-recommends cri-tools; then
      :
    else
      echo "warning: cri-tools could not be installed from $PKG_REPO: no crictl on this node" >&2
    fi
  fi
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
