#!/usr/bin/env bash
# End-to-end: the command-line contract. Passwords (sources, wrong, missing,
# never printed), --json everywhere, snapshot filters, excludes, --dry-run,
# --stdin + dump, exit code 3 for unreadable files, the key life cycle, ls,
# diff and stats.
source "$(dirname "$0")/lib.sh"

PASSWORD='pw-Zq8sEcReT-first'
PW2='pw-Zq8sEcReT-second'
PW3='pw-Zq8sEcReT-third'
REPO=$W/repo

SRC=$W/src
mkdir -p "$SRC/app/logs" "$SRC/app/cache" "$SRC/app/tmp" "$SRC/marked/inner" "$SRC/uploads"
echo "config" >"$SRC/app/config.yml"
echo "log line" >"$SRC/app/logs/app.log"
echo "keep me" >"$SRC/app/logs/keep.txt"
echo "big temp" >"$SRC/app/tmp/BIG.TMP"
echo "small temp" >"$SRC/app/tmp/small.tmp"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# cache\n' >"$SRC/app/cache/CACHEDIR.TAG"
echo "cached" >"$SRC/app/cache/blob"
touch "$SRC/marked/.nobackup"
echo "secret-in-marked" >"$SRC/marked/inner/data"
echo "photo" >"$SRC/uploads/a.jpg"
echo "skip by file" >"$SRC/uploads/b.bak"

step "init: creates, refuses a second time, --json parses"
use_repo "$REPO"
expect_ok lb --json init
assert_json_lines "$OUT"
assert_eq initialized "$(jget "$OUT" 'j["message_type"]')" "init --json message_type"
for f in config keys data index snapshots locks; do assert_exists "$REPO/$f"; done
before=$(repo_listing "$REPO")
expect_rc 1 lb init
assert_matches "$ERR" '^lifeboat: ' "stderr of a second init"
assert_eq "$before" "$(repo_listing "$REPO")" "repository after a refused second init"

step "no repository given"
unset LIFEBOAT_REPOSITORY
expect_rc 1 lb snapshots
assert_matches "$ERR" 'repository' "error without a repository"
assert_matches "$ERR" '^hint: ' "hint without a repository"
export LIFEBOAT_REPOSITORY=$REPO
expect_rc 1 lb -r "$W/does-not-exist" snapshots
assert_matches "$ERR" '^lifeboat: ' "error for a missing repository"

step "wrong password: exit 1, says so"
LIFEBOAT_PASSWORD=wrong-password expect_rc 1 lb snapshots
assert_matches "$ERR" 'wrong password' "error for a wrong password"
LIFEBOAT_PASSWORD=wrong-password expect_rc 1 lb --json snapshots
assert_json_lines "$ERR"
assert_eq error "$(jget "$ERR" 'j["message_type"]')" "--json error on stderr"

step "no password and no terminal: a clear error"
expect_rc 1 env -u LIFEBOAT_PASSWORD setsid -w "$LIFEBOAT" snapshots </dev/null
assert_matches "$ERR" 'password' "error without a password"
assert_matches "$ERR" '^hint: .*(LIFEBOAT_PASSWORD|password-file)' "hint without a password"

step "--password-file, LIFEBOAT_PASSWORD_FILE and --password-command"
printf '%s\n' "$PASSWORD" >"$W/pwfile"
chmod 600 "$W/pwfile"
expect_ok env -u LIFEBOAT_PASSWORD "$LIFEBOAT" --password-file "$W/pwfile" snapshots
expect_ok env -u LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_FILE="$W/pwfile" "$LIFEBOAT" snapshots
expect_ok env -u LIFEBOAT_PASSWORD "$LIFEBOAT" --password-command "cat '$W/pwfile'" snapshots
expect_rc 1 env -u LIFEBOAT_PASSWORD "$LIFEBOAT" --password-command "false" snapshots
assert_matches "$ERR" 'password-command' "error of a failing --password-command"
expect_rc 1 env -u LIFEBOAT_PASSWORD "$LIFEBOAT" --password-file "$W/no-such-file" snapshots
assert_matches "$ERR" 'password file' "error of a missing --password-file"

