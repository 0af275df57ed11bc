#!/usr/bin/env bash
# A real OpenStack control plane on 127.0.0.1 for the OpenStack provider's tests, from Debian 12
# packages (release Zed): MariaDB (unix socket only), RabbitMQ, Keystone and Placement under
# uwsgi, Glance, Nova (api, conductor, scheduler, three nova-compute with the fake virt driver)
# and Neutron ML2 with the rig's own mechanism driver. No systemd, nothing on other addresses.
# Facts and pitfalls: shared reference test-rigs §A.
#
#   rig.sh install                 apt packages (no daemon starts on its default config)
#   rig.sh start DIR               the whole cloud; state, logs and pid files in DIR;
#                                  writes DIR/clouds.yaml (cloud `rig`, admin, RegionOne;
#                                  cloud `rig-member`, member of member-project; cloud
#                                  `rig-short`, admin through a Keystone on :5002 whose
#                                  tokens live 40 s; cloud `rig-tls`, admin over TLS,
#                                  RegionTwo, trusting DIR/ca.pem)
#   rig.sh start-keystone DIR PORT [TLS-PORT [MTLS-PORT]]
#                                  Keystone alone on PORT (for the Keystone client's tests),
#                                  its tokens living $TOKEN_SECONDS (3600, Keystone's default);
#                                  with TLS-PORT, a TLS front there too (CA in DIR/ca.pem);
#                                  with MTLS-PORT, one that requires a client certificate
#                                  (DIR/tls/client.pem and client.key are one)
#   rig.sh stop DIR                stop what start started
#
# Endpoints: Keystone :5000/v3, Glance :9292, Placement :8778, Nova :8774/v2.1, Neutron :9696.
# The same over TLS, 10000 ports up (Keystone :15000/v3, Glance :19292, Placement :18778,
# Nova :18774/v2.1, Neutron :19696), terminated by tests/openstack/tls_front.py with a
# certificate for 127.0.0.1 and localhost from the rig's own CA (DIR/ca.pem; its key never
# leaves DIR/tls). The catalog lists the TLS endpoints as region RegionTwo (rig-setup.py).
# The admin user is `admin` / `adminpw`; service users are `<service>` / `<service>-pw`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# Nova and Neutron are Debian's Python modules: always Debian's interpreter, whatever
# `python3` is first on PATH.
py=/usr/bin/python3
computes=3
rabbit_port=5672

log() { printf '%s rig: %s\n' "$(date +%T)" "$*" >&2; }

wait_http() { # URL NAME LOGFILE
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.5
  done
  log "$2 did not answer at $1; last lines of $3:"
  tail -n 30 "$3" >&2 || true
  return 1
}

