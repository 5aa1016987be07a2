#!/usr/bin/env bash
# lifeboat agent (issue 6): the RPO-driven service over a lifeboat.toml with a
# files component (rpo 2m: a backup every minute) and a real PostgreSQL 15
# component (WAL archived by `lifeboat postgres archive-push`), two local
# repositories, a drill every minute and an alert command that appends each
# alert (one JSON line) to a file.
#   - started in the background: both components reach BOTH repositories
#     (snapshots tagged app=shop,component=NAME; nothing but the agent backs
#     up here), a second files backup follows on schedule, a drill report is
#     stored and /metrics shows lifeboat_last_drill_success 1 with a measured
#     RTO; /healthz answers 200 "ok", other paths 404;
#   - SIGTERM: exit 0 within seconds;
#   - restarted --paused (same state directory): once the RPO has passed,
#     /metrics shows lifeboat_rpo_met 0 for the files component, `lifeboat
#     status` exits 1 naming the breach, and exactly ONE rpo_breach alert was
#     sent although the agent evaluated it every second;
#   - SIGHUP with an invalid file keeps the old configuration, with a valid
#     one reloads;
#   - restarted without --paused: the catch-up backs the files component up
#     once and a "resolved" rpo_breach alert follows;
#   - the first repository's packs overwritten: the next drill fails and a
#     drill_failed alert for the files component arrives (once: the drill
#     child's own alert is left to the agent); a second agent on the same
#     state directory is refused; --once runs what is due and exits.
# Every wait is bounded. Runs the agent as the postgres user when root (the
# archive_command runs as that user and must read the repository).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PGSH=$E2E_DIR/../servers/postgres/pg.sh
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || skip "PostgreSQL 15 is not installed"
command -v curl >/dev/null || skip "curl is not installed"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# Prefix that switches to the postgres user by exec'ing (setpriv, no process
# in between), so that $! of a background start is the agent itself.
AS_PG_EXEC=()
[[ $(id -u) == 0 ]] && AS_PG_EXEC=(setpriv --reuid postgres --regid postgres --init-groups --)
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
lbpg() { as_pg env HOME="$W" "$LIFEBOAT" "$@"; }
CONFIG=$W/lifeboat.toml
STATE=$W/state

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

DATA=$W/data/uploads
as_pg mkdir -p "$DATA/img"
for i in 1 2 3; do as_pg sh -c "head -c $((i * 200000)) /dev/urandom > '$DATA/img/photo$i.jpg'"; done
as_pg sh -c "echo 'hello uploads' > '$DATA/readme.txt'"

ALERTS=$W/alerts.jsonl
as_pg touch "$ALERTS"
cat >"$W/alert.sh" <<EOS
#!/bin/sh
cat >> '$ALERTS'
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
verify = ["select count(*) >= 1000 from orders"]

[[component]]
name = "uploads"
kind = "files"
paths = ["$DATA"]
rpo = "2m"
rto = "5m"
restore_order = 2
retention = { daily = 7 }
verify = ["test -f {restored}$DATA/readme.txt"]

[drill]
every = "1m"
sandbox = "$W/sandbox"

[alerts]
command = "$W/alert.sh"
repeat = "6h"
EOF2
chmod 0644 "$CONFIG"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
AGENT_PID=
stop_agent_quietly() { [[ -n $AGENT_PID ]] && kill "$AGENT_PID" 2>/dev/null; sleep 1; [[ -n $AGENT_PID ]] && kill -9 "$AGENT_PID" 2>/dev/null; true; }
add_cleanup stop_agent_quietly

start_agent() { # LOG [ARGS...]
  local log=$1
  shift
  "${AS_PG_EXEC[@]}" env HOME="$W" "$LIFEBOAT" agent --config "$CONFIG" --listen "127.0.0.1:$PORT" \
    --state-dir "$STATE" "$@" >"$log" 2>&1 &
  AGENT_PID=$!
  local i
  for i in $(seq 1 100); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$log" >&2; fail "the agent exited at start"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "the agent did not answer /healthz within 10 s"
}

stop_agent() { # LOG: SIGTERM, exit 0 within 40 s
  local log=$1 i rc
  kill -TERM "$AGENT_PID"
  for i in $(seq 1 400); do
    kill -0 "$AGENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$AGENT_PID" 2>/dev/null && { cat "$log" >&2; fail "the agent did not stop within 40 s of SIGTERM"; }
  set +e
  wait "$AGENT_PID"
  rc=$?
  set -e
  AGENT_PID=
  [[ $rc == 0 ]] || { cat "$log" >&2; fail "the agent exited $rc after SIGTERM (expected 0)"; }
}

# wait_for SECONDS WHAT CMD...: polls CMD (every second) until it succeeds.
wait_for() {
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    [[ -n $AGENT_PID ]] && ! kill -0 "$AGENT_PID" 2>/dev/null && fail "the agent died while waiting for: $what"
    sleep 1
  done
  echo "--- agent log:" >&2
  cat "$W"/agent*.log >&2 || true
  fail "timed out after ${limit}s waiting for: $what"
}

