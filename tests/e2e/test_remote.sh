#!/usr/bin/env bash
# The whole cycle through the real binary against a real remote repository:
# init, backup, incremental backup, snapshots, ls, restore (exact), check
# --read-data, forget --prune, check, restore again.
#   test_remote.sh s3    s3rver, started by the s3_s3rver CTest fixture
#                        (state in $LIFEBOAT_S3_STATE/s3rver)
#   test_remote.sh sftp  sshd, started by the sftp_servers CTest fixture
#                        (settings in $LIFEBOAT_SFTP_TEST_ENV)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kind=${1:?usage: test_remote.sh s3|sftp}
REAL=$LIFEBOAT
opts=()
case $kind in
  s3)
    state=${LIFEBOAT_S3_STATE:?}/s3rver
    [[ -f $state/skip ]] && skip "$(cat "$state/skip")"
    [[ -f $state/port ]] || skip "s3rver is not running (run through ctest)"
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
    unset AWS_SESSION_TOKEN AWS_PROFILE
    repo="s3:http://127.0.0.1:$(cat "$state/port")/e2e-$$-$RANDOM/lifeboat"
    # Small parts so that 16 MiB packs go up as multipart uploads.
    opts=(-o s3.multipart-threshold=5MiB)
    ;;
  sftp)
    env=${LIFEBOAT_SFTP_TEST_ENV:?}
    [[ -f $env ]] || skip "the sshd test servers are not running (run through ctest)"
    val() { sed -n "s/^$1=//p" "$env"; }
    [[ -z $(val SKIP) ]] || skip "$(val SKIP)"
    repo="sftp:$(val USER)@127.0.0.1:$(val PORT):e2e-$$-$RANDOM"
    opts=(-o "sftp.key=$(val CLIENT_KEY)" -o "sftp.known-hosts=$(val KNOWN_HOSTS)")
    ;;
  *) fail "unknown kind $kind" ;;
esac

# The metadata cache of remote repositories lives in the test's directory.
export LIFEBOAT_CACHE_DIR=$W/cache

# Every command gets the storage options.
LIFEBOAT=$W/lifeboat
printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$REAL" "$(printf "'%s' " "${opts[@]}")" >"$LIFEBOAT"
chmod +x "$LIFEBOAT"

step "a source tree: small files, a text file, 40 MiB of random data"
src=$W/src
mkdir -p "$src/app/static" "$src/uploads"
for i in $(seq 1 40); do echo "file $i $(date +%N)" >"$src/app/static/f$i.css"; done
seq 1 200000 >"$src/app/data.txt"
random_file "$src/uploads/video.bin" $((40 << 20))
ln -s data.txt "$src/app/link"

step "init and first backup to $kind"
new_repo "$repo"
backup_json "$src"
first=$SNAP

step "second backup after a change uploads little"
echo "changed" >>"$src/app/data.txt"
echo "new" >"$src/app/new.txt"
backup_json "$src"
added=$(jget "$SUMMARY" 'j["data_added"]')
assert_lt "$added" $((4 << 20)) "bytes added by the incremental backup (of 41 MiB)"
second=$SNAP

step "snapshots and ls"
snaps=$(snapshots_json)
assert_eq 2 "$(jget "$snaps" 'len(j)')" "snapshot count"
expect_ok "$LIFEBOAT" ls latest
assert_contains "$OUT" "video.bin" "ls output"

step "restore is exact"
restore_check latest "$src"

step "check reading all data"
expect_ok "$LIFEBOAT" check --read-data

step "forget the first snapshot and prune"
expect_ok "$LIFEBOAT" forget "$first" --prune
snaps=$(snapshots_json)
assert_eq 1 "$(jget "$snaps" 'len(j)')" "snapshot count after forget"
expect_ok "$LIFEBOAT" check --read-data
restore_check "$second" "$src"

step "metadata cache: private files, encrypted, same answers as without it"
cached=$(find "$W/cache" -type f | wc -l)
assert_lt 3 "$cached" "files in the metadata cache"
assert_eq "" "$(find "$W/cache" -type f ! -perm 600)" "cache files not 0600"
assert_eq "" "$(find "$W/cache" -mindepth 1 -type d ! -perm 700)" "cache dirs not 0700"
assert_eq "" "$(grep -rl 'video.bin' "$W/cache" || true)" "cache files holding plaintext"
with_cache=$(snapshots_json)
expect_ok "$LIFEBOAT" --no-cache snapshots --json
assert_eq "$with_cache" "$OUT" "snapshots with and without the cache"
rm -rf "$W/cache"
expect_ok "$LIFEBOAT" ls latest
assert_contains "$OUT" "video.bin" "ls output after deleting the cache"
