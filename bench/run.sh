#!/usr/bin/env bash
# bench/run.sh: runs the whole lifeboat / restic / borg comparison in one go.
#
# Installs what is missing (Debian packages), builds lifeboat in Release if its
# binary is missing, generates the datasets, measures the machine's limits,
# then for each tool: initial backup, no-change backup (both also from a
# dropped page cache, when run as root), backup after changing ~5% of the
# files, full restore (+ sync, verified), check reading all data,
# and the 200k-small-files case. Prints a markdown table and writes it into
# docs/BENCHMARKS.md between <!-- bench:begin --> / <!-- bench:end -->.
# Protocol and knobs: bench/README.md. Run as root (drops the page cache).
#
#   BENCH_SCALE=0.02 RUNS=1 TOOLS="restic borg" bash bench/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SCALE=${BENCH_SCALE:-1}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"restic borg lifeboat"}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/data}
SEED=${SEED:-1}
MUTATE_PCT=${MUTATE_PCT:-5}
PHASES=${PHASES:-"limits main small"}
LIFEBOAT=${LIFEBOAT:-$ROOT/build-release/src/cli/lifeboat}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)}
DOCS=${DOCS:-$ROOT/docs/BENCHMARKS.md}
UPDATE_DOCS=${UPDATE_DOCS:-1}
SCRATCH_GIB=${SCRATCH_GIB:-3}
KEEP_REPOS=${KEEP_REPOS:-0}
BORG_ENC=${BORG_ENC:-repokey-blake2}
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password-not-secret}

say() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ------------------------------------------------------------ prerequisites

APT_UPDATED=0
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "cannot install $* (need root and apt-get); install it by hand"
    return 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
    APT_UPDATED=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
[ -x /usr/bin/time ] || missing+=(time)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v tar >/dev/null 2>&1 || missing+=(tar)
for t in $TOOLS; do
  case $t in
    restic) command -v restic >/dev/null 2>&1 || missing+=(restic) ;;
    borg) command -v borg >/dev/null 2>&1 || missing+=(borgbackup) ;;
    lifeboat) ;;
    *) die "unknown tool '$t' in TOOLS (known: restic borg lifeboat)" ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" || say "some packages could not be installed: ${missing[*]}"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required"
[ -x /usr/bin/time ] || die "/usr/bin/time is required (package 'time')"

if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ]; then
  CAN_DROP=1
else
  CAN_DROP=0
  say "WARNING: not root: cannot drop the page cache; figures will be less comparable"
fi

if [[ " $TOOLS " == *" lifeboat "* ]] && [ ! -x "$LIFEBOAT" ] &&
   [ "$LIFEBOAT" = "$ROOT/build-release/src/cli/lifeboat" ]; then
  say "building lifeboat (Release) into $ROOT/build-release"
  if ! { command -v cmake >/dev/null && command -v ninja >/dev/null; }; then
    apt_install cmake ninja-build || true
  fi
  ( cd "$ROOT" &&
    cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DLIFEBOAT_BUILD_TESTS=OFF >/dev/null &&
    cmake --build build-release --target lifeboat -j "$(nproc)" ) ||
    say "building lifeboat failed"
fi

ACTIVE=()
for t in $TOOLS; do
  case $t in
    restic|borg)
      if command -v "$t" >/dev/null 2>&1; then ACTIVE+=("$t")
      else say "skipping $t: binary not found"; fi ;;
    lifeboat)
      if [ -x "$LIFEBOAT" ]; then ACTIVE+=(lifeboat)
      else say "skipping lifeboat: $LIFEBOAT not found"; fi ;;
  esac