count_snaps() { # REPO COMPONENT
  local out
  out=$(lbpg --repo "$1" --password-file "$PWFILE" --json snapshots --tag "app=shop,component=$2") || { echo 0; return; }
  python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$out"
}
has_snaps() { # REPO COMPONENT MIN
  [[ $(count_snaps "$1" "$2") -ge $3 ]]
}
metric() { # NAME COMPONENT: the sample's value, empty when absent
  curl -fsS "$URL/metrics" | awk -v n="$1" -v c="component=\"$2\"" \
    'index($0, n "{") == 1 && index($0, c) > 0 { print $2 }'
}
metric_is() { [[ "$(metric "$1" "$2")" == "$3" ]]; }
alerts_of() { # KIND COMPONENT [resolved]: how many alerts
  python3 - "$ALERTS" "$1" "$2" "${3:-}" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    a = json.loads(line)
    if a["kind"] == sys.argv[2] and a["component"] == sys.argv[3] and \
            bool(a.get("resolved", False)) == (sys.argv[4] == "resolved"):
        n += 1
print(n)
PY
}
alerts_at_least() { [[ $(alerts_of "$@" | tail -n 1) -ge ${N:-1} ]]; }

step "the agent backs up both components into both repositories"
start_agent "$W/agent1.log"
for repo in "$REPO1" "$REPO2"; do
  for comp in db uploads; do
    wait_for 120 "$comp in $repo" has_snaps "$repo" "$comp" 1
  done
done
[[ $(stat -c %a "$STATE") == 700 ]] || fail "state directory mode is $(stat -c %a "$STATE"), expected 700"
[[ $(stat -c %a "$STATE/state.json") == 600 ]] || fail "state file mode is not 600"

step "/healthz, 404, and a drill with a measured RTO in /metrics"
assert_eq ok "$(curl -fsS "$URL/healthz")" "/healthz body"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")
assert_eq 404 "$code" "unknown path"
wait_for 180 "a passed drill in /metrics" metric_is lifeboat_last_drill_success uploads 1
metric_is lifeboat_last_drill_success db 1 || fail "db drill did not pass: $(curl -fsS "$URL/metrics")"
rto=$(metric lifeboat_drill_rto_measured_seconds uploads)
[[ -n $rto ]] && python3 -c "import sys; sys.exit(0 if 0 < float('$rto') < 300 else 1)" ||
  fail "no plausible measured RTO for uploads: '$rto'"
expect_ok lbpg --repo "$REPO1" --password-file "$PWFILE" --json snapshots --tag "app=shop,drill"
[[ $(jget "$OUT" 'len(j)') -ge 1 ]] || fail "no drill report snapshot in the first repository"
METRICS=$(curl -fsS "$URL/metrics")
assert_contains "$METRICS" '# TYPE lifeboat_backup_failures_total counter' "metrics"
assert_contains "$METRICS" 'lifeboat_rpo_met{app="shop",component="uploads"} 1' "metrics"
assert_contains "$METRICS" 'lifeboat_rpo_seconds{app="shop",component="uploads"} 120' "metrics"
assert_contains "$METRICS" 'lifeboat_agent_up{app="shop"} 1' "metrics"

step "a second files backup on schedule (every minute for rpo 2m)"
as_pg sh -c "echo 'second' > '$DATA/second.txt'"
wait_for 150 "a second uploads snapshot" has_snaps "$REPO1" uploads 2
wait_for 60 "the second uploads snapshot copied" has_snaps "$REPO2" uploads 2

step "SIGTERM: the agent exits 0 promptly"
stop_agent "$W/agent1.log"
[[ $(alerts_of rpo_breach uploads) == 0 ]] || fail "an rpo_breach alert while the agent ran: $(cat "$ALERTS")"

step "restarted --paused: after the RPO the breach shows in /metrics and status, alerted ONCE"
start_agent "$W/agent2.log" --paused
UPLOADS_BEFORE=$(count_snaps "$REPO1" uploads)
wait_for 200 "lifeboat_rpo_met 0 for uploads" metric_is lifeboat_rpo_met uploads 0
metric_is lifeboat_rpo_met db 1 || fail "db (rpo 1h) should still meet its RPO"
age=$(metric lifeboat_recovery_point_age_seconds uploads)
[[ ${age%.*} -gt 120 ]] || fail "age $age should exceed the RPO"
expect_fail lbpg status --config "$CONFIG"
assert_contains "$OUT" "RPO breached" "status output"
wait_for 30 "the rpo_breach alert" alerts_at_least rpo_breach uploads
sleep 5  # several more ticks: no second alert
assert_eq 1 "$(alerts_of rpo_breach uploads)" "rpo_breach alerts for uploads"
A=$(grep '"rpo_breach"' "$ALERTS" | head -n 1)
assert_eq shop "$(jget "$A" 'j["app"]')" "alert app"
assert_contains "$(jget "$A" 'j["message"]')" "RPO breached for uploads" "alert message"
assert_eq "$UPLOADS_BEFORE" "$(count_snaps "$REPO1" uploads)" "snapshots while paused"

