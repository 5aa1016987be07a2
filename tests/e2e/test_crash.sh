#!/usr/bin/env bash
# End-to-end: a backup killed with SIGKILL mid-way leaves a repository that
# `check` passes; its stale lock can be removed; the next backup succeeds and
# reuses the packs already uploaded instead of writing everything again.
source "$(dirname "$0")/lib.sh"

REPO=$W/repo
new_repo "$REPO"
SRC=$W/src
mkdir -p "$SRC"
step "making 300 MiB of incompressible data"
for i in $(seq -w 1 30); do random_file "$SRC/part$i.bin" $((10 * 1024 * 1024)); done
DATASET=$((300 * 1024 * 1024))
MIB=$((1024 * 1024))

step "kill -9 a backup once a few packs are stored"
"$LIFEBOAT" backup -q "$SRC" >"$W/bg.out" 2>"$W/bg.err" &
pid=$!
add_cleanup "kill -9 $pid"
for _ in $(seq 1 1200); do
  n=$(find "$REPO/data" -type f | wc -l)
  [[ $n -ge 3 ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if ! kill -9 "$pid" 2>/dev/null; then
  cat "$W/bg.out" "$W/bg.err" >&2
  fail "the backup ended before it could be killed (packs: $n)"
fi
wait "$pid" 2>/dev/null || true
B0=$(tree_bytes "$REPO/data")
echo "killed with $(find "$REPO/data" -type f | wc -l) packs ($((B0 / MIB)) MiB) stored"
[[ $B0 -ge $((32 * MIB)) ]] || fail "expected at least 32 MiB stored before the kill, got $B0 bytes"
assert_eq 0 "$(find "$REPO/snapshots" -type f | wc -l)" "snapshots after the killed backup"

step "check passes (unreferenced packs are only warnings)"
expect_ok lb check

step "unlock removes the stale lock of the dead process"
locks_before=$(find "$REPO/locks" -type f | wc -l)
echo "locks left by the killed backup: $locks_before"
expect_ok lb unlock
assert_eq 0 "$(find "$REPO/locks" -type f | wc -l)" "lock files after unlock"
[[ $locks_before -eq 0 ]] || assert_matches "$OUT" 'removed 1 lock' "unlock output"

step "the next backup succeeds and reuses what was uploaded"
backup_json "$SRC"
stored=$(jget "$SUMMARY" 'j["data_added_stored"]')
B1=$(tree_bytes "$REPO/data")
echo "second backup stored $((stored / MIB)) MiB; data/ grew by $(((B1 - B0) / MIB)) MiB"
# Everything stored before the kill is reused: the repository holds the data
# about once (not 300 MiB + what the killed run wrote).
assert_lt "$B1" $((DATASET + 24 * MIB)) "bytes under data/ after the second backup"
assert_lt "$stored" $((DATASET - B0 + 24 * MIB)) "data_added_stored of the second backup"
assert_eq 0 "$(find "$REPO/locks" -type f | wc -l)" "lock files after a finished backup"

step "check --read-data passes and the snapshot restores"
expect_ok lb check --read-data
restore_check latest "$SRC"

step "a backup started while a stale lock exists still works"
"$LIFEBOAT" backup -q "$SRC" >"$W/bg2.out" 2>"$W/bg2.err" &
pid=$!
add_cleanup "kill -9 $pid"
for _ in $(seq 1 400); do
  [[ $(find "$REPO/locks" -type f | wc -l) -ge 1 ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "stale locks now: $(find "$REPO/locks" -type f | wc -l)"
expect_ok lb backup "$SRC"
expect_ok lb check