done
[ ${#ACTIVE[@]} -gt 0 ] || die "no tool to benchmark"

# restic flags: repository v2 with compression needs restic >= 0.14.
RESTIC_INIT=(init)
RESTIC_GLOBAL=()
if [[ " ${ACTIVE[*]} " == *" restic "* ]]; then
  if restic init --help 2>/dev/null | grep -q -- --repository-version; then
    RESTIC_INIT=(init --repository-version 2)
  else
    say "WARNING: this restic has no --repository-version: v1 repository, no compression"
  fi
  if restic --help 2>/dev/null | grep -q -- --compression; then
    RESTIC_GLOBAL=(--compression auto)
  fi
fi

mkdir -p "$BENCH_DIR" "$OUT_DIR/log"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
OUT_DIR=$(cd "$OUT_DIR" && pwd)
DATA=$BENCH_DIR/webapp
SMALL=$BENCH_DIR/small
REPOS=$BENCH_DIR/repos
CACHE=$BENCH_DIR/cache
TARBALL=$BENCH_DIR/dataset.tar
SMALL_FILES=${SMALL_FILES:-$(python3 -c "print(max(1000, round(200000 * $BENCH_SCALE)))")}

# Scratch file for the first-touch memory warm-up: tmpfs when it has room (no
# disk writes, no slow discards on delete), else the bench directory.
SCRATCH_FILE=$BENCH_DIR/scratch.tmp
if [ -d /dev/shm ]; then
  shm_avail=$(df --output=avail -B1 /dev/shm 2>/dev/null | tail -n 1 || echo 0)
  if [ "${shm_avail:-0}" -gt $(( (SCRATCH_GIB + 1) * 1024 * 1024 * 1024 )) ]; then
    SCRATCH_FILE=/dev/shm/lifeboat-bench-scratch.$$
  fi
fi
cleanup() { rm -f "$SCRATCH_FILE" "$TARBALL" "$BENCH_DIR/fdatasync.tmp"; rm -rf "$BENCH_DIR"/restore.*; }
trap cleanup EXIT

export RESTIC_PASSWORD=$BENCH_PASSWORD BORG_PASSPHRASE=$BENCH_PASSWORD
export LIFEBOAT_PASSWORD=$BENCH_PASSWORD
export RESTIC_CACHE_DIR=$CACHE/restic BORG_BASE_DIR=$CACHE/borg
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_DISPLAY_PASSPHRASE=no

# ------------------------------------------------------------ datasets

gen_sum=$(md5sum "$ROOT/bench/gen_dataset.py" | cut -c1-12)
want="scale=$BENCH_SCALE seed=$SEED gen=$gen_sum"
if [ ! -d "$DATA" ] || [ "$(cat "$DATA.state" 2>/dev/null)" != "$want" ]; then
  say "generating the web app dataset (scale $BENCH_SCALE) into $DATA"
  rm -rf "$DATA" "$DATA.state"
  python3 "$ROOT/bench/gen_dataset.py" "$DATA" --scale "$BENCH_SCALE" --seed "$SEED"
  echo "$want" > "$DATA.state"
fi
if [[ " $PHASES " == *" small "* ]]; then
  want_small="n=$SMALL_FILES seed=$SEED gen=$gen_sum"
  if [ ! -d "$SMALL" ] || [ "$(cat "$SMALL.state" 2>/dev/null)" != "$want_small" ]; then
    say "generating $SMALL_FILES small files into $SMALL"
    rm -rf "$SMALL" "$SMALL.state"
    python3 "$ROOT/bench/gen_dataset.py" "$SMALL" --small-files "$SMALL_FILES" --seed "$SEED"
    echo "$want_small" > "$SMALL.state"
  fi
fi

# ------------------------------------------------------------ helpers

now() { date +%s.%N; }
# secs CMD...: runs CMD, prints its wall time in seconds.
secs() {
  local s e
  s=$(now)
  "$@" || say "limit measurement failed: $*"
  e=$(now)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
read_tree() { tar -cf - "$1" 2>/dev/null | cat >/dev/null || true; }

# median_secs WARM CMD...: CMD timed RUNS times, each after `prepare WARM`
# (the tools' protocol; WARM "" = nothing read back), prints the median. A
# limit measured once swung 20 % between runs (zstd -1 -T2: 2.34-2.82 s).
median_secs() {
  local warm=$1 i ts=()
  shift
  for ((i = 0; i < RUNS; i++)); do
    prepare ${warm:+"$warm"}
    ts+=("$(secs "$@")")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# prepare [PATH...]: the warm-up before every timed run (BENCHMARKING.md):
# free the page cache, write and delete a scratch file so the VM has handed us
# the memory again, then read PATHs back into the cache.
prepare() {
  sync
  if [ "$CAN_DROP" = 1 ]; then echo 3 > /proc/sys/vm/drop_caches; fi
  if [ "$SCRATCH_GIB" -gt 0 ]; then
    dd if=/dev/zero of="$SCRATCH_FILE" bs=1M count=$((SCRATCH_GIB * 1024)) status=none
    rm -f "$SCRATCH_FILE"
  fi
  local p
  for p in "$@"; do [ -e "$p" ] && read_tree "$p"; done
  sync
}

# order RUN: the active tools, rotated by run so no tool always goes first.
order() {
  local r=$1 n=${#ACTIVE[@]} i
  for ((i = 0; i < n; i++)); do echo "${ACTIVE[$(((i + r - 1) % n))]}"; done
}

repo_of() { echo "$REPOS/$1-$2-$3"; }  # TOOL SET RUN

# initial_backup TOOL SET RUN PHASE SRC [WARM...]: a fresh repository, then
# a first backup of SRC timed as PHASE after `prepare WARM...`.
initial_backup() {
  local t=$1 set=$2 r=$3 phase=$4 src=$5 repo
  shift 5
  repo=$(repo_of "$t" "$set" "$r")
  rm -rf "$repo"
  tool_cmd "$t" init "$repo"
  untimed "$t" init "${CMD[@]}" || return 1
  prepare "$@"
  tool_cmd "$t" backup "$repo" "$src" initial
  timed "$t" "$phase" "$r" "${CMD[@]}"
}

# tool_cmd TOOL OP REPO [ARG] [NAME]: sets CMD to the command line.
#   init | backup SRC NAME | restore TARGET NAME | check | prune | stats
tool_cmd() {
  local tool=$1 op=$2 repo=$3 arg=${4:-} name=${5:-}
  case $tool in
    restic)
      local b=(env RESTIC_REPOSITORY="$repo" restic "${RESTIC_GLOBAL[@]}")
      case $op in
        init) CMD=("${b[@]}" "${RESTIC_INIT[@]}") ;;
        backup) CMD=("${b[@]}" backup --quiet "$arg") ;;
        restore) CMD=("${b[@]}" restore latest --target "$arg") ;;
        check) CMD=("${b[@]}" check --read-data) ;;
        prune) CMD=("${b[@]}" forget --keep-last 1 --prune --max-unused 0) ;;
        stats) CMD=("${b[@]}" stats --mode raw-data --json) ;;
      esac ;;
    borg)
      case $op in
        init) CMD=(borg init --encryption "$BORG_ENC" "$repo") ;;
        backup) CMD=(borg create -C lz4 "$repo::$name" "$arg") ;;
        restore) CMD=(borg extract "$repo::$name") ;;  # into the current dir
        check) CMD=(borg check --verify-data "$repo") ;;
        # compact --threshold 0: free every segment with any unused space.
        prune) CMD=(bash -c 'borg prune --keep-last 1 "$1" && borg compact --threshold 0 "$1"' \
                      _ "$repo") ;;
        stats) CMD=(borg info --json "$repo") ;;
      esac ;;
    lifeboat)
      local b=(env LIFEBOAT_REPOSITORY="$repo" XDG_CACHE_HOME="$CACHE/lifeboat" "$LIFEBOAT")
      case $op in
        init) CMD=("${b[@]}" init) ;;
        backup) CMD=("${b[@]}" backup --quiet "$arg") ;;
        restore) CMD=("${b[@]}" restore latest --target "$arg") ;;
        check) CMD=("${b[@]}" check --read-data) ;;
        prune) CMD=("${b[@]}" forget --keep-last 1 --prune --max-unused 0) ;;
        stats) CMD=("${b[@]}" stats --json) ;;
      esac ;;
  esac
}

