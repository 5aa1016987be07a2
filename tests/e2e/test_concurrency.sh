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
# A backup of standard input holds its lock for as long as the pipe it reads
# stays open: no race with a backup that could finish before it is paused
# (this one used to be a directory backup stopped with SIGSTOP, which a fast
# backup could outrun between the lock check and the stop).
random_file "$W/big.bin" $((20 * MIB))
mkfifo "$W/big.fifo"
"$LIFEBOAT" backup -q --host big --stdin --stdin-filename big.bin <"$W/big.fifo" \
  >"$W/big.out" 2>"$W/big.err" &
pb=$!
add_cleanup "kill -9 $pb"
exec 3>"$W/big.fifo"
# Once these bytes are through the pipe, the backup has started reading.
head -c $((5 * MIB)) "$W/big.bin" >&3
holds_lock() { [[ -n $(find "$REPO/locks" -type f) ]]; }
wait_until 5 "the running backup's lock file" holds_lock
kill -0 "$pb" 2>/dev/null || fail "the stdin backup ended before its input did"
expect_rc 1 lb prune
assert_matches "$ERR" 'lock' "prune's refusal"
expect_rc 1 lb forget --keep-last 1 --prune
assert_matches "$ERR" 'lock' "forget --prune's refusal"
expect_ok lb unlock
assert_ne 0 "$(find "$REPO/locks" -type f | wc -l)" "locks after unlock (the lock holder is alive)"
# A second backup may run next to the first (shared locks).
echo "while waiting" >"$W/one/extra.txt"
expect_ok lb backup --host one "$W/one"

step "--retry-lock: prune waits for the backup's lock, or gives up naming the wait"
expect_rc 1 lb --retry-lock 2s prune
assert_contains "$ERR" "still locked after waiting 2s" "prune --retry-lock 2s"
assert_contains "$ERR" "shared lock held by" "prune --retry-lock 2s"
expect_rc 1 lb --retry-lock soon prune
assert_contains "$ERR" "--retry-lock" "a malformed --retry-lock"
# (3>&-: the prune must not hold the FIFO open, or the backup never ends.)
lb --retry-lock 2m prune >"$W/prune-wait.out" 2>"$W/prune-wait.err" 3>&- &
pp=$!
add_cleanup "kill -9 $pp"
sleep 2
kill -0 "$pp" 2>/dev/null || {
  cat "$W/prune-wait.err" >&2
  fail "prune --retry-lock 2m did not wait for the backup's lock"
}
tail -c +$((5 * MIB + 1)) "$W/big.bin" >&3
exec 3>&-
rcb=0
wait "$pb" || rcb=$?
[[ $rcb -eq 0 ]] || {
  cat "$W/big.err" >&2
  fail "the stdin backup exited $rcb after its input ended"
}
rcp=0
wait "$pp" || rcp=$?
[[ $rcp -eq 0 ]] || {
  cat "$W/prune-wait.err" >&2
  fail "prune --retry-lock 2m exited $rcp after the backup released its lock"
}

step "after the backup, prune runs"
assert_eq 0 "$(find "$REPO/locks" -type f | wc -l)" "locks after the big backup finished"
expect_ok lb prune
expect_ok lb check --read-data
assert_eq 4 "$(jget "$(snapshots_json)" 'len(j)')" "snapshots at the end"
lb dump "$(jget "$(snapshots_json --host big)" 'j[0]["id"]')" /big.bin >"$W/big.dump" ||
  fail "dump of the stdin backup failed"
assert_files_equal "$W/big.bin" "$W/big.dump"
# The newest snapshot of host "one" (the stdin backup finished after it,
# so plain "latest" is not this one).
restore_check "$(jget "$(snapshots_json --host one)" 'j[-1]["id"]')" "$W/one" --no-root-meta
