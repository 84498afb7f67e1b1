package layout

import (
	"context"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestMalformedManifestKeepsEveryBlobItNames: a manifest whose shape is
// broken (recorded by another tool) keeps every blob whose digest appears
// in it, not only the first, and of unknown size: GC removes none of them,
// and Verify names the manifest but no size problem of the blobs (their
// size is unknown, so there is nothing to compare).
func TestMalformedManifestKeepsEveryBlobItNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers int
	}{
		{"one blob named", 1},
		{"two blobs named", 2},
		{"three blobs named", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, _ := gtCreate(t)
			var named []digest.Digest
			var text []string
			for i := range tc.layers {
				layer := rtPut(t, l, imgspecv1.MediaTypeImageLayer, []byte(strings.Repeat("layer ", i+1)))
				named = append(named, layer.Digest)
				text = append(text, `"`+layer.Digest.String()+`"`)
			}
			// "layers" is an object: the document does not parse.
			bad := rtPut(t, l, imgspecv1.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":`+text[0]+`,"layers":{"x":[`+strings.Join(text, ",")+`]}}`))
			idx, err := l.Index(ctx)
			must(t, err)
			bad.Annotations = map[string]string{imgspecv1.AnnotationRefName: "bad"}
			idx.Manifests = append(idx.Manifests, bad)
			must(t, l.writeIndex(idx))

			r, err := l.Verify(ctx)
			must(t, err)
			for _, p := range r.Problems {
				if p.Kind == problemSize {
					t.Errorf("size problem of a blob the broken manifest names: %v", p)
				}
			}
			if len(r.Problems) == 0 || r.Problems[0].Digest != bad.Digest {
				t.Errorf("verify problems %v, want the broken manifest %s named", r.Problems, bad.Digest)
			}
			res, err := l.GC(ctx)
			must(t, err)
			if len(res.Blobs) != 0 {
				t.Errorf("gc removed %v", res.Blobs)
			}
			for _, d := range named {
				if _, err := l.statBlob(ctx, d); err != nil {
					t.Errorf("gc removed %s, which the broken manifest names: %v", d, err)
				}
			}
		})
	}
}