# timed TOOL PHASE RUN CMD...: runs CMD under /usr/bin/time, records a row in
# results.tsv (wall, user, sys seconds; peak RSS KiB; ok/FAILED). Returns 1 if
# the command failed.
timed() {
  local tool=$1 phase=$2 run=$3
  shift 3
  local tf="$OUT_DIR/log/$tool.$phase.$run.time" lf="$OUT_DIR/log/$tool.$phase.$run.log"
  local st=ok wall user sys rss
  if ! /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" </dev/null >"$lf" 2>&1; then
    st=FAILED
    say "$tool $phase run $run FAILED (log: $lf)"
    tail -n 5 "$lf" >&2 || true
  fi
  wall=0 user=0 sys=0 rss=0
  read -r wall user sys rss < <(tail -n 1 "$tf" 2>/dev/null) || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$phase" "$run" "$wall" \
    "$user" "$sys" "$rss" "$st" >> "$OUT_DIR/results.tsv"
  say "$tool $phase run $run: ${wall} s wall, ${user}+${sys} s cpu, $((rss / 1024)) MB peak"
  [ "$st" = ok ]
}

# untimed TOOL WHAT CMD...: runs a setup command, logs its output.
untimed() {
  local tool=$1 what=$2
  shift 2
  if ! "$@" >>"$OUT_DIR/log/$tool.$what.log" 2>&1; then
    say "$tool $what FAILED (log: $OUT_DIR/log/$tool.$what.log)"
    tail -n 5 "$OUT_DIR/log/$tool.$what.log" >&2 || true
    return 1
  fi
}

