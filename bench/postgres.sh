#!/usr/bin/env bash
# bench/postgres.sh: PostgreSQL backup and recovery, lifeboat beside
# pgBackRest (Debian package) on the same cluster, in one run.
#
# A throw-away PostgreSQL 15 cluster (tests/servers/postgres/pg.sh) filled by
# `pgbench -i -s $PGBENCH_SCALE` archives its WAL to both tools
# (archive_command runs lifeboat's archive-push, then pgBackRest's). Per run:
#   base      a full base backup (lifeboat backup postgres; pgbackrest
#             --type=full backup), wall/CPU/peak memory, repository size;
#   second    after `pgbench -T $PGBENCH_SECONDS` of writes, lifeboat's next
#             base backup (deduplicated) beside pgBackRest's incremental one;
#   recover   time to a recovered, query-ready server: restore of the newest
#             backup, replay of the archived WAL to the end, start, first
#             successful query (lifeboat restore postgres --to-end --start;
#             pgbackrest restore + pg_ctl start + the same wait).
# Odd runs time lifeboat first, even runs pgBackRest first; before every
# timed step the page cache is dropped, 3 GiB of memory touched once and the
# inputs re-read (warm_up: this VM's first-touch memory cost otherwise lands
# on whichever tool runs first). The recovered clusters are checked: pgbench_accounts' row count and sum of
# balances equal the source's.
# Writes bench/out/pg-<timestamp>/ and the table between
# <!-- bench-pg:begin --> / <!-- bench-pg:end --> in docs/BENCHMARKS.md.
#
#   PGBENCH_SCALE=50 RUNS=3 bash bench/postgres.sh     (run as root)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBENCH_SCALE=${PGBENCH_SCALE:-50}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-10}
RUNS=${RUNS:-3}
LIFEBOAT=${LIFEBOAT:-$ROOT/build-release/src/cli/lifeboat}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out/pg-$(date +%Y%m%d-%H%M%S)}
DOCS=${DOCS:-$ROOT/docs/BENCHMARKS.md}
UPDATE_DOCS=${UPDATE_DOCS:-1}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${WORK:-/var/tmp/lifeboat-bench-pg}

