#!/usr/bin/env bash
# A real Keystone v3 on 127.0.0.1 for the OpenStack provider's tests, from Debian packages:
# MariaDB on a unix socket only, Keystone under uwsgi (reference test-rigs §A).
#   keystone-rig.sh install            apt packages (no daemon starts on its default config)
#   keystone-rig.sh start DIR PORT     state in DIR, API on http://127.0.0.1:PORT/v3
#   keystone-rig.sh stop DIR           stop what start started (by pid files)
# The admin user is `admin` / `adminpw` in project `admin`, domain `Default`, RegionOne.
set -euo pipefail

case "${1:-}" in
install)
  command -v keystone-manage >/dev/null && command -v uwsgi >/dev/null && command -v mariadbd >/dev/null && exit 0
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    keystone mariadb-server uwsgi-plugin-python3
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  ;;
start)
  dir=$(realpath -m "${2:?state dir}")
  port=${3:?port}
  mkdir -p "$dir"/{mysql,run,log,fernet,credential}
  mariadb-install-db --no-defaults --datadir="$dir/mysql" --user=root \
    --auth-root-authentication-method=socket >"$dir/log/mysql-install.log" 2>&1
  mariadbd --no-defaults --user=root --datadir="$dir/mysql" --socket="$dir/run/mysql.sock" \
    --skip-networking --pid-file="$dir/run/mysql.pid" --log-error="$dir/log/mysql.log" &
  for _ in $(seq 1 100); do [ -S "$dir/run/mysql.sock" ] && break; sleep 0.2; done
  mariadb --no-defaults --socket="$dir/run/mysql.sock" -u root -e "
    CREATE DATABASE keystone;
    CREATE USER 'keystone'@'localhost' IDENTIFIED BY 'keystone-db';
    GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'localhost';"
  cat >"$dir/keystone.conf" <<CONF
[DEFAULT]
log_dir = $dir/log
[database]
connection = mysql+pymysql://keystone:keystone-db@localhost/keystone?unix_socket=$dir/run/mysql.sock
[token]
provider = fernet
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
  km=(keystone-manage --config-file "$dir/keystone.conf")
  "${km[@]}" db_sync
  "${km[@]}" fernet_setup --keystone-user root --keystone-group root
  "${km[@]}" credential_setup --keystone-user root --keystone-group root
  url="http://127.0.0.1:$port/v3/"
  "${km[@]}" bootstrap --bootstrap-password adminpw --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" --bootstrap-public-url "$url"
  # uwsgi's plain http socket drops kept-alive connections silently; tell clients to close.
  OS_KEYSTONE_CONFIG_DIR="$dir" OS_KEYSTONE_CONFIG_FILES=keystone.conf \
    uwsgi --plugin python3 --http-socket "127.0.0.1:$port" --wsgi-file /usr/bin/keystone-wsgi-public \
    --add-header "Connection: close" --master --processes 1 --threads 4 \
    --pidfile "$dir/run/uwsgi.pid" --daemonize "$dir/log/uwsgi.log"
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/v3" >/dev/null 2>&1 && exit 0
    sleep 0.2
  done
  echo "keystone did not answer on port $port; see $dir/log" >&2
  exit 1
  ;;
stop)
  dir=$(realpath -m "${2:?state dir}")
  for pidfile in "$dir/run/uwsgi.pid" "$dir/run/mysql.pid"; do
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  ;;
*)
  echo "usage: $0 install | start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