record_size() {  # TOOL WHAT RUN PATH
  local b
  b=$(du -sb "$4" | cut -f1)
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$b" >> "$OUT_DIR/sizes.tsv"
}

limit() {  # NAME VALUE UNIT DETAIL
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT_DIR/limits.tsv"
  say "limit $1: $2 $3 ($4)"
}

# ------------------------------------------------------------ metadata

lifeboat_version() {  # "0.1.0 @abc1234" (what the binary says + git commit)
  local v=""
  v=$("$LIFEBOAT" version 2>/dev/null | head -n 1) ||
    v=$("$LIFEBOAT" --version 2>/dev/null | head -n 1) || v=""
  v=${v#lifeboat}
  v=${v# }
  printf '%s%s' "$v" "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null | sed 's/^/ @/')"
}

data_files=$(find "$DATA" -type f | wc -l)
data_bytes=$(du -sb "$DATA" | cut -f1)
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'scale\t%s\n' "$BENCH_SCALE"
  printf 'runs\t%s\n' "$RUNS"
  printf 'seed\t%s\n' "$SEED"
  printf 'mutate_pct\t%s\n' "$MUTATE_PCT"
  printf 'tools\t%s\n' "${ACTIVE[*]}"
  printf 'data_files\t%s\n' "$data_files"
  printf 'data_bytes\t%s\n' "$data_bytes"
  printf 'small_files\t%s\n' "$SMALL_FILES"
  printf 'cpu\t%s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  printf 'cores\t%s\n' "$(nproc)"
  printf 'mem_gib\t%s\n' "$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'drop_caches\t%s\n' "$CAN_DROP"
  printf 'scratch_gib\t%s\n' "$SCRATCH_GIB"
  for t in "${ACTIVE[@]}"; do
    case $t in
      restic) printf 'version_restic\t%s\n' "$(restic version | awk '{ print $2 }')"
              printf 'settings_restic\t%s\n' "${RESTIC_INIT[*]:1} ${RESTIC_GLOBAL[*]}" ;;
      borg) printf 'version_borg\t%s\n' "$(borg --version | awk '{ print $2 }')"
            printf 'settings_borg\t%s\n' "-C lz4, --encryption $BORG_ENC" ;;
      lifeboat) printf 'version_lifeboat\t%s\n' "$(lifeboat_version)" 
                printf 'settings_lifeboat\t%s\n' "defaults" ;;
    esac
  done
} > "$OUT_DIR/meta.tsv"
: > "$OUT_DIR/results.tsv"
: > "$OUT_DIR/sizes.tsv"
: > "$OUT_DIR/verify.tsv"
: > "$OUT_DIR/limits.tsv"
say "tools: ${ACTIVE[*]}; dataset: $data_files files, $data_bytes bytes; runs: $RUNS; output: $OUT_DIR"

