#!/usr/bin/env bash
# bench/rss.sh: peak RSS (and median time) of `ocilayout copy` on every
# path of issue 15, compression included (`make bench-rss`; not part of
# CI). Peak RSS is the kernel's ru_maxrss of the finished process (what
# /usr/bin/time -v calls "Maximum resident set size"), the largest over
# --runs runs.
#
# The image: --mib MiB in --layers layers, each a tar of 4 MiB files, half
# of them pseudo-random bytes (incompressible), half numbered log lines
# (compressible about tenfold); once with gzip layers (stored blocks), once
# with plain tar layers, which are what --dest-compress and a push to a
# registry compress. The registry is Debian's docker-registry when
# installed, else `ocilayout-bench registry -root` (filesystem storage in
# the work directory either way), on loopback; restarted empty before
# every push, so every blob is uploaded.
#
# With --base BIN, every row runs BIN as well, interleaved with ours
# (ocilayout-bench compare), in columns of its own: a before/after table.
#   bench/rss.sh                          256 MiB / 8 layers, 3 runs a row
#   bench/rss.sh --mib 64 --runs 1        quick
#   bench/rss.sh --base /tmp/ocilayout.old --rows 9,10,11
#   bench/rss.sh --work /var/tmp --tmpfs /dev/shm
set -euo pipefail

MIB=256 LAYERS=8 RUNS=3 ROWS=all WORK=${TMPDIR:-/tmp} TMPFS=/dev/shm BASE=
while [ $# -gt 0 ]; do
  case $1 in
    --mib) MIB=$2; shift ;;
    --layers) LAYERS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --rows) ROWS=$2; shift ;;
    --work) WORK=$2; shift ;;
    --tmpfs) TMPFS=$2; shift ;;
    --base) BASE=$2; shift ;;
    *) echo "bench/rss.sh: unknown flag $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
build_binaries
# The binaries' text counts in the RSS: 10 MiB in 4 KiB pages, up to 27
# MiB when the page cache holds the file in 2 MiB folios (as it does for a
# file just written, like the go build above), which would differ from one
# binary to the other. Dropping both files from the page cache (fadvise,
# these files only) makes every run fault the text in the same way.
python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$OCL" ${BASE:+"$BASE"}
[ "$(df -T "$TMPFS" | awk 'NR==2{print $2}')" = tmpfs ] || { echo "bench/rss.sh: --tmpfs $TMPFS is not a tmpfs" >&2; exit 2; }

W=$(mktemp -d "$WORK/ocilayout-rss.XXXXXX") T=$(mktemp -d "$TMPFS/ocilayout-rss.XXXXXX")
cleanup() { [ -f "$W/reg.pid" ] && kill "$(cat "$W/reg.pid")" 2>/dev/null; rm -rf "$W" "$T"; }
trap cleanup EXIT

PORT=$(free_port)
REG=127.0.0.1:$PORT
if command -v docker-registry >/dev/null; then
  cat > "$W/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $W/regdata}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: $REG}
EOF
  REG_CMD="docker-registry serve $W/registry.yml" REG_NAME="Debian docker-registry"
else
  REG_CMD="$BENCH registry -addr $REG -root $W/regdata" REG_NAME="ocilayout-bench registry (distribution v3)"
fi
registry_script "$W" "$REG" "$REG_CMD"
"$W/registry.sh"

SIZE=$((MIB << 20))
"$BENCH" gen-image -dir "$W/gz" -size "$SIZE" -layers "$LAYERS" -tar -compressible 0.5 -seed 3
"$BENCH" gen-image -dir "$W/tar" -size "$SIZE" -layers "$LAYERS" -tar -compressible 0.5 -uncompressed -seed 4
"$OCL" copy -q --insecure-policy "oci-layout:$W/gz:app" "docker-archive:$W/src.tar"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); work $(df -T "$W" | awk 'NR==2{print $2}') at $W, tmpfs at $T"
echo "ocilayout $(cd "$ROOT" && git describe --always --dirty)${BASE:+, base $BASE}; image ${MIB} MiB / ${LAYERS} layers, half compressible; registry: $REG_NAME on $REG; ${RUNS} runs a row: peak RSS (largest), median time"
echo
if [ -n "$BASE" ]; then
  echo "| # | path | peak RSS | time | base peak RSS | base time |"
  echo "|---|---|---|---|---|---|"
