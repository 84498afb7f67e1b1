#!/usr/bin/env bash
# bench/sync.sh: ocilayout sync against Debian's skopeo sync (issue 13), and
# sync at scale. Not part of CI (`make bench-sync`).
#
# The registry is ocilayout-bench's in-process distribution registry on
# loopback, started holding generated images (each tag its own image: one
# 1 KiB layer, a config, an OCI manifest; written through distribution's
# storage API, so 10,000 tags are ready in seconds), counting every request
# at its HTTP handler. Both tools sync the same repository from the same
# registry in the same run.
#
# Rows (--rows):
#   1  first sync of TAGS tags (default 200): ocilayout into a new layout
#      against skopeo sync --src docker --dest dir into a new directory,
#      interleaved (ocilayout-bench compare), median of --runs rounds
#   2  no-op re-sync: ocilayout into the layout it filled, skopeo into the
#      directory it filled. skopeo 1.9.3 refuses to sync into a directory
#      that exists ("Refusing to overwrite destination directory"): its
#      only re-sync into dir is a new directory, so its row is that
#   3  first sync of SCALE_TAGS (default 10,000) distinct tags into a new
#      layout, ocilayout only, one run: time, peak RSS, requests
#   4  no-op re-sync of a layout of NAMES (default 100,000) names: the
#      registry holds NAMES tags of one image (gen-tags without
#      -gen-distinct); the layout is filled by a first sync (not timed
#      here, printed), then re-synced: one HEAD per tag; and the same
#      layout re-synced with --immutable-tags . (no request per tag)
# Requests are counted on one more run of each command (they do not vary).
#
#   bench/sync.sh                          rows 1,2 (200 tags, 5 rounds)
#   bench/sync.sh --rows 3,4               the scale rows
#   bench/sync.sh --tags 200 --runs 7 --scale-tags 10000 --names 100000 --parallel 4
set -euo pipefail

TAGS=200 RUNS=5 ROWS=1,2 SCALE_TAGS=10000 NAMES=100000 PARALLEL=4 WORK=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
  case $1 in
    --tags) TAGS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --rows) ROWS=$2; shift ;;
    --scale-tags) SCALE_TAGS=$2; shift ;;
    --names) NAMES=$2; shift ;;
    --parallel) PARALLEL=$2; shift ;;
    --work) WORK=$2; shift ;;
    *) echo "bench/sync.sh: unknown flag $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/bin
. "$ROOT/bench/lib.sh"
build_binaries
if ! command -v skopeo >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q skopeo
  else
    echo "bench/sync.sh: skopeo missing (apt-get install skopeo, or make tools)" >&2; exit 1
  fi
fi
SKOPEO=$(command -v skopeo)

W=$(mktemp -d "$WORK/ocilayout-sync.XXXXXX")
cleanup() { [ -f "$W/reg.pid" ] && kill "$(cat "$W/reg.pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
want() { case ",$ROWS," in *",$1,"*) return 0 ;; esac; return 1; }

