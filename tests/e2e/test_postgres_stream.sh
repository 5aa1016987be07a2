#!/usr/bin/env bash
# WAL streaming for an RPO of seconds (issue 5): a real PostgreSQL WITHOUT
# archive_command; `postgres stream-wal --slot --create-slot` runs in the
# background; a base backup; WAL crossing several segments; the streamer is
# killed with SIGKILL mid-stream and restarted (it resumes from the slot);
# rows are committed, the last one noted; after the flush interval + 2 s the
# PRIMARY is killed with SIGKILL (the disaster). `restore postgres --to-end
# --start` (which refuses a gap in the WAL archive) must give the last
# committed row: recovered from the streamed partial segment. Also: SIGTERM
# stops the streamer cleanly (exit 0), and every segment from the backup's
# start to the last one is in the archive (full, or the last as a partial).
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

step "start PostgreSQL without archive_command"
PG=$W/pg
add_cleanup "'$PGSH' destroy '$PG'"
set +e
"$PGSH" start "$PG" "archive_mode = off"
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

SPOOL=$W/spool
STREAMER=""
find_lifeboat() { # PID: the lifeboat process at or below PID
  local p=$1 comm
  for _ in 1 2 3 4 5; do
    comm=$(ps -o comm= -p "$p" 2>/dev/null) || return 1
    [[ $comm == lifeboat ]] && { echo "$p"; return 0; }
    p=$(ps -o pid= --ppid "$p" | tr -d ' ' | head -1)
    [[ -n $p ]] || return 1
  done
  return 1
}
# Starts stream-wal in the background; STREAMER = the lifeboat process.
start_streamer() { # LOG [ARGS...]
  local log=$1
  shift
  as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" "$LIFEBOAT" --repo "$REPO" \
    --password-file "$PWFILE" -v postgres stream-wal --slot lifeboat_test --spool "$SPOOL" \
    --flush-interval 1s "$@" 2>"$log" &
  local launcher=$!
  # The background job is a subshell, then runuser when root: the process to
  # signal is the lifeboat below it.
  STREAMER=""
  for _ in $(seq 1 50); do
    STREAMER=$(find_lifeboat "$launcher") && break
    sleep 0.1
  done
  [[ -n $STREAMER ]] || fail "stream-wal did not start"
  add_cleanup "kill -9 $STREAMER 2>/dev/null || true"
  for _ in $(seq 1 100); do
    grep -q "streaming WAL" "$log" && return 0
    kill -0 "$STREAMER" 2>/dev/null || fail "stream-wal exited: $(cat "$log")"
    sleep 0.1
  done
  fail "stream-wal did not start streaming in 10 s: $(cat "$log")"
}

step "bad slot names and a missing slot fail clearly"
expect_fail lbpg postgres stream-wal --slot Bad-Name --spool "$W/spool-bad"
assert_contains "$ERR" "must be 1-63 lowercase letters"
expect_fail lbpg postgres stream-wal --create-slot --spool "$W/spool-bad"
assert_contains "$ERR" "--create-slot needs --slot"
expect_fail lbpg postgres stream-wal --slot no_such_slot --spool "$W/spool-bad"
assert_contains "$ERR" "replication slot 'no_such_slot' does not exist"

step "stream-wal --slot lifeboat_test --create-slot in the background"
start_streamer "$W/stream1.log" --create-slot
cat "$W/stream1.log"
assert_contains "$(cat "$W/stream1.log")" "created physical replication slot lifeboat_test"
assert_eq "lifeboat_test physical" "$(psql -c "select slot_name || ' ' || slot_type from pg_replication_slots")" "slot"

step "a table, a base backup (WAL from the archive: --no-wal)"
psql -q -c "create table events (id bigint primary key, at timestamptz default clock_timestamp(), pad text)"
psql -q -c "insert into events (id, pad) select g, repeat('a', 100) from generate_series(1, 1000) g"
expect_ok lbpg --json backup postgres --no-wal
SNAP=$(jget "$(grep '"message_type":"summary"' <<<"$OUT")" 'j["snapshot_id"]')
START_WAL=$(jget "$(grep '"message_type":"summary"' <<<"$OUT")" 'j["source_info"]["start_wal_file"]')
echo "base backup $SNAP starts in $START_WAL"

step "WAL across several segments; the streamer is killed (SIGKILL) mid-stream"
psql -q -c "insert into events (id, pad) select g, repeat(md5(g::text), 8) from generate_series(1001, 60000) g" &
INS=$!
sleep 1
kill -9 "$STREAMER"
wait "$INS" || fail "the insert failed"
psql -q -c "insert into events (id, pad) select g, repeat(md5(g::text), 8) from generate_series(60001, 120000) g"
SLOT_BEFORE=$(psql -c "select restart_lsn from pg_replication_slots where slot_name = 'lifeboat_test'")
echo "slot restart_lsn while the streamer is down: $SLOT_BEFORE; server at $(psql -c 'select pg_current_wal_lsn()')"

step "restart stream-wal: it resumes from the slot"
start_streamer "$W/stream2.log"
cat "$W/stream2.log"
assert_contains "$(cat "$W/stream2.log")" "from the slot's restart_lsn"