# Start a daemon in the background with its output in DIR/log/NAME.out and its pid in
# DIR/run/NAME.pid.
spawn() { # NAME COMMAND...
  local name=$1
  shift
  "$@" >"$dir/log/$name.out" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

start_mariadb() {
  mkdir -p "$dir"/{mysql,tmp,run,log}
  # A tmpdir of its own: a starting mariadbd deletes every '#sql' file in its tmpdir, so
  # instances sharing /tmp (the rig beside the Keystone tests in CI) delete each other's
  # bootstrap tables ("Unknown table 'mysql.tmp_user_sys'").
  if ! mariadb-install-db --no-defaults --datadir="$dir/mysql" --tmpdir="$dir/tmp" --user=root \
    --auth-root-authentication-method=socket >"$dir/log/mysql-install.log" 2>&1; then
    log "mariadb-install-db failed (its own lines first, then the end of its log):"
    grep -E 'ERROR|Warning' "$dir/log/mysql-install.log" >&2 || true
    tail -n 30 "$dir/log/mysql-install.log" >&2
    return 1
  fi
  mariadbd --no-defaults --user=root --datadir="$dir/mysql" --tmpdir="$dir/tmp" \
    --socket="$dir/run/mysql.sock" --skip-networking --pid-file="$dir/run/mysql.pid" \
    --log-error="$dir/log/mysql.log" --max-connections=500 &
  # A loaded machine (CI builds beside it) can take a while.
  for _ in $(seq 1 300); do [ -S "$dir/run/mysql.sock" ] && return 0; sleep 0.2; done
  log "mariadbd made no socket in 60 s:"
  tail -n 30 "$dir/log/mysql.log" >&2
  return 1
}

create_db() { # NAME...
  local sql=""
  for db in "$@"; do
    sql+="CREATE DATABASE $db; CREATE USER '$db'@'localhost' IDENTIFIED BY '$db-db';
          GRANT ALL PRIVILEGES ON $db.* TO '$db'@'localhost';"
  done
  mariadb --no-defaults --socket="$dir/run/mysql.sock" -u root -e "$sql"
}

db_url() { echo "mysql+pymysql://$1:$1-db@localhost/$1?unix_socket=$dir/run/mysql.sock"; }

service_auth() { # SECTION SERVICE-USER
  cat <<CONF
[$1]
auth_url = http://127.0.0.1:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $2-pw
region_name = RegionOne
CONF
}

# keystonemiddleware's section: the service user plus the URL it tells clients to get tokens at.
authtoken() { # SERVICE-USER
  service_auth keystone_authtoken "$1"
  echo "www_authenticate_uri = http://127.0.0.1:5000/v3"
}

keystone_conf() { # PUBLIC-URL
  mkdir -p "$dir"/{fernet,credential}
  cat >"$dir/keystone.conf" <<CONF
[DEFAULT]
log_dir = $dir/log
[database]
connection = $(db_url keystone)
[token]
provider = fernet
expiration = ${token_seconds:-3600}
[fernet_tokens]
key_repository = $dir/fernet
[fernet_receipts]
key_repository = $dir/fernet
[credential]
key_repository = $dir/credential
[identity]
# Test rig only: fast password hashing makes token issue take milliseconds.
password_hash_rounds = 4
CONF
}

keystone_bootstrap() { # PORT
  local url="http://127.0.0.1:$1/v3/"
  local km=(keystone-manage --config-file "$dir/keystone.conf")
  "${km[@]}" fernet_setup --keystone-user root --keystone-group root
  "${km[@]}" credential_setup --keystone-user root --keystone-group root
  "${km[@]}" bootstrap --bootstrap-password adminpw --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" --bootstrap-public-url "$url"
}

# uwsgi's plain http socket drops kept-alive connections silently: tell clients to close.
uwsgi_app() { # NAME PORT WSGI-FILE
  uwsgi --plugin python3 --http-socket "127.0.0.1:$2" --wsgi-file "$3" \
    --add-header "Connection: close" --master --processes 1 --threads 8 \
    --pidfile "$dir/run/$1.pid" --daemonize "$dir/log/$1.log"
}

start_keystone() { # PORT
  OS_KEYSTONE_CONFIG_DIR="$dir" OS_KEYSTONE_CONFIG_FILES=keystone.conf \
    uwsgi_app keystone "$1" /usr/bin/keystone-wsgi-public
  wait_http "http://127.0.0.1:$1/v3" keystone "$dir/log/keystone.log"
}

# The rig's private CA and the fronts' certificate (EC P-256, 30 days: a rig lives minutes).
make_tls_ca() {
  local t=$dir/tls
  mkdir -p "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=k8sgen test rig CA" -keyout "$t/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>"$dir/log/openssl.log"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$t/server.key" -out "$t/server.csr" 2>>"$dir/log/openssl.log"
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$dir/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -extfile "$t/server.ext" -out "$t/server.pem" 2>>"$dir/log/openssl.log"
  # A client certificate, for the front that requires one.
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=k8sgen test client" -keyout "$t/client.key" -out "$t/client.csr" 2>>"$dir/log/openssl.log"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" >"$t/client.ext"
  openssl x509 -req -in "$t/client.csr" -CA "$dir/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -extfile "$t/client.ext" -out "$t/client.pem" 2>>"$dir/log/openssl.log"
}

# TLS fronts (tls_front.py), answering once the rig CA verifies them.
start_tls_fronts() { # [--client-ca] LISTEN:BACKEND...
  local name=tls-front client=()
  if [ "$1" = --client-ca ]; then
    name=tls-front-mtls client=(--client-ca "$dir/ca.pem")
    shift
  fi
  spawn "$name" $py "$here/tls_front.py" "${client[@]}" "$dir/tls/server.pem" "$dir/tls/server.key" "$@"
  [ -z "${client[*]}" ] || client=(--cert "$dir/tls/client.pem" --key "$dir/tls/client.key")
  for pair in "$@"; do
    local port=${pair%%:*}
    for _ in $(seq 1 100); do
      curl -s -o /dev/null --cacert "$dir/ca.pem" "${client[@]}" "https://127.0.0.1:$port/" && break
      sleep 0.1
    done
    curl -s -o /dev/null --cacert "$dir/ca.pem" "${client[@]}" "https://127.0.0.1:$port/" ||
      { log "the TLS front on :$port does not answer; see $dir/log/tls-front.out"; return 1; }
  done
}

start_rabbitmq() {
  local r=$dir/rabbit
  mkdir -p "$r"/{mnesia,log}
  echo '[].' >"$r/enabled_plugins"
  # Own node name, cookie (HOME) and directories; AMQP and Erlang distribution on loopback.
  export HOME=$r RABBITMQ_NODENAME=k8sgen-rig@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$rabbit_port RABBITMQ_DIST_PORT=25672 ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE=$r/mnesia RABBITMQ_LOG_BASE=$r/log RABBITMQ_PID_FILE=$dir/run/rabbitmq-beam.pid \
    RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins RABBITMQ_CONFIG_FILE=$r/rabbitmq \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  : >"$r/rabbitmq.conf"
  spawn rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
  (
    for _ in $(seq 1 240); do
      (exec 3<>/dev/tcp/127.0.0.1/$rabbit_port) 2>/dev/null && exit 0
      sleep 0.5
    done
    exit 1
  ) || { log "rabbitmq did not start; see $r/log"; return 1; }
}

write_configs() {
  local transport="rabbit://guest:guest@127.0.0.1:$rabbit_port/"
  mkdir -p "$dir"/{glance/images,placement,nova/lock,neutron/lock,pylib}
  cat >"$dir/glance/glance-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 0
log_file = $dir/log/glance-api.log
[database]
connection = $(db_url glance)
$(authtoken glance)
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = $dir/glance/images
CONF
  cat >"$dir/placement/placement.conf" <<CONF
[DEFAULT]
log_file = $dir/log/placement-app.log
[placement_database]
connection = $(db_url placement)
[api]
auth_strategy = keystone
$(authtoken placement)
CONF
  cat >"$dir/nova/nova.conf" <<CONF
[DEFAULT]
transport_url = $transport
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
compute_driver = fake.FakeDriver
state_path = $dir/nova
my_ip = 127.0.0.1
# The fake hosts report 8 vCPUs and 8000 MB each; let many tiny servers fit.
cpu_allocation_ratio = 64.0
ram_allocation_ratio = 64.0
disk_allocation_ratio = 64.0
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[api_database]
connection = $(db_url nova_api)
[database]
connection = $(db_url nova)
$(authtoken nova)
$(service_auth placement placement)
$(service_auth neutron neutron)
[glance]
# Nova finds Glance in the catalog; RegionTwo's TLS endpoint would need the rig CA.
region_name = RegionOne
[oslo_concurrency]
lock_path = $dir/nova/lock
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 2
[vnc]
enabled = false
[oslo_messaging_notifications]
driver = noop
CONF
  cat >"$dir/neutron/neutron.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $transport
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
dhcp_agent_notification = false
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
state_path = $dir/neutron
api_paste_config = /etc/neutron/api-paste.ini
log_file = $dir/log/neutron-server.log
[database]
connection = $(db_url neutron)
$(authtoken neutron)
$(service_auth nova nova)
[oslo_concurrency]
lock_path = $dir/neutron/lock
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = k8sgen_rig
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:1000
CONF
  # The mechanism driver, registered as an entry point stevedore finds on PYTHONPATH.
  cp "$here/k8sgen_rig_ml2.py" "$dir/pylib/"
  mkdir -p "$dir/pylib/k8sgen_rig_ml2-0.dist-info"
  printf 'Metadata-Version: 2.1\nName: k8sgen-rig-ml2\nVersion: 0\n' \
    >"$dir/pylib/k8sgen_rig_ml2-0.dist-info/METADATA"
  printf '[neutron.ml2.mechanism_drivers]\nk8sgen_rig = k8sgen_rig_ml2:RigMechanismDriver\n' \
    >"$dir/pylib/k8sgen_rig_ml2-0.dist-info/entry_points.txt"
}

nova_run() { # PROGRAM ARGS... (a nova console script, by module, on Debian's python)
  local prog=$1
  shift
  exec $py -c "import sys; sys.argv[0] = '$prog'; from nova.cmd.${prog#nova-} import main; sys.exit(main())" "$@"
}

# nova-compute with the rig's virt driver (k8sgen_rig_virt.py: console-off, fail-spawn). Nova
# loads `compute_driver` as `nova.virt.<name>` (nova/virt/driver.py, load_compute_driver), so
# the rig's module directory joins that package's path once nova.cmd.compute has set up Nova.
rig_virt_compute() { # ARGS... (nova-compute's)
  exec $py -c "import sys; sys.argv[0] = 'nova-compute'; from nova.cmd.compute import main; import nova.virt; nova.virt.__path__.append('$dir/pylib'); sys.exit(main())" "$@"
}

# One clouds.yaml entry: cloud_entry NAME AUTH_URL USER PASSWORD PROJECT REGION [CACERT].
cloud_entry() {
  cat <<YAML
  $1:
    auth:
      auth_url: $2
      username: $3
      password: $4
      project_name: $5
      user_domain_name: Default
      project_domain_name: Default
    region_name: $6
    interface: public
YAML
  if [ -n "${7:-}" ]; then echo "    cacert: $7"; fi
}

cmd_start() {
  local t0=$SECONDS
  start_mariadb
  create_db keystone glance placement nova_api nova nova_cell0 neutron
  start_rabbitmq &
  local rabbit_job=$!
  keystone_conf
  write_configs
  # The schema migrations dominate start-up: run them in parallel.
  log "database migrations"
  local nova_conf=(--config-file "$dir/nova/nova.conf")
  local migrations=()
  keystone-manage --config-file "$dir/keystone.conf" db_sync &
  migrations+=($!)
  glance-manage --config-file "$dir/glance/glance-api.conf" db_sync >"$dir/log/glance-manage.log" 2>&1 &
  migrations+=($!)
  placement-manage --config-file "$dir/placement/placement.conf" db sync &
  migrations+=($!)
  neutron-db-manage --config-file "$dir/neutron/neutron.conf" upgrade heads >"$dir/log/neutron-db.log" 2>&1 &
  migrations+=($!)
  (
    nova-manage "${nova_conf[@]}" api_db sync
    nova-manage "${nova_conf[@]}" cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)"
    nova-manage "${nova_conf[@]}" cell_v2 create_cell --name cell1 >/dev/null
    nova-manage "${nova_conf[@]}" db sync
  ) >"$dir/log/nova-manage.log" 2>&1 &
  migrations+=($!)
  local failed=0
  for job in "${migrations[@]}"; do
    wait "$job" || failed=1
  done
  [ "$failed" = 0 ] || { log "a migration failed; see $dir/log"; return 1; }
  log "migrations done after $((SECONDS - t0)) s"
  keystone_bootstrap 5000
  start_keystone 5000
  # Keystone again on :5002, same database and keys, its tokens living 40 s: cloud
  # `rig-short` shows that a run outlives Keystone's token life.
  mkdir -p "$dir/keystone-short"
  sed 's/^expiration = .*/expiration = 40/' "$dir/keystone.conf" >"$dir/keystone-short/keystone.conf"
  OS_KEYSTONE_CONFIG_DIR="$dir/keystone-short" OS_KEYSTONE_CONFIG_FILES=keystone.conf \
    uwsgi_app keystone-short 5002 /usr/bin/keystone-wsgi-public
  wait_http "http://127.0.0.1:5002/v3" keystone-short "$dir/log/keystone-short.log"
  $py "$here/rig-setup.py" identity
  wait "$rabbit_job"
  log "keystone and rabbitmq up after $((SECONDS - t0)) s"

  OS_PLACEMENT_CONFIG_DIR="$dir/placement" uwsgi_app placement 8778 /usr/bin/placement-api
  spawn glance-api glance-api --config-file "$dir/glance/glance-api.conf"
  spawn nova-api nova_run nova-api "${nova_conf[@]}" --log-file "$dir/log/nova-api.log"
  spawn nova-conductor nova_run nova-conductor "${nova_conf[@]}" --log-file "$dir/log/nova-conductor.log"
  spawn nova-scheduler nova_run nova-scheduler "${nova_conf[@]}" --log-file "$dir/log/nova-scheduler.log"
  PYTHONPATH="$dir/pylib" spawn neutron-server neutron-server \
    --config-file "$dir/neutron/neutron.conf"
  cp "$here/k8sgen_rig_virt.py" "$dir/pylib/"
  for i in $(seq 1 "$computes"); do
    printf '[DEFAULT]\nhost = fake-%s\ncompute_driver = k8sgen_rig_virt.RigDriver\n' "$i" \
      >"$dir/nova/compute-$i.conf"
    spawn "nova-compute-$i" rig_virt_compute "${nova_conf[@]}" \
      --config-file "$dir/nova/compute-$i.conf" --log-file "$dir/log/nova-compute-$i.log"
  done
  wait_http http://127.0.0.1:8778/ placement "$dir/log/placement.log"
  wait_http http://127.0.0.1:9292/ glance "$dir/log/glance-api.log"
  wait_http http://127.0.0.1:8774/ nova-api "$dir/log/nova-api.log"
  wait_http http://127.0.0.1:9696/ neutron "$dir/log/neutron-server.log"
  log "APIs answer after $((SECONDS - t0)) s"
  make_tls_ca
  # 10000 ports above each API.
  start_tls_fronts 15000:5000 18774:8774 19696:9696 19292:9292 18778:8778
  $py "$here/rig-setup.py" resources

  {
    echo "clouds:"
    cloud_entry rig http://127.0.0.1:5000/v3 admin adminpw admin RegionOne
    cloud_entry rig-member http://127.0.0.1:5000/v3 member member-pw member-project RegionOne
    cloud_entry rig-short http://127.0.0.1:5002/v3 admin adminpw admin RegionOne
    cloud_entry rig-tls https://127.0.0.1:15000/v3 admin adminpw admin RegionTwo "$dir/ca.pem"
  } >"$dir/clouds.yaml"
  # Servers can be scheduled once every fake host has reported and been mapped to the cell
  # (the scheduler discovers hosts every 2 s).
  for _ in $(seq 1 240); do
    n=$(nova-manage "${nova_conf[@]}" cell_v2 list_hosts 2>/dev/null | grep -c 'fake-' || true)
    [ "$n" -ge "$computes" ] && break
    sleep 1
  done
  [ "$n" -ge "$computes" ] || { log "only $n of $computes compute hosts mapped"; return 1; }
  log "ready after $((SECONDS - t0)) s: $dir/clouds.yaml (cloud rig)"
}

