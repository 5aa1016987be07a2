#!/usr/bin/env bash
# End-to-end: deduplication and the three backup kinds. A second backup of
# the same data adds (almost) nothing, renamed and copied files cost no new
# data, unchanged files are recognised by metadata, --full re-reads without
# adding data, --differential compares with the latest full snapshot.
source "$(dirname "$0")/lib.sh"

SRC=$W/src
mkdir -p "$SRC/docs" "$SRC/media"
for i in 1 2 3 4 5 6; do random_file "$SRC/media/photo$i.jpg" $((1024 * 1024 + i * 1000)); done
random_file "$SRC/media/video.mp4" $((8 * 1024 * 1024))
for i in 1 2 3; do seq "$i" 3 300000 >"$SRC/docs/table$i.csv"; done
echo "hello" >"$SRC/docs/readme.txt"
NFILES=$(find "$SRC" -type f | wc -l)
SMALL=$((64 * 1024))

new_repo "$W/repo"

step "first backup stores everything"
backup_json "$SRC"
S1=$SNAP
assert_eq "$NFILES" "$(jget "$SUMMARY" 'j["files_new"]')" "files_new of the first backup"
added1=$(jget "$SUMMARY" 'j["data_added"]')
[[ $added1 -gt $((14 * 1024 * 1024)) ]] || fail "first backup added only $added1 bytes"
assert_eq full "$(jget "$SUMMARY" 'j["kind"]')" "kind of the first backup (no parent yet)"

step "second backup of the same data adds nothing and reads nothing"
backup_json "$SRC"
S2=$SNAP
assert_lt "$(jget "$SUMMARY" 'j["data_added"]')" "$SMALL" "data_added of an unchanged backup"
assert_eq "$NFILES" "$(jget "$SUMMARY" 'j["files_unmodified"]')" "files_unmodified"
assert_eq 0 "$(jget "$SUMMARY" 'j["files_new"]')" "files_new"
assert_eq 0 "$(jget "$SUMMARY" 'j["files_changed"]')" "files_changed"
assert_eq incremental "$(jget "$SUMMARY" 'j["kind"]')" "kind"
assert_eq "$S1" "$(jget "$SUMMARY" 'j["parent"]')" "parent of the second backup"

step "a renamed file and a copied file cost no new data"
mv "$SRC/media/video.mp4" "$SRC/media/video-renamed.mp4"
cp "$SRC/media/photo1.jpg" "$SRC/docs/photo1-copy.jpg"
mkdir "$SRC/moved"
mv "$SRC/docs/table2.csv" "$SRC/moved/"
backup_json "$SRC"
S3=$SNAP
assert_lt "$(jget "$SUMMARY" 'j["data_added"]')" "$SMALL" "data_added after rename + copy"
assert_eq 3 "$(jget "$SUMMARY" 'j["files_new"]')" "files_new after rename + copy + move"
NFILES=$((NFILES + 1))

step "--full re-reads everything but adds nothing"
backup_json --full "$SRC"
S4=$SNAP
assert_eq full "$(jget "$SUMMARY" 'j["kind"]')" "kind of a --full backup"
assert_lt "$(jget "$SUMMARY" 'j["data_added"]')" "$SMALL" "data_added of --full on unchanged data"
assert_eq 0 "$(jget "$SUMMARY" 'j["files_unmodified"]')" "files trusted by metadata in a --full backup"
assert_eq "$NFILES" "$(jget "$SUMMARY" 'j["total_files_processed"]')" "files processed by --full"

step "an incremental backup after the full one"
backup_json "$SRC"
S5=$SNAP
assert_eq "$S4" "$(jget "$SUMMARY" 'j["parent"]')" "parent of the backup after --full"

cp -a "$SRC" "$W/src-at-S5"  # what S4 and S5 hold