step "archive-push of a segment stream-wal stored is a no-op (the same object)"
PUSHED=0
for seg in $(cd "$REPO/wal" && ls | sed -n "s/^pg\.[0-9]*\.//p" | grep -E '^[0-9A-F]{24}$'); do
  [[ -f $PG/data/pg_wal/$seg ]] || continue
  OBJ=$(ls "$REPO"/wal/pg.*."$seg")
  SUM=$(md5sum <"$OBJ")
  expect_ok lbpg -v postgres archive-push --pgdata "$PG/data" "$PG/data/pg_wal/$seg"
  assert_contains "$OUT" "already archived" "archive-push of $seg after stream-wal"
  assert_eq "$SUM" "$(md5sum <"$OBJ")" "object of $seg after archive-push"
  PUSHED=$((PUSHED + 1))
done
echo "$PUSHED streamed segment(s) re-pushed by archive-push: identical"
assert_ne 0 "$PUSHED" "segments checked against archive-push"

step "commit rows, note the last one, wait flush interval + 2 s"
for i in $(seq 1 20); do
  psql -q -c "insert into events (id, pad) values (1000000 + $i, 'last rows')"
  sleep 0.1
done
LAST_ID=$(psql -c "select max(id) from events")
LAST_AT=$(psql -c "select max(at) from events")
COUNT=$(psql -c "select count(*) from events")
SERVER_LSN=$(psql -c "select pg_current_wal_lsn()")
echo "last committed row $LAST_ID at $LAST_AT ($COUNT rows); server WAL at $SERVER_LSN"
# How long until that WAL is in the repository (a partial covering it, or a
# later full segment): the RPO stream-wal gives with --flush-interval 1s.
read -r SEG OFF <<<"$(psql -F ' ' -c "select file_name, file_offset from pg_walfile_name_offset('$SERVER_LSN')")"
T0=$(date +%s.%N)
STORED_AFTER=""
for _ in $(seq 1 100); do
  for n in $(cd "$REPO/wal" && ls | sed -n "s/^pg\.[0-9]*\.${SEG}\.\([0-9A-F]\{8\}\)\.stream$/\1/p"); do
    (( 16#$n >= OFF )) && STORED_AFTER=$(python3 -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 2))" "$T0")
  done
  [[ -n $STORED_AFTER ]] && break
  sleep 0.05
done
[[ -n $STORED_AFTER ]] || fail "no partial of $SEG covering offset $OFF within 5 s"
echo "the last commit's WAL ($SEG + $OFF) was in the repository ${STORED_AFTER} s after the commit returned"
sleep 3
grep -E "segment|partial" "$W/stream2.log" | tail -3 || true

step "the disaster: SIGKILL the primary"
PGPID=$(head -1 "$PG/data/postmaster.pid")
kill -9 "$PGPID"
KILLED_AT=$(date -u +%s.%N)
for _ in $(seq 1 100); do kill -0 "$PGPID" 2>/dev/null || break; sleep 0.1; done

step "SIGTERM stops the streamer cleanly"
kill -TERM "$STREAMER"
for _ in $(seq 1 100); do kill -0 "$STREAMER" 2>/dev/null || break; sleep 0.1; done
kill -0 "$STREAMER" 2>/dev/null && fail "stream-wal did not stop on SIGTERM: $(tail -5 "$W/stream2.log")"
cat "$W/stream2.log" | tail -5
assert_contains "$(cat "$W/stream2.log")" "stopped:"

step "every segment from the backup's start is archived (the last as a partial)"
NAMES=$(cd "$REPO/wal" && ls | sed -n "s/^pg\.[0-9]*\.//p" | sort)
echo "$NAMES" | tail -4
python3 - "$START_WAL" <<PY || fail "the WAL archive has a gap"
import sys
names = """$NAMES""".split()
start = sys.argv[1]
segs = set(n[:24] for n in names if len(n) == 24 or n.endswith(".stream"))
full = set(n for n in names if len(n) == 24)
def num(n): return int(n[8:16], 16) * 256 + int(n[16:24], 16)
first, last = num(start), max(num(s) for s in segs)
missing = [s for s in range(first, last + 1) if not any(num(x) == s for x in segs)]
print("segments", first, "to", last, "full", len(full), "missing", missing)
assert last > first + 2, "expected several segments"
assert not missing, missing
assert any(n.endswith(".stream") for n in names), "no partial segment"
PY

step "restore --to-end --start: the last committed row is there"
DIR=$W/restored
P2=$(free_port)
add_cleanup "'$PGSH' stop '$PG' '$DIR'"
expect_ok lbpg restore postgres "$SNAP" --target "$DIR" --to-end --start --port "$P2"
echo "$OUT" | tail -6
assert_contains "$OUT" "WAL from stream-wal"
assert_eq "$LAST_ID" "$(psql_at "$P2" -c "select max(id) from events")" "last committed row after recovery"
assert_eq "$COUNT" "$(psql_at "$P2" -c "select count(*) from events")" "row count after recovery"
RPO=$(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$KILLED_AT" \
  "$(psql_at "$P2" -c "select extract(epoch from max(at)) from events")")
echo "RPO: the last committed row (at $LAST_AT) survived; it was written ${RPO} s before the primary died"

echo "PASS"
