#!/usr/bin/env bash
# Point-in-time recovery of MariaDB (issue 5), our users' worst day:
#   a steady write workload runs against a real MariaDB server with binary
#   logging; `backup mariadb` takes a consistent dump while it runs; at a
#   moment T the content checksum of every table is noted; after T a
#   destructive change happens; `mariadb archive-binlogs --flush` archives
#   the binlogs; `restore mariadb latest --to-time T` into a fresh server
#   gives exactly the tables as of T, and `--to-end` into another fresh
#   server gives everything.
# Also: a re-push of archived binlogs is a no-op (--recheck compares them);
# a wrong password and a failing dump save no snapshot; a non-empty target
# is refused; a server without binary logging is backed up but PITR is
# refused clearly; the passwords never show.
#
# The T boundary is exact: the workload runs one client call per iteration
# and pauses on request, acknowledging only when no statement is in flight;
# T is read >1 s after the pause began and the workload resumes >1 s after
# T, because binlog event timestamps (the statement start) have 1 s
# resolution and --to-time replays events before T's second.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MSH=$E2E_DIR/../servers/mariadb/mariadb.sh
command -v mariadb >/dev/null 2>&1 || skip "the mariadb client is not installed"
command -v mariadb-dump >/dev/null 2>&1 || skip "mariadb-dump is not installed"
command -v mariadb-binlog >/dev/null 2>&1 || skip "mariadb-binlog is not installed"

REPO=$W/repo
use_repo "$REPO"
expect_ok lb init
export BK_PASSWORD="e2e-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

start_server() { # NAME [env assignments via caller]
  local dir=$W/$1 rc
  add_cleanup "'$MSH' destroy '$dir'"
  set +e
  "$MSH" start "$dir"
  rc=$?
  set -e
  [[ $rc == 77 ]] && skip "MariaDB could not be started (mariadb.sh skipped)"
  [[ $rc == 0 ]] || fail "mariadb.sh start $1 failed ($rc)"
}
port_of() { (. "$W/$1/env" && echo "$MYPORT"); }
sql() { # SERVER SQL...
  local s=$1
  shift
  mariadb --defaults-file="$W/$s/client.cnf" -N -B "$@"
}
# One md5 per table over all its rows in key order: equal sums, equal data.
checksums() { # SERVER
  sql "$1" app -e "SET SESSION group_concat_max_len = 1073741824;
    SELECT CONCAT('orders ', COUNT(*), ' ', MD5(COALESCE(GROUP_CONCAT(CONCAT_WS(',', id, account, amount, at) ORDER BY id SEPARATOR ';'), ''))) FROM orders;
    SELECT CONCAT('accounts ', COUNT(*), ' ', MD5(COALESCE(GROUP_CONCAT(CONCAT_WS(',', id, balance) ORDER BY id SEPARATOR ';'), ''))) FROM accounts;"
}
conn_of() { # SERVER → connection options of lifeboat
  echo "--host 127.0.0.1 --port $(port_of "$1") --user bk --mariadb-password-file $W/$1/bk.password"
}
snapshot_count() { lb --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

step "start the source server (binary logging on)"
start_server src
SRC="$(conn_of src)"

step "schema, initial data"
sql src -e "CREATE DATABASE app"
sql src app -e "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, account INT, amount INT,
  at DATETIME(6) DEFAULT NOW(6)) ENGINE=InnoDB;
  CREATE TABLE accounts (id INT PRIMARY KEY, balance INT) ENGINE=InnoDB;
  INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_200;
  INSERT INTO orders (account, amount) SELECT seq % 200 + 1, seq FROM seq_1_to_20000;"

step "a steady write workload (an order and a balance update every ~20 ms)"
workload() {
  local i=0
  while [[ ! -e $W/stop ]]; do
    if [[ -e $W/pause ]]; then
      touch "$W/paused"
      sleep 0.02
      continue
    fi
    i=$((i + 1))
    sql src app -e "INSERT INTO orders (account, amount) VALUES ($((i % 200 + 1)), $i);
      UPDATE accounts SET balance = balance - 1 WHERE id = $((i % 200 + 1));"
    sleep 0.02
  done
}
workload &
WORKLOAD=$!
add_cleanup "touch '$W/stop'; wait $WORKLOAD"
sleep 1

step "backup mariadb while the workload runs"
# shellcheck disable=SC2086
expect_ok lb --json backup mariadb $SRC --tag pitr
SUM_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
SNAP=$(jget "$SUM_LINE" 'j["snapshot_id"]')
BINLOG_FILE=$(jget "$SUM_LINE" 'j["source_info"]["binlog_file"]')
BINLOG_POS=$(jget "$SUM_LINE" 'j["source_info"]["binlog_pos"]')
assert_eq possible "$(jget "$SUM_LINE" 'j["source_info"]["pitr"]')" "pitr in source_info"
assert_eq 1 "$(jget "$SUM_LINE" 'j["source_info"]["server_id"]')" "server_id in source_info"
assert_eq all "$(jget "$SUM_LINE" 'j["source_info"]["databases"]')" "databases in source_info"
GTID=$(jget "$SUM_LINE" 'j["source_info"].get("gtid_pos", "")')
[[ $GTID =~ ^0-1-[0-9]+$ ]] || fail "unexpected GTID position in source_info: '$GTID'"
[[ $BINLOG_FILE =~ ^mariadb-bin\.[0-9]{6}$ && $BINLOG_POS =~ ^[0-9]+$ ]] ||
  fail "unexpected binlog position '$BINLOG_FILE:$BINLOG_POS'"
