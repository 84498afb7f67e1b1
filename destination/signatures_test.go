package destination

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/imageopts"

	"github.com/ocilayout/ocilayout/simplesign"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
)

const testManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`

// TestPutSignaturesVisibleOnlyAfterCommit: signatures reach index.json in
// Commit's update, never before, so an aborted copy leaves no referrer of
// an image that was not committed.
func TestPutSignaturesVisibleOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "l")
	md := digest.FromString(testManifest)
	for _, tc := range []struct {
		name       string
		commit     bool
		wantImages int
		wantSigs   int
	}{
		{"aborted", false, 0, 0},
		{"committed", true, 1, 2},
		{"committed again", true, 1, 2}, // same signatures: no duplicates
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(ctx, nil, nil, dir, "app", imageopts.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dest := d.(*imageDestination)
			if err := dest.PutSignatures(ctx, [][]byte{[]byte("s1")}, nil); err == nil || !strings.Contains(err.Error(), "before PutManifest") {
				t.Fatalf("PutSignatures before PutManifest: %v", err)
			}
			if err := dest.PutManifest(ctx, []byte(testManifest), nil); err != nil {
				t.Fatal(err)
			}
			if err := dest.PutSignatures(ctx, [][]byte{[]byte("s1"), []byte("s2")}, nil); err != nil {
				t.Fatal(err)
			}
			if tc.commit {
				if err := dest.Commit(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := dest.Close(); err != nil {
				t.Fatal(err)
			}
			l, err := layout.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			images := 0
			for _, e := range idx.Manifests {
				if e.Digest == md {
					images++
				}
			}
			sigs, err := simplesign.Signatures(ctx, l, md)
			if err != nil {
				t.Fatal(err)
			}
			if images != tc.wantImages || len(sigs) != tc.wantSigs {
				t.Fatalf("index.json has %d image entries and %d signatures, want %d and %d", images, len(sigs), tc.wantImages, tc.wantSigs)
			}
		})
	}
}
