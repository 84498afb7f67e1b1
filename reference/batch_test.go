package reference_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
)

// batchSource writes n one-layer images named i0..i(n-1) into a new layout.
func batchSource(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "src")
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	put := func(mt string, data []byte) imgspecv1.Descriptor {
		d, err := layouttest.PutBytes(l, ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		return imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data))}
	}
	for i := range n {
		layer := []byte{byte(i), 1, 2, 3}
		cfg, _ := json.Marshal(imgspecv1.Image{Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
			RootFS: imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(layer)}}})
		m, _ := json.Marshal(imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
			Config: put(imgspecv1.MediaTypeImageConfig, cfg), Layers: []imgspecv1.Descriptor{put(imgspecv1.MediaTypeImageLayer, layer)}})
		if err := layouttest.Tag(l, ctx, put(imgspecv1.MediaTypeImageManifest, m), "i"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBatch: copies through WithBatch store their blobs but name nothing
// until Commit, which names them all in one transaction; a batch closed
// without Commit leaves no name (and its blobs to gc).
func TestBatch(t *testing.T) {
	ctx := context.Background()
	src := batchSource(t, 3)
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	names := func(dir string) map[string]bool {
		l, err := layout.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		es, err := layouttest.List(l, ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, e := range es {
			out[e.Name] = true
		}
		return out
	}
	for _, commit := range []bool{true, false} {
		dst := filepath.Join(t.TempDir(), "dst")
		b, err := reference.NewBatch(ctx, dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"i0", "i1", "i2"} {
			s, _ := reference.NewReference(src, n)
			d, _ := reference.NewReference(dst, "copy-"+n)
			if _, err := copy.Image(ctx, pc, reference.With(d, reference.WithBatch(b)), s, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := names(dst); len(got) != 0 {
			t.Fatalf("names before Commit: %v", got)
		}
		if b.Len() != 3 {
			t.Fatalf("Len() = %d, want 3", b.Len())
		}
		if commit {
			if n, err := b.Commit(ctx); err != nil || n != 3 {
				t.Fatalf("Commit = %d, %v", n, err)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		got := names(dst)
		if commit && (!got["copy-i0"] || !got["copy-i1"] || !got["copy-i2"] || len(got) != 3) {
			t.Fatalf("names after Commit: %v", got)
		}
		if !commit && len(got) != 0 {
			t.Fatalf("names after Close without Commit: %v", got)
		}
		l, _ := layout.Open(dst)
		res, err := l.GC(ctx, layout.DryRun())
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		if commit != (len(res.Blobs) == 0) {
			t.Fatalf("commit=%v: gc would remove %d blobs", commit, len(res.Blobs))
		}
	}
}
