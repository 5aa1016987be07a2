# Shared helpers for the lifeboat end-to-end tests (tests/e2e/test_*.sh).
# shellcheck shell=bash disable=SC2034
# Source it first: it sets `set -euo pipefail`, creates a work folder $W under
# /tmp removed on exit (keep it with LIFEBOAT_E2E_KEEP=1), and finds the binary
# in $LIFEBOAT_BIN. Cleanups registered with add_cleanup run in reverse order.
# Exit codes: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)

if [[ -z "${LIFEBOAT_BIN:-}" || ! -x "${LIFEBOAT_BIN}" ]]; then
  echo "FAIL: set LIFEBOAT_BIN to the lifeboat binary (got '${LIFEBOAT_BIN:-}')" >&2
  exit 1
fi
LIFEBOAT=$(readlink -f "$LIFEBOAT_BIN")
# Nothing from the caller's environment may change what the tests see.
unset LIFEBOAT_REPOSITORY LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND \
  LIFEBOAT_NEW_PASSWORD
export LC_ALL=C.UTF-8 TZ=UTC

_CLEANUPS=()
add_cleanup() { _CLEANUPS+=("$1"); }
_on_exit() {
  local rc=$?
  local i
  for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${_CLEANUPS[i]}" >/dev/null 2>&1 || true
  done
  case $rc in
    0) echo "PASS: $TEST_NAME" ;;
    77) echo "SKIP: $TEST_NAME" ;;
    *) echo "FAIL: $TEST_NAME (exit $rc)" >&2 ;;
  esac
  exit $rc
}
trap _on_exit EXIT

W=$(mktemp -d "/tmp/lifeboat-e2e-${TEST_NAME}.XXXXXX")
chmod 755 "$W"
if [[ "${LIFEBOAT_E2E_KEEP:-0}" == 1 ]]; then
  add_cleanup "echo 'kept work folder $W' >&2"
else
  add_cleanup "rm -rf --one-file-system '$W'"
fi

PASSWORD="correct horse battery staple e2e"

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIP: $*"
  exit 77
}
require_root() { [[ $(id -u) -eq 0 ]] || skip "needs root: $*"; }
# wait_until SECONDS WHAT CMD...: polls CMD every 0.05 s; fails the test
# naming WHAT if it has not succeeded within SECONDS.
wait_until() {
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit * 20; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "timed out after ${limit}s waiting for: $what"
}

# Points the lifeboat environment at repository DIR with the test password.
use_repo() {
  export LIFEBOAT_REPOSITORY=$1
  export LIFEBOAT_PASSWORD=$PASSWORD
}

# new_repo DIR: init a repository there (defaults) and use it.
new_repo() {
  use_repo "$1"
  expect_ok "$LIFEBOAT" init
}

lb() { "$LIFEBOAT" "$@"; }

# run CMD...: runs without aborting; sets RC, OUT (stdout), ERR (stderr) and
# appends both to $W/.transcript.
run() {
  set +e
  "$@" >"$W/.out" 2>"$W/.err"
  RC=$?
  set -e
  OUT=$(cat "$W/.out")
  ERR=$(cat "$W/.err")
  # Everything the commands printed, for checks like "the password never shows".
  cat "$W/.out" "$W/.err" >>"$W/.transcript"
  return 0
}

_show_run() {
  echo "--- command: $*" >&2
  echo "--- exit code: $RC" >&2
  echo "--- stdout (first 60 lines):" >&2
  head -n 60 "$W/.out" >&2 || true
  echo "--- stderr (first 60 lines):" >&2
  head -n 60 "$W/.err" >&2 || true
}

# expect_ok CMD...: runs CMD, fails the test unless it exits 0.
expect_ok() {
  run "$@"
  if [[ $RC -ne 0 ]]; then
    _show_run "$@"
    fail "expected exit 0 from: $*"
  fi
}

# expect_rc N CMD...: runs CMD, fails the test unless it exits N.
expect_rc() {
  local want=$1
  shift
  run "$@"
  if [[ $RC -ne $want ]]; then
    _show_run "$@"
    fail "expected exit $want, got $RC from: $*"
  fi
}

# expect_fail CMD...: runs CMD, fails the test unless it exits non-zero.
expect_fail() {
  run "$@"
  if [[ $RC -eq 0 ]]; then
    _show_run "$@"
    fail "expected a non-zero exit from: $*"
  fi
}

