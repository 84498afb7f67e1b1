package layout

import (
	"context"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestSigningKeepsAUserImageNamedLikeTheFallbackTag: a user's image tagged
// "sha256-<hex of another image>" (a valid name) keeps its name when that
// other image is signed: the signature is recorded as an untagged entry,
// Referrers finds it and does not take the user's image for referrers, and
// GC keeps the user's image.
func TestSigningKeepsAUserImageNamedLikeTheFallbackTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		user func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []imgspecv1.Descriptor)
	}{
		{"an image manifest", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []imgspecv1.Descriptor) {
			return putTestManifest(t, l, 7), nil
		}},
		{"a multi-arch index", func(t *testing.T, l *Layout) (imgspecv1.Descriptor, []imgspecv1.Descriptor) {
			inst := putTestManifest(t, l, 8)
			inst.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "arm64"}
			return rtPut(t, l, imgspecv1.MediaTypeImageIndex, imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{inst}}), []imgspecv1.Descriptor{inst}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, _ := gtCreate(t)
			img := putTestManifest(t, l, 0)
			if err := l.addManifest(ctx, img, "app"); err != nil {
				t.Fatal(err)
			}
			user, inner := tc.user(t, l)
			name := referrersTag(img.Digest)
			if err := l.addManifest(ctx, user, name); err != nil {
				t.Fatal(err)
			}
			if err := l.addSignatures(ctx, img, [][]byte{[]byte("sig")}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.GC(ctx); err != nil {
				t.Fatal(err)
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			d, err := l.Resolve(ctx, idx, sel(t, name))
			if err != nil || d.Digest != user.Digest {
				t.Fatalf("%s resolves to %s (%v), want the user's image %s", name, d.Digest, err, user.Digest)
			}
			for _, b := range append(inner, user) {
				if _, err := l.statBlob(ctx, b.Digest); err != nil {
					t.Errorf("user's blob %s: %v", b.Digest, err)
				}
			}
			refs, err := l.Referrers(ctx, img.Digest, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[0].ArtifactType != testSigType {
				t.Errorf("referrers %v, want the one signature", refs)
			}
			if sigs, err := l.signatures(ctx, idx, img.Digest); err != nil || len(sigs) != 1 {
				t.Errorf("signatures %q, %v", sigs, err)
			}
		})
	}
}