echo "dump $SNAP at $BINLOG_FILE:$BINLOG_POS"
# At least as many rows as the dump holds; the rows written after this must
# come back through binlog replay.
COUNT_AFTER_BACKUP=$(sql src app -e "SELECT COUNT(*) FROM orders")
expect_ok lb snapshots
assert_contains "$OUT" "${SNAP:0:8}" "snapshots list"

step "archive the binlogs closed so far (as cron would, every minute)"
# shellcheck disable=SC2086
expect_ok lb --json mariadb archive-binlogs $SRC --flush
sleep 1

step "the moment T: table checksums as of T"
for _ in $(seq 1 200); do
  (($(sql src app -e "SELECT COUNT(*) FROM orders") >= COUNT_AFTER_BACKUP + 20)) && break
  sleep 0.1
done
touch "$W/pause"
for _ in $(seq 1 200); do [[ -e $W/paused ]] && break; sleep 0.05; done
[[ -e $W/paused ]] || fail "the workload did not pause"
sleep 1.2
AT_T=$(sql src app -e "SELECT UTC_TIMESTAMP(6)")
SUMS_T=$(checksums src)
T=$AT_T
echo "T = $T"
echo "$SUMS_T"
[[ $T =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:.]+$ ]] || fail "unexpected T: $AT_T"
COUNT_T=$(sql src app -e "SELECT COUNT(*) FROM orders")
# The binlog position at T (the end of the last committed event): an exact
# --to-position target.
POS_T=$(sql src -e "SHOW MASTER STATUS" | cut -f1,2 | tr '\t' ':')
echo "position at T = $POS_T"
assert_lt "$((COUNT_AFTER_BACKUP + 19))" "$COUNT_T" "orders written between the dump and T"
sleep 1.2
rm -f "$W/pause"
sleep 1

step "the destructive change after T"
sql src app -e "DELETE FROM orders WHERE id % 2 = 0; UPDATE accounts SET balance = 0"
sleep 0.5
touch "$W/stop"
wait "$WORKLOAD" || fail "the workload failed"
SUMS_END=$(checksums src)
echo "at the end:"
echo "$SUMS_END"
[[ $SUMS_END != "$SUMS_T" ]] || fail "the destructive change did not change the checksums"

step "archive-binlogs --flush: the current binlog is closed and archived"
# shellcheck disable=SC2086
expect_ok lb --json mariadb archive-binlogs $SRC --flush
A_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
STORED=$(jget "$A_LINE" 'j["binlogs_stored"]')
assert_lt 0 "$STORED" "binlogs stored by the last archive run"
CURRENT=$(sql src -e "SHOW MASTER STATUS" | cut -f1)
assert_eq "$CURRENT" "$(jget "$A_LINE" 'j["current_binlog"]')" "the open binlog is reported, not archived"

step "a re-push is a no-op"
# shellcheck disable=SC2086
expect_ok lb --json mariadb archive-binlogs $SRC
A_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
assert_eq 0 "$(jget "$A_LINE" 'j["binlogs_stored"]')" "binlogs stored by a second run"
# --recheck fetches every closed binlog again and pushes it: identical, no-op.
CLOSED=$(($(sql src -e "SHOW BINARY LOGS" | wc -l) - 1))
# shellcheck disable=SC2086
expect_ok lb --json mariadb archive-binlogs $SRC --recheck
A_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
assert_eq 0 "$(jget "$A_LINE" 'j["binlogs_stored"]')" "binlogs stored by --recheck"
assert_eq "$CLOSED" "$(jget "$A_LINE" 'j["binlogs_already_archived"]')" "binlogs verified by --recheck"
# The same files read from the server's binlog directory are identical too.
# shellcheck disable=SC2086
expect_ok lb --json mariadb archive-binlogs $SRC --recheck --binlog-dir "$W/src/binlog"
A_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
assert_eq 0 "$(jget "$A_LINE" 'j["binlogs_stored"]')" "binlogs stored by --recheck --binlog-dir"

step "restore latest --to-time T into a fresh server: exactly the data as of T"
start_server to_time
# shellcheck disable=SC2086
expect_ok lb --json restore mariadb latest $(conn_of to_time) --to-time "$T"
R_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
assert_eq "$SNAP" "$(jget "$R_LINE" 'j["snapshot_id"]')" "restored snapshot"
assert_eq "$BINLOG_FILE:$BINLOG_POS" "$(jget "$R_LINE" 'j["binlog_start"]')" "binlog start"
echo "replayed $(jget "$R_LINE" 'j["binlog_files"]') to $(jget "$R_LINE" 'j["recovery_target"]')"
assert_eq "$SUMS_T" "$(checksums to_time)" "table checksums of the recovery to T"

