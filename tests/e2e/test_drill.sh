#!/usr/bin/env bash
# The application in one file (issue 6): a lifeboat.toml made here with two
# local repositories, a files component and a real PostgreSQL 15 component
# (WAL archived by `lifeboat postgres archive-push` into the first
# repository).
#   - `run` backs up both components into the first repository and copies
#     them into the second (snapshots tagged app=shop,component=NAME);
#   - `drill` restores both into the sandbox (PostgreSQL recovered to the end
#     of the archived WAL: rows written after the base backup are there),
#     runs the verify checks, measures the time, stores the report in the
#     repository, removes the restored data; `status` then exits 0;
#   - the runbook names the real repositories, and its restore command for
#     the files component, executed as written, restores byte-equal data;
#   - the files component's packs overwritten in the first repository: the
#     next drill fails, the alert command receives the JSON on stdin, and
#     `status` exits 1;
#   - the server lost, the runbook's PostgreSQL command, executed as written,
#     brings back a promoted server with every archived row.
# Every lifeboat call runs as the server's user when the test runs as root
# (archive_command runs as that user and must read the repository).
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

REPO1=$W/repo-onsite
REPO2=$W/repo-offsite
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
[[ $(id -u) == 0 ]] && chown postgres: "$PWFILE"
lbpg() { as_pg "$LIFEBOAT" "$@"; }
CONFIG=$W/lifeboat.toml

step "two repositories"
as_pg mkdir -p "$REPO1" "$REPO2"
expect_ok lbpg --repo "$REPO1" --password-file "$PWFILE" init
expect_ok lbpg --repo "$REPO2" --password-file "$PWFILE" init

step "PostgreSQL archiving its WAL into the first repository"
PG=$W/pg
add_cleanup "'$PGSH' destroy '$PG'"
set +e
"$PGSH" start "$PG" "archive_mode = on" \
  "archive_command = '$LIFEBOAT --repo $REPO1 --password-file $PWFILE postgres archive-push %p'"
