package layout

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestGCAtTheManifestSizeLimit: an entry without a media type is
// classified by its content when it is at most maxManifestSize bytes (the
// readers read it, so GC keeps its config), and is a leaf one byte past it
// (the readers refuse it, so nothing it names is reachable).
func TestGCAtTheManifestSizeLimit(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		size       int
		configKept bool
	}{
		{"one byte under the limit", maxManifestSize - 1, true},
		{"exactly the limit", maxManifestSize, true},
		{"one byte over the limit", maxManifestSize + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
			cd, err := l.putBytes(ctx, cfg)
			must(t, err)
			// No mediaType in the document or in the entry: only its shape
			// (a config) says it is a manifest.
			m, _ := json.Marshal(imgspecv1.Manifest{
				Versioned: imgspec.Versioned{SchemaVersion: 2},
				Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))},
				Layers:    []imgspecv1.Descriptor{},
			})
			m = append(m, bytes.Repeat([]byte(" "), tc.size-len(m))...) // JSON allows trailing space
			md, err := l.putBytes(ctx, m)
			must(t, err)
			must(t, l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{Digest: md, Size: int64(len(m)),
					Annotations: map[string]string{imgspecv1.AnnotationRefName: "app"}})
				return nil
			}))
			if _, err := l.GC(ctx); err != nil {
				t.Fatalf("GC: %v", err)
			}
			_, err = l.ReadBlob(ctx, cd, int64(len(cfg)))
			if kept := err == nil; kept != tc.configKept {
				t.Errorf("config of a %d-byte manifest kept = %v (%v), want %v", tc.size, kept, err, tc.configKept)
			}
			if _, err := l.statBlob(ctx, md); err != nil {
				t.Errorf("GC removed the entry's own blob: %v", err)
			}
		})
	}
}