step "an option's value does not swallow the paths after it"
# restic order: options, then paths. Each --tag/--exclude takes one value.
expect_ok lb backup --dry-run --tag x "$SRC/uploads"
expect_ok lb backup --dry-run --exclude '*.log' "$SRC/uploads"
expect_ok lb backup --dry-run --exclude-if-present .nobackup "$SRC/uploads"

step "backup with excludes"
printf '# comment\n\n*.bak\n' >"$W/excludes.txt"
backup_json --host web1 --tag daily --tag db,files \
  --exclude '*.log' --iexclude '*.tmp' --exclude-file "$W/excludes.txt" \
  --exclude-if-present .nobackup --exclude-caches "$SRC"
S_EXCL=$SNAP
expect_ok lb ls --json "$S_EXCL"
assert_json_lines "$OUT"
listing=$(python3 -c '
import json, sys
for line in sys.argv[1].splitlines():
    j = json.loads(line)
    if "path" in j:
        print(j["path"])' "$OUT")
has() { grep -Fxq -- "$1" <<<"$listing"; }
for p in app/config.yml app/logs/keep.txt uploads/a.jpg; do
  has "$SRC/$p" || fail "$p should be in the snapshot; ls shows:
$listing"
done
for p in app/logs/app.log app/tmp/BIG.TMP app/tmp/small.tmp uploads/b.bak app/cache/blob \
  marked/inner/data marked/inner; do
  has "$SRC/$p" && fail "$p should have been excluded; ls shows:
$listing"
done

step "backup --dry-run writes nothing"
echo "new data" >"$SRC/uploads/new.jpg"
before=$(repo_listing "$REPO")
backup_json --dry-run "$SRC"
assert_eq "" "$SNAP" "snapshot id of a dry run"
assert_eq true "$(jget "$SUMMARY" 'j["dry_run"]')" "dry_run in the summary"
[[ $(jget "$SUMMARY" 'j["files_new"]') -gt 0 ]] || fail "a dry run should still count new files: $SUMMARY"
assert_eq "$before" "$(repo_listing "$REPO")" "repository listing after backup --dry-run"
expect_ok lb backup --dry-run "$SRC"
assert_matches "$OUT" 'dry run' "human output of a dry run"
assert_eq "$before" "$(repo_listing "$REPO")" "repository listing after backup --dry-run"

step "more snapshots: other host, other path, other tags; -q is quiet"
expect_ok lb backup -q --host web2 --tag weekly "$SRC/uploads"
assert_eq "" "$OUT" "stdout of backup -q"
expect_ok lb backup --host web1 "$SRC/app"
assert_matches "$OUT" 'snapshot [0-9a-f]{8} saved' "human output of backup"

step "snapshots filters by host, tag and path"
count() { jget "$(snapshots_json "$@")" 'len(j)'; }
assert_eq 3 "$(count)" "all snapshots"
assert_eq 2 "$(count --host web1)" "snapshots of host web1"
assert_eq 1 "$(count --host web2)" "snapshots of host web2"
assert_eq 0 "$(count --host nowhere)" "snapshots of an unknown host"
assert_eq 1 "$(count --tag daily)" "snapshots tagged daily"
assert_eq 1 "$(count --tag db)" "snapshots tagged db (from a comma list)"
assert_eq 1 "$(count --tag weekly)" "snapshots tagged weekly"
assert_eq 1 "$(count --path "$SRC/uploads")" "snapshots of the uploads path"
assert_eq 1 "$(count --path "$SRC")" "snapshots of the whole source"
snaps=$(snapshots_json --tag daily)
assert_eq '["daily", "db", "files"]' "$(jget "$snaps" 'sorted(j[0]["tags"])')" "tags of the daily snapshot"
assert_eq web1 "$(jget "$snaps" 'j[0]["hostname"]')" "hostname of the daily snapshot"
assert_eq "[\"$SRC\"]" "$(jget "$snaps" 'j[0]["paths"]')" "paths of the daily snapshot"
for key in id short_id time hostname paths tags tree kind summary; do
  assert_eq True "$(jget "$snaps" "str('$key' in j[0])")" "key $key in snapshots --json"
done
# The flag works before and after the command.
expect_ok lb --json snapshots
assert_json_lines "$OUT"
expect_ok lb snapshots
assert_contains "$OUT" "${S_EXCL:0:8}" "human snapshots listing"

step "backup --stdin and dump"
head -c 3000000 /dev/urandom | base64 >"$W/db.sql"
expect_ok bash -c '"$0" backup --stdin --stdin-filename db.sql <"$1"' "$LIFEBOAT" "$W/db.sql"
lb dump latest /db.sql >"$W/db.dump" || fail "dump latest /db.sql failed"
assert_files_equal "$W/db.sql" "$W/db.dump"
snaps=$(snapshots_json --path /db.sql)
assert_eq 1 "$(jget "$snaps" 'len(j)')" "snapshots of /db.sql"

step "ls and diff show the expected entries; stats prints sizes"
S_A=$(jget "$(snapshots_json --host web2)" 'j[0]["id"]')
echo "changed" >>"$SRC/uploads/a.jpg"
rm "$SRC/uploads/new.jpg"
echo "c" >"$SRC/uploads/c.jpg"
backup_json --host web2 "$SRC/uploads"
S_B=$SNAP
expect_ok lb ls "$S_B" "$SRC/uploads"
assert_contains "$OUT" "$SRC/uploads/c.jpg" "ls of the new snapshot"
assert_not_contains "$OUT" "$SRC/uploads/new.jpg" "ls of the new snapshot"
expect_ok lb ls -l "$S_B"
assert_contains "$OUT" "$SRC/uploads/a.jpg" "ls -l"
assert_matches "$OUT" '-rw-r--r-- +root +root +[0-9]+ .*/uploads/a\.jpg' "ls -l line of a.jpg"
expect_ok lb diff "$S_A" "$S_B"
assert_matches "$OUT" "^\\+ +$SRC/uploads/c\\.jpg\$" "diff: added file"
assert_matches "$OUT" "^- +$SRC/uploads/new\\.jpg\$" "diff: removed file"
assert_matches "$OUT" "^M +$SRC/uploads/a\\.jpg\$" "diff: modified file"
expect_ok lb diff --json "$S_A" "$S_B"
assert_json_lines "$OUT"
assert_contains "$OUT" '"path":"'"$SRC"'/uploads/c.jpg"' "diff --json"
expect_ok lb stats
assert_matches "$OUT" 'restore size' "stats"
assert_matches "$OUT" 'deduplicated size' "stats"
assert_matches "$OUT" 'stored size' "stats"
assert_matches "$OUT" 'compression' "stats"
expect_ok lb stats --json "$S_B"
assert_json_lines "$OUT"
size=$(jget "$OUT" 'j["total_size"]')
assert_eq "$(tree_bytes "$SRC/uploads")" "$size" "stats restore size of the uploads snapshot"
expect_rc 1 lb ls deadbeef
assert_matches "$ERR" '^lifeboat: ' "ls of an unknown snapshot"

step "restore --include, --exclude and ID:PATH"
expect_ok lb restore "$S_EXCL" --target "$W/r-include" --include "$SRC/uploads"
assert_eq "$SRC/uploads/a.jpg" "$(cd "$W/r-include" && find . -type f | cut -c2-)" "files restored with --include"
expect_ok lb restore "$S_EXCL" --target "$W/r-exclude" --exclude '*.yml' --exclude "$SRC/app/logs" \
  --exclude CACHEDIR.TAG --exclude .nobackup
assert_eq "$SRC/uploads/a.jpg" "$(cd "$W/r-exclude" && find . -type f | cut -c2-)" "files restored with --exclude"
# Options before the snapshot argument must not swallow it.
expect_ok lb restore --include "$SRC/uploads" "$S_EXCL" --target "$W/r-include2"
assert_exists "$W/r-include2$SRC/uploads/a.jpg"
expect_ok lb restore "$S_EXCL:$SRC/app" --target "$W/r-sub"
assert_eq "./cache/CACHEDIR.TAG ./config.yml ./logs/keep.txt" "$(cd "$W/r-sub" && find . -type f | sort | tr '\n' ' ' | sed 's/ $//')" \
  "files restored from ID:PATH"

step "check --read-data-subset takes n/m and p%; rejects nonsense"
expect_ok lb check --read-data-subset 1/3
expect_ok lb check --read-data-subset 10%
for bad in 4/3 0/3 abc 150%; do
  expect_rc 1 lb check --read-data-subset "$bad"
  assert_matches "$ERR" '^lifeboat: ' "check --read-data-subset $bad"
done

step "backup paths: missing, relative, crossing a mount with -x"
expect_rc 1 lb backup "$W/no-such-folder"
assert_contains "$ERR" "no-such-folder" "error for a missing path"
expect_ok bash -c 'cd "$1" && "$0" --json backup --host rel uploads' "$LIFEBOAT" "$SRC"
assert_eq "[\"$SRC/uploads\"]" "$(jget "$(snapshots_json --host rel)" 'j[0]["paths"]')" "a relative path is stored absolute"
if [[ $(id -u) -eq 0 ]] && mkdir -p "$W/mnt-src/mnt" && mount -t tmpfs tmpfs "$W/mnt-src/mnt" 2>/dev/null; then
  add_cleanup "umount -l '$W/mnt-src/mnt'"
  echo "inside" >"$W/mnt-src/mnt/inside.txt"
  echo "outside" >"$W/mnt-src/outside.txt"
  expect_ok lb backup -x --host xdev "$W/mnt-src"
  expect_ok lb ls latest
  assert_contains "$OUT" "$W/mnt-src/outside.txt" "ls of a -x backup"
  assert_not_contains "$OUT" "inside.txt" "ls of a -x backup"
  expect_ok lb backup --host xdev "$W/mnt-src"
  expect_ok lb ls latest
  assert_contains "$OUT" "$W/mnt-src/mnt/inside.txt" "ls of a backup without -x"
  umount -l "$W/mnt-src/mnt"
else
  echo "note: cannot mount a tmpfs; not testing --one-file-system"
fi

step "backup --read-concurrency: one reader stores what the default does; 0 is refused"
new_repo "$W/repo-readers"
backup_json --read-concurrency 1 "$SRC"
one=$SNAP
backup_json --full "$SRC"
# Compared with diff, not by tree id: listing a folder may update its atime
# between the two backups.
expect_ok lb diff "$one" "$SNAP"
assert_contains "$OUT" "added: 0 items, removed: 0 items, changed: 0 files" \
  "diff of snapshots made with 1 reader and the default"
expect_fail lb backup --read-concurrency 0 "$SRC"
assert_contains "$ERR" "read-concurrency" "error for --read-concurrency 0"

step "backup --json: files_read_from_disk counts the files the page cache did not hold"
# Written and synced, then dropped from the page cache file by file (only the
# data: the walk's metadata stays cached).
mkdir -p "$W/cold-src"
for i in $(seq 1 40); do head -c 200000 /dev/urandom >"$W/cold-src/f$i"; done
sync
# Drops each file from the page cache and prints how many still have their
# first page in memory (mincore): on tmpfs, or wherever the drop does not
# take, there is nothing to see.
resident=$(python3 - "$W/cold-src" <<'PY'
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
resident = 0
for name in os.listdir(sys.argv[1]):
    fd = os.open(os.path.join(sys.argv[1], name), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    addr = libc.mmap(None, mmap.PAGESIZE, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    vec = (ctypes.c_ubyte * 1)()
    if addr in (None, ctypes.c_void_p(-1).value) or libc.mincore(addr, mmap.PAGESIZE, vec) != 0:
        resident += 1  # cannot tell: count it as cached
    else:
        resident += vec[0] & 1
        libc.munmap(addr, mmap.PAGESIZE)
    os.close(fd)
print(resident)
PY
)
if (( resident <= 10 )); then
  backup_json "$W/cold-src"
  cold=$(jget "$SUMMARY" 'j["files_read_from_disk"]')
  assert_le 20 "$cold" "files_read_from_disk of 40 files dropped from the page cache"
  backup_json --full "$W/cold-src"
  warm=$(jget "$SUMMARY" 'j["files_read_from_disk"]')
  assert_lt "$warm" "$cold" "files_read_from_disk of the same files read again (cached)"
else
  echo "note: $W cannot drop files from the page cache (resident: $resident); not testing files_read_from_disk"
fi
use_repo "$REPO"

step "exit code 3 when a file cannot be read (as a non-root user)"
if [[ $(id -u) -ne 0 ]] || ! setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
  echo "note: cannot switch to user nobody; not testing exit code 3"
else
  NB=$W/nobody
  mkdir -p "$NB/src/locked-dir"
  echo "readable" >"$NB/src/ok.txt"
  echo "unreadable" >"$NB/src/secret.txt"
  echo "hidden" >"$NB/src/locked-dir/x"
  chown -R 65534:65534 "$NB"
  chown 0:0 "$NB/src/secret.txt" "$NB/src/locked-dir"
  chmod 600 "$NB/src/secret.txt"
  chmod 700 "$NB/src/locked-dir"
  as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups \
      env HOME="$NB" LIFEBOAT_REPOSITORY="$NB/repo" LIFEBOAT_PASSWORD="$PASSWORD" "$@"
  }
  expect_ok as_nobody "$LIFEBOAT" init
  expect_rc 3 as_nobody "$LIFEBOAT" backup "$NB/src"
  assert_contains "$ERR" "secret.txt" "stderr of a backup with an unreadable file"
  assert_matches "$OUT" 'snapshot [0-9a-f]{8} saved' "a backup with unreadable files still saves"
  expect_rc 3 as_nobody "$LIFEBOAT" --json backup "$NB/src"
  assert_json_lines "$OUT"
  expect_ok as_nobody "$LIFEBOAT" ls latest
  assert_contains "$OUT" "$NB/src/ok.txt" "ls of the partial snapshot"
  assert_not_contains "$OUT" "$NB/src/secret.txt" "ls of the partial snapshot"
fi

step "key add / list / remove / passwd"
expect_ok lb key list --json
assert_json_lines "$OUT"
assert_eq 1 "$(jget "$OUT" 'len(j)')" "keys at the start"
K1=$(jget "$OUT" 'j[0]["id"]')
assert_eq true "$(jget "$OUT" 'j[0]["current"]')" "the only key is current"
printf '%s\n' "$PW2" >"$W/pw2"
expect_ok lb key add --new-password-file "$W/pw2"
expect_ok lb key list --json
assert_eq 2 "$(jget "$OUT" 'len(j)')" "keys after key add"
K2=$(jget "$OUT" "[k['id'] for k in j if k['id'] != '$K1'][0]")
LIFEBOAT_PASSWORD=$PW2 expect_ok lb snapshots
expect_ok lb key list
assert_contains "$OUT" "${K2:0:8}" "key list"
expect_rc 1 lb key remove "$K1"
assert_matches "$ERR" 'current|in use' "removing the key in use is refused"
LIFEBOAT_PASSWORD=$PW2 expect_ok lb key remove "${K1:0:8}"
expect_rc 1 lb snapshots
assert_matches "$ERR" 'wrong password' "the removed password no longer opens the repository"
export LIFEBOAT_PASSWORD=$PW2
expect_rc 1 lb key remove ffffffffffff
LIFEBOAT_NEW_PASSWORD=$PW3 expect_ok lb key passwd
expect_rc 1 lb snapshots
assert_matches "$ERR" 'wrong password' "the old password after key passwd"
export LIFEBOAT_PASSWORD=$PW3
expect_ok lb key list --json
assert_eq 1 "$(jget "$OUT" 'len(j)')" "keys after key passwd"
expect_ok lb check
backup_json "$SRC/uploads"

step "no command ever printed a password"
for pw in "$PASSWORD" "$PW2" "$PW3" wrong-password; do
  if grep -Fq -- "$pw" "$W/.transcript"; then
    grep -Fn -- "$pw" "$W/.transcript" | head -5 >&2
    fail "a password ($pw) appeared in lifeboat's output"
  fi
done
