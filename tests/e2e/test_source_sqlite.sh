#!/usr/bin/env bash
# backup sqlite / restore sqlite: a writer keeps moving money between two
# accounts (total constant, one log row per transfer) while the backup runs;
# the restored database passes integrity_check, keeps the invariant, and
# holds a row count between the counts before and after the backup.
source "$(dirname "$0")/lib.sh"
python3 -c 'import sqlite3' 2>/dev/null || skip "python3 sqlite3 module missing"

new_repo "$W/repo"
export TMPDIR="$W/tmp"  # where the private copy goes: must be empty afterwards
mkdir -p "$TMPDIR"
DB="$W/app/app.sqlite3"
mkdir -p "$W/app"

cat >"$W/writer.py" <<'PY'
import os, sqlite3, sys, time
db, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]
c = sqlite3.connect(db, timeout=30, isolation_level=None)
c.execute("PRAGMA journal_mode=" + mode)
c.execute("CREATE TABLE IF NOT EXISTS acct(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL)")
c.execute("CREATE TABLE IF NOT EXISTS log(id INTEGER PRIMARY KEY, amount INTEGER, pad BLOB)")
c.execute("INSERT OR IGNORE INTO acct VALUES (1, 10000000), (2, 0)")
i = 0
while not os.path.exists(stop):
    i += 1
    a = i % 13 + 1
    c.execute("BEGIN IMMEDIATE")
    c.execute("UPDATE acct SET bal = bal - ? WHERE id = 1", (a,))
    c.execute("UPDATE acct SET bal = bal + ? WHERE id = 2", (a,))
    c.execute("INSERT INTO log(amount, pad) VALUES (?, randomblob(3000))", (a,))
    c.execute("COMMIT")
PY
q() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); print(c.execute(sys.argv[2]).fetchone()[0])' "$@"; }

run_case() { # JOURNAL_MODE
  local mode=$1
  rm -rf "$W/app" "$W/stop" "$W/restored.db"
  mkdir -p "$W/app"
  python3 "$W/writer.py" "$DB" "$mode" "$W/stop" & WPID=$!
  add_cleanup "kill $WPID"
  # Let the database grow to a few MB first.
  for _ in $(seq 1 400); do
    [[ -f "$DB" ]] && [[ $(q "$DB" 'select count(*) from log' 2>/dev/null || echo 0) -ge 1500 ]] && break
    sleep 0.05
  done
  local before after restored
  before=$(q "$DB" 'select count(*) from log')
  backup_json sqlite "$DB" --tag app
  after=$(q "$DB" 'select count(*) from log')
  touch "$W/stop"
  wait "$WPID"
  kill -0 "$WPID" 2>/dev/null && fail "writer still running"
  echo "rows before backup $before, after $after"
  assert_lt "$before" "$after" "the writer kept writing during the backup"

  J=$(snapshots_json --tag app)
  local sel='[s for s in j if s["id"] == "'"$SNAP"'"][0]'
  assert_eq "sqlite" "$(jget "$J" "$sel"'["source"]')" "source"
  assert_eq "$DB" "$(jget "$J" "$sel"'["source_info"]["path"]')" "source_info.path"
  assert_matches "$(jget "$J" "$sel"'["source_info"]["sqlite_version"]')" '^3\.'
  assert_eq "$mode" "$(jget "$J" "$sel"'["source_info"]["journal_mode"]')" "journal mode"
  local pages
  pages=$(jget "$J" "$sel"'["source_info"]["page_count"]')
  assert_lt 100 "$pages" "page_count"
  # No temporary copy is left behind.
  [[ -z "$(ls -A "$TMPDIR")" ]] || fail "temporary files left behind: $(ls -A "$TMPDIR")"

  expect_ok "$LIFEBOAT" restore sqlite latest --path "$DB" --target "$W/restored.db"
  assert_contains "$OUT" "${SNAP:0:8}"
  assert_contains "$OUT" "$W/restored.db"
  assert_eq "600" "$(stat -c %a "$W/restored.db")" "mode of the restored database"
  assert_eq "ok" "$(q "$W/restored.db" 'pragma integrity_check')" "integrity_check"
  assert_eq "10000000" "$(q "$W/restored.db" 'select sum(bal) from acct')" "total of the accounts"
  assert_eq "$(q "$W/restored.db" 'select bal from acct where id = 2')" \
    "$(q "$W/restored.db" 'select sum(amount) from log')" "account 2 = sum of the transfers"
  restored=$(q "$W/restored.db" 'select count(*) from log')
  echo "rows restored $restored"
  assert_le "$before" "$restored" "rows restored >= rows before the backup"
  assert_le "$restored" "$after" "rows restored <= rows after the backup"
}

step "WAL mode, writer active"
run_case wal
step "rollback journal mode, writer active"
run_case delete
SQLITE_SNAP=$SNAP

step "an existing target is refused; --force replaces it atomically"
expect_fail "$LIFEBOAT" restore sqlite latest --target "$W/restored.db"
assert_contains "$ERR" "exists"
echo junk >"$W/restored.db-journal"  # a stale journal of the old file must not be applied
expect_ok "$LIFEBOAT" restore sqlite "$SQLITE_SNAP" --target "$W/restored.db" --force
assert_not_exists "$W/restored.db-journal"
assert_eq "ok" "$(q "$W/restored.db" 'pragma integrity_check')" "integrity_check after --force"
expect_ok "$LIFEBOAT" --json restore sqlite latest --target "$W/restored2.db"
assert_eq "$SQLITE_SNAP" "$(jget "$OUT" 'j["snapshot_id"]')" "restored snapshot id (json)"
assert_files_equal "$W/restored.db" "$W/restored2.db"

step "--source sqlite lists exactly the two SQLite snapshots"
assert_eq '["sqlite", "sqlite"]' "$(jget "$(snapshots_json --source sqlite)" '[s["source"] for s in j]')" "--source sqlite"

step "clear failures"
count_snapshots() { jget "$(snapshots_json)" 'len(j)'; }
N=$(count_snapshots)
expect_fail "$LIFEBOAT" backup sqlite "$W/missing.db"
assert_contains "$ERR" "missing.db"
head -c 100000 /dev/urandom >"$W/junk.db"
expect_fail "$LIFEBOAT" backup sqlite "$W/junk.db"
assert_contains "$ERR" "not a database"
assert_eq "$N" "$(count_snapshots)" "no snapshot from failed backups"
echo hello >"$W/file.txt"
backup_json "$W/file.txt"
expect_fail "$LIFEBOAT" restore sqlite "$SNAP" --target "$W/x.db"
assert_contains "$ERR" "not a SQLite"
assert_not_exists "$W/x.db"
expect_fail "$LIFEBOAT" restore sqlite latest --path "$W/other.db" --target "$W/y.db"
assert_contains "$ERR" "no SQLite snapshot"
