#!/usr/bin/env bash
# End-to-end: two backups into one repository at the same time both succeed
# and restore; prune refuses to run while a backup holds its lock; unlock
# leaves a live process's lock alone.
source "$(dirname "$0")/lib.sh"

REPO=$W/repo
new_repo "$REPO"
MIB=$((1024 * 1024))
mkdir -p "$W/one" "$W/two"
for i in 1 2 3 4; do
  random_file "$W/one/a$i.bin" $((10 * MIB))
  random_file "$W/two/b$i.bin" $((10 * MIB))
done
seq 1 100000 >"$W/one/text.txt"
seq 7 100007 >"$W/two/text.txt"
head -c $((5 * MIB)) "$W/one/a1.bin" >"$W/two/shared-with-one.bin"

step "two backups at the same time"
"$LIFEBOAT" --json backup --host one "$W/one" >"$W/one.out" 2>"$W/one.err" &
p1=$!
"$LIFEBOAT" --json backup --host two "$W/two" >"$W/two.out" 2>"$W/two.err" &
p2=$!
add_cleanup "kill -9 $p1 $p2"
rc1=0 rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
if [[ $rc1 -ne 0 || $rc2 -ne 0 ]]; then
  cat "$W/one.err" "$W/two.err" >&2
  fail "concurrent backups exited $rc1 and $rc2"
fi
assert_eq 2 "$(jget "$(snapshots_json)" 'len(j)')" "snapshots after two concurrent backups"
assert_eq 0 "$(find "$REPO/locks" -type f | wc -l)" "locks after both backups finished"
expect_ok lb check --read-data
S1=$(jget "$(snapshots_json --host one)" 'j[0]["id"]')
S2=$(jget "$(snapshots_json --host two)" 'j[0]["id"]')
restore_check "$S1" "$W/one"
restore_check "$S2" "$W/two"

step "prune refuses while a backup holds its lock"
mkdir -p "$W/big"
for i in $(seq 1 20); do random_file "$W/big/c$i.bin" $((10 * MIB)); done
"$LIFEBOAT" backup -q --host big "$W/big" >"$W/big.out" 2>"$W/big.err" &
pb=$!
add_cleanup "kill -CONT $pb; kill -9 $pb"
for _ in $(seq 1 500); do
  [[ $(find "$REPO/locks" -type f | wc -l) -ge 1 ]] && break
  kill -0 "$pb" 2>/dev/null || break
  sleep 0.01
done
kill -STOP "$pb" 2>/dev/null || fail "the big backup ended before it could be paused"
[[ $(find "$REPO/locks" -type f | wc -l) -ge 1 ]] || fail "the running backup holds no lock file"
expect_rc 1 lb prune
assert_matches "$ERR" 'lock' "prune's refusal"
expect_rc 1 lb forget --keep-last 1 --prune
assert_matches "$ERR" 'lock' "forget --prune's refusal"
expect_ok lb unlock
assert_ne 0 "$(find "$REPO/locks" -type f | wc -l)" "locks after unlock (the lock holder is alive)"
# A second backup may run next to the first (shared locks).
echo "while paused" >"$W/one/extra.txt"
expect_ok lb backup --host one "$W/one"
kill -CONT "$pb"
rcb=0
wait "$pb" || rcb=$?
[[ $rcb -eq 0 ]] || {
  cat "$W/big.err" >&2
  fail "the paused backup exited $rcb after it was resumed"
}

step "after the backup, prune runs"
assert_eq 0 "$(find "$REPO/locks" -type f | wc -l)" "locks after the big backup finished"
expect_ok lb prune
expect_ok lb check --read-data
assert_eq 4 "$(jget "$(snapshots_json)" 'len(j)')" "snapshots at the end"
restore_check "$(jget "$(snapshots_json --host big)" 'j[0]["id"]')" "$W/big"
# The newest snapshot of host "one" (the resumed big backup may have
# finished later, so plain "latest" is not necessarily this one).
restore_check "$(jget "$(snapshots_json --host one)" 'j[-1]["id"]')" "$W/one" --no-root-meta
