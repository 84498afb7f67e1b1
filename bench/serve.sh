#!/usr/bin/env bash
# bench/serve.sh: pulling one image with Debian's skopeo (docker:// -> dir:)
# from `ocilayout serve` against distribution's registry (v3, filesystem
# driver) holding the same image, in the same run, interleaved
# (ocilayout-bench compare); then the servers' memory per concurrent pull.
#   bench/serve.sh                   64 MiB in 4 layers, 3 runs
#   bench/serve.sh --size-mib 1024 --runs 5 --pulls 8
set -euo pipefail

SIZE_MIB=64 RUNS=3 PULLS=8
WORK=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
  case $1 in
    --size-mib) SIZE_MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --pulls) PULLS=$2; shift ;;
    --work) WORK=$2; shift ;;
    *) echo "bench/serve.sh: unknown flag $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
build_binaries
command -v skopeo >/dev/null || { echo "bench/serve.sh: skopeo is not installed (make tools)" >&2; exit 1; }
W=$(mktemp -d "$WORK/ocilayout-serve-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

# started FILE: wait for a server's first line and print its host:port.
started() { while ! grep -qE 'ready|serving' "$1" 2>/dev/null; do sleep 0.1; done; grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$1"; }
# cpu PID: user+system CPU seconds of a process so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
# kib PID FIELD: a memory figure of a process (VmRSS, VmHWM) in KiB.
kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(df -T "$W" | awk 'NR==2{print $2}') at $W, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" gen-image -dir "$W/src" -size $((SIZE_MIB << 20)) -layers 4
"$OCL" copy -q --insecure-policy --preserve-digests "oci:$W/src:app" "oci-layout:$W/images:bench/app:v1"

"$BENCH" registry -root "$W/registry" > "$W/reg.out" 2>/dev/null & PIDS+=($!); REG_PID=$!
reg=$(started "$W/reg.out")
"$OCL" copy -q --insecure-policy --preserve-digests --dest-tls-verify=false "oci-layout:$W/images:bench/app:v1" "docker://$reg/bench/app:v1"
"$OCL" serve --listen 127.0.0.1:0 "$W/images" 2> "$W/serve.out" & PIDS+=($!); SRV_PID=$!
srv=$(started "$W/serve.out")

want=$("$OCL" inspect --format '{{.Digest}}' "oci-layout:$W/images:bench/app:v1")
for a in "$reg" "$srv"; do
  rm -rf "$W/check"; skopeo copy -q --src-tls-verify=false "docker://$a/bench/app:v1" "dir:$W/check"
  got="sha256:$(sha256sum "$W/check/manifest.json" | cut -d' ' -f1)"
  [ "$got" = "$want" ] || { echo "bench/serve.sh: $a served manifest $got, want $want" >&2; exit 1; }
done
rm -rf "$W/check"

PULL="skopeo copy -q --src-tls-verify=false"
read -r a b < <("$BENCH" compare -runs "$RUNS" -setup "rm -rf $W/out" -- \
  $PULL "docker://$reg/bench/app:v1" "dir:$W/out" --vs-- $PULL "docker://$srv/bench/app:v1" "dir:$W/out")
printf '\n| %-48s | %14s | %14s | %6s |\n|%s|%s|%s|%s|\n' case "registry (s)" "serve (s)" ratio \
  "$(printf -- '-%.0s' {1..50})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..8})"
awk -v n="skopeo copy docker:// -> dir:, ${SIZE_MIB} MiB, 4 layers" -v a="$a" -v b="$b" \
  'BEGIN{ printf "| %-48s | %14s | %14s | %6.2f |\n", n, a, b, a / b }'

# Memory and CPU of each server: resident set before and peak during
# PULLS concurrent pulls, and the CPU seconds it spent serving them.
for side in registry serve; do
  if [ $side = registry ]; then pid=$REG_PID addr=$reg; else pid=$SRV_PID addr=$srv; fi
  before=$(kib "$pid" VmRSS) cpu0=$(cpu "$pid")
  for i in $(seq "$PULLS"); do $PULL "docker://$addr/bench/app:v1" "dir:$W/c$i" & done
  wait $(jobs -p | grep -v -e "$REG_PID" -e "$SRV_PID") 2>/dev/null || true
  peak=$(kib "$pid" VmHWM) cpu1=$(cpu "$pid")
  rm -rf "$W"/c*
  awk -v s=$side -v n="$PULLS" -v b="$before" -v p="$peak" -v c0="$cpu0" -v c1="$cpu1" \
    'BEGIN{ g = (p > b ? p - b : 0); printf "%s: RSS %.1f MiB before, peak %.1f MiB during %d concurrent pulls: %.1f MiB more per pull; %.2f CPU s per pull\n", s, b/1024, p/1024, n, g/1024/n, (c1-c0)/n }'
done