cmd_stop() {
  for pidfile in "$dir"/run/*.pid; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    # uwsgi and oslo.service run workers in the same process group as their parent.
    pkill -P "$pid" 2>/dev/null || true
  done
  # RabbitMQ's Erlang VM and epmd outlive the wrapper script.
  pkill -f "k8sgen-rig@localhost" 2>/dev/null || true
  # Whatever still names the state directory (never this script: its arguments lack the slash).
  if pgrep -f "$dir/" >/dev/null; then
    sleep 2
    pkill -9 -f "$dir/" 2>/dev/null || true
  fi
}

case "${1:-}" in
install)
  if [ -x /usr/bin/nova-api ] && [ -x /usr/bin/neutron-server ] && [ -x /usr/bin/glance-api ] &&
    [ -x /usr/bin/placement-api ] && [ -x /usr/bin/keystone-manage ] &&
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && command -v uwsgi >/dev/null &&
    command -v mariadbd >/dev/null && command -v curl >/dev/null; then
    exit 0
  fi
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -q
  # Not Debian's nova-compute package: it pulls libvirt and qemu; the rig runs nova-compute
  # from python3-nova with the fake driver.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    mariadb-server rabbitmq-server keystone glance-api placement-api nova-api \
    nova-conductor nova-scheduler neutron-server python3-openstackclient \
    uwsgi-plugin-python3 curl
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  ;;
start)
  dir=$(realpath -m "${2:?state dir}")
  [ ! -e "$dir/run" ] || { log "$dir holds a rig already; stop it and remove the directory"; exit 1; }
  mkdir -p "$dir"/{run,log}
  if ! cmd_start; then
    cmd_stop
    exit 1
  fi
  ;;
start-keystone)
  dir=$(realpath -m "${2:?state dir}")
  port=${3:?port}
  token_seconds=${TOKEN_SECONDS:-3600}
  start_mariadb
  create_db keystone
  keystone_conf
  keystone-manage --config-file "$dir/keystone.conf" db_sync
  keystone_bootstrap "$port"
  start_keystone "$port"
  if [ -n "${4:-}" ]; then
    make_tls_ca
    start_tls_fronts "$4:$port"
  fi
  if [ -n "${5:-}" ]; then
    start_tls_fronts --client-ca "$5:$port"
  fi
  ;;
stop)
  dir=$(realpath -m "${2:?state dir}")
  cmd_stop
  ;;
*)
  echo "usage: $0 install | start DIR | start-keystone DIR PORT [TLS-PORT [MTLS-PORT]] | stop DIR" >&2
  exit 2
  ;;
esac
