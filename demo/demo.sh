#!/usr/bin/env bash
# demo.sh OCILAYOUT: the walk-through "make demo" runs. It builds a sample
# image from demo/rootfs, stores it in an oci-layout: layout, lists and
# inspects it, and copies it back out, narrating each step. Everything goes
# under demo/out; running it again reproduces the same digests.
set -euo pipefail

bin=${1:?usage: demo.sh PATH-TO-OCILAYOUT}
cd "$(dirname "$0")/.."
out=demo/out
layout=$out/layout
mkdir -p "$out"

n=0
step() { n=$((n + 1)); printf '\n==> %d. %s\n' "$n" "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Build the sample image from demo/rootfs and demo/config.json (a dir: image)"
show go run ./demo/mkimage -rootfs demo/rootfs -config demo/config.json -out "$out/source"

step "Copy it into the OCI layout $layout as demo:v1"
# The demo's own images need no signature: a policy file that accepts them
# keeps the demo independent of the machine's /etc/containers/policy.json.
show "$bin" copy --policy demo/policy.json --digestfile "$out/digest" \
	"dir:$out/source" "oci-layout:$layout:demo:v1"
echo "manifest digest: $(cat "$out/digest")"

step "Tag the same image again as demo:latest (the blobs are already there)"
show "$bin" copy --quiet --policy demo/policy.json "oci-layout:$layout:demo:v1" "oci-layout:$layout:demo:latest"

step "List the layout"
show "$bin" list "$layout"

step "Inspect demo:v1"
show "$bin" inspect "oci-layout:$layout:demo:v1"

step "Inspect by digest; --raw prints the manifest byte for byte"
show "$bin" inspect --raw "oci-layout:$layout:@$(cat "$out/digest")"
echo

step "Copy it back out to a dir: image"
show "$bin" copy --policy demo/policy.json "oci-layout:$layout:demo:v1" "dir:$out/export"

step "Check the round trip: same manifest, same file contents"
exported=$(sha256sum "$out/export/manifest.json" | cut -d' ' -f1)
echo "exported manifest: sha256:$exported"
if [ "sha256:$exported" != "$(cat "$out/digest")" ]; then
	echo "round trip changed the manifest" >&2
	exit 1
fi
layer=$("$bin" inspect --format '{{range .Layers}}{{.}}{{end}}' "dir:$out/export")
show tar -xzOf "$out/export/${layer#sha256:}" usr/share/ocilayout/hello.txt

printf '\nDone. The layout is in %s; run "make demo" again and the digests stay the same.\n' "$layout"
