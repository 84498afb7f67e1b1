#!/usr/bin/env bash
# bench/run.sh: built-in oci: against oci-layout:, same binary, same run.
# Generates its own images (no network), prints one table per scenario:
# medians of --runs runs, the two sides run interleaved (A B, B A, ...),
# ratio = built-in time / our time (> 1: we are faster).
#   bench/run.sh                 modest sizes (what `make bench` runs)
#   bench/run.sh --full          the sizes of issue 6 (1 GiB, 10,000 tags, 20,000 blobs, 4 GiB RSS)
#   bench/run.sh --size-mib 256 --runs 7 --scenarios 1,4
set -euo pipefail

SIZE_MIB=64 REG_MIB=64 TAGS=1000 BLOBS=2000 BLOB_MIB=64 RSS_MIB="64 256" RUNS=5 SCENARIOS=1,2,3,4,5,6
WORK=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
  case $1 in
    --full) SIZE_MIB=1024 REG_MIB=256 TAGS=10000 BLOBS=20000 BLOB_MIB=1024 RSS_MIB="1024 4096" ;;
    --size-mib) SIZE_MIB=$2; shift ;;
    --registry-mib) REG_MIB=$2; shift ;;
    --tags) TAGS=$2; shift ;;
    --blobs) BLOBS=$2; shift ;;
    --blob-mib) BLOB_MIB=$2; shift ;;
    --rss-mib) RSS_MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --work) WORK=$2; shift ;;
    *) echo "bench/run.sh: unknown flag $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
