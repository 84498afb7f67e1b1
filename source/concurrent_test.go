package source_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
)

// newImage stores an image with the given layers in a new layout and
// returns a reference to it tagged "app".
func newImage(tb testing.TB, layers ...[]byte) (types.ImageReference, []imgspecv1.Descriptor) {
	tb.Helper()
	ctx := context.Background()
	dir := filepath.Join(tb.TempDir(), "layout")
	l, err := layout.Create(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd, err := layouttest.PutBytes(l, ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	m := imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))}}
	for _, data := range layers {
		d, _, err := l.PutBlob(ctx, bytes.NewReader(data), "", int64(len(data)))
		if err != nil {
			tb.Fatal(err)
		}
		m.Layers = append(m.Layers, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: d, Size: int64(len(data))})
	}
	mb, _ := json.Marshal(m)
	md, err := layouttest.PutBytes(l, ctx, mb)
	if err != nil {
		tb.Fatal(err)
	}
	if err := layouttest.Tag(l, ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(mb))}, "app"); err != nil {
		tb.Fatal(err)
	}
	ref, err := reference.NewReference(dir, "app")
	if err != nil {
		tb.Fatal(err)
	}
	return ref, m.Layers
}

// HasThreadSafeGetBlob is true, so copy.Image calls GetBlob from many
// goroutines on one Source; under -race this shows they share nothing
// mutable, and every stream still delivers exactly its blob.
func TestConcurrentGetBlob(t *testing.T) {
	var layers [][]byte
	for range 4 {
		b := make([]byte, 300<<10)
		_, _ = rand.Read(b)
		layers = append(layers, b)
	}
	ref, descs := newImage(t, layers...)
	sys := &types.SystemContext{BlobInfoCacheDir: t.TempDir()}
	src, err := ref.NewImageSource(context.Background(), sys)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.HasThreadSafeGetBlob() {
		t.Fatal("HasThreadSafeGetBlob is false")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(descs))
	for round := range 4 {
		for i, d := range descs {
			wg.Go(func() {
				rc, _, err := src.GetBlob(context.Background(), types.BlobInfo{Digest: d.Digest, Size: d.Size}, nil)
				if err != nil {
					errs <- err
					return
				}
				defer rc.Close()
				got, err := io.ReadAll(rc)
				if err == nil && !bytes.Equal(got, layers[i]) {
					t.Errorf("round %d: layer %d: wrong content", round, i)
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