# ------------------------------------------------------------ machine limits

if [[ " $PHASES " == *" limits "* ]]; then
  say "measuring the machine's limits (medians of $RUNS, each after the warm-up)"
  t=$(median_secs "" read_tree "$DATA")
  limit read_cold "$t" s \
    "tar cf - DATA | cat, after dropping the page cache: $(awk -v b="$data_bytes" -v t="$t" 'BEGIN { printf "%.0f", b / t / 1e6 }') MB/s"
  t=$(median_secs "$DATA" read_tree "$DATA")
  limit read_warm "$t" s \
    "tar cf - DATA | cat, warm: $(awk -v b="$data_bytes" -v t="$t" 'BEGIN { printf "%.0f", b / t / 1e6 }') MB/s"
  for alg in sha256 aes-256-gcm; do
    v=$(openssl speed -evp "$alg" -bytes 16384 -seconds 3 2>/dev/null | tail -n 1 |
        awk '{ v = $NF; sub(/k$/, "", v); printf "%.0f", v / 1000 }')
    limit "openssl_$alg" "$v" MB/s "openssl speed -evp $alg, 1 core, 16 KiB blocks"
  done
  tar -cf "$TARBALL" "$DATA" 2>/dev/null
  tb=$(stat -c %s "$TARBALL")
  zs=$BENCH_DIR/zstd.out
  t=$(median_secs "$TARBALL" bash -c 'zstd -q -1 -T2 -c "$1" | wc -c > "$2"' _ "$TARBALL" "$zs")
  limit zstd1_t2_tar "$(awk -v b="$tb" -v t="$t" 'BEGIN { printf "%.0f", b / t / 1e6 }')" MB/s \
    "zstd -1 -T2 on the dataset tarball: $t s, ratio $(awk -v a="$tb" -v b="$(cat "$zs")" 'BEGIN { printf "%.2f", a / b }')"
  sql=$(find "$DATA/db" -name '*.sql' | head -n 1)
  if [ -n "$sql" ]; then
    sb=$(stat -c %s "$sql")
    t=$(median_secs "$sql" bash -c 'zstd -q -1 -T1 -c "$1" | wc -c > "$2"' _ "$sql" "$zs")
    limit zstd1_t1_sql "$(awk -v b="$sb" -v t="$t" 'BEGIN { printf "%.0f", b / t / 1e6 }')" MB/s \
      "zstd -1 -T1 on the SQL dump (1 core): ratio $(awk -v a="$sb" -v b="$(cat "$zs")" 'BEGIN { printf "%.2f", a / b }')"
  fi
  rm -f "$TARBALL" "$zs"
  t=$(median_secs "" dd if=/dev/zero of="$BENCH_DIR/fdatasync.tmp" bs=1M count=1024 conv=fdatasync status=none)
  limit fdatasync_write "$(awk -v t="$t" 'BEGIN { printf "%.0f", 1073741824 / t / 1e6 }')" MB/s \
    "dd 1 GiB conv=fdatasync: $t s"
  rm -f "$BENCH_DIR/fdatasync.tmp"
  if [ -d "$SMALL" ]; then
    read_tree "$SMALL"
    t=$(secs bash -c 'find "$1" -type f -printf "%s\n" > /dev/null' _ "$SMALL")
    limit small_stat_walk "$t" s "stat-only walk of the $SMALL_FILES small files, warm"
    t=$(secs read_tree "$SMALL")
    limit small_read_all "$t" s "opening and reading each of the $SMALL_FILES small files (tar), warm"
  fi
fi

# ------------------------------------------------------------ main comparison

