#!/usr/bin/env bash
# End-to-end: backup + restore reproduce a tree exactly (contents, types,
# modes, owners, nanosecond mtimes, xattrs, hardlinks, holes, odd names), and
# `restore --verify` and `dump` (file and folder-as-tar) agree with it.
source "$(dirname "$0")/lib.sh"

SRC=$W/src
mkdir -p "$SRC"
cd "$SRC"

step "building the source tree"
mkdir -p nested/a/b/c/d empty-dir
echo "deep file" >nested/a/b/c/d/file.txt
seq 1 20000 >nested/a/numbers.txt
: >empty-file
: >nested/zero-length
mkdir -p 'unicode/été'
echo "accents" >'unicode/été/naïve – 日本語.txt'
echo "emoji" >'unicode/🐳 whale.md'
echo "not utf-8" >$'\xff\xfe'
mkdir $'dir-\xc3\x28-invalid'
echo "in a non-utf8 dir" >$'dir-\xc3\x28-invalid/f'
echo "newline" >$'line1\nline2'
echo "tab and spaces" >$'  tab\there  '
echo "leading dash" >./-dash
long_name=$(printf 'n%.0s' {1..255})
echo "255 bytes" >"$long_name"
# A deep path: 80 levels of 20-byte names (~1700 bytes, below PATH_MAX also
# once restored under the target).
deep=deep
for i in $(seq 1 80); do deep+=$(printf '/level-%03d-xxxxxxxxx' "$i"); done
mkdir -p "$deep"
echo "bottom" >"$deep/bottom.txt"

# symlinks
echo "target" >link-target.txt
ln -s link-target.txt sym-relative
ln -s ../nested/a/numbers.txt unicode/sym-up
ln -s /etc/hostname sym-absolute
ln -s does/not/exist sym-dangling
ln -s nested sym-to-dir
ln -s "$long_name" sym-long-target

# hardlinks: a group of three across folders and a pair
echo "hardlinked content" >hard1
ln hard1 hard2
ln hard1 nested/hard3
head -c 100000 /dev/urandom >pair-a
ln pair-a nested/a/pair-b

# sparse files: data in the middle of a 100 MiB hole, and a trailing hole
truncate -s 100M sparse-middle
head -c 65536 /dev/urandom | dd of=sparse-middle bs=1M seek=50 conv=notrunc status=none
head -c 4096 /dev/urandom >sparse-tail
truncate -s 20M sparse-tail

# a big file and something compressible
head -c 50M /dev/urandom >big.bin
{ yes "compressible line of text" || true; } | head -c 5M >compressible.txt

# special files
mkfifo fifo
have_devices=0
if [[ $(id -u) -eq 0 ]] && mknod char-dev c 1 3 2>/dev/null && mknod block-dev b 7 200 2>/dev/null; then
  have_devices=1
else
  echo "note: cannot create device nodes here; not testing them"
  rm -f char-dev block-dev
fi

# owners and modes (chown clears setuid, so chmod afterwards)
is_root=0
[[ $(id -u) -eq 0 ]] && is_root=1
if ((is_root)); then
  chown 1234:5678 nested/a/numbers.txt
  chown nobody:nogroup unicode/été 2>/dev/null || chown 65534:65534 unicode/été
  chown -h 4321:8765 sym-relative
  chown 1234:5678 empty-dir
  chown 2000:3000 fifo
fi
echo "setuid" >setuid-file
chmod 4755 setuid-file
echo "setgid" >setgid-file
chmod 2711 setgid-file
mkdir sticky-dir
chmod 1777 sticky-dir
mkdir setgid-dir
chmod 2750 setgid-dir
echo "secret" >private
chmod 600 private
echo "no permissions" >no-perms
chmod 000 no-perms
chmod 700 empty-dir
chmod 640 nested/a/numbers.txt

# extended attributes
setfattr -n user.x -v y link-target.txt
setfattr -n user.binary -v 0x00ff10 link-target.txt
setfattr -n user.empty link-target.txt 2>/dev/null || true
setfattr -n user.comment -v "on a dir" nested
setfattr -n user.big -v "$(head -c 2000 /dev/zero | tr '\0' 'x')" big.bin

# mtimes to the nanosecond, distinct per entry, children before parents
python3 - "$SRC" <<'EOF'
import os, sys
root = os.fsencode(sys.argv[1])
t = 1_000_000_000 * 1_500_000_000 + 123_456_789
for dirpath, dirnames, filenames in os.walk(root, topdown=False):
    for name in filenames + dirnames:
        t += 1_000_000_007
        os.utime(os.path.join(dirpath, name), ns=(t, t), follow_symlinks=False)
t += 1_000_000_007
os.utime(root, ns=(t, t))
EOF
chmod 750 "$SRC"
cd /

step "backup"
new_repo "$W/repo"
backup_json "$SRC"
[[ -n "$SNAP" ]] || fail "no snapshot id in the summary: $SUMMARY"
assert_eq 0 "$(jget "$SUMMARY" 'j["errors"]')" "errors in the backup summary"

