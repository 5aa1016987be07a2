#!/usr/bin/env bash
# s3rver 3.7.1 (npm) on 127.0.0.1 for the S3 backend tests: plain HTTP plus an
# HTTPS instance with a self-signed certificate (for TLS verification tests).
#
#   s3rver.sh start STATE [PORT]  start (reusing STATE's work dir and data if it
#                                 exists: a restart); writes STATE/port,
#                                 STATE/tls_port, STATE/cert.pem, STATE/*.pid
#   s3rver.sh kill STATE          kill -9 the processes (a crash), keep data (fault tests)
#   s3rver.sh stop STATE          stop and delete the work dir and state
#
# npm installs s3rver once into the cache dir (LIFEBOAT_TEST_CACHE, else
# ~/.cache/lifeboat-test). No node/npm, or no network for the first install:
# STATE/skip says why and the tests skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cmd=${1:-}
state=${2:-}
[[ -n $cmd && -n $state ]] || { echo "usage: $0 start|kill|stop STATE [PORT]" >&2; exit 2; }

case $cmd in
  kill) kill_pids "$state" KILL; exit 0 ;;
  stop) stop_server "$state"; exit 0 ;;
  start) ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac

mkdir -p "$state"
rm -f "$state/skip"
command -v node >/dev/null || skip "$state" "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null || skip "$state" "npm is not installed (apt-get install nodejs npm)"
command -v openssl >/dev/null || skip "$state" "openssl is not installed"

# Install once; flock keeps parallel runs from installing into one dir at once.
pkg=$(cache_dir)/s3rver-3.7.1
mkdir -p "$pkg"
(
  flock -w 300 9 || exit 1
  if [[ ! -f $pkg/node_modules/s3rver/bin/s3rver.js ]]; then
    cd "$pkg"
    [[ -f package.json ]] || npm init -y >/dev/null 2>&1
    timeout 240 npm install --no-audit --no-fund --loglevel=error s3rver@3.7.1 >"$pkg/install.log" 2>&1 || exit 1
  fi
) 9>"$pkg.lock" || skip "$state" "npm install s3rver@3.7.1 failed (offline?); see $pkg/install.log"

if [[ -f $state/workdir && -d $(cat "$state/workdir") ]]; then
  work=$(cat "$state/workdir")
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-s3rver.XXXXXX")
  echo "$work" >"$state/workdir"
fi
port=${3:-$(cat "$state/port" 2>/dev/null || free_port)}
tls_port=$(cat "$state/tls_port" 2>/dev/null || free_port)
if [[ ! -f $state/cert.pem ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$state/key.pem" -out "$state/cert.pem" \
    -days 3650 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
fi

kill_pids "$state"
js=$pkg/node_modules/s3rver/bin/s3rver.js
# --openssl-legacy-provider: continuation tokens are DES-encrypted (else 500 on page 2).
node --openssl-legacy-provider "$js" -d "$work/data" -a 127.0.0.1 -p "$port" --silent \
  >>"$work/s3rver.log" 2>&1 &
echo $! >"$state/s3rver.pid"
node --openssl-legacy-provider "$js" -d "$work/data-tls" -a 127.0.0.1 -p "$tls_port" --silent \
  --key "$state/key.pem" --cert "$state/cert.pem" >>"$work/s3rver-tls.log" 2>&1 &
echo $! >"$state/s3rver-tls.pid"
echo "$port" >"$state/port"
echo "$tls_port" >"$state/tls_port"

if ! wait_http "http://127.0.0.1:$port/" 20 || ! wait_http "https://127.0.0.1:$tls_port/" 20 -k; then
  echo "s3rver did not become ready; log:" >&2
  tail -20 "$work/s3rver.log" "$work/s3rver-tls.log" >&2 || true
  kill_pids "$state"
  exit 1
fi
echo "s3rver ready on 127.0.0.1:$port (https: $tls_port), data in $work"