step "SIGHUP: an invalid file is refused (old configuration kept), a valid one reloaded"
cp "$CONFIG" "$W/lifeboat.toml.good"
echo 'frobnicate = 1' >>"$CONFIG"
kill -HUP "$AGENT_PID"
wait_for 10 "the refusal in the log" grep -q "keeping the old configuration" "$W/agent2.log"
assert_contains "$(cat "$W/agent2.log")" "frobnicate" "reload error names the key"
assert_eq ok "$(curl -fsS "$URL/healthz")" "/healthz after a refused reload"
cp "$W/lifeboat.toml.good" "$CONFIG"
kill -HUP "$AGENT_PID"
wait_for 10 "the reload in the log" grep -q "SIGHUP: reloaded" "$W/agent2.log"
stop_agent "$W/agent2.log"

step "restarted: the catch-up backs up once and the alert resolves"
start_agent "$W/agent3.log"
wait_for 90 "a resolved rpo_breach alert" alerts_at_least rpo_breach uploads resolved
assert_eq $((UPLOADS_BEFORE + 1)) "$(count_snaps "$REPO1" uploads)" "catch-up snapshots"
assert_eq 1 "$(alerts_of rpo_breach uploads)" "rpo_breach alerts (not re-sent)"
metric_is lifeboat_rpo_met uploads 1 || fail "rpo_met should be 1 after the catch-up"
expect_fail lbpg agent --config "$CONFIG" --state-dir "$STATE" --once
assert_contains "$ERR" "another lifeboat agent is running" "second agent on the same state"

step "the first repository corrupted: the next drill fails and alerts drill_failed once"
while read -r pack; do
  size=$(stat -c %s "$pack")
  chmod u+w "$pack"
  head -c "$size" /dev/urandom >"$pack"
done < <(find "$REPO1/data" -type f)
wait_for 200 "a drill_failed alert for uploads" alerts_at_least drill_failed uploads
A=$(grep '"drill_failed"' "$ALERTS" | grep '"uploads"' | head -n 1)
assert_contains "$(jget "$A" 'j["message"]')" "uploads" "drill_failed message"
metric_is lifeboat_last_drill_success uploads 0 || fail "metrics should show the failed drill"
assert_eq 1 "$(alerts_of drill_failed uploads)" "drill_failed alerts (the child's own not sent)"
stop_agent "$W/agent3.log"
grep -q "stopped" "$W/agent3.log" || fail "the agent log does not say it stopped"

step "--once: runs what is due (the files backup and the prunes, made due here), then exits"
# Whether the files backup is due by now depends on how long the steps above
# took: make it due by moving its last success (and attempt) a day back. The
# first prune comes a day after the agent first ran: move that back too; and
# make the recovery-point probe due.
python3 - "$STATE/state.json" <<'PY'
import json, os, sys
path = sys.argv[1]
with open(path) as f:
    state = json.load(f)
job = state["backups"]["uploads"]
for key in ("last_success", "last_attempt"):
    job[key] = job.get(key, 0) - 86400
job["consecutive_failures"] = 0
state["created"] = state.get("created", 0) - 2 * 86400
state["last_probe"] = 0  # and the recovery-point probe (every 15 min for db's 1h RPO)
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(state, f)
os.chmod(tmp, 0o600)
st = os.stat(path)
os.chown(tmp, st.st_uid, st.st_gid)
os.replace(tmp, path)
PY
run timeout 300 "${AS_PG_EXEC[@]}" env HOME="$W" "$LIFEBOAT" agent --config "$CONFIG" --state-dir "$STATE" --once
[[ $RC == 0 || $RC == 1 ]] || fail "agent --once exited $RC"
assert_contains "$ERR" "starting backup uploads" "agent --once log"
# (The onsite repository's packs were destroyed above: its prune may fail.)
assert_contains "$ERR" "starting prune offsite" "agent --once log"
if [[ "$ERR" != *"prune offsite done"* && "$ERR" =~ \(pid\ ([0-9]+)\) ]]; then
  # Who held the lock: the process and its family, for the failure report.
  ps -o pid,ppid,pgid,sid,user,lstart,args -p "${BASH_REMATCH[1]}" >&2 || echo "pid ${BASH_REMATCH[1]} is gone" >&2
  ps -u postgres -o pid,ppid,pgid,sid,lstart,args >&2 || true
fi
assert_contains "$ERR" "prune offsite done" "agent --once log"
# The prune measured what the repository occupies (lifeboat_repository_size_bytes).
OFFSITE_BYTES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sizes"]["offsite"]["bytes"])' "$STATE/state.json")
[[ $OFFSITE_BYTES -gt 100000 ]] || fail "state.json: offsite repository size $OFFSITE_BYTES"
echo "offsite repository: $OFFSITE_BYTES bytes after the prune"
# The recovery-point probe asked status for the database's point (its WAL).
DB_POINT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recovery_points"]["db"])' "$STATE/state.json")
[[ $DB_POINT -gt 1700000000 ]] || fail "state.json: no recovery point probed for db ($DB_POINT)"
assert_not_contains "$ERR" "serving /metrics" "agent --once starts no HTTP server"
