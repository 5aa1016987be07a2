#!/usr/bin/env bash
# PostgreSQL base backups (issue 5): `backup postgres` streams a base backup of
# a throw-away PostgreSQL 15 cluster (tests/servers/postgres/pg.sh) into the
# repository; a second one of a barely changed cluster adds little; `restore
# postgres` of the first snapshot, started with --start, holds exactly the
# rows as of that backup. Also: restore refuses a non-empty directory, and an
# unreachable server is a clear error. Skips (77) without PostgreSQL 15.
source "$(dirname "$0")/lib.sh"

PGSH=$E2E_DIR/../servers/postgres/pg.sh
PG=$W/pg
rc=0
bash "$PGSH" start "$PG" >"$W/pg-start.log" 2>&1 || rc=$?
[[ $rc -eq 77 ]] && skip "$(cat "$W/pg-start.log")"
[[ $rc -eq 0 ]] || fail "pg.sh start: $(cat "$W/pg-start.log")"
add_cleanup "bash '$PGSH' destroy '$PG'"
# shellcheck disable=SC1091
source "$PG/env"
psql() { "$PGBIN/psql" -X -q -At -h 127.0.0.1 -U postgres "$@"; }

step "a table with rows"
psql -p "$PGPORT" -c "create table t (id int primary key, payload text)"
psql -p "$PGPORT" -c "insert into t select g, repeat('x', 200) from generate_series(1, 5000) g"

new_repo "$W/repo"

step "backup postgres"
expect_ok lb --json backup postgres --tag pg --label "e2e base 1"
SNAP1=$(echo "$OUT" | python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    if d.get("message_type")=="summary": print(d["snapshot_id"])')
[[ -n "$SNAP1" ]] || fail "no snapshot id in: $OUT"
SUMMARY1=$OUT
ADDED1=$(echo "$OUT" | python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    if d.get("message_type")=="summary": print(d["data_added"])')
echo "$SUMMARY1" | python3 -c '
import json, sys
s = [json.loads(l) for l in sys.stdin if "summary" in l][-1]
assert s["server"].startswith("postgres://127.0.0.1:"), s
info = s["source_info"]
for k in ("system_identifier", "timeline", "start_lsn", "stop_lsn", "start_wal_file",
          "stop_wal_file", "server_version", "label"):
    assert info.get(k), (k, info)
assert info["label"] == "e2e base 1", info
' || fail "snapshot metadata: $SUMMARY1"
expect_ok lb snapshots --json
echo "$OUT" | python3 -c '
import json, sys
snaps = [s for s in json.load(sys.stdin) if s.get("source") == "postgres"]
assert len(snaps) == 1 and snaps[0]["paths"][0].startswith("postgres://127.0.0.1:"), snaps
assert "pg" in snaps[0]["tags"], snaps
' || fail "snapshots --json: $OUT"
expect_ok lb ls "$SNAP1"
grep -q "^/pgdata/PG_VERSION$" <<<"$OUT" || fail "no /pgdata/PG_VERSION in the snapshot"
grep -q "^/pgdata/backup_manifest$" <<<"$OUT" || fail "no /pgdata/backup_manifest"
grep -q "^/pgdata/pg_wal/0000" <<<"$OUT" || fail "no WAL included in /pgdata/pg_wal"

step "more rows, second backup adds little"
psql -p "$PGPORT" -c "insert into t select g, 'later' from generate_series(5001, 5100) g"
expect_ok lb --json backup postgres
ADDED2=$(echo "$OUT" | python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    if d.get("message_type")=="summary": print(d["data_added"])')
echo "added: first $ADDED1 bytes, second $ADDED2 bytes"
# A fresh cluster is ~40 MB; the second backup adds the new WAL segment(s)
# and changed pages only (WAL segments are 16 MiB but mostly zeros / reused).
(( ADDED2 < ADDED1 / 2 )) || fail "second backup added $ADDED2 bytes (first: $ADDED1)"

step "restore the first snapshot and start it"
expect_ok lb restore postgres "$SNAP1" --target "$W/restored" --start --port "$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
echo "$OUT"
grep -q "server ready" <<<"$OUT" || fail "restore did not report a ready server"
grep -q "WAL range" <<<"$OUT" || fail "restore did not print the LSN range"
PORT2=$(grep -o "server ready on 127.0.0.1:[0-9]*" <<<"$OUT" | grep -o "[0-9]*$")
add_cleanup "bash '$PGSH' stop '$PG' '$W/restored'"
ROWS=$(psql -p "$PORT2" -c "select count(*) from t")
assert_eq 5000 "$ROWS" "rows in the restored cluster (as of backup 1)"

step "restore --delta refuses a running server"
expect_fail lb restore postgres "$SNAP1" --target "$W/restored" --delta
assert_contains "$ERR" "a server is running in" "delta over a running server"
assert_eq 5000 "$(psql -p "$PORT2" -c "select count(*) from t")" "rows after the refused delta"
step "restore --delta over the used copy: rewrites only what differs"
psql -p "$PORT2" -c "insert into t select g, 'drift' from generate_series(10001, 12000) g"
psql -p "$PORT2" -c "checkpoint"
bash "$PGSH" stop "$PG" "$W/restored"
echo "stray" >"$W/restored/stray-file"
expect_ok lb --json restore postgres "$SNAP1" --target "$W/restored" --delta --start --port "$PORT2"
SUMD=$(grep '"message_type":"summary"' <<<"$OUT")
kept=$(jget "$SUMD" 'j["files_unchanged"]')
total=$(jget "$SUMD" 'j["files_restored"]')
echo "delta kept $kept of $total files, removed $(jget "$SUMD" 'j["entries_removed"]') entries"
[[ $kept -gt $((total / 2)) ]] || fail "delta kept only $kept of $total files"
assert_not_exists "$W/restored/stray-file"
assert_eq 5000 "$(psql -p "$PORT2" -c "select count(*) from t")" "rows after the delta restore (as of backup 1)"
bash "$PGSH" stop "$PG" "$W/restored"

step "restore --start with no pg_ctl where --pgbin says: a clear error"
expect_fail lb restore postgres "$SNAP1" --target "$W/nopgctl" --start --port "$PORT2" --pgbin "$W/no-such-bin"
assert_contains "$ERR" "pg_ctl start failed" "error when pg_ctl is missing"
assert_contains "$ERR" "no-such-bin/pg_ctl" "the error names the program that did not start"

step "restore refuses a non-empty directory"
mkdir -p "$W/busy" && echo x >"$W/busy/file"
expect_fail lb restore postgres latest --target "$W/busy"
grep -q "not empty" <<<"$ERR" || fail "unclear error for a non-empty target: $ERR"
[[ $(ls "$W/busy") == file ]] || fail "restore touched the non-empty directory"

step "an unreachable server is a clear error"
PORT_DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_fail env PGPORT="$PORT_DEAD" "$LIFEBOAT" backup postgres
grep -q "unable to connect to PostgreSQL" <<<"$ERR" || fail "unclear error: $ERR"
grep -q "$PORT_DEAD" <<<"$ERR" || fail "error does not name the port: $ERR"
