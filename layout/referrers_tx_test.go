package layout

import (
	"context"
	"slices"
	"strconv"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestRemovingAReferrerUpdatesItsFallbackTag: however a referrer entry
// leaves index.json, the subject's fallback tag stops listing it, so
// Referrers (what inspect and signedBy read) no longer finds it.
func TestRemovingAReferrerUpdatesItsFallbackTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		sigs []string
		// remove removes the referrer of signature sigs[0], whose entry
		// is at position pos with digest d.
		remove func(ctx context.Context, t *testing.T, l *Layout, pos int, d imgspecv1.Descriptor) error
		want   []string
	}{
		{"delete @digest, another stays", []string{"a", "b"}, func(ctx context.Context, t *testing.T, l *Layout, _ int, d imgspecv1.Descriptor) error {
			_, err := l.Delete(ctx, sel(t, "@"+d.Digest.String()))
			return err
		}, []string{"b"}},
		{"delete @N, another stays", []string{"a", "b"}, func(ctx context.Context, t *testing.T, l *Layout, pos int, _ imgspecv1.Descriptor) error {
			_, err := l.Delete(ctx, sel(t, "@"+strconv.Itoa(pos)))
			return err
		}, []string{"b"}},
		{"gc, after another tool removed the subject", []string{"a", "b"}, func(ctx context.Context, t *testing.T, l *Layout, _ int, _ imgspecv1.Descriptor) error {
			if err := l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				idx.Manifests = idx.Manifests[1:] // the image "app"
				return nil
			}); err != nil {
				return err
			}
			_, err := l.GC(ctx)
			return err
		}, nil},
		{"delete the only one", []string{"a"}, func(ctx context.Context, t *testing.T, l *Layout, _ int, d imgspecv1.Descriptor) error {
			_, err := l.Delete(ctx, sel(t, "@"+d.Digest.String()))
			return err
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, _ := gtCreate(t)
			img := putTestManifest(t, l, 0)
			if err := l.addManifest(ctx, img, "app"); err != nil {
				t.Fatal(err)
			}
			var sigs [][]byte
			for _, s := range tc.sigs {
				sigs = append(sigs, []byte(s))
			}
			if err := l.addSignatures(ctx, img, sigs); err != nil {
				t.Fatal(err)
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first, err := l.putSignatureArtifact(ctx, img, sigs[0])
			if err != nil {
				t.Fatal(err)
			}
			pos := slices.IndexFunc(idx.Manifests, func(e imgspecv1.Descriptor) bool { return e.Digest == first.Digest })
			if pos < 0 {
				t.Fatalf("no entry for the referrer %s", first.Digest)
			}
			if err := tc.remove(ctx, t, l, pos, first); err != nil {
				t.Fatal(err)
			}
			idx, err = l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.signatures(ctx, idx, img.Digest)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, g := range got {
				gotS = append(gotS, string(g))
			}
			if !slices.Equal(gotS, tc.want) {
				t.Errorf("signatures after the removal %q, want %q", gotS, tc.want)
			}
			checkreferrersTag(t, l, idx, img.Digest.String(), len(tc.want))
			if rep, err := l.Verify(ctx); err != nil || len(rep.Problems) != 0 {
				t.Errorf("verify: %v %v", err, rep.Problems)
			}
		})
	}
}
