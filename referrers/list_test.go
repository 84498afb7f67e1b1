package referrers

import (
	"context"
	"slices"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// countOpens makes readManifest count the manifests a listing opens.
func countOpens(t testing.TB) *int {
	n := new(int)
	subjectOf.Lock()
	clear(subjectOf.m) // what another test listed
	subjectOf.Unlock()
	orig := readManifest
	readManifest = func(ctx context.Context, l *layout.Layout, d imgspecv1.Descriptor) ([]byte, error) {
		*n++
		return orig(ctx, l, d)
	}
	t.Cleanup(func() { readManifest = orig })
	return n
}

// TestReferrersList: every way a tool records a referrer in a layout is
// found, recursively and by artifact type, opening only the manifests of
// unmarked candidates.
func TestReferrersList(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	img := putImage(t, l, "app")
	other := putImage(t, l, "other")
	must(t, layouttest.Tag(l, ctx, img, "app"), "tagging app")
	must(t, layouttest.Tag(l, ctx, other, "other"), "tagging other")
	sbom := attach(t, l, img, sbomType, "sbom")
	sbomSig := attach(t, l, sbom, sigType, "sig of sbom")
	att := putForeignReferrer(t, l, img, attType, "attestation")
	attSig := putForeignReferrer(t, l, att, sigType, "sig of attestation")
	putForeignReferrer(t, l, other, attType, "other's attestation")
	cosign := putCosignTag(t, l, img.Digest, "sig", "cosign sig")
	short := func(d imgspecv1.Descriptor) string { return d.Digest.Encoded()[:8] }

	for _, tc := range []struct {
		name         string
		artifactType string
		recursive    bool
		want         []string
	}{
		{"direct", "", false, []string{
			"index " + sbomType + " " + short(sbom),
			"manifest " + attType + " " + short(att),
			"cosign-tag " + CosignArtifactType("sig") + " " + short(cosign),
		}},
		{"recursive", "", true, []string{
			"index " + sbomType + " " + short(sbom),
			"  index " + sigType + " " + short(sbomSig),
			"manifest " + attType + " " + short(att),
			"  manifest " + sigType + " " + short(attSig),
			"cosign-tag " + CosignArtifactType("sig") + " " + short(cosign),
		}},
		{"by artifact type, children of any type", attType, true, []string{
			"manifest " + attType + " " + short(att),
			"  manifest " + sigType + " " + short(attSig),
		}},
		{"cosign type", CosignArtifactType("sig"), false, []string{
			"cosign-tag " + CosignArtifactType("sig") + " " + short(cosign),
		}},
		{"none of that type", "application/x-none", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opens := countOpens(t)
			rs, err := List(ctx, l, img.Digest, tc.artifactType, tc.recursive)
			must(t, err, "listing")
			var got []string
			flat(rs, "", &got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			// The three unmarked referrers are the only manifests opened.
			if *opens != 3 {
				t.Errorf("listing opened %d manifests, want the 3 unmarked candidates", *opens)
			}
			// A process reads a candidate once: they are content-addressed.
			_, err = List(ctx, l, img.Digest, tc.artifactType, tc.recursive)
			must(t, err, "listing again")
			if *opens != 3 {
				t.Errorf("listing again opened %d more manifests, want none", *opens-3)
			}
		})
	}
}

// TestReferrersFallbackTag: a referrer only the subject's fallback tag
// lists (as regclient writes it) is found, with its source.
func TestReferrersFallbackTag(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	img := putImage(t, l, "app")
	must(t, layouttest.Tag(l, ctx, img, "app"), "tagging app")
	ref := putJSON(t, l, imgspecv1.MediaTypeImageManifest, map[string]any{
		"schemaVersion": 2, "mediaType": imgspecv1.MediaTypeImageManifest, "artifactType": sbomType,
		"config": imgspecv1.DescriptorEmptyJSON, "layers": []any{imgspecv1.DescriptorEmptyJSON}, "subject": img,
	})
	ref.ArtifactType = sbomType
	tagIndex := putJSON(t, l, imgspecv1.MediaTypeImageIndex, imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{ref}})
	must(t, layouttest.Tag(l, ctx, tagIndex, "sha256-"+img.Digest.Encoded()), "writing the fallback tag")
	rs, err := List(ctx, l, img.Digest, "", true)
	must(t, err, "listing")
	if len(rs) != 1 || rs[0].Digest != ref.Digest || rs[0].Source != SourceFallbackTag || rs[0].ArtifactType != sbomType {
		t.Errorf("got %+v, want %s from the fallback tag", rs, ref.Digest)
	}
}