else
  echo "| # | path | peak RSS | time |"
  echo "|---|---|---|---|"
fi

N=0
want() { [ "$ROWS" = all ] && return 0; case ",$ROWS," in *",$1,"*) return 0 ;; esac; return 1; }
# row NAME SETUP ARGS...: `ocilayout copy -q --insecure-policy ARGS` (and
# the base binary's), after SETUP before each run.
row() {
  local name=$1 setup=$2; shift 2
  N=$((N + 1))
  want "$N" || return 0
  local -a ours=("$OCL" copy -q --insecure-policy "$@") out secs kib
  local res
  if [ -n "$BASE" ]; then
    res=$("$BENCH" compare -rss -runs "$RUNS" -setup "$setup" -- "${ours[@]}" --vs-- "$BASE" copy -q --insecure-policy "$@")
  else
    res=$("$BENCH" measure -runs "$RUNS" -setup "$setup" -- "${ours[@]}")
    res=$(awk '{print $1; print $2}' <<<"$res")
  fi
  read -r -a secs <<<"$(sed -n 1p <<<"$res")"
  read -r -a kib <<<"$(sed -n 2p <<<"$res")"
  local line="| $N | $name |" i
  for i in "${!secs[@]}"; do
    line+=$(awk -v t="${secs[$i]}" -v r="${kib[$i]}" 'BEGIN{ printf " %.0f MiB | %.2f s |", r/1024, t }')
  done
  echo "$line"
}

GZ=oci-layout:$W/gz:app TAR=oci-layout:$W/tar:app
"$OCL" copy -q --insecure-policy --dest-tls-verify=false "$GZ" "docker://$REG/bench/gz:v1"
row "registry → layout" "rm -rf $W/d" --src-tls-verify=false "docker://$REG/bench/gz:v1" "oci-layout:$W/d:app"
row "layout → registry (gzip layers, kept)" "$W/registry.sh" --dest-tls-verify=false "$GZ" "docker://$REG/bench/gz:v1"
row "layout → registry (tar layers: gzipped by containers/image)" "$W/registry.sh" --dest-tls-verify=false "$TAR" "docker://$REG/bench/tar:v1"
row "layout → layout, verified links" "rm -rf $W/d" "$GZ" "oci-layout:$W/d:app"
row "layout → layout on tmpfs (no links, streamed)" "rm -rf $T/d" "$GZ" "oci-layout:$T/d:app"
row "layout → dir:" "rm -rf $W/dir" "$GZ" "dir:$W/dir"
row "layout → docker-archive: (layers decompressed)" "rm -f $W/a.tar" "$GZ" "docker-archive:$W/a.tar"
row "docker-archive: → layout" "rm -rf $T/d" "docker-archive:$W/src.tar" "oci-layout:$T/d:app"
row "tar layout → layout, --dest-compress (gzip)" "rm -rf $T/d" --dest-compress "$TAR" "oci-layout:$T/d:app"
row "tar layout → layout, --dest-compress-format zstd" "rm -rf $T/d" --dest-compress-format zstd "$TAR" "oci-layout:$T/d:app"
row "tar layout → layout, --dest-compress-format zstd:chunked" "rm -rf $T/d" --dest-compress-format zstd:chunked "$TAR" "oci-layout:$T/d:app"
row "gzip layout → layout, recompressed to zstd (--dest-force-compress-format)" "rm -rf $T/d" --dest-compress-format zstd --dest-force-compress-format "$GZ" "oci-layout:$T/d:app"
