#!/usr/bin/env bash
# bench/s3.sh: backup and restore throughput to an S3-compatible server,
# lifeboat beside restic, on the same server, the same data, in one run.
#
# The server is s3rver (tests/servers/s3/s3rver.sh, npm) over HTTPS: restic
# 0.14 needs HTTPS there (over plain HTTP it sends aws-chunked uploads that
# s3rver stores corrupted, see ../shared/SERVERS.md), and both tools then pay
# the same TLS cost. s3rver is a single node.js process writing to disk, so
# the figures say how each client copes with one slow-ish server, not what AWS
# would give. Each run uses fresh buckets; restore is verified with
# bench/manifest.py. Writes bench/out/s3-<timestamp>/ and the table between
# <!-- bench-s3:begin --> / <!-- bench-s3:end --> in docs/BENCHMARKS.md.
#
#   BENCH_SCALE=0.25 RUNS=3 bash bench/s3.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SCALE=${BENCH_SCALE:-0.25}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/data}
LIFEBOAT=${LIFEBOAT:-$ROOT/build-release/src/cli/lifeboat}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out/s3-$(date +%Y%m%d-%H%M%S)}
DOCS=${DOCS:-$ROOT/docs/BENCHMARKS.md}
UPDATE_DOCS=${UPDATE_DOCS:-1}
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password-not-secret}

say() { printf '[bench-s3 %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

command -v restic >/dev/null || die "restic is not installed (apt-get install restic)"
[ -x "$LIFEBOAT" ] || die "$LIFEBOAT not found (build it: cmake --build build-release --target lifeboat)"
[ -x /usr/bin/time ] || die "/usr/bin/time is required (package 'time')"

DATA=$BENCH_DIR/s3-webapp
TARGET=$BENCH_DIR/s3-restore
CACHE=$BENCH_DIR/s3-cache
STATE=$BENCH_DIR/s3-server
mkdir -p "$BENCH_DIR" "$OUT_DIR/log"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

gen_sum=$(md5sum "$ROOT/bench/gen_dataset.py" | cut -c1-12)
want="scale=$BENCH_SCALE seed=$SEED gen=$gen_sum"
if [ ! -d "$DATA" ] || [ "$(cat "$DATA.state" 2>/dev/null)" != "$want" ]; then
  say "generating the web app dataset (scale $BENCH_SCALE) into $DATA"
  rm -rf "$DATA" "$DATA.state"
  python3 "$ROOT/bench/gen_dataset.py" "$DATA" --scale "$BENCH_SCALE" --seed "$SEED"
  echo "$want" > "$DATA.state"
fi
python3 "$ROOT/bench/manifest.py" "$DATA" > "$OUT_DIR/source.manifest"

cleanup() { bash "$ROOT/tests/servers/s3/s3rver.sh" stop "$STATE" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
bash "$ROOT/tests/servers/s3/s3rver.sh" start "$STATE" >"$OUT_DIR/log/server.log" 2>&1 ||
  die "s3rver did not start (log: $OUT_DIR/log/server.log)"
[ -f "$STATE/skip" ] && die "s3rver unavailable: $(cat "$STATE/skip")"
PORT=$(cat "$STATE/tls_port")
CERT=$STATE/cert.pem
ENDPOINT=https://127.0.0.1:$PORT

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export RESTIC_PASSWORD=$BENCH_PASSWORD LIFEBOAT_PASSWORD=$BENCH_PASSWORD
export RESTIC_CACHE_DIR=$CACHE/restic XDG_CACHE_HOME=$CACHE/lifeboat

: > "$OUT_DIR/results.tsv"
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
    >> "$OUT_DIR/results.tsv"
  say "$tool $phase run $run: $wall s wall, $user+$sys s cpu, $((rss / 1024)) MB peak"
  [ "$st" = ok ]
}

tool_cmd() {  # TOOL OP BUCKET [TARGET]
  local tool=$1 op=$2 bucket=$3 arg=${4:-}
  case $tool in
    restic)
      local b=(restic -r "s3:$ENDPOINT/$bucket" --cacert "$CERT" --compression auto)
      case $op in
        init) CMD=("${b[@]}" init --repository-version 2) ;;
        backup) CMD=("${b[@]}" backup --quiet "$DATA") ;;
        restore) CMD=("${b[@]}" restore latest --target "$arg") ;;
      esac ;;
    lifeboat)
      local b=("$LIFEBOAT" -r "s3:$ENDPOINT/$bucket" -o "s3.cacert=$CERT")
      case $op in
        init) CMD=("${b[@]}" init) ;;
        backup) CMD=("${b[@]}" backup --quiet "$DATA") ;;
        restore) CMD=("${b[@]}" restore latest --target "$arg") ;;
      esac ;;
  esac
}

verify() {  # TOOL RUN DIR: the restored tree must equal the source
  local restored=$3$DATA
  if python3 "$ROOT/bench/manifest.py" "$restored" | cmp -s - "$OUT_DIR/source.manifest"; then
    printf '%s\t%s\tok\n' "$1" "$2" >> "$OUT_DIR/verify.tsv"
  else
    printf '%s\t%s\tMISMATCH\n' "$1" "$2" >> "$OUT_DIR/verify.tsv"
    say "$1 run $2: restored tree differs from the source"
  fi
}

