#!/usr/bin/env bash
# backup --stdin-from-command: a command's standard output backed up as one
# file (source "command"); its failure (exit status or signal) fails the
# backup and saves no snapshot; its arguments are never recorded.
source "$(dirname "$0")/lib.sh"

new_repo "$W/repo"
random_file "$W/data" 3000000

step "output of cat backed up as /cat.out"
backup_json --stdin-from-command -- cat "$W/data"
S1=$SNAP
assert_ne "" "$S1" "snapshot id"
J=$(snapshots_json)
assert_eq "command" "$(jget "$J" '[s for s in j if s["id"] == "'"$S1"'"][0]["source"]')" "source"
assert_eq "cat" "$(jget "$J" '[s for s in j if s["id"] == "'"$S1"'"][0]["source_info"]["program"]')" "program"
assert_eq "0" "$(jget "$J" '[s for s in j if s["id"] == "'"$S1"'"][0]["source_info"]["exit_status"]')" "exit status"
assert_eq '["/cat.out"]' "$(jget "$J" '[s for s in j if s["id"] == "'"$S1"'"][0]["paths"]')" "paths"
lb dump "$S1" /cat.out >"$W/dumped"
assert_files_equal "$W/data" "$W/dumped"
expect_ok "$LIFEBOAT" restore "$S1" --target "$W/restored"
assert_files_equal "$W/data" "$W/restored/cat.out"

step "--stdin-filename, arguments (which may hold secrets) not recorded"
backup_json --stdin-from-command --stdin-filename db.sql -- sh -c 'cat "$1"' SECRET-ARG-4711 "$W/data"
J=$(snapshots_json)
assert_not_contains "$J" "SECRET-ARG-4711" "snapshots --json"
assert_eq '["/db.sql"]' "$(jget "$J" '[s for s in j if s["id"] == "'"$SNAP"'"][0]["paths"]')" "paths"
lb dump "$SNAP" /db.sql >"$W/dumped2"
assert_files_equal "$W/data" "$W/dumped2"

step "a name that is also a subcommand is still the command (after --)"
backup_json --stdin-from-command -- git --version
J=$(snapshots_json)
assert_eq "git" "$(jget "$J" '[s for s in j if s["id"] == "'"$SNAP"'"][0]["source_info"]["program"]')" "program"
assert_matches "$(lb dump "$SNAP" /git.out)" '^git version'

count_snapshots() { jget "$(snapshots_json)" 'len(j)'; }
BEFORE=$(count_snapshots)

step "non-zero exit fails the backup, no snapshot"
expect_fail "$LIFEBOAT" backup --stdin-from-command -- sh -c 'head -c 500000 /dev/urandom; exit 3'
assert_contains "$ERR" "exit status 3"
assert_contains "$ERR" "no snapshot was saved"
assert_eq "$BEFORE" "$(count_snapshots)" "snapshot count after a failing command"

step "a command killed by a signal fails the backup"
expect_fail "$LIFEBOAT" backup --stdin-from-command -- sh -c 'echo partial; kill -TERM $$'
assert_contains "$ERR" "signal 15"
assert_eq "$BEFORE" "$(count_snapshots)" "snapshot count after a killed command"

step "a missing program, a missing command"
expect_fail "$LIFEBOAT" backup --stdin-from-command -- lifeboat-no-such-program
assert_contains "$ERR" "not found"
expect_fail "$LIFEBOAT" backup --stdin-from-command
assert_contains "$ERR" "needs a command"
expect_fail "$LIFEBOAT" backup --stdin --stdin-from-command -- true
assert_eq "$BEFORE" "$(count_snapshots)" "snapshot count"

step "--source selects command snapshots"
backup_json --stdin <<<"plain stdin"
assert_eq "3" "$(jget "$(snapshots_json --source command)" 'len(j)')" "command snapshots"
assert_eq "1" "$(jget "$(snapshots_json --source stdin)" 'len(j)')" "stdin snapshots"
assert_eq "4" "$(jget "$(snapshots_json --source command --source stdin)" 'len(j)')" "both"

step "the repository is intact"
expect_ok "$LIFEBOAT" check --read-data
