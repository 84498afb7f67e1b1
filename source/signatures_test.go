package source_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/simplesign"

	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
)

// TestGetSignatures: the source returns the signatures stored for its
// manifest, in the order written, as index.json held them when the source
// was opened, like the image itself: one read of index.json serves both
// (layout.Image), so a signature added since is seen by the next source,
// and an index.json broken since changes nothing for this one.
func TestGetSignatures(t *testing.T) {
	ctx := context.Background()
	ref, _ := newImage(t, []byte("layer"))
	dir := strings.TrimSuffix(ref.StringWithinTransport(), ":app")
	sys := &types.SystemContext{BlobInfoCacheDir: t.TempDir()}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := layouttest.List(l, ctx)
	if err != nil || len(entries) != 1 {
		t.Fatalf("List = %v, %v", entries, err)
	}
	img := imgspecv1.Descriptor{MediaType: entries[0].MediaType, Digest: entries[0].Digest, Size: entries[0].Size}
	first := [][]byte{[]byte("first signature"), []byte("second signature")}
	if err := simplesign.Add(ctx, l, img, first); err != nil {
		t.Fatal(err)
	}
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	later := [][]byte{[]byte("third signature")}
	if err := simplesign.Add(ctx, l, img, later); err != nil {
		t.Fatal(err)
	}
	same := func(a, b []byte) bool { return string(a) == string(b) }
	if got, err := src.GetSignatures(ctx, nil); err != nil || !slices.EqualFunc(got, first, same) {
		t.Fatalf("GetSignatures = %q, %v; want %q, the signatures when the source was opened", got, err, first)
	}
	next, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(first), later...)
	if got, err := next.GetSignatures(ctx, nil); err != nil || !slices.EqualFunc(got, all, same) {
		t.Fatalf("GetSignatures of a source opened after the third signature, index.json broken since = %q, %v; want %q", got, err, all)
	}
}
