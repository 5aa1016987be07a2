#!/usr/bin/env bash
# End-to-end: `lifeboat run` stopped with SIGTERM to its process group (what
# the agent does when it stops, what Ctrl-C does) waits for the backup it
# started to wind down, copies nothing more, exits 1 saying it was
# interrupted, and leaves no process of its group and no lock behind. (It
# used to die at once, leaving its backup or copy running on its own with
# the repositories locked: the agent's next prune found them locked.)
# A second SIGTERM ends it at once. Also: the agent's jobs wait for a lock
# held by another process, what a job leaves running is stopped with it, and
# `recover` stopped mid-restore goes no further than the component it was in.
source "$(dirname "$0")/lib.sh"

REPO1=$W/repo-onsite
REPO2=$W/repo-offsite
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
expect_ok "$LIFEBOAT" --repo "$REPO1" --password-file "$PWFILE" init
expect_ok "$LIFEBOAT" --repo "$REPO2" --password-file "$PWFILE" init
CONFIG=$W/lifeboat.toml
STARTED=$W/dump-started
# The dump ignores SIGTERM (as a slow database dump might take a while to
# notice it) and ends 3 s after it started: the backup reading it outlives
# the signal by that long.
cat >"$CONFIG" <<EOF
[app]
name = "shop"

[[repository]]
name = "onsite"
url = "$REPO1"
password_file = "$PWFILE"

[[repository]]
name = "offsite"
url = "$REPO2"
password_file = "$PWFILE"

[[component]]
name = "dump"
kind = "command"
rpo = "1h"
rto = "5m"
retention = { daily = 7 }
command = { run = ["sh", "-c", "trap '' TERM; touch '$STARTED'; seq 1 100000; sleep 3; echo end"], filename = "dump.txt" }
EOF

