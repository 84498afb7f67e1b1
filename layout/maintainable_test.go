package layout

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestMalformedManifests: a manifest the walker cannot follow whole is
// refused when a writer records it (IndexTx.Tag), and one recorded behind
// the engine's back does not stop GC: GC names it, keeps every blob it
// names, and still collects the real garbage.
func TestMalformedManifests(t *testing.T) {
	for _, tc := range []struct {
		name string
		// manifest returns the document, naming layer somewhere.
		manifest func(layer imgspecv1.Descriptor) []byte
	}{
		{`"config": {}`, func(layer imgspecv1.Descriptor) []byte {
			return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + layer.Digest.String() + `","size":` + itoa(layer.Size) + `}]}`)
		}},
		{"a layer with a malformed digest", func(layer imgspecv1.Descriptor) []byte {
			return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + layer.Digest.String() + `","size":` + itoa(layer.Size) + `},"layers":[{"digest":"sha256:abc","size":1}]}`)
		}},
		{"layers of the wrong type", func(layer imgspecv1.Descriptor) []byte {
			return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":"` + layer.Digest.String() + `","layers":{}}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, _ := gtCreate(t)
			good := gtManifest(t, l, "good")
			if err := l.addManifest(ctx, good, "good"); err != nil {
				t.Fatal(err)
			}
			layer := rtPut(t, l, imgspecv1.MediaTypeImageLayer, []byte("layer named by the bad manifest"))
			bad := rtPut(t, l, imgspecv1.MediaTypeImageManifest, tc.manifest(layer))
			err := l.addManifest(ctx, bad, "bad")
			if err == nil || !strings.Contains(err.Error(), bad.Digest.String()) {
				t.Fatalf("recording the malformed manifest: %v, want a refusal naming it", err)
			}

			// Recorded anyway, by another tool.
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			bad.Annotations = map[string]string{imgspecv1.AnnotationRefName: "bad"}
			idx.Manifests = append(idx.Manifests, bad)
			if err := l.writeIndex(idx); err != nil {
				t.Fatal(err)
			}
			junk := rtPut(t, l, "", []byte("garbage"))
			res, err := l.GC(ctx)
			if err != nil {
				t.Fatalf("gc with one malformed manifest: %v", err)
			}
			if len(res.Blobs) != 1 || res.Blobs[0].Digest != junk.Digest {
				t.Errorf("gc removed %v, want only %s", res.Blobs, junk.Digest)
			}
			named := false
			for _, p := range res.Skipped {
				named = named || strings.Contains(p.String(), bad.Digest.String())
			}
			if !named {
				t.Errorf("gc skipped %v, want the malformed manifest %s named", res.Skipped, bad.Digest)
			}
			for _, d := range []digest.Digest{layer.Digest, bad.Digest, good.Digest} {
				if _, err := l.statBlob(ctx, d); err != nil {
					t.Errorf("gc removed %s: %v", d, err)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
