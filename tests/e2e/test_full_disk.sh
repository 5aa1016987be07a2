#!/usr/bin/env bash
# End-to-end: a repository on a full disk. A backup that runs out of space
# fails with exit 1 and says so, leaves no half-written files behind, and
# once there is room again `check` passes and a new backup works. A restore
# onto a full ext4 (large files go there with O_DIRECT) fails the same way
# and leaves no file with wrong content.
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

step "restoring 50 MiB onto a 24 MiB ext4 fails clearly and leaves no wrong file"
# ext4, not tmpfs: files of 1 MiB and more are written with O_DIRECT there.
IMG=$W/small.ext4
EXT=$W/ext
mkdir -p "$EXT"
truncate -s 24M "$IMG"
if mkfs.ext4 -q -F "$IMG" >/dev/null 2>&1 && mount -o loop "$IMG" "$EXT" 2>/dev/null; then
  add_cleanup "umount -l '$EXT'"
  expect_rc 1 lb restore latest --target "$EXT/r"
  assert_matches "$ERR" 'no space' "error of a restore onto a full disk"
  complete=0
  while IFS= read -r -d '' f; do
    assert_files_equal "$SRC/${f#"$EXT/r$SRC/"}" "$f"
    complete=$((complete + 1))
  done < <(find "$EXT/r" -type f -print0)
  assert_lt "$complete" 6 "files restored onto 24 MiB of the 6 (50 MiB)"
  echo "$complete of 6 files restored, each exact; the others removed"
  # With room again (the image grown), the restore completes in place.
  umount "$EXT"
  truncate -s 96M "$IMG"
  resize2fs -f "$IMG" >/dev/null 2>&1 || fail "cannot grow the ext4 image"
  mount -o loop "$IMG" "$EXT" || fail "cannot mount the grown ext4 image"
  expect_ok lb restore latest --target "$EXT/r" --allow-existing
  assert_trees_equal "$SRC" "$EXT/r$SRC" --no-root-meta
else
  echo "note: cannot mount an ext4 image here; the full-disk restore was not run"
fi