build_binaries
W=$(mktemp -d "$WORK/ocilayout-bench.XXXXXX")
REG_PID=
cleanup() { [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
COPY="$OCL copy -q --insecure-policy"

want() { case ",$SCENARIOS," in *",$1,"*) return 0 ;; esac; return 1; }
# t SETUP CMD...: median seconds of CMD over RUNS runs, SETUP before each (untimed).
t() { local setup=$1; shift; "$BENCH" measure -runs "$RUNS" -setup "$setup" -- "$@" | cut -d' ' -f1; }
# rowp NAME SETUP CMD_A... --vs-- CMD_B...: a table row from A and B run interleaved (ocilayout-bench compare).
rowp() { local name=$1 setup=$2; shift 2; local a b; read -r a b < <("$BENCH" compare -runs "$RUNS" -setup "$setup" -- "$@"); row "$name" "$a" "$b"; }
rss() { local setup=$1; shift; "$BENCH" measure -runs 1 -setup "$setup" -- "$@" | awk '{printf "%.1f", $2/1024}'; }
header() { printf '\n### %s\n| %-44s | %10s | %10s | %6s |\n|%s|%s|%s|%s|\n' "$1" case "oci: (s)" "ours (s)" ratio \
  "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..8})"; }
row() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{ r = (a == "n/a" ? "n/a" : sprintf("%.2f", a / b)); printf "| %-44s | %10s | %10s | %6s |\n", n, a, b, r }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(df -T "$W" | awk 'NR==2{print $2}') at $W"
echo "sizes: image ${SIZE_MIB} MiB, registry ${REG_MIB} MiB, ${TAGS} tags, ${BLOBS} blobs / ${BLOB_MIB} MiB, RSS ${RSS_MIB} MiB; ${RUNS} runs"

if want 1; then
  "$BENCH" gen-image -dir "$W/s1" -size $((SIZE_MIB << 20)) -layers 4
  header "1. layout -> layout, ${SIZE_MIB} MiB in 4 layers, same file system"
  rowp "oci: -> oci: vs verified links" "rm -rf $W/d1" $COPY "oci:$W/s1:app" "oci:$W/d1:app" --vs-- $COPY "oci-layout:$W/s1:app" "oci-layout:$W/d1:app"
  rowp "oci: -> oci: vs trusted links" "rm -rf $W/d1" $COPY "oci:$W/s1:app" "oci:$W/d1:app" --vs-- $COPY --trust-linked-blobs "oci-layout:$W/s1:app" "oci-layout:$W/d1:app"
  rm -rf "$W/d1"; $COPY "oci:$W/s1:app" "oci:$W/d1:app"
  b=$(du -sk "$W/s1" "$W/d1" | awk 'NR==2{print $1}'); rm -rf "$W/d1"
  $COPY "oci-layout:$W/s1:app" "oci-layout:$W/d1:app"
  o=$(du -sk "$W/s1" "$W/d1" | awk 'NR==2{print $1}')
  echo "extra disk used by the destination (du, hard links counted once): oci: ${b} KiB, ours ${o} KiB"
  rm -rf "$W/d1"
fi

if want 2; then
  [ -d "$W/s1" ] || "$BENCH" gen-image -dir "$W/s1" -size $((SIZE_MIB << 20)) -layers 4
  $COPY "oci-layout:$W/s1:app" "docker-archive:$W/img.tar:bench/app:v1"
  header "2. docker-archive: -> layout and layout -> dir:, ${SIZE_MIB} MiB"
  rowp "docker-archive: -> layout" "rm -rf $W/d2" $COPY "docker-archive:$W/img.tar" "oci:$W/d2:app" --vs-- $COPY "docker-archive:$W/img.tar" "oci-layout:$W/d2:app"
  rowp "layout -> dir:" "rm -rf $W/d2" $COPY "oci:$W/s1:app" "dir:$W/d2" --vs-- $COPY "oci-layout:$W/s1:app" "dir:$W/d2"
  # Streaming layout -> layout where no link is possible: the destination on another file system (tmpfs).
  if [ -d /dev/shm ] && [ "$(df -P /dev/shm | awk 'NR==2{print $1}')" != "$(df -P "$W" | awk 'NR==2{print $1}')" ]; then
    S=$(mktemp -d /dev/shm/ocilayout-bench.XXXXXX)
    rowp "layout -> layout on another file system" "rm -rf $S/d" $COPY "oci:$W/s1:app" "oci:$S/d:app" --vs-- $COPY "oci-layout:$W/s1:app" "oci-layout:$S/d:app"
    rm -rf "$S"
  fi
  rm -rf "$W/d2" "$W/img.tar"
fi

if want 3; then
  "$BENCH" gen-image -dir "$W/s3" -size $((REG_MIB << 20)) -layers 8 -seed 3
  "$BENCH" registry > "$W/reg.out" 2>/dev/null & REG_PID=$!
  while ! grep -q ready "$W/reg.out" 2>/dev/null; do sleep 0.1; done
  addr=$(awk '{print $2}' "$W/reg.out")
  $COPY --dest-tls-verify=false "oci-layout:$W/s3:app" "docker://$addr/bench/app:v1"
  header "3. in-process registry -> layout, ${REG_MIB} MiB in 8 layers"
  rowp "docker:// -> layout" "rm -rf $W/d3" $COPY --src-tls-verify=false "docker://$addr/bench/app:v1" "oci:$W/d3:app" \
    --vs-- $COPY --src-tls-verify=false "docker://$addr/bench/app:v1" "oci-layout:$W/d3:app"
  kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; REG_PID=
  rm -rf "$W/d3" "$W/s3"
fi

if want 4; then
  "$BENCH" gen-tags -dir "$W/tb" -tags "$TAGS"; "$BENCH" gen-tags -dir "$W/to" -tags "$TAGS"
  header "4. ${TAGS} tags in one layout (whole CLI process)"
  rowp "add one more tag (copy within the layout)" "" $COPY "oci:$W/tb:t0" "oci:$W/tb:new" --vs-- $COPY "oci-layout:$W/to:t0" "oci-layout:$W/to:new"
  row "list (oci: has no list)" n/a "$(t "" "$OCL" list "$W/to")"
  rowp "resolve a name (inspect --raw)" "" "$OCL" inspect --raw "oci:$W/tb:t$((TAGS / 2))" --vs-- "$OCL" inspect --raw "oci-layout:$W/to:t$((TAGS / 2))"
  echo "library (go test -bench, layout package, ${TAGS} tags):"
  (cd "$ROOT" && BENCH_TAGS=$TAGS go test -tags "$TAGS_GO" -run '^$' -bench 'Tags' -benchtime 20x ./layout/ | grep '^Benchmark' | awk '{printf "  %-40s %8.2f ms/op\n", $1, $3/1e6}')
  rm -rf "$W/tb" "$W/to"
fi

if want 5; then
  "$BENCH" gen-blobs -dir "$W/v" -size $((BLOB_MIB << 20)) -blobs "$BLOBS"
  header "5. verify and gc, ${BLOB_MIB} MiB in ${BLOBS} blobs (oci: has neither: baseline = sha256 of every blob on one core)"
  rowp "ocilayout verify vs one-core sha256" "" "$BENCH" sha256 -dir "$W/v" --vs-- "$OCL" verify "$W/v"
  row "ocilayout gc (nothing to remove)" n/a "$(t "" "$OCL" gc "$W/v")"
  rm -rf "$W/v"
fi

if want 6; then
  printf '\n### 6. peak RSS (MiB) of one copy, 4 layers\n| %-44s | %10s | %10s |\n|%s|%s|%s|\n' case "oci:" ours \
    "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..12})"
  for mib in $RSS_MIB; do
    "$BENCH" gen-image -dir "$W/r" -size $((mib << 20)) -layers 4 -seed 6
    printf '| %-44s | %10s | %10s |\n' "${mib} MiB layout -> dir:" "$(rss "rm -rf $W/rd" $COPY "oci:$W/r:app" "dir:$W/rd")" \
      "$(rss "rm -rf $W/rd" $COPY "oci-layout:$W/r:app" "dir:$W/rd")"
    printf '| %-44s | %10s | %10s |\n' "${mib} MiB layout -> layout" "$(rss "rm -rf $W/rd" $COPY "oci:$W/r:app" "oci:$W/rd:app")" \
      "$(rss "rm -rf $W/rd" $COPY "oci-layout:$W/r:app" "oci-layout:$W/rd:app")"
    rm -rf "$W/r" "$W/rd"
  done
fi
