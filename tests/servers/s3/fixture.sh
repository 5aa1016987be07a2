#!/usr/bin/env bash
# The S3 look-alike of s3_fixture.py on 127.0.0.1 (Object Lock, fault injection).
#
#   fixture.sh start STATE   writes STATE/port and STATE/fixture.pid
#   fixture.sh stop STATE    stop by PID, delete the state
#
# No python3: STATE/skip says why and the tests skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cmd=${1:-}
state=${2:-}
[[ -n $cmd && -n $state ]] || { echo "usage: $0 start|stop STATE" >&2; exit 2; }
case $cmd in
  stop) stop_server "$state"; exit 0 ;;
  start) ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
mkdir -p "$state"
rm -f "$state/skip"
command -v python3 >/dev/null || skip "$state" "python3 is not installed"
kill_pids "$state"
port=$(free_port)
python3 "$here/s3_fixture.py" "$port" >"$state/fixture.log" 2>&1 &
echo $! >"$state/fixture.pid"
echo "$port" >"$state/port"
if ! wait_http "http://127.0.0.1:$port/__admin/requests" 15; then
  cat "$state/fixture.log" >&2
  kill_pids "$state"
  exit 1
fi
echo "S3 fixture ready on 127.0.0.1:$port"
