package referrers

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	"oras.land/oras-go/v2"
)

// TestReferrersCopyLayoutToLayout: the whole graph (ours, unmarked, cosign
// tag, a signature of an SBOM) arrives digest for digest, is recorded as
// our entries, and leaves with its subject on delete.
func TestReferrersCopyLayoutToLayout(t *testing.T) {
	ctx := context.Background()
	src := newLayout(t)
	img := putImage(t, src, "app")
	must(t, layouttest.Tag(src, ctx, img, "app"), "tagging app")
	sbom := attach(t, src, img, sbomType, "sbom")
	attach(t, src, sbom, sigType, "sig of sbom")
	att := putForeignReferrer(t, src, img, attType, "attestation")
	putForeignReferrer(t, src, att, sigType, "sig of attestation")
	putCosignTag(t, src, img.Digest, "sig", "cosign sig")
	putCosignTag(t, src, sbom.Digest, "sig", "cosign sig of the sbom")

	dst := newLayout(t)
	// The image itself, as copy.Image would have put it.
	must(t, oras.CopyGraph(ctx, &layoutStore{l: src}, &layoutStore{l: dst}, img, oras.CopyGraphOptions{}), "copying the image")
	must(t, layouttest.Tag(dst, ctx, img, "app"), "tagging app in dst")

	res, err := Copy(ctx, Layout(src, "src"), Layout(dst, "dst"), img.Digest)
	must(t, err, "copying referrers")
	if len(res.Referrers) != 4 || len(res.Tags) != 2 {
		t.Errorf("copied %d referrers and tags %q, want 4 and 2", len(res.Referrers), res.Tags)
	}
	want, err := List(ctx, src, img.Digest, "", true)
	must(t, err, "listing src")
	got, err := List(ctx, dst, img.Digest, "", true)
	must(t, err, "listing dst")
	digests := func(rs []Referrer) []string {
		var out []string
		var walk func([]Referrer)
		walk = func(rs []Referrer) {
			for _, r := range rs {
				out = append(out, r.Digest.String()+" "+r.Tag)
				walk(r.Referrers)
			}
		}
		walk(rs)
		slices.Sort(out)
		return out
	}
	if !slices.Equal(digests(got), digests(want)) {
		t.Errorf("dst referrers\n%q\nwant\n%q", digests(got), digests(want))
	}
	// In dst every referrer is ours: found from index.json alone.
	var srcs []string
	flat(got, "", &srcs)
	for _, s := range srcs {
		if s = strings.TrimLeft(s, " "); !strings.HasPrefix(s, SourceIndex+" ") && !strings.HasPrefix(s, SourceCosignTag+" ") {
			t.Errorf("dst referrer %q is not recorded as ours", s)
		}
	}
	// Every blob of the graph is readable, verified.
	for _, r := range res.Referrers {
		rc, _, err := dst.BlobReader(ctx, r.Digest, r.Size)
		must(t, err, "opening referrer in dst")
		_, err = io.Copy(io.Discard, rc)
		must(t, err, "reading referrer in dst")
		rc.Close()
	}
	// Copying again changes nothing.
	before, err := dst.Index(ctx)
	must(t, err, "reading index")
	_, err = Copy(ctx, Layout(src, "src"), Layout(dst, "dst"), img.Digest)
	must(t, err, "copying referrers again")
	after, err := dst.Index(ctx)
	must(t, err, "reading index")
	if len(after.Manifests) != len(before.Manifests) {
		t.Errorf("a second copy changed index.json from %d to %d entries", len(before.Manifests), len(after.Manifests))
	}

	// They leave with their subject on a tag move, referrers of referrers
	// too, in the same transaction; gc then reclaims their blobs.
	other := putImage(t, dst, "other")
	must(t, layouttest.Tag(dst, ctx, other, "app"), "moving app")
	entries, err := layouttest.List(dst, ctx)
	must(t, err, "listing entries")
	if len(entries) != 1 || entries[0].Digest != other.Digest {
		t.Errorf("after moving app, dst keeps %+v, want only the new app", entries)
	}
	gc, err := dst.GC(ctx)
	must(t, err, "gc")
	if len(gc.Blobs) == 0 {
		t.Errorf("gc after the tag move removed nothing")
	}
	entries, err = layouttest.List(dst, ctx)
	must(t, err, "listing entries")
	if len(entries) != 1 || entries[0].Digest != other.Digest {
		t.Errorf("after moving app and gc, dst keeps %+v, want only the new app", entries)
	}
	for _, r := range res.Referrers {
		if _, err := dst.OpenBlob(ctx, r.Digest); err == nil {
			t.Errorf("referrer %s still in dst after the tag move and gc", r.Digest)
		}
	}
	sel, err := layout.ParseSelector("app")
	must(t, err, "selector")
	_, err = src.Delete(ctx, sel)
	must(t, err, "deleting app from src")
	entries, err = layouttest.List(src, ctx)
	must(t, err, "listing entries")
	// Whoever wrote them (ours, oras-go's unmarked entries, cosign's tags),
	// every referrer leaves with the subject.
	if len(entries) != 0 {
		t.Errorf("after deleting app, src keeps %+v, want nothing", entries)
	}
}
