#!/usr/bin/env bash
# Fault tests against a real remote server that this test starts itself (not
# the shared CTest fixture, which other tests use at the same time):
#   test_server_kill.sh s3    its own s3rver (tests/servers/s3/s3rver.sh)
#   test_server_kill.sh sftp  its own sshd (tests/servers/sftp/sshd.sh start),
#                             with the user and keys of the sftp_servers
#                             fixture ($LIFEBOAT_SFTP_TEST_ENV)
# 1. The server is killed (SIGKILL) in the middle of a ~200 MB backup:
#    lifeboat exits non-zero in bounded time naming the server, and writes no
#    snapshot; the same with the default retry settings (time reported).
# 2. After a restart on the same storage and port: check passes, the backup
#    re-run reuses the packs already uploaded, restore is exact, check
#    --read-data passes.
# 3. The server is killed during a restore: clear error; after a restart the
#    restore re-run into the same target completes and the tree is equal.
# 4. A hung server (SIGSTOP) makes a backup fail with a timeout in bounded
#    time instead of hanging; after SIGCONT the repository is consistent.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kind=${1:?usage: test_server_kill.sh s3|sftp}
REAL=$LIFEBOAT
SERVERS=$(cd "$E2E_DIR/../servers" && pwd)

# Seconds since the epoch with fractions, and elapsed seconds since $1.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

case $kind in
  s3)
    command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
    unset AWS_SESSION_TOKEN AWS_PROFILE
    state=$W/s3rver
    # The server's work dir (data included) lands under $W too.
    server_start() {
      TMPDIR=$W bash "$SERVERS/s3/s3rver.sh" start "$state" >"$W/server-start.log" 2>&1 ||
        { cat "$W/server-start.log" >&2; fail "s3rver did not start"; }
      [[ -f $state/skip ]] && skip "$(cat "$state/skip")"
      port=$(cat "$state/port")
    }
    server_kill() { bash "$SERVERS/s3/s3rver.sh" kill "$state"; }
    server_signal() { kill -s "$1" "$(cat "$state/s3rver.pid")"; }
    add_cleanup "kill -CONT \$(cat '$state/s3rver.pid') 2>/dev/null; bash '$SERVERS/s3/s3rver.sh' stop '$state'"
    server_start
    bucket=faults-$$-$RANDOM
    repo="s3:http://127.0.0.1:$port/$bucket/lifeboat"
    storage=$(cat "$state/workdir")/data/$bucket/lifeboat
    # s3rver keeps an object KEY as the file KEY._S3rver_object.
    object_suffix=._S3rver_object
    # Fast failure: one retry; the default is 6 attempts per request.
    fast_opts=(-o s3.retries=2)
    timeout_opts=(-o s3.retries=1 -o s3.timeout=5)
    server_name="127.0.0.1:$port"
    ;;
  sftp)
    env=${LIFEBOAT_SFTP_TEST_ENV:?}
    [[ -f $env ]] || skip "the sshd test servers are not running (run through ctest)"
    val() { sed -n "s/^$1=//p" "$env"; }
    [[ -z $(val SKIP) ]] || skip "$(val SKIP)"
    # Our own sshd in $W/sshd with a copy of the fixture's host key; the test
    # user and its authorized client key come from the fixture.
    sdir=$W/sshd
    mkdir -p "$sdir"
    install -m600 "$(val DIR)/hostkey" "$sdir/hostkey"
    install -m644 "$(val DIR)/hostkey.pub" "$sdir/hostkey.pub"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$sdir/hostkey.pub")" >"$sdir/known_hosts"
    server_start() { bash "$SERVERS/sftp/sshd.sh" start faults "$port" "$sdir" || fail "sshd did not start"; }
    server_kill() { bash "$SERVERS/sftp/sshd.sh" stop faults "$sdir"; }
    server_signal() { bash "$SERVERS/sftp/sshd.sh" signal faults "$sdir" "$1"; }
    add_cleanup "bash '$SERVERS/sftp/sshd.sh' signal faults '$sdir' CONT; bash '$SERVERS/sftp/sshd.sh' stop faults '$sdir'"
    server_start
    name=lifeboat-faults-$$-$RANDOM
    repo="sftp:$(val USER)@127.0.0.1:$port:$name"
    storage=$(val HOME_DIR)/$name
    add_cleanup "rm -rf --one-file-system '$storage'"
    object_suffix=
    fast_opts=(-o sftp.retries=1 -o sftp.timeout=5)
    timeout_opts=(-o sftp.retries=0 -o sftp.timeout=5)
    opts=(-o "sftp.key=$(val CLIENT_KEY)" -o "sftp.known-hosts=$sdir/known_hosts")
    server_name="127.0.0.1:$port"
    ;;
  *) fail "unknown kind $kind" ;;
esac
opts=(${opts[@]+"${opts[@]}"})

