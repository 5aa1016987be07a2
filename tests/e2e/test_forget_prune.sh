#!/usr/bin/env bash
# End-to-end: forget with a retention policy (dry run first), prune frees the
# space of forgotten data, and what remains restores and checks clean.
source "$(dirname "$0")/lib.sh"

REPO=$W/repo
new_repo "$REPO"
MIB=$((1024 * 1024))
SRC=$W/src
mkdir -p "$SRC"
random_file "$SRC/common.bin" $((2 * MIB))

step "five snapshots, each with its own 3 MiB of data"
declare -a S
for i in 1 2 3 4 5; do
  rm -f "$SRC"/unique*.bin
  random_file "$SRC/unique$i.bin" $((3 * MIB))
  echo "version $i" >"$SRC/version.txt"
  backup_json "$SRC"
  S[$i]=$SNAP
  cp -a "$SRC" "$W/state$i"
done
assert_eq 5 "$(jget "$(snapshots_json)" 'len(j)')" "snapshots before forget"

step "forget --keep-last 2 --dry-run lists and removes nothing"
before=$(repo_listing "$REPO")
expect_ok lb forget --keep-last 2 --dry-run
for i in 1 2 3; do
  assert_matches "$OUT" "remove.*${S[$i]:0:8}" "dry run output for snapshot $i"
done
for i in 4 5; do
  assert_matches "$OUT" "keep.*${S[$i]:0:8}" "dry run output for snapshot $i"
done
expect_ok lb --json forget --keep-last 2 --dry-run
assert_json_lines "$OUT"
line=$(grep '"message_type":"forget"' <<<"$OUT")
assert_eq 3 "$(jget "$line" 'sum(len(g["remove"]) for g in j["groups"])')" "snapshots to remove (json)"
assert_eq 2 "$(jget "$line" 'sum(len(g["keep"]) for g in j["groups"])')" "snapshots to keep (json)"
assert_eq "$before" "$(repo_listing "$REPO")" "repository after forget --dry-run"
assert_eq 5 "$(jget "$(snapshots_json)" 'len(j)')" "snapshots after forget --dry-run"

step "prune --dry-run changes nothing either"
expect_ok lb prune --dry-run
assert_eq "$before" "$(repo_listing "$REPO")" "repository after prune --dry-run"

step "forget --keep-last 2 --prune removes them and frees space"
size_before=$(tree_bytes "$REPO")
expect_ok lb forget --keep-last 2 --prune
size_after=$(tree_bytes "$REPO")
echo "repository: $((size_before / 1024)) KiB -> $((size_after / 1024)) KiB"
snaps=$(snapshots_json)
assert_eq 2 "$(jget "$snaps" 'len(j)')" "snapshots after forget"
assert_eq "$(printf '%s\n' "${S[4]}" "${S[5]}" | sort | tr '\n' ' ')" \
  "$(jget "$snaps" '" ".join(sorted(s["id"] for s in j)) + " "')" "the snapshots kept"
# Three unique 3 MiB files are gone (with slack for compression and trees).
assert_lt "$size_after" $((size_before - 8 * MIB)) "repository size after prune"
assert_lt "$size_after" $((2 * MIB + 2 * 3 * MIB + 2 * MIB)) "repository size holds about 2+3+3 MiB"

step "the remaining snapshots restore exactly and check passes"
expect_ok lb check --read-data
target=$W/r4
expect_ok lb restore "${S[4]}" --target "$target"
assert_trees_equal "$W/state4" "$target$SRC"
target=$W/r5
expect_ok lb restore "${S[5]}" --target "$target"
assert_trees_equal "$W/state5" "$target$SRC"
expect_fail lb restore "${S[1]}" --target "$W/r1"

step "forget by id, then prune"
expect_ok lb forget "${S[4]:0:8}"
assert_eq 1 "$(jget "$(snapshots_json)" 'len(j)')" "snapshots after forget by id"
size_before=$(tree_bytes "$REPO")
expect_ok lb --json prune
assert_json_lines "$OUT"
size_after=$(tree_bytes "$REPO")
assert_lt "$size_after" $((size_before - 2 * MIB)) "repository size after the second prune"
expect_ok lb check --read-data
restore_check latest "$SRC"

step "a second prune has nothing to do"
before=$(repo_listing "$REPO")
expect_ok lb prune
assert_eq "$before" "$(repo_listing "$REPO")" "repository after a prune with nothing to do"

step "forget needs a policy or ids"
expect_rc 1 lb forget
assert_matches "$ERR" '^lifeboat: ' "forget without arguments"
expect_rc 1 lb forget deadbeefdeadbeef
