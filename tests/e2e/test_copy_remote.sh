#!/usr/bin/env bash
# lifeboat copy across backends, against the servers of the shared CTest
# fixtures s3_s3rver ($LIFEBOAT_S3_STATE/s3rver) and sftp_servers
# ($LIFEBOAT_SFTP_TEST_ENV):
#   local A → S3 B (different password and master key), S3 B → SFTP C
#   (different password again; C made with init --from-repo A, so it shares
#   A's chunker), restore from C equals the source, a second
#   copy sends nothing; S3 D made with `init --from-repo` C shares its key:
#   copy C → D reads only what D lacks and a full backup of the same data adds
#   (almost) nothing; forget + prune on the remote repositories, then check
#   --read-data and restore.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
unset LIFEBOAT_FROM_REPOSITORY LIFEBOAT_FROM_PASSWORD LIFEBOAT_FROM_PASSWORD_FILE \
  LIFEBOAT_FROM_PASSWORD_COMMAND

s3state=${LIFEBOAT_S3_STATE:?}/s3rver
[[ -f $s3state/skip ]] && skip "$(cat "$s3state/skip")"
[[ -f $s3state/port ]] || skip "s3rver is not running (run through ctest)"
env=${LIFEBOAT_SFTP_TEST_ENV:?}
[[ -f $env ]] || skip "the sshd test servers are not running (run through ctest)"
val() { sed -n "s/^$1=//p" "$env"; }
[[ -z $(val SKIP) ]] || skip "$(val SKIP)"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE
export LIFEBOAT_CACHE_DIR=$W/cache
tag=$$-$RANDOM
s3base="s3:http://127.0.0.1:$(cat "$s3state/port")/copy-$tag"
A=$W/a
B=$s3base/b
C="sftp:$(val USER)@127.0.0.1:$(val PORT):copy-$tag/c"
D=$s3base/d
add_cleanup "rm -rf --one-file-system '$(val HOME_DIR)/copy-$tag'"
# -o keys of another kind of storage are errors, so each side gets its own:
# small parts so that 16 MiB packs go up as multipart uploads on S3.
S3_OPTS=(s3.multipart-threshold=5MiB)
SFTP_OPTS=("sftp.key=$(val CLIENT_KEY)" "sftp.known-hosts=$(val KNOWN_HOSTS)")
PW_B="the password of the S3 repository B"
PW_C="the password of the SFTP repository C"
PW_D="the password of the S3 repository D"

# opts_for REPO: the -o options (as "-o X" words) for REPO's kind of storage.
opts_for() {
  local o
  case $1 in
    s3:*) for o in "${S3_OPTS[@]}"; do printf '%s\n' -o "$o"; done ;;
    sftp:*) for o in "${SFTP_OPTS[@]}"; do printf '%s\n' -o "$o"; done ;;
  esac
}
# from_opts REPO: the same as --from-option words.
from_opts() {
  local o
  case $1 in
    s3:*) for o in "${S3_OPTS[@]}"; do printf '%s\n' --from-option "$o"; done ;;
    sftp:*) for o in "${SFTP_OPTS[@]}"; do printf '%s\n' --from-option "$o"; done ;;
  esac
}
# at REPO PASSWORD CMD...: runs lifeboat CMD on REPO (expect_* style via $LB).
at() {
  local repo=$1 pw=$2
  shift 2
  local o
  mapfile -t o < <(opts_for "$repo")
  LIFEBOAT_REPOSITORY=$repo LIFEBOAT_PASSWORD=$pw "$LIFEBOAT" ${o[@]+"${o[@]}"} "$@"
}
# copy_json DST DST_PW SRC SRC_PW [ARGS...]: copy SRC → DST with --json; sets SUM.
copy_json() {
  local dst=$1 dpw=$2 srcrepo=$3 spw=$4
  shift 4
  local f
  mapfile -t f < <(from_opts "$srcrepo")
  LIFEBOAT_FROM_PASSWORD=$spw expect_ok at "$dst" "$dpw" --json copy --from-repo "$srcrepo" \
    ${f[@]+"${f[@]}"} "$@"
  assert_json_lines "$OUT"
  SUM=$(grep '"message_type":"copy_summary"' <<<"$OUT") || fail "no copy_summary in: $OUT"
}
snap_count() { # REPO PASSWORD
  expect_ok at "$1" "$2" snapshots --json
  jget "$OUT" 'len(j)'
}

step "source tree: 24 MiB of random data, small files, a link"
SRC=$W/src
mkdir -p "$SRC/media" "$SRC/docs"
for i in 1 2 3; do random_file "$SRC/media/video$i.bin" $((8 << 20)); done
for i in $(seq 1 50); do echo "doc $i $RANDOM" >"$SRC/docs/d$i.txt"; done
seq 1 100000 >"$SRC/docs/table.csv"
ln -s ../docs/table.csv "$SRC/media/link"

step "local repository A with two snapshots"
new_repo "$A"
backup_json --tag first "$SRC"
A1=$SNAP
echo "changed" >>"$SRC/docs/table.csv"
random_file "$SRC/media/video4.bin" $((4 << 20))
backup_json --tag second "$SRC"

