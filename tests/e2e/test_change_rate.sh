#!/usr/bin/env bash
# The suspicious-change-rate alert of `run` (issue 6): a files component,
# a few ordinary backups (a file or two changed each time), then every file
# overwritten as ransomware would: that run fires exactly one change_rate
# alert naming the figures; the ordinary runs before and after fire none.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

REPO=$W/repo
PWFILE=$W/password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
expect_ok lb --repo "$REPO" --password-file "$PWFILE" init
DATA=$W/data
mkdir -p "$DATA"
for i in $(seq 1 40); do random_file "$DATA/doc$i.bin" 3000; done

ALERTS=$W/alerts.jsonl
cat >"$W/alert.sh" <<EOS
#!/bin/sh
cat >> '$ALERTS'
echo >> '$ALERTS'
EOS
chmod 0755 "$W/alert.sh"
cat >"$W/app.toml" <<EOF2
[app]
name = "docs"

[[repository]]
name = "onsite"
url = "$REPO"
password_file = "$PWFILE"

[[component]]
name = "docs"
kind = "files"
paths = ["$DATA"]
rpo = "1h"
rto = "5m"
change_alert = { factor = 5, min_files = 10, min_bytes = 50000 }

[alerts]
command = "$W/alert.sh"
EOF2

step "ordinary backups: a file or two changed each time, no alert"
expect_ok lb run --config "$W/app.toml"
for i in 1 2 3 4; do
  random_file "$DATA/doc$i.bin" 3000
  [[ $i == 2 ]] && random_file "$DATA/new$i.bin" 2000
  expect_ok lb run --config "$W/app.toml"
done
assert_not_exists "$ALERTS"

step "every file overwritten: exactly one change_rate alert"
for f in "$DATA"/*.bin; do random_file "$f" 3000; done
expect_ok lb --json run --config "$W/app.toml"
assert_json_lines "$OUT"
assert_contains "$OUT" '"kind":"change_rate"' "run warning"
[[ -s $ALERTS ]] || fail "no alert delivered"
assert_eq 1 "$(grep -c . "$ALERTS")" "alerts"
ALERT=$(grep . "$ALERTS")
assert_eq change_rate "$(jget "$ALERT" 'j["kind"]')" "alert kind"
assert_eq docs "$(jget "$ALERT" 'j["component"]')" "alert component"
assert_eq 41 "$(jget "$ALERT" 'j["details"]["files_changed"]')" "files changed"
assert_eq true "$(jget "$ALERT" 'j["details"]["median_files"] <= 2')" "usual files"
assert_eq 10 "$(jget "$ALERT" 'j["details"]["files_threshold"]')" "threshold"
assert_eq 5 "$(jget "$ALERT" 'j["details"]["history"]')" "history"
assert_contains "$(jget "$ALERT" 'j["message"]')" "41 files changed or new (usual" "alert message"

step "the next ordinary backup fires none"
random_file "$DATA/doc5.bin" 3000
expect_ok lb run --config "$W/app.toml"
assert_eq 1 "$(grep -c . "$ALERTS")" "alerts"
