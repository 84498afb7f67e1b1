package layout

import (
	"context"
	"runtime"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestWalkMemoryIsBoundedByDistinctBlobs: what a walk keeps grows with the
// distinct blobs of a layout, not with its descriptors. 10 manifests of
// 1.3 MB, each listing one layer 10,000 times (100,000 descriptors), keep
// a few kilobytes; keeping every descriptor held about 26 MiB, which is
// how verify and gc reached 1.7 GiB on a 232 MiB layout.
func TestWalkMemoryIsBoundedByDistinctBlobs(t *testing.T) {
	ctx := context.Background()
	l, _ := gtCreate(t)
	layer := rtPut(t, l, imgspecv1.MediaTypeImageLayer, []byte("one layer"))
	cfg := rtPut(t, l, imgspecv1.MediaTypeImageConfig, []byte(`{"os":"linux"}`))
	layers := make([]imgspecv1.Descriptor, 10000)
	for i := range layers {
		layers[i] = layer
	}
	var roots []imgspecv1.Descriptor
	for i := range 10 {
		m := imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
			Config: cfg, Layers: layers, Annotations: map[string]string{"n": string(rune('a' + i))}}
		roots = append(roots, rtPut(t, l, imgspecv1.MediaTypeImageManifest, m))
	}
	layers = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := l.walk(ctx, roots)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(r.problems) != 0 || !r.has(layer.Digest) || !r.has(cfg.Digest) {
		t.Fatalf("walk: problems %v, layer reached %v", r.problems, r.has(layer.Digest))
	}
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("the walk keeps %d KiB for %d descriptors", kept>>10, 10*10001)
	if kept > 8<<20 {
		t.Errorf("the walk keeps %d MiB for 12 distinct blobs; it must not grow with descriptors", kept>>20)
	}
	runtime.KeepAlive(r)
}