step "copy local A → S3 B (different password, different master key)"
expect_ok at "$B" "$PW_B" init
copy_json "$B" "$PW_B" "$A" "$PASSWORD"
assert_eq 2 "$(jget "$SUM" 'j["snapshots_copied"]')" "snapshots copied A → B"
assert_eq false "$(jget "$SUM" 'j["same_master_key"]')" "same_master_key A → B"
assert_eq 2 "$(snap_count "$B" "$PW_B")" "snapshots in B"

step "copy S3 B → SFTP C (different password again; C shares A's master key and chunker)"
# C is made with init --from-repo A so that the data copied into it (cut by
# A's chunker, whose boundaries are keyed by A's secret) deduplicates with
# later backups into C and D; B's key differs from both, so B → C re-hashes.
LIFEBOAT_FROM_PASSWORD=$PASSWORD expect_ok at "$C" "$PW_C" init --from-repo "$A"
copy_json "$C" "$PW_C" "$B" "$PW_B"
assert_eq 2 "$(jget "$SUM" 'j["snapshots_copied"]')" "snapshots copied B → C"
sent_bc=$(jget "$SUM" 'j["blobs_sent"]')
[[ $sent_bc -gt 20 ]] || fail "only $sent_bc blobs sent B → C"
assert_eq 2 "$(snap_count "$C" "$PW_C")" "snapshots in C"

step "restore from SFTP C equals the source"
target=$W/restore-c
expect_ok at "$C" "$PW_C" restore latest --target "$target"
assert_trees_equal "$SRC" "$target$SRC"
expect_ok at "$C" "$PW_C" check --read-data

step "a second copy B → C and A → B sends nothing"
copy_json "$C" "$PW_C" "$B" "$PW_B"
assert_eq 0 "$(jget "$SUM" 'j["snapshots_copied"]')" "snapshots copied again B → C"
assert_eq 2 "$(jget "$SUM" 'j["snapshots_skipped"]')" "snapshots skipped B → C"
assert_eq 0 "$(jget "$SUM" 'j["blobs_sent"]')" "blobs sent again B → C"
copy_json "$B" "$PW_B" "$A" "$PASSWORD"
assert_eq 0 "$(jget "$SUM" 'j["blobs_sent"]')" "blobs sent again A → B"

step "init --from-repo: S3 D shares SFTP C's master key; copy reads only what D lacks"
mapfile -t f < <(from_opts "$C")
LIFEBOAT_FROM_PASSWORD=$PW_C expect_ok at "$D" "$PW_D" init --from-repo "$C" ${f[@]+"${f[@]}"}
assert_contains "$OUT" "master key and chunker parameters copied from repository"
copy_json "$D" "$PW_D" "$C" "$PW_C" --tag first
assert_eq true "$(jget "$SUM" 'j["same_master_key"]')" "same_master_key C → D"
assert_eq 1 "$(jget "$SUM" 'j["snapshots_copied"]')" "first snapshot copied C → D"
first_read=$(jget "$SUM" 'j["bytes_read"]')
copy_json "$D" "$PW_D" "$C" "$PW_C"
assert_eq 1 "$(jget "$SUM" 'j["snapshots_copied"]')" "second snapshot copied C → D"
# The second snapshot adds video4 (4 MiB) and a changed table.csv: the
# 24 MiB of the first are not read again.
assert_lt "$(jget "$SUM" 'j["bytes_read"]')" $((first_read / 2)) "bytes read for the second snapshot"

step "a full backup of the same data into D adds (almost) nothing"
LB_S3=$W/lifeboat-s3
printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$LIFEBOAT" "$(opts_for "$D" | xargs printf "'%s' ")" >"$LB_S3"
chmod +x "$LB_S3"
LIFEBOAT_REPOSITORY=$D LIFEBOAT_PASSWORD=$PW_D LIFEBOAT=$LB_S3 backup_json --full "$SRC"
added=$(jget "$SUMMARY" 'j["data_added"]')
echo "full backup into D added $added bytes"
assert_lt "$added" $((64 << 10)) "data_added by a full backup into D"
expect_ok at "$D" "$PW_D" check --read-data

step "forget + prune on the remote repositories, then check --read-data"
forget_prune() { # REPO PASSWORD
  local repo=$1 pw=$2 first target
  expect_ok at "$repo" "$pw" snapshots --json --tag first
  first=$(jget "$OUT" 'j[0]["id"]')
  expect_ok at "$repo" "$pw" forget "$first" --prune --max-unused 0%
  echo "$OUT" | tail -n 4
  assert_eq 1 "$(snap_count "$repo" "$pw")" "snapshots left after forget"
  expect_ok at "$repo" "$pw" check --read-data
  target=$W/restore-after-prune-$RANDOM
  expect_ok at "$repo" "$pw" restore latest --target "$target"
  assert_trees_equal "$SRC" "$target$SRC"
}
forget_prune "$B" "$PW_B"
forget_prune "$C" "$PW_C"

step "no password in any output"
assert_not_contains "$(cat "$W/.transcript")" "$PW_B" "output"
assert_not_contains "$(cat "$W/.transcript")" "$PW_C" "output"
assert_not_contains "$(cat "$W/.transcript")" "$PW_D" "output"
