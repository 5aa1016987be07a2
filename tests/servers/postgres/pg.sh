#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster on 127.0.0.1 for tests.
#
#   pg.sh start DIR [CONF_LINE...]   initdb DIR/data and start it on a free
#                                    port; extra postgresql.conf lines may be
#                                    given (e.g. "archive_command = '...'").
#                                    Writes DIR/env (PGHOST PGPORT PGUSER
#                                    PGDATA PGBIN RUNAS) to be sourced; exits 77
#                                    (skip) when PostgreSQL 15 is missing.
#   pg.sh start-existing DIR DATADIR PORT   start another data directory (a
#                                    restored one) with its own log DIR/NAME.log
#   pg.sh stop DIR [DATADIR]         fast shutdown of DIR/data (or DATADIR)
#   pg.sh destroy DIR                stop everything started from DIR, rm -rf
#
# As root the server runs as the `postgres` user (initdb and postgres refuse
# root), so DIR is made accessible to it; commands the server runs
# (archive_command, restore_command) run as that user too. Recipe and timings:
# /work/shared/SERVERS.md §3.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
die() { echo "pg.sh: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

runas() {  # run a command as the server's user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  dir=$1; shift
  [ -x "$PGBIN/initdb" ] || { echo "SKIP: PostgreSQL 15 not installed ($PGBIN)" >&2; exit 77; }
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "SKIP: running as root but there is no postgres user" >&2; exit 77
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 0755 "$dir"
  runas mkdir -p "$dir/sock"
  runas "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -5 "$dir/initdb.log")"
  port=$(free_port)
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir/sock'"
    echo "wal_level = replica"
    echo "max_wal_senders = 10"
    echo "fsync = off"            # test clusters: speed over durability
    echo "synchronous_commit = off"
    for line in "$@"; do echo "$line"; done
  } | runas tee -a "$dir/data/postgresql.conf" >/dev/null
  runas "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 start >/dev/null ||
    die "server did not start: $(tail -20 "$dir/pg.log")"
  runas "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -c 'select 1' >/dev/null
  runas=""
  [ "$(id -u)" = 0 ] && runas=postgres
  printf 'export PGHOST=127.0.0.1 PGPORT=%s PGUSER=postgres PGDATA=%s PGBIN=%s RUNAS=%s\n' \
    "$port" "$dir/data" "$PGBIN" "$runas" >"$dir/env"
  ;;
start-existing)
  dir=$1 data=$2 port=$3
  [ "$(id -u)" = 0 ] && chown -R postgres: "$data"
  chmod 0700 "$data"
  runas "$PGBIN/pg_ctl" -D "$data" -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/sock" \
    -l "$dir/$(basename "$data").log" -w -t 120 start >/dev/null ||
    die "server in $data did not start: $(tail -20 "$dir/$(basename "$data").log")"
  ;;
stop)
  dir=$1 data=${2:-$1/data}
  [ -f "$data/postmaster.pid" ] && runas "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null || true
  ;;
destroy)
  dir=$1
  [ -d "$dir" ] || exit 0
  for pidfile in $(find "$dir" -maxdepth 3 -name postmaster.pid 2>/dev/null); do
    runas "$PGBIN/pg_ctl" -D "$(dirname "$pidfile")" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  done
  rm -rf -- "$dir"
  ;;
*)
  die "usage: pg.sh start|start-existing|stop|destroy DIR ..."
  ;;
esac
