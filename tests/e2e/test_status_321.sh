#!/usr/bin/env bash
# lifeboat status --rule 3-2-1 across local repositories.
#   - init --media/--site are stored and shown; a bad media is refused;
#   - one on-site disk repository: the rule fails, naming all three gaps;
#   - a `lifeboat copy` into an off-site "object" repository: the rule holds
#     (live data + 2 copies, media disk + object, one off-site), exit 0;
#   - a newer backup in A only: the rule fails again (B has only an older
#     snapshot), exit 1; --json says the same;
#   - an unreadable repository makes the status fail and is named.
# Copies are recognised by host + paths + time (what `lifeboat copy` keeps).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

A=$W/repo-a
B=$W/repo-b
SRC=$W/src
mkdir -p "$SRC/app"
seq 1 20000 >"$SRC/app/data.txt"
echo one >"$SRC/app/version"

step "init with media and site"
use_repo "$A"
expect_ok "$LIFEBOAT" init
assert_contains "$OUT" "media disk, site onsite" "init output of A"
use_repo "$B"
expect_fail "$LIFEBOAT" init --media floppy
expect_ok "$LIFEBOAT" --json init --media object --site hetzner-fsn1
assert_eq object "$(jget "$OUT" 'j["media"]')" "media of B"
assert_eq hetzner-fsn1 "$(jget "$OUT" 'j["site"]')" "site of B"

step "one on-site disk repository: 3-2-1 fails and says why"
use_repo "$A"
backup_json "$SRC"
first=$SNAP
expect_rc 1 "$LIFEBOAT" status --rule 3-2-1 --repo "$A"
assert_contains "$OUT" "live data on the server counts as copy 1" "counting statement"
assert_contains "$OUT" "only 1 copy off the server; need 1 more" "status output"
assert_contains "$OUT" "all copies on media 'disk'" "status output"
assert_contains "$OUT" "no copy off-site" "status output"
# The global --repo is used when status has none of its own.
expect_rc 1 "$LIFEBOAT" status

step "copy A → B (off-site object storage): 3-2-1 holds"
LIFEBOAT_REPOSITORY=$B LIFEBOAT_FROM_PASSWORD=$PASSWORD expect_ok "$LIFEBOAT" copy --from-repo "$A"
expect_ok "$LIFEBOAT" status --rule 3-2-1 --repo "$A" --repo "$B"
assert_contains "$OUT" "copies:   3" "status output"
assert_contains "$OUT" "media:    disk, object" "status output"
assert_contains "$OUT" "3-2-1:    OK" "status output"
expect_ok "$LIFEBOAT" --json status --repo "$A" --repo "$B"
assert_json_lines "$OUT"
assert_eq true "$(jget "$OUT" 'j["ok"]')" "json ok"
assert_eq 1 "$(jget "$OUT" 'len(j["sources"])')" "json sources"
assert_eq 3 "$(jget "$OUT" 'j["sources"][0]["copies"]')" "json copies"
assert_eq "$first" "$(jget "$OUT" 'j["sources"][0]["latest_id"]')" "json latest id"
assert_eq "[\"$B\"]" "$(jget "$OUT" 'j["sources"][0]["offsite"]')" "json offsite"

step "a newer backup only in A: fails again, B is behind"
echo two >"$SRC/app/version"
backup_json "$SRC"
expect_rc 1 "$LIFEBOAT" status --repo "$A" --repo "$B"
assert_contains "$OUT" "has only an older snapshot" "status output"
assert_contains "$OUT" "only 1 copy off the server; need 1 more" "status output"
assert_contains "$OUT" "no copy off-site" "status output"
expect_rc 1 "$LIFEBOAT" --json status --repo "$A" --repo "$B"
assert_eq false "$(jget "$OUT" 'j["ok"]')" "json ok"
assert_eq 2 "$(jget "$OUT" 'j["sources"][0]["copies"]')" "json copies"
LIFEBOAT_REPOSITORY=$B LIFEBOAT_FROM_PASSWORD=$PASSWORD expect_ok "$LIFEBOAT" copy --from-repo "$A"
expect_ok "$LIFEBOAT" status --repo "$A" --repo "$B"

step "an unreadable repository fails the status and is named"
expect_rc 1 "$LIFEBOAT" status --repo "$A" --repo "$B" --repo "$W/missing"
assert_contains "$ERR" "$W/missing" "error output"
assert_contains "$OUT" "UNREADABLE" "status output"
