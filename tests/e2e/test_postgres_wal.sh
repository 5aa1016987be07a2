#!/usr/bin/env bash
# Continuous WAL archiving against a REAL PostgreSQL 15 (tests/servers/postgres/pg.sh):
#   - archive_command = 'lifeboat ... postgres archive-push %p' archives every
#     switched segment (pg_stat_archiver: archived_count > 0, failed_count = 0)
#     as wal/pg.<system id>.<segment> objects in the repository;
#   - archive-get of an archived segment is byte-identical to pg_wal's copy;
#   - archive-push of an archived segment again is a no-op (object unchanged);
#   - a tampered segment under an archived name is refused, the archived
#     object kept; an object swapped in the repository is refused by
#     archive-get (exit 2), a missing file is exit 1 with one line.
# As root the server (and so archive_command) runs as `postgres`: the
# repository and the password file belong to it, and every lifeboat call here
# runs as that user too so the objects stay readable to the server.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PGSH=$E2E_DIR/../servers/postgres/pg.sh
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || skip "PostgreSQL 15 is not installed"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 || skip "running as root but there is no postgres user"
  as_pg test -x "$LIFEBOAT" || skip "the postgres user cannot run $LIFEBOAT"
fi

REPO=$W/repo
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
[[ $(id -u) == 0 ]] && chown postgres: "$PWFILE"
lbpg() { as_pg "$LIFEBOAT" --repo "$REPO" --password-file "$PWFILE" "$@"; }

step "init a repository the server's user owns"
mkdir -p "$REPO"
[[ $(id -u) == 0 ]] && chown postgres: "$REPO"
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
psql() { as_pg "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$@"; }
SYSID=$("$PGBIN/pg_controldata" "$PGDATA" | sed -n 's/^Database system identifier: *//p')
[[ $SYSID =~ ^[0-9]+$ ]] || fail "no system identifier from pg_controldata"

step "generate WAL and switch segments"
psql -c "create table t (id int primary key, v text)" >/dev/null
for i in 1 2 3; do
  psql -c "insert into t select g, md5(g::text) from generate_series($((i * 10000)), $((i * 10000 + 9999))) g" >/dev/null
  psql -c "select pg_switch_wal()" >/dev/null
done
archived=0
for _ in $(seq 1 150); do
  archived=$(psql -c "select archived_count from pg_stat_archiver")
  [[ $archived -ge 3 ]] && break
  sleep 0.2
done
read -r archived failed last < <(psql -F ' ' -c \
  "select archived_count, failed_count, coalesce(last_archived_wal, '') from pg_stat_archiver")
[[ $archived -ge 3 ]] || fail "only $archived segments archived in 30 s (failed: $failed); log: $(tail -20 "$PG/pg.log")"
assert_eq 0 "$failed" "pg_stat_archiver.failed_count"
echo "archived $archived, last $last"

step "the archived segments are objects in the repository"
OBJ=$REPO/wal/pg.$SYSID.$last
assert_exists "$OBJ"
n=$(find "$REPO/wal" -name "pg.$SYSID.*" -type f | wc -l)
[[ $n -ge $archived ]] || fail "expected >= $archived objects in wal/, found $n"
size=$(stat -c %s "$OBJ")
assert_lt "$size" $((16 * 1024 * 1024)) "stored size of a mostly empty segment (compressed)"

step "archive-get is byte-identical to pg_wal's copy"
GOT=$W/got
mkdir -p "$GOT"
[[ $(id -u) == 0 ]] && chown postgres: "$GOT"
expect_ok lbpg postgres archive-get --pgdata "$PGDATA" "$last" "$GOT/RECOVERYXLOG"
if [[ -f $PGDATA/pg_wal/$last ]]; then
  assert_files_equal "$PGDATA/pg_wal/$last" "$GOT/RECOVERYXLOG"
else
  echo "(segment already recycled in pg_wal: compared sizes only)"
  assert_eq $((16 * 1024 * 1024)) "$(stat -c %s "$GOT/RECOVERYXLOG")" "restored segment size"
