#!/usr/bin/env bash
# A throwaway S3-compatible server on 127.0.0.1 for tests and by hand: single-node OpenStack Swift with
# its s3api middleware (tempauth user test:tester, key testing), everything kept in DIR.
#   scripts/s3-test-server.sh install          install Swift + memcached if missing (Debian, root)
#   scripts/s3-test-server.sh start DIR [PORT] start it (proxy on PORT, default 58080; PORT+1..+4 internal);
#                                              prints the endpoint URL (http://127.0.0.1:PORT) on stdout
#   scripts/s3-test-server.sh bucket URL NAME  create bucket NAME on the server at URL (http://127.0.0.1:PORT)
#   scripts/s3-test-server.sh stop DIR         stop it and delete DIR
# Client settings it needs: path-style addressing, region us-east-1, no chunked uploads, checksums only when
# required (ECAP_S3_PATH_STYLE=true ECAP_S3_COMPAT=true); AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing.
set -euo pipefail

# Swift's Python libraries are Debian's: use Debian's interpreter, not one a version manager put first on PATH.
py=/usr/bin/python3

case "${1:-}" in
  install)
    if ! command -v swift-proxy-server >/dev/null || ! command -v memcached >/dev/null; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        swift swift-proxy swift-account swift-container swift-object memcached >/dev/null
    fi
    # Swift always reads /etc/swift/swift.conf (hash prefix/suffix and policy 0); the package ships one.
    if [ ! -f /etc/swift/swift.conf ]; then
      mkdir -p /etc/swift
      printf '[swift-hash]\nswift_hash_path_suffix = ecap\nswift_hash_path_prefix = ecap\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' > /etc/swift/swift.conf
    fi
    ;;
  start)
    dir=${2:?usage: start DIR [PORT]}; port=${3:-58080}
    command -v swift-proxy-server >/dev/null || { echo "Swift is not installed: run '$0 install'" >&2; exit 1; }
    mkdir -p "$dir/srv/d0" "$dir/run"
    dir=$(cd "$dir" && pwd)
    user=$(id -un)
    acc=$((port + 1)); con=$((port + 2)); obj=$((port + 3)); mc=$((port + 4))

    # One-replica rings on one device (swift-ring-builder's rebalance exits 1 on such a ring; the library does not).
    "$py" - "$dir" "$acc" "$con" "$obj" <<'PY'
import sys
from swift.common.ring import RingBuilder
d, ports = sys.argv[1], dict(account=int(sys.argv[2]), container=int(sys.argv[3]), object=int(sys.argv[4]))
for name, port in ports.items():
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd0', 'weight': 100, 'meta': ''})
    b.rebalance()
    b.get_ring().save(f'{d}/{name}.ring.gz')
PY

    common="[DEFAULT]
swift_dir = $dir
devices = $dir/srv
mount_check = false
bind_ip = 127.0.0.1
workers = 0
user = $user
log_level = WARNING
log_udp_host = 127.0.0.1
log_udp_port = 9"
    for kind in account container object; do
      case $kind in account) p=$acc;; container) p=$con;; object) p=$obj;; esac
      printf '%s\nbind_port = %s\n\n[pipeline:main]\npipeline = %s-server\n\n[app:%s-server]\nuse = egg:swift#%s\n' \
        "$common" "$p" "$kind" "$kind" "$kind" > "$dir/$kind-server.conf"
    done
    cat > "$dir/proxy-server.conf" <<EOF
$common
bind_port = $port

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# Generous backend timeouts: on a loaded 2-core machine the single-process servers answer slowly, and the
# defaults (0.5 s to connect) turn that into 503 "Please reduce your request rate".
conn_timeout = 5
node_timeout = 60

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mc

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF

    memcached -d -l 127.0.0.1 -p "$mc" -U 0 -m 16 -u "$user" -P "$dir/run/memcached.pid"
    for kind in account container object proxy; do
      nohup "swift-$kind-server" "$dir/$kind-server.conf" >"$dir/$kind.log" 2>&1 &
      echo $! > "$dir/run/$kind.pid"
    done
    for _ in $(seq 1 150); do
      if "$py" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:$port/healthcheck" 2>/dev/null; then
        echo "http://127.0.0.1:$port"; exit 0
      fi
      sleep 0.2
    done
    echo "Swift did not answer on port $port; logs in $dir/*.log" >&2
    tail -n 5 "$dir"/*.log >&2 || true
    exit 1
    ;;
  bucket)
    url=${2:?usage: bucket URL NAME}; name=${3:?usage: bucket URL NAME}
    # Through Swift's own API (tempauth token, PUT container): no S3 client needed.
    "$py" - "$url" "$name" <<'PY'
import sys, urllib.request
url, name = sys.argv[1].rstrip('/'), sys.argv[2]
auth = urllib.request.urlopen(urllib.request.Request(url + '/auth/v1.0', headers={'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'}))
token, storage = auth.headers['X-Auth-Token'], auth.headers['X-Storage-Url']
urllib.request.urlopen(urllib.request.Request(storage + '/' + name, method='PUT', headers={'X-Auth-Token': token}))
PY
    ;;
  stop)
    dir=${2:?usage: stop DIR}
    if [ -d "$dir/run" ]; then
      for f in "$dir"/run/*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
      done
    fi
    rm -rf "$dir"
    ;;
  *)
    sed -n 2,10p "$0"; exit 2;;
esac
