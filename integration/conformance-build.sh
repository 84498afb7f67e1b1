#!/usr/bin/env bash
# Builds the OCI distribution-spec conformance suite, at the pinned
# pseudo-version below, into the file named by $1. The suite is a main
# package of its own module, so it is fetched with go mod download (from
# the module proxy, verified against sum.golang.org), copied out of the
# read-only module cache and built there with its own go.mod.
set -euo pipefail
out=$(realpath -m "$1")
mod=github.com/opencontainers/distribution-spec/conformance
ver=v0.0.0-20260831232431-97274622c111
go=${GO:-go}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$go" mod init conformance-fetch >/dev/null 2>&1
dir=$(GOFLAGS=-mod=mod "$go" mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "conformance-build: go mod download $mod@$ver gave no directory" >&2
	exit 1
fi
cp -r "$dir" src
chmod -R u+w src
cd src
GOFLAGS=-mod=mod "$go" build -o "$out.tmp" .
mv "$out.tmp" "$out"
echo "conformance-build: built $mod@$ver into $out"