fi
# Run from the data directory, as PostgreSQL does (system id from ./global/pg_control).
run as_pg bash -c "cd '$PGDATA' && '$LIFEBOAT' --repo '$REPO' --password-file '$PWFILE' postgres archive-get '$last' '$GOT/again'"
assert_eq 0 "$RC" "archive-get from the data directory (stderr: $ERR)"
assert_files_equal "$GOT/RECOVERYXLOG" "$GOT/again"

step "archive-push of an archived segment again is a no-op"
before=$(sha256sum <"$OBJ")
cp "$GOT/RECOVERYXLOG" "$GOT/$last"
[[ $(id -u) == 0 ]] && chown postgres: "$GOT/$last"
expect_ok lbpg postgres archive-push --pgdata "$PGDATA" "$GOT/$last"
expect_ok lbpg postgres archive-push --pgdata "$PGDATA" "$GOT/$last"
assert_eq "$before" "$(sha256sum <"$OBJ")" "the archived object after two re-pushes"

step "a tampered segment under an archived name is refused"
TAMPERED=$W/tampered
mkdir -p "$TAMPERED"
cp "$GOT/RECOVERYXLOG" "$TAMPERED/$last"
printf 'X' | dd of="$TAMPERED/$last" bs=1 seek=100 conv=notrunc status=none
[[ $(id -u) == 0 ]] && chown -R postgres: "$TAMPERED"
expect_fail lbpg postgres archive-push --pgdata "$PGDATA" "$TAMPERED/$last"
assert_contains "$ERR" "different content" "archive-push of a tampered segment"
assert_eq "$before" "$(sha256sum <"$OBJ")" "the archived object after a refused push"
# The same bytes claimed by another cluster are stored apart, never mixed in.
expect_ok lbpg postgres archive-push --system-id 42 "$TAMPERED/$last"
assert_exists "$REPO/wal/pg.42.$last"
expect_fail lbpg postgres archive-push --pgdata "$PGDATA" "$PGDATA/postgresql.conf"
assert_contains "$ERR" "not a WAL file name" "archive-push of a non-WAL file"

