#!/usr/bin/env bash
# lifeboat recover --to-time T (issue 6): the whole application back to one
# moment. A files component and a real PostgreSQL 15 component (WAL
# archived by lifeboat), backed up by `run`; more rows written; T noted
# with the table's checksum; then, after T, rows deleted and changed, a
# file overwritten, new files, and a second `run` (snapshots newer than T
# that recover must not use). `recover --to-time T --start`:
#   - PostgreSQL: the base backup before T, WAL replayed to T: the table's
#     checksum equals the one at T (not the base backup's, not the newest);
#   - files: the snapshot before T, byte-equal to the data as it was then;
#   - a component whose only snapshot is newer than T fails alone (exit 1,
#     named), the others are recovered;
#   - --dry-run restores nothing; a non-empty target is refused; --json
#     names the snapshots and recovery points.
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
REPO=$W/repo
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
[[ $(id -u) == 0 ]] && chown postgres: "$PWFILE"
lbpg() { as_pg "$LIFEBOAT" "$@"; }
CONFIG=$W/lifeboat.toml

step "repository and PostgreSQL archiving into it"
as_pg mkdir -p "$REPO"
expect_ok lbpg --repo "$REPO" --password-file "$PWFILE" init
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
psql_at() { as_pg "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres "${@:2}"; }
psql() { psql_at "$PGPORT" "$@"; }
CHECKSUM="select count(*) || ' ' || sum(amount) || ' ' || md5(string_agg(id || ':' || amount, ',' order by id)) from orders"
psql -q -c "create table orders (id int primary key, amount int not null)"
psql -q -c "insert into orders select g, g % 97 from generate_series(1, 1000) g"
wait_archived() {
  local last done_wal
  last=$(psql -c "select pg_walfile_name(pg_switch_wal())")
  for _ in $(seq 1 300); do
    done_wal=$(psql -c "select coalesce(last_archived_wal, '') from pg_stat_archiver")
    [[ $done_wal > "$last" || $done_wal == "$last" ]] && return 0
    sleep 0.1
  done
  fail "segment $last not archived in 30 s"
}

DATA=$W/data/uploads
LATE=$W/data/late
as_pg mkdir -p "$DATA/img" "$LATE"
for i in 1 2 3; do as_pg sh -c "head -c $((i * 200000)) /dev/urandom > '$DATA/img/p$i.jpg'"; done
as_pg sh -c "echo 'version one' > '$DATA/readme.txt'"
as_pg sh -c "echo 'late data' > '$LATE/late.txt'"

cat >"$CONFIG" <<EOF2
[app]
name = "shop"

[[repository]]
name = "onsite"
url = "$REPO"
password_file = "$PWFILE"

[[component]]
name = "db"
kind = "postgres"
rpo = "1h"
rto = "5m"
restore_order = 1
postgres = { host = "127.0.0.1", port = $PGPORT, user = "postgres" }

[[component]]
name = "uploads"
kind = "files"
paths = ["$DATA"]
rpo = "1h"
rto = "5m"
restore_order = 2

[[component]]
name = "late"
kind = "files"
paths = ["$LATE"]
rpo = "1h"
rto = "5m"
restore_order = 3
EOF2
chmod 0644 "$CONFIG"

step "run: a base backup and a files snapshot before T"
expect_ok lbpg run --config "$CONFIG" db uploads
as_pg cp -a "$DATA" "$W/uploads-before-T"

step "rows written after the base backup, then T"
psql -q -c "insert into orders select g, g % 89 from generate_series(1001, 1500) g"
psql -q -c "update orders set amount = amount + 1000 where id % 10 = 0"
sleep 1.2
T=$(date -u +'%Y-%m-%d %H:%M:%S.%N' | cut -c1-26)
AT_T=$(psql -c "$CHECKSUM")
echo "T = $T, at T: $AT_T"
sleep 1.2

step "after T: rows deleted and changed, a file overwritten, new files, newer snapshots"
psql -q -c "delete from orders where id > 1200"
psql -q -c "update orders set amount = 0 where id < 100"
AFTER=$(psql -c "$CHECKSUM")
assert_ne "$AT_T" "$AFTER" "checksum changed after T"
as_pg sh -c "echo 'version two' > '$DATA/readme.txt'"
as_pg sh -c "head -c 1000 /dev/urandom > '$DATA/img/new.jpg'"
expect_ok lbpg run --config "$CONFIG"
wait_archived

step "dry run: says what it would restore, restores nothing"
REC=$W/recovered
expect_ok lbpg recover --config "$CONFIG" --to-time "$T" --target "$REC" --dry-run db uploads
assert_contains "$OUT" "would run: lifeboat restore postgres" "dry run"
assert_not_exists "$REC/db"
assert_not_exists "$REC/uploads"

step "bad time and missing target are refused clearly"
expect_fail lbpg recover --config "$CONFIG" --to-time "yesterday" --target "$REC"
assert_contains "$ERR" "cannot read 'yesterday' as a time" "bad time"

step "recover --to-time T: db and uploads as of T; late (only newer snapshots) fails alone"
expect_rc 1 lbpg --json recover --config "$CONFIG" --to-time "$T" --target "$REC" --start
assert_json_lines "$OUT"
SUMMARY=$(grep '"message_type":"summary"' <<<"$OUT" | tail -n 1)
echo "$SUMMARY"
assert_eq false "$(jget "$SUMMARY" 'j["ok"]')" "recover ok"
assert_eq '["late"]' "$(jget "$SUMMARY" 'j["failed"]')" "failed components"
assert_eq '[true, true, false]' "$(jget "$SUMMARY" '[c["ok"] for c in j["components"]]')" "per component"
assert_contains "$(jget "$SUMMARY" 'j["components"][2]["error"]')" "no snapshot at or before" "late error"
PGREC_PORT=$(jget "$SUMMARY" 'j["components"][0]["port"]')
PGREC_DATA=$(jget "$SUMMARY" 'j["components"][0]["target"]')
assert_eq "$REC/db/pgdata" "$PGREC_DATA" "postgres target"
add_cleanup "'$PGSH' stop '$PG' '$PGREC_DATA'"
# The snapshots chosen: the ones before T (the first run), not the newest.
expect_ok lbpg --repo "$REPO" --password-file "$PWFILE" --json snapshots --tag "app=shop,component=uploads"
FIRST_UPLOADS=$(jget "$OUT" 'sorted(j, key=lambda s: s["time"])[0]["id"]')
assert_eq "$FIRST_UPLOADS" "$(jget "$SUMMARY" 'j["components"][1]["snapshot_id"]')" "uploads snapshot"
expect_ok lbpg --repo "$REPO" --password-file "$PWFILE" --json snapshots --tag "app=shop,component=db"
FIRST_DB=$(jget "$OUT" 'sorted(j, key=lambda s: s["time"])[0]["id"]')
assert_eq "$FIRST_DB" "$(jget "$SUMMARY" 'j["components"][0]["snapshot_id"]')" "db base backup"
assert_eq true "$(jget "$SUMMARY" 'j["components"][1]["before_target_seconds"] > 1.2')" "uploads point before T"
assert_contains "$(jget "$SUMMARY" 'j["components"][0]["log_range"]')" "WAL from" "db WAL range"

step "PostgreSQL recovered to exactly T"
assert_eq "$AT_T" "$(psql_at "$PGREC_PORT" -c "$CHECKSUM")" "checksum at T"
assert_eq f "$(psql_at "$PGREC_PORT" -c 'select pg_is_in_recovery()')" "promoted"
"$PGSH" stop "$PG" "$PGREC_DATA"

step "files recovered as the snapshot before T"
assert_trees_equal "$W/uploads-before-T" "$REC/uploads$DATA"
assert_eq "version one" "$(cat "$REC/uploads$DATA/readme.txt")" "readme before T"
assert_not_exists "$REC/uploads$DATA/img/new.jpg"
assert_not_exists "$REC/late"

step "text output and a non-empty target refused"
expect_rc 1 lbpg recover --config "$CONFIG" --to-time "$T" --target "$REC" uploads late
assert_contains "$ERR" "uploads: FAILED: '$REC/uploads' is not empty" "non-empty refused"
assert_contains "$ERR" "2 of 2 components failed (uploads, late)" "summary line"
REC2=$W/recovered2
expect_ok lbpg recover --config "$CONFIG" --to-time "$T" --target "$REC2" uploads
assert_contains "$OUT" "before the target" "recovery point"
assert_trees_equal "$W/uploads-before-T" "$REC2/uploads$DATA"
