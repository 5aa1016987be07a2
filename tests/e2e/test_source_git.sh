#!/usr/bin/env bash
# backup git / restore git: every ref as a bundle; the restored repository has
# the same refs (names and object ids, annotated tags and a commit reachable
# only from a tag included), passes git fsck, and has HEAD checked out as the
# original had it.
source "$(dirname "$0")/lib.sh"
command -v git >/dev/null || skip "git not installed"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t \
  GIT_COMMITTER_EMAIL=t@example.org GIT_CONFIG_NOSYSTEM=1 HOME=$W/home
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

new_repo "$W/repo"
O="$W/orig"
git init -q "$O"
cd "$O"
for i in 1 2 3; do echo "line $i" >>file.txt; git add file.txt; git commit -q -m "main $i"; done
git tag v1.0                                  # lightweight
git tag -a v1.1 -m "annotated release"       # annotated
git checkout -q -b feature
mkdir -p sub && echo feature >sub/f.txt && git add sub && git commit -q -m feature
git checkout -q --detach
echo detached >detached.txt && git add detached.txt && git commit -q -m "only reachable from a tag"
git tag -a lonely -m "the only way to that commit"
git checkout -q feature
git update-ref refs/notes/commits "$(git rev-parse main)"  # some other ref namespace
cd "$W"
refs() { git -C "$1" for-each-ref --format='%(objectname) %(objecttype) %(refname)'; }

step "backup git"
backup_json git "$O" --tag code
J=$(snapshots_json --tag code)
sel='[s for s in j if s["id"] == "'"$SNAP"'"][0]'
assert_eq "git" "$(jget "$J" "$sel"'["source"]')" "source"
assert_eq "$O" "$(jget "$J" "$sel"'["source_info"]["path"]')" "source_info.path"
assert_eq "refs/heads/feature" "$(jget "$J" "$sel"'["source_info"]["head"]')" "HEAD"
assert_eq "$(refs "$O" | wc -l)" "$(jget "$J" "$sel"'["source_info"]["refs"]')" "number of refs"
lb dump "$SNAP" /orig.bundle >"$W/dumped.bundle"
git -C "$O" bundle verify -q "$W/dumped.bundle"

step "restore git"
expect_ok "$LIFEBOAT" restore git latest --target "$W/restored"
assert_contains "$OUT" "${SNAP:0:8}"
assert_eq "$(refs "$O")" "$(refs "$W/restored")" "for-each-ref"
git -C "$W/restored" fsck --no-progress --strict || fail "git fsck of the restored repository"
assert_eq "refs/heads/feature" "$(git -C "$W/restored" symbolic-ref HEAD)" "restored HEAD"
assert_eq "" "$(git -C "$W/restored" status --porcelain)" "the work tree is clean"
assert_files_equal "$O/sub/f.txt" "$W/restored/sub/f.txt"
assert_files_equal "$O/file.txt" "$W/restored/file.txt"
assert_eq "$(git -C "$O" rev-parse lonely^{commit})" "$(git -C "$W/restored" rev-parse lonely^{commit})" "commit only reachable from a tag"
assert_eq "" "$(git -C "$W/restored" remote)" "no remote left pointing at a temporary bundle"

step "a non-empty target is refused; --force replaces it"
expect_fail "$LIFEBOAT" restore git latest --target "$W/restored"
assert_contains "$ERR" "not empty"
echo stray >"$W/restored/stray"
expect_ok "$LIFEBOAT" restore git latest --target "$W/restored" --force
assert_not_exists "$W/restored/stray"
assert_eq "$(refs "$O")" "$(refs "$W/restored")" "for-each-ref after --force"

step "detached HEAD is restored detached"
git -C "$O" checkout -q lonely^{commit}
backup_json git "$O"
expect_ok "$LIFEBOAT" restore git "$SNAP" --target "$W/restored-detached"
assert_eq "$(git -C "$O" rev-parse HEAD)" "$(git -C "$W/restored-detached" rev-parse HEAD)" "detached HEAD"
git -C "$W/restored-detached" symbolic-ref -q HEAD && fail "HEAD should be detached"
assert_files_equal "$O/detached.txt" "$W/restored-detached/detached.txt"
git -C "$W/restored-detached" fsck --no-progress --strict || fail "git fsck"

step "an empty repository and a non-repository are clear errors"
git init -q "$W/empty"
expect_fail "$LIFEBOAT" backup git "$W/empty"
assert_contains "$ERR" "no refs"
mkdir -p "$W/plain"
expect_fail "$LIFEBOAT" backup git "$W/plain"
assert_contains "$ERR" "not a git repository"
