package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkManifestHead: HEAD of a manifest by tag on a layout of 100,000
// names. After the first request has indexed index.json, a request costs
// a stat of index.json and a verified read of the manifest; index.json
// (about 25 MB here) is not read again.
func BenchmarkManifestHead(b *testing.B) {
	h := New(bigLayout(b))
	path := fmt.Sprintf("/v2/ns/app%d/manifests/v%d", 77777%1000, 77777)
	if rec := headOnce(h, path); rec.Code != 200 {
		b.Fatalf("HEAD %s: %d", path, rec.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if rec := headOnce(h, path); rec.Code != 200 {
			b.Fatalf("HEAD %s: %d", path, rec.Code)
		}
	}
}

// BenchmarkIndexReload: what a change of index.json costs the server on a
// layout of 100,000 names: reading, parsing and indexing it once.
func BenchmarkIndexReload(b *testing.B) { benchmarkReload(b, bigLayout(b)) }

// BenchmarkIndexReloadDistinct is BenchmarkIndexReload with a digest of
// its own for each name, as in a mirror, so that the snapshot indexes
// 100,000 manifests by digest, not one. Their blobs are absent: a reload
// reads no tagged manifest.
func BenchmarkIndexReloadDistinct(b *testing.B) {
	l := newLayout(b)
	idx := fixture.NewIndex()
	for i := range 100000 {
		d := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint(i)), Size: 400 + int64(i%100)}
		d.Annotations = map[string]string{imgspecv1.AnnotationRefName: fmt.Sprintf("registry.example.com/ns/app%d:v%d", i%1000, i)}
		idx.Manifests = append(idx.Manifests, d)
	}
	fixture.WriteIndex(b, l.Dir(), idx)
	benchmarkReload(b, l)
}

// benchmarkReload also reports the CPU time of a reload (the process's,
// garbage collection included): on a machine shared with other work it
// varies far less than the elapsed time.
func benchmarkReload(b *testing.B, l *layout.Layout) {
	st := layoutStore{l}
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if _, err := newIndexCache(st, Names{}).get(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// cpuTime is the user and system time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bigLayout is a layout of 100,000 names in 1,000 repositories.
func bigLayout(b *testing.B) *layout.Layout {
	l := newLayout(b)
	img := putImage(b, l, "a", "")
	const names = 100000
	// Written by hand: 100,000 Tag calls would cost 100,000 scans.
	idx := fixture.ReadIndex(b, l.Dir())
	for i := range names {
		d := img.manifest
		d.Annotations = map[string]string{imgspecv1.AnnotationRefName: fmt.Sprintf("registry.example.com/ns/app%d:v%d", i%1000, i)}
		idx.Manifests = append(idx.Manifests, d)
	}
	fixture.WriteIndex(b, l.Dir(), idx)
	return l
}

func headOnce(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", path, nil))
	return rec
}