: > "$OUT_DIR/verify.tsv"
data_bytes=$(du -sb "$DATA" | cut -f1)
data_files=$(find "$DATA" -type f | wc -l)
say "dataset: $data_files files, $data_bytes bytes; server $ENDPOINT; runs: $RUNS"
for run in $(seq "$RUNS"); do
  tools=(restic lifeboat)
  ((run % 2 == 0)) && tools=(lifeboat restic)  # neither always goes first
  for tool in "${tools[@]}"; do
    bucket="$tool-run$run-$(date +%s)"
    rm -rf "$CACHE" "$TARGET"
    tool_cmd "$tool" init "$bucket"
    "${CMD[@]}" >"$OUT_DIR/log/$tool.init.$run.log" 2>&1 || die "$tool init failed (log: $OUT_DIR/log/$tool.init.$run.log)"
    sync
    tool_cmd "$tool" backup "$bucket"
    timed "$tool" backup "$run" "${CMD[@]}" || continue
    # Restore without the local cache, as on a machine that lost everything.
    rm -rf "$CACHE"
    mkdir -p "$TARGET"
    tool_cmd "$tool" restore "$bucket" "$TARGET"
    timed "$tool" restore "$run" "${CMD[@]}" && verify "$tool" "$run" "$TARGET"
    sync
    stored=$(du -sb "$(cat "$STATE/workdir")" | cut -f1)
    printf '%s\t%s\t%s\n' "$tool" "$run" "$stored" >> "$OUT_DIR/sizes.tsv"
    rm -rf "$TARGET"
    # Free the server's disk between runs (buckets are just directories).
    find "$(cat "$STATE/workdir")" -mindepth 1 -maxdepth 2 -name "$bucket" -exec rm -rf {} + 2>/dev/null || true
  done
done

report=$(python3 - "$OUT_DIR" "$data_bytes" "$data_files" "$(restic version | awk '{print $2}')" <<'PY'
import statistics, sys, collections
out, data_bytes, files, restic_version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = collections.defaultdict(list)
failed = set()
for line in open(f"{out}/results.tsv"):
    tool, phase, run, wall, user, sys_, rss, st = line.rstrip("\n").split("\t")
    if st != "ok":
        failed.add((tool, phase))
        continue
    rows[(tool, phase)].append((float(wall), float(user) + float(sys_), int(rss)))
verify = [l.split("\t") for l in open(f"{out}/verify.tsv").read().splitlines()]
bad = [v for v in verify if v[2] != "ok"]
def med(tool, phase, i):
    v = rows.get((tool, phase))
    return statistics.median(x[i] for x in v) if v else None
print(f"S3 (s3rver 3.7.1 over HTTPS on 127.0.0.1), {data_bytes / 1e6:.0f} MB in {files} files, "
      f"median of {min(len(v) for v in rows.values()) if rows else 0} runs, restic {restic_version}.")
print()
print("| phase | restic wall | lifeboat wall | restic ÷ lifeboat | lifeboat MB/s | restic CPU | lifeboat CPU | restic peak RSS | lifeboat peak RSS |")
print("|---|---|---|---|---|---|---|---|---|")
for phase in ("backup", "restore"):
    r, l = med("restic", phase, 0), med("lifeboat", phase, 0)
    if r is None or l is None:
        print(f"| {phase} | {'FAILED' if r is None else f'{r:.2f} s'} | {'FAILED' if l is None else f'{l:.2f} s'} | – | – | – | – | – | – |")
        continue
    print(f"| {phase} | {r:.2f} s | {l:.2f} s | {r / l:.2f}x | {data_bytes / 1e6 / l:.0f} | "
          f"{med('restic', phase, 1):.1f} s | {med('lifeboat', phase, 1):.1f} s | "
          f"{med('restic', phase, 2) / 1024:.0f} MB | {med('lifeboat', phase, 2) / 1024:.0f} MB |")
print()
print("Restores verified against the source manifest: " +
      ("all equal." if not bad and verify else f"{len(bad)} MISMATCH(es): {bad}" if bad else "none ran."))
if failed:
    print(f"Failed: {sorted(failed)}")
PY
)
printf '%s\n' "$report" | tee "$OUT_DIR/report.md"

if [ "$UPDATE_DOCS" = 1 ] && [ -f "$DOCS" ]; then
  python3 - "$DOCS" "$OUT_DIR/report.md" "$(date -u '+%Y-%m-%d %H:%M UTC')" <<'PY'
import sys, re
docs, report, date = sys.argv[1], open(sys.argv[2]).read().strip(), sys.argv[3]
text = open(docs).read()
block = f"<!-- bench-s3:begin -->\nRun {date} (`bash bench/s3.sh`).\n\n{report}\n<!-- bench-s3:end -->"
if "<!-- bench-s3:begin -->" in text:
    text = re.sub(r"<!-- bench-s3:begin -->.*?<!-- bench-s3:end -->", lambda m: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n## Throughput to an S3 server\n\n" + block + "\n"
open(docs, "w").write(text)
PY
  say "updated $DOCS"
fi
