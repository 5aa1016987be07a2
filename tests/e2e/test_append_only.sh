#!/usr/bin/env bash
# Append-only mode against the REAL append-only sshd of the sftp_servers CTest
# fixture (internal-sftp -P remove,rename,setstat,...; tests/servers/sftp/sshd.sh):
# a client backs up through it but cannot destroy history.
#   - init + three backups through the append-only server work;
#   - forget and prune fail, with the client-side --append-only /
#     LIFEBOAT_APPEND_ONLY=1 (refused up front) and without it (the server
#     refuses the deletions);
#   - an `rm` and an overwrite with the stock sftp client fail;
#   - afterwards every snapshot is still there and restores exactly, and
#     check --read-data passes.
# Settings come from $LIFEBOAT_SFTP_TEST_ENV (APPEND_PORT, USER, CLIENT_KEY,
# KNOWN_HOSTS, REPO_BASE).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

env=${LIFEBOAT_SFTP_TEST_ENV:-}
[[ -n $env && -f $env ]] || skip "the sshd test servers are not running (run through ctest: FIXTURES_REQUIRED sftp_servers)"
val() { sed -n "s/^$1=//p" "$env"; }
[[ -z $(val SKIP) ]] || skip "$(val SKIP)"
command -v sftp >/dev/null || skip "the sftp client is missing (openssh-client)"

user=$(val USER)
port=$(val APPEND_PORT)
key=$(val CLIENT_KEY)
known=$(val KNOWN_HOSTS)
rel=e2e-append-$$-$RANDOM
path=$(val REPO_BASE)/$rel
repo="sftp:$user@127.0.0.1:$port:$path"

# Every command gets the storage options.
REAL=$LIFEBOAT
LIFEBOAT=$W/lifeboat
printf '#!/bin/sh\nexec "%s" -o "sftp.key=%s" -o "sftp.known-hosts=%s" "$@"\n' \
  "$REAL" "$key" "$known" >"$LIFEBOAT"
chmod +x "$LIFEBOAT"

# The stock OpenSSH sftp client on the same account, in batch mode.
sftp_batch() { # COMMANDS (one per line) → RC/OUT/ERR
  printf '%s\n' "$1" >"$W/batch"
  run sftp -b "$W/batch" -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o "UserKnownHostsFile=$known" -o StrictHostKeyChecking=yes -P "$port" "$user@127.0.0.1"
}

src=$W/src
mkdir -p "$src/app" "$src/uploads"
seq 1 50000 >"$src/app/data.txt"
random_file "$src/uploads/a.bin" $((3 << 20))
echo "v1" >"$src/app/version"

step "init through the append-only server"
use_repo "$repo"
expect_ok "$LIFEBOAT" init
assert_contains "$OUT" "media disk, site onsite" "init output"

step "three backups through it (the third with --append-only on the client too)"
declare -a snaps
backup_json "$src"
snaps+=("$SNAP")
cp -a "$src" "$W/expect0"
echo "v2" >"$src/app/version"
random_file "$src/uploads/b.bin" $((1 << 20))
backup_json "$src"
snaps+=("$SNAP")
cp -a "$src" "$W/expect1"
echo "v3" >"$src/app/version"
rm "$src/uploads/a.bin"
LIFEBOAT_APPEND_ONLY=1 backup_json "$src"
snaps+=("$SNAP")
cp -a "$src" "$W/expect2"
listed=$(snapshots_json)
assert_eq 3 "$(jget "$listed" 'len(j)')" "snapshots after three backups"

step "forget and prune refuse up front in client append-only mode"
expect_fail "$LIFEBOAT" --append-only forget "${snaps[0]}"
assert_contains "$ERR" "append-only" "forget --append-only error"
LIFEBOAT_APPEND_ONLY=1 expect_fail "$LIFEBOAT" forget --keep-last 1 --prune
assert_contains "$ERR" "append-only" "forget (LIFEBOAT_APPEND_ONLY=1) error"
expect_fail "$LIFEBOAT" --append-only prune --max-unused 0%
assert_contains "$ERR" "append-only" "prune --append-only error"

step "without the client flag, the server refuses: forget fails, prune fails"
expect_fail "$LIFEBOAT" forget "${snaps[0]}"
assert_matches "$OUT$ERR" "refus|append-only|permission" "forget error"
expect_fail "$LIFEBOAT" forget --keep-last 1 --prune
# For prune to have something to delete, a 4th snapshot with data of its own
# is forgotten through the normal (trusted) server on the same directory.
random_file "$W/extra.bin" $((2 << 20))
mkdir -p "$W/extra" && mv "$W/extra.bin" "$W/extra/"
backup_json "$W/extra"
extra=$SNAP
trusted="sftp:$user@127.0.0.1:$(val PORT):$path"
LIFEBOAT_REPOSITORY=$trusted expect_ok "$LIFEBOAT" forget "$extra"
expect_fail "$LIFEBOAT" prune --max-unused 0%
assert_matches "$ERR" "append-only|refus|permission|denied" "prune error"

step "the stock sftp client cannot delete, rename or overwrite either"
sftp_batch "ls $path/snapshots"
[[ $RC -eq 0 ]] || fail "sftp ls failed: $ERR"
for s in "${snaps[@]}"; do assert_contains "$OUT" "$s" "sftp ls of snapshots/"; done
sftp_batch "rm $path/snapshots/${snaps[0]}"
assert_ne 0 "$RC" "exit code of sftp rm"
sftp_batch "rename $path/snapshots/${snaps[1]} $path/snapshots/gone"
assert_ne 0 "$RC" "exit code of sftp rename"
echo "garbage" >"$W/garbage"
sftp_batch "put $W/garbage $path/snapshots/${snaps[2]}"
assert_ne 0 "$RC" "exit code of sftp put over an existing snapshot"
sftp_batch "rm $path/config"
assert_ne 0 "$RC" "exit code of sftp rm config"

step "every snapshot still restores exactly; check --read-data passes"
listed=$(snapshots_json)
assert_eq 3 "$(jget "$listed" 'len(j)')" "snapshots after every attempt"
for i in 0 1 2; do
  target=$W/restore$i
  expect_ok "$LIFEBOAT" restore "${snaps[i]}" --target "$target"
  assert_trees_equal "$W/expect$i" "$target$src" >/dev/null
done
expect_ok "$LIFEBOAT" check --read-data

step "the trusted account (normal server) can still prune; history is intact"
LIFEBOAT_REPOSITORY=$trusted expect_ok "$LIFEBOAT" prune --max-unused 0%
listed=$(snapshots_json)
assert_eq 3 "$(jget "$listed" 'len(j)')" "snapshots after the trusted prune"
expect_ok "$LIFEBOAT" restore "${snaps[0]}" --target "$W/restore-final"
assert_trees_equal "$W/expect0" "$W/restore-final$src" >/dev/null
expect_ok "$LIFEBOAT" check --read-data
