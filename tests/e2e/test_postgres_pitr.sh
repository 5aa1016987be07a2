#!/usr/bin/env bash
# Point-in-time recovery of PostgreSQL 15 (issue 5), our users' worst day:
#   a steady write workload runs against a real server that archives its WAL
#   with `lifeboat postgres archive-push`; a base backup is taken while it
#   runs; at a moment T the content checksum of every table is noted; after T
#   a destructive change happens (rows deleted, a table dropped);
#   `restore postgres latest --to-time T --start` gives exactly the tables as
#   of T, and `--to-end` gives everything up to the last archived WAL.
#   The restored servers do not archive (archive_mode off) unless asked.
# Every lifeboat call runs as the server's user when the test runs as root,
# so the repository stays readable to archive_command/restore_command.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PGSH=$E2E_DIR/../servers/postgres/pg.sh
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || skip "PostgreSQL 15 is not installed"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 || skip "running as root but there is no postgres user"
  as_pg test -x "$LIFEBOAT" || skip "the postgres user cannot run $LIFEBOAT"
  chown postgres: "$W"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REPO=$W/repo
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
[[ $(id -u) == 0 ]] && chown postgres: "$PWFILE"
lbpg() { as_pg "$LIFEBOAT" --repo "$REPO" --password-file "$PWFILE" "$@"; }

step "init a repository the server's user owns"
as_pg mkdir -p "$REPO"
expect_ok lbpg init

step "start PostgreSQL with lifeboat as archive_command"
PG=$W/pg
add_cleanup "'$PGSH' destroy '$PG'"
set +e
"$PGSH" start "$PG" "archive_mode = on" \
  "archive_command = '$LIFEBOAT --repo $REPO --password-file $PWFILE postgres archive-push %p'"
rc=$?
set -e
[[ $rc == 77 ]] && skip "PostgreSQL could not be started (pg.sh skipped)"
[[ $rc == 0 ]] || fail "pg.sh start failed ($rc)"
# shellcheck disable=SC1091
. "$PG/env"
export PGHOST PGPORT PGUSER
psql_at() { # PORT ARGS...
  local port=$1
  shift
  as_pg "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}
psql() { psql_at "$PGPORT" "$@"; }
# One md5 per table over all its rows in key order: equal sums, equal data.
checksums() { # PORT
  psql_at "$1" -c "
    select 'orders ' || count(*) || ' ' || md5(coalesce(string_agg(o::text, ',' order by id), '')) from orders o
    union all
    select 'accounts ' || count(*) || ' ' || md5(coalesce(string_agg(a::text, ',' order by id), '')) from accounts a"
}

step "schema, initial data"
psql -q -c "create table orders (id bigserial primary key, account int, amount numeric, at timestamptz default clock_timestamp())"
psql -q -c "create table accounts (id int primary key, balance numeric)"
psql -q -c "insert into accounts select g, 1000 from generate_series(1, 200) g"
psql -q -c "insert into orders (account, amount) select g % 200 + 1, g from generate_series(1, 20000) g"

step "a steady write workload (an order and a balance update every ~20 ms, autocommit)"
# The writer paces itself (not pg_sleep in the server) so that no backlog of
# statements waits in the pipe: once $W/stop exists the loop ends, psql reads
# EOF and exits, and `wait` returns when the last write has committed.
workload() {
  local i=0
  while [[ ! -e $W/stop ]]; do
    i=$((i + 1))
    echo "insert into orders (account, amount) values ($((i % 200 + 1)), $i);"
    echo "update accounts set balance = balance - 1 where id = $((i % 200 + 1));"
    sleep 0.02
  done | psql -q >/dev/null
}
workload &
WORKLOAD=$!
add_cleanup "touch '$W/stop'; wait $WORKLOAD"
sleep 1

step "base backup while the workload runs"
expect_ok lbpg --json backup postgres --tag pitr
SNAP=$(jget "$(grep '"message_type":"summary"' <<<"$OUT")" 'j["snapshot_id"]')
echo "base backup $SNAP"
sleep 2

step "the moment T: table checksums as of T"
# EXCLUSIVE blocks the workload's writes (it waits for the ones in flight to
# commit), so exactly the transactions committed before T are in the sums,
# and none commits between T and the end of this transaction.
AT_T=$(psql -q -c "begin" -c "lock table orders, accounts in exclusive mode" \
  -c "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'" \
  -c "select 'orders ' || count(*) || ' ' || md5(coalesce(string_agg(o::text, ',' order by id), '')) from orders o" \
  -c "select 'accounts ' || count(*) || ' ' || md5(coalesce(string_agg(a::text, ',' order by id), '')) from accounts a" \
  -c "commit")
T=$(sed -n 1p <<<"$AT_T")
SUMS_T=$(sed -n '2,3p' <<<"$AT_T")
echo "T = $T"
echo "$SUMS_T"
[[ $T =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:.]+\+00$ ]] || fail "unexpected T: $AT_T"
sleep 1

step "the destructive change after T"
psql -q -c "delete from orders where id % 2 = 0"
psql -q -c "update accounts set balance = 0"
sleep 0.5
touch "$W/stop"
wait "$WORKLOAD" || fail "the workload failed"
SUMS_END=$(checksums "$PGPORT")
echo "at the end:"
echo "$SUMS_END"
[[ $SUMS_END != "$SUMS_T" ]] || fail "the destructive change did not change the checksums"