step "restore --to-position (the binlog position at T): exactly the data as of T"
start_server to_pos
# shellcheck disable=SC2086
expect_ok lb --json restore mariadb latest $(conn_of to_pos) --to-position "$POS_T"
R_LINE=$(grep '"message_type":"summary"' <<<"$OUT")
assert_eq "position $POS_T" "$(jget "$R_LINE" 'j["recovery_target"]')" "recovery target"
assert_eq "$SUMS_T" "$(checksums to_pos)" "table checksums of the recovery to the position at T"

step "restore --to-end into another fresh server: everything"
start_server to_end
# shellcheck disable=SC2086
expect_ok lb restore mariadb "$SNAP" $(conn_of to_end) --to-end
echo "$OUT"
assert_contains "$OUT" "binlogs: $BINLOG_FILE:$BINLOG_POS .." "restore output names the binlog range"
assert_contains "$OUT" "the end of the archived binlogs" "restore output names the target"
assert_eq "$SUMS_END" "$(checksums to_end)" "table checksums of the recovery to the end"

step "a target that is not empty is refused"
# shellcheck disable=SC2086
expect_fail lb restore mariadb latest $(conn_of to_end) --to-end
assert_contains "$ERR" "is not empty (databases: app)" "restore into a used server"

step "a wrong password: clear error, no snapshot"
BEFORE=$(snapshot_count)
printf 'not-the-password\n' >"$W/wrong.pw"
chmod 0600 "$W/wrong.pw"
expect_fail lb backup mariadb --host 127.0.0.1 --port "$(port_of src)" --user bk \
  --mariadb-password-file "$W/wrong.pw"
assert_contains "$ERR" "Access denied" "error of a backup with a wrong password"
assert_eq "$BEFORE" "$(snapshot_count)" "snapshots after a wrong password"

step "a failing dump (unknown database): clear error, no snapshot"
# shellcheck disable=SC2086
expect_fail lb backup mariadb $SRC --database app --database no_such_db
assert_contains "$ERR" "mariadb-dump failed" "error of a failing dump"
assert_contains "$ERR" "no_such_db" "error names the cause"
assert_eq "$BEFORE" "$(snapshot_count)" "snapshots after a failing dump"

step "a server without binary logging: backup works, PITR impossible"
LOG_BIN=0 start_server nobinlog
sql nobinlog -e "CREATE DATABASE app2; CREATE TABLE app2.t (id INT PRIMARY KEY); INSERT INTO app2.t VALUES (1),(2),(3)"
# shellcheck disable=SC2086
expect_ok lb backup mariadb $(conn_of nobinlog) --database app2
assert_contains "$OUT" "point-in-time recovery" "backup output without binlog"
assert_contains "$OUT" "impossible" "backup output without binlog"
NOBIN_SNAP=$(lb --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
start_server plain
# shellcheck disable=SC2086
expect_fail lb restore mariadb "$NOBIN_SNAP" $(conn_of plain) --to-end
assert_contains "$ERR" "records no binlog position" "PITR from a dump without binlog position"
# shellcheck disable=SC2086
expect_ok lb restore mariadb "$NOBIN_SNAP" $(conn_of plain)
assert_eq 3 "$(sql plain -e 'SELECT COUNT(*) FROM app2.t')" "rows restored from the dump alone"

step "binlog retention: prune keeps the binlogs from the oldest retained dump on"
CLOSED=$(($(sql src -e "SHOW BINARY LOGS" | wc -l) - 1))
# shellcheck disable=SC2086
expect_ok lb --json backup mariadb $SRC --database app
SNAP2=$(jget "$(grep '"message_type":"summary"' <<<"$OUT")" 'j["snapshot_id"]')
assert_eq "$(sql src -e "SHOW MASTER STATUS" | cut -f1)" \
  "$(jget "$(grep '"message_type":"summary"' <<<"$OUT")" 'j["source_info"]["binlog_file"]')" \
  "binlog file of the second dump"
expect_ok lb forget "$SNAP"
expect_ok lb --json prune
P_LINE=$(grep '"message_type":"prune_summary"' <<<"$OUT")
assert_eq "$CLOSED" "$(jget "$P_LINE" 'j["binlog_files"]')" "archived binlogs before prune"
assert_eq "$CLOSED" "$(jget "$P_LINE" 'j["binlog_files_deleted"]')" "binlogs older than the second dump removed"
# The second dump's own binlog was never archived: PITR from it says so.
start_server after_prune
# shellcheck disable=SC2086
expect_fail lb restore mariadb "$SNAP2" $(conn_of after_prune) --to-end
assert_contains "$ERR" "is not in the archive" "restore needing an unarchived binlog"
assert_contains "$ERR" "archive-binlogs --flush" "hint of a restore needing an unarchived binlog"
assert_eq "" "$(sql after_prune -e "SHOW DATABASES LIKE 'app'")" "target untouched when binlogs are missing"

step "the passwords never show"
assert_not_contains "$(cat "$W/.transcript")" "$BK_PASSWORD" "lifeboat output"
assert_not_contains "$(cat "$W/.transcript")" "$PASSWORD" "lifeboat output"
