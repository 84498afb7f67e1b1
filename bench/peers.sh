#!/usr/bin/env bash
# bench/peers.sh: ocilayout against oras, crane, regctl and skopeo (issue 15).
# Every row runs all tools interleaved (ocilayout-bench compare: each round
# runs each tool once, in an order that rotates round to round), medians of
# --runs rounds, and the peak RSS of each tool over its runs. Ratio = their
# time / ours (> 1: we are faster).
#
# The registry is Debian's docker-registry (filesystem storage in the work
# directory, plain HTTP on 127.0.0.1; installed with apt-get when root), or
# with --registry inprocess the in-process one (ocilayout-bench registry).
# For layout -> registry it is restarted empty before every run, so every
# tool uploads every blob (no blob already there, no cross-repository
# mount from an earlier run).
#
# Peers: oras, crane and regctl at the versions of issue 15, installed into
# bin/ with `GOBIN=bin go install` when missing; skopeo from Debian (apt-get
# when root). Not part of CI (`make bench-peers`).
#   bench/peers.sh                 modest sizes: 64 MiB, 256 MiB layout -> layout, 1,000 tags
#   bench/peers.sh --full          the sizes of issue 15: 256 MiB / 8 layers, 1 GiB, 10,000 tags
#   bench/peers.sh --reg-mib 128 --ll-mib 512 --tags 5000 --runs 5 --rows 1,2
set -euo pipefail

REG_MIB=64 LL_MIB=256 TAGS=1000 RUNS=5 ROWS=1,2,3,4 WORK=${TMPDIR:-/tmp} REGISTRY=debian
while [ $# -gt 0 ]; do
  case $1 in
    --full) REG_MIB=256 LL_MIB=1024 TAGS=10000 ;;
    --reg-mib) REG_MIB=$2; shift ;;
    --ll-mib) LL_MIB=$2; shift ;;
    --tags) TAGS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --rows) ROWS=$2; shift ;;
    --work) WORK=$2; shift ;;
    --registry) REGISTRY=$2; shift ;;
    *) echo "bench/peers.sh: unknown flag $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/bin
. "$ROOT/bench/lib.sh"
build_binaries

# The peers, pinned.
install_go_tool() { # NAME MODULE@VERSION
  [ -x "$BIN/$1" ] || { echo "installing $2 into $BIN" >&2; (cd "$ROOT" && GOBIN=$BIN go install "$2"); }
}
install_go_tool oras oras.land/oras/cmd/oras@v1.3.6
install_go_tool crane github.com/google/go-containerregistry/cmd/crane@v0.22.1
install_go_tool regctl github.com/regclient/regclient/cmd/regctl@v0.11.7
if ! command -v skopeo >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q skopeo
  else
    echo "bench/peers.sh: skopeo missing (apt-get install skopeo)" >&2; exit 1
  fi
fi
ORAS=$BIN/oras CRANE=$BIN/crane REGCTL=$BIN/regctl SKOPEO=$(command -v skopeo)

W=$(mktemp -d "$WORK/ocilayout-peers.XXXXXX")
export REGCTL_CONFIG=$W/regctl.json # regctl's config (the registry's TLS setting) stays in the work dir
cleanup() { [ -f "$W/reg.pid" ] && kill "$(cat "$W/reg.pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

want() { case ",$ROWS," in *",$1,"*) return 0 ;; esac; return 1; }

# A registry on a fixed loopback port, restartable from a -setup command:
# bench/peers.sh writes the script, compare runs it before each run.
# Debian's docker-registry (distribution 2.8, filesystem storage in the
# work directory, as in issue 15) when installed, else the in-process one;
# --registry inprocess forces the latter. The in-process registry's
# in-memory driver is fine to pull from but slow to push to (a 256 MiB push
# took about a minute here), so layout -> registry needs docker-registry.
PORT=$(free_port)
REG=127.0.0.1:$PORT
if [ "$REGISTRY" = debian ] && ! command -v docker-registry >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >/dev/null
  else
    echo "bench/peers.sh: docker-registry missing (apt-get install docker-registry), using the in-process registry" >&2
    REGISTRY=inprocess
  fi
fi
if [ "$REGISTRY" = debian ]; then
  cat > "$W/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $W/regdata}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: $REG}
EOF
  REG_CMD="docker-registry serve $W/registry.yml"
  REG_NAME="Debian docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}'), filesystem storage in $W"
else
  REG_CMD="$BENCH registry -addr $REG"
  REG_NAME="in-process distribution v3 (in-memory)"
fi
registry_script "$W" "$REG" "$REG_CMD"
"$W/registry.sh"
"$REGCTL" registry set --tls disabled "$REG" >/dev/null