assert_eq() { # EXPECTED ACTUAL WHAT
  [[ "$1" == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() {
  [[ "$1" != "$2" ]] || fail "${3:-value}: expected something other than '$1'"
}
assert_lt() { # A B WHAT: A < B (integers)
  [[ "$1" -lt "$2" ]] || fail "${3:-value}: expected $1 < $2"
}
assert_le() {
  [[ "$1" -le "$2" ]] || fail "${3:-value}: expected $1 <= $2"
}
assert_contains() { # HAYSTACK NEEDLE WHAT
  [[ "$1" == *"$2"* ]] || fail "${3:-output} should contain '$2'; it is:
$1"
}
assert_not_contains() {
  [[ "$1" != *"$2"* ]] || fail "${3:-output} should not contain '$2'; it is:
$1"
}
# Case-insensitive regular expression match.
assert_matches() { # TEXT ERE WHAT
  grep -Eqi -- "$2" <<<"$1" || fail "${3:-output} should match /$2/; it is:
$1"
}
assert_files_equal() { # A B
  cmp -s -- "$1" "$2" || fail "files differ: $1 vs $2 ($(stat -c %s -- "$1") vs $(stat -c %s -- "$2") bytes)"
}
assert_exists() { [[ -e "$1" || -L "$1" ]] || fail "expected $1 to exist"; }
assert_not_exists() { [[ ! -e "$1" && ! -L "$1" ]] || fail "expected $1 not to exist"; }

# assert_trees_equal EXPECTED ACTUAL [treecmp options]: exact comparison.
assert_trees_equal() {
  local out
  if ! out=$(python3 "$E2E_DIR/treecmp.py" "$@" 2>&1); then
    echo "$out" >&2
    fail "trees differ: $1 vs $2"
  fi
  echo "$out"
}

# jget JSON PYEXPR: evaluates a Python expression over the parsed JSON `j`
# and prints the result (strings raw, others as JSON).
jget() {
  python3 -c '
import json, sys
j = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2" ||
    fail "jget: cannot evaluate $2 on: $1"
}

# assert_json TEXT: every non-empty line (or the whole text) parses as JSON.
assert_json_lines() {
  python3 -c '
import json, sys
for n, line in enumerate(sys.argv[1].splitlines(), 1):
    if line.strip():
        try:
            json.loads(line)
        except Exception as e:
            sys.exit("line %d is not JSON (%s): %r" % (n, e, line))' "$1" ||
    fail "output is not JSON lines"
}

# backup_json [EXPECTED_RC=0 via BACKUP_RC] ARGS...: runs `lifeboat --json backup ARGS`,
# sets SUMMARY (the summary line) and SNAP (its snapshot_id).
backup_json() {
  local want=${BACKUP_RC:-0}
  expect_rc "$want" "$LIFEBOAT" --json backup "$@"
  assert_json_lines "$OUT"
  SUMMARY=$(grep '"message_type":"summary"' <<<"$OUT" | tail -n 1) ||
    fail "no summary line in backup --json output: $OUT"
  SNAP=$(jget "$SUMMARY" 'j.get("snapshot_id", "")')
}

# snapshots_json [ARGS...]: prints `lifeboat snapshots --json ARGS`.
snapshots_json() {
  expect_ok "$LIFEBOAT" snapshots --json "$@"
  assert_json_lines "$OUT"
  echo "$OUT"
}

# A stable listing of a repository's files (name, size, mtime; folders by
# name only, as taking and releasing a lock touches locks/) to prove that a
# command wrote or removed nothing.
repo_listing() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf '%P/\n' \) -o -printf '%P %y %s %T@\n' |
    LC_ALL=C sort)
}

# Sum of the sizes of the files under DIR in bytes.
tree_bytes() {
  find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}

# pack_files REPO: the pack files, one per line.
pack_files() {
  find "$1/data" -type f | LC_ALL=C sort
}

# restore_check SNAPSHOT SOURCE_DIR [treecmp options]: restores SNAPSHOT into a
# fresh target and compares TARGET/SOURCE_DIR with SOURCE_DIR exactly.
restore_check() {
  local snap=$1 src=$2
  shift 2
  local target
  target=$(mktemp -d "$W/restore.XXXXXX")
  rmdir "$target"
  expect_ok "$LIFEBOAT" restore "$snap" --target "$target"
  assert_trees_equal "$src" "$target$src" "$@"
  RESTORED=$target
}

# random_file PATH BYTES: incompressible content.
random_file() {
  head -c "$2" /dev/urandom >"$1"
}
