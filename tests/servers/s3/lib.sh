# Shared helpers for the S3 test-server scripts (sourced, not run).
# Conventions: every server gets a STATE dir (its port files, PID files and a
# pointer to its work dir); a missing prerequisite is recorded as STATE/skip
# with the reason, so the tests SKIP instead of failing.

# A free TCP port on 127.0.0.1 (tiny race until the server binds it).
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_http URL SECONDS [curl args...]: until the URL answers (any HTTP status).
wait_http() {
  local url=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until curl -s -o /dev/null --max-time 2 "$@" "$url"; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.1
  done
}

# skip STATE REASON: record why the tests must skip, and succeed.
skip() {
  mkdir -p "$1"
  printf '%s\n' "$2" >"$1/skip"
  echo "SKIP: $2" >&2
  exit 0
}

# kill_pids STATE [SIGNAL]: stop every PID in STATE/*.pid (SIGNAL, default
# TERM, to all; then KILL whatever still runs after 5 s).
kill_pids() {
  local state=$1 sig=${2:-TERM} f pid pids=()
  for f in "$state"/*.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -s "$sig" "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

# cache_dir: where downloaded test tools live between runs.
cache_dir() {
  if [[ -n ${LIFEBOAT_TEST_CACHE:-} ]]; then
    echo "$LIFEBOAT_TEST_CACHE"
  elif [[ -n ${XDG_CACHE_HOME:-} ]]; then
    echo "$XDG_CACHE_HOME/lifeboat-test"
  elif [[ -n ${HOME:-} ]]; then
    echo "$HOME/.cache/lifeboat-test"
  else
    echo "/tmp/lifeboat-test-cache-$(id -u)"
  fi
}

# stop_server STATE: stops the server's processes and removes its work dir
# (if STATE/workdir names one) and STATE.
stop_server() {
  kill_pids "$1"
  if [[ -f $1/workdir ]]; then rm -rf -- "$(cat "$1/workdir")"; fi
  rm -rf -- "$1"
}
