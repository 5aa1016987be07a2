#!/usr/bin/env bash
# A throw-away MariaDB server on 127.0.0.1 for tests.
#
#   mariadb.sh start DIR [MARIADBD_ARG...]   mariadb-install-db DIR/data and
#                        start mariadbd on a free port with binary logging
#                        (DIR/binlog/mariadb-bin, ROW format, server_id
#                        $SERVER_ID or 1; LOG_BIN=0 turns it off). Creates
#                        the user 'bk'@'127.0.0.1' with ALL privileges and the
#                        password in $BK_PASSWORD (default: random), written
#                        to DIR/bk.password (0600), and DIR/client.cnf (0600)
#                        for `mariadb --defaults-file=DIR/client.cnf`.
#                        Writes DIR/env (MYHOST MYPORT MYSOCK MYPID) to be
#                        sourced; exits 77 (skip) when MariaDB is missing.
#   mariadb.sh stop DIR       clean shutdown (SIGTERM, waits up to 30 s)
#   mariadb.sh destroy DIR    stop (SIGKILL after 10 s), rm -rf DIR
#
# As root mariadbd runs with --user=root. Recipe and timings:
# /work/shared/SERVERS.md §4.
set -euo pipefail

die() { echo "mariadb.sh: $*" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_pid() { # DIR TIMEOUT_S SIGNAL_AFTER
  local dir=$1 limit=$2 pid
  [ -f "$dir/run/mysqld.pid" ] || return 0
  pid=$(cat "$dir/run/mysqld.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((limit * 10))); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/run/mysqld.pid"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/run/mysqld.pid"
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  dir=$1; shift
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] ||
    { echo "SKIP: mariadbd not installed (apt-get install mariadb-server)" >&2; exit 77; }
  command -v mariadb-install-db >/dev/null 2>&1 || { echo "SKIP: mariadb-install-db missing" >&2; exit 77; }
  PATH=$PATH:/usr/sbin
  mkdir -p "$dir/data" "$dir/binlog" "$dir/run"
  chmod 0700 "$dir"
  userarg=()
  [ "$(id -u)" = 0 ] && userarg=(--user=root)
  mariadb-install-db --no-defaults --datadir="$dir/data" "${userarg[@]}" \
    --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 ||
    die "mariadb-install-db failed: $(tail -5 "$dir/install.log")"
  port=$(free_port)
  binlog=(--log-bin="$dir/binlog/mariadb-bin" --server-id="${SERVER_ID:-1}" --binlog-format=ROW)
  [ "${LOG_BIN:-1}" = 0 ] && binlog=(--skip-log-bin --server-id="${SERVER_ID:-1}")
  mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/run/mysqld.sock" \
    --pid-file="$dir/run/mysqld.pid" --port="$port" --bind-address=127.0.0.1 "${userarg[@]}" \
    --log-error="$dir/error.log" "${binlog[@]}" --innodb-buffer-pool-size=64M \
    --skip-name-resolve "$@" >/dev/null 2>&1 &
  pid=$!
  ok=0
  for _ in $(seq 1 600); do
    if mariadb-admin --no-defaults --socket="$dir/run/mysqld.sock" -uroot ping >/dev/null 2>&1; then
      ok=1; break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ $ok = 1 ] || die "mariadbd did not start: $(tail -20 "$dir/error.log" 2>/dev/null)"
  pw=${BK_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_hex(12))')}
  (umask 077; printf '%s\n' "$pw" >"$dir/bk.password"
   printf '[client]\nuser=bk\npassword="%s"\nhost=127.0.0.1\nport=%s\n' "$pw" "$port" >"$dir/client.cnf")
  # The password goes through stdin, not argv.
  printf "CREATE USER 'bk'@'127.0.0.1' IDENTIFIED BY '%s'; GRANT ALL ON *.* TO 'bk'@'127.0.0.1' WITH GRANT OPTION;\n" \
    "$pw" | mariadb --no-defaults --socket="$dir/run/mysqld.sock" -uroot ||
    die "cannot create the test user"
  printf 'export MYHOST=127.0.0.1 MYPORT=%s MYSOCK=%s MYPID=%s\n' "$port" "$dir/run/mysqld.sock" "$pid" >"$dir/env"
  ;;
stop)
  stop_pid "$1" 30
  ;;
destroy)
  dir=$1
  [ -d "$dir" ] || exit 0
  stop_pid "$dir" 10
  rm -rf -- "$dir"
  ;;
*)
  die "usage: mariadb.sh start|stop|destroy DIR ..."
  ;;
esac