export LIFEBOAT_CACHE_DIR=$W/cache
# Every command gets the storage options; $FAST and $HANG add low retry
# counts and timeouts for the commands that are meant to fail.
wrapper() { # PATH EXTRA-OPTIONS...
  local path=$1
  shift
  local all=(${opts[@]+"${opts[@]}"} "$@") quoted=""
  ((${#all[@]} == 0)) || quoted=$(printf "'%s' " "${all[@]}")
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$REAL" "$quoted" >"$path"
  chmod +x "$path"
}
LIFEBOAT=$W/lifeboat
wrapper "$LIFEBOAT"
FAST=$W/lifeboat-fast
wrapper "$FAST" "${fast_opts[@]}"
HANG=$W/lifeboat-hang
wrapper "$HANG" "${timeout_opts[@]}"

# Final objects under the repository's data/ folder on the server's disk
# (SFTP temporary files are named *.tmp*; s3rver's metadata files are left out).
pack_count() {
  if [[ -d $storage/data ]]; then
    find "$storage/data" -type f -name "*$object_suffix" ! -name '*.tmp*' ! -name '.*' | wc -l
  else
    echo 0
  fi
}
snapshot_files() {
  if [[ -d $storage/snapshots ]]; then
    find "$storage/snapshots" -type f -name "*$object_suffix" ! -name '.*' ! -name '*.tmp*' | wc -l
  else
    echo 0
  fi
}

# bg CMD...: starts CMD in the background (stdout/stderr to $W/bg.out, .err).
bg() {
  "$@" >"$W/bg.out" 2>"$W/bg.err" &
  BG=$!
  BG_CMD="$*"
}
# bg_wait SECONDS: waits for the background command at most SECONDS (from
# now), sets RC, OUT, ERR, WAITED. A command still running then is killed and
# the test fails: it hung.
bg_wait() {
  local limit=$1 t0
  t0=$(now)
  while kill -0 "$BG" 2>/dev/null; do
    if awk -v e="$(since "$t0")" -v l="$limit" 'BEGIN { exit !(e >= l) }'; then
      kill -KILL "$BG" 2>/dev/null || true
      wait "$BG" 2>/dev/null || true
      echo "--- stderr of the hung command:" >&2
      cat "$W/bg.err" >&2
      fail "still running after ${limit} s (hung): $BG_CMD"
    fi
    sleep 0.1
  done
  set +e
  wait "$BG"
  RC=$?
  set -e
  WAITED=$(since "$t0")
  OUT=$(cat "$W/bg.out")
  ERR=$(cat "$W/bg.err")
  cat "$W/bg.out" "$W/bg.err" >>"$W/.transcript"
}
# until_count FN N SECONDS: waits until FN prints >= N while the background
# command runs; fails if it ended first or time ran out.
until_count() {
  local fn=$1 n=$2 limit=$3 t0
  t0=$(now)
  while (($($fn) < n)); do
    if ! kill -0 "$BG" 2>/dev/null; then
      wait "$BG" || true
      echo "--- stderr:" >&2
      cat "$W/bg.err" >&2
      fail "$BG_CMD ended before $fn reached $n (is the transfer too fast to interrupt?)"
    fi
    awk -v e="$(since "$t0")" -v l="$limit" 'BEGIN { exit !(e >= l) }' &&
      fail "$fn did not reach $n in ${limit} s (now $($fn))"
    sleep 0.05
  done
}
# The message must name the server (host:port) or say what happened to it.
assert_server_error() { # WHAT
  assert_matches "$ERR" "$server_name|connect|connection|refused|reset|closed|timed? ?out|socket|unavailable" "$1"
}

step "source: 200 MiB of random data in 4 files, 300 small files"
src=$W/src
mkdir -p "$src/big" "$src/small/a" "$src/small/b"
for i in 1 2 3 4; do random_file "$src/big/blob$i.bin" $((50 << 20)); done
for i in $(seq 1 150); do
  echo "small file $i $RANDOM" >"$src/small/a/f$i.txt"
  random_file "$src/small/b/r$i.bin" $((i * 97))
done

step "init on $kind ($repo)"
new_repo "$repo"

# ---------------------------------------------------------------------------
step "kill the server (SIGKILL) after a few packs of a backup (-o ${fast_opts[*]})"
bg "$FAST" --json backup "$src"
until_count pack_count 3 120
server_kill
t_kill=$(now)
bg_wait 120
echo "backup exited $RC $(since "$t_kill") s after the kill; packs on the server: $(pack_count)"
echo "$ERR" | tail -n 5
assert_ne 0 "$RC" "exit code of the interrupted backup"
assert_lt "$(since "$t_kill" | cut -d. -f1)" 60 "seconds until the interrupted backup exits"
assert_server_error "stderr of the interrupted backup"
assert_not_contains "$OUT" '"message_type":"summary"' "stdout of the interrupted backup"
assert_eq 0 "$(snapshot_files)" "snapshot files after the interrupted backup"
packs_left=$(pack_count)

step "restart the server on the same storage and port; the repository is consistent"
server_start
expect_ok "$LIFEBOAT" snapshots --json
assert_eq 0 "$(jget "$OUT" 'len(j)')" "snapshots after the interrupted backup"
# The interrupted backup could not remove its lock: its process is gone, so
# the lock is stale and ignored (check takes an exclusive lock).
locks=$(find "$storage/locks" -type f -name "*$object_suffix" 2>/dev/null | wc -l)
echo "lock files left on the server by the interrupted backup: $locks"
expect_ok "$LIFEBOAT" check
echo "$OUT" | tail -n 3

step "kill again during a second backup, this time with the default retries (measured)"
# New data, so that the backup still has packs to send after reusing the
# ones the first run left (a fast machine sends most of 200 MiB before the
# first kill lands).
for i in 6 7 8 9; do random_file "$src/big/blob$i.bin" $((50 << 20)); done
bg "$LIFEBOAT" --json backup "$src"
want=$((packs_left + 3))
until_count pack_count "$want" 120
server_kill
t_kill=$(now)
bg_wait 240
default_secs=$(since "$t_kill")
echo "with default settings the backup exited $RC after ${default_secs} s; stderr:"
echo "$ERR" | tail -n 5
assert_ne 0 "$RC" "exit code of the interrupted backup (defaults)"
assert_server_error "stderr of the interrupted backup (defaults)"
assert_eq 0 "$(snapshot_files)" "snapshot files after the second interrupted backup"
packs_left=$(pack_count)
server_start

step "the re-run succeeds and uploads only what is missing"
# s3rver (unlike S3) leaves the part of an object received before the kill
# under the object's name: such truncated packs cannot be adopted (their
# trailer is missing) and stay unreferenced until prune. Complete packs are
# ~16 MiB; lifeboat says how many it adopted.
echo "objects under data/ on the server (bytes):"
find "$storage/data" -type f -name "*$object_suffix" ! -name '.*' ! -name '*.tmp*' -printf '%s %f\n' |
  sort -n | awk '{print "  " $0}'
expect_ok "$LIFEBOAT" backup "$src"
echo "$OUT" | tail -n 4
assert_matches "$OUT" "reusing [0-9]+ pack\(s\) left by an interrupted backup" "backup output"
reused=$(grep -oE "reusing [0-9]+ pack" <<<"$OUT" | grep -oE "[0-9]+")
snaps=$(snapshots_json)
assert_eq 1 "$(jget "$snaps" 'len(j)')" "snapshots after the re-run"
added=$(jget "$snaps" 'j[0]["summary"]["data_added"]')
total=$(tree_bytes "$src")
echo "re-run added $added bytes of $total; objects left by the interrupted runs: $packs_left," \
  "$reused adopted, now $(pack_count)"
assert_le 2 "$reused" "packs adopted from the interrupted backups"
# Every adopted pack (>= 15 MiB of the source: packs are closed at 16 MiB)
# is data not sent again.
assert_le "$added" $((total - reused * (15 << 20))) "bytes added by the re-run"
SNAP=$(jget "$snaps" 'j[0]["id"]')
snap=$SNAP
assert_eq 1 "$(snapshot_files)" "snapshot files"
restore_check "$snap" "$src"
expect_ok "$LIFEBOAT" check --read-data

# ---------------------------------------------------------------------------
step "kill the server during a restore"
target=$W/restore-killed
restored_bytes() { if [[ -d $target ]]; then tree_bytes "$target"; else echo 0; fi; }
bg "$FAST" restore "$snap" --target "$target"
until_count restored_bytes $((20 << 20)) 120
server_kill
t_kill=$(now)
bg_wait 120
echo "restore exited $RC $(since "$t_kill") s after the kill, $(restored_bytes) bytes restored"
echo "$ERR" | tail -n 5
assert_ne 0 "$RC" "exit code of the interrupted restore"
assert_server_error "stderr of the interrupted restore"
server_start
step "after the restart, restore into the same target completes"
expect_ok "$LIFEBOAT" restore "$snap" --target "$target" --allow-existing
assert_trees_equal "$src" "$target$src"

# ---------------------------------------------------------------------------
step "a hung server (SIGSTOP) during a backup: timeout error in bounded time (-o ${timeout_opts[*]})"
# New data for the hung backup: enough that the transfer is still running
# when the signal lands, even on a fast machine.
for i in 10 11 12 13 14; do random_file "$src/big/blob$i.bin" $((60 << 20)); done
before=$(pack_count)
bg "$HANG" --json backup "$src"
until_count pack_count $((before + 1)) 120
server_signal STOP
t_stop=$(now)
bg_wait 300
hang_secs=$(since "$t_stop")
server_signal CONT
echo "backup against the hung server exited $RC after ${hang_secs} s"
echo "$ERR" | tail -n 5
assert_ne 0 "$RC" "exit code against a hung server"
assert_matches "$ERR" "time|timed out|timeout|stall" "stderr against a hung server"
expect_ok "$LIFEBOAT" check
backup_json "$src"
restore_check "$SNAP" "$src"
expect_ok "$LIFEBOAT" check --read-data
