package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestDigestSelectorSkipsUnreadableIndexes: @DIGEST of an instance is
// found although another, unrelated index listed before it cannot be read
// (missing or corrupt), and the unreadable index is named only when the
// digest is found nowhere.
func TestDigestSelectorSkipsUnreadableIndexes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, path string)
	}{
		{"missing", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
		{"corrupt", func(t *testing.T, p string) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			gtWriteRaw(t, p, data)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, dir := gtCreate(t)
			index := func(seed string) (imgspecv1.Descriptor, imgspecv1.Descriptor) {
				inst := gtManifest(t, l, seed)
				return rtPut(t, l, imgspecv1.MediaTypeImageIndex, imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{inst}}), inst
			}
			broken, _ := index("unrelated")
			good, inst := index("wanted")
			for name, d := range map[string]imgspecv1.Descriptor{"a-broken": broken, "b-good": good} {
				if err := l.addManifest(ctx, d, name); err != nil {
					t.Fatal(err)
				}
			}
			p, _ := l.blobPath(broken.Digest)
			tc.breakIt(t, filepath.Join(dir, p))
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Put the broken index first, whatever the map order was.
			if idx.Manifests[0].Digest != broken.Digest {
				idx.Manifests[0], idx.Manifests[1] = idx.Manifests[1], idx.Manifests[0]
			}
			if d, err := l.Resolve(ctx, idx, sel(t, "@"+inst.Digest.String())); err != nil || d.Digest != inst.Digest {
				t.Errorf("@%s: %v %v, want the instance", inst.Digest, d.Digest, err)
			}
			absent := gtManifest(t, l, "absent")
			_, err = l.Resolve(ctx, idx, sel(t, "@"+absent.Digest.String()))
			if err == nil || !strings.Contains(err.Error(), broken.Digest.String()) {
				t.Errorf("@absent: %v, want an error naming the unreadable index %s", err, broken.Digest)
			}
		})
	}
}