if [[ " $PHASES " == *" main "* ]]; then
  mkdir -p "$REPOS"
  declare -A OK=()  # tool-run -> 1 while the repository is usable

  say "phase: initial backup"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      if initial_backup "$t" main "$r" backup_initial "$DATA" "$DATA" "$CACHE"; then
        OK[$t-$r]=1
        record_size "$t" repo_initial "$r" "$(repo_of "$t" main "$r")"
      fi
    done
  done

  # The same from a dropped page cache (data, metadata and the tools' caches
  # read from the disk), into a repository of its own that goes right after:
  # a server's first backup, or one after the night's jobs pushed the files
  # out of memory.
  if [ "$CAN_DROP" = 1 ]; then
    say "phase: initial backup, page cache dropped"
    for ((r = 1; r <= RUNS; r++)); do
      for t in $(order "$r"); do
        initial_backup "$t" cold "$r" backup_initial_cold "$DATA" || true
        rm -rf "$(repo_of "$t" cold "$r")"
      done
    done
  fi

  say "phase: backup with nothing changed"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      [ -n "${OK[$t-$r]:-}" ] || continue
      repo=$(repo_of "$t" main "$r")
      prepare "$DATA" "$CACHE"
      tool_cmd "$t" backup "$repo" "$DATA" nochange
      timed "$t" backup_nochange "$r" "${CMD[@]}" || true
    done
  done

  if [ "$CAN_DROP" = 1 ]; then
    say "phase: backup with nothing changed, page cache dropped"
    for ((r = 1; r <= RUNS; r++)); do
      for t in $(order "$r"); do
        [ -n "${OK[$t-$r]:-}" ] || continue
        repo=$(repo_of "$t" main "$r")
        prepare
        tool_cmd "$t" backup "$repo" "$DATA" nochange-cold
        timed "$t" backup_nochange_cold "$r" "${CMD[@]}" || true
      done
    done
  fi

  say "mutating ~$MUTATE_PCT% of the dataset"
  echo "mutated" > "$DATA.state"  # the next run regenerates it
  python3 "$ROOT/bench/gen_dataset.py" "$DATA" --mutate "$MUTATE_PCT" --seed "$SEED"
  python3 "$ROOT/bench/manifest.py" "$DATA" > "$OUT_DIR/manifest.data"

  say "phase: backup after changing ~$MUTATE_PCT% of the files"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      [ -n "${OK[$t-$r]:-}" ] || continue
      repo=$(repo_of "$t" main "$r")
      prepare "$DATA" "$CACHE"
      tool_cmd "$t" backup "$repo" "$DATA" mutated
      if timed "$t" backup_mutated "$r" "${CMD[@]}"; then
        record_size "$t" repo_final "$r" "$repo"
      else
        unset "OK[$t-$r]"
      fi
    done
  done

  # Each restore goes into a new directory; all are deleted after the phase.
  # On this VM's ext4 (no journal) a new inode skips the inodes freed in the
  # last minutes, one buffer lookup each: restored right after the previous
  # restore's tree was deleted, the same restore took 2.72-2.78 s instead of
  # 2.49-2.54 s (system time 2.1 s instead of 1.4 s; waiting 70 s after the
  # deletion did not help), a cost of the filesystem that every tool paid.
  # When free space runs short the oldest target goes, and the log says so.
  KEPT_TARGETS=()
  say "phase: full restore (+ sync)"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      [ -n "${OK[$t-$r]:-}" ] || continue
      repo=$(repo_of "$t" main "$r")
      TARGET=$BENCH_DIR/restore.$t.$r
      rm -rf "$TARGET"
      while [ ${#KEPT_TARGETS[@]} -gt 0 ] &&
            [ "$(df --output=avail -B1 "$BENCH_DIR" | tail -n 1)" -lt $((data_bytes * 3 / 2 + (1 << 30))) ]; do
        say "low on space: deleting ${KEPT_TARGETS[0]} (the next restore may pay ext4's scan past recently freed inodes)"
        rm -rf "${KEPT_TARGETS[0]}"
        KEPT_TARGETS=("${KEPT_TARGETS[@]:1}")
      done
      mkdir -p "$TARGET"
      KEPT_TARGETS+=("$TARGET")
      prepare "$repo" "$CACHE"
      tool_cmd "$t" restore "$repo" "$TARGET" mutated
      if timed "$t" restore "$r" bash -c 'cd "$1" && shift && "$@" && sync' _ \
           "$TARGET" "${CMD[@]}"; then
        # Verify (not timed): the tools restore the absolute path below TARGET.
        got=$TARGET
        for c in "$TARGET$DATA" "$TARGET/$(basename "$DATA")"; do
          if [ -d "$c" ]; then got=$c; break; fi
        done
        if python3 "$ROOT/bench/manifest.py" "$got" > "$OUT_DIR/manifest.$t.$r" &&
           cmp -s "$OUT_DIR/manifest.data" "$OUT_DIR/manifest.$t.$r"; then
          printf '%s\t%s\tok\n' "$t" "$r" >> "$OUT_DIR/verify.tsv"
          rm -f "$OUT_DIR/manifest.$t.$r"
          say "$t restore run $r verified"
        else
          printf '%s\t%s\tFAILED\n' "$t" "$r" >> "$OUT_DIR/verify.tsv"
          say "$t restore run $r DIFFERS from the source (see $OUT_DIR/manifest.$t.$r):"
          diff "$OUT_DIR/manifest.data" "$OUT_DIR/manifest.$t.$r" | head -n 10 >&2 || true
        fi
      fi
    done
  done
  rm -rf "${KEPT_TARGETS[@]}"
  sync

  say "phase: check, reading all data"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      [ -n "${OK[$t-$r]:-}" ] || continue
      repo=$(repo_of "$t" main "$r")
      prepare "$repo" "$CACHE"
      tool_cmd "$t" check "$repo"
      timed "$t" check "$r" "${CMD[@]}" || true
    done
  done

  # Last: it changes the repositories. The ~5 % of the data only the first
  # snapshots held is spread over many packs: every partly used pack is
  # rewritten (--max-unused 0; Borg: compact --threshold 0).
  say "phase: forget all but the last snapshot + prune"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      [ -n "${OK[$t-$r]:-}" ] || continue
      repo=$(repo_of "$t" main "$r")
      prepare "$repo" "$CACHE"
      tool_cmd "$t" prune "$repo"
      if timed "$t" prune "$r" "${CMD[@]}"; then
        record_size "$t" repo_pruned "$r" "$repo"
      fi
    done
  done

  for t in "${ACTIVE[@]}"; do
    if [ -n "${OK[$t-1]:-}" ]; then
      tool_cmd "$t" stats "$(repo_of "$t" main 1)"
      "${CMD[@]}" > "$OUT_DIR/log/$t.stats.json" 2>&1 || true
    fi
  done
  [ "$KEEP_REPOS" = 1 ] || rm -rf "$REPOS"/*-main-*
fi

# ------------------------------------------------------------ small files

if [[ " $PHASES " == *" small "* ]]; then
  mkdir -p "$REPOS"
  declare -A SOK=()
  say "phase: $SMALL_FILES small files, initial backup"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      if initial_backup "$t" small "$r" small_initial "$SMALL" "$SMALL" "$CACHE"; then
        SOK[$t-$r]=1
        record_size "$t" repo_small "$r" "$(repo_of "$t" small "$r")"
      fi
    done
  done
  say "phase: $SMALL_FILES small files, backup with nothing changed"
  for ((r = 1; r <= RUNS; r++)); do
    for t in $(order "$r"); do
      [ -n "${SOK[$t-$r]:-}" ] || continue
      repo=$(repo_of "$t" small "$r")
      prepare "$SMALL" "$CACHE"
      tool_cmd "$t" backup "$repo" "$SMALL" nochange
      timed "$t" small_nochange "$r" "${CMD[@]}" || true
    done
  done
  [ "$KEEP_REPOS" = 1 ] || rm -rf "$REPOS"/*-small-*
fi

[ "$KEEP_REPOS" = 1 ] || rm -rf "$CACHE"

# ------------------------------------------------------------ report

report_args=("$OUT_DIR")
[ "$UPDATE_DOCS" = 1 ] && report_args+=(--docs "$DOCS")
python3 "$ROOT/bench/report.py" "${report_args[@]}"
say "done; raw figures in $OUT_DIR"
