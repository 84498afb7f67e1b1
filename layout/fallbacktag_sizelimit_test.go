package layout

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestFallbackTagOfAnotherToolAtTheSizeLimit: a fallback tag another tool
// wrote, whose descriptors carry no artifactType, is read as a referrers
// list when a manifest it lists names the subject; a manifest of exactly
// maxManifestSize bytes is read for that (the readers read it), one byte
// more is not (nothing reads it), and the tag is then the user's image.
func TestFallbackTagOfAnotherToolAtTheSizeLimit(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		size   int
		listed bool
	}{
		{"exactly the limit", maxManifestSize, true},
		{"one byte over the limit", maxManifestSize + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			subject := putTestManifest(t, l, 1)
			must(t, l.addManifest(ctx, subject, "app"))
			empty, err := l.putBytes(ctx, emptyJSON)
			must(t, err)
			ref, _ := json.Marshal(imgspecv1.Manifest{
				Versioned: imgspec.Versioned{SchemaVersion: 2},
				MediaType: imgspecv1.MediaTypeImageManifest,
				Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeEmptyJSON, Digest: empty, Size: int64(len(emptyJSON))},
				Layers:    []imgspecv1.Descriptor{},
				Subject:   &subject,
			})
			ref = append(ref, bytes.Repeat([]byte(" "), tc.size-len(ref))...)
			rd, err := l.putBytes(ctx, ref)
			must(t, err)
			refDesc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: rd, Size: int64(len(ref))}
			list, _ := json.Marshal(imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex,
				Manifests: []imgspecv1.Descriptor{refDesc}})
			ld, err := l.putBytes(ctx, list)
			must(t, err)
			must(t, l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				applyTag(idx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: ld, Size: int64(len(list))}, referrersTag(subject.Digest))
				return nil
			}))
			refs, err := l.Referrers(ctx, subject.Digest, "")
			must(t, err)
			if listed := len(refs) == 1 && refs[0].Digest == rd; listed != tc.listed {
				t.Errorf("Referrers = %v: the %d-byte referrer listed = %v, want %v", refs, tc.size, listed, tc.listed)
			}
		})
	}
}
