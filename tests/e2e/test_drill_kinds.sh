#!/usr/bin/env bash
# run, drill and runbook for the source kinds (issue 6): an application with
# an SQLite database, a real Redis server (tests/servers/redis/redis.sh), a
# git repository, a command's output and a real MariaDB server
# (tests/servers/mariadb/mariadb.sh; its binlogs archived by lifeboat).
#   - `run` backs up every component (tagged app=kinds,component=NAME);
#   - `drill` restores each into the sandbox (Redis: a throw-away
#     redis-server on a free port serving the restored RDB), runs every
#     verify check (shell commands with {restored}, and {port} for Redis;
#     SQL returning 1 for MariaDB, run against a throw-away mariadbd that
#     loaded the dump and replayed the binlogs written after it) and
#     passes; the throw-away servers are gone afterwards;
#   - one deliberately failing check makes the drill fail (exit 1) for that
#     component only;
#   - the runbook's sqlite and git restore commands, pasted into a shell,
#     restore the data.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

REDISSH=$E2E_DIR/../servers/redis/redis.sh
MYSH=$E2E_DIR/../servers/mariadb/mariadb.sh
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
command -v git >/dev/null || skip "git is not installed"
command -v redis-server >/dev/null || skip "redis-server is not installed"

REPO=$W/repo
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
expect_ok lb --repo "$REPO" --password-file "$PWFILE" init

step "the application's data"
APP=$W/app
mkdir -p "$APP"
sqlite3 "$APP/catalog.db" "create table items(id integer primary key, name text not null);
  with recursive n(i) as (select 1 union all select i + 1 from n where i < 500)
  insert into items select i, 'item ' || i from n;"
git init -q -b main "$APP/code"
git -C "$APP/code" config user.email t@example.org
git -C "$APP/code" config user.name Test
for i in 1 2 3; do
  echo "release $i" >"$APP/code/VERSION"
  git -C "$APP/code" add VERSION
  git -C "$APP/code" commit -q -m "release $i"
done
git -C "$APP/code" tag v3
HEAD_COMMIT=$(git -C "$APP/code" rev-parse HEAD)
RD=$W/redis
add_cleanup "'$REDISSH' stop '$RD'"
set +e
RPORT=$("$REDISSH" start "$RD")
rc=$?
set -e
[[ $rc == 77 ]] && skip "redis-server could not be started"
[[ $rc == 0 ]] || fail "redis.sh start failed ($rc)"
for i in $(seq 1 200); do redis-cli -p "$RPORT" set "session:$i" "user$i" >/dev/null; done
redis-cli -p "$RPORT" rpush queue a b c >/dev/null
printf 'dn: dc=kinds\nobjectClass: top\n' >"$APP/directory.ldif"
MY=$W/mariadb
add_cleanup "'$MYSH' destroy '$MY'"
set +e
"$MYSH" start "$MY"
rc=$?
set -e
[[ $rc == 77 ]] && skip "MariaDB could not be started"
[[ $rc == 0 ]] || fail "mariadb.sh start failed ($rc)"
# shellcheck disable=SC1091
. "$MY/env"
my() { mariadb --defaults-file="$MY/client.cnf" -N -B "$@"; }
my -e "create database shop"
my shop -e "create table orders (id int primary key, amount int);
  insert into orders select seq, seq % 7 from seq_1_to_300;"
SUM400=$(python3 -c 'print(sum(i % 7 for i in range(1, 401)))')
LIFEBOAT_MARIADB_PASSWORD=$(cat "$MY/bk.password")
export LIFEBOAT_MARIADB_PASSWORD

cat >"$W/kinds.toml" <<EOF2
[app]
name = "kinds"

[[repository]]
name = "onsite"
url = "$REPO"
password_file = "$PWFILE"

[[component]]
name = "catalog"
kind = "sqlite"
sqlite = { path = "$APP/catalog.db" }
rpo = "1h"
rto = "5m"
verify = ["test \"\$(sqlite3 {restored} 'select count(*) from items')\" = 500", "sqlite3 {restored} 'pragma integrity_check' | grep -qx ok"]

