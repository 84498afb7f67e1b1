# Every go command below gets $(TAGS): containers/image needs them to build
# without cgo-only GPGME, btrfs and devicemapper headers.
TAGS := containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper

GO          ?= go
comma := ,
space := $(subst ,, )
GOTESTFLAGS ?=
BIN         := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2

# Unit packages run with the race detector; the end-to-end integration
# tests are slow under -race and exercise the same code, so they run without.
UNIT_PKGS = $(shell $(GO) list -tags "$(TAGS)" ./... | grep -v '/integration')
HAVE_INTEGRATION = $(wildcard integration)

.PHONY: all build test tools demo interop lint bench bench-peers bench-sync mutate clean api

all: build

build:
	$(GO) build -tags "$(TAGS)" -o $(BIN)/ocilayout ./cmd/ocilayout

# SKIP_INTEGRATION: a -skip regexp for the integration tests; .ci/run sets
# it to Interop because it runs those tests once more with make interop.
SKIP_INTEGRATION ?=

test: tools
	$(GO) test -race -count=1 -tags "$(TAGS)" $(GOTESTFLAGS) $(UNIT_PKGS)
ifneq ($(HAVE_INTEGRATION),)
	$(GO) test -count=1 -tags "$(TAGS)" $(GOTESTFLAGS) $(if $(SKIP_INTEGRATION),-skip '$(SKIP_INTEGRATION)') ./integration/...
endif

demo: build
	bash demo/demo.sh $(BIN)/ocilayout

# tools: the external programs the TestInterop* and TestDockerStorage* tests run, as
# COMMAND:DEBIAN_PACKAGE. Missing ones are installed with apt-get when we are
# root; otherwise their tests skip, except under CI=true, where a missing
# tool fails the run (interop must never pass by not running).
INTEROP_TOOLS := skopeo:skopeo umoci:umoci mkfs.xfs:xfsprogs dockerd:docker.io ctr:containerd
CRANE_PKG     := github.com/google/go-containerregistry/cmd/crane@v0.22.1

tools:
	@missing=""; for tp in $(INTEROP_TOOLS); do command -v $${tp%%:*} >/dev/null 2>&1 || missing="$$missing $${tp#*:}"; done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	      echo "tools: cannot install$$missing (needs root and apt-get); their tests will skip" >&2; \
	      [ "$$CI" != true ] || exit 1; exit 0; \
	    fi; \
	    echo "tools: installing$$missing with apt-get"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  fi
	@# Go tools of the serve interop tests, pinned, into bin/.
	@[ -x $(BIN)/crane ] || GOBIN=$(BIN) $(GO) install $(CRANE_PKG)
	@[ -x $(BIN)/oci-conformance ] || GO=$(GO) bash integration/conformance-build.sh $(BIN)/oci-conformance

# Go tools the referrers interop tests run (TestInteropReferrers*), pinned
# and installed into $(BIN) once each (skipped when bin/X exists). cosign
# is big: its first build takes about 9 minutes on 2 cores; oras about 35 s.
REFERRERS_GO_TOOLS := oras=oras.land/oras/cmd/oras@v1.3.6 cosign=github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5

