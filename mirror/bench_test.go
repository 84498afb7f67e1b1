package mirror_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/mirror"
)

// BenchmarkSync measures a first sync of 200 tags from an in-process
// registry into a new layout, a no-op re-sync (one HEAD per tag), and a
// re-sync with every tag immutable (no request), reporting the registry
// requests each made. Every tag is its own small image (one tiny layer),
// so the figures are the per-tag overhead: requests, copy.Image and one
// index.json commit.
//
//	go test -tags "$TAGS" -run '^$' -bench BenchmarkSync -benchtime 3x ./mirror
func BenchmarkSync(b *testing.B) {
	const tags = 200
	host, requests := benchRegistry(b)
	sys := benchSystemContext(b)
	policy := &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}
	tmp := b.TempDir()
	src := filepath.Join(tmp, "src")
	names := make([]string, tags)
	for i := range names {
		names[i] = fmt.Sprintf("bench/app:t%03d", i)
	}
	writeExampleLayout(src, names...)
	run := func(b *testing.B, dest string, immutable *regexp.Regexp) *mirror.Report {
		rep, err := mirror.Run(context.Background(), mirror.Options{
			Sources:       []mirror.Source{{Repository: host + "/bench/app", Sys: sys}},
			Destination:   mirror.Destination{Layout: dest, Sys: sys},
			Policy:        policy,
			ImmutableTags: immutable,
			Parallel:      4,
		})
		if err != nil {
			b.Fatal(err)
		}
		return rep
	}
	if _, err := mirror.Run(context.Background(), mirror.Options{
		Sources:     []mirror.Source{{Layout: src}},
		Destination: mirror.Destination{Registry: host, Sys: sys},
		Policy:      policy,
		Parallel:    4,
	}); err != nil {
		b.Fatal(err)
	}
	held := filepath.Join(tmp, "held")
	run(b, held, nil)

	for _, bc := range []struct {
		name      string
		dest      func(i int) string
		immutable *regexp.Regexp
		want      func(*mirror.Report) bool
	}{
		{"first", func(i int) string { return filepath.Join(tmp, fmt.Sprintf("first-%d", i)) }, nil, func(r *mirror.Report) bool { return r.Totals.Copied == tags }},
		{"noop", func(int) string { return held }, nil, func(r *mirror.Report) bool { return r.Totals.Unchanged == tags }},
		{"immutable", func(int) string { return held }, regexp.MustCompile("."), func(r *mirror.Report) bool { return r.Totals.Skipped == tags }},
	} {
		b.Run(fmt.Sprintf("%s-%d", bc.name, tags), func(b *testing.B) {
			requests.Store(0)
			i := 0
			for b.Loop() {
				if rep := run(b, bc.dest(i), bc.immutable); !bc.want(rep) {
					b.Fatalf("report %+v", rep.Totals)
				}
				i++
			}
			b.ReportMetric(float64(requests.Load())/float64(i), "requests/op")
		})
	}
}

// benchRegistry serves an in-memory distribution registry and counts the
// manifest and blob requests (not pings, tag lists or uploads).
func benchRegistry(b *testing.B) (string, *atomic.Int64) {
	app := fixture.Registry("ocilayout-bench", false)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (strings.Contains(r.URL.Path, "/manifests/") || strings.Contains(r.URL.Path, "/blobs/")) && !strings.Contains(r.URL.Path, "/uploads") &&
			(r.Method == http.MethodGet || r.Method == http.MethodHead) {
			n.Add(1)
		}
		app.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

// benchSystemContext keeps registries.conf and the blob info cache in
// temp dirs and speaks plain HTTP to the loopback registry.
func benchSystemContext(b *testing.B) *types.SystemContext {
	conf := filepath.Join(b.TempDir(), "registries.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return &types.SystemContext{
		BlobInfoCacheDir:            b.TempDir(),
		SystemRegistriesConfPath:    conf,
		SystemRegistriesConfDirPath: b.TempDir(),
		DockerInsecureSkipTLSVerify: types.OptionalBoolTrue,
	}
}