[[component]]
name = "sessions"
kind = "redis"
redis = { host = "127.0.0.1", port = $RPORT }
rpo = "1h"
rto = "5m"
verify = ["test \"\$(redis-cli -p {port} dbsize)\" = 201", "test \"\$(redis-cli -p {port} get session:77)\" = user77", "test -s {restored}/dump.rdb"]

[[component]]
name = "code"
kind = "git"
git = { path = "$APP/code" }
rpo = "1h"
rto = "5m"
verify = ["git -C {restored} fsck --no-progress", "test \"\$(git -C {restored} rev-parse v3)\" = $HEAD_COMMIT", "grep -qx 'release 3' {restored}/VERSION"]

[[component]]
name = "directory"
kind = "command"
command = { run = ["cat", "$APP/directory.ldif"], filename = "directory.ldif" }
rpo = "1h"
rto = "5m"
verify = ["cmp {restored} $APP/directory.ldif"]

[[component]]
name = "orders"
kind = "mariadb"
mariadb = { host = "127.0.0.1", port = $MYPORT, user = "bk" }
rpo = "1h"
rto = "5m"
verify = ["select count(*) = 400 from shop.orders", "select sum(amount) = $SUM400 from shop.orders"]

[drill]
every = "7d"
sandbox = "$W/sandbox"
EOF2
CHECKS=11

step "run: every kind backed up"
expect_ok lb run --config "$W/kinds.toml"
for c in catalog sessions code directory orders; do
  assert_contains "$OUT" "$c -> onsite: snapshot" "run output"
done
# Rows written after the dump reach the repository as binlogs (a second
# later: binlog events carry whole seconds).
sleep 1.1
my shop -e "insert into orders select seq, seq % 7 from seq_301_to_400"
expect_ok lb --repo "$REPO" --password-file "$PWFILE" mariadb archive-binlogs --host 127.0.0.1 \
  --port "$MYPORT" --user bk --flush
expect_ok lb --repo "$REPO" --password-file "$PWFILE" --json snapshots --tag app=kinds
assert_eq '["command", "git", "mariadb", "redis", "sqlite"]' "$(jget "$OUT" 'sorted(s.get("source") for s in j)')" "snapshot sources"

step "drill: every kind restored, every check run and passed"
expect_ok lb --json drill --config "$W/kinds.toml"
SUMMARY=$(grep '"message_type":"summary"' <<<"$OUT" | tail -n 1)
assert_eq true "$(jget "$SUMMARY" 'j["ok"]')" "drill ok"
assert_eq "$CHECKS" "$(jget "$SUMMARY" 'sum(len(c["checks"]) for c in j["components"])')" "checks run"
assert_eq true "$(jget "$SUMMARY" 'all(k["ok"] for c in j["components"] for k in c["checks"])')" "checks passed"
assert_eq '["catalog", "sessions", "code", "directory", "orders"]' "$(jget "$SUMMARY" '[c["name"] for c in j["components"]]')" "components"
# The throw-away servers are gone: no redis-server or mariadbd works in the
# sandbox (both chdir to their data directory).
for pid in $(pgrep -x 'redis-server|mariadbd' || true); do
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  [[ $cwd != "$W/sandbox"* ]] || fail "a server is still running in the sandbox: pid $pid in $cwd"
done
RUN_DIR=$(jget "$SUMMARY" 'j["sandbox"]')
assert_not_exists "$RUN_DIR/sessions"

step "status: the MariaDB recovery point is the archived binlogs' last event, not the dump"
# Exit 1: one repository cannot meet the 3-2-1 rule.
expect_rc 1 lb --json status --config "$W/kinds.toml"
assert_contains "$(jget "$OUT" 'j["components"][0]["problems"]')" "3-2-1" "status problems"
ORDERS=$(jget "$OUT" '[c for c in j["components"] if c["component"] == "orders"][0]')
assert_contains "$(jget "$ORDERS" 'j["recovery_point_source"]')" "newest archived binlog (mariadb-bin." "status source"
assert_eq true "$(jget "$ORDERS" 'j["newest"] > j["newest_snapshot_time"]')" "binlog time after the dump"
CATALOG=$(jget "$OUT" '[c for c in j["components"] if c["component"] == "catalog"][0]')
assert_eq "newest snapshot" "$(jget "$CATALOG" 'j["recovery_point_source"]')" "sqlite source"

