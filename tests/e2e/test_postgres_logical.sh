#!/usr/bin/env bash
# Logical backups of one PostgreSQL database (issue 5): `backup postgres
# --logical --dbname DB` streams pg_dump's custom format into a snapshot
# (source "postgres-logical"); `restore postgres --logical` streams it into
# pg_restore. A pgbench workload writes, is stopped (pg_dump's snapshot is its
# own, so the comparison is against the quiesced database), every table's
# content checksum is noted, the database is dropped and restored with
# --create: equal checksums. Also: -j 2 into another database (through a
# private temporary file), --clean over a changed database, a missing
# database fails with pg_dump's message and saves no snapshot, and the
# password never appears in argv (pg_dump reads PGPASSWORD itself).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PGSH=$E2E_DIR/../servers/postgres/pg.sh
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || skip "PostgreSQL 15 is not installed"
[[ -x /usr/lib/postgresql/15/bin/pgbench ]] || skip "pgbench is not installed"
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 || skip "running as root but there is no postgres user"
fi

step "start PostgreSQL"
PG=$W/pg
add_cleanup "'$PGSH' destroy '$PG'"
set +e
"$PGSH" start "$PG"
rc=$?
set -e
[[ $rc == 77 ]] && skip "PostgreSQL could not be started (pg.sh skipped)"
[[ $rc == 0 ]] || fail "pg.sh start failed ($rc)"
# shellcheck disable=SC1091
. "$PG/env"
export PGHOST PGPORT PGUSER
export PATH=$PGBIN:$PATH  # pg_dump/pg_restore of the server's version
psql() { "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 "$@"; }
checksums() { # DB: one md5 per table over all rows in key order
  psql -d "$1" -c "
    select 'accounts ' || count(*) || ' ' || md5(coalesce(string_agg(a::text, ',' order by aid), '')) from pgbench_accounts a
    union all
    select 'branches ' || count(*) || ' ' || md5(coalesce(string_agg(b::text, ',' order by bid), '')) from pgbench_branches b
    union all
    select 'tellers ' || count(*) || ' ' || md5(coalesce(string_agg(t::text, ',' order by tid), '')) from pgbench_tellers t
    union all
    select 'history ' || count(*) || ' ' || md5(coalesce(string_agg(h::text, ',' order by h::text), '')) from pgbench_history h
    union all
    select 'notes ' || count(*) || ' ' || md5(coalesce(string_agg(n::text, ',' order by id), '')) from notes n
    union all
    select 'notes_seq ' || last_value from notes_id_seq"
}

step "a database under a pgbench workload (-c 2), then quiesced"
psql -d postgres -c "create database app"
"$PGBIN/pgbench" -q -i -s 5 app >"$W/pgbench-init.log" 2>&1 || fail "pgbench -i failed"
psql -d app -c "create table notes (id serial primary key, body text, blob bytea, at timestamptz default now());
  insert into notes (body, blob) select 'note ' || g, decode(md5(g::text), 'hex') from generate_series(1, 5000) g;
  create index on notes (body);
  create view recent_notes as select * from notes where id > 4990;"
"$PGBIN/pgbench" -n -c 2 -T 3 app >"$W/pgbench.log" 2>&1 &
BENCH=$!
add_cleanup "kill $BENCH 2>/dev/null || true"
for i in $(seq 1 20); do psql -d app -c "insert into notes (body) values ('during $i')"; sleep 0.1; done
wait "$BENCH" || fail "pgbench failed: $(tail -5 "$W/pgbench.log")"
BEFORE=$(checksums app)
echo "$BEFORE"
assert_matches "$BEFORE" "^history [1-9]" "pgbench wrote history rows"

new_repo "$W/repo"
step "backup postgres --logical --dbname app (password through PGPASSWORD only)"
export PGPASSWORD=lb-e2e-pg-secret  # trust auth ignores it; it must not leak into argv or output
backup_json postgres --logical --dbname app --tag nightly
L1=$SNAP
assert_eq "postgres-logical" "$(jget "$SUMMARY" 'j["source"]')" "source"
assert_eq "app" "$(jget "$SUMMARY" 'j["source_info"]["dbname"]')" "source_info dbname"
expect_ok lb --json snapshots --source postgres-logical
assert_contains "$OUT" "$L1" "snapshots --source postgres-logical"
assert_contains "$OUT" "postgres://127.0.0.1:$PGPORT/app" "snapshot path"
# The dump inside the snapshot is pg_dump's custom format.
MAGIC=$(set +o pipefail; lb dump "$L1" /app.dump | head -c 5)
assert_eq "PGDMP" "$MAGIC" "the stored file's magic (custom format)"
unset PGPASSWORD
assert_not_contains "$(cat "$W/.transcript")" "lb-e2e-pg-secret" "output"

step "a second backup of the unchanged database adds little (-Z0: deduplicated)"
backup_json postgres --logical --dbname app
ADDED=$(jget "$SUMMARY" 'j["data_added"]')
TOTAL=$(jget "$SUMMARY" 'j["total_bytes_processed"]')
echo "second backup: $ADDED of $TOTAL bytes new"
# Only the head (TOC, timestamps) differs: at most a max-size chunk (8 MiB)
# and its neighbour of a ~55 MB dump.
assert_lt "$((ADDED * 3))" "$TOTAL" "second backup's new data"

step "drop the database; restore --create gives the same tables"
psql -d postgres -c "drop database app"
expect_ok lb restore postgres --logical latest --dbname app --create
assert_contains "$OUT" "streamed into pg_restore"
assert_eq "$BEFORE" "$(checksums app)" "table checksums after restore --create"
psql -d app -c "select count(*) from recent_notes" >/dev/null || fail "the view was not restored"

step "restore -j 2 into another database (private temporary file)"
psql -d postgres -c "create database app_copy"
expect_fail lb restore postgres --logical latest --dbname app_copy
assert_contains "$ERR" "no PostgreSQL logical snapshot of database app_copy"
TMPD=$W/tmp
mkdir -m 0700 "$TMPD"
expect_ok env TMPDIR="$TMPD" "$LIFEBOAT" restore postgres --logical "$L1" --dbname app_copy -j 2
assert_contains "$OUT" "private temporary file"
assert_eq "$BEFORE" "$(checksums app_copy)" "table checksums after restore -j 2"
assert_eq "" "$(ls -A "$TMPD")" "temporary files left behind"

step "--clean restores over a changed database"
psql -d app -c "delete from notes where id % 3 = 0; update pgbench_accounts set abalance = 42 where aid < 100; drop view recent_notes"
assert_ne "$BEFORE" "$(checksums app)" "checksums after the damage"
expect_ok lb restore postgres --logical "$L1" --dbname app --clean
assert_eq "$BEFORE" "$(checksums app)" "table checksums after restore --clean"

step "--create over an existing database fails clearly"
expect_fail lb restore postgres --logical "$L1" --dbname app --create
assert_contains "$ERR" "pg_restore"
assert_contains "$ERR" "already exists"

step "a missing database: clear error, no snapshot"
N0=$(lb --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect_fail lb backup postgres --logical --dbname no_such_db
assert_contains "$ERR" 'database "no_such_db" does not exist'
assert_contains "$ERR" "no snapshot was saved"
N1=$(lb --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
assert_eq "$N0" "$N1" "snapshot count after the failed backup"
expect_fail lb backup postgres --logical
assert_contains "$ERR" "--dbname"

echo "PASS"
