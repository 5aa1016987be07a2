#!/usr/bin/env bash
# backup redis / restore redis against a real redis-server
# (tests/servers/redis/redis.sh) with a password: keys of every common type
# and a large value; the restored dump.rdb, loaded by a second server, has
# the same DEBUG DIGEST and the same values; the password never shows.
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || skip "redis-server not installed"
command -v redis-cli >/dev/null || skip "redis-cli (redis-tools) not installed"
REDIS_SH="$E2E_DIR/../servers/redis/redis.sh"

export REDIS_TEST_PASSWORD="redis-pw-$RANDOM-s3cret"
PORT=$(bash "$REDIS_SH" start "$W/redis1")
add_cleanup "bash '$REDIS_SH' stop '$W/redis1'"
rc() { REDISCLI_AUTH=$REDIS_TEST_PASSWORD redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

step "keys of several types on port $PORT"
for i in $(seq 1 500); do echo "SET str:$i value-$i"; done | rc "$PORT" >/dev/null
rc "$PORT" HSET user:1 name alice email alice@example.org visits 42 >/dev/null
rc "$PORT" RPUSH queue a b c d e f >/dev/null
rc "$PORT" SADD members x y z >/dev/null
rc "$PORT" ZADD board 1 one 2 two 3.5 three >/dev/null
rc "$PORT" SET counter 12345 >/dev/null
rc "$PORT" SET ttl-key expiring EX 100000 >/dev/null
head -c 3000000 /dev/urandom | base64 -w0 >"$W/large"
rc "$PORT" -x SET large <"$W/large" >/dev/null
rc "$PORT" SELECT 2 >/dev/null
rc "$PORT" -n 2 SET other-db yes >/dev/null
DIGEST=$(rc "$PORT" DEBUG DIGEST)
KEYS=$(( $(rc "$PORT" DBSIZE) + $(rc "$PORT" -n 2 DBSIZE) ))

new_repo "$W/repo"

step "a wrong password fails clearly, before anything is stored"
N0=$(jget "$(snapshots_json)" 'len(j)')
expect_fail env REDISCLI_AUTH=wrong-password "$LIFEBOAT" backup redis --port "$PORT"
assert_matches "$ERR" "WRONGPASS|NOAUTH|invalid|denied"
expect_fail "$LIFEBOAT" backup redis --port "$PORT"
assert_eq "$N0" "$(jget "$(snapshots_json)" 'len(j)')" "no snapshot"

step "backup redis (password from REDISCLI_AUTH)"
export REDISCLI_AUTH=$REDIS_TEST_PASSWORD
backup_json redis --port "$PORT" --tag cache
unset REDISCLI_AUTH
S1=$SNAP
J=$(snapshots_json --tag cache)
sel='[s for s in j if s["id"] == "'"$S1"'"][0]'
assert_eq "redis" "$(jget "$J" "$sel"'["source"]')" "source"
assert_eq "127.0.0.1:$PORT" "$(jget "$J" "$sel"'["source_info"]["server"]')" "server"
assert_matches "$(jget "$J" "$sel"'["source_info"]["redis_version"]')" '^[0-9]+\.'
assert_eq "$KEYS" "$(jget "$J" "$sel"'["source_info"]["keys"]')" "keys"

step "backup redis (password from --redis-password-file)"
( umask 077; printf '%s\n' "$REDIS_TEST_PASSWORD" >"$W/redis.pw" )
backup_json redis --port "$PORT" --redis-password-file "$W/redis.pw"

step "restore redis and load it into a second server"
expect_ok "$LIFEBOAT" restore redis "$S1" --target "$W/redis2"
assert_contains "$OUT" "${S1:0:8}"
assert_contains "$OUT" "$W/redis2/dump.rdb"
head -c 5 "$W/redis2/dump.rdb" | grep -q REDIS || fail "no RDB magic"
PORT2=$(REDIS_TEST_PASSWORD= bash "$REDIS_SH" start "$W/redis2")
add_cleanup "bash '$REDIS_SH' stop '$W/redis2'"
r2() { redis-cli -h 127.0.0.1 -p "$PORT2" "$@"; }
assert_eq "$DIGEST" "$(r2 DEBUG DIGEST)" "DEBUG DIGEST of the restored server"
assert_eq "$(rc "$PORT" DBSIZE)" "$(r2 DBSIZE)" "DBSIZE"
assert_eq "value-321" "$(r2 GET str:321)" "a string"
assert_eq "$(rc "$PORT" HGETALL user:1)" "$(r2 HGETALL user:1)" "a hash"
assert_eq "$(rc "$PORT" LRANGE queue 0 -1)" "$(r2 LRANGE queue 0 -1)" "a list"
assert_eq "$(rc "$PORT" SMEMBERS members | sort)" "$(r2 SMEMBERS members | sort)" "a set"
assert_eq "$(rc "$PORT" ZRANGE board 0 -1 WITHSCORES)" "$(r2 ZRANGE board 0 -1 WITHSCORES)" "a sorted set"
assert_eq "$(sha256sum <"$W/large" | cut -c1-64)" "$(r2 GET large | tr -d '\n' | sha256sum | cut -c1-64)" "the large value"
assert_eq "yes" "$(r2 -n 2 GET other-db)" "a key in db 2"
assert_lt 0 "$(r2 TTL ttl-key)" "the TTL survives"

step "an existing dump.rdb is refused; --force replaces it"
expect_fail "$LIFEBOAT" restore redis latest --target "$W/redis2"
assert_contains "$ERR" "exists"
expect_ok "$LIFEBOAT" restore redis latest --target "$W/redis2" --force
expect_ok "$LIFEBOAT" restore redis "$S1" --target "$W/redis3"
cmp <(lb dump "$S1" /dump.rdb) "$W/redis3/dump.rdb" || fail "restored file differs from dump"

step "the password never shows"
assert_not_contains "$(cat "$W/.transcript")" "$REDIS_TEST_PASSWORD" "everything lifeboat printed"
assert_not_contains "$(snapshots_json)" "$REDIS_TEST_PASSWORD" "snapshots --json"