step "a deliberately failing check fails the drill for that component only"
sed 's/get session:77)\\" = user77/get session:77)\\" = nobody/' "$W/kinds.toml" >"$W/failing.toml"
assert_contains "$(cat "$W/failing.toml")" "= nobody" "edited config"
expect_rc 1 lb --json drill --config "$W/failing.toml"
SUMMARY=$(grep '"message_type":"summary"' <<<"$OUT" | tail -n 1)
assert_eq false "$(jget "$SUMMARY" 'j["ok"]')" "drill ok"
assert_eq '[true, false, true, true, true]' "$(jget "$SUMMARY" '[all(k["ok"] for k in c["checks"]) for c in j["components"]]')" "per component"
assert_eq "$CHECKS" "$(jget "$SUMMARY" 'sum(len(c["checks"]) for c in j["components"])')" "checks run"

step "runbook: the sqlite and git restore commands work when pasted"
DR=$W/dr
expect_ok lb runbook --config "$W/kinds.toml" --restore-root "$DR"
printf '%s\n' "$OUT" >"$W/runbook.md"
SQLITE_CMD=$(grep -F -- " restore sqlite latest" "$W/runbook.md")
GIT_CMD=$(grep -F -- " restore git latest" "$W/runbook.md")
assert_contains "$(cat "$W/runbook.md")" "redis-server --bind 127.0.0.1 --port $RPORT --dir $DR/var/lib/redis" "runbook redis start"
mkdir -p "$DR$APP"
expect_ok bash -c "$SQLITE_CMD"
assert_eq 500 "$(sqlite3 "$DR$APP/catalog.db" 'select count(*) from items')" "runbook sqlite restore"
expect_ok bash -c "$GIT_CMD"
assert_eq "$HEAD_COMMIT" "$(git -C "$DR$APP/code" rev-parse HEAD)" "runbook git restore"

step "recover --to-time now: every kind into ROOT/NAME"
sleep 1.1
T=$(date -u +'%Y-%m-%d %H:%M:%S')
REC=$W/rec
expect_ok lb --json recover --config "$W/kinds.toml" --to-time "$T" --target "$REC"
SUMMARY=$(grep '"message_type":"summary"' <<<"$OUT" | tail -n 1)
assert_eq true "$(jget "$SUMMARY" 'j["ok"]')" "recover ok"
assert_eq 500 "$(sqlite3 "$REC/catalog/catalog.db" 'select count(*) from items')" "recovered sqlite"
assert_eq "$HEAD_COMMIT" "$(git -C "$REC/code/code" rev-parse HEAD)" "recovered git"
assert_exists "$REC/sessions/redis/dump.rdb"
cmp "$REC/directory/directory.ldif" "$APP/directory.ldif" || fail "recovered command output differs"
assert_contains "$(jget "$SUMMARY" '[c for c in j["components"] if c["component"] == "orders"][0]["log_range"]')" "binlogs from mariadb-bin." "mariadb binlog range"
# The recovered MariaDB data directory, started, holds every row.
MYREC=$REC/orders/mariadb
[[ $(id -u) == 0 ]] && userarg=--user=mysql || userarg=
/usr/sbin/mariadbd --no-defaults --datadir="$MYREC/data" --socket="$MYREC/check.sock" \
  --skip-networking --skip-log-bin $userarg --log-error="$MYREC/check.log" >/dev/null 2>&1 &
add_cleanup "mariadb-admin --no-defaults --socket='$MYREC/check.sock' -uroot shutdown 2>/dev/null || true"
for _ in $(seq 1 200); do
  mariadb-admin --no-defaults --socket="$MYREC/check.sock" -uroot ping >/dev/null 2>&1 && break
  sleep 0.1
done
assert_eq 400 "$(mariadb --no-defaults --socket="$MYREC/check.sock" -uroot -N -B -e 'select count(*) from shop.orders')" "recovered mariadb rows"
mariadb-admin --no-defaults --socket="$MYREC/check.sock" -uroot shutdown