step "change one file: exactly one file changed"
head -c 1000 /dev/urandom >>"$SRC/media/photo3.jpg"
backup_json "$SRC"
S6=$SNAP
assert_eq 1 "$(jget "$SUMMARY" 'j["files_changed"]')" "files_changed"
assert_eq $((NFILES - 1)) "$(jget "$SUMMARY" 'j["files_unmodified"]')" "files_unmodified"
assert_eq 0 "$(jget "$SUMMARY" 'j["files_new"]')" "files_new"
added=$(jget "$SUMMARY" 'j["data_added"]')
assert_lt "$added" $((3 * 1024 * 1024)) "data_added after changing one 1 MiB file"
[[ $added -gt 0 ]] || fail "a changed file added no data"

step "--differential compares with the latest full snapshot"
echo "more" >>"$SRC/docs/readme.txt"
backup_json --differential "$SRC"
S7=$SNAP
assert_eq differential "$(jget "$SUMMARY" 'j["kind"]')" "kind of a --differential backup"
assert_eq "$S4" "$(jget "$SUMMARY" 'j["parent"]')" "parent of the differential backup (latest full)"
# Compared with the full snapshot S4 two files differ (photo3 and readme).
assert_eq 2 "$(jget "$SUMMARY" 'j["files_changed"]')" "files_changed against the full snapshot"
assert_lt "$(jget "$SUMMARY" 'j["data_added"]')" "$SMALL" "data_added of the differential backup"

step "snapshots --json records kinds and parents"
snaps=$(snapshots_json)
assert_eq 7 "$(jget "$snaps" 'len(j)')" "number of snapshots"
kind_of() { jget "$snaps" "[s['kind'] for s in j if s['id'] == '$1'][0]"; }
parent_of() { jget "$snaps" "[s.get('parent', '') for s in j if s['id'] == '$1'][0]"; }
assert_eq full "$(kind_of "$S1")" "kind of S1"
assert_eq incremental "$(kind_of "$S2")" "kind of S2"
assert_eq full "$(kind_of "$S4")" "kind of S4"
assert_eq differential "$(kind_of "$S7")" "kind of S7"
assert_eq "$S1" "$(parent_of "$S2")" "parent of S2"
assert_eq "$S2" "$(parent_of "$S3")" "parent of S3"
assert_eq "$S5" "$(parent_of "$S6")" "parent of S6"
assert_eq "$S4" "$(parent_of "$S7")" "parent of S7"
assert_eq "$S1" "$(jget "$snaps" "[s['short_id'] for s in j if s['id'] == '$S1'][0]")$(cut -c9- <<<"$S1")" \
  "short_id is a prefix of id"

step "the repository holds the data about once"
repo_bytes=$(tree_bytes "$W/repo")
src_bytes=$(tree_bytes "$SRC")
# 7 snapshots of ~16 MiB of mostly incompressible data: about 1x, not 7x.
assert_lt "$repo_bytes" $((src_bytes * 3 / 2)) "repository size vs source size"

step "every snapshot restores exactly"
restore_check latest "$SRC"
target=$W/restore-S4
expect_ok lb restore "$S4" --target "$target"
assert_trees_equal "$W/src-at-S5" "$target$SRC"
expect_ok lb check --read-data

step "a change that keeps size and mtime is still noticed (ctime, inode)"
f=$SRC/docs/table1.csv
m=$(stat -c %y "$f")
sed -i 's/^1$/X/' "$f"
touch -d "$m" "$f"
backup_json "$SRC"
assert_eq 1 "$(jget "$SUMMARY" 'j["files_changed"]')" "files_changed after an in-place edit with the old mtime"
g=$SRC/docs/readme.txt
m=$(stat -c %y "$g")
printf 'hellx\nmore\n' >"$W/replacement"
touch -d "$m" "$W/replacement"
mv "$W/replacement" "$g"
backup_json "$SRC"
assert_eq 1 "$(jget "$SUMMARY" 'j["files_changed"]')" "files_changed after replacing a file (same size and mtime)"
restore_check latest "$SRC"