say() { printf '[bench-pg %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the cluster and both tools run as the postgres user)"
command -v pgbackrest >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbackrest >/dev/null
[ -x "$LIFEBOAT" ] || die "$LIFEBOAT not found (cmake --build build-release --target lifeboat)"
[ -x /usr/bin/time ] || die "/usr/bin/time is required (package 'time')"
[ -x "$PGBIN/pgbench" ] || die "pgbench not found in $PGBIN"

as_pg() { runuser -u postgres -- "$@"; }
rm -rf "$WORK"
mkdir -p "$WORK" "$OUT_DIR/log"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
chown postgres: "$WORK"
# The binary must be readable by postgres (the archive_command runs as it).
cp "$LIFEBOAT" "$WORK/lifeboat" && chmod 755 "$WORK/lifeboat" && LB=$WORK/lifeboat
# restore postgres uses lifeboat-wal-get as restore_command when it is beside
# the binary (as installed).
if [ -x "$(dirname "$LIFEBOAT")/lifeboat-wal-get" ]; then
  cp "$(dirname "$LIFEBOAT")/lifeboat-wal-get" "$WORK/" && chmod 755 "$WORK/lifeboat-wal-get"
fi

LREPO=$WORK/lifeboat-repo
PW=$WORK/password
BR_DIR=$WORK/pgbr
as_pg sh -c "umask 077; printf 'bench-password-not-secret\n' > '$PW'"
as_pg mkdir -p "$LREPO" "$BR_DIR"/{repo,log,lock,spool}
lb() { as_pg "$LB" --repo "$LREPO" --password-file "$PW" "$@"; }
lb init >/dev/null

PG=$WORK/pg
cleanup() {
  for d in "$WORK"/restored-*; do
    [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
  done
  bash "$ROOT/tests/servers/postgres/pg.sh" destroy "$PG" >/dev/null 2>&1 || true
}
trap cleanup EXIT

BRCONF=$BR_DIR/pgbackrest.conf
bash "$ROOT/tests/servers/postgres/pg.sh" start "$PG" "archive_mode = on" \
  "archive_command = '$LB --repo $LREPO --password-file $PW postgres archive-push %p && pgbackrest --config=$BRCONF --stanza=bench archive-push %p'" \
  "max_wal_size = '4GB'" "checkpoint_timeout = '30min'" >"$OUT_DIR/log/pg-start.log" 2>&1 ||
  die "PostgreSQL did not start (log: $OUT_DIR/log/pg-start.log)"
# shellcheck disable=SC1091
. "$PG/env"
printf '%s\n' "[global]" "repo1-path=$BR_DIR/repo" "repo1-retention-full=100" "log-path=$BR_DIR/log" \
  "lock-path=$BR_DIR/lock" "spool-path=$BR_DIR/spool" "start-fast=y" "compress-type=zst" \
  "process-max=2" "[bench]" "pg1-path=$PGDATA" "pg1-port=$PGPORT" "pg1-socket-path=$PG/sock" \
  "pg1-user=postgres" | as_pg tee "$BRCONF" >/dev/null
br() { as_pg pgbackrest --config="$BRCONF" --stanza=bench "$@"; }
br stanza-create >"$OUT_DIR/log/br-stanza.log" 2>&1 || die "pgbackrest stanza-create failed"

psql_p() { as_pg "$PGBIN/psql" -X -At -h 127.0.0.1 -U postgres -p "$1" -c "$2"; }
say "pgbench -i -s $PGBENCH_SCALE"
as_pg "$PGBIN/pgbench" -i -q -s "$PGBENCH_SCALE" -h 127.0.0.1 -p "$PGPORT" -U postgres postgres \
  >"$OUT_DIR/log/pgbench-init.log" 2>&1 || die "pgbench -i failed"
db_bytes=$(psql_p "$PGPORT" "select sum(pg_database_size(oid)) from pg_database")
say "cluster: $((db_bytes / 1048576)) MiB of databases"

: >"$OUT_DIR/results.tsv"
timed() {  # TOOL PHASE RUN CMD...
  local tool=$1 phase=$2 run=$3
  shift 3
  local tf="$OUT_DIR/log/$tool.$phase.$run.time" lf="$OUT_DIR/log/$tool.$phase.$run.log"
  local st=ok wall user sys rss
  if ! /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" </dev/null >"$lf" 2>&1; then
    st=FAILED
    say "$tool $phase run $run FAILED (log: $lf)"
    tail -n 5 "$lf" >&2 || true
  fi
  read -r wall user sys rss < <(tail -n 1 "$tf")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$phase" "$run" "$wall" "$user" "$sys" "$rss" "$st" \
    >>"$OUT_DIR/results.tsv"
  say "$tool $phase run $run: $wall s wall, $user+$sys s cpu, $((rss / 1024)) MB peak"
  [ "$st" = ok ]
}
size_of() { du -sb "$1" | cut -f1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fingerprint() { psql_p "$1" "select count(*) || ' ' || sum(abalance) from pgbench_accounts"; }
# Before every timed step (../shared/BENCHMARKING.md, "first-touch memory"):
# this VM hands idle memory back to its host and the first write into such
# memory costs ~4 s of kernel time per GiB, so whichever tool ran first paid
# for it. Free the page cache, touch 3 GiB once, then re-read what the step
# reads (both repositories, the cluster) so that every step starts warm.
warm_up() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  dd if=/dev/zero of="$WORK/scratch" bs=1M count=3072 status=none
  rm -f "$WORK/scratch"
  find "$@" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true
}

# Switches to a new WAL segment and waits until the archiver has stored the
# old one: a base backup ends by waiting for its last segment to be archived,
# and the first backup after pgbench would otherwise wait for the backlog.
wait_archived() {
  local last done_wal
  last=$(psql_p "$PGPORT" "select pg_walfile_name(pg_switch_wal())")
  for _ in $(seq 1 1200); do
    done_wal=$(psql_p "$PGPORT" "select coalesce(last_archived_wal, '') from pg_stat_archiver")
    [[ $done_wal > "$last" || $done_wal == "$last" ]] && return 0
    sleep 0.1
  done
  die "WAL segment $last not archived in 120 s"
}
# Waits until the server on PORT is out of recovery and answers a query.
wait_ready() {
  local port=$1
  for _ in $(seq 1 6000); do
    [ "$(psql_p "$port" 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && return 0
    sleep 0.05
  done
  return 1
}
# pgBackRest's recovery, timed as one command like lifeboat's --start.
br_recover() {  # DIR PORT
  br --pg1-path="$1" --type=default --archive-mode=off restore &&
    as_pg "$PGBIN/pg_ctl" -D "$1" -l "$1.log" -o "-p $2 -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" \
      -w -t 600 start >/dev/null &&
    wait_ready "$2"
}
export -f br br_recover wait_ready psql_p as_pg
export BRCONF PGBIN

# One backup by each tool, in the order of ${tools[@]}: PHASE, pgBackRest's --type.
backup_phase() {
  local phase=$1 type=$2 tool
  for tool in "${tools[@]}"; do
    warm_up "$PGDATA" "$LREPO" "$BR_DIR/repo"
    # Both tools ask for an immediate checkpoint and wait for their last WAL
    # segment to be archived; the first after pgbench would otherwise pay
    # for flushing its writes and for the archiver's backlog.
    psql_p "$PGPORT" checkpoint >/dev/null
    wait_archived
    if [ $tool = lifeboat ]; then
      timed lifeboat "$phase" "$run" runuser -u postgres -- "$LB" --repo "$LREPO" --password-file "$PW" \
        backup postgres --tag bench || die "lifeboat $phase backup failed"
    else
      timed pgbackrest "$phase" "$run" runuser -u postgres -- pgbackrest --config="$BRCONF" --stanza=bench \
        --type="$type" backup || die "pgbackrest $phase backup failed"
    fi
  done
}

: >"$OUT_DIR/sizes.tsv" >"$OUT_DIR/verify.tsv"
for run in $(seq "$RUNS"); do
  say "run $run"
  # Full base backups (both see the same cluster); odd runs lifeboat first,
  # even runs pgBackRest first.
  tools=(lifeboat pgbackrest)
  ((run % 2)) || tools=(pgbackrest lifeboat)
  lsize0=$(size_of "$LREPO"); bsize0=$(size_of "$BR_DIR/repo")
  backup_phase base full
  lsize1=$(size_of "$LREPO"); bsize1=$(size_of "$BR_DIR/repo")
  printf 'lifeboat\tbase\t%s\t%s\n' "$run" $((lsize1 - lsize0)) >>"$OUT_DIR/sizes.tsv"
  printf 'pgbackrest\tbase\t%s\t%s\n' "$run" $((bsize1 - bsize0)) >>"$OUT_DIR/sizes.tsv"

  as_pg "$PGBIN/pgbench" -T "$PGBENCH_SECONDS" -c 2 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres \
    >"$OUT_DIR/log/pgbench-run.$run.log" 2>&1 || die "pgbench run failed"
  backup_phase second incr
  lsize2=$(size_of "$LREPO"); bsize2=$(size_of "$BR_DIR/repo")
  printf 'lifeboat\tsecond\t%s\t%s\n' "$run" $((lsize2 - lsize1)) >>"$OUT_DIR/sizes.tsv"
  printf 'pgbackrest\tsecond\t%s\t%s\n' "$run" $((bsize2 - bsize1)) >>"$OUT_DIR/sizes.tsv"

  # A little more WAL after the last backup, archived by both, then recover.
  as_pg "$PGBIN/pgbench" -T 2 -c 2 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres >/dev/null 2>&1
  wait_archived
  want=$(fingerprint "$PGPORT")
  for tool in "${tools[@]}"; do
    dir=$WORK/restored-$tool-$run
    port=$(free_port)
    install -d -m 700 -o postgres -g postgres "$dir"
    warm_up "$LREPO" "$BR_DIR/repo"
    if [ $tool = lifeboat ]; then
      timed lifeboat recover "$run" runuser -u postgres -- "$LB" --repo "$LREPO" --password-file "$PW" restore postgres latest \
        --target "$dir" --force --to-end --start --port "$port" || die "lifeboat recovery failed"
    else
      timed pgbackrest recover "$run" bash -c "br_recover '$dir' '$port'" || die "pgbackrest recovery failed"
    fi
    got=$(fingerprint "$port")
    if [ "$got" = "$want" ]; then st=ok; else st="MISMATCH ($got vs $want)"; fi
    printf '%s\t%s\t%s\n' "$tool" "$run" "$st" >>"$OUT_DIR/verify.tsv"
    [ "$st" = ok ] || say "$tool run $run: recovered cluster differs: $st"
    as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir" "$dir.log"
  done
done

python3 - "$OUT_DIR" "$db_bytes" "$PGBENCH_SCALE" "$RUNS" "$DOCS" "$UPDATE_DOCS" <<'EOF'
import statistics, sys, time
out, db_bytes, scale, runs, docs, update = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
res = {}
for line in open(f"{out}/results.tsv"):
    tool, phase, run, wall, user, sys_, rss, st = line.rstrip("\n").split("\t")
    if st == "ok":
        res.setdefault((tool, phase), []).append((float(wall), float(user) + float(sys_), int(rss) // 1024))
sizes = {}
for line in open(f"{out}/sizes.tsv"):
    tool, phase, run, b = line.split("\t")
    sizes.setdefault((tool, phase), []).append(int(b))
ver = [l.split("\t")[2].strip() for l in open(f"{out}/verify.tsv")]
med = lambda xs: statistics.median(xs) if xs else float("nan")
rows = []
names = {"base": "full base backup", "second": "next backup after pgbench writes (lifeboat: deduplicated base backup; pgBackRest: incremental)",
         "recover": "restore + replay to the end + start, until a query answers"}
for phase in ("base", "second", "recover"):
    l, b = res.get(("lifeboat", phase), []), res.get(("pgbackrest", phase), [])
    lw, bw = med([x[0] for x in l]), med([x[0] for x in b])
    ls, bs = med(sizes.get(("lifeboat", phase), [])), med(sizes.get(("pgbackrest", phase), []))
    size = "" if phase == "recover" else f"{bs/1048576:.0f} MiB | {ls/1048576:.0f} MiB"
    if phase == "recover": size = "– | –"
    rows.append(f"| {names[phase]} | {bw:.2f} s | {lw:.2f} s | {bw/lw:.2f}x | {med([x[1] for x in b]):.1f} s | {med([x[1] for x in l]):.1f} s | {max([x[2] for x in b] or [0])} MB | {max([x[2] for x in l] or [0])} MB | {size} |")
stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
text = f"""Run {stamp} (`bash bench/postgres.sh`, PGBENCH_SCALE={scale}, median of {runs} runs).

PostgreSQL 15 cluster from `pgbench -i -s {scale}` ({db_bytes/1048576:.0f} MiB of databases) on 127.0.0.1, pgBackRest 2.45 (zstd, process-max=2) and lifeboat on the same cluster, both archiving its WAL.

| phase | pgBackRest wall | lifeboat wall | pgBackRest ÷ lifeboat | pgBackRest CPU | lifeboat CPU | pgBackRest peak RSS | lifeboat peak RSS | added to repo: pgBackRest \\| lifeboat |
|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

Recovered clusters checked (row count and sum of balances of pgbench_accounts equal the source's): {", ".join(sorted(set(ver)))}.
"""
print(text)
if update == "1":
    s = open(docs).read()
    b, e = "<!-- bench-pg:begin -->", "<!-- bench-pg:end -->"
    if b in s:
        s = s[: s.index(b) + len(b)] + "\n" + text + s[s.index(e):]
    else:
        s += f"\n## PostgreSQL: lifeboat beside pgBackRest\n\n{b}\n{text}{e}\n"
    open(docs, "w").write(s)
EOF
say "done: $OUT_DIR"
