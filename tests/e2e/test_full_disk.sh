#!/usr/bin/env bash
# End-to-end: a repository on a full disk. A backup that runs out of space
# fails with exit 1 and says so, leaves no half-written files behind, and
# once there is room again `check` passes and a new backup works.
source "$(dirname "$0")/lib.sh"

require_root "mounting a tmpfs"
SMALL=$W/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=20m tmpfs "$SMALL" 2>/dev/null || skip "cannot mount a tmpfs here"
add_cleanup "umount -l '$SMALL'"

REPO=$SMALL/repo
new_repo "$REPO"
SRC=$W/src
mkdir -p "$SRC"
for i in 1 2 3 4 5; do random_file "$SRC/data$i.bin" $((10 * 1024 * 1024)); done
echo "small" >"$SRC/small.txt"

# Files in the repository whose names are not 64 hex digits (temporary files).
stray_files() {
  find "$REPO/data" "$REPO/index" "$REPO/snapshots" "$REPO/locks" -type f |
    grep -Ev '/[0-9a-f]{64}$' || true
}

step "backing up 50 MiB into 20 MiB fails with a clear message"
expect_rc 1 lb backup "$SRC"
assert_matches "$ERR" '^lifeboat: .*no space' "error of a backup on a full disk"
assert_not_contains "$OUT" "saved" "output of the failed backup"
assert_eq 0 "$(find "$REPO/snapshots" -type f | wc -l)" "snapshots after the failed backup"
assert_eq "" "$(stray_files)" "temporary files left by the failed backup"
assert_eq 0 "$(find "$REPO/locks" -type f | wc -l)" "locks left by the failed backup"
expect_rc 1 lb --json backup "$SRC"
assert_json_lines "$ERR"
assert_matches "$ERR" 'no space' "--json error of a backup on a full disk"

step "with room again, check passes and a backup works"
mount -o remount,size=200m "$SMALL" || fail "cannot grow the tmpfs"
expect_ok lb check
backup_json "$SRC"
# The packs the failed runs stored are reused: the repository holds the data once.
assert_lt "$(tree_bytes "$REPO")" $((50 * 1024 * 1024 + 20 * 1024 * 1024)) "repository size"
expect_ok lb check --read-data
restore_check latest "$SRC"
expect_ok lb prune
expect_ok lb check --read-data
assert_eq "" "$(stray_files)" "temporary files in the repository"