step "restore reproduces the tree exactly"
restore_check "$SNAP" "$SRC"
target=$RESTORED
# The holes are kept: far fewer blocks than 100 MiB would need (at most a
# few chunks around the data are written whole).
blocks=$(stat -c %b "$target$SRC/sparse-middle")
assert_lt "$blocks" $((100 * 2048 / 4)) "allocated 512-byte blocks of the restored 100 MiB sparse file"
# Hardlinks are hardlinks again.
assert_eq "$(stat -c %i "$target$SRC/hard1")" "$(stat -c %i "$target$SRC/nested/hard3")" \
  "inode of hard1 and nested/hard3"
assert_eq 3 "$(stat -c %h "$target$SRC/hard1")" "link count of hard1"
if ((have_devices)); then
  assert_eq "1,3" "$(stat -c '%Hr,%Lr' "$target$SRC/char-dev")" "char device numbers"
fi

step "restore by 'latest' and with --verify"
target2=$W/restore-verify
expect_ok lb restore latest --target "$target2" --verify
assert_trees_equal "$SRC" "$target2$SRC"

step "restore refuses a non-empty target"
mkdir -p "$W/nonempty" && echo x >"$W/nonempty/keep"
expect_fail lb restore latest --target "$W/nonempty"
assert_eq "x" "$(cat "$W/nonempty/keep")" "file in the refused target"
assert_eq "keep" "$(ls -A "$W/nonempty")" "contents of the refused target"

step "dump of single files returns their bytes"
lb dump latest "$SRC/big.bin" >"$W/big.dump" || fail "dump of big.bin failed"
assert_files_equal "$SRC/big.bin" "$W/big.dump"
lb dump latest "$SRC/empty-file" >"$W/empty.dump" || fail "dump of empty-file failed"
assert_eq 0 "$(stat -c %s "$W/empty.dump")" "size of dumped empty file"
lb dump "$SNAP" "$SRC/"$'\xff\xfe' >"$W/ff.dump" || fail "dump of a non-UTF-8 name failed"
assert_files_equal "$SRC/"$'\xff\xfe' "$W/ff.dump"
lb dump latest "$SRC/sparse-middle" >"$W/sparse.dump" || fail "dump of sparse-middle failed"
assert_files_equal "$SRC/sparse-middle" "$W/sparse.dump"
rm -f "$W/big.dump" "$W/sparse.dump"
expect_fail lb dump latest "$SRC/no-such-file"

step "dump of a folder is a tar that extracts to the same tree"
lb dump latest "$SRC" >"$W/src.tar" || fail "dump of the folder failed"
mkdir "$W/untar"
tar -x --xattrs --xattrs-include='*' --numeric-owner --same-owner -p \
  -f "$W/src.tar" -C "$W/untar" || fail "tar could not extract the dump"
rm -f "$W/src.tar"
# tar does not recreate holes from a plain stream: no block comparison.
assert_trees_equal "$SRC" "$W/untar${SRC}" --no-blocks

step "a sub-folder dumps on its own"
lb dump latest "$SRC/nested" | tar -t >"$W/list" || fail "dump of nested/ is not a tar"
assert_contains "$(cat "$W/list")" "nested/a/b/c/d/file.txt" "tar listing of nested/"
assert_not_contains "$(cat "$W/list")" "big.bin" "tar listing of nested/"

step "incremental backups keep xattrs right: reused while the inode is unchanged, read again after --no-xattrs"
source_xattrs() {  # source_info.xattrs of snapshot $1 ("" if absent)
  local j
  j=$(snapshots_json)
  jget "$j" '[s for s in j if s["id"] == "'"$1"'"][0].get("source_info", {}).get("xattrs", "")'
}
assert_eq "true" "$(source_xattrs "$SNAP")" "source_info.xattrs of a backup with xattrs"
# Changing or removing an xattr moves ctime, so the next backup reads it.
setfattr -n user.x -v changed "$SRC/link-target.txt"
setfattr -x user.comment "$SRC/nested"
backup_json "$SRC"
assert_eq 0 "$(jget "$SUMMARY" 'j["errors"]')" "errors in the second backup"
restore_check "$SNAP" "$SRC"
assert_eq "changed" "$(getfattr --only-values -n user.x "$RESTORED$SRC/link-target.txt")" \
  "restored user.x after the change"
assert_eq "y" "$(getfattr --only-values -n user.x "$target$SRC/link-target.txt")" \
  "user.x in the first snapshot's restore"
# A parent made with --no-xattrs holds none: the next backup must read them
# all again rather than take the parent's empty lists.
backup_json --no-xattrs "$SRC"
assert_eq "" "$(source_xattrs "$SNAP")" "source_info.xattrs of a --no-xattrs backup"
backup_json "$SRC"
restore_check "$SNAP" "$SRC"
