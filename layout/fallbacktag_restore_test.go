package layout

import (
	"bytes"
	"context"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestAddingKnownReferrersRestoresTheFallbackTag: recording referrers that
// index.json already holds changes nothing, unless the subject's fallback
// tag is gone (another tool removed the entry): then the transaction
// writes it again, so tools that read only the tag find the referrers.
func TestAddingKnownReferrersRestoresTheFallbackTag(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		dropTag   bool
		wantWrite bool // the tag's entry is (re)written
	}{
		{"tag present: nothing to do", false, false},
		{"tag removed by another tool: written again", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			subject := putTestManifest(t, l, 1)
			must(t, l.addManifest(ctx, subject, "app"))
			must(t, l.addManifest(ctx, putTestManifest(t, l, 2), "other"))
			sig := []byte("sig")
			sd, err := l.putBytes(ctx, sig)
			must(t, err)
			refs, err := l.Attach(ctx, subject, sigArtifact(sd, sig))
			must(t, err)
			tag := referrersTag(subject.Digest)
			if tc.dropTag {
				must(t, l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
					kept := idx.Manifests[:0]
					for _, e := range idx.Manifests {
						if entryName(e) != tag {
							kept = append(kept, e)
						}
					}
					idx.Manifests = kept
					return nil
				}))
			}
			before, err := l.Index(ctx)
			must(t, err)
			must(t, l.Update(ctx, func(tx *IndexTx) error { return tx.AddReferrers(subject.Digest, refs...) }))
			after, err := l.Index(ctx)
			must(t, err)
			var tagged *imgspecv1.Descriptor
			for i, e := range after.Manifests {
				if entryName(e) == tag {
					tagged = &after.Manifests[i]
				}
			}
			if tagged == nil {
				t.Fatalf("no fallback tag %s after recording the referrers again; index: %+v", tag, after.Manifests)
			}
			if wrote := len(after.Manifests) != len(before.Manifests); wrote != tc.wantWrite {
				t.Errorf("entries %d -> %d: tag written = %v, want %v", len(before.Manifests), len(after.Manifests), wrote, tc.wantWrite)
			}
			list, err := l.ReadBlob(ctx, tagged.Digest, tagged.Size)
			must(t, err)
			if !bytes.Contains(list, []byte(refs[0].Digest.String())) {
				t.Errorf("fallback tag's index does not list referrer %s: %s", refs[0].Digest, list)
			}
		})
	}
}