NAMES=(ours oras crane regctl skopeo)
# row NAME SETUP CMD_ours --vs-- CMD_oras ... : one table row. A tool that
# has no such operation is given as the single word n/a.
row() {
  local name=$1 setup=$2; shift 2
  local -a args=() present=() cmd=()
  local i=0 a
  for a in "$@" --vs--; do
    if [ "$a" = --vs-- ]; then
      if [ "${cmd[*]}" != n/a ]; then
        [ ${#args[@]} -gt 0 ] && args+=(--vs--)
        args+=("${cmd[@]}"); present+=("$i")
      fi
      cmd=(); i=$((i + 1))
    else
      cmd+=("$a")
    fi
  done
  local out
  # The tools' own chatter goes to a file, shown only if a run fails.
  out=$("$BENCH" compare -rss -runs "$RUNS" -setup "$setup" -- "${args[@]}" 2>"$W/row.err") || { cat "$W/row.err" >&2; exit 1; }
  local -a secs kib
  read -r -a secs <<<"$(sed -n 1p <<<"$out")"
  read -r -a kib <<<"$(sed -n 2p <<<"$out")"
  local line="| $name |" ours=${secs[0]} j=0 k
  for k in 0 1 2 3 4; do
    if [ "${present[$j]:-}" = "$k" ]; then
      line+=$(awk -v t="${secs[$j]}" -v o="$ours" -v r="${kib[$j]}" -v k="$k" 'BEGIN{
        if (k == 0) printf " %.3f s, %.0f MiB |", t, r/1024; else printf " %.3f s (%.2f), %.0f MiB |", t, t/o, r/1024 }')
      j=$((j + 1))
    else
      line+=" n/a |"
    fi
  done
  echo "$line"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), $(df -T "$W" | awk 'NR==2{print $2}') at $W"
echo "ocilayout $(cd "$ROOT" && git describe --always --dirty), $("$ORAS" version | awk '/^Version/{print "oras " $2}'), crane $("$CRANE" version), regctl $("$REGCTL" version --format '{{.VCSTag}}' 2>/dev/null || echo v0.11.7), $("$SKOPEO" --version)"
echo "registry: $REG_NAME on $REG; sizes: registry image ${REG_MIB} MiB / 8 layers, layout -> layout ${LL_MIB} MiB / 4 layers, ${TAGS} tags; ${RUNS} interleaved runs, medians; cell = time (their time / ours), peak RSS"
echo
echo "| path | ours | oras 1.3.6 | crane 0.22.1 | regctl 0.11.7 | skopeo $("$SKOPEO" --version | awk '{print $3}') |"
echo "|---|---|---|---|---|---|"

COPY="$OCL copy -q --insecure-policy"
SKO="$SKOPEO copy -q --insecure-policy"
if want 1 || want 2; then
  "$BENCH" gen-image -dir "$W/s" -size $((REG_MIB << 20)) -layers 8 -seed 3
fi
if want 1; then
  $COPY --dest-tls-verify=false "oci-layout:$W/s:app" "docker://$REG/bench/app:v1" 2>/dev/null
  row "registry → layout, ${REG_MIB} MiB / 8 layers" "rm -rf $W/d" \
    $COPY --src-tls-verify=false "docker://$REG/bench/app:v1" "oci-layout:$W/d:app" \
    --vs-- "$ORAS" cp --from-plain-http "$REG/bench/app:v1" --to-oci-layout "$W/d:app" \
    --vs-- "$CRANE" pull --insecure --format oci "$REG/bench/app:v1" "$W/d" \
    --vs-- "$REGCTL" image copy "$REG/bench/app:v1" "ocidir://$W/d:app" \
    --vs-- $SKO --src-tls-verify=false "docker://$REG/bench/app:v1" "oci:$W/d:app"
fi
if want 2; then
  row "layout → registry, ${REG_MIB} MiB / 8 layers" "$W/registry.sh" \
    $COPY --dest-tls-verify=false "oci-layout:$W/s:app" "docker://$REG/bench/app:v1" \
    --vs-- "$ORAS" cp --from-oci-layout "$W/s:app" --to-plain-http "$REG/bench/app:v1" \
    --vs-- "$CRANE" push --insecure "$W/s" "$REG/bench/app:v1" \
    --vs-- "$REGCTL" image copy "ocidir://$W/s:app" "$REG/bench/app:v1" \
    --vs-- $SKO --dest-tls-verify=false "oci:$W/s:app" "docker://$REG/bench/app:v1"
fi
rm -rf "$W/s" "$W/d"
if want 3; then
  "$BENCH" gen-image -dir "$W/l" -size $((LL_MIB << 20)) -layers 4 -seed 5
  row "layout → layout, ${LL_MIB} MiB, verified links" "rm -rf $W/d" \
    $COPY "oci-layout:$W/l:app" "oci-layout:$W/d:app" \
    --vs-- "$ORAS" cp --from-oci-layout "$W/l:app" --to-oci-layout "$W/d:app" \
    --vs-- n/a \
    --vs-- "$REGCTL" image copy "ocidir://$W/l:app" "ocidir://$W/d:app" \
    --vs-- $SKO "oci:$W/l:app" "oci:$W/d:app"
  rm -rf "$W/l" "$W/d"
fi
if want 4; then
  # One layout per tool (each writes its own index.json); the same new
  # name every run, so the layouts stay at TAGS+1 names.
  for t in ours oras skopeo; do "$BENCH" gen-tags -dir "$W/t-$t" -tags "$TAGS"; done
  regctl_cmd=(n/a) # regctl rewrites the index quadratically (≈181 s at 10,000 tags in issue 15)
  if [ "$TAGS" -le 1000 ]; then
    "$BENCH" gen-tags -dir "$W/t-regctl" -tags "$TAGS"
    regctl_cmd=("$REGCTL" image copy "ocidir://$W/t-regctl:t0" "ocidir://$W/t-regctl:new")
  fi
  row "add a tag, ${TAGS} tags" "" \
    $COPY "oci-layout:$W/t-ours:t0" "oci-layout:$W/t-ours:new" \
    --vs-- "$ORAS" tag --oci-layout "$W/t-oras:t0" new \
    --vs-- n/a \
    --vs-- "${regctl_cmd[@]}" \
    --vs-- $SKO "oci:$W/t-skopeo:t0" "oci:$W/t-skopeo:new"
fi