rc=$?
set -e
[[ $rc == 77 ]] && skip "PostgreSQL could not be started (pg.sh skipped)"
[[ $rc == 0 ]] || fail "pg.sh start failed ($rc)"
# shellcheck disable=SC1091
. "$PG/env"
psql() { as_pg "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }
psql -q -c "create table orders (id int primary key, amount int not null)"
psql -q -c "insert into orders select g, g % 97 from generate_series(1, 1000) g"

step "the files component's data"
DATA=$W/data/uploads
as_pg mkdir -p "$DATA/img/2026"
for i in 1 2 3; do as_pg sh -c "head -c $((i * 300000)) /dev/urandom > '$DATA/img/2026/photo$i.jpg'"; done
as_pg sh -c "echo 'hello uploads' > '$DATA/readme.txt'"
as_pg sh -c "echo 'temporary' > '$DATA/scratch.tmp'"

ALERT_OUT=$W/alert.json
cat >"$W/alert.sh" <<EOS
#!/bin/sh
cat > '$ALERT_OUT'
EOS
chmod 0755 "$W/alert.sh"

cat >"$CONFIG" <<EOF2
[app]
name = "shop"

[[repository]]
name = "onsite"
url = "$REPO1"
password_file = "$PWFILE"
media = "disk"
site = "onsite"

[[repository]]
name = "offsite"
url = "$REPO2"
password_file = "$PWFILE"
media = "object"
site = "far-away"

[[component]]
name = "db"
kind = "postgres"
rpo = "1h"
rto = "5m"
restore_order = 1
postgres = { host = "127.0.0.1", port = $PGPORT, user = "postgres" }
verify = ["select count(*) = 1500 from orders", "select sum(amount) = (select sum(g % 97) from generate_series(1, 1500) g) from orders"]

[[component]]
name = "uploads"
kind = "files"
paths = ["$DATA"]
exclude = ["*.tmp"]
rpo = "1h"
rto = "5m"
restore_order = 2
verify = ["test -f {restored}$DATA/readme.txt", "cmp {restored}$DATA/img/2026/photo3.jpg $DATA/img/2026/photo3.jpg", "test ! -e {restored}$DATA/scratch.tmp"]

[drill]
every = "7d"
sandbox = "$W/sandbox"
components = ["db", "uploads"]

[alerts]
command = "$W/alert.sh"
EOF2
chmod 0644 "$CONFIG"
# The same application with a component whose backup fails (a MariaDB server
# that is not there).
UNSUP=$W/unsupported.toml
{
  cat "$CONFIG"
  printf '%s\n' '[[component]]' 'name = "sessions"' 'kind = "mariadb"' 'rpo = "1h"' 'rto = "5m"' \
    "mariadb = { host = \"127.0.0.1\", port = $(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])') }"
} >"$UNSUP"
chmod 0644 "$UNSUP"

step "run uploads: its packs are the files component's"
expect_ok lbpg run --config "$CONFIG" uploads
assert_contains "$OUT" "uploads -> onsite: snapshot" "run output"
assert_contains "$OUT" "uploads -> offsite: copied" "run output"
pack_files "$REPO1" >"$W/uploads-packs"
[[ -s $W/uploads-packs ]] || fail "no packs after backing up uploads"

step "run: a component whose backup fails fails alone, clearly, with an alert"
expect_fail lbpg --json run --config "$UNSUP"
assert_json_lines "$OUT"
SUMMARY=$(grep '"message_type":"summary"' <<<"$OUT" | tail -n 1)
assert_eq false "$(jget "$SUMMARY" 'j["ok"]')" "run ok"
assert_eq '[true, true, false]' "$(jget "$SUMMARY" '[c["ok"] for c in j["components"]]')" "per component"
assert_contains "$OUT" "Can't connect to server" "run output"
ALERT=$(cat "$ALERT_OUT")
assert_eq backup_failed "$(jget "$ALERT" 'j["kind"]')" "alert kind"
assert_eq sessions "$(jget "$ALERT" 'j["component"]')" "alert component"
rm -f "$ALERT_OUT"

step "run: every component, one line per component and repository"
expect_ok lbpg run --config "$CONFIG"
assert_contains "$OUT" "db -> onsite: snapshot" "run output"
assert_contains "$OUT" "db -> offsite: copied" "run output"
for repo in "$REPO1" "$REPO2"; do
  for comp in db uploads; do
    expect_ok lbpg --repo "$repo" --password-file "$PWFILE" --json snapshots --tag "app=shop,component=$comp"
    n=$(jget "$OUT" 'len(j)')
    [[ $n -ge 2 ]] || fail "$repo: expected at least 2 snapshots of $comp, got $n"
  done
done

step "rows written after the base backup reach the archive"
psql -q -c "insert into orders select g, g % 97 from generate_series(1001, 1500) g"
INSERTED_AT=$(psql -c "select extract(epoch from clock_timestamp())")  # just after its commit
last=$(psql -c "select pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 300); do
  done_wal=$(psql -c "select coalesce(last_archived_wal, '') from pg_stat_archiver")
  [[ $done_wal > "$last" || $done_wal == "$last" ]] && break
  sleep 0.1
done
[[ $done_wal > "$last" || $done_wal == "$last" ]] || fail "segment $last not archived in 30 s"

step "drill passes and measures the recovery time"
expect_ok lbpg drill --config "$CONFIG"
echo "$OUT"
assert_contains "$OUT" "drill PASSED" "drill output"
assert_contains "$OUT" "db: passed" "drill output"
assert_contains "$OUT" "uploads: passed" "drill output"
RUN_DIR=$(find "$W/sandbox" -mindepth 1 -maxdepth 1 -name 'run-*' | head -n 1)
[[ -n $RUN_DIR ]] || fail "no run directory in the sandbox"
REPORT=$(cat "$RUN_DIR/report.json")
assert_eq true "$(jget "$REPORT" 'j["ok"]')" "report ok"
assert_eq '["db", "uploads"]' "$(jget "$REPORT" '[c["name"] for c in j["components"]]')" "restore order"
assert_eq true "$(jget "$REPORT" 'all(c["seconds"] > 0 and c["restore_seconds"] > 0 for c in j["components"])')" "measured times"
assert_eq true "$(jget "$REPORT" 'j["total_seconds"] >= sum(c["seconds"] for c in j["components"])')" "total time"
assert_eq 5 "$(jget "$REPORT" 'sum(len(c["checks"]) for c in j["components"])')" "checks run"
assert_exists "$RUN_DIR/report.md"
assert_contains "$(cat "$RUN_DIR/report.md")" "| uploads | files | onsite |" "report.md"
assert_not_exists "$RUN_DIR/uploads"
assert_not_exists "$RUN_DIR/db"
assert_not_exists "$ALERT_OUT"
echo "measured: $(jget "$REPORT" '", ".join("%s %.2f s" % (c["name"], c["seconds"]) for c in j["components"])'), total $(jget "$REPORT" '"%.2f s" % j["total_seconds"]')"

step "the report is stored in the first repository"
expect_ok lbpg --repo "$REPO1" --password-file "$PWFILE" --json snapshots --tag "app=shop,drill"
assert_eq '["drill"]' "$(jget "$OUT" '[s["source"] for s in j]')" "drill snapshot"
DRILL_SNAP=$(jget "$OUT" 'j[0]["id"]')
expect_ok lbpg --repo "$REPO1" --password-file "$PWFILE" dump "$DRILL_SNAP" /report.json
assert_eq true "$(jget "$OUT" 'j["ok"]')" "stored report"

step "status: every objective holds"
expect_ok lbpg status --config "$CONFIG"
assert_contains "$OUT" "all objectives hold" "status output"
expect_ok lbpg --json status --config "$CONFIG"
assert_eq true "$(jget "$OUT" 'j["ok"]')" "status ok"
assert_eq '[true, true]' "$(jget "$OUT" '[c["last_drill"]["passed"] for c in j["components"]]')" "last drill in status"
assert_eq '[3, 3]' "$(jget "$OUT" '[c["rule_321"]["copies"] for c in j["components"]]')" "copies"
# PostgreSQL's recovery point is read out of the archived WAL: the commit of
# the rows inserted after the base backup, not the base backup's time.
DB_STATUS=$(jget "$OUT" '[c for c in j["components"] if c["component"] == "db"][0]')
echo "db: recovery point $(jget "$DB_STATUS" 'j["newest"]') ($(jget "$DB_STATUS" 'j["recovery_point_source"]')), base backup $(jget "$DB_STATUS" 'j["newest_snapshot_time"]')"
assert_contains "$(jget "$DB_STATUS" 'j["recovery_point_source"]')" "newest archived WAL" "db recovery point source"
ts() { python3 -c 'import datetime,sys; print(datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp())' "$1"; }
python3 -c 'import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b) < 2 else 1)' \
  "$(ts "$(jget "$DB_STATUS" 'j["newest"]')")" "$INSERTED_AT" ||
  fail "db recovery point $(jget "$DB_STATUS" 'j["newest"]') is not the insert's commit ($INSERTED_AT)"

step "runbook: real URLs, and its files restore command restores the data as written"
DR=$W/dr
expect_ok lbpg runbook --config "$CONFIG" --restore-root "$DR"
RUNBOOK=$OUT
printf '%s\n' "$RUNBOOK" >"$W/runbook.md"
assert_contains "$RUNBOOK" "$REPO1" "runbook"
assert_contains "$RUNBOOK" "$REPO2" "runbook"
assert_contains "$RUNBOOK" "password file \`$PWFILE\`" "runbook"
assert_not_contains "$RUNBOOK" "$PASSWORD" "runbook"
assert_contains "$RUNBOOK" "Last drill: passed" "runbook"
FILES_CMD=$(grep -F -- "restore latest --target $DR " "$W/runbook.md" || true)
[[ $(wc -l <<<"$FILES_CMD") == 1 && -n $FILES_CMD ]] || fail "expected one files restore command in the runbook: $FILES_CMD"
assert_contains "$FILES_CMD" "--repo $REPO1 --password-file $PWFILE" "files restore command"
PG_CMD=$(grep -F -- "restore postgres latest" "$W/runbook.md" || true)
assert_contains "$PG_CMD" "--tag app=shop,component=db" "postgres restore command"
as_pg mkdir -p "$DR"
expect_ok as_pg bash -c "$FILES_CMD"
diff -r "$DATA/img" "$DR$DATA/img" || fail "runbook restore: files differ"
cmp "$DATA/readme.txt" "$DR$DATA/readme.txt" || fail "runbook restore: readme differs"
assert_not_exists "$DR$DATA/scratch.tmp"

step "corrupt the files component's packs in the first repository: the drill fails and alerts"
while read -r pack; do
  size=$(stat -c %s "$pack")
  chmod u+w "$pack"
  head -c "$size" /dev/urandom >"$pack"
done <"$W/uploads-packs"
expect_fail lbpg drill --config "$CONFIG"
assert_contains "$OUT" "drill FAILED" "drill output"
assert_contains "$OUT" "db: passed" "drill output (db is unharmed)"
assert_contains "$ERR" "uploads" "drill errors"
[[ -s $ALERT_OUT ]] || fail "the alert command received nothing"
ALERT=$(cat "$ALERT_OUT")
assert_eq shop "$(jget "$ALERT" 'j["app"]')" "alert app"
assert_eq drill_failed "$(jget "$ALERT" 'j["kind"]')" "alert kind"
assert_eq uploads "$(jget "$ALERT" 'j["component"]')" "alert component"
MESSAGE=$(jget "$ALERT" 'j["message"]')
assert_contains "$MESSAGE" "uploads: restore failed: " "alert message"
assert_contains "$MESSAGE" "damaged or tampered with" "alert message says why"
assert_not_contains "$MESSAGE" "message_type" "alert message"
assert_matches "$(jget "$ALERT" 'j["time"]')" '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T' "alert time"

step "status now reports the failed drill"
expect_rc 1 lbpg status --config "$CONFIG"
assert_contains "$OUT" "last drill FAILED" "status output"

step "runbook: the PostgreSQL restore command, executed as written after losing the server"
"$PGSH" stop "$PG"
PG_DATA_DR=$DR/var/lib/postgresql/lifeboat-db
add_cleanup "'$PGSH' stop '$PG' '$PG_DATA_DR'"
expect_ok as_pg bash -c "$PG_CMD"
assert_eq 1500 "$(psql -c 'select count(*) from orders')" "rows in the server the runbook restored"
assert_eq f "$(psql -c 'select pg_is_in_recovery()')" "restored server promoted"
"$PGSH" stop "$PG" "$PG_DATA_DR"