tools: referrers-tools
.PHONY: referrers-tools
referrers-tools:
	@for tp in $(REFERRERS_GO_TOOLS); do \
	  [ -x "$(BIN)/$${tp%%=*}" ] && continue; \
	  echo "tools: installing $${tp#*=} into $(BIN)"; \
	  GOBIN=$(BIN) $(GO) install $${tp#*=} && continue; \
	  echo "tools: cannot install $${tp#*=}; its tests will skip" >&2; \
	  [ "$$CI" != true ] || exit 1; \
	done

# interop: only the TestInterop* tests (make test runs them too).
interop: tools
	$(GO) test -count=1 -tags "$(TAGS)" $(GOTESTFLAGS) -run Interop ./integration/

# staticcheck: the one on PATH or in GOPATH/bin if any, else the pinned
# version installed into ./bin (v0.8.2 is the first that reads go1.26 code).
STATICCHECK = $(firstword $(wildcard $(BIN)/staticcheck) $(shell command -v staticcheck 2>/dev/null) $(wildcard $(shell $(GO) env GOPATH)/bin/staticcheck))

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt -l reports unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags "$(TAGS)" ./...
	@if [ -z "$(STATICCHECK)" ]; then \
	  echo "installing staticcheck $(STATICCHECK_VERSION) into $(BIN)"; \
	  GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi
	$(or $(STATICCHECK),$(BIN)/staticcheck) -tags "$(TAGS)" ./...

# mutate: mutation testing with gremlins (installed into ./bin if missing)
# of each library package in turn, its own tests only. A mutant is KILLED
# when a test fails, LIVED when all pass; efficacy = killed / (killed +
# lived). GOFLAGS=-count=1 keeps the coverage run (which sets the per-mutant
# timeout, times 3 here) out of the test cache. Not --test-cpu: v0.6.0
# passes "-cpu N" as one argument, go test refuses it and every mutant
# counts as killed. MUTATE_PKGS picks packages; about 25 min on 2 cores.
GREMLINS_VERSION := v0.6.0
MUTATE_PKGS ?= layout source destination reference policy transport
GREMLINS = $(firstword $(wildcard $(BIN)/gremlins) $(shell command -v gremlins 2>/dev/null))

mutate:
	@if [ -z "$(GREMLINS)" ]; then \
	  echo "installing gremlins $(GREMLINS_VERSION) into $(BIN)"; \
	  GOBIN=$(BIN) $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION) || exit 1; \
	fi
	@for p in $(MUTATE_PKGS); do \
	  echo "== $$p"; \
	  GOFLAGS=-count=1 $(or $(GREMLINS),$(BIN)/gremlins) unleash --tags "$(subst $(space),$(comma),$(TAGS))" \
	    --workers 2 --timeout-coefficient 3 ./$$p || exit 1; \
	done

# bench/run.sh: built-in oci: against oci-layout: with modest sizes (not
# part of CI); BENCHFLAGS=--full for the sizes in README "Benchmarks".
# The Go benchmarks of the library: go test -tags "$(TAGS)" -run '^$$' -bench . ./layout ./source ./destination
BENCHFLAGS ?=
bench:
	bash bench/run.sh $(BENCHFLAGS)

# bench/peers.sh: ocilayout against oras, crane, regctl (installed into
# bin/ at pinned versions when missing) and skopeo (Debian), interleaved,
# with peak RSS (not part of CI); PEERSFLAGS=--full for the sizes of issue 15.
PEERSFLAGS ?=
bench-peers:
	bash bench/peers.sh $(PEERSFLAGS)

# bench/sync.sh: ocilayout sync against skopeo sync --dest dir (first sync and
# no-op re-sync of 200 tags, time and registry requests); SYNCFLAGS='--rows 3,4'
# for sync at scale (10,000 tags, 100,000 names). Not part of CI.
SYNCFLAGS ?=
bench-sync:
	bash bench/sync.sh $(SYNCFLAGS)

# bench/rss.sh: peak RSS of ocilayout copy on every path of issue 15,
# compression included (not part of CI); RSSFLAGS="--base OLD_BINARY" adds
# the columns of another build, run interleaved.
RSSFLAGS ?=
.PHONY: bench-rss
bench-rss:
	bash bench/rss.sh $(RSSFLAGS)

# api: the exported identifiers and Examples per library package, the
# figures ARCHITECTURE.md quotes.
API_PKGS := layout source destination reference transport policy simplesign \
	internal/linkcache internal/imageopts layout/internal/blobstore \
	layout/internal/indexjson layout/internal/atomicfile layout/internal/flock
api:
	$(GO) run ./tools/apicount $(API_PKGS)

clean:
	rm -rf $(BIN) demo/out
