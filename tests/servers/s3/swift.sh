#!/usr/bin/env bash
# OpenStack Swift 2.30 with the s3api middleware on 127.0.0.1: the one
# SigV4-verifying S3 server available from Debian. Recipe: SERVERS.md §1.
#
#   swift.sh start STATE   writes STATE/port (the S3 proxy), STATE/*.pid;
#                          S3 key id test:tester, secret testing
#   swift.sh stop STATE    stop by PID, delete the work dir and state
#
# Swift not installed: STATE/skip says why and the tests skip
# (apt-get install --no-install-recommends swift swift-proxy swift-account
#  swift-container swift-object).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cmd=${1:-}
state=${2:-}
[[ -n $cmd && -n $state ]] || { echo "usage: $0 start|stop STATE" >&2; exit 2; }
case $cmd in
  stop) stop_server "$state"; exit 0 ;;
  start) ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac

mkdir -p "$state"
rm -f "$state/skip"
for bin in swift-proxy-server swift-object-server swift-container-server swift-account-server \
           swift-ring-builder; do
  command -v $bin >/dev/null || skip "$state" "$bin is not installed (apt-get install \
--no-install-recommends swift swift-proxy swift-account swift-container swift-object)"
done
kill_pids "$state"

# The devices dir needs user xattrs: the state dir sits in the build tree
# (a disk), not on a tmpfs /tmp.
work=$(mktemp -d "$state/work.XXXXXX")
echo "$work" >"$state/workdir"
S=$work
mkdir -p "$S/etc" "$S/node/d1"
printf '[swift-hash]\nswift_hash_path_suffix = ci\nswift_hash_path_prefix = ci\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' >"$S/etc/swift.conf"
user=$(id -un)
C="[DEFAULT]\nswift_dir = $S/etc\nbind_ip = 127.0.0.1\nworkers = 0\nuser = $user\nlog_level = WARNING\n"
proxy_port=$(free_port)
memcache_port=$(free_port)  # nothing listens there: s3api works without memcached
(
  cd "$S/etc"
  for n in object container account; do
    p=$(free_port)
    echo "$p" >"$S/$n.port"
    printf "${C}devices = $S/node\nmount_check = false\nbind_port = $p\n[pipeline:main]\npipeline = $n-server\n[app:$n-server]\nuse = egg:swift#$n\n" >"$n-server.conf"
    swift-ring-builder $n.builder create 4 1 1
    swift-ring-builder $n.builder add "r1z1-127.0.0.1:$p/d1" 100
    swift-ring-builder $n.builder rebalance
  done
) >"$S/rings.log" 2>&1 || { cat "$S/rings.log" >&2; exit 1; }
{
  printf "${C}bind_port = $proxy_port\n"
  cat <<CONF
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$memcache_port
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_object_versioning = true
[filter:proxy-logging]
use = egg:swift#proxy_logging
CONF
  for f in catch_errors gatekeeper healthcheck listing_formats copy slo dlo symlink; do
    printf "[filter:$f]\nuse = egg:swift#$f\n"
  done
} >"$S/etc/proxy-server.conf"
for n in object container account proxy; do
  swift-$n-server "$S/etc/$n-server.conf" >"$S/$n.log" 2>&1 &
  echo $! >"$state/$n.pid"
done
echo "$proxy_port" >"$state/port"
# The proxy answers its healthcheck before the account, container and object
# servers listen; under load the first requests then fail with 503. Wait for
# all four.
ready=1
for n in object container account; do
  wait_http "http://127.0.0.1:$(cat "$S/$n.port")/" 60 || ready=0
done
if ((ready == 0)) || ! wait_http "http://127.0.0.1:$proxy_port/healthcheck" 60 -f; then
  echo "swift did not become ready; logs:" >&2
  tail -n 20 "$S"/*.log >&2 || true
  kill_pids "$state"
  exit 1
fi
echo "swift s3api ready on 127.0.0.1:$proxy_port, work dir $work"
