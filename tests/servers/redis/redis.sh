#!/usr/bin/env bash
# A throw-away Redis server on 127.0.0.1 for tests.
#
#   redis.sh start DIR [REDIS_ARG...]  starts redis-server with --dir DIR on a
#                                      free port (no persistence of its own,
#                                      debug commands on, extra arguments
#                                      appended); prints the port. Exits 77
#                                      (skip) when redis-server is missing.
#                                      The pid is in DIR/redis.pid.
#   redis.sh stop DIR                  stops the server started in DIR.
# A password for tests goes in the REDIS_TEST_PASSWORD environment variable
# (given to the server as --requirepass through a config file, not argv).
# Recipe and timings: /work/shared/SERVERS.md §5.
set -euo pipefail

die() { echo "redis.sh: $*" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  dir=$1; shift
  command -v redis-server >/dev/null || { echo "SKIP: redis-server not installed" >&2; exit 77; }
  command -v redis-cli >/dev/null || { echo "SKIP: redis-cli (redis-tools) not installed" >&2; exit 77; }
  mkdir -p "$dir"
  port=$(free_port)
  conf="$dir/redis.conf"
  ( umask 077; : >"$conf" )
  if [[ -n "${REDIS_TEST_PASSWORD:-}" ]]; then echo "requirepass \"$REDIS_TEST_PASSWORD\"" >>"$conf"; fi
  redis-server "$conf" --bind 127.0.0.1 --port "$port" --dir "$dir" --dbfilename dump.rdb \
    --save '' --appendonly no --protected-mode yes --enable-debug-command yes \
    --logfile "$dir/redis.log" "$@" </dev/null >>"$dir/redis.out" 2>&1 &
  echo $! >"$dir/redis.pid"
  for _ in $(seq 1 200); do
    if REDISCLI_AUTH="${REDIS_TEST_PASSWORD:-}" redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
      echo "$port"
      exit 0
    fi
    kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null || die "redis-server exited: $(tail -5 "$dir/redis.log")"
    sleep 0.05
  done
  die "redis-server did not answer within 10 s: $(tail -5 "$dir/redis.log")"
  ;;
stop)
  dir=$1
  [[ -f "$dir/redis.pid" ]] || exit 0
  pid=$(cat "$dir/redis.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  ;;
*)
  die "usage: redis.sh start DIR [ARGS] | stop DIR"
  ;;
esac
