package layout

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// rtPut stores v (marshalled unless it is a []byte) as a blob and returns
// a descriptor of it with mediaType t ("" for none).
func rtPut(t *testing.T, l *Layout, t2 string, v any) imgspecv1.Descriptor {
	t.Helper()
	data, ok := v.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	d, err := l.putBytes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: t2, Digest: d, Size: int64(len(data))}
}

// rtImage stores a config and a layer and a manifest over them (its own
// mediaType field set to manifestType, "" for none); it returns the
// manifest's descriptor (without mediaType) and the digests of the config
// and layer.
func rtImage(t *testing.T, l *Layout, manifestType, seed string) (imgspecv1.Descriptor, []digest.Digest) {
	t.Helper()
	cfg := rtPut(t, l, imgspecv1.MediaTypeImageConfig, []byte(`{"os":"linux","seed":"`+seed+`"}`))
	layer := rtPut(t, l, imgspecv1.MediaTypeImageLayer, []byte("layer of "+seed))
	m := map[string]any{"schemaVersion": 2, "config": cfg, "layers": []imgspecv1.Descriptor{layer}}
	if manifestType != "" {
		m["mediaType"] = manifestType
	}
	return rtPut(t, l, "", m), []digest.Digest{cfg.Digest, layer.Digest}
}

// TestGCKeepsWhatReadersRead builds images whose descriptors lack a
// mediaType or carry one the walker does not know, which containers/image
// reads by guessing the type from the content, and checks that GC keeps
// every blob of them and that a digest inside them still resolves.
func TestGCKeepsWhatReadersRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		// build returns the index.json entry, the blobs GC must keep
		// and a digest that must resolve.
		build func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []digest.Digest, digest.Digest)
	}{
		{"instance of an index without mediaType", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []digest.Digest, digest.Digest) {
			m, keep := rtImage(t, l, imgspecv1.MediaTypeImageManifest, "a")
			m.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "amd64"}
			idx := rtPut(t, l, imgspecv1.MediaTypeImageIndex, map[string]any{"schemaVersion": 2, "mediaType": imgspecv1.MediaTypeImageIndex, "manifests": []imgspecv1.Descriptor{m}})
			return idx, append(keep, m.Digest, idx.Digest), m.Digest
		}},
		{"index.json entry without mediaType", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []digest.Digest, digest.Digest) {
			m, keep := rtImage(t, l, imgspecv1.MediaTypeImageManifest, "b")
			return m, append(keep, m.Digest), m.Digest
		}},
		{"manifest without mediaType anywhere", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []digest.Digest, digest.Digest) {
			m, keep := rtImage(t, l, "", "c")
			return m, append(keep, m.Digest), m.Digest
		}},
		{"index without mediaType anywhere, behind an unknown type", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []digest.Digest, digest.Digest) {
			m, keep := rtImage(t, l, "", "d")
			inner := rtPut(t, l, "", map[string]any{"schemaVersion": 2, "manifests": []imgspecv1.Descriptor{m}})
			outer := rtPut(t, l, "application/x-unknown", map[string]any{"schemaVersion": 2, "manifests": []imgspecv1.Descriptor{inner}})
			return outer, append(keep, m.Digest, inner.Digest, outer.Digest), m.Digest
		}},
		{"docker schema1 manifest", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []digest.Digest, digest.Digest) {
			layer := rtPut(t, l, "", []byte("schema1 layer"))
			m := rtPut(t, l, "application/vnd.docker.distribution.manifest.v1+prettyjws", map[string]any{
				"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []map[string]string{{"blobSum": layer.Digest.String()}},
			})
			return m, []digest.Digest{layer.Digest, m.Digest}, m.Digest
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, _ := gtCreate(t)
			entry, keep, inner := tc.build(t, l)
			if err := l.addManifest(ctx, entry, "img"); err != nil {
				t.Fatal(err)
			}
			junk := rtPut(t, l, "", []byte("garbage"))
			res, err := l.GC(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Blobs) != 1 || res.Blobs[0].Digest != junk.Digest {
				t.Errorf("gc removed %v, want only the garbage blob %s", res.Blobs, junk.Digest)
			}
			for _, d := range keep {
				if _, err := l.statBlob(ctx, d); err != nil {
					t.Errorf("gc removed %s, which a reader reads: %v", d, err)
				}
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Resolve(ctx, idx, Selector{kind: selectDigest, digest: inner}); err != nil {
				t.Errorf("resolving @%s: %v", inner, err)
			}
			if rep, err := l.Verify(ctx); err != nil || len(rep.Problems) != 0 {
				t.Errorf("verify: %v %v", err, rep.Problems)
			}
		})
	}
}

// TestGCRefusesWhatItCannotClassify: an entry without mediaType whose blob
// cannot be read may be an image whose blobs are present; GC must not
// collect them, and says which entry stopped it.
func TestGCRefusesWhatItCannotClassify(t *testing.T) {
	ctx := context.Background()
	l, dir := gtCreate(t)
	m, keep := rtImage(t, l, imgspecv1.MediaTypeImageManifest, "e")
	if err := l.addManifest(ctx, m, "img"); err != nil {
		t.Fatal(err)
	}
	p, _ := l.blobPath(m.Digest)
	gtWriteRaw(t, filepath.Join(dir, p), []byte(strings.Repeat("x", int(m.Size)))) // right size, wrong bytes
	_, err := l.GC(ctx)
	if err == nil || !strings.Contains(err.Error(), m.Digest.String()) {
		t.Fatalf("gc: %v, want a refusal naming %s", err, m.Digest)
	}
	for _, d := range keep {
		if _, err := l.statBlob(ctx, d); err != nil {
			t.Errorf("gc removed %s: %v", d, err)
		}
	}
}