snap_count() { # REPO
  "$LIFEBOAT" --repo "$1" --password-file "$PWFILE" --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
lock_count() { find "$1/locks" -type f | wc -l; }
holds_lock() { [[ $(lock_count "$1") -ge 1 ]]; }
group_gone() { ! pgrep -g "$1" >/dev/null; }
# start_in_group NAME MARKER CMD...: CMD in a session (and process group)
# of its own, output in $W/NAME.out|err; RUN_PID is its pid (= its group).
# Returns once the file MARKER exists.
start_in_group() {
  local name=$1 marker=$2
  shift 2
  rm -f "$marker"
  setsid "$@" >"$W/$name.out" 2>"$W/$name.err" &
  RUN_PID=$!
  add_cleanup "kill -9 -$RUN_PID 2>/dev/null"
  wait_until 10 "$marker to appear" test -e "$marker"
}

step "a run that is not interrupted backs up and copies"
expect_ok "$LIFEBOAT" run --config "$CONFIG"
assert_eq 1 "$(snap_count "$REPO1")" "snapshots onsite"
assert_eq 1 "$(snap_count "$REPO2")" "snapshots offsite"

step "SIGTERM to the run's process group while the dump runs"
start_in_group run "$STARTED" "$LIFEBOAT" --json run --config "$CONFIG"
kill -TERM -- "-$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
# Right after run exited, nothing of its group may still run.
LEFT=$(pgrep -g "$RUN_PID" -a || true)
[[ -z $LEFT ]] || fail "processes of the run's group outlived it:
$LEFT"
assert_eq 1 "$rc" "run's exit code after SIGTERM (143 would mean it died at once)"
SUMMARY=$(grep '"message_type":"summary"' "$W/run.out" || true)
assert_eq true "$(jget "$SUMMARY" 'j["interrupted"]')" "run's summary: interrupted"
assert_eq false "$(jget "$SUMMARY" 'j["ok"]')" "run's summary: ok"
assert_eq 0 "$(lock_count "$REPO1")" "locks left onsite"
assert_eq 0 "$(lock_count "$REPO2")" "locks left offsite"
assert_eq 1 "$(snap_count "$REPO2")" "snapshots offsite (nothing copied after the signal)"
# Whatever the interrupted backup left, the repositories are whole.
expect_ok "$LIFEBOAT" --repo "$REPO1" --password-file "$PWFILE" check
expect_ok "$LIFEBOAT" --repo "$REPO2" --password-file "$PWFILE" check

step "a second SIGTERM ends run at once"
start_in_group run2 "$STARTED" "$LIFEBOAT" run --config "$CONFIG"
kill -TERM -- "-$RUN_PID"
sleep 0.3
T0=$(date +%s%N)
kill -TERM "$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
T1=$(date +%s%N)
assert_eq 143 "$rc" "run's exit status after a second SIGTERM (killed by it)"
[[ $(((T1 - T0) / 1000000)) -lt 2000 ]] || fail "run took $(((T1 - T0) / 1000000)) ms to end after the second SIGTERM"
# Its backup got one SIGTERM and winds down on its own once the dump ends.
wait_until 10 "the interrupted backup to end" group_gone "$RUN_PID"
# (With run gone, the backup may die of SIGPIPE writing its output and leave
# its lock file; its process is gone, so the lock is stale: an exclusive
# lock is granted at once.)
expect_ok "$LIFEBOAT" --repo "$REPO1" --password-file "$PWFILE" prune

step "SIGTERM to a drill's process group during its check"
CHECKING=$W/check-started
CONFIG3=$W/lifeboat-slow-check.toml
sed "s|^rpo = \"1h\"\$|rpo = \"1h\"\nverify = [\"touch '$CHECKING'; sleep 20\"]|" "$CONFIG" >"$CONFIG3"
printf '\n[drill]\nevery = "1h"\nsandbox = "%s"\n' "$W/sandbox3" >>"$CONFIG3"
grep -q "sleep 20" "$CONFIG3" || fail "the slow check was not added to $CONFIG3"
SNAPS_BEFORE=$(snap_count "$REPO1")
start_in_group drill "$CHECKING" "$LIFEBOAT" drill --config "$CONFIG3"
kill -TERM -- "-$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
wait_until 2 "the drill's group to be gone after it exited" group_gone "$RUN_PID"
assert_eq 1 "$rc" "drill's exit code after SIGTERM"
assert_contains "$(cat "$W/drill.err")" "drill interrupted; no report stored" "drill's message"
assert_eq "$SNAPS_BEFORE" "$(snap_count "$REPO1")" "snapshots onsite (no drill report stored)"
assert_eq "" "$(find "$W/sandbox3" -mindepth 1 -maxdepth 1 2>/dev/null)" "what the drill left in its sandbox"

step "the agent's prune waits for a lock another process holds"
# A first agent run with an empty state backs the component up at once.
STATE=$W/state
expect_ok "$LIFEBOAT" agent --config "$CONFIG" --state-dir "$STATE" --once
assert_contains "$ERR" "backup dump done" "first agent --once log"
# A backup of a FIFO holds a shared lock for as long as the FIFO is open.
mkfifo "$W/hold.fifo"
"$LIFEBOAT" --repo "$REPO2" --password-file "$PWFILE" backup -q --stdin --stdin-filename hold.txt \
  <"$W/hold.fifo" >"$W/hold.out" 2>"$W/hold.err" &
HOLD_PID=$!
add_cleanup "kill -9 $HOLD_PID 2>/dev/null"
exec 3>"$W/hold.fifo"
echo "first line" >&3
wait_until 10 "the FIFO backup's lock" holds_lock "$REPO2"
# The first prune is a day after the agent's first start: make it due.
python3 - "$STATE/state.json" <<'PY'
import json, os, sys
path = sys.argv[1]
state = json.load(open(path))
state["created"] -= 2 * 86400
with open(path + ".tmp", "w") as f:
    json.dump(state, f)
os.chmod(path + ".tmp", 0o600)
os.replace(path + ".tmp", path)
PY
"$LIFEBOAT" agent --config "$CONFIG" --state-dir "$STATE" --once >"$W/agent.out" 2>"$W/agent.err" 3>&- &
AGENT_PID=$!
add_cleanup "kill -9 $AGENT_PID 2>/dev/null"
sleep 3
kill -0 "$AGENT_PID" 2>/dev/null || {
  cat "$W/agent.err" >&2
  fail "agent --once did not wait for the lock held by the FIFO backup"
}
echo "last line" >&3
exec 3>&-
wait "$HOLD_PID" || fail "the FIFO backup failed: $(cat "$W/hold.err")"
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_LOG=$(cat "$W/agent.err")
assert_contains "$AGENT_LOG" "prune offsite done" "agent --once log"
assert_not_contains "$AGENT_LOG" "FAILED" "agent --once log"
assert_eq 0 "$rc" "agent --once exit code"

step "processes a job leaves behind are stopped when it ends"
# A drill check that starts a background process and returns: the process
# stays in the drill's process group after the drill has exited.
CONFIG2=$W/lifeboat-drill.toml
sed 's|^rpo = "1h"$|rpo = "1h"\nverify = ["sleep 297 >/dev/null 2>\&1 \&"]|' "$CONFIG" >"$CONFIG2"
cat >>"$CONFIG2" <<EOF2

[drill]
every = "1h"
sandbox = "$W/sandbox"
EOF2
grep -q 'sleep 297' "$CONFIG2" || fail "the drill check was not added to $CONFIG2"
run "$LIFEBOAT" agent --config "$CONFIG2" --state-dir "$W/state2" --once
assert_contains "$ERR" "starting drill" "agent --once log"
assert_contains "$ERR" "others of its group still run: stopping them" "agent --once log"
LEFT=$(pgrep -f -a "sleep 297" || true)
[[ -z $LEFT ]] || fail "the drill check's background process outlived the job:
$LEFT"

step "recover SIGTERMed while it restores its first component"
# 100,000 small files (a 2 s restore here). The signal goes once the first
# file is written: the restore is in its content phase, its handler
# installed. (Sent as soon as the folder appeared, it used to land before
# the restore had started or had installed its handler, which killed it at
# once; under a loaded CI it once landed later, and the restore then ran to
# its end: a first SIGTERM only set a flag the restore never read.)
BULK=$W/bulk
python3 - "$BULK" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(250):
    os.makedirs(f"{root}/d{d:03}")
    for f in range(400):
        with open(f"{root}/d{d:03}/f{f:03}", "w") as fh:
            fh.write(f"{d} {f}\n")
PY
CONFIG3=$W/lifeboat-recover.toml
cat >"$CONFIG3" <<EOF3
[app]
name = "bulk"

[[repository]]
name = "onsite"
url = "$REPO1"
password_file = "$PWFILE"

[[component]]
name = "bulk"
kind = "files"
paths = ["$BULK"]
rpo = "1h"
rto = "5m"
restore_order = 1

[[component]]
name = "notes"
kind = "command"
rpo = "1h"
rto = "5m"
restore_order = 2
command = { run = ["echo", "notes"], filename = "notes.txt" }
EOF3
expect_ok "$LIFEBOAT" run --config "$CONFIG3"
REC=$W/recovered
LATER=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
start_in_group recover "$REC/bulk" "$LIFEBOAT" --json recover --config "$CONFIG3" \
  --to-time "$LATER" --target "$REC"
first_file() { [[ -n $(find "$REC/bulk" -type f -print -quit) ]]; }
wait_until 30 "the first restored file" first_file
kill -TERM -- "-$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
LEFT=$(pgrep -g "$RUN_PID" -a || true)
[[ -z $LEFT ]] || fail "processes of recover's group outlived it:
$LEFT"
assert_eq 1 "$rc" "recover's exit code after SIGTERM (143 would mean it died at once)"
OUT=$(cat "$W/recover.out")
assert_contains "$OUT" '"interrupted before it was reached"' "recover's JSON summary"
assert_contains "$OUT" '"component":"notes"' "recover's JSON summary"
[[ ! -e $REC/notes ]] || fail "recover went on to the next component after SIGTERM"
RESTORED=$(find "$REC/bulk" -type f | wc -l)
[[ $RESTORED -lt 100000 ]] || fail "the restore of bulk ran to its end after the signal"
# The restore stopped cleanly (not killed): it says how far it got, and
# what it left are whole files.
assert_contains "$OUT" 'restore stopped: ' "recover's JSON summary (bulk)"
# not_whole DIR: the files under DIR whose content is not what the bulk
# generator wrote for their name.
not_whole() {
  python3 - "$1" <<'PY'
import os, sys
for top, _, files in os.walk(sys.argv[1]):
    d = os.path.basename(top)
    for f in files:
        with open(os.path.join(top, f)) as fh:
            if fh.read() != f"{int(d[1:])} {int(f[1:])}\n":
                print(os.path.join(top, f))
PY
}
BAD=$(not_whole "$REC/bulk")
[[ -z $BAD ]] || fail "restored files that are not whole: $(head -3 <<<"$BAD")"
# The restore it stopped left no live lock: an exclusive one is granted.
expect_ok "$LIFEBOAT" --repo "$REPO1" --password-file "$PWFILE" prune --dry-run

step "restore SIGTERMed in the middle stops, keeps whole files only; --delta finishes it"
T=$W/restored-bulk
start_in_group restore "$T" "$LIFEBOAT" --repo "$REPO1" --password-file "$PWFILE" \
  restore latest --path "$BULK" --target "$T"
first_restored() { [[ -n $(find "$T" -type f -print -quit) ]]; }
wait_until 30 "the first restored file" first_restored
kill -TERM -- "-$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
assert_eq 1 "$rc" "restore's exit code after SIGTERM (143 would mean it died at once)"
assert_contains "$(cat "$W/restore.err")" "restore stopped: " "restore's error"
assert_contains "$(cat "$W/restore.err")" "with --delta" "restore's hint"
RESTORED=$(find "$T" -type f | wc -l)
[[ $RESTORED -lt 100000 ]] || fail "the restore ran to its end after the signal"
BAD=$(not_whole "$T")
[[ -z $BAD ]] || fail "restored files that are not whole: $(head -3 <<<"$BAD")"
expect_ok "$LIFEBOAT" --repo "$REPO1" --password-file "$PWFILE" restore latest --path "$BULK" --target "$T" --delta
assert_trees_equal "$BULK" "$T$BULK"