step "archive the last WAL"
last=$(psql -c "select pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 300); do
  done_wal=$(psql -c "select coalesce(last_archived_wal, '') from pg_stat_archiver")
  [[ $done_wal > "$last" || $done_wal == "$last" ]] && break
  sleep 0.1
done
[[ $done_wal > "$last" || $done_wal == "$last" ]] ||
  fail "segment $last not archived in 30 s (last archived: $done_wal); log: $(tail -20 "$PG/pg.log")"
assert_eq 0 "$(psql -c 'select failed_count from pg_stat_archiver')" "pg_stat_archiver.failed_count"

step "restore latest --to-time T --start: exactly the data as of T"
T_DIR=$W/to-time
P1=$(free_port)
add_cleanup "'$PGSH' stop '$PG' '$T_DIR'"
expect_ok lbpg --json restore postgres latest --target "$T_DIR" --to-time "$T" --start --port "$P1"
SUM_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
assert_eq "$SNAP" "$(jget "$SUM_LINE" 'j["snapshot_id"]')" "restored snapshot"
echo "recovered to $(jget "$SUM_LINE" 'j["recovered_lsn"]'), last replayed transaction at" \
  "$(jget "$SUM_LINE" 'j["last_replay_time"]')"
assert_eq "$SUMS_T" "$(checksums "$P1")" "table checksums of the recovery to T"
assert_eq off "$(psql_at "$P1" -c 'show archive_mode')" "archive_mode of the restored server"
assert_eq f "$(psql_at "$P1" -c 'select pg_is_in_recovery()')" "restored server promoted"
"$PGSH" stop "$PG" "$T_DIR"

step "restore --to-end: everything, up to the destructive change"
END_DIR=$W/to-end
P2=$(free_port)
add_cleanup "'$PGSH' stop '$PG' '$END_DIR'"
expect_ok lbpg restore postgres "$SNAP" --target "$END_DIR" --to-end --start --port "$P2"
assert_contains "$OUT" "server ready on 127.0.0.1:$P2" "restore --to-end output"
assert_eq "$SUMS_END" "$(checksums "$P2")" "table checksums of the recovery to the end"
"$PGSH" stop "$PG" "$END_DIR"

step "restore --to-end, the server started by hand: lifeboat-wal-get starts a fetch worker"
HAND_DIR=$W/by-hand
P3=$(free_port)
add_cleanup "'$PGSH' stop '$PG' '$HAND_DIR'"
expect_ok lbpg restore postgres "$SNAP" --target "$HAND_DIR" --to-end
assert_contains "$(cat "$HAND_DIR/postgresql.auto.conf")" "lifeboat-wal-get --spool" \
  "restore_command runs the lean helper"
"$PGSH" start-existing "$PG" "$HAND_DIR" "$P3"
for _ in $(seq 1 600); do
  [[ $(psql_at "$P3" -c 'select pg_is_in_recovery()' 2>/dev/null) == f ]] && break
  sleep 0.1
done
assert_eq f "$(psql_at "$P3" -c 'select pg_is_in_recovery()')" "the hand-started server recovered"
assert_eq "$SUMS_END" "$(checksums "$P3")" "table checksums of the hand-started recovery"
# No worker ran when the server asked first: the helper ran lifeboat, which
# started one (its log is in the spool).
assert_exists "$(ls -d "$HAND_DIR".wal-spool/*/in*/worker.log | head -n 1)"
"$PGSH" stop "$PG" "$HAND_DIR"

step "a segment missing from the archive: --to-end refuses, naming it"
START_WAL=$(jget "$(as_pg "$LIFEBOAT" --repo "$REPO" --password-file "$PWFILE" snapshots --json)" \
  '[s for s in j if s["id"] == "'"$SNAP"'"][0]["source_info"]["start_wal_file"]')
for i in 1 2 3; do
  psql -q -c "insert into orders (account, amount) values (1, -$i)"
  last=$(psql -c "select pg_walfile_name(pg_switch_wal())")
done
for _ in $(seq 1 300); do
  done_wal=$(psql -c "select coalesce(last_archived_wal, '') from pg_stat_archiver")
  [[ $done_wal > "$last" || $done_wal == "$last" ]] && break
  sleep 0.1
done
# The second segment after the backup's start: remove it from the archive.
GONE=$(cd "$REPO/wal" && ls | sed -n "s/^pg\.[0-9]*\.//p" | grep -E '^[0-9A-F]{24}$' | sort |
  awk -v s="$START_WAL" '$0 > s' | sed -n 2p)
[[ -n $GONE ]] || fail "no archived segment after $START_WAL to remove"
rm -f "$REPO"/wal/pg.*."$GONE"
expect_fail lbpg restore postgres "$SNAP" --target "$W/gap" --to-end
assert_contains "$ERR" "WAL segment $GONE is missing from the archive" "restore --to-end over a gap"
assert_contains "$OUT$ERR" "replay cannot go past $GONE" "the gap warning"
assert_not_exists "$W/gap/PG_VERSION"
expect_ok lbpg restore postgres "$SNAP" --target "$W/gap" --to-end --allow-wal-gap
assert_contains "$OUT" "replay cannot go past $GONE" "the gap warning with --allow-wal-gap"

step "recovery needs a password source that is not an argument"
expect_fail env LIFEBOAT_PASSWORD="$PASSWORD" "$LIFEBOAT" --repo "$REPO" restore postgres latest \
  --target "$W/nopw" --to-time "$T"
assert_contains "$ERR" "needs --password-file or --password-command" "restore without a password file"
assert_not_exists "$W/nopw"

step "the password never shows"
assert_not_contains "$(cat "$W/.transcript" "$PG/pg.log")" "$PASSWORD" "output and server log"
assert_not_contains "$(cat "$T_DIR/postgresql.auto.conf")" "$PASSWORD" "postgresql.auto.conf"