# registry ARGS...: (re)start the counting registry holding the images ARGS generate.
REG=
registry() {
  if [ -f "$W/reg.pid" ]; then kill "$(cat "$W/reg.pid")" 2>/dev/null || true; rm -f "$W/reg.pid"; fi
  "$BENCH" registry -count "$@" > "$W/reg.out" 2>&1 < /dev/null &
  echo $! > "$W/reg.pid"
  until grep -q '^ready ' "$W/reg.out" 2>/dev/null; do
    kill -0 "$(cat "$W/reg.pid")" 2>/dev/null || { cat "$W/reg.out" >&2; exit 1; }
    sleep 0.05
  done
  REG=$(awk '/^ready /{print $2}' "$W/reg.out")
}
# requests CMD...: run CMD once and print its registry requests, "TOTAL (HEAD-manifest H, GET-manifest M, GET-blob B, ping P)".
requests() {
  "$BENCH" requests -addr "$REG" -reset >/dev/null
  "$@" >/dev/null 2>"$W/req.err" || { cat "$W/req.err" >&2; exit 1; }
  "$BENCH" requests -addr "$REG" -reset | awk '
    {c[$1]=$2} END {printf "%d (HEAD manifest %d, GET manifest %d, GET blob %d, ping %d, tag list %d)", c["total"], c["HEAD-manifest"], c["GET-manifest"], c["GET-blob"], c["GET-ping"], c["GET-tags"]}'
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(df -T "$W" | awk 'NR==2{print $2}') at $W"
echo "ocilayout $(cd "$ROOT" && git describe --always --dirty), $("$SKOPEO" --version); ocilayout sync --parallel $PARALLEL"
echo

OURS=("$OCL" sync -q --src-tls-verify=false --parallel "$PARALLEL")
SKO=("$SKOPEO" --insecure-policy sync --src docker --dest dir --src-tls-verify=false)
if want 1 || want 2; then
  registry -gen-tags "$TAGS" -gen-distinct
  echo "registry: in-process distribution v3 (in-memory) on $REG, bench/app: $TAGS tags, each its own image; $RUNS interleaved rounds, medians; ratio = skopeo / ours"
  echo
  echo "| $TAGS tags | ocilayout sync | skopeo sync --dest dir | ratio |"
  echo "|---|---|---|---|"
  pair() { # NAME SETUP: times the two commands interleaved, then counts their requests
    local out secs kib
    out=$("$BENCH" compare -rss -runs "$RUNS" -setup "$2" -- "${OURS[@]}" "docker://$REG/bench/app" "$W/ours" --vs-- "${SKO[@]}" "$REG/bench/app" "$W/sko" 2>"$W/row.err") || { cat "$W/row.err" >&2; exit 1; }
    read -r -a secs <<<"$(sed -n 1p <<<"$out")"
    read -r -a kib <<<"$(sed -n 2p <<<"$out")"
    sh -c "$2"; local rq_ours rq_sko
    rq_ours=$(requests "${OURS[@]}" "docker://$REG/bench/app" "$W/ours")
    sh -c "$2"; rq_sko=$(requests "${SKO[@]}" "$REG/bench/app" "$W/sko")
    awk -v a="${secs[0]}" -v b="${secs[1]}" -v ka="${kib[0]}" -v kb="${kib[1]}" -v n="$1" 'BEGIN{
      printf "| %s: time, peak RSS | %.3f s, %.0f MiB | %.3f s, %.0f MiB | %.2f |\n", n, a, ka/1024, b, kb/1024, b/a }'
    local ta tb; ta=${rq_ours%% *}; tb=${rq_sko%% *}
    awk -v a="$rq_ours" -v b="$rq_sko" -v ta="$ta" -v tb="$tb" -v n="$1" 'BEGIN{
      printf "| %s: requests | %s | %s | %.2f |\n", n, a, b, tb/ta }'
  }
  if want 1; then pair "first sync" "rm -rf $W/ours $W/sko"; fi
  if want 2; then
    # Fill both once; ours is then re-synced in place, skopeo's re-created.
    rm -rf "$W/ours" "$W/sko"; "${OURS[@]}" "docker://$REG/bench/app" "$W/ours" >/dev/null
    pair "no-op re-sync" "rm -rf $W/sko"
  fi
  echo
fi

if want 3; then
  registry -gen-tags "$SCALE_TAGS" -gen-distinct
  read -r secs kib <<<"$("$BENCH" measure -runs 1 -setup "rm -rf $W/scale" -- "${OURS[@]}" "docker://$REG/bench/app" "$W/scale")"
  rm -rf "$W/scale"; rq=$(requests "${OURS[@]}" "docker://$REG/bench/app" "$W/scale")
  echo "| first sync, $SCALE_TAGS distinct tags into a new layout | $secs s | $((kib / 1024)) MiB | $rq |"
  rm -rf "$W/scale"
fi
if want 4; then
  registry -gen-tags "$NAMES"
  start=$(date +%s.%N); "${OURS[@]}" "docker://$REG/bench/app" "$W/names" >/dev/null; fill=$(echo "$(date +%s.%N) - $start" | bc)
  echo "(filled $W/names with $NAMES names of one image by a first sync in $fill s; index.json $(du -h "$W/names/index.json" | cut -f1))"
  read -r secs kib <<<"$("$BENCH" measure -runs 1 -- "${OURS[@]}" "docker://$REG/bench/app" "$W/names")"
  rq=$(requests "${OURS[@]}" "docker://$REG/bench/app" "$W/names")
  echo "| no-op re-sync, $NAMES names | $secs s | $((kib / 1024)) MiB | $rq |"
  read -r secs kib <<<"$("$BENCH" measure -runs 1 -- "${OURS[@]}" --immutable-tags . "docker://$REG/bench/app" "$W/names")"
  rq=$(requests "${OURS[@]}" --immutable-tags . "docker://$REG/bench/app" "$W/names")
  echo "| no-op re-sync, $NAMES names, --immutable-tags . | $secs s | $((kib / 1024)) MiB | $rq |"
fi