step "an object swapped in the repository is refused by archive-get"
first=$(cd "$REPO/wal" && ls "pg.$SYSID."* | head -n 1)
first=${first#"pg.$SYSID."}
[[ $first != "$last" ]] || fail "need two archived segments"
as_pg cp "$REPO/wal/pg.42.$last" "$REPO/wal/pg.$SYSID.$first"
expect_rc 2 lbpg postgres archive-get --pgdata "$PGDATA" "$first" "$GOT/swapped"
assert_contains "$ERR" "holds WAL file '$last' of system 42" "archive-get of a swapped object"
assert_not_exists "$GOT/swapped"

step "archive-get of a missing file exits 1 with one line"
expect_rc 1 lbpg postgres archive-get --pgdata "$PGDATA" 00000099.history "$GOT/missing"
assert_contains "$ERR" "not in the archive" "archive-get of a missing file"
assert_eq 1 "$(wc -l <<<"$ERR")" "lines printed for a missing file"
assert_not_exists "$GOT/missing"

step "the password never shows"
assert_not_contains "$(cat "$W/.transcript" "$PG/pg.log")" "$PASSWORD" "output and server log"

step "the server still archives after all this"
psql -c "select pg_switch_wal()" >/dev/null
psql -c "insert into t values (0, 'x')" >/dev/null
psql -c "select pg_switch_wal()" >/dev/null
for _ in $(seq 1 150); do
  now=$(psql -c "select archived_count from pg_stat_archiver")
  [[ $now -gt $archived ]] && break
  sleep 0.2
done
[[ $now -gt $archived ]] || fail "no further segment archived"
assert_eq 0 "$(psql -c 'select failed_count from pg_stat_archiver')" "failed_count at the end"

step "archive-push --async: a worker opens the repository once and pushes ahead"
SPOOL=$W/spool
mkdir -p "$SPOOL"
[[ $(id -u) == 0 ]] && chown postgres: "$SPOOL"
psql -c "alter system set archive_command = '$LIFEBOAT --repo $REPO --password-file $PWFILE postgres archive-push --async --spool $SPOOL %p'" >/dev/null
psql -c "select pg_reload_conf()" >/dev/null
before=$(psql -c "select archived_count from pg_stat_archiver")
for i in 1 2 3 4 5 6; do
  psql -c "insert into t select g, md5(g::text) from generate_series($((100000 + i * 1000)), $((100000 + i * 1000 + 999))) g" >/dev/null
  psql -c "select pg_switch_wal()" >/dev/null
done
for _ in $(seq 1 300); do
  now=$(psql -c "select archived_count from pg_stat_archiver")
  [[ $now -ge $((before + 6)) ]] && break
  sleep 0.1
done
[[ $now -ge $((before + 6)) ]] || fail "async: only $((now - before)) of 6 segments archived in 30 s; log: $(tail -20 "$PG/pg.log")"
assert_eq 0 "$(psql -c 'select failed_count from pg_stat_archiver')" "failed_count with --async"
last=$(psql -c "select last_archived_wal from pg_stat_archiver")
assert_exists "$REPO/wal/pg.$SYSID.$last"
expect_ok lbpg postgres archive-get --pgdata "$PGDATA" "$last" "$GOT/async-last"
assert_eq $((16 * 1024 * 1024)) "$(stat -c %s "$GOT/async-last")" "size of a segment archived with --async"
# No .ok marker outlives its segment for long: the worker sweeps them. (The
# wait also lets the worker exit, idle, before the password changes below.)
sleep 3
left=$(find "$SPOOL" -name '*.ok' | wc -l)
[[ $left -le 1 ]] || fail "$left .ok markers left in the spool"

step "archive-push --async with an unreadable password file fails clearly and archives nothing"
BADPW=$W/bad-password
printf 'wrong password\n' >"$BADPW"
chmod 0600 "$BADPW"
[[ $(id -u) == 0 ]] && chown postgres: "$BADPW"
psql -c "alter system set archive_command = '$LIFEBOAT --repo $REPO --password-file $BADPW postgres archive-push --async --spool $SPOOL %p'" >/dev/null
psql -c "select pg_reload_conf()" >/dev/null
failed_before=$(psql -c "select failed_count from pg_stat_archiver")
archived_before=$(psql -c "select archived_count from pg_stat_archiver")
psql -c "insert into t values (-1, 'x')" >/dev/null
psql -c "select pg_switch_wal()" >/dev/null
for _ in $(seq 1 300); do
  failed=$(psql -c "select failed_count from pg_stat_archiver")
  [[ $failed -gt $failed_before ]] && break
  sleep 0.1
done
[[ $failed -gt $failed_before ]] || fail "a wrong password did not make archiving fail"
assert_eq "$archived_before" "$(psql -c 'select archived_count from pg_stat_archiver')" "segments archived with a wrong password"
grep -q "wrong password\|password" "$PG/pg.log" || fail "the server log does not say why archiving failed: $(tail -5 "$PG/pg.log")"
step "back to the right password: the pending segment is archived"
psql -c "alter system set archive_command = '$LIFEBOAT --repo $REPO --password-file $PWFILE postgres archive-push --async --spool $SPOOL %p'" >/dev/null
psql -c "select pg_reload_conf()" >/dev/null
# After three failures the archiver waits up to a minute; a new segment wakes it.
psql -c "insert into t values (-2, 'y')" >/dev/null
psql -c "select pg_switch_wal()" >/dev/null
for _ in $(seq 1 600); do
  now=$(psql -c "select archived_count from pg_stat_archiver")
  [[ $now -gt $archived_before ]] && break
  sleep 0.1
done
[[ $now -gt $archived_before ]] || fail "the pending segment was not archived after the fix"
