package destination_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
)

// TestCommitRefusesAManifestGCCannotFollow: a manifest with "config": {}
// (which copy.Image passes through) is refused at Commit, and nothing is
// recorded: the layout's gc and verify stay as they were.
func TestCommitRefusesAManifestGCCannotFollow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/l"
	dest := dtOpen(t, dir, "evil")
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)
	if err := dest.PutManifest(ctx, m, nil); err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	err := dest.Commit(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), digest.FromBytes(m).String()) {
		t.Fatalf("Commit of a manifest with an empty config: %v, want a refusal naming it", err)
	}
	dest.Close()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := layouttest.List(l, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("index.json records %v after the refused commit", entries)
	}
	if _, err := l.GC(ctx); err != nil {
		t.Errorf("gc: %v", err)
	}
}
